//! The CSV reader: a header row names the columns, every later record is one row of strings.
//!
//! Records are read into one reused `ByteRecord`, checked for shape and UTF-8, and handed on
//! with the header names shared as `Arc<str>`, so a row costs its cell strings and nothing more.

use std::io::{self, Read};
use std::sync::Arc;

use csv::ByteRecord;
use serde_json::Value;

use super::source::{io_error, Text, BUFFER};
use super::{Position, Row};
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
    sink: &mut dyn FnMut(Row) -> Result<()>,
) -> Result<(u64, Vec<String>)> {
    let delimiter = forced.unwrap_or_else(|| detect_delimiter(&text.first_line));
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
    };

    if !csv.next(&mut reader)? {
        return Err(Error::input(
            format!("{}:1", csv.file),
            "the file is empty; expected a header row",
        ));
    }
    let names = csv.header()?;

    let mut rows = 0;
    while csv.next(&mut reader)? {
        let (line, _) = csv.start();
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
        let columns = csv.cells(&names)?;
        sink(Row {
            position: Position {
                file: csv.file.clone(),
                line,
                index: rows,
            },
            columns,
        })?;
        rows += 1;
    }
    if let Some(e) = csv.unclosed_quote(reader.get_ref()) {
        return Err(e);
    }
    Ok((rows, names.iter().map(|name| name.to_string()).collect()))
}

/// The reader's state between records.
struct Csv {
    file: Arc<str>,
    delimiter: u8,
    record: ByteRecord,
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
            let (_, byte) = self.start();
            reader.get_mut().mark = byte;
        }
        Ok(more)
    }

    /// The line and byte offset where the current record starts.
    fn start(&self) -> (u64, u64) {
        self.record
            .position()
            .map_or((1, 0), |p| (p.line(), p.byte()))
    }

    fn at(&self, line: u64) -> String {
        format!("{}:{line}", self.file)
    }

    /// The current record as the header: names trimmed, none empty, none twice.
    fn header(&self) -> Result<Vec<Arc<str>>> {
        let (line, _) = self.start();
        let mut names: Vec<Arc<str>> = Vec::with_capacity(self.record.len());
        for (i, raw) in self.record.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| not_utf8(self.at(line), &format!("the header's column {}", i + 1)))?
                .trim();
            if name.is_empty() {
                return Err(Error::input(
                    self.at(line),
                    format!(
                        "column {} of the header has no name; name every column \
                         (a delimiter at the end of the header line makes an empty column)",
                        i + 1
                    ),
                ));
            }
            if let Some(first) = names.iter().position(|n| &**n == name) {
                return Err(Error::input(
                    self.at(line),
                    format!(
                        "column `{name}` appears twice in the header (columns {} and {}); \
                         rename or remove one of them",
                        first + 1,
                        i + 1
                    ),
                ));
            }
            names.push(Arc::from(name));
        }
        Ok(names)
    }

    /// The current record's cells, paired with the header names.
    fn cells(&self, names: &[Arc<str>]) -> Result<Vec<(Arc<str>, Value)>> {
        // One validation of the whole record is much cheaper than one per cell.
        let text = std::str::from_utf8(self.record.as_slice()).ok();
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let cell = text
                .zip(self.record.range(i))
                .and_then(|(text, range)| text.get(range));
            match cell {
                Some(cell) => columns.push((name.clone(), Value::String(cell.to_owned()))),
                None => return Err(self.bad_utf8(i, name)),
            }
        }
        Ok(columns)
    }

    /// The error for a cell that is not UTF-8, at the line of the bad byte.
    fn bad_utf8(&self, column: usize, name: &str) -> Error {
        let (mut line, _) = self.start();
        for cell in self.record.iter().take(column + 1) {
            let valid = match std::str::from_utf8(cell) {
                Ok(_) => cell.len(),
                Err(e) => e.valid_up_to(),
            };
            line += cell[..valid].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        not_utf8(self.at(line), &format!("the value of column `{name}`"))
    }

    /// The error for a quote that runs to the end of the file, if the current record has one.
    fn unclosed_quote<R>(&self, tail: &Tail<R>) -> Option<Error> {
        let (line, byte) = self.start();
        let newlines = tail.open_quote(byte, self.delimiter)?;
        Some(Error::input(
            self.at(line + newlines),
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

    /// When the stream has ended inside a quoted value that began in the record starting at
    /// `start`: the number of line breaks between the record's start and that quote.
    fn open_quote(&self, start: u64, delimiter: u8) -> Option<u64> {
        if !self.eof || start < self.kept_from {
            return None;
        }
        let text = self.kept.get((start - self.kept_from) as usize..)?;
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
