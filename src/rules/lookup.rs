//! Reference tables for `FieldName` lookups and the `lookup` helper.
//!
//! Tables are built once per run; each (table, column) gets a hash index up front, so a
//! lookup per row is one hash probe. Table and column names match case-insensitively, and
//! so do values (after trimming): HR exports rarely agree with themselves on case.

use std::collections::HashMap;
use std::sync::Arc;

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::hash::Hash128;
use crate::read::{self, Format, ReadOptions, Row};

use crate::model::reference::RefTable;

/// Reads a CSV file with a header row into a reference table named `name`, through the same
/// reader as every source (so encodings, byte-order marks and error places match).
pub fn read_table_csv(name: &str, path: &Path) -> Result<RefTable> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let options = ReadOptions {
        format: Format::Csv,
        ..ReadOptions::default()
    };
    let mut rows = Vec::new();
    let shown = path.display().to_string();
    let read = read::read_from(&shown, file, &options, &mut |row: Row| {
        let text = |(_, value): (_, Value)| match value {
            Value::String(text) => text,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        rows.push(row.columns.into_iter().map(text).collect());
        Ok(())
    })?;
    Ok(RefTable {
        name: name.to_string(),
        columns: read.columns,
        rows,
    })
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<'a> {
    /// Exactly one row: its id.
    One(&'a str),
    /// No row has the value.
    None,
    /// Several rows have it (the vendor's "multiple rows in the database for the same value").
    Many(usize),
}

/// Why a lookup cannot be made at all (a pack or setup error, not a row error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No table of that name is loaded.
    Table,
    /// The table has no such column; the known columns.
    Column(Vec<String>),
}

struct Index {
    /// The id of each row.
    ids: Arc<[String]>,
    /// Lowercased, trimmed value → the rows holding it.
    by_value: HashMap<String, Vec<usize>>,
}

/// All reference tables of a run, indexed for lookups.
#[derive(Default)]
pub struct RefTables {
    /// Lowercased table name → column name (lowercased) → index.
    tables: HashMap<String, (Vec<String>, HashMap<String, Index>)>,
    /// xxh3-128 of every table's name, columns and cells, in the order given.
    digest: u128,
}

fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

impl RefTables {
    /// Indexes every column of every table.
    pub fn new(tables: Vec<RefTable>) -> RefTables {
        let mut out = RefTables::default();
        let mut digest = xxhash_rust::xxh3::Xxh3Default::new();
        let mut feed = |text: &str| {
            digest.update(&(text.len() as u64).to_le_bytes());
            digest.update(text.as_bytes());
        };
        for table in &tables {
            feed(&table.name);
            feed(&table.columns.len().to_string());
            table.columns.iter().for_each(|c| feed(c));
            for row in &table.rows {
                feed(&row.len().to_string());
                row.iter().for_each(|cell| feed(cell));
            }
            feed("end of table");
        }
        out.digest = digest.digest128();
        for table in tables {
            let id = table.id_column();
            let ids: Arc<[String]> = table
                .rows
                .iter()
                .map(|r| r.get(id).cloned().unwrap_or_default())
                .collect();
            let mut columns = HashMap::new();
            for (c, name) in table.columns.iter().enumerate() {
                let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
                for (r, row) in table.rows.iter().enumerate() {
                    if let Some(value) = row.get(c).filter(|v| !v.trim().is_empty()) {
                        by_value.entry(fold(value)).or_default().push(r);
                    }
                }
                let index = Index {
                    ids: ids.clone(),
                    by_value,
                };
                columns.insert(fold(name), index);
            }
            out.tables
                .insert(fold(&table.name), (table.columns.clone(), columns));
        }
        out
    }

    /// No tables at all.
    pub fn empty() -> RefTables {
        RefTables::default()
    }

    /// What the lookups can find: equal for equal tables, different on any change.
    pub fn digest(&self) -> Hash128 {
        Hash128::from(self.digest)
    }

