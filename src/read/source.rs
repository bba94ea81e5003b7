//! Opening a source: hash the raw bytes, take off a gzip or zip layer, tell a workbook from
//! text, refuse binary and empty files, decode the text, and decide which reader it needs (by
//! `--format`, the first bytes, or the extension).
//!
//! This is the one place that decides what a source is. It looks at the first block (and,
//! for text, the first non-blank line); what it reads is handed back in front of the rest of
//! the stream, so the readers see the whole file once. What a compressed layer holds is opened
//! the same way, once: a `.gz` inside a `.zip` is refused. Workbooks and zip archives are read
//! whole into memory, as their readers must seek.

use std::io::{self, Cursor, Read};
use std::path::Path;

use encoding_rs::WINDOWS_1252;
use encoding_rs_io::DecodeReaderBytesBuilder;
use xxhash_rust::xxh3::Xxh3Default;

use super::compressed::{self, Stop};
use super::spreadsheet::{Workbook, WorkbookKind};
use super::{Encoding, Format, ReadOptions};
use crate::{Error, Result};

/// Buffer size for every reader stage: large reads keep a 130 MB file well under a second.
pub(super) const BUFFER: usize = 64 * 1024;

/// The longest first line looked at to tell NDJSON from JSON, or to find the CSV delimiter.
const FIRST_LINE_LIMIT: usize = 1024 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What every source is told apart by: its first bytes.
const GZIP_MAGIC: &[u8] = b"\x1F\x8B";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const EMPTY_ZIP_MAGIC: &[u8] = b"PK\x05\x06";
/// An OLE compound file: an `.xls` workbook, or a password-protected `.xlsx`.
const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The extensions of workbooks, which a text file saved under such a name does not have.
const WORKBOOK_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// The reader a text source needs, once `Format::Auto` is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Csv,
    Json,
    Ndjson,
}

/// A source ready to parse: UTF-8 text without a byte-order mark.
pub(super) struct Text<'a> {
    /// The reader to use.
    pub kind: Kind,
    /// The first non-blank line (without its line break), or its first megabyte.
    pub first_line: Vec<u8>,
    /// The lines skipped above the header (`--header-row`); the text starts after them.
    pub lines_skipped: u64,
    /// Whether `--header-row` placed the header (then no line above it is looked at).
    pub header_placed: bool,
    /// The whole text, from its first byte (after the skipped lines).
    pub reader: Box<dyn Read + 'a>,
}

/// An opened source: where its rows are said to be, and what it holds.
pub(super) struct Opened<'a> {
    /// The source's name in positions: the file as given, with the member of a zip archive
    /// (`export.zip:people.csv`).
    pub place: String,
    /// What to read.
    pub content: Content<'a>,
}

/// What an opened source holds.
pub(super) enum Content<'a> {
    /// Text for the CSV, JSON and NDJSON readers.
    Text(Text<'a>),
    /// A spreadsheet, whole in memory.
    Workbook(Workbook),
}

/// Reads an opened source; the rows read and the header.
pub(super) type Then<'t> = dyn FnMut(Opened<'_>) -> Result<(u64, Vec<String>)> + 't;

/// Feeds every raw byte read to the digest, so the file is hashed in the same pass.
pub(super) struct Hashed<'h, R> {
    inner: R,
    hasher: &'h mut Xxh3Default,
}

impl<'h, R> Hashed<'h, R> {
    pub(super) fn new(inner: R, hasher: &'h mut Xxh3Default) -> Self {
        Hashed { inner, hasher }
    }
}

impl<R: Read> Read for Hashed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Turns an open or read failure into the crate's error, worded for a person. A failure a
/// decompressing layer stopped the read with is its own message.
pub(super) fn io_error(name: &str, e: io::Error) -> Error {
    if let Some(stop) = e.get_ref().and_then(|inner| inner.downcast_ref::<Stop>()) {
        return stop.error();
    }
    let message = match e.kind() {
        io::ErrorKind::NotFound => {
            "no such file or directory; check the name and the folder roster runs in".to_string()
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied; check that you may read the file".to_string()
        }
        io::ErrorKind::IsADirectory => "it is a folder; name a file in it".to_string(),
        _ => crate::error::os_text(&e),
    };
    Error::Io {
        path: name.into(),
        source: io::Error::new(e.kind(), message),
    }
}

/// Opens the source `name` (`size` bytes long, when known) and hands what it holds to `then`.
pub(super) fn open(
    name: &str,
    raw: &mut dyn Read,
    size: Option<u64>,
    options: &ReadOptions,
    then: &mut Then<'_>,
) -> Result<(u64, Vec<String>)> {
    let layer = Layer {
        place: name.to_string(),
        name: name.to_string(),
        inside: None,
    };
    open_layer(&layer, raw, size, options, then)
}

