//! A reference table: the rows of a CSV file that lookups and exports name values by.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

/// One reference table: a header and rows of text.
#[derive(Debug, Clone, PartialEq)]
pub struct RefTable {
    /// The table's name (`location`, `team`...).
    pub name: String,
    /// The column names.
    pub columns: Vec<String>,
    /// The rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

impl RefTable {
    /// Reads a CSV file with a header row into a table named `name`.
    pub fn read_csv(name: &str, path: &Path) -> Result<RefTable> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let bad = |e: csv::Error| Error::input(path.display(), e.to_string());
        let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(e) => io(e),
            other => Error::input(path.display(), format!("{other:?}")),
        })?;
        let columns = reader
            .headers()
            .map_err(bad)?
            .iter()
            .map(|c| c.trim().to_string())
            .collect();
        let rows = reader
            .records()
            .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
        Ok(RefTable {
            name: name.to_string(),
            columns,
            rows,
        })
    }

    /// Each row's value in `column` (any case), by the row's id; `None` when the table has
    /// no such column.
    pub fn values_by_id(&self, column: &str) -> Option<HashMap<String, String>> {
        let at = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))?;
        let id = self.id_column();
        let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
        Some(
            self.rows
                .iter()
                .map(|row| (cell(row, id), cell(row, at)))
                .collect(),
        )
    }

    /// The column that holds the id a lookup returns: `id`, or the first column.
    pub fn id_column(&self) -> usize {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case("id"))
            .unwrap_or(0)
    }
}
