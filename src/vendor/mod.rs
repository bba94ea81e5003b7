//! Vendor payloads: a stored plan's changes as the bodies each platform's bulk API takes,
//! batched and named in a manifest; and vendor user objects read back as canonical columns.
//!
//! One file per vendor holds its property names (`docs/architecture.md` describes the
//! APIs); this module holds what they share: the [`ExportUser`] each payload item is made
//! from, and the batching. The [`Vendor`] enum itself lives in [`crate::model::vendor`].

pub mod esystems;
pub mod fieldsquared;
pub mod manifest;
pub mod outbox;
mod partition;
mod pretty;
pub mod results;
pub mod servicepower;
mod user;

pub use esystems::esystems_columns;
pub use fieldsquared::fieldsquared_columns;
pub use servicepower::servicepower_columns;
pub use user::{ExportUser, Operation};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::model::vendor::Vendor;
use crate::rules::Settings;

/// A vendor's user object as canonical columns, read as the tenant's settings say.
pub fn columns(
    vendor: Vendor,
    item: &serde_json::Map<String, serde_json::Value>,
    tenant: &VendorReading,
) -> Vec<(String, serde_json::Value)> {
    match vendor {
        Vendor::ServicePower => {
            servicepower_columns(item, tenant.servicepower_key_extension.as_deref())
        }
        Vendor::ESystems => esystems_columns(item, &tenant.esystems_locations),
        Vendor::FieldSquared => fieldsquared_columns(item),
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
    /// How eSystems' `LocationId` names the tenant's locations.
    pub locations: &'a esystems::LocationField,
    /// Whether the bodies are serialised: `push` fixes its batches by their keys alone and
    /// makes each body when it sends it.
    pub bodies: bool,
}

/// What reading a vendor's user objects needs to know of the tenant.
#[derive(Debug, Clone, Default)]
pub struct VendorReading {
    /// ServicePower: the `Extensions` entry that carries roster's key
    /// (`servicepower_key_field`); `None` reads the key from `UserID`.
    pub servicepower_key_extension: Option<String>,
    /// eSystems: how `LocationId` names the tenant's locations.
    pub esystems_locations: esystems::LocationField,
}

impl crate::read::VendorObjects for VendorReading {
    fn columns(&self, vendor: Vendor, item: &Map<String, Value>) -> Vec<(String, Value)> {
        columns(vendor, item, self)
    }
}

/// The tenant's `export_<vendor>` hook: may adjust each item. Exports take `None` when the
/// tenant has none, and then never build an item as a JSON value.
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
    /// The request body: pretty JSON with a final newline, the same bytes for the same users.
    pub body: Vec<u8>,
    /// The keys of the users in the body, in order (`Users[i]` is `keys[i]`).
    pub keys: Vec<String>,
    /// Users deleted by this file without an item (eSystems `DeleteNotExists`).
    pub deleted_by_sync: Vec<String>,
    /// What the file does, by operation.
    pub counts: Counts,
    /// How many of its items set a password.
    pub passwords: usize,
}

impl Batch {
    /// A file of `items` whose body is `body`, sent with `method` to `path`; the body stays
    /// empty unless the context wants `bodies`.
    fn new<T: PayloadItem, B: Serialize>(
        method: &'static str,
        path: String,
        items: Items<T>,
        context: &Context,
        body: impl FnOnce(Vec<Item<T>>) -> B,
    ) -> Batch {
        let body = if context.bodies {
            // Sized for the items up front: growing a buffer of a few hundred kilobytes by
            // doubling copied it and faulted in fresh pages about ten times a file.
            let buffer = Vec::with_capacity(items.items.len() * ITEM_BYTES);
            pretty_into(buffer, &body(items.items))
        } else {
            Vec::new()
        };
        Batch {
            method,
            path,
            body,
            keys: items.keys,
            deleted_by_sync: Vec::new(),
            counts: items.counts,
            passwords: items.passwords,
        }
    }
}

/// About the size of a pretty-printed item (a ServicePower User Object is 440 bytes).
const ITEM_BYTES: usize = 512;

/// Pretty JSON with a final newline: stable bytes for the same value.
pub fn pretty(value: &impl Serialize) -> Vec<u8> {
    pretty_into(Vec::new(), value)
}

