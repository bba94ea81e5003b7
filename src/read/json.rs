//! The JSON readers' common parts: user objects streamed as rows with their line and column,
//! syntax errors worded for a person, and the NDJSON reader (one user object per line). The
//! document reader, which finds the array of users in a document, is `document.rs`.
//!
//! serde visitors hand each user object to the sink as soon as it is parsed, so only one user
//! is in memory at a time. serde_json reads its input byte by byte, so a reader below it that
//! counts lines knows where each object's `{` is.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::source::{io_error, Text, BUFFER};
use super::{Position, Row};
use crate::{Error, Result};

/// Distinct key names shared as `Arc<str>`; past this many, keys are not remembered.
const KEYS_LIMIT: usize = 10_000;

/// Where the JSON readers hand each row, with the path of the array it came from (`""` for a
/// bare array and for NDJSON).
pub(super) type JsonSink<'s> = dyn FnMut(Row, &str) -> Result<()> + 's;

/// How many users an array under a name roster does not know may hold before it is taken as
/// the document's users, rather than kept until the end of the document shows whether a
/// better-known array is there.
pub(super) const HELD_LIMIT: usize = 10_000;

/// Reads NDJSON, skipping blank lines; returns the number of rows.
pub(super) fn read_lines(file: Arc<str>, text: Text<'_>, sink: &mut JsonSink<'_>) -> Result<u64> {
    let spot = Spot::default();
    let mut walk = Walk::new(file, &spot, sink);
    let mut input = BufReader::with_capacity(BUFFER, text.reader);
    let mut buffer = Vec::new();
    let mut number: usize = 0;
    loop {
        buffer.clear();
        let n = input
            .read_until(b'\n', &mut buffer)
            .map_err(|e| io_error(&walk.file, e))?;
        if n == 0 {
            return Ok(walk.rows);
        }
        number += 1;
        let line = buffer.trim_ascii_end();
        let Some(first) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
            continue;
        };
        // Nothing below reads through `Tracked` here, so the spot is set by hand.
        spot.line.set(number as u64);
        spot.column.set(first as u64 + 1);
        let mut de = serde_json::Deserializer::from_slice(line);
        let read = User {
            walk: &mut walk,
            what: What::Line,
            first: false,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if let Err(e) = read {
            return Err(walk.failure.take().unwrap_or_else(|| {
                let column = e.column();
                syntax_error(&walk.file, number, column, e, true)
            }));
        }
    }
}

/// Turns a serde_json error into one message that says what to do.
pub(super) fn syntax_error(
    file: &str,
    line: usize,
    column: usize,
    e: serde_json::Error,
    ndjson: bool,
) -> Error {
    if e.is_io() {
        return io_error(file, e.into());
    }
    let text = e.to_string();
    let what = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(what, _)| what);
    let message = if what.starts_with("recursion limit exceeded") {
        "the JSON is nested too deeply (more than 128 levels); a user object needs only a few"
            .to_string()
    } else if what.starts_with("invalid unicode code point") {
        "this text is not valid UTF-8; if the file was saved by Excel or another Windows \
         program, pass `--encoding windows-1252`"
            .to_string()
    } else if what == "trailing characters" && ndjson {
        "more than one JSON value on this line; NDJSON holds one user object per line".to_string()
    } else if what == "trailing characters" {
        "unexpected text after the end of the JSON document; if the file holds one user \
         object per line, pass `--format ndjson`"
            .to_string()
    } else if e.is_eof() && ndjson {
        "the line ends before its JSON object does; NDJSON holds one whole user object per line"
            .to_string()
    } else if e.is_eof() {
        "the file ends before the JSON document does; check that every `[`, `{` and `\"` is closed"
            .to_string()
    } else if what.starts_with("control character") {
        "a text value holds a line break or another control character; close the `\"` on the \
         line the value starts on, or write the break as `\\n`"
            .to_string()
    } else {
        format!("invalid JSON ({what}); fix the JSON at this spot")
    };
    // serde_json says column 0 for an error at a line break; columns here are 1-based.
    Error::input(format!("{file}:{line}:{}", column.max(1)), message)
}

/// The line and column (1-based, in bytes) of the last byte the parser took.
#[derive(Default)]
pub(super) struct Spot {
    line: Cell<u64>,
    column: Cell<u64>,
}

impl Spot {
    pub(super) fn get(&self) -> (u64, u64) {
        (self.line.get(), self.column.get())
    }
}

