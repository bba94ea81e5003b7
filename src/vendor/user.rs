//! The user a payload item is made from: its record by canonical field, and what the plan
//! does to it.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::Vendor;
use crate::error::{Error, RefusedKind, Result};
use crate::model::change::{Action, Change, FieldChange};
use crate::model::record::Record;
use crate::model::structured::{Address, Phone, WorkWeek};
use crate::model::user::{read_typed, Field};
use crate::store::db::decode_json;
use crate::store::plans::StoredChange;

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
    values: FieldValues,
    /// Fields an update clears (present before, absent after).
    cleared: FieldSet,
    /// Fields the plan sets a value for (every field of a create).
    set: FieldSet,
    /// The plain password the plan sets, while the plan still holds it.
    pub password: Option<String>,
    /// Platform-assigned ids, e.g. `{"esystems": 12, "fieldsquared": "abc"}`.
    pub platform_ids: Option<Value>,
}

impl ExportUser {
    /// The user a planned change exports; `password` is the plain password the plan sets.
    pub fn from_change(change: Change, password: Option<String>) -> ExportUser {
        let record = match change.action {
            Action::Create | Action::Update => change.after,
            Action::Delete => change.before,
        };
        let values = record.map(FieldValues::from_record).unwrap_or_default();
        ExportUser {
            key: change.key,
            source: change.source,
            password,
            platform_ids: change.platform_ids,
            ..ExportUser::changed(change.action, values, &change.fields)
        }
    }

    /// The user a stored change exports, its record read straight into field slots.
    pub fn from_stored(change: StoredChange, password: Option<String>) -> Result<ExportUser> {
        let values = match change.action {
            Action::Create | Action::Update => change.decode("after", &change.after)?,
            Action::Delete => change.decode("before", &change.before)?,
        };
        let fields: Vec<FieldChange> = match change.action {
            Action::Update => change.decode("fields", &change.fields)?,
            Action::Create | Action::Delete => None,
        }
        .unwrap_or_default();
        let platform_ids = change.decode("platform_ids", &change.platform_ids)?;
        Ok(ExportUser {
            key: change.key,
            source: change.source,
            password,
            platform_ids,
            ..ExportUser::changed(change.action, values.unwrap_or_default(), &fields)
        })
    }

    /// The parts of a changed user that follow from the action and the record.
    fn changed(action: Action, mut values: FieldValues, fields: &[FieldChange]) -> ExportUser {
        let (operation, cleared, set) = match action {
            Action::Create => (Operation::Create, FieldSet::default(), values.present()),
            Action::Update => {
                let named = |cleared: bool| {
                    FieldSet::of(
                        fields
                            .iter()
                            .filter(|f| f.after.is_null() == cleared)
                            .filter(|f| !cleared || f.field != Field::Password.name())
                            .filter_map(|f| Field::from_name(&f.field)),
                    )
                };
                (Operation::Update, named(true), named(false))
            }
            Action::Delete => (Operation::Delete, FieldSet::default(), FieldSet::default()),
        };
        values.remove(Field::Password);
        ExportUser {
            key: String::new(),
            operation,
            source: None,
            values,
            cleared,
            set,
            password: None,
            platform_ids: None,
        }
    }

    /// A stored user the plan leaves alone.
    pub fn unchanged(key: &str, record: Record, platform_ids: Option<Value>) -> ExportUser {
        ExportUser::unchanged_values(key, FieldValues::from_record(record), platform_ids)
    }

    /// A stored user the plan leaves alone, its record read straight from the stored text
    /// into field slots (as [`ExportUser::unchanged`] of the text decoded). A text that is
    /// not JSON is a damaged workspace, named by table, row and column.
    pub fn unchanged_from_text(
        key: &str,
        record: &str,
        platform_ids: Option<&str>,
    ) -> Result<ExportUser> {
        let row = format_args!("external_id `{key}`");
        let values = decode_json("users", row, "record", record)?;
        let ids = platform_ids
            .map(|ids| decode_json("users", row, "platform_ids", ids))
            .transpose()?;
        Ok(ExportUser::unchanged_values(key, values, ids))
    }

    fn unchanged_values(
        key: &str,
        mut values: FieldValues,
        platform_ids: Option<Value>,
    ) -> ExportUser {
        values.remove(Field::Password);
        ExportUser {
            key: key.to_string(),
            operation: Operation::Unchanged,
            source: None,
            values,
            cleared: FieldSet::default(),
            set: FieldSet::default(),
            password: None,
            platform_ids,
        }
    }

