//! Opening a source: hash the raw bytes, refuse binary and empty files, decode the text,
//! and decide which reader it needs (by `--format`, the extension, or the first line).
//!
//! Everything here looks only at the first block and the first non-blank line; what it reads
//! is handed back in front of the rest of the stream, so the readers see the whole file once.

use std::io::{self, Cursor, Read};
use std::path::Path;

use encoding_rs::WINDOWS_1252;
use encoding_rs_io::DecodeReaderBytesBuilder;
use xxhash_rust::xxh3::Xxh3Default;

use super::{Encoding, Format, ReadOptions};
use crate::{Error, Result};

/// Buffer size for every reader stage: large reads keep a 130 MB file well under a second.
pub(super) const BUFFER: usize = 64 * 1024;

/// The longest first line looked at to tell NDJSON from JSON, or to find the CSV delimiter.
const FIRST_LINE_LIMIT: usize = 1024 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The reader a source needs, once `Format::Auto` is resolved.
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
    /// The whole text, from its first byte.
    pub reader: Box<dyn Read + 'a>,
}

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

/// Turns an open or read failure into the crate's error, worded for a person.
pub(super) fn io_error(name: &str, e: io::Error) -> Error {
    let message = match e.kind() {
        io::ErrorKind::NotFound => {
            "no such file or directory; check the name and the folder roster runs in".to_string()
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied; check that you may read the file".to_string()
        }
        _ => {
            // The OS says "Is a directory (os error 21)"; messages here are lowercase.
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or_default();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => "read failed".to_string(),
            }
        }
    };
    Error::Io {
        path: name.into(),
        source: io::Error::new(e.kind(), message),
    }
}

/// Checks the first block, sets up decoding and picks the reader.
pub(super) fn open<'a>(
    name: &str,
    mut raw: impl Read + 'a,
    options: &ReadOptions,
) -> Result<Text<'a>> {
    let mut head = Vec::with_capacity(BUFFER);
    (&mut raw)
        .take(BUFFER as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(name, e))?;

    let utf16 = head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF");
    if !utf16 {
        if let Some(nul) = head.iter().position(|&b| b == 0) {
            return Err(Error::input(
                format!("{name}:{}", line_of(&head, nul)),
                "does not look like a text file (it contains NUL bytes); \
                 roster reads CSV, JSON and NDJSON text files",
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
            .map_err(|e| io_error(name, e))?;
        Box::new(decoder)
    } else {
        let skip = if head.starts_with(UTF8_BOM) { 3 } else { 0 };
        let mut head = Cursor::new(head);
        head.set_position(skip);
        Box::new(head.chain(raw))
    };

    let (prefix, first_line) = first_line(&mut text).map_err(|e| io_error(name, e))?;
    let kind = match options.format {
        Format::Csv => Kind::Csv,
        Format::Json | Format::Vendor(_) => Kind::Json,
        Format::Ndjson => Kind::Ndjson,
        Format::Auto => by_extension(name).unwrap_or_else(|| sniff(&first_line)),
    };
    if first_line.is_empty() {
        let expected = match kind {
            Kind::Csv => "a header row",
            Kind::Json => "an array of user objects",
            Kind::Ndjson => "one user object per line",
        };
        return Err(Error::input(
            format!("{name}:1"),
            format!("the file is empty; expected {expected}"),
        ));
    }
    Ok(Text {
        kind,
        first_line,
        reader: Box::new(Cursor::new(prefix).chain(text)),
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