/// A buffered reader that keeps [`Spot`] up to date with each byte it hands out.
pub(super) struct Tracked<'t, R> {
    inner: R,
    buffer: Box<[u8]>,
    pos: usize,
    len: usize,
    spot: &'t Spot,
}

impl<'t, R: Read> Tracked<'t, R> {
    pub(super) fn new(inner: R, spot: &'t Spot) -> Self {
        spot.line.set(1);
        spot.column.set(0);
        Tracked {
            inner,
            buffer: vec![0; BUFFER].into_boxed_slice(),
            pos: 0,
            len: 0,
            spot,
        }
    }

    /// True when there is buffered input; reads more when the buffer is used up.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos == self.len {
            self.len = self.inner.read(&mut self.buffer)?;
            self.pos = 0;
        }
        Ok(self.pos < self.len)
    }

    /// Where the first non-blank byte is, without taking anything (serde_json counts lines
    /// too, and must see every byte). Looks only as far as the first buffer.
    pub(super) fn peek_start(&mut self) -> io::Result<(u64, u64)> {
        self.fill()?;
        let (mut line, mut column) = (1, 1);
        for &b in &self.buffer[self.pos..self.len] {
            match b {
                b'\n' => (line, column) = (line + 1, 1),
                b if b.is_ascii_whitespace() => column += 1,
                _ => break,
            }
        }
        Ok((line, column))
    }
}

impl<R: Read> Read for Tracked<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || !self.fill()? {
            return Ok(0);
        }
        // serde_json asks for one byte at a time: keep that path short.
        if let [slot] = out {
            *slot = self.buffer[self.pos];
            self.pos += 1;
            if *slot == b'\n' {
                self.spot.line.set(self.spot.line.get() + 1);
                self.spot.column.set(0);
            } else {
                self.spot.column.set(self.spot.column.get() + 1);
            }
            return Ok(1);
        }
        let n = out.len().min(self.len - self.pos);
        let taken = &self.buffer[self.pos..self.pos + n];
        out[..n].copy_from_slice(taken);
        self.pos += n;
        let (mut line, mut column) = self.spot.get();
        for &b in taken {
            if b == b'\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
        }
        self.spot.line.set(line);
        self.spot.column.set(column);
        Ok(n)
    }
}

/// What the visitors share: where they are, the sink, and the first error of our own.
pub(super) struct Walk<'a, 's> {
    pub(super) file: Arc<str>,
    pub(super) spot: &'a Spot,
    keys: HashSet<Arc<str>>,
    /// The most keys a user had so far, to size the next one's columns.
    width: usize,
    sink: &'a mut JsonSink<'s>,
    /// The rows handed to the sink.
    pub(super) rows: u64,
    /// The path of the array being read, handed to the sink with each row.
    envelope: String,
    /// Rows kept back instead of handed to the sink (see [`Walk::hold_users`]).
    held: Option<Vec<Row>>,
    /// Held rows past this many are handed to the sink, and the rest of the array after them.
    hand_over_past: Option<usize>,
    /// Set when the first element of a held array is not an object.
    not_users: bool,
    /// Set when a visitor stops the parse; it wins over the error serde_json then reports.
    pub(super) failure: Option<Error>,
}

/// What a held array of users turned out to be.
pub(super) enum Held {
    /// Objects, kept back.
    Rows(Vec<Row>),
    /// More objects than may be kept back: they went to the sink.
    HandedOver,
    /// Its first element was not an object; the rest was skipped.
    NotUsers,
}

impl<'a, 's> Walk<'a, 's> {
    pub(super) fn new(file: Arc<str>, spot: &'a Spot, sink: &'a mut JsonSink<'s>) -> Self {
        Walk {
            file,
            spot,
            keys: HashSet::new(),
            width: 0,
            sink,
            rows: 0,
            envelope: String::new(),
            held: None,
            hand_over_past: None,
            not_users: false,
            failure: None,
        }
    }

    pub(super) fn at(&self, (line, column): (u64, u64)) -> String {
        format!("{}:{line}:{}", self.file, column.max(1))
    }

    /// Stops the parse with our own error.
    pub(super) fn fail<E: de::Error>(&mut self, error: Error) -> E {
        self.failure = Some(error);
        E::custom("stopped by the reader")
    }

    /// The shared name for a key.
    fn key(&mut self, key: &str) -> Arc<str> {
        if let Some(shared) = self.keys.get(key) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(key);
        if self.keys.len() < KEYS_LIMIT {
            self.keys.insert(shared.clone());
        }
        shared
    }

