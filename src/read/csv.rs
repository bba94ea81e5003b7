//! The CSV reader: a header row names the columns, every later record is one row of strings.
//!
//! Records are read into one reused `ByteRecord`, checked for shape and UTF-8, and handed on
//! with the header names shared as `Arc<str>`, so a row costs its cell strings and nothing more.

use std::io::{self, Read};
use std::sync::Arc;

use csv::ByteRecord;
use serde_json::Value;

use super::header::{self, Columns};
use super::rejects::Returned;
use super::source::{io_error, Text, BUFFER};
use super::{Position, Row, Sink};
use crate::{Error, Result};

/// Delimiters detected from the header line, in order of preference on a tie.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// How much already-parsed text [`Tail`] may hold before it forgets what came before the
/// current record.
const TAIL_LIMIT: usize = 1024 * 1024;

/// Reads a CSV text; returns the number of rows and the header names.
pub(super) fn read(
    file: Arc<str>,
    text: Text<'_>,
    forced: Option<u8>,
    sink: &mut dyn Sink,
) -> Result<(u64, Vec<String>)> {
    let delimiter = forced.unwrap_or_else(|| detect_delimiter(&text.first_line));
    let header_placed = text.header_placed;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(BUFFER)
        .from_reader(Tail::new(text.reader));
    let mut csv = Csv {
        file,
        delimiter,
        record: ByteRecord::new(),
        line: 1,
        byte: 0,
        lines_skipped: text.lines_skipped,
    };

    let empty = |csv: &Csv| {
        Error::input(
            format!("{}:{}", csv.file, csv.lines_skipped + 1),
            "the file is empty; expected a header row",
        )
    };
    if !csv.next(&mut reader)? {
        return Err(empty(&csv));
    }
    // The Microsoft Entra bulk-create template has a `version:v1.0` line above its header.
    if !header_placed
        && csv.record.len() == 1
        && csv.record[0].starts_with(b"version:")
        && !csv.next(&mut reader)?
    {
        return Err(empty(&csv));
    }
    let names = csv.header()?;
    sink.header(&csv.at(csv.line), &names)?;
    // A rejects file sent back: its rows are built, to be restored (see `rejects`).
    let returned = Returned::detect(&names);
    // An ASCII delimiter cannot fall inside a character, so every cell of a UTF-8 record is
    // text of its own; with another byte, rows are built, which checks each cell.
    let offer_cells = delimiter.is_ascii() && returned.is_none();

    let mut rows = 0;
    while csv.next(&mut reader)? {
        let line = csv.line;
        if csv.record.len() != names.len() {
            return Err(csv.unclosed_quote(reader.get_ref()).unwrap_or_else(|| {
                Error::input(
                    csv.at(line),
                    format!(
                        "this row has {} fields but the header has {}; \
                         quote values that contain `{}` and check for a missing or extra delimiter",
                        csv.record.len(),
                        names.len(),
                        char::from(delimiter).escape_default(),
                    ),
                )
            }));
        }
        let position = Position {
            file: csv.file.clone(),
            line,
            index: rows,
        };
        let text = csv.text(&names)?;
        let cells = Cells {
            text,
            record: &csv.record,
        };
        if !(offer_cells && sink.cells(&position, &names, &cells)?) {
            let mut columns = csv.cells(text, &names)?;
            if let Some(returned) = &returned {
                columns = returned.restore(&position, columns)?;
            }
            sink.row(Row { position, columns })?;
        }
        rows += 1;
    }
    if let Some(e) = csv.unclosed_quote(reader.get_ref()) {
        return Err(e);
    }
    Ok((rows, names.iter().map(|name| name.to_string()).collect()))
}

/// A CSV record's cells as text, before they are built into a [`Row`] (see [`Sink::cells`]).
pub struct Cells<'r> {
    text: &'r str,
    record: &'r ByteRecord,
}

impl<'r> Cells<'r> {
    /// Each cell's text, in header order.
    pub fn iter(&self) -> impl Iterator<Item = &'r str> + '_ {
        (0..self.record.len()).map(|i| self.record.range(i).map_or("", |range| &self.text[range]))
    }

    /// The cells' text back to back, without quotes or delimiters.
    pub fn text(&self) -> &'r str {
        self.text
    }

    /// Where each cell ends in [`Cells::text`], in header order.
    pub fn ends(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.record.len()).map(|i| self.record.range(i).map_or(0, |range| range.end))
    }
}

