//! A stored record: a user as the state holds it, its hash, and its values as text.

use serde_json::{Map, Value};
use xxhash_rust::xxh3::xxh3_128;

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
pub fn unique_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
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
        Value::Array(items) if items.iter().all(|i| i.get("number").is_some()) => {
            items.iter().map(phone).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

/// A phone as its text form in CSV: `type:number`, or the number alone.
fn phone(item: &Value) -> String {
    let number = item["number"].as_str().unwrap_or_default();
    match item.get("type").and_then(Value::as_str) {
        Some(kind) => format!("{kind}:{number}"),
        None => number.to_string(),
    }
}