    /// Whether `table.column` can be looked up.
    pub fn check(&self, table: &str, column: &str) -> Result<(), Missing> {
        let (columns, indexes) = self.tables.get(&fold(table)).ok_or(Missing::Table)?;
        match indexes.contains_key(&fold(column)) {
            true => Ok(()),
            false => Err(Missing::Column(columns.clone())),
        }
    }

    /// Finds `value` in `table.column` and returns the row's id.
    pub fn find(&self, table: &str, column: &str, value: &str) -> Result<Found<'_>, Missing> {
        let (columns, indexes) = self.tables.get(&fold(table)).ok_or(Missing::Table)?;
        let index = indexes
            .get(&fold(column))
            .ok_or_else(|| Missing::Column(columns.clone()))?;
        Ok(match index.by_value.get(&fold(value)).map(Vec::as_slice) {
            None | Some([]) => Found::None,
            Some([row]) => Found::One(&index.ids[*row]),
            Some(rows) => Found::Many(rows.len()),
        })
    }
}

#[cfg(test)]
mod tests {

    /// A table file `name` holding `bytes`, read as a reference table.
    fn read_table(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Result<RefTable>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let table = read_table_csv("location", &path);
        (dir, table)
    }

    #[test]
    fn a_table_file_is_read_like_a_source_file() {
        let (_dir, table) = read_table("l.csv", b"\xEF\xBB\xBFid ; Name\nL1;North\n");
        let table = table.unwrap();
        assert_eq!(
            table.columns,
            ["id", "Name"],
            "BOM dropped, delimiter found"
        );
        assert_eq!(table.rows, [["L1", "North"]]);
    }

    #[test]
    fn a_broken_table_file_is_named_with_its_line() {
        let (dir, table) = read_table("l.csv", b"id,Name\nL1,North\nL2,South,extra\n");
        let error = table.unwrap_err().to_string();
        let at = format!("{}:3", dir.path().join("l.csv").display());
        assert!(error.starts_with(&at), "{error}");
        let (dir, table) = read_table("w.csv", b"id,Name\nL1,Z\xFCrich\n");
        let error = table.unwrap_err().to_string();
        let at = format!("{}:2", dir.path().join("w.csv").display());
        assert!(
            error.starts_with(&at) && error.contains("windows-1252"),
            "{error}"
        );
    }

    use super::*;

    fn tables() -> RefTables {
        RefTables::new(vec![RefTable {
            name: "Location".into(),
            columns: vec!["code".into(), "Name".into(), "id".into()],
            rows: vec![
                vec!["OSL".into(), "Oslo".into(), "L1".into()],
                vec!["BGO".into(), "Bergen".into(), "L2".into()],
                vec!["BG2".into(), "bergen".into(), "L3".into()],
            ],
        }])
    }

    #[test]
    fn finds_the_id_ignoring_case_of_names_and_values() {
        assert_eq!(
            tables().find("location", "NAME", " oslo "),
            Ok(Found::One("L1"))
        );
        assert_eq!(
            tables().find("LOCATION", "code", "osl"),
            Ok(Found::One("L1"))
        );
    }

    #[test]
    fn not_found_and_found_twice_are_told_apart() {
        assert_eq!(tables().find("location", "name", "Tromsø"), Ok(Found::None));
        assert_eq!(
            tables().find("location", "name", "Bergen"),
            Ok(Found::Many(2))
        );
    }

    #[test]
    fn the_first_column_is_the_id_when_there_is_no_id_column() {
        let t = RefTables::new(vec![RefTable {
            name: "team".into(),
            columns: vec!["key".into(), "label".into()],
            rows: vec![vec!["T1".into(), "Night shift".into()]],
        }]);
        assert_eq!(t.find("team", "label", "night shift"), Ok(Found::One("T1")));
    }

    #[test]
    fn missing_tables_and_columns_are_reported() {
        assert_eq!(tables().check("team", "name"), Err(Missing::Table));
        assert!(
            matches!(tables().check("location", "city"), Err(Missing::Column(c)) if c.len() == 3)
        );
        assert_eq!(RefTables::empty().find("x", "y", "z"), Err(Missing::Table));
    }
}