/// The reader's state between records.
struct Csv {
    file: Arc<str>,
    delimiter: u8,
    record: ByteRecord,
    /// The line the current record starts on.
    line: u64,
    /// The stream offset the csv crate began reading the current record at.
    byte: u64,
    /// The lines above the header that were skipped before the text the csv crate reads.
    lines_skipped: u64,
}

impl Csv {
    /// Reads the next record; false at the end.
    fn next<R: Read>(&mut self, reader: &mut csv::Reader<Tail<R>>) -> Result<bool> {
        let more = reader.read_byte_record(&mut self.record).map_err(|e| {
            let message = e.to_string();
            match e.into_kind() {
                csv::ErrorKind::Io(e) => io_error(&self.file, e),
                _ => Error::input(self.file.to_string(), message),
            }
        })?;
        if more {
            let (line, byte) = self
                .record
                .position()
                .map_or((1, 0), |p| (p.line(), p.byte()));
            // The csv crate's position is where it began reading, before the blank lines and
            // the `\n` of a `\r\n` it skips on the way to the record.
            let tail = reader.get_mut();
            self.line = line + tail.breaks_from(byte) + self.lines_skipped;
            self.byte = byte;
            tail.mark = byte;
        }
        Ok(more)
    }

    fn at(&self, line: u64) -> String {
        format!("{}:{line}", self.file)
    }

    /// The current record as the header: names trimmed, none empty, none twice.
    fn header(&self) -> Result<Vec<Arc<str>>> {
        let at = self.at(self.line);
        let mut cells = Vec::with_capacity(self.record.len());
        for (i, raw) in self.record.iter().enumerate() {
            let cell = std::str::from_utf8(raw)
                .map_err(|_| not_utf8(at.clone(), &format!("the header's column {}", i + 1)))?;
            cells.push(cell);
        }
        let columns = Columns {
            label: &|i| (i + 1).to_string(),
            empty_hint: " (a delimiter at the end of the header line makes an empty column)",
        };
        header::names(&at, cells, &columns)
    }

    /// The current record's text, checked as UTF-8 whole: much cheaper than cell by cell.
    fn text(&self, names: &[Arc<str>]) -> Result<&str> {
        std::str::from_utf8(self.record.as_slice()).map_err(|_| self.bad_utf8(names))
    }

    /// The current record's cells (`text` is the record's), paired with the header names.
    fn cells(&self, text: &str, names: &[Arc<str>]) -> Result<Vec<(Arc<str>, Value)>> {
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            match self.record.range(i).and_then(|range| text.get(range)) {
                Some(cell) => columns.push((name.clone(), Value::String(cell.to_owned()))),
                None => return Err(self.bad_utf8(names)),
            }
        }
        Ok(columns)
    }

    /// The error for the first cell that is not UTF-8, at the line of the bad byte.
    fn bad_utf8(&self, names: &[Arc<str>]) -> Error {
        let mut line = self.line;
        for (cell, name) in self.record.iter().zip(names) {
            match std::str::from_utf8(cell) {
                Ok(_) => line += cell.iter().filter(|&&b| b == b'\n').count() as u64,
                Err(e) => {
                    let before = &cell[..e.valid_up_to()];
                    line += before.iter().filter(|&&b| b == b'\n').count() as u64;
                    return not_utf8(self.at(line), &format!("the value of column `{name}`"));
                }
            }
        }
        not_utf8(self.at(line), "this row")
    }

    /// The error for a quote that runs to the end of the file, if the current record has one.
    fn unclosed_quote<R>(&self, tail: &Tail<R>) -> Option<Error> {
        let newlines = tail.open_quote(self.byte, self.delimiter)?;
        Some(Error::input(
            self.at(self.line + newlines),
            "a quoted value starts here and is never closed; add the closing `\"` \
             (a `\"` inside a quoted value is written `\"\"`)",
        ))
    }
}

fn not_utf8(at: String, what: &str) -> Error {
    Error::input(
        at,
        format!(
            "{what} is not valid UTF-8; if the file was saved by Excel or another Windows \
             program, pass `--encoding windows-1252`"
        ),
    )
}

