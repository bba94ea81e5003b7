//! Vendor payloads: a stored plan's changes as the bodies each platform's bulk API takes,
//! batched and named in a manifest; and vendor user objects read back as canonical columns.
//!
//! One file per vendor holds its property names (seeds 000–004); this module holds what they
//! share: the [`Vendor`] itself, the [`ExportUser`] each payload item is made from, and the
//! batching.

pub mod esystems;
pub mod fieldsquared;
pub mod manifest;
pub mod results;
pub mod servicepower;

pub use esystems::esystems_columns;
pub use fieldsquared::fieldsquared_columns;
pub use servicepower::servicepower_columns;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::plan::change::{Action, Change};
use crate::rules::Settings;
use crate::store::state::Record;
use crate::user::Field;

/// A platform roster exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// ServicePower ServiceMobility, `POST /seiapi/v3/bulk/Users`.
    #[value(name = "servicepower")]
    ServicePower,
    /// eSystems, `PATCH /Endpoint/rest/api/v1/Location/{Id}/Users`.
    #[value(name = "esystems")]
    ESystems,
    /// Field Squared, `POST /{Workspace}/UserImport`.
    #[value(name = "fieldsquared")]
    FieldSquared,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 3] = [Vendor::ServicePower, Vendor::ESystems, Vendor::FieldSquared];

    /// Finds a vendor by its lowercase name.
    pub fn parse(name: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The lowercase name used on the command line, in file names and in export hooks.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::ServicePower => "servicepower",
            Vendor::ESystems => "esystems",
            Vendor::FieldSquared => "fieldsquared",
        }
    }

    /// Users per payload file when `--batch-size` is not given: small enough for the
    /// vendors' request-size and time limits, large enough to keep the file count low.
    /// Field Squared imports are slower per user (geocoding, schedules), hence smaller.
    pub fn default_batch_size(self) -> usize {
        match self {
            Vendor::ServicePower | Vendor::ESystems => 500,
            Vendor::FieldSquared => 200,
        }
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A vendor's user object as canonical columns.
pub fn columns(
    vendor: Vendor,
    item: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(String, serde_json::Value)> {
    match vendor {
        Vendor::ServicePower => servicepower_columns(item),
        Vendor::ESystems => esystems_columns(item),
        Vendor::FieldSquared => fieldsquared_columns(item),
    }
}

/// What an exported item does to the user on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// The plan creates the user.
    Create,
    /// The plan updates the user.
    Update,
    /// The plan deletes the user.
    Delete,
    /// The plan leaves the user alone; sent only where the vendor needs every user
    /// (eSystems `DeleteNotExists`).
    Unchanged,
}

/// One user as a payload item is made from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportUser {
    /// The user's key (`external_id`).
    pub key: String,
    /// What the item does.
    pub operation: Operation,
    /// `file:line` of the source row, for messages.
    pub source: Option<String>,
    /// The whole record after the change (before it, for a delete), without the password hash.
    pub record: Record,
    /// Fields an update clears (present before, absent after).
    cleared: Vec<String>,
    /// Fields the plan sets a value for (every field of a create).
    set: Vec<String>,
    /// The plain password the plan sets, while the plan still holds it.
    pub password: Option<String>,
    /// Platform-assigned ids, e.g. `{"esystems": 12, "fieldsquared": "abc"}`.
    pub platform_ids: Option<Value>,
}

impl ExportUser {
    /// The user a planned change exports; `password` is the plain password the plan sets.
    pub fn from_change(change: Change, password: Option<String>) -> ExportUser {
        let password_name = Field::Password.name();
        let (operation, record) = match change.action {
            Action::Create => (Operation::Create, change.after),
            Action::Update => (Operation::Update, change.after),
            Action::Delete => (Operation::Delete, change.before),
        };
        let mut record = record.unwrap_or_default();
        record.remove(password_name);
        let changed = |cleared: bool| -> Vec<String> {
            change
                .fields
                .iter()
                .filter(|f| f.field != password_name && f.after.is_null() == cleared)
                .map(|f| f.field.clone())
                .collect()
        };
        let (cleared, set) = match operation {
            Operation::Update => (changed(true), changed(false)),
            Operation::Create => (Vec::new(), record.keys().cloned().collect()),
            _ => (Vec::new(), Vec::new()),
        };
        ExportUser {
            key: change.key,
            operation,
            source: change.source,
            record,
            cleared,
            set,
            password,
            platform_ids: change.platform_ids,
        }
    }

