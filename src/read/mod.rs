//! Readers: source files (CSV, JSON, NDJSON, vendor payloads) → rows with their positions.
//!
//! Readers stream: they hand each row to a sink as soon as it is parsed, so a million-row
//! file never sits in memory. Every row carries the `file:line` it started on.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// Where a row came from: the file (as the user named it, `-` for stdin) and its first line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The file as given on the command line.
    pub file: Arc<str>,
    /// The 1-based line the row starts on.
    pub line: u64,
    /// The 0-based index of the row among the file's rows (for data paths like `Users[12]`).
    pub index: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One source row: column name → value, in the source's column order.
/// CSV cells are strings; JSON values keep their type.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Where the row starts.
    pub position: Position,
    /// The row's columns (CSV: every header column; JSON: the object's keys).
    pub columns: Vec<(Arc<str>, Value)>,
}

impl Row {
    /// The value of a column, by exact name.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.columns
            .iter()
            .find(|(name, _)| &**name == column)
            .map(|(_, value)| value)
    }
}
