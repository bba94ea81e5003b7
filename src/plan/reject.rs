//! Rejected rows as they came: the source cells of each row the plan leaves out, kept so
//! that the customer can be handed back exactly those rows to fix (the rejects file).
//!
//! The cells of every row being planned are copied, as text, into one buffer per chunk of
//! rows ([`ChunkCells`]); the buffer travels with the chunk through the rules and is dropped
//! once the chunk is settled. Only a rejected row's cells are copied out of it, so a clean
//! row costs a copy of its text into a reused-size buffer and nothing that outlives its chunk.

use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value;

use crate::model::position::Position;
use crate::model::problem::{Problem, Severity};
use crate::model::user::Field;
use crate::read::Cells;

/// One rejected source row: its cells as they came, and the errors that rejected it.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    /// Where the row starts.
    pub position: Position,
    /// The row's key, when the rules could tell it.
    pub key: Option<String>,
    /// The source's columns and cells, in source order; `None` for a cell withheld because
    /// it holds a password.
    pub cells: Vec<(String, Option<String>)>,
    /// The errors that rejected the row, in the order they were found.
    pub problems: Vec<Problem>,
}

impl RejectedRow {
    /// The row at `position` with `cells`, rejected by the errors among `problems`. Cells
    /// of a password column, or holding `password` (the password the rules made of the row),
    /// are withheld.
    pub fn new(
        position: &Position,
        key: Option<&str>,
        cells: RowCells<'_>,
        problems: &[Problem],
        password: Option<&str>,
    ) -> RejectedRow {
        let password = password.map(str::trim).filter(|p| !p.is_empty());
        let cells = cells
            .iter()
            .map(|(name, text)| {
                let secret = is_secret_column(name) || password.is_some_and(|p| holds(text, p));
                (name.to_string(), (!secret).then(|| text.to_string()))
            })
            .collect();
        RejectedRow {
            position: position.clone(),
            key: key.map(str::to_string),
            cells,
            problems: problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .cloned()
                .collect(),
        }
    }
}

/// Whether a cell holds `password`: is it (but for spaces), or, for a password long enough
/// not to turn up by chance, contains it.
fn holds(cell: &str, password: &str) -> bool {
    const LONG_ENOUGH: usize = 8;
    cell.trim() == password || (password.chars().count() >= LONG_ENOUGH && cell.contains(password))
}

/// Whether a source column holds passwords by its name: the canonical `password`, or a name
/// that says so (`Initial Password`, `pwd`, `Secret`).
pub fn is_secret_column(name: &str) -> bool {
    if Field::parse(name).is_some_and(Field::is_secret) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret"]
        .iter()
        .any(|word| lower.contains(word))
}

/// The source cells of a chunk of rows, as text, in one buffer: each cell's text (a JSON value
/// that is not a string as its JSON text; null as empty), and per row the header that names
/// its cells. Rows of one CSV file share one header, so a cell costs its text and 4 bytes.
#[derive(Debug, Default)]
pub struct ChunkCells {
    text: String,
    /// The end in `text` of each cell.
    ends: Vec<u32>,
    /// Per row: the end of its cells in `ends`, and its header in `headers`.
    rows: Vec<(u32, u32)>,
    headers: Vec<Arc<[Arc<str>]>>,
}

impl ChunkCells {
    /// An empty buffer with room for as much as `previous` held.
    pub fn like(previous: &ChunkCells) -> ChunkCells {
        ChunkCells {
            text: String::with_capacity(previous.text.len()),
            ends: Vec::with_capacity(previous.ends.len()),
            rows: Vec::with_capacity(previous.rows.len()),
            headers: Vec::new(),
        }
    }

    /// Adds a CSV record's cells named by `names` (a row before it is built), its text
    /// copied at once.
    pub fn push_cells(&mut self, names: &[Arc<str>], cells: &Cells) {
        let start = self.text.len();
        self.text.push_str(cells.text());
        self.ends
            .extend(cells.ends().map(|end| offset(start + end)));
        self.end_row(names.iter());
    }

    /// Adds a row of text cells named by `names`.
    #[cfg(test)]
    pub fn push_texts<'t>(&mut self, names: &[Arc<str>], cells: impl Iterator<Item = &'t str>) {
        for text in cells {
            self.text.push_str(text);
            self.end_cell();
        }
        self.end_row(names.iter());
    }

    /// Adds a row of typed cells.
    pub fn push_values(&mut self, columns: &[(Arc<str>, Value)]) {
        for (_, value) in columns {
            match value {
                Value::String(text) => self.text.push_str(text),
                Value::Null => {}
                other => {
                    let _ = write!(self.text, "{other}");
                }
            }
            self.end_cell();
        }
        self.end_row(columns.iter().map(|(name, _)| name));
    }

    fn end_cell(&mut self) {
        self.ends.push(offset(self.text.len()));
    }

    /// Ends a row whose cells are named by `names`: the last header again when it is the same.
    fn end_row<'n>(&mut self, names: impl ExactSizeIterator<Item = &'n Arc<str>> + Clone) {
        let same = self.headers.last().is_some_and(|last| {
            last.len() == names.len()
                && last
                    .iter()
                    .zip(names.clone())
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        });
        if !same {
            self.headers.push(names.cloned().collect());
        }
        let header = offset(self.headers.len() - 1);
        self.rows.push((offset(self.ends.len()), header));
    }

    /// The cells of the chunk's row `n` (none if there is no such row).
    pub fn row(&self, n: usize) -> RowCells<'_> {
        let start = match n {
            0 => 0,
            n => self
                .rows
                .get(n - 1)
                .map_or(self.ends.len(), |r| r.0 as usize),
        };
        let (end, header) = self
            .rows
            .get(n)
            .map_or((start, None), |r| (r.0 as usize, Some(r.1 as usize)));
        RowCells {
            chunk: self,
            start,
            end,
            header,
        }
    }

    /// The headers that name the rows' cells; [`RowCells::header`] is an index in them.
    pub fn headers(&self) -> impl Iterator<Item = &[Arc<str>]> {
        self.headers.iter().map(|header| &header[..])
    }

    /// How many rows the chunk holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the chunk holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The bytes of text it holds.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }
}