    /// A stored user the plan leaves alone.
    pub fn unchanged(key: &str, mut record: Record, platform_ids: Option<Value>) -> ExportUser {
        record.remove(Field::Password.name());
        ExportUser {
            key: key.to_string(),
            operation: Operation::Unchanged,
            source: None,
            record,
            cleared: Vec::new(),
            set: Vec::new(),
            password: None,
            platform_ids,
        }
    }

    /// The field's value: `None` when the user has none, `Some(Null)` when the update clears it.
    pub fn get(&self, field: Field) -> Option<&Value> {
        const NULL: &Value = &Value::Null;
        match self.record.get(field.name()) {
            Some(value) => Some(value),
            None if self.cleared.iter().any(|c| c == field.name()) => Some(NULL),
            None => None,
        }
    }

    /// The field's text, when it has some.
    pub fn text(&self, field: Field) -> Option<&str> {
        self.record.get(field.name()).and_then(Value::as_str)
    }

    /// Whether the plan sets or clears this field (rather than carrying a stored value).
    pub fn plan_touches(&self, field: Field) -> bool {
        let name = field.name();
        self.set.iter().chain(&self.cleared).any(|f| f == name)
    }

    /// The id the vendor assigned, when the state knows it.
    pub fn platform_id(&self, vendor: Vendor) -> Option<&Value> {
        self.platform_ids
            .as_ref()
            .and_then(|ids| ids.get(vendor.name()))
            .filter(|id| !id.is_null())
    }

    /// The user as export hooks see it: the canonical record, without any password.
    pub fn hook_user(&self) -> Value {
        Value::Object(self.record.clone())
    }

    /// `` `key` (file:line)`` for messages.
    pub fn describe(&self) -> String {
        match &self.source {
            Some(source) => format!("`{}` ({source})", self.key),
            None => format!("`{}`", self.key),
        }
    }
}

/// What an export needs besides the users.
pub struct Context<'a> {
    /// The plan being exported.
    pub plan_id: i64,
    /// Whether the plan was made with `--sync`.
    pub sync: bool,
    /// Users per file (at least 1).
    pub batch_size: usize,
    /// The tenant's settings.
    pub settings: &'a Settings,
    /// `--workspace`, which wins over the tenant's `fieldsquared_workspace`.
    pub workspace: Option<&'a str>,
    /// How many files of the export came before these users (exports go in chunks).
    pub first_batch: usize,
}

/// The tenant's `export_<vendor>` hook: may adjust each item.
pub type Hook<'h> = dyn FnMut(&ExportUser, Value) -> Result<Value> + 'h;

/// Users counted by what the file does to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Users created.
    pub create: u64,
    /// Users updated.
    pub update: u64,
    /// Users deleted (by an item, a disabling item, or `DeleteNotExists`).
    pub delete: u64,
    /// Users sent unchanged (eSystems `DeleteNotExists` needs the whole location).
    pub unchanged: u64,
}

impl Counts {
    /// Counts one user.
    pub fn count(&mut self, operation: Operation) {
        match operation {
            Operation::Create => self.create += 1,
            Operation::Update => self.update += 1,
            Operation::Delete => self.delete += 1,
            Operation::Unchanged => self.unchanged += 1,
        }
    }

    /// Adds another file's counts.
    pub fn add(&mut self, other: &Counts) {
        self.create += other.create;
        self.update += other.update;
        self.delete += other.delete;
        self.unchanged += other.unchanged;
    }
}

