//! A stored record: a user as the state holds it, its hash, and its values as text.

use std::borrow::Cow;

use serde_json::{Map, Value};
use xxhash_rust::xxh3::xxh3_128;

use super::structured::{self, Phone};

/// A stored user: canonical field name → value (no nulls; the password hashed).
pub type Record = Map<String, Value>;

/// A user as the state holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    /// The user's fields.
    pub record: Record,
    /// Ids the platforms assigned, e.g. `{"esystems": 12}`.
    pub platform_ids: Option<Value>,
}

/// The hash of one user, as summed into the state digest.
pub fn user_hash(key: &str, record_json: &str) -> u128 {
    let mut bytes = Vec::with_capacity(key.len() + 1 + record_json.len());
    bytes.extend_from_slice(key.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(record_json.as_bytes());
    xxh3_128(&bytes)
}

/// Formats a digest as 32 hex digits.
pub fn digest_hex(digest: u128) -> String {
    format!("{digest:032x}")
}

/// A value as the text `Unique` compares: text as it is, anything else as its JSON.
pub fn unique_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// A value as a table cell: text as is, lists and phones joined with `; `, nothing as `(none)`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        Value::Array(items) if items.iter().all(Value::is_object) => {
            match structured::read::<Vec<Phone>>(value) {
                Ok(phones) => phones
                    .iter()
                    .map(Phone::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                Err(_) => value.to_string(),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_show_as_their_text_form_and_other_lists_as_json() {
        let phones = json!([{"number": "+47 22 00 00 00", "type": "work"}, {"number": "555"}]);
        assert_eq!(cell(&phones), "work:+47 22 00 00 00; 555");
        assert_eq!(cell(&json!(["tech", "lead"])), "tech; lead");
        let week = json!([{"day": "monday", "start": "08:00"}]);
        assert_eq!(cell(&week), week.to_string());
        assert_eq!(cell(&Value::Null), "(none)");
    }
}