/// The delimiter used most in the header line, outside quotes; `,` when there is none.
fn detect_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                counts[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

/// Keeps the text of the record being parsed, so that at the end of the file the reader can
/// tell whether its last quote was ever closed (the csv crate silently ends the value there).
struct Tail<R> {
    inner: R,
    kept: Vec<u8>,
    /// The stream offset of `kept[0]`.
    kept_from: u64,
    /// The stream offset of the latest record's start; nothing after it is forgotten.
    mark: u64,
    eof: bool,
}

impl<R> Tail<R> {
    fn new(inner: R) -> Self {
        Tail {
            inner,
            kept: Vec::new(),
            kept_from: 0,
            mark: 0,
            eof: false,
        }
    }

    /// The line breaks at `start`, before the next record's first byte.
    fn breaks_from(&self, start: u64) -> u64 {
        let Some(from) = start.checked_sub(self.kept_from) else {
            return 0;
        };
        let text = self.kept.get(from as usize..).unwrap_or_default();
        text.iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64
    }

    /// When the stream has ended inside a quoted value that began in the record starting at
    /// `start`: the number of line breaks between the record's start and that quote.
    fn open_quote(&self, start: u64, delimiter: u8) -> Option<u64> {
        if !self.eof || start < self.kept_from {
            return None;
        }
        let text = self.kept.get((start - self.kept_from) as usize..)?;
        // The line breaks before the record's first byte are counted in its line already.
        let text = &text[text
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count()..];
        let mut state = Quote::FieldStart;
        let mut opened = 0;
        for (i, &b) in text.iter().enumerate() {
            let ends_field = b == delimiter || b == b'\n' || b == b'\r';
            state = match state {
                Quote::FieldStart if b == b'"' => {
                    opened = i;
                    Quote::Quoted
                }
                Quote::FieldStart | Quote::Plain | Quote::Closing if ends_field => {
                    Quote::FieldStart
                }
                Quote::FieldStart | Quote::Plain => Quote::Plain,
                Quote::Quoted if b == b'"' => Quote::Closing,
                Quote::Quoted => Quote::Quoted,
                Quote::Closing if b == b'"' => Quote::Quoted,
                Quote::Closing => Quote::Plain,
            };
        }
        (state == Quote::Quoted)
            .then(|| text[..opened].iter().filter(|&&b| b == b'\n').count() as u64)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    FieldStart,
    Plain,
    Quoted,
    /// A `"` inside a quoted value: the end of it, or the first half of `""`.
    Closing,
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        if self.kept.len() > TAIL_LIMIT && self.mark > self.kept_from {
            self.kept.drain(..(self.mark - self.kept_from) as usize);
            self.kept_from = self.mark;
        }
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Encoding, ReadOptions};
    use super::*;

    #[test]
    fn reads_rows_with_their_lines_and_indexes() {
        let (summary, rows) = read_bytes(
            "people.csv",
            b"id,name\n1,Ann\n\n2,Bo\n",
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(summary.rows, 2);
        assert_eq!(summary.columns, ["id", "name"]);
        assert_eq!(
            cells(&rows[0]),
            [("id", "1".into()), ("name", "Ann".into())]
        );
        assert_eq!(rows[0].position.to_string(), "people.csv:2");
        assert_eq!(rows[0].position.index, 0);
        // A blank line is skipped, and counted.
        assert_eq!(rows[1].position.line, 4);
        assert_eq!(rows[1].position.index, 1);
    }

    #[test]
    fn a_bom_and_crlf_are_not_part_of_the_data() {
        let rows = rows("x.csv", b"\xEF\xBB\xBFid,name\r\n1,Ann\r\n2,Bo\r\n");
        assert_eq!(
            cells(&rows[0]),
            [("id", "1".into()), ("name", "Ann".into())]
        );
        assert_eq!(rows[1].position.line, 3);
    }

    #[test]
    fn the_entra_template_version_line_is_skipped() {
        let rows = rows(
            "entra.csv",
            b"version:v1.0\nName [displayName] Required,User name\nAda,ada@x\n",
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].position.line, 3);
        assert_eq!(&*rows[0].columns[0].0, "Name [displayName] Required");
    }

    #[test]
    fn header_names_are_shared_and_trimmed() {
        let (summary, rows) = read_bytes(
            "x.csv",
            b" id , name\n1,Ann\n2,Bo\n",
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(summary.columns, ["id", "name"]);
        assert!(Arc::ptr_eq(&rows[0].columns[1].0, &rows[1].columns[1].0));
    }

    #[test]
    fn detects_the_delimiter_from_the_header_line() {
        for (bytes, expected) in [
            (&b"id,name\n1,Ann\n"[..], "Ann"),
            (b"id;name\n1;Ann\n", "Ann"),
            (b"id\tname\n1\tAnn\n", "Ann"),
            // The comma inside quotes does not count.
            (b"\"id,x\";name\n1;Ann\n", "Ann"),
            (b"id;name,first;last\n1;Ann,B;C\n", "Ann,B"),
        ] {
            let rows = rows("x.csv", bytes);
            assert_eq!(
                cells(&rows[0])[1].1,
                expected,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(detect_delimiter(b"just_one_column"), b',');
        assert_eq!(detect_delimiter(b"a;b,c;d"), b';');
    }

    #[test]
    fn a_forced_delimiter_wins() {
        let options = ReadOptions {
            delimiter: Some(b'|'),
            ..ReadOptions::default()
        };
        let (summary, rows) = read_bytes("x.csv", b"id|a,b\n1|x,y\n", &options).unwrap();
        assert_eq!(summary.columns, ["id", "a,b"]);
        assert_eq!(cells(&rows[0])[1], ("a,b", "x,y".into()));

        let options = ReadOptions {
            delimiter: Some(b','),
            ..ReadOptions::default()
        };
        let (summary, _) = read_bytes("x.csv", b"id;a;b,c\n1;2;3,4\n", &options).unwrap();
        assert_eq!(summary.columns, ["id;a;b", "c"]);
    }

    #[test]
    fn tsv_files_are_csv_with_tabs() {
        let rows = rows("x.tsv", b"id\tname\n1\tAnn, B\n");
        assert_eq!(cells(&rows[0])[1].1, "Ann, B");
    }

    #[test]
    fn quoted_values_keep_delimiters_and_newlines_and_rows_keep_their_first_line() {
        let bytes = b"id,note,name\n1,\"a, b\",Ann\n2,\"line one\r\nline two\nline three\",Bo\n3,\"say \"\"hi\"\"\",Cy\n";
        let rows = rows("x.csv", bytes);
        assert_eq!(cells(&rows[0])[1].1, "a, b");
        assert_eq!(cells(&rows[1])[1].1, "line one\r\nline two\nline three");
        assert_eq!(rows[1].position.line, 3);
        assert_eq!(rows[2].position.line, 6);
        assert_eq!(cells(&rows[2])[1].1, "say \"hi\"");
    }

    #[test]
    fn decodes_windows_1252() {
        let options = ReadOptions {
            encoding: Encoding::Windows1252,
            ..ReadOptions::default()
        };
        let (_, rows) = read_bytes("x.csv", b"id;name\n1;Jos\xe9 \x80\n", &options).unwrap();
        assert_eq!(cells(&rows[0])[1].1, "José €");
        // A UTF-8 byte-order mark says the file is UTF-8 after all.
        let (_, rows) =
            read_bytes("x.csv", "\u{feff}id;name\n1;José\n".as_bytes(), &options).unwrap();
        assert_eq!(cells(&rows[0])[1].1, "José");
    }

    #[test]
    fn decodes_utf16_with_a_byte_order_mark() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "id,name\r\n1,José\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let rows = rows("x.csv", &bytes);
        assert_eq!(
            cells(&rows[0]),
            [("id", "1".into()), ("name", "José".into())]
        );
    }

    #[test]
    fn a_header_only_file_has_no_rows() {
        let (summary, rows) = read_bytes("x.csv", b"id,name\r\n", &ReadOptions::default()).unwrap();
        assert_eq!(summary.rows, 0);
        assert!(rows.is_empty());
        assert_eq!(summary.columns, ["id", "name"]);
    }

    #[test]
    fn an_empty_file_needs_a_header() {
        for bytes in [&b""[..], b"\xEF\xBB\xBF", b"\r\n  \n"] {
            assert_eq!(
                error("x.csv", bytes),
                "x.csv:1: the file is empty; expected a header row"
            );
        }
    }

    #[test]
    fn invalid_utf8_names_its_line_and_the_encoding_option() {
        let e = error("x.csv", b"id,name\n1,Ann\n2,Jos\xe9\n");
        assert_eq!(
            e,
            "x.csv:3: the value of column `name` is not valid UTF-8; if the file was saved by \
             Excel or another Windows program, pass `--encoding windows-1252`"
        );
        // In a quoted value over several lines, the line of the bad byte.
        let e = error("x.csv", b"id,note\n1,\"a\nb\xe9\"\n");
        assert!(
            e.starts_with("x.csv:3: the value of column `note` is not valid UTF-8"),
            "{e}"
        );
        let e = error("x.csv", b"id,n\xe4me\n1,Ann\n");
        assert!(
            e.starts_with("x.csv:1: the header's column 2 is not valid UTF-8"),
            "{e}"
        );
        assert!(e.contains("--encoding windows-1252"), "{e}");
    }

    #[test]
    fn a_ragged_row_names_its_line_and_both_counts() {
        let e = error("x.csv", b"id,name,email\n1,Ann,a@x\n2,Bo\n");
        assert!(
            e.starts_with("x.csv:3: this row has 2 fields but the header has 3; "),
            "{e}"
        );
        let e = error("x.csv", b"id,name\n1,Ann,extra\n");
        assert!(
            e.starts_with("x.csv:2: this row has 3 fields but the header has 2"),
            "{e}"
        );
    }

    #[test]
    fn an_unclosed_quote_names_the_line_it_opens_on() {
        // The open value swallows the rest of the file, so the row is ragged too.
        let e = error("x.csv", b"id,name,email\n1,Ann,a@x\n2,\"Bo,b@x\n3,Cy,c@x\n");
        assert!(
            e.starts_with("x.csv:3: a quoted value starts here and is never closed; "),
            "{e}"
        );
        // Same field count: still caught at the end.
        let e = error("x.csv", b"id,note\n1,\"open\n2,x\n");
        assert!(
            e.starts_with("x.csv:2: a quoted value starts here and is never closed"),
            "{e}"
        );
        // With CRLF line ends (the `\n` of a `\r\n` is skipped before the record starts).
        let e = error("x.csv", b"id,note\r\n1,x\r\n2,\"open\r\n");
        assert!(e.starts_with("x.csv:3: a quoted value starts here"), "{e}");
        // Deeper in a record that spans lines.
        let e = error("x.csv", b"id,a,b\n1,\"x\ny\",\"z\nw\n");
        assert!(e.starts_with("x.csv:3: a quoted value starts here"), "{e}");
        // An escaped quote in a closed value is fine, as is a final line without a newline.
        let rows = rows("x.csv", b"id,note\n1,\"a \"\"b\"\"\"");
        assert_eq!(cells(&rows[0])[1].1, "a \"b\"");
    }

    #[test]
    fn an_unclosed_quote_is_found_past_the_tail_limit() {
        let mut bytes = b"id,note\n".to_vec();
        for i in 0..100_000 {
            bytes.extend_from_slice(format!("{i},\"quoted, fine\"\n").as_bytes());
        }
        bytes.extend_from_slice(b"x,\"never closed\n");
        bytes.extend_from_slice(&b"y,z\n".repeat(50_000));
        let e = error("big.csv", &bytes);
        assert!(
            e.starts_with("big.csv:100002: a quoted value starts here"),
            "{e}"
        );
    }

    #[test]
    fn header_names_must_be_present_and_distinct() {
        assert_eq!(
            error("x.csv", b"id,name,\n1,Ann,\n"),
            "x.csv:1: column 3 of the header has no name; name every column \
             (a delimiter at the end of the header line makes an empty column)"
        );
        assert_eq!(
            error("x.csv", b"email,name, email\n"),
            "x.csv:1: column `email` appears twice in the header (columns 1 and 3); \
             rename or remove one of them"
        );
        // A header of many thousands of columns is checked in one pass.
        let mut wide: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
        wide.push("c7".into());
        let e = error("x.csv", format!("{}\n", wide.join(",")).as_bytes());
        assert!(
            e.starts_with(
                "x.csv:1: column `c7` appears twice in the header (columns 8 and 100001)"
            ),
            "{e}"
        );
    }

    #[test]
    fn binary_files_are_refused() {
        let e = error("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
        assert_eq!(
            e,
            "photo.csv:3: does not look like a text file (it contains NUL bytes); roster reads \
             CSV, JSON and NDJSON text, spreadsheets (.xlsx .xlsm .xls .ods), and .gz or .zip \
             files of them"
        );
    }
}