/// One payload file, before it is named.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The HTTP method.
    pub method: &'static str,
    /// The path, placeholders filled, with its query.
    pub path: String,
    /// The request body.
    pub body: Value,
    /// The keys of the users in the body, in order (`Users[i]` is `keys[i]`).
    pub keys: Vec<String>,
    /// Users deleted by this file without an item (eSystems `DeleteNotExists`).
    pub deleted_by_sync: Vec<String>,
    /// What the file does, by operation.
    pub counts: Counts,
}

/// The payloads of one export, and what the user should know about them.
#[derive(Debug, Default)]
pub struct Export {
    /// The files, in the order they should be sent.
    pub batches: Vec<Batch>,
    /// Things the vendor cannot express that were sent another way.
    pub warnings: Vec<String>,
}

/// Turns the users into the vendor's payload files.
pub fn export(
    vendor: Vendor,
    users: &[ExportUser],
    context: &Context,
    hook: &mut Hook,
) -> Result<Export> {
    let mut export = Export::default();
    match vendor {
        Vendor::ServicePower => export.batches = servicepower::batches(users, context, hook)?,
        Vendor::ESystems => export.batches = esystems::batches(users, context, hook)?,
        Vendor::FieldSquared => {
            export.batches = fieldsquared::batches(users, context, hook, &mut export.warnings)?
        }
    }
    Ok(export)
}

/// The file name of batch `index` (0-based): `servicepower-0001.json`.
pub fn file_name(vendor: Vendor, index: usize) -> String {
    format!("{}-{:04}.json", vendor.name(), index + 1)
}

/// Runs the hook on each user's item and cuts the items into batches of `size`.
fn items_in_batches<'u>(
    users: impl IntoIterator<Item = &'u ExportUser>,
    size: usize,
    hook: &mut Hook,
    make: &mut dyn FnMut(&ExportUser) -> Result<Value>,
) -> Result<Vec<Vec<(&'u ExportUser, Value)>>> {
    let mut batches: Vec<Vec<(&ExportUser, Value)>> = Vec::new();
    for user in users {
        let item = hook(user, make(user)?)?;
        match batches.last_mut() {
            Some(batch) if batch.len() < size => batch.push((user, item)),
            _ => {
                let mut batch = Vec::with_capacity(size.min(1 << 12));
                batch.push((user, item));
                batches.push(batch);
            }
        }
    }
    Ok(batches)
}

/// The keys and counts of a batch's items, and the items as a JSON array.
fn split_items(items: Vec<(&ExportUser, Value)>) -> (Vec<String>, Counts, Value) {
    let mut counts = Counts::default();
    let mut keys = Vec::with_capacity(items.len());
    let mut values = Vec::with_capacity(items.len());
    for (user, item) in items {
        counts.count(user.operation);
        keys.push(user.key.clone());
        values.push(item);
    }
    (keys, counts, Value::Array(values))
}

/// Inserts `value` under `name` when there is one.
fn put(item: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    if let Some(value) = value {
        item.insert(name.to_string(), value);
    }
}

/// A text field as the vendor's nullable string: a cleared field becomes `null`.
fn text_or_null(value: Option<&Value>) -> Option<Value> {
    value.map(|v| match v {
        Value::String(_) => v.clone(),
        Value::Null => Value::Null,
        other => Value::String(crate::render::cell(other)),
    })
}

/// A boolean field: the vendors have no "unset" boolean, so a cleared one is left out.
fn boolean(value: Option<&Value>) -> Option<Value> {
    value.and_then(Value::as_bool).map(Value::Bool)
}

/// A list of text as a JSON array: a cleared list becomes `[]`.
fn list(value: Option<&Value>) -> Option<Value> {
    value.map(|v| match v {
        Value::Array(items) => Value::Array(items.clone()),
        _ => Value::Array(Vec::new()),
    })
}

/// The attributes map: a cleared one becomes `{}`.
fn attributes(value: Option<&Value>) -> Option<Value> {
    value.map(|v| match v {
        Value::Object(map) => Value::Object(map.clone()),
        _ => Value::Object(Map::new()),
    })
}