    /// The index the next row gets.
    fn next_index(&self) -> u64 {
        self.held
            .as_ref()
            .map_or(self.rows, |held| self.rows + held.len() as u64)
    }

    /// Hands a row on, or keeps it back.
    fn emit(&mut self, row: Row) -> Result<()> {
        let Some(held) = &mut self.held else {
            (self.sink)(row, &self.envelope)?;
            self.rows += 1;
            return Ok(());
        };
        held.push(row);
        if self.hand_over_past.is_some_and(|limit| held.len() > limit) {
            let rows = self.held.take().unwrap_or_default();
            let envelope = std::mem::take(&mut self.envelope);
            self.hand_over(rows, &envelope)?;
            self.envelope = envelope;
        }
        Ok(())
    }

    /// Hands rows kept back to the sink, as the users of the array at `path`.
    pub(super) fn hand_over(&mut self, rows: Vec<Row>, path: &str) -> Result<()> {
        for row in rows {
            (self.sink)(row, path)?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Streams the elements of an array of users under `path` to the sink.
    pub(super) fn users<'de, A: SeqAccess<'de>>(
        &mut self,
        mut seq: A,
        path: &str,
    ) -> Result<(), A::Error> {
        self.envelope = path.to_string();
        let mut index = 0;
        while seq
            .next_element_seed(User {
                walk: &mut *self,
                what: What::Item { path, index },
                first: false,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    /// Reads the elements of an array under `path` that may be the users, keeping them back:
    /// past `hand_over_past` rows (when given), they go to the sink after all. An array whose
    /// first element is not an object is skipped.
    pub(super) fn hold_users<'de, A: SeqAccess<'de>>(
        &mut self,
        mut seq: A,
        path: &str,
        hand_over_past: Option<usize>,
    ) -> Result<Held, A::Error> {
        self.envelope = path.to_string();
        self.held = Some(Vec::new());
        self.hand_over_past = hand_over_past;
        self.not_users = false;
        let mut index = 0;
        while seq
            .next_element_seed(User {
                walk: &mut *self,
                what: What::Item { path, index },
                first: index == 0,
            })?
            .is_some()
        {
            if self.not_users {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                self.held = None;
                return Ok(Held::NotUsers);
            }
            index += 1;
        }
        Ok(match self.held.take() {
            Some(rows) => Held::Rows(rows),
            None => Held::HandedOver,
        })
    }
}

/// Implements the scalar visits of a visitor with its `scalar(found)` method.
macro_rules! scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.scalar("a boolean")
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.scalar("a number")
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.scalar("a number")
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.scalar("a number")
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            self.scalar("a string")
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.scalar("null")
        }
    };
}
pub(super) use scalars;

/// The first key that a user object repeats, in the object's order. A user has a dozen keys,
/// where comparing pairs beats hashing; a hostile object of thousands is hashed.
fn first_repeated(columns: &[(Arc<str>, Value)]) -> Option<&str> {
    const PAIRWISE_LIMIT: usize = 32;
    if columns.len() <= PAIRWISE_LIMIT {
        return columns
            .iter()
            .enumerate()
            .find(|(i, (key, _))| columns[..*i].iter().any(|(other, _)| other == key))
            .map(|(_, (key, _))| &**key);
    }
    let mut seen = HashSet::with_capacity(columns.len());
    columns
        .iter()
        .map(|(key, _)| &**key)
        .find(|key| !seen.insert(*key))
}

/// Names a user in messages.
#[derive(Clone, Copy)]
pub(super) enum What<'p> {
    /// An element of the array of users under `path` (empty for a bare array).
    Item { path: &'p str, index: u64 },
    /// An NDJSON line.
    Line,
}

impl fmt::Display for What<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Item { path, index } => write!(f, "{path}[{index}]"),
            What::Line => f.write_str("this line"),
        }
    }
}

/// One user object, handed to the sink as a row.
pub(super) struct User<'w, 'a, 's, 'p> {
    pub(super) walk: &'w mut Walk<'a, 's>,
    pub(super) what: What<'p>,
    /// The first element of a held array: anything but an object is skipped, not an error.
    pub(super) first: bool,
}

impl<'de> DeserializeSeed<'de> for User<'_, '_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // serde_json has just taken the value's first byte: this is where the user starts.
        let start = self.walk.spot.get();
        deserializer.deserialize_any(UserVisitor { user: self, start })
    }
}