fn pretty_into(mut bytes: Vec<u8>, value: &impl Serialize) -> Vec<u8> {
    pretty::write(&mut bytes, value);
    bytes.push(b'\n');
    bytes
}

/// Appends `value` as pretty JSON nested `depth` levels deep (two spaces a level), its first
/// line indented too: the bytes [`pretty`] gives it inside an enclosing value.
fn pretty_indented(out: &mut Vec<u8>, value: &impl Serialize, depth: usize) {
    let indent = 2 * depth;
    let mut text = Vec::new();
    pretty::write(&mut text, value);
    out.reserve(text.len() + text.len() / 8);
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        if number > 0 {
            out.push(b'\n');
        }
        out.extend(std::iter::repeat_n(b' ', indent));
        out.extend_from_slice(line);
    }
}

/// The body `{"Extra": extra, "Users": [...]}` as [`pretty`] writes it, the users given as
/// their items' bytes from [`pretty_indented`] at depth 2, separated by `,\n` (at least one).
fn envelope(extra: &Value, items: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(items.len() + 256);
    body.extend_from_slice(b"{\n  \"Extra\": ");
    let start = body.len();
    pretty_indented(&mut body, extra, 1);
    body.drain(start..start + 2);
    body.extend_from_slice(b",\n  \"Users\": [\n");
    body.extend_from_slice(items);
    body.extend_from_slice(b"\n  ]\n}\n");
    body
}

/// Why serialising a payload cannot fail: its maps are JSON objects, keyed by text.
const JSON_ONLY: &str = "payloads hold JSON values only";

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
    hook: Option<&mut Hook>,
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

/// What roster needs to know of a payload item besides its JSON.
trait PayloadItem: Serialize {
    /// Whether the item sets a password.
    fn has_password(&self) -> bool;
}

impl PayloadItem for Value {
    fn has_password(&self) -> bool {
        self.get("Password").is_some()
    }
}

/// A payload item: as roster built it, or as the tenant's export hook returned it.
#[derive(Serialize)]
#[serde(untagged)]
enum Item<T> {
    Built(T),
    Hooked(Value),
}

impl<T: PayloadItem> Item<T> {
    fn has_password(&self) -> bool {
        match self {
            Item::Built(item) => item.has_password(),
            Item::Hooked(item) => item.has_password(),
        }
    }
}

/// The items of one file, with the keys and counts of their users.
struct Items<T> {
    items: Vec<Item<T>>,
    keys: Vec<String>,
    counts: Counts,
    passwords: usize,
}

impl<T: PayloadItem> Items<T> {
    fn with_capacity(size: usize) -> Items<T> {
        Items {
            items: Vec::with_capacity(size),
            keys: Vec::with_capacity(size),
            counts: Counts::default(),
            passwords: 0,
        }
    }

    fn push(&mut self, user: &ExportUser, item: Item<T>) {
        self.counts.count(user.operation);
        self.keys.push(user.key.clone());
        self.passwords += usize::from(item.has_password());
        self.items.push(item);
    }
}

/// Makes each user's item, runs the hook (if any) on it, and cuts the items into batches of
/// `size`.
fn items_in_batches<'u, T: PayloadItem>(
    users: impl IntoIterator<Item = &'u ExportUser>,
    size: usize,
    mut hook: Option<&mut Hook>,
    make: &mut dyn FnMut(&'u ExportUser) -> Result<T>,
) -> Result<Vec<Items<T>>> {
    let mut batches: Vec<Items<T>> = Vec::new();
    for user in users {
        let built = make(user)?;
        let item = match hook.as_deref_mut() {
            Some(hook) => Item::Hooked(hook(user, to_json(&built))?),
            None => Item::Built(built),
        };
        match batches.last_mut() {
            Some(batch) if batch.items.len() < size => batch.push(user, item),
            _ => {
                let mut batch = Items::with_capacity(size.min(1 << 12));
                batch.push(user, item);
                batches.push(batch);
            }
        }
    }
    Ok(batches)
}

/// A payload part as a JSON value.
fn to_json(part: &impl Serialize) -> Value {
    serde_json::to_value(part).expect(JSON_ONLY)
}

/// Inserts `value` under `name` when there is one.
fn put(item: &mut Map<String, Value>, name: &str, value: Option<impl Serialize>) {
    if let Some(value) = value {
        item.insert(name.to_string(), to_json(&value));
    }
}

