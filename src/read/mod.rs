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

mod csv;
mod json;
mod source;

use std::io::Read;

use xxhash_rust::xxh3::Xxh3Default;

use crate::Result;

/// The reader to use (`--format`).
///
/// Vendor payload formats join this list later; [`Format::parse`] and [`Format::name`] are
/// the only places that spell the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Chosen by the file's extension, else by its first bytes.
    #[default]
    Auto,
    /// Comma-, semicolon- or tab-separated values with a header row.
    Csv,
    /// An array of user objects, bare or under one key (`{"Users": [...]}`).
    Json,
    /// One user object per line.
    Ndjson,
}

impl Format {
    /// Parses a `--format` value: `auto`, `csv`, `json` or `ndjson`, any case.
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Format::Auto),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// The name `--format` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }
}

/// The text encoding of a source (`--encoding`). A byte-order mark in the file wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    #[default]
    Utf8,
    /// Windows-1252, what Excel and older Windows tools save as "CSV".
    Windows1252,
}

impl Encoding {
    /// Parses an `--encoding` value: `utf-8` (`utf8`), or `windows-1252` (also `cp1252`,
    /// `latin1`, `iso-8859-1`), any case.
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" => {
                Some(Encoding::Windows1252)
            }
            _ => None,
        }
    }
}

/// How to read a source: the command line's `--format`, `--delimiter` and `--encoding`.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The reader to use.
    pub format: Format,
    /// The CSV delimiter; detected from the header line when `None`.
    pub delimiter: Option<u8>,
    /// The text encoding.
    pub encoding: Encoding,
}

/// What reading a source found, besides its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSummary {
    /// How many rows were handed to the sink.
    pub rows: u64,
    /// Lowercase hex xxh3-128 of the raw bytes read, to recognise the same file again.
    pub digest: String,
    /// The CSV header, names trimmed; empty for JSON and NDJSON.
    pub columns: Vec<String>,
}

/// Reads one source (a path, or `-` for stdin) and hands each row to `sink` as soon as it is
/// parsed. A sink error stops reading and is returned as is.
pub fn read_source(
    name: &str,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> Result<()>,
) -> Result<ReadSummary> {
    if name == "-" {
        return read_from(name, std::io::stdin().lock(), options, sink);
    }
    let file = std::fs::File::open(name).map_err(|e| source::io_error(name, e))?;
    read_from(name, file, options, sink)
}

/// Reads one source from any reader; `name` is used in positions and messages, and its
/// extension guides [`Format::Auto`].
pub fn read_from(
    name: &str,
    input: impl Read,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> Result<()>,
) -> Result<ReadSummary> {
    let mut hasher = Xxh3Default::new();
    let (rows, columns) = {
        let text = source::open(name, source::Hashed::new(input, &mut hasher), options)?;
        let file: Arc<str> = Arc::from(name);
        match text.kind {
            source::Kind::Csv => csv::read(file, text, options.delimiter, sink)?,
            source::Kind::Json => (json::read_document(file, text, sink)?, Vec::new()),
            source::Kind::Ndjson => (json::read_lines(file, text, sink)?, Vec::new()),
        }
    };
    Ok(ReadSummary {
        rows,
        digest: format!("{:032x}", hasher.digest128()),
        columns,
    })
}