struct UserVisitor<'w, 'a, 's, 'p> {
    user: User<'w, 'a, 's, 'p>,
    start: (u64, u64),
}

impl UserVisitor<'_, '_, '_, '_> {
    fn scalar<E: de::Error>(self, found: &str) -> Result<(), E> {
        let walk = self.user.walk;
        if self.user.first {
            walk.not_users = true;
            return Ok(());
        }
        let message = match self.user.what {
            What::Line => format!("this line holds {found}; expected one user object per line"),
            what => format!("{what} is {found}; expected a user object"),
        };
        let error = Error::input(walk.at(self.start), message);
        Err(walk.fail(error))
    }
}

impl<'de> Visitor<'de> for UserVisitor<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user object")
    }

    scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.user.first {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        self.scalar("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.user.walk;
        let mut columns: Vec<(Arc<str>, Value)> = Vec::with_capacity(walk.width);
        while let Some(key) = map.next_key_seed(Key(&mut *walk))? {
            let value = map.next_value::<Value>()?;
            columns.push((key, value));
        }
        if let Some(key) = first_repeated(&columns) {
            let error = Error::input(
                walk.at(self.start),
                format!(
                    "{} has the key `{key}` twice; keep one of them",
                    self.user.what
                ),
            );
            return Err(walk.fail(error));
        }
        walk.width = walk.width.max(columns.len());
        let row = Row {
            position: Position {
                file: walk.file.clone(),
                line: self.start.0,
                index: walk.next_index(),
            },
            columns,
        };
        if let Err(error) = walk.emit(row) {
            return Err(walk.fail(error));
        }
        Ok(())
    }
}

/// A key of a user object, as its shared name.
struct Key<'w, 'a, 's>(&'w mut Walk<'a, 's>);

