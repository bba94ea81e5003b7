//! Readers: source files (CSV, JSON, NDJSON, SCIM, vendor payloads, spreadsheets; plain, gzip
//! or zip) → rows with their positions.
//!
//! Readers stream: they hand each row to a sink as soon as it is parsed, so a million-row
//! file never sits in memory. Every row carries the `file:line` it started on (for a
//! spreadsheet `file.xlsx:Sheet:row`, the sheet being part of the file's name).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::position::Position;

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

mod compressed;
mod csv;
mod document;
mod header;
mod json;
mod json_path;
pub mod rejects;
mod scan;
mod scim;
mod source;
mod spreadsheet;
mod workbook_checks;

pub use csv::Cells;

use std::fmt;
use std::io::Read;

use xxhash_rust::xxh3::Xxh3Default;

use crate::model::vendor::Vendor;
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
    /// SCIM 2.0 User resources (a `ListResponse`, one resource, or NDJSON of them), mapped
    /// to canonical columns.
    Scim,
    /// A vendor's payload or export of users (JSON), mapped to canonical columns.
    Vendor(Vendor),
}

impl Format {
    /// Parses a `--format` value: `auto`, `csv`, `json` or `ndjson`, any case.
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Format::Auto),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "scim" => Some(Format::Scim),
            other => Vendor::parse(other).map(Format::Vendor),
        }
    }

    /// The name `--format` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Scim => "scim",
            Format::Vendor(vendor) => vendor.name(),
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

/// How to read a source: the command line's reading options (`--format`, `--delimiter`,
/// `--encoding`, `--sheet`, `--header-row`, `--json-path`, `--member`, `--max-decompressed`).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The reader to use.
    pub format: Format,
    /// The CSV delimiter; detected from the header line when `None`.
    pub delimiter: Option<u8>,
    /// The text encoding.
    pub encoding: Encoding,
    /// For a vendor's file: what its objects mean for the tenant (where ServicePower carries
    /// roster's key, how eSystems names locations). Without it a vendor's objects are read
    /// as plain JSON objects.
    pub vendor: Option<Arc<dyn VendorObjects>>,
    /// The sheet of a spreadsheet: its name, or its 1-based number; the first visible
    /// worksheet when `None`.
    pub sheet: Option<String>,
    /// The 1-based line (CSV) or row (spreadsheet) of the header; the lines above it are
    /// skipped. The first non-blank one when `None`.
    pub header_row: Option<u64>,
    /// Where a JSON document keeps its array of users (`data.users` as `["data", "users"]`);
    /// found by its known names when `None`.
    pub json_path: Option<Vec<String>>,
    /// The member of a zip archive to read; needed when it holds more than one data file.
    pub member: Option<String>,
    /// The most bytes a compressed source may decompress to; by default 100 times its size
    /// (at least 1 MiB), and never more than 4 GiB.
    pub max_decompressed: Option<u64>,
}

/// How a vendor's user objects read as canonical columns (`UserID` → `external_id`, `Id` →
/// `platform_id.esystems`, …). The payload shapes are the `vendor` module's to know, a layer
/// above `read`: it implements this, and a command hands it in with the [`ReadOptions`].
pub trait VendorObjects: fmt::Debug + Send + Sync {
    /// One of `vendor`'s user objects as canonical columns.
    fn columns(&self, vendor: Vendor, item: &Map<String, Value>) -> Vec<(String, Value)>;
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

/// Where a reader hands the rows it reads. A closure taking a [`Row`] is one.
pub trait Sink {
    /// Takes one row. An error stops reading and is returned as is.
    fn row(&mut self, row: Row) -> Result<()>;

    /// Told the header of a file that has one (CSV, a sheet) before its first row: `at` is
    /// where it is (`file:line`, `file.xlsx:Sheet:row`), `names` its columns.
    fn header(&mut self, _at: &str, _names: &[Arc<str>]) -> Result<()> {
        Ok(())
    }

