//! Rendering for people (tables, the sign-off report), programs (JSON) and customers (the
//! rejects file).

pub mod file;
pub mod fit;
pub mod json;
pub mod rejects;
pub mod report;
pub mod table;
pub mod terminal;

use serde_json::Value;

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