/// One layer of a source: the file itself, or what a compressed file holds.
struct Layer<'p> {
    /// The name in positions.
    place: String,
    /// The name whose extension says what the layer is (`people.csv` in `people.csv.gz`).
    name: String,
    /// The compression this layer came out of, if any.
    inside: Option<&'p str>,
}

/// What a source's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Magic {
    Gzip,
    Zip,
    Cfb,
    Text,
}

fn magic(head: &[u8]) -> Magic {
    if head.starts_with(GZIP_MAGIC) {
        Magic::Gzip
    } else if head.starts_with(ZIP_MAGIC) || head.starts_with(EMPTY_ZIP_MAGIC) {
        Magic::Zip
    } else if head.starts_with(CFB_MAGIC) {
        Magic::Cfb
    } else {
        Magic::Text
    }
}

fn open_layer(
    layer: &Layer<'_>,
    raw: &mut dyn Read,
    size: Option<u64>,
    options: &ReadOptions,
    then: &mut Then<'_>,
) -> Result<(u64, Vec<String>)> {
    let mut head = Vec::with_capacity(BUFFER);
    raw.take(BUFFER as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(&layer.place, e))?;
    let kind = magic(&head);
    let nested = |outer: &str| {
        Err(Error::input(
            &layer.place,
            format!(
                "this {outer} file holds another compressed file; roster takes off one layer: \
                 unpack the outer one first"
            ),
        ))
    };
    let workbook = |kind: WorkbookKind, bytes: Vec<u8>| Opened {
        place: layer.place.clone(),
        content: Content::Workbook(Workbook { kind, bytes }),
    };
    match kind {
        Magic::Gzip => {
            if let Some(outer) = layer.inside {
                return nested(outer);
            }
            let limit = compressed::limit(size, options.max_decompressed);
            let inner = Layer {
                place: layer.place.clone(),
                name: without_extension(&layer.name, &["gz", "gzip"]),
                inside: Some("gzip"),
            };
            let mut input = Cursor::new(head).chain(raw);
            compressed::gunzip(&layer.place, &mut input, limit, &mut |text| {
                open_layer(&inner, text, None, options, then)
            })
        }
        Magic::Zip => {
            let bytes = read_rest(&layer.place, head, raw)?;
            let mut archive = compressed::Archive::open(&layer.place, &layer.name, bytes)?;
            let limit = compressed::limit(Some(archive.size()), options.max_decompressed);
            if let Some(kind) = archive.workbook() {
                archive.check_workbook(limit)?;
                return then(workbook(kind, archive.into_bytes()));
            }
            if let Some(outer) = layer.inside {
                return nested(outer);
            }
            let member = archive.member(options.member.as_deref())?;
            archive.read_member(&member, limit, &mut |text| {
                let inner = Layer {
                    place: format!("{}:{member}", layer.place),
                    name: member.clone(),
                    inside: Some("zip"),
                };
                open_layer(&inner, text, None, options, then)
            })
        }
        Magic::Cfb => {
            let bytes = read_rest(&layer.place, head, raw)?;
            then(workbook(WorkbookKind::Compound, bytes))
        }
        Magic::Text => {
            let text = open_text(layer, head, raw, options)?;
            then(Opened {
                place: layer.place.clone(),
                content: Content::Text(text),
            })
        }
    }
}

/// The first block and the rest of the stream, whole.
fn read_rest(place: &str, mut head: Vec<u8>, raw: &mut dyn Read) -> Result<Vec<u8>> {
    raw.read_to_end(&mut head).map_err(|e| io_error(place, e))?;
    Ok(head)
}

/// `name` without its last extension when it is one of `extensions` (any case).
fn without_extension(name: &str, extensions: &[&str]) -> String {
    match name.rsplit_once('.') {
        Some((stem, extension)) if extensions.iter().any(|e| e.eq_ignore_ascii_case(extension)) => {
            stem.to_string()
        }
        _ => name.to_string(),
    }
}

