//! A rejects file read back: the rows roster rejected, fixed by the customer and planned
//! again. Its `roster_*` columns are dropped, and the cells roster neutralised against CSV
//! injection (listed in `roster_neutralised`) lose exactly the `'` roster put before them.

use std::sync::Arc;

use serde_json::Value;

use super::Position;
use crate::{Error, Result};

/// `file:line` of the rejected row.
pub const SOURCE: &str = "roster_source";
/// The rules that rejected the row.
pub const RULE: &str = "roster_rule";
/// The fields they were about.
pub const FIELD: &str = "roster_field";
/// What is wrong, for a person.
pub const MESSAGE: &str = "roster_message";
/// The columns whose cell roster prefixed with `'`, a JSON list of names.
pub const NEUTRALISED: &str = "roster_neutralised";

/// The columns roster adds to a rejects file, in order.
pub const COLUMNS: [&str; 5] = [SOURCE, RULE, FIELD, MESSAGE, NEUTRALISED];

/// The prefix that neutralises a cell (or a header name) against CSV injection.
pub const NEUTRALISER: char = '\'';

/// How to restore the rows of a rejects file; `None` for any other file.
#[derive(Debug)]
pub struct Returned {
    /// Per column of the file: its name as the source had it, or `None` for a `roster_*` column.
    names: Vec<Option<Arc<str>>>,
    /// The column of `roster_neutralised`, if the file still has it.
    neutralised: Option<usize>,
}

impl Returned {
    /// Recognises a rejects file by its header (any `roster_*` column of [`COLUMNS`]).
    pub fn detect(header: &[Arc<str>]) -> Option<Returned> {
        if !header.iter().any(|name| COLUMNS.contains(&&**name)) {
            return None;
        }
        let names = header
            .iter()
            .map(|name| match COLUMNS.contains(&&**name) {
                true => None,
                // Roster writes a header name that starts with `'` or a formula character
                // with one more `'` in front, so one `'` always comes off.
                false => Some(match name.strip_prefix(NEUTRALISER) {
                    Some(original) => Arc::from(original),
                    None => name.clone(),
                }),
            })
            .collect();
        let neutralised = header.iter().position(|name| &**name == NEUTRALISED);
        Some(Returned { names, neutralised })
    }

    /// The row without roster's columns, its neutralised cells restored. `columns` are the
    /// file's, in header order.
    pub fn restore(
        &self,
        position: &Position,
        columns: Vec<(Arc<str>, Value)>,
    ) -> Result<Vec<(Arc<str>, Value)>> {
        let listed: Vec<String> = match self.neutralised.and_then(|n| columns.get(n)) {
            Some((_, Value::String(text))) if !text.trim().is_empty() => {
                serde_json::from_str(text).map_err(|_| {
                    Error::input(
                        position,
                        format!(
                            "the `{NEUTRALISED}` cell `{text}` is not the list of columns roster wrote \
                             (like [\"phone\"]); leave it as it was, or empty it and remove the `'` \
                             roster put before those cells yourself"
                        ),
                    )
                })?
            }
            _ => Vec::new(),
        };
        Ok(columns
            .into_iter()
            .zip(&self.names)
            .filter_map(|((_, value), name)| {
                let name = name.as_ref()?;
                let value = match value {
                    Value::String(text) if listed.iter().any(|l| **l == **name) => {
                        match text.strip_prefix(NEUTRALISER) {
                            Some(original) => Value::String(original.to_string()),
                            None => Value::String(text),
                        }
                    }
                    other => other,
                };
                Some((name.clone(), value))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Arc<str>> {
        list.iter().map(|n| Arc::from(*n)).collect()
    }

    fn at() -> Position {
        Position {
            file: Arc::from("fixed.csv"),
            line: 2,
            index: 0,
        }
    }

    fn row(header: &[&str], cells: &[&str]) -> Vec<(Arc<str>, Value)> {
        names(header)
            .into_iter()
            .zip(cells.iter().map(|c| Value::String(c.to_string())))
            .collect()
    }

    #[test]
    fn another_file_is_not_a_rejects_file() {
        assert!(Returned::detect(&names(&["id", "roster"])).is_none());
    }

    #[test]
    fn roster_columns_go_and_exactly_the_listed_prefixes_come_off() {
        let header = [
            "id",
            "'=odd",
            "phone",
            "note",
            "roster_source",
            "roster_rule",
            "roster_field",
            "roster_message",
            "roster_neutralised",
        ];
        let returned = Returned::detect(&names(&header)).unwrap();
        let restored = returned
            .restore(
                &at(),
                row(
                    &header,
                    &[
                        "u1",
                        "'-5",
                        "'+47 400 00 001",
                        "'t Hooft",
                        "users.csv:2",
                        "Pattern",
                        "phone",
                        "'- bad",
                        r#"["=odd","phone"]"#,
                    ],
                ),
            )
            .unwrap();
        let got: Vec<(&str, &str)> = restored
            .iter()
            .map(|(n, v)| (&**n, v.as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("id", "u1"),
                ("=odd", "-5"),
                ("phone", "+47 400 00 001"),
                ("note", "'t Hooft"),
            ]
        );
    }

    #[test]
    fn a_cell_fixed_without_its_prefix_is_left_alone() {
        let header = ["phone", "roster_neutralised"];
        let returned = Returned::detect(&names(&header)).unwrap();
        let restored = returned
            .restore(&at(), row(&header, &["+47 1", r#"["phone"]"#]))
            .unwrap();
        assert_eq!(restored[0].1, "+47 1");
    }

    #[test]
    fn a_garbled_neutralised_cell_is_one_clear_error() {
        let header = ["phone", "roster_neutralised"];
        let returned = Returned::detect(&names(&header)).unwrap();
        let e = returned
            .restore(&at(), row(&header, &["'+47 1", "phone"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("fixed.csv:2: the `roster_neutralised` cell `phone`"),
            "{e}"
        );
    }
}
