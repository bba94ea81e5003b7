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
    user_hash_of_bytes(key.as_bytes(), record_json.as_bytes())
}

/// [`user_hash`] of a key and record as SQLite holds them, not checked as UTF-8: the
/// xxh3-128 of the key, a zero byte and the record. Joined on the stack when they fit.
pub fn user_hash_of_bytes(key: &[u8], record_json: &[u8]) -> u128 {
    const ON_STACK: usize = 1024;
    let len = key.len() + 1 + record_json.len();
    let join = |bytes: &mut [u8]| {
        bytes[..key.len()].copy_from_slice(key);
        bytes[key.len()] = 0;
        bytes[key.len() + 1..].copy_from_slice(record_json);
    };
    if len <= ON_STACK {
        let mut buffer = [0u8; ON_STACK];
        join(&mut buffer[..len]);
        xxh3_128(&buffer[..len])
    } else {
        let mut bytes = vec![0; len];
        join(&mut bytes);
        xxh3_128(&bytes)
    }
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

    /// The hash is of the key, a zero byte and the record, joined on the stack or not.
    #[test]
    fn a_user_hash_is_of_the_key_a_zero_byte_and_the_record() {
        for len in [0, 10, 1018, 1019, 1020, 5000] {
            let record = "r".repeat(len);
            let joined = format!("key1\0{record}");
            assert_eq!(
                user_hash("key1", &record),
                xxh3_128(joined.as_bytes()),
                "{len}"
            );
            assert_eq!(
                user_hash_of_bytes(b"key1", record.as_bytes()),
                user_hash("key1", &record)
            );
        }
    }

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