impl<'de> DeserializeSeed<'de> for Key<'_, '_, '_> {
    type Value = Arc<str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Arc<str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_, '_> {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Arc<str>, E> {
        Ok(self.0.key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Encoding, Format, ReadOptions};
    use serde_json::json;

    #[test]
    fn reads_an_array_of_users_in_document_order() {
        let bytes = b"[\n  {\"zeta\": 1, \"alpha\": \"A\", \"nested\": {\"b\": [1, 2]}},\n\n  {\"id\": null}\n]\n";
        let (summary, rows) = read_bytes("x.json", bytes, &ReadOptions::default()).unwrap();
        assert_eq!(summary.rows, 2);
        assert!(summary.columns.is_empty());
        let names: Vec<&str> = rows[0].columns.iter().map(|(n, _)| &**n).collect();
        assert_eq!(names, ["zeta", "alpha", "nested"]);
        assert_eq!(rows[0].get("zeta"), Some(&json!(1)));
        assert_eq!(rows[0].get("nested"), Some(&json!({"b": [1, 2]})));
        assert_eq!(rows[1].get("id"), Some(&json!(null)));
        assert_eq!(rows[0].position.to_string(), "x.json:2");
        assert_eq!(rows[1].position.line, 4);
        assert_eq!(rows[1].position.index, 1);
    }

    #[test]
    fn reads_the_one_array_of_an_object() {
        let bytes = br#"{
  "Workspace": "acme",
  "Meta": {"Tags": ["a", "b"]},
  "Users": [
    {"UserID": "u1"},
    {"UserID": "u2"}
  ],
  "RequestId": 7
}"#;
        let rows = rows("payload.json", bytes);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get("UserID"), Some(&json!("u2")));
        assert_eq!(rows[0].position.line, 5);
        assert_eq!(rows[1].position.line, 6);
        // Key names are shared between users.
        assert!(std::sync::Arc::ptr_eq(
            &rows[0].columns[0].0,
            &rows[1].columns[0].0
        ));
    }

    #[test]
    fn an_empty_array_has_no_rows() {
        assert!(rows("x.json", b"[]").is_empty());
        assert!(rows("x.json", b"{\"Users\": []}").is_empty());
    }

    #[test]
    fn a_document_that_is_not_users_says_what_it_found_and_where() {
        let bytes = b"{\"Users\": [\n  {\"id\": 1},\n  {\"id\": 2},\n    42\n]}";
        assert_eq!(
            error("x.json", bytes),
            "x.json:4:5: Users[2] is a number; expected a user object"
        );
        assert_eq!(
            error("x.json", b"[\"ann\", 2]"),
            "x.json:1:2: [0] is a string; expected a user object"
        );
        assert_eq!(
            error("x.json", b"[{}, [1]]"),
            "x.json:1:6: [1] is an array; expected a user object"
        );
        assert_eq!(
            error("x.json", b"[{}, null]"),
            "x.json:1:6: [1] is null; expected a user object"
        );
        assert_eq!(
            error("x.json", b"\n  42\n"),
            "x.json:2:3: the document is a number; expected an array of user objects, or an \
             object holding one such as `{\"Users\": [...]}`"
        );
        assert!(error("x.json", b"\"users\"").starts_with("x.json:1:1: the document is a string;"));
        assert_eq!(
            error("x.json", b"{\"count\": 2}"),
            "x.json:1:1: the document is an object with no array in it; expected an array of \
             user objects, or an object holding one such as `{\"Users\": [...]}`; if the file \
             holds one user object per line, pass `--format ndjson`"
        );
    }

    #[test]
    fn a_key_twice_in_one_user_is_refused() {
        assert_eq!(
            error("x.json", b"[{\"id\": 1},\n {\"id\": 2, \"id\": 3}]"),
            "x.json:2:2: [1] has the key `id` twice; keep one of them"
        );
        // The first key repeated, in the object's order, however wide the object.
        assert_eq!(
            error("x.json", b"[{\"a\": 1, \"b\": 2, \"b\": 3, \"a\": 4}]"),
            "x.json:1:2: [0] has the key `b` twice; keep one of them"
        );
        let mut wide = String::from("[{");
        for i in 0..100_000 {
            wide.push_str(&format!("\"k{i}\": {i}, "));
        }
        wide.push_str("\"k99999\": 0}]");
        assert_eq!(
            error("x.json", wide.as_bytes()),
            "x.json:1:2: [0] has the key `k99999` twice; keep one of them"
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        // An error at a line break is at column 1 of the next line, never column 0.
        let e = error("x.json", b"[\n  {\"id\": \"1,\n  \"x\": 2}\n]");
        assert!(
            e.starts_with("x.json:3:1: a text value holds a line break"),
            "{e}"
        );
        let e = error("x.json", b"[\n  {\"id\": 1},\n  {\"id\": 2,}\n]");
        assert!(
            e.starts_with("x.json:3:12: invalid JSON (trailing comma); "),
            "{e}"
        );
        let e = error("x.json", b"[\n  {\"id\": 1}\n  {\"id\": 2}\n]");
        assert!(
            e.starts_with("x.json:3:3: invalid JSON (expected `,` or `]`)"),
            "{e}"
        );
        let e = error("x.json", b"[{\"id\": 1}");
        assert!(
            e.starts_with("x.json:1:10: the file ends before the JSON document does"),
            "{e}"
        );
        let e = error("x.json", b"[{\"id\": 1}]\n[]");
        assert!(
            e.starts_with("x.json:2:1: unexpected text after the end of the JSON document"),
            "{e}"
        );
        assert!(e.contains("--format ndjson"), "{e}");
    }

    #[test]
    fn deep_nesting_is_a_clean_error() {
        let mut bytes = b"[{\"a\": ".to_vec();
        bytes.extend(std::iter::repeat_n(b'[', 10_000));
        let e = error("x.json", &bytes);
        assert!(e.starts_with("x.json:1:"), "{e}");
        assert!(e.contains("nested too deeply"), "{e}");
        let mut line = b"{\"a\": ".to_vec();
        line.extend(std::iter::repeat_n(b'[', 10_000));
        let e = error("x.ndjson", &line);
        assert!(e.starts_with("x.ndjson:1:"), "{e}");
        assert!(e.contains("nested too deeply"), "{e}");
    }

    #[test]
    fn invalid_utf8_points_at_the_encoding_option() {
        let e = error("x.json", b"[\n{\"name\": \"Jos\xe9\"}]");
        assert!(e.starts_with("x.json:2:"), "{e}");
        assert!(e.contains("not valid UTF-8"), "{e}");
        assert!(e.contains("--encoding windows-1252"), "{e}");
        let options = ReadOptions {
            encoding: Encoding::Windows1252,
            ..ReadOptions::default()
        };
        let (_, rows) = read_bytes("x.json", b"[{\"name\": \"Jos\xe9\"}]", &options).unwrap();
        assert_eq!(rows[0].get("name"), Some(&json!("José")));
    }

    #[test]
    fn reads_ndjson_skipping_blank_lines() {
        let bytes = b"{\"id\": 1, \"b\": true}\r\n\r\n   \n{\"id\": 2}\n\n";
        let (summary, rows) = read_bytes("x.ndjson", bytes, &ReadOptions::default()).unwrap();
        assert_eq!(summary.rows, 2);
        assert_eq!(cells(&rows[0]), [("id", "1".into()), ("b", "true".into())]);
        assert_eq!(rows[1].position.to_string(), "x.ndjson:4");
        assert_eq!(rows[1].position.index, 1);
        assert_eq!(rows_with_format("x.jsonl", b"{\"id\": 1}").len(), 1);
    }

    #[test]
    fn ndjson_errors_name_the_line() {
        assert_eq!(
            error("x.ndjson", b"{\"id\": 1}\n\n  [1]\n"),
            "x.ndjson:3:3: this line holds an array; expected one user object per line"
        );
        let e = error("x.ndjson", b"{\"id\": 1}\n{\"id\": 2,\n\"x\": 3}\n");
        assert!(
            e.starts_with("x.ndjson:2:9: the line ends before its JSON object does"),
            "{e}"
        );
        let e = error("x.ndjson", b"{\"id\": 1} {\"id\": 2}\n");
        assert!(
            e.starts_with("x.ndjson:1:11: more than one JSON value on this line"),
            "{e}"
        );
        let e = error("x.ndjson", b"{\"id\": 1}\n{\"id\" 2}\n");
        assert!(
            e.starts_with("x.ndjson:2:7: invalid JSON (expected `:`)"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_json_file_says_what_was_expected() {
        assert_eq!(
            error("x.json", b"  \n"),
            "x.json:1: the file is empty; expected an array of user objects"
        );
        assert_eq!(
            error("x.ndjson", b""),
            "x.ndjson:1: the file is empty; expected one user object per line"
        );
    }

    fn rows_with_format(name: &str, bytes: &[u8]) -> Vec<super::Row> {
        read_bytes(name, bytes, &ReadOptions::default()).unwrap().1
    }

    #[test]
    fn auto_picks_the_reader_by_extension_then_by_the_first_line() {
        let pick = |name: &str, bytes: &[u8]| -> (usize, Vec<String>) {
            let (summary, rows) = read_bytes(name, bytes, &ReadOptions::default()).unwrap();
            (rows.len(), summary.columns)
        };
        // Extensions.
        assert_eq!(pick("x.txt", b"id\n1\n"), (1, vec!["id".to_string()]));
        assert_eq!(pick("x.JSON", b"[{\"id\":1}]").0, 1);
        assert_eq!(pick("x.jsonl", b"{\"id\":1}\n{\"id\":2}\n").0, 2);
        // Sniffed: stdin and unknown extensions.
        assert_eq!(
            pick("-", b"id,name\n1,Ann\n"),
            (1, vec!["id".into(), "name".into()])
        );
        assert_eq!(pick("-", b"\xEF\xBB\xBF \n [{\"id\":1},{\"id\":2}]").0, 2);
        assert_eq!(pick("-", b"{\"id\":1}\n{\"id\":2}\n").0, 2);
        assert_eq!(pick("x.dat", b"{\"Users\":\n[{\"id\":1},{\"id\":2}]}").0, 2);
        // A one-line object is NDJSON: its users are the object itself.
        let (_, rows) = read_bytes("-", b"{\"id\":1}", &ReadOptions::default()).unwrap();
        assert_eq!(rows[0].get("id"), Some(&json!(1)));
    }

    #[test]
    fn a_forced_format_wins_over_the_extension() {
        let options = ReadOptions {
            format: Format::Ndjson,
            ..ReadOptions::default()
        };
        let (_, rows) = read_bytes("x.csv", b"{\"id\":1}\n", &options).unwrap();
        assert_eq!(rows[0].get("id"), Some(&json!(1)));
        let options = ReadOptions {
            format: Format::Csv,
            ..ReadOptions::default()
        };
        let (summary, _) = read_bytes("x.json", b"id,name\n", &options).unwrap();
        assert_eq!(summary.columns, ["id", "name"]);
        let options = ReadOptions {
            format: Format::Json,
            ..ReadOptions::default()
        };
        let (_, rows) = read_bytes("-", b"{\"Users\":[{\"id\":1}]}", &options).unwrap();
        assert_eq!(rows.len(), 1);
    }
}