/// Checks a text layer's first block, sets up decoding, skips the lines above the header and
/// picks the reader.
fn open_text<'a>(
    layer: &Layer<'_>,
    head: Vec<u8>,
    raw: &'a mut dyn Read,
    options: &ReadOptions,
) -> Result<Text<'a>> {
    let place = layer.place.as_str();
    let utf16 = head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF");
    if !utf16 {
        if let Some(nul) = head.iter().position(|&b| b == 0) {
            return Err(Error::input(
                format!("{place}:{}", line_of(&head, nul)),
                "does not look like a text file (it contains NUL bytes); roster reads CSV, \
                 JSON and NDJSON text, spreadsheets (.xlsx .xlsm .xls .ods), and .gz or .zip \
                 files of them",
            ));
        }
    }

    let mut text: Box<dyn Read + 'a> = if utf16 || options.encoding == Encoding::Windows1252 {
        let encoding = match options.encoding {
            Encoding::Windows1252 => Some(WINDOWS_1252),
            Encoding::Utf8 => None,
        };
        let decoder = DecodeReaderBytesBuilder::new()
            .encoding(encoding)
            .bom_override(true)
            .strip_bom(true)
            .build_with_buffer(Cursor::new(head).chain(raw), vec![0; BUFFER])
            .map_err(|e| io_error(place, e))?;
        Box::new(decoder)
    } else {
        let skip = if head.starts_with(UTF8_BOM) { 3 } else { 0 };
        let mut head = Cursor::new(head);
        head.set_position(skip);
        Box::new(head.chain(raw))
    };

    let (prefix, first_line) = first_line(&mut text).map_err(|e| io_error(place, e))?;
    let by_name = by_extension(&layer.name);
    let kind = match options.format {
        Format::Csv => Kind::Csv,
        Format::Json | Format::Vendor(_) => Kind::Json,
        Format::Ndjson => Kind::Ndjson,
        Format::Scim => match by_name.unwrap_or_else(|| sniff(&first_line)) {
            Kind::Csv => Kind::Json,
            kind => kind,
        },
        Format::Auto => by_name.unwrap_or_else(|| sniff(&first_line)),
    };
    if is_workbook_name(&layer.name) && first_line.first() == Some(&b'<') {
        return Err(Error::input(
            format!("{place}:1"),
            "this is HTML or XML saved under a spreadsheet's name, not a workbook; open it in \
             Excel or LibreOffice and save it as .xlsx or CSV",
        ));
    }
    let text = Cursor::new(prefix).chain(text);
    match options.header_row {
        Some(row) if kind != Kind::Csv => Err(Error::Usage(format!(
            "`--header-row {row}` is for CSV files and spreadsheets, and `{place}` is read as \
             {}; leave it out",
            if kind == Kind::Json { "JSON" } else { "NDJSON" }
        ))),
        Some(row) => placed_header(place, row, text),
        None if first_line.is_empty() => {
            let expected = match kind {
                Kind::Csv => "a header row",
                Kind::Json => "an array of user objects",
                Kind::Ndjson => "one user object per line",
            };
            Err(Error::input(
                format!("{place}:1"),
                format!("the file is empty; expected {expected}"),
            ))
        }
        None => Ok(Text {
            kind,
            first_line,
            lines_skipped: 0,
            header_placed: false,
            reader: Box::new(text),
        }),
    }
}

/// A CSV text whose header is on line `row` (`--header-row`): the lines above are skipped.
fn placed_header<'a>(place: &str, row: u64, mut text: impl Read + 'a) -> Result<Text<'a>> {
    let skip = row.saturating_sub(1);
    let (rest, skipped) = skip_lines(&mut text, skip).map_err(|e| io_error(place, e))?;
    if skipped < skip {
        return Err(Error::input(
            place,
            format!(
                "`--header-row {row}` is past the end of the file, which has {skipped} lines; \
                 give the line the header is on"
            ),
        ));
    }
    let mut text: Box<dyn Read + 'a> = Box::new(Cursor::new(rest).chain(text));
    let (prefix, line) = first_line(&mut text).map_err(|e| io_error(place, e))?;
    let blank_before = prefix.first().is_some_and(|b| b.is_ascii_whitespace())
        && prefix
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .any(|&b| b == b'\n');
    if line.is_empty() || blank_before {
        return Err(Error::input(
            format!("{place}:{row}"),
            format!(
                "line {row} is blank, and `--header-row {row}` says the header is there; \
                 give the line the header is on"
            ),
        ));
    }
    Ok(Text {
        kind: Kind::Csv,
        first_line: line,
        lines_skipped: skipped,
        header_placed: true,
        reader: Box::new(Cursor::new(prefix).chain(text)),
    })
}

/// Reads past `lines` line breaks; returns what was read after the last of them, and how
/// many there were (fewer at the end of the text).
fn skip_lines(text: &mut dyn Read, lines: u64) -> io::Result<(Vec<u8>, u64)> {
    let mut chunk = vec![0; BUFFER];
    let mut skipped = 0;
    while skipped < lines {
        let n = text.read(&mut chunk)?;
        if n == 0 {
            return Ok((Vec::new(), skipped));
        }
        for (i, &b) in chunk[..n].iter().enumerate() {
            if b == b'\n' {
                skipped += 1;
                if skipped == lines {
                    return Ok((chunk[i + 1..n].to_vec(), skipped));
                }
            }
        }
    }
    Ok((Vec::new(), skipped))
}