    /// Offered each CSV row as its text cells (named by `names`, in header order) before the
    /// row is built: `true` when the sink is done with it, so the row is never built (it is
    /// still counted). A row a sink passes over then costs no allocation.
    fn cells(&mut self, _position: &Position, _names: &[Arc<str>], _cells: &Cells) -> Result<bool> {
        Ok(false)
    }
}

impl<F: FnMut(Row) -> Result<()>> Sink for F {
    fn row(&mut self, row: Row) -> Result<()> {
        self(row)
    }
}

/// Reads one source (a path, or `-` for stdin) and hands each row to `sink` as soon as it is
/// parsed. A sink error stops reading and is returned as is.
pub fn read_source(name: &str, options: &ReadOptions, sink: &mut dyn Sink) -> Result<ReadSummary> {
    if name == "-" {
        return read_sized(name, std::io::stdin().lock(), None, options, sink);
    }
    let file = std::fs::File::open(name).map_err(|e| source::io_error(name, e))?;
    let size = file.metadata().ok().map(|m| m.len());
    read_sized(name, file, size, options, sink)
}

/// Reads one source from any reader; `name` is used in positions and messages, and its
/// extension guides [`Format::Auto`].
pub fn read_from(
    name: &str,
    input: impl Read,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadSummary> {
    read_sized(name, input, None, options, sink)
}

/// [`read_from`], told the input's size when it is known (it bounds decompression).
fn read_sized(
    name: &str,
    input: impl Read,
    size: Option<u64>,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<ReadSummary> {
    let mut hasher = Xxh3Default::new();
    let (rows, columns) = {
        let mut raw = source::Hashed::new(input, &mut hasher);
        source::open(name, &mut raw, size, options, &mut |opened| {
            read_opened(opened, options, sink)
        })?
    };
    Ok(ReadSummary {
        rows,
        digest: format!("{:032x}", hasher.digest128()),
        columns,
    })
}

/// Hands an opened source to its reader; the rows read and the header.
fn read_opened(
    opened: source::Opened<'_>,
    options: &ReadOptions,
    sink: &mut dyn Sink,
) -> Result<(u64, Vec<String>)> {
    let file: Arc<str> = Arc::from(opened.place.as_str());
    let format = options.format;
    let tenant = options.vendor.as_deref();
    let mut json_sink =
        |row: Row, envelope: &str| sink.row(json_row(format, row, envelope, tenant));
    match opened.content {
        source::Content::Text(text) => match text.kind {
            source::Kind::Csv => csv::read(file, text, options.delimiter, sink),
            source::Kind::Json => {
                let path = options.json_path.as_deref();
                let rows = document::read(file, text, path, format, &mut json_sink)?;
                Ok((rows, Vec::new()))
            }
            source::Kind::Ndjson => Ok((json::read_lines(file, text, &mut json_sink)?, Vec::new())),
        },
        source::Content::Workbook(workbook) => spreadsheet::read(&file, workbook, options, sink),
    }
}

/// A JSON row as the pipeline takes it: a vendor's user object or a SCIM User resource mapped
/// to canonical columns. With `--format auto`, the users of a `Resources` array and objects
/// that name the SCIM User schema are SCIM resources.
fn json_row(format: Format, row: Row, envelope: &str, tenant: Option<&dyn VendorObjects>) -> Row {
    match format {
        Format::Vendor(vendor) => match tenant {
            Some(tenant) => vendor_row(vendor, row, tenant),
            None => row,
        },
        Format::Scim => scim::row(row),
        Format::Auto if envelope == scim::LIST_ARRAY || scim::is_user(&row) => scim::row(row),
        _ => row,
    }
}

/// A vendor's user object as canonical columns (`UserID` → `external_id`, `Id` →
/// `platform_id.esystems`, …).
fn vendor_row(vendor: Vendor, row: Row, tenant: &dyn VendorObjects) -> Row {
    let object: Map<String, Value> = row
        .columns
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    Row {
        position: row.position,
        columns: tenant
            .columns(vendor, &object)
            .into_iter()
            .map(|(name, value)| (Arc::from(name), value))
            .collect(),
    }
}

/// Helpers for the readers' tests: read bytes, keep the rows or the error text.
#[cfg(test)]
mod testing {
    use super::*;

    /// Reads `bytes` as the file `name`; the summary and every row.
    pub(super) fn read_bytes(
        name: &str,
        bytes: &[u8],
        options: &ReadOptions,
    ) -> Result<(ReadSummary, Vec<Row>)> {
        let mut rows = Vec::new();
        let summary = read_from(name, bytes, options, &mut |row: Row| {
            rows.push(row);
            Ok(())
        })?;
        Ok((summary, rows))
    }

    /// Reads with default options; the rows.
    pub(super) fn rows(name: &str, bytes: &[u8]) -> Vec<Row> {
        match read_bytes(name, bytes, &ReadOptions::default()) {
            Ok((_, rows)) => rows,
            Err(e) => panic!("reading `{name}` failed: {e}"),
        }
    }

    /// Reads with default options; the error's text.
    pub(super) fn error(name: &str, bytes: &[u8]) -> String {
        error_with(name, bytes, &ReadOptions::default())
    }

    /// Reads with the options given; the error's text.
    pub(super) fn error_with(name: &str, bytes: &[u8], options: &ReadOptions) -> String {
        match read_bytes(name, bytes, options) {
            Ok((summary, _)) => panic!("reading `{name}` succeeded: {summary:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// A row's columns as `(name, value)` pairs of strings, for short assertions.
    pub(super) fn cells(row: &Row) -> Vec<(&str, String)> {
        row.columns
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (&**name, value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::Error;

    #[test]
    fn format_and_encoding_names() {
        assert_eq!(Format::parse("auto"), Some(Format::Auto));
        assert_eq!(Format::parse("CSV"), Some(Format::Csv));
        assert_eq!(Format::parse("json"), Some(Format::Json));
        assert_eq!(Format::parse("ndjson"), Some(Format::Ndjson));
        assert_eq!(Format::parse("xml"), None);
        for format in [Format::Auto, Format::Csv, Format::Json, Format::Ndjson] {
            assert_eq!(Format::parse(format.name()), Some(format));
        }
    }

    #[test]
    fn digest_is_xxh3_128_of_the_raw_bytes() {
        let bytes = b"\xEF\xBB\xBFid,name\r\n1,Ann\r\n";
        let (summary, _) = read_bytes("x.csv", bytes, &ReadOptions::default()).unwrap();
        let expected = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes));
        assert_eq!(summary.digest, expected);
        assert_eq!(summary.digest.len(), 32);

        // Bigger than every buffer, and through the decoder too.
        let mut big = b"id;name\n".to_vec();
        for i in 0..20_000 {
            big.extend_from_slice(format!("{i};Jos").as_bytes());
            big.extend_from_slice(b"\xE9\n");
        }
        let options = ReadOptions {
            encoding: Encoding::Windows1252,
            ..ReadOptions::default()
        };
        let (summary, rows) = read_bytes("big.csv", &big, &options).unwrap();
        assert_eq!(summary.rows, 20_000);
        assert_eq!(rows.len(), 20_000);
        assert_eq!(
            summary.digest,
            format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&big))
        );
    }

    #[test]
    fn a_sink_error_stops_reading_and_is_returned_as_is() {
        for (name, bytes) in [
            ("x.csv", &b"id\n1\n2\n3\n"[..]),
            ("x.json", b"[{\"id\":1},{\"id\":2},{\"id\":3}]"),
            ("x.ndjson", b"{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n"),
        ] {
            let mut seen = 0;
            let result = read_from(name, bytes, &ReadOptions::default(), &mut |row: Row| {
                seen += 1;
                if row.position.index == 1 {
                    return Err(Error::Usage("enough".into()));
                }
                Ok(())
            });
            assert!(
                matches!(result, Err(Error::Usage(ref m)) if m == "enough"),
                "{name}"
            );
            assert_eq!(seen, 2, "{name}");
        }
    }

    /// Takes the CSV rows whose `id` is `skip` as text cells; keeps what it was offered.
    #[derive(Default)]
    struct Skipping {
        offered: Vec<(String, Vec<String>)>,
        built: Vec<Row>,
    }

    impl Sink for Skipping {
        fn row(&mut self, row: Row) -> Result<()> {
            self.built.push(row);
            Ok(())
        }

        fn cells(
            &mut self,
            position: &Position,
            names: &[Arc<str>],
            cells: &Cells,
        ) -> Result<bool> {
            let texts: Vec<String> = cells.iter().map(str::to_string).collect();
            assert_eq!(names.len(), texts.len());
            let skip = texts[0] == "skip";
            self.offered.push((position.to_string(), texts));
            Ok(skip)
        }
    }

    #[test]
    fn a_sink_may_take_csv_rows_as_text_before_they_are_built() {
        let bytes = b"id,note\nskip,\"two\nlines\"\n1,Ann\nskip,x\n";
        let mut sink = Skipping::default();
        let summary = read_from("x.csv", &bytes[..], &ReadOptions::default(), &mut sink).unwrap();
        assert_eq!(summary.rows, 3, "rows taken as text are counted");
        let offered: Vec<(&str, Vec<&str>)> = sink
            .offered
            .iter()
            .map(|(at, texts)| (at.as_str(), texts.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            offered,
            [
                ("x.csv:2", vec!["skip", "two\nlines"]),
                ("x.csv:4", vec!["1", "Ann"]),
                ("x.csv:5", vec!["skip", "x"]),
            ]
        );
        let built: Vec<String> = sink.built.iter().map(|r| r.position.to_string()).collect();
        assert_eq!(built, ["x.csv:4"]);
        assert_eq!(sink.built[0].position.index, 1);
    }

    #[test]
    fn a_row_that_is_not_utf8_fails_before_it_is_offered_as_text() {
        let mut sink = Skipping::default();
        let e = read_from(
            "x.csv",
            &b"id,note\nskip,\xff\n"[..],
            &ReadOptions::default(),
            &mut sink,
        );
        assert!(e.unwrap_err().to_string().starts_with("x.csv:2: "));
        assert!(sink.offered.is_empty());
    }

    #[test]
    fn a_missing_file_says_so_with_a_hint() {
        let e = read_source("no/such/x.csv", &ReadOptions::default(), &mut |_: Row| {
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        let text = e.to_string();
        assert!(
            text.starts_with("cannot read `no/such/x.csv`: no such file or directory; "),
            "{text}"
        );
    }

    #[test]
    fn a_folder_named_as_a_file_says_to_name_a_file() {
        let dir = std::env::temp_dir();
        let name = dir.to_string_lossy();
        let e = read_source(&name, &ReadOptions::default(), &mut |_: Row| Ok(())).unwrap_err();
        let text = e.to_string();
        assert_eq!(
            text,
            format!("cannot read `{name}`: it is a folder; name a file in it")
        );
    }

    #[test]
    fn reads_a_file_by_path() {
        let dir = std::env::temp_dir().join(format!("roster-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("people.csv");
        std::fs::write(&path, "id,name\n1,Ann\n").unwrap();
        let name = path.to_str().unwrap();
        let mut rows = Vec::new();
        let summary = read_source(name, &ReadOptions::default(), &mut |row: Row| {
            rows.push(row);
            Ok(())
        })
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(summary.rows, 1);
        assert_eq!(summary.columns, ["id", "name"]);
        assert_eq!(rows[0].position.to_string(), format!("{name}:2"));
        assert_eq!(&*rows[0].position.file, name);
    }

    #[test]
    fn the_same_users_read_alike_from_csv_json_and_ndjson() {
        let csv = rows("u.csv", b"id,name\n1,Ann\n2,Bo\n");
        let json = rows(
            "u.json",
            b"[{\"id\":\"1\",\"name\":\"Ann\"},{\"id\":\"2\",\"name\":\"Bo\"}]",
        );
        let ndjson = rows(
            "u.ndjson",
            b"{\"id\":\"1\",\"name\":\"Ann\"}\n{\"id\":\"2\",\"name\":\"Bo\"}\n",
        );
        for other in [&json, &ndjson] {
            assert_eq!(csv.len(), other.len());
            for (a, b) in csv.iter().zip(other.iter()) {
                assert_eq!(a.columns, b.columns);
                assert_eq!(a.position.index, b.position.index);
            }
        }
    }
}
