//! A header row's names, checked the same way for CSV files and spreadsheets: trimmed, none
//! empty, none twice.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{Error, Result};

/// How messages name a header's columns.
pub(super) struct Columns<'h> {
    /// What follows "column" for the column at a 0-based index (`3`, or `C` in a sheet).
    pub label: &'h dyn Fn(usize) -> String,
    /// What to say after "has no name; name every column".
    pub empty_hint: &'h str,
}

/// The header's names, in order; `at` is where the header is.
pub(super) fn names<'n>(
    at: &str,
    cells: impl IntoIterator<Item = &'n str>,
    columns: &Columns<'_>,
) -> Result<Vec<Arc<str>>> {
    let mut names: Vec<Arc<str>> = Vec::new();
    // Column numbers by name: a header of thousands of columns is checked in one pass.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, cell) in cells.into_iter().enumerate() {
        let name = cell.trim();
        if name.is_empty() {
            return Err(Error::input(
                at,
                format!(
                    "column {} of the header has no name; name every column{}",
                    (columns.label)(i),
                    columns.empty_hint
                ),
            ));
        }
        if let Some(first) = seen.insert(name, i) {
            return Err(Error::input(
                at,
                format!(
                    "column `{name}` appears twice in the header (columns {} and {}); rename or \
                     remove one of them",
                    (columns.label)(first),
                    (columns.label)(i)
                ),
            ));
        }
        names.push(Arc::from(name));
    }
    Ok(names)
}