/// A text field as the vendor's nullable string.
#[derive(Debug, Clone, PartialEq)]
enum Text<'a> {
    /// Text as the user has it.
    Str(&'a str),
    /// A cleared field.
    Null,
    /// A value of another type, sent as its text.
    Other(String),
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Text::Str(text) => serializer.serialize_str(text),
            Text::Null => serializer.serialize_none(),
            Text::Other(text) => serializer.serialize_str(text),
        }
    }
}

/// A text field as the vendor's nullable string: a cleared field becomes `null`.
fn text_or_null(value: Option<&Value>) -> Option<Text<'_>> {
    value.map(|v| match v {
        Value::String(text) => Text::Str(text),
        Value::Null => Text::Null,
        other => Text::Other(crate::model::record::cell(other)),
    })
}

/// A boolean field: the vendors have no "unset" boolean, so a cleared one is left out.
fn boolean(value: Option<&Value>) -> Option<bool> {
    value.and_then(Value::as_bool)
}

/// A list or map sent as it is, or, when cleared, as an empty one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum OrEmpty<'a> {
    /// The user's list or map.
    Value(&'a Value),
    /// `[]`.
    List,
    /// `{}`.
    Object,
}

impl Serialize for OrEmpty<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            OrEmpty::Value(value) => value.serialize(serializer),
            OrEmpty::List => serializer.serialize_seq(Some(0))?.end(),
            OrEmpty::Object => serializer.serialize_map(Some(0))?.end(),
        }
    }
}

/// A list of text as a JSON array: a cleared list becomes `[]`.
fn list(value: Option<&Value>) -> Option<OrEmpty<'_>> {
    value.map(|v| match v {
        Value::Array(_) => OrEmpty::Value(v),
        _ => OrEmpty::List,
    })
}

/// The attributes map: a cleared one becomes `{}`.
fn attributes(value: Option<&Value>) -> Option<OrEmpty<'_>> {
    value.map(|v| match v {
        Value::Object(_) => OrEmpty::Value(v),
        _ => OrEmpty::Object,
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
    const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(text, ESCAPED).to_string()
}

/// The value a column of a vendor's input file maps to: the same JSON value.
fn column(name: &str, value: &Value) -> (String, Value) {
    (name.to_string(), value.clone())
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_envelope_is_the_pretty_body_of_its_items() {
        let extra = serde_json::json!([{"Name": "LocationId", "FieldName": "Name"}]);
        let items = [
            serde_json::json!({"External_Id": "T1", "Roles": ["a", "b"], "Nested": {"x": [], "y": {}}}),
            serde_json::json!({"External_Id": "T2", "Name": "Line\nbreak \"quoted\""}),
        ];
        let mut bytes = Vec::new();
        for item in &items {
            if !bytes.is_empty() {
                bytes.extend_from_slice(b",\n");
            }
            pretty_indented(&mut bytes, item, 2);
        }
        let whole = pretty(&serde_json::json!({"Extra": extra, "Users": items}));
        assert_eq!(
            String::from_utf8(envelope(&extra, &bytes)).unwrap(),
            String::from_utf8(whole).unwrap()
        );
    }

    use super::*;
    use crate::model::change::{Action, Change, FieldChange};
    use crate::model::record::Record;
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
    fn batches_hold_at_most_the_batch_size() {
        let users: Vec<ExportUser> = (0..5)
            .map(|i| ExportUser::unchanged(&format!("u{i}"), Record::new(), None))
            .collect();
        let batches = items_in_batches(&users, 2, None, &mut |u| Ok(json!(u.key))).unwrap();
        let sizes: Vec<usize> = batches.iter().map(|b| b.items.len()).collect();
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
            locations: &crate::vendor::esystems::LocationField::default(),
            bodies: true,
        };
        let mut seen = Vec::new();
        let mut hook = |user: &ExportUser, mut item: Value| {
            assert!(user.hook_user().get("password").is_none());
            seen.push(user.key.clone());
            item["Status"] = json!("hooked");
            Ok(item)
        };
        let export = export(Vendor::ServicePower, &users, &context, Some(&mut hook)).unwrap();
        assert_eq!(seen, vec!["u1", "u2"]);
        let body: Value = serde_json::from_slice(&export.batches[0].body).unwrap();
        let items = body["Users"].as_array().unwrap();
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