/// A position in a chunk's buffers; the planner sends a chunk on long before its text
/// reaches 4 GiB (see `CHUNK_TEXT` in the planner).
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a chunk's cells stay under 4 GiB")
}

/// One row's cells in a [`ChunkCells`].
#[derive(Clone, Copy)]
pub struct RowCells<'c> {
    chunk: &'c ChunkCells,
    /// The row's range in `chunk.ends`.
    start: usize,
    end: usize,
    header: Option<usize>,
}

impl<'c> RowCells<'c> {
    /// Each column name with its cell's text, in source order.
    pub fn iter(&self) -> impl Iterator<Item = (&'c str, &'c str)> + 'c {
        let chunk = self.chunk;
        let names = self.header.map_or(&[][..], |h| &chunk.headers[h][..]);
        names.iter().map(|name| &**name).zip(self.texts())
    }

    /// Each cell's text, in source order.
    pub fn texts(&self) -> impl Iterator<Item = &'c str> + 'c {
        let chunk = self.chunk;
        (self.start..self.end).map(move |i| {
            let from = if i == 0 {
                0
            } else {
                chunk.ends[i - 1] as usize
            };
            &chunk.text[from..chunk.ends[i] as usize]
        })
    }

    /// The index of the row's header in [`ChunkCells::headers`] (none if there is no such
    /// row).
    pub fn header(&self) -> Option<usize> {
        self.header
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn position() -> Position {
        Position {
            file: Arc::from("users.csv"),
            line: 3,
            index: 1,
        }
    }

    fn names(list: &[&str]) -> Vec<Arc<str>> {
        list.iter().map(|n| Arc::from(*n)).collect()
    }

    #[test]
    fn a_chunk_gives_back_each_rows_cells_as_text() {
        let mut chunk = ChunkCells::default();
        let header = names(&["id", "phone"]);
        chunk.push_texts(&header, ["u1", "+47 400"].into_iter());
        chunk.push_texts(&header, ["u2", ""].into_iter());
        let typed: Vec<(Arc<str>, Value)> = names(&["id", "active", "roles", "note", "blank"])
            .into_iter()
            .zip([
                json!("u3"),
                json!(true),
                json!(["a", "b"]),
                Value::Null,
                json!(""),
            ])
            .collect();
        chunk.push_values(&typed);
        chunk.push_texts(&[], std::iter::empty());
        assert_eq!(chunk.len(), 4);
        assert_eq!(chunk.headers.len(), 3, "rows of one header share it");
        let rows: Vec<Vec<(&str, &str)>> = (0..5).map(|n| chunk.row(n).iter().collect()).collect();
        assert_eq!(rows[0], [("id", "u1"), ("phone", "+47 400")]);
        assert_eq!(rows[1], [("id", "u2"), ("phone", "")]);
        assert_eq!(
            rows[2],
            [
                ("id", "u3"),
                ("active", "true"),
                ("roles", r#"["a","b"]"#),
                ("note", ""),
                ("blank", "")
            ]
        );
        assert!(rows[3].is_empty());
        assert!(rows[4].is_empty(), "no such row");
        let next = ChunkCells::like(&chunk);
        assert!(next.is_empty() && next.text.capacity() >= chunk.text_len());
    }

    #[test]
    fn password_cells_are_withheld_by_name_and_by_value() {
        let mut chunk = ChunkCells::default();
        chunk.push_texts(
            &names(&["id", "Initial Password", "Credentials", "note"]),
            ["u1", "x", " Summer2024! ", "fine"].into_iter(),
        );
        let problems = [
            Problem::warning("Column", "ignored"),
            Problem::error("Pattern", "bad").on_field("email"),
        ];
        let row = RejectedRow::new(
            &position(),
            Some("u1"),
            chunk.row(0),
            &problems,
            Some("Summer2024!"),
        );
        assert_eq!(
            row.cells,
            [
                ("id".to_string(), Some("u1".to_string())),
                ("Initial Password".to_string(), None),
                ("Credentials".to_string(), None),
                ("note".to_string(), Some("fine".to_string())),
            ]
        );
        assert_eq!(row.problems.len(), 1, "only the errors that rejected it");
        // A short password is withheld where it is the cell, not wherever it turns up.
        let mut chunk = ChunkCells::default();
        chunk.push_texts(&names(&["id", "pin"]), ["u1-fine", " fine "].into_iter());
        let short = RejectedRow::new(&position(), None, chunk.row(0), &problems, Some("fine"));
        assert_eq!(short.cells[0].1.as_deref(), Some("u1-fine"));
        assert_eq!(short.cells[1].1, None);
        assert_eq!(row.problems[0].rule, "Pattern");
        for name in ["password", "PASSWORD", "pwd", "Client Secret"] {
            assert!(is_secret_column(name), "{name}");
        }
        assert!(!is_secret_column("passport_no"));
    }
}
