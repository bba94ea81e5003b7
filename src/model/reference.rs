//! A reference table: the rows of a CSV file that lookups and exports name values by.

use std::collections::HashMap;

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