/// Whether a name has a workbook's extension.
fn is_workbook_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| {
            WORKBOOK_EXTENSIONS
                .iter()
                .any(|w| w.eq_ignore_ascii_case(e))
        })
}

/// Reads until the first non-blank line is complete; returns what was read and that line.
/// The line is empty only when the whole text is blank.
fn first_line(text: &mut dyn Read) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut prefix = Vec::new();
    let mut chunk = vec![0; BUFFER];
    let mut start = None;
    let mut scanned = 0;
    loop {
        let n = text.read(&mut chunk)?;
        prefix.extend_from_slice(&chunk[..n]);
        let at_end = n == 0 || prefix.len() >= FIRST_LINE_LIMIT;
        if start.is_none() {
            start = prefix[scanned..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .map(|i| scanned + i);
        }
        if let Some(start) = start {
            let from = scanned.max(start);
            if let Some(end) = prefix[from..].iter().position(|&b| b == b'\n') {
                let line = trim_end(&prefix[start..from + end]).to_vec();
                return Ok((prefix, line));
            }
            if at_end {
                let line = trim_end(&prefix[start..]).to_vec();
                return Ok((prefix, line));
            }
        } else if at_end {
            return Ok((prefix, Vec::new()));
        }
        scanned = prefix.len();
    }
}

fn trim_end(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &line[..end]
}

/// The reader named by a file's extension, if it names one.
fn by_extension(name: &str) -> Option<Kind> {
    let extension = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "csv" | "tsv" | "txt" => Some(Kind::Csv),
        "json" => Some(Kind::Json),
        "ndjson" | "jsonl" => Some(Kind::Ndjson),
        _ => None,
    }
}

/// Guesses the reader from the first non-blank line: `[` starts a JSON array; `{` starts
/// NDJSON when the line is a whole object by itself, else a JSON document; anything else is CSV.
fn sniff(first_line: &[u8]) -> Kind {
    match first_line.first() {
        Some(b'[') => Kind::Json,
        Some(b'{') if serde_json::from_slice::<serde::de::IgnoredAny>(first_line).is_ok() => {
            Kind::Ndjson
        }
        Some(b'{') => Kind::Json,
        _ => Kind::Csv,
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &[u8], offset: usize) -> u64 {
    1 + text[..offset].iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn sniffs_the_first_non_blank_line() {
        assert_eq!(sniff(b"[{\"id\":1}"), Kind::Json);
        assert_eq!(sniff(b"{\"id\":1}"), Kind::Ndjson);
        assert_eq!(sniff(b"{\"Users\":["), Kind::Json);
        assert_eq!(sniff(b"{"), Kind::Json);
        assert_eq!(sniff(b"id,name"), Kind::Csv);
        assert_eq!(by_extension("dir.v2/users"), None);
        assert_eq!(by_extension("users.TSV"), Some(Kind::Csv));
    }

    #[test]
    fn the_first_line_skips_blank_lines_and_keeps_what_it_read() {
        let text = b"\r\n  \n id;name \r\n1;Ann\n";
        let (prefix, line) = first_line(&mut &text[..]).unwrap();
        assert_eq!(line, b"id;name");
        assert!(text.starts_with(&prefix));
        let (_, line) = first_line(&mut &b" \n\t\r\n"[..]).unwrap();
        assert!(line.is_empty());
    }

    #[test]
    fn a_minified_document_longer_than_the_sniffing_limit_is_json() {
        let mut bytes = b"{\"Users\":[".to_vec();
        let user = b"{\"id\":\"0123456789\",\"name\":\"Somebody With A Long Name\"},";
        let count = FIRST_LINE_LIMIT / user.len() + 10;
        for _ in 0..count {
            bytes.extend_from_slice(user);
        }
        bytes.pop();
        bytes.extend_from_slice(b"]}");
        let (summary, rows) = read_bytes("-", &bytes, &Default::default()).unwrap();
        assert_eq!(summary.rows as usize, count);
        assert_eq!(rows[count - 1].position.line, 1);
    }

    #[test]
    fn nul_bytes_mean_binary_whatever_the_format() {
        let e = error("x.json", b"[{\"id\": 1}]\n\x00");
        assert!(
            e.starts_with("x.json:2: does not look like a text file"),
            "{e}"
        );
    }
}