    /// The field's value: `None` when the user has none, `Some(Null)` when the update clears it.
    pub fn get(&self, field: Field) -> Option<&Value> {
        const NULL: &Value = &Value::Null;
        match self.values.get(field) {
            Some(value) => Some(value),
            None if self.cleared.contains(field) => Some(NULL),
            None => None,
        }
    }

    /// The field's text, when it has some.
    pub fn text(&self, field: Field) -> Option<&str> {
        self.values.get(field).and_then(Value::as_str)
    }

    /// The phones: `None` when the user has none, empty when the update clears them.
    pub fn phones(&self) -> Result<Option<Vec<Phone<'_>>>> {
        self.typed(Field::Phones)
    }

    /// The address: `None` when the user has none, empty when the update clears it.
    pub fn address(&self) -> Result<Option<Address<'_>>> {
        self.typed(Field::Address)
    }

    /// The work week: `None` when the user has none, empty when the update clears it.
    pub fn work_week(&self) -> Result<Option<WorkWeek<'_>>> {
        self.typed(Field::WorkWeek)
    }

    /// A structured field read typed. The plan and the state hold what `normalize` made, so
    /// a value that does not read was damaged or edited by hand: the export stops, naming it.
    fn typed<'a, T: Deserialize<'a> + Default>(&'a self, field: Field) -> Result<Option<T>> {
        self.get(field)
            .map(|value| {
                read_typed(field, value).map_err(|e| {
                    Error::refused(
                        RefusedKind::Vendor,
                        format!(
                            "cannot export user {}: {e}; the workspace was damaged or edited by hand: restore it from a backup",
                            self.describe()
                        ),
                    )
                })
            })
            .transpose()
    }

    /// Whether the plan sets or clears this field (rather than carrying a stored value).
    pub fn plan_touches(&self, field: Field) -> bool {
        self.set.contains(field) || self.cleared.contains(field)
    }

    /// Whether the plan sets a password (whose plain text it may no longer hold).
    pub fn plan_sets_password(&self) -> bool {
        self.set.contains(Field::Password)
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
        Value::Object(self.values.to_record())
    }

    /// `` `key` (file:line)`` for messages.
    pub fn describe(&self) -> String {
        match &self.source {
            Some(source) => format!("`{}` ({source})", self.key),
            None => format!("`{}`", self.key),
        }
    }
}

const FIELD_COUNT: usize = Field::ALL.len();

/// A record with each canonical field's value in its own slot: found without a search, and
/// read from JSON without allocating the field's name.
#[derive(Debug, Clone, PartialEq)]
struct FieldValues {
    /// Boxed: a user is moved several times on its way into a batch, and 23 inline slots made
    /// each move a copy of 736 bytes.
    slots: Box<[Option<Value>; FIELD_COUNT]>,
    /// Keys that are no canonical field (none in a record roster stored itself).
    others: Record,
}

impl Default for FieldValues {
    fn default() -> FieldValues {
        FieldValues {
            slots: Box::new(std::array::from_fn(|_| None)),
            others: Record::new(),
        }
    }
}

impl FieldValues {
    fn from_record(record: Record) -> FieldValues {
        let mut values = FieldValues::default();
        for (name, value) in record {
            values.insert(FieldKey::of(name), value);
        }
        values
    }

    fn insert(&mut self, key: FieldKey, value: Value) {
        match key {
            FieldKey::Field(field) => self.slots[field as usize] = Some(value),
            FieldKey::Other(name) => {
                self.others.insert(name, value);
            }
        }
    }

    fn get(&self, field: Field) -> Option<&Value> {
        self.slots[field as usize].as_ref()
    }

    fn remove(&mut self, field: Field) {
        self.slots[field as usize] = None;
    }

    /// The fields that have a value.
    fn present(&self) -> FieldSet {
        FieldSet::of(
            Field::ALL
                .iter()
                .copied()
                .filter(|f| self.get(*f).is_some()),
        )
    }

    fn to_record(&self) -> Record {
        let mut record = self.others.clone();
        for field in Field::ALL {
            if let Some(value) = self.get(*field) {
                record.insert(field.name().to_string(), value.clone());
            }
        }
        record
    }
}

