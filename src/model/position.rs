//! Where a row came from.

use std::fmt;
use std::sync::Arc;

/// Where a row came from: the file (as the user named it, `-` for stdin) and its first line.
/// A row of a spreadsheet names its sheet with the file (`people.xlsx:Staff`), a row of a zip
/// archive's member the member (`export.zip:people.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The file as given on the command line.
    pub file: Arc<str>,
    /// The 1-based line the row starts on.
    pub line: u64,
    /// The 0-based index of the row among the file's rows (for data paths like `Users[12]`).
    pub index: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}
