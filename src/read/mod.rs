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

/// Reader options (interim: CSV only).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Forced delimiter.
    pub delimiter: Option<u8>,
}

/// What reading a source found.
pub struct ReadSummary {
    /// Rows read.
    pub rows: u64,
    /// Digest of the bytes.
    pub digest: String,
    /// Header.
    pub columns: Vec<String>,
}

/// Reads a CSV source (interim).
pub fn read_source(
    name: &str,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> crate::Result<()>,
) -> crate::Result<ReadSummary> {
    let bytes = std::fs::read(name).map_err(|source| crate::Error::Io {
        path: name.into(),
        source,
    })?;
    let file: Arc<str> = name.into();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(options.delimiter.unwrap_or(b','))
        .from_reader(&bytes[..]);
    let headers: Vec<Arc<str>> = reader
        .headers()
        .map_err(|e| crate::Error::input(name, e.to_string()))?
        .iter()
        .map(|h| Arc::from(h.trim()))
        .collect();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.map_err(|e| crate::Error::input(name, e.to_string()))?;
        let position = Position {
            file: file.clone(),
            line: record.position().map_or(0, |p| p.line()),
            index: rows,
        };
        rows += 1;
        sink(Row {
            position,
            columns: headers
                .iter()
                .cloned()
                .zip(record.iter().map(|c| Value::String(c.to_string())))
                .collect(),
        })?;
    }
    Ok(ReadSummary {
        rows,
        digest: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)),
        columns: headers.iter().map(|h| h.to_string()).collect(),
    })
}