impl<'de> Deserialize<'de> for FieldValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FieldValues, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = FieldValues;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValues, A::Error> {
                let mut values = FieldValues::default();
                while let Some(key) = map.next_key::<FieldKey>()? {
                    values.insert(key, map.next_value()?);
                }
                Ok(values)
            }
        }
        deserializer.deserialize_map(RecordVisitor)
    }
}

/// A record's key: a canonical field, or another name.
enum FieldKey {
    Field(Field),
    Other(String),
}

impl FieldKey {
    fn of(name: String) -> FieldKey {
        Field::from_name(&name).map_or(FieldKey::Other(name), FieldKey::Field)
    }
}

impl<'de> Deserialize<'de> for FieldKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FieldKey, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = FieldKey;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<FieldKey, E> {
                Ok(Field::from_name(name)
                    .map_or_else(|| FieldKey::Other(name.to_string()), FieldKey::Field))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A set of canonical fields, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FieldSet(u64);

const _: () = assert!(FIELD_COUNT <= 64, "a FieldSet holds 64 fields");

impl FieldSet {
    fn of(fields: impl IntoIterator<Item = Field>) -> FieldSet {
        FieldSet(fields.into_iter().fold(0, |bits, f| bits | 1 << f as u64))
    }

    fn contains(self, field: Field) -> bool {
        self.0 & (1 << field as u64) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(action: Action, fields: Value, before: Value, after: Value) -> StoredChange {
        let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
        StoredChange {
            action,
            key: "u1".into(),
            source: Some("in.csv:2".into()),
            fields: text(&fields),
            before: text(&before),
            after: text(&after),
            platform_ids: Some(json!({"esystems": 12}).to_string()),
        }
    }

    /// The export reads stored changes straight into slots; it must see what the plan's
    /// parsed changes hold.
    #[test]
    fn a_stored_change_reads_as_its_parsed_change() {
        let update = stored(
            Action::Update,
            json!([
                {"field": "email", "before": "a@x", "after": null},
                {"field": "password", "before": null, "after": "********"},
                {"field": "roles", "before": null, "after": ["tech"]}
            ]),
            json!({"external_id": "u1", "email": "a@x"}),
            json!({"external_id": "u1", "roles": ["tech"], "password": "$sha256$aa$bb", "legacy": 1}),
        );
        let create = stored(
            Action::Create,
            Value::Null,
            Value::Null,
            json!({"external_id": "u1", "first_name": "Zoë \"Z\"", "password": "$sha256$aa$bb"}),
        );
        let delete = stored(
            Action::Delete,
            Value::Null,
            json!({"external_id": "u1", "username": "ada"}),
            Value::Null,
        );
        for change in [update, create, delete] {
            let parsed =
                ExportUser::from_change(change.clone().parse().unwrap(), Some("pw".into()));
            assert_eq!(
                ExportUser::from_stored(change, Some("pw".into())).unwrap(),
                parsed
            );
        }
    }

    #[test]
    fn an_update_knows_what_it_sets_and_clears_and_drops_the_password_hash() {
        let change = stored(
            Action::Update,
            json!([
                {"field": "email", "before": "a@x", "after": null},
                {"field": "password", "before": null, "after": "********"}
            ]),
            Value::Null,
            json!({"external_id": "u1", "password": "$sha256$aa$bb", "legacy": 1}),
        );
        let user = ExportUser::from_stored(change, None).unwrap();
        assert_eq!(user.get(Field::Email), Some(&Value::Null));
        assert_eq!(user.get(Field::Password), None);
        assert!(user.plan_touches(Field::Email) && !user.plan_touches(Field::Roles));
        assert!(user.plan_sets_password());
        assert_eq!(user.platform_id(Vendor::ESystems), Some(&json!(12)));
        assert_eq!(
            user.hook_user(),
            json!({"external_id": "u1", "legacy": 1}),
            "the hook sees every key but the password"
        );
    }

    #[test]
    fn a_create_sets_the_fields_it_has() {
        let change = stored(
            Action::Create,
            Value::Null,
            Value::Null,
            json!({"external_id": "u1", "roles": []}),
        );
        let user = ExportUser::from_stored(change, None).unwrap();
        assert!(user.plan_touches(Field::Roles) && user.plan_touches(Field::ExternalId));
        assert!(!user.plan_touches(Field::Email) && !user.plan_sets_password());
        assert_eq!(user.describe(), "`u1` (in.csv:2)");
    }
}
