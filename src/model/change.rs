//! Changes: what a plan will do to one stored user, field by field.

use serde::Serialize;
use serde_json::Value;

use crate::model::record::Record;
use crate::model::user::{Field, User};
use crate::secret;

/// What a change does to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Action {
    /// The user is new.
    Create,
    /// Some of the user's fields change.
    Update,
    /// The user goes.
    Delete,
}

impl Action {
    /// `create`, `update` or `delete`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses `create`, `update` or `delete`.
    pub fn parse(text: &str) -> Option<Action> {
        text.parse().ok()
    }

    /// The sign the tables show: `+`, `~` or `-`.
    pub fn sign(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
        }
    }
}

/// One field's value before and after (`null` for none). Passwords are masked.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// The canonical field name.
    pub field: String,
    /// The stored value, or null.
    pub before: Value,
    /// The new value, or null.
    pub after: Value,
}

/// One planned change to one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Create, update or delete.
    pub action: Action,
    /// The user's key.
    pub key: String,
    /// `file:line` of the row, or why the change is there (e.g. a delete under `--sync`).
    pub source: Option<String>,
    /// For an update, the fields that change; empty for a create or delete, whose fields are
    /// the whole record (see [`Change::field_changes`]).
    pub fields: Vec<FieldChange>,
    /// The whole stored record before (none for a create).
    pub before: Option<Record>,
    /// The whole record after (none for a delete).
    pub after: Option<Record>,
    /// Platform-assigned ids kept beside the user.
    pub platform_ids: Option<Value>,
}

impl Change {
    /// Every field that changes, with before and after: for a create or delete, each field
    /// of the record.
    pub fn field_changes(&self) -> std::borrow::Cow<'_, [FieldChange]> {
        match self.action {
            Action::Update => std::borrow::Cow::Borrowed(&self.fields),
            _ => std::borrow::Cow::Owned(difference(self.before.as_ref(), self.after.as_ref())),
        }
    }
}

/// The result of merging a user's present fields into a stored record.
pub struct Merge {
    /// The record after the change.
    pub after: Record,
    /// The fields whose value changes.
    pub fields: Vec<FieldChange>,
    /// The new password in plain text, when the user sets one (kept only for export).
    pub password: Option<String>,
}

/// Merges the present fields of `user` into `before`: absent fields stay, null clears, a value sets.
/// Field-level changes are listed only when there is a `before`: a create's fields are its record.
pub fn merge(before: Option<&Record>, user: User) -> Merge {
    let mut after = before.cloned().unwrap_or_default();
    let mut fields = Vec::new();
    let mut password = None;
    let listing = before.is_some();
    for (field, value) in user.into_fields() {
        let name = field.name();
        let old = before.and_then(|b| b.get(name));
        if field == Field::Password {
            match (value.as_str(), old.and_then(Value::as_str)) {
                (Some(new), Some(hash)) if secret::matches(hash, new) => {}
                (Some(new), _) => {
                    after.insert(name.to_string(), Value::String(secret::hash(new)));
                    fields.push(masked(name, old.is_some(), true));
                    password = Some(new.to_string());
                }
                (None, _) => {
                    if after.remove(name).is_some() {
                        fields.push(masked(name, true, false));
                    }
                }
            }
            continue;
        }
        if value.is_null() {
            if let Some(old) = after.remove(name) {
                fields.push(FieldChange {
                    field: name.to_string(),
                    before: old,
                    after: Value::Null,
                });
            }
        } else if old != Some(&value) {
            if listing {
                fields.push(FieldChange {
                    field: name.to_string(),
                    before: old.cloned().unwrap_or(Value::Null),
                    after: value.clone(),
                });
            }
            after.insert(name.to_string(), value);
        }
    }
    Merge {
        after,
        fields,
        password,
    }
}

/// The record a user's fields alone make (nulls left out); passwords are not hashed, so use
/// it only for users without one.
pub fn record_of(user: &User) -> Record {
    user.fields()
        .filter(|(_, value)| !value.is_null())
        .map(|(field, value)| (field.name().to_string(), value.clone()))
        .collect()
}

/// The field-level difference between two whole records (for reverts and deletes).
pub fn difference(before: Option<&Record>, after: Option<&Record>) -> Vec<FieldChange> {
    let empty = Record::new();
    let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort_by_key(|name| Field::parse(name).map_or(usize::MAX, |f| f as usize));
    names.dedup();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| {
            if Field::parse(name).is_some_and(Field::is_secret) {
                return masked(name, before.contains_key(name), after.contains_key(name));
            }
            FieldChange {
                field: name.clone(),
                before: before.get(name).cloned().unwrap_or(Value::Null),
                after: after.get(name).cloned().unwrap_or(Value::Null),
            }
        })
        .collect()
}

fn masked(name: &str, had: bool, has: bool) -> FieldChange {
    let mask = |present: bool| {
        if present {
            Value::String(secret::MASK.into())
        } else {
            Value::Null
        }
    };
    FieldChange {
        field: name.to_string(),
        before: mask(had),
        after: mask(has),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(pairs: &[(Field, Value)]) -> User {
        let mut user = User::new();
        for (field, value) in pairs {
            user.set(*field, value.clone());
        }
        user
    }

    fn record(value: Value) -> Record {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn absent_fields_stay_null_clears_values_set() {
        let before = record(json!({"external_id": "u1", "email": "a@x", "language": "en"}));
        let m = merge(
            Some(&before),
            user(&[(Field::Email, json!("b@x")), (Field::Language, Value::Null)]),
        );
        assert_eq!(
            m.after,
            record(json!({"external_id": "u1", "email": "b@x"}))
        );
        assert_eq!(
            m.fields,
            vec![
                FieldChange {
                    field: "email".into(),
                    before: json!("a@x"),
                    after: json!("b@x")
                },
                FieldChange {
                    field: "language".into(),
                    before: json!("en"),
                    after: Value::Null
                },
            ]
        );
    }

    #[test]
    fn equal_values_make_no_change() {
        let before = record(json!({"external_id": "u1", "email": "a@x"}));
        let m = merge(Some(&before), user(&[(Field::Email, json!("a@x"))]));
        assert!(m.fields.is_empty());
    }

    #[test]
    fn passwords_are_hashed_masked_and_recognised_again() {
        let m = merge(None, user(&[(Field::Password, json!("hunter2"))]));
        let stored = m.after["password"].as_str().unwrap().to_string();
        assert!(secret::is_hash(&stored));
        assert_eq!(m.fields[0].after, json!(secret::MASK));
        assert_eq!(m.password.as_deref(), Some("hunter2"));
        let again = merge(Some(&m.after), user(&[(Field::Password, json!("hunter2"))]));
        assert!(again.fields.is_empty() && again.password.is_none());
    }

    #[test]
    fn difference_lists_every_differing_field_in_canonical_order() {
        let a = record(json!({"external_id": "u1", "email": "a@x", "active": true}));
        let b = record(json!({"external_id": "u1", "email": "b@x"}));
        let fields: Vec<_> = difference(Some(&a), Some(&b))
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, vec!["email", "active"]);
    }
}
