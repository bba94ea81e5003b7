//! Rendering for people (tables) and programs (JSON).

pub mod json;
pub mod table;

use serde_json::Value;

/// A value as a table cell: text as is, lists joined with `; `, nothing as `(none)`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