/// Characters that may stand in a URL path segment as they are (RFC 3986 unreserved).
fn is_url_safe(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Percent-encodes everything but the unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value a column of a vendor's input file maps to: the same JSON value.
fn column(name: &str, value: &Value) -> (String, Value) {
    (name.to_string(), value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::change::FieldChange;
    use serde_json::json;

    fn change(action: Action, fields: Vec<FieldChange>, after: Value) -> Change {
        Change {
            action,
            key: "u1".into(),
            source: Some("in.csv:2".into()),
            fields,
            before: None,
            after: after.as_object().cloned(),
            platform_ids: Some(json!({"esystems": 12})),
        }
    }

    #[test]
    fn an_update_knows_what_it_sets_and_clears_and_drops_the_password_hash() {
        let fields = vec![
            FieldChange {
                field: "email".into(),
                before: json!("a@x"),
                after: Value::Null,
            },
            FieldChange {
                field: "roles".into(),
                before: Value::Null,
                after: json!(["tech"]),
            },
        ];
        let after = json!({"external_id": "u1", "roles": ["tech"], "password": "$sha256$aa$bb"});
        let user = ExportUser::from_change(change(Action::Update, fields, after), None);
        assert_eq!(user.get(Field::Email), Some(&Value::Null));
        assert_eq!(user.get(Field::Language), None);
        assert!(user.plan_touches(Field::Roles) && user.plan_touches(Field::Email));
        assert!(!user.plan_touches(Field::ExternalId));
        assert!(!user.record.contains_key("password"));
        assert_eq!(user.platform_id(Vendor::ESystems), Some(&json!(12)));
        assert_eq!(user.platform_id(Vendor::FieldSquared), None);
    }

    #[test]
    fn a_create_sets_every_field_it_has() {
        let after = json!({"external_id": "u1", "roles": ["tech"]});
        let user = ExportUser::from_change(change(Action::Create, vec![], after), None);
        assert!(user.plan_touches(Field::Roles));
        assert_eq!(user.describe(), "`u1` (in.csv:2)");
    }

    #[test]
    fn batches_hold_at_most_the_batch_size() {
        let users: Vec<ExportUser> = (0..5)
            .map(|i| ExportUser::unchanged(&format!("u{i}"), Record::new(), None))
            .collect();
        let mut hook = |_: &ExportUser, item: Value| Ok(item);
        let batches = items_in_batches(&users, 2, &mut hook, &mut |u| Ok(json!(u.key))).unwrap();
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn the_hook_sees_every_user_without_a_password_and_may_adjust_items() {
        let mut after = json!({"external_id": "u1", "password": "$sha256$aa$bb"});
        let users = vec![
            ExportUser::from_change(
                change(Action::Create, vec![], after.take()),
                Some("pw".into()),
            ),
            ExportUser::unchanged("u2", Record::new(), None),
        ];
        let settings = crate::rules::RulePack::load(std::path::Path::new("rules"), "default")
            .unwrap()
            .settings()
            .clone();
        let context = Context {
            plan_id: 1,
            sync: false,
            batch_size: 10,
            settings: &settings,
            workspace: None,
            first_batch: 0,
        };
        let mut seen = Vec::new();
        let mut hook = |user: &ExportUser, mut item: Value| {
            assert!(user.hook_user().get("password").is_none());
            seen.push(user.key.clone());
            item["Status"] = json!("hooked");
            Ok(item)
        };
        let export = export(Vendor::ServicePower, &users, &context, &mut hook).unwrap();
        assert_eq!(seen, vec!["u1", "u2"]);
        let items = export.batches[0].body["Users"].as_array().unwrap();
        assert!(items.iter().all(|i| i["Status"] == "hooked"));
        assert_eq!(items[0]["Password"], "pw");
    }

    #[test]
    fn path_segments_are_kept_only_when_url_safe() {
        assert!(is_url_safe("Oslo-1"));
        assert!(!is_url_safe("Oslo West"));
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }
}
