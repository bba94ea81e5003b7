//! `roster ref load|show`: reference tables for `FieldName` lookups.

use std::io::Write;
use std::path::Path;

use super::{open_existing, open_workspace, Hint};
use crate::cli::{Globals, RefLoadArgs, RefShowArgs};
use crate::error::{Error, NotFoundKind, Result};
use crate::model::record::cell;
use crate::model::reference::RefTable;
use crate::read::{self, ReadOptions};
use crate::render::table::{self, stdout_error};
use crate::rules::RulePack;
use crate::store::refs;

/// Loads (replaces) a table from a CSV or JSON file.
pub(super) fn load(globals: &Globals, args: &RefLoadArgs, out: &mut dyn Write) -> Result<i32> {
    RulePack::load(&globals.rules, &globals.tenant)?;
    let table = read_table(&args.table, &args.file)?;
    let mut workspace = open_workspace(globals)?;
    let tx = workspace.write()?;
    refs::replace(&tx, &globals.tenant, &table, &args.file)?;
    tx.commit()?;
    writeln!(
        out,
        "Loaded reference table `{}` for tenant `{}`: {} rows, columns {}.",
        table.name,
        globals.tenant,
        table.rows.len(),
        table.columns.join(", ")
    )
    .map_err(stdout_error)?;
    Ok(0)
}

/// Shows a table.
pub(super) fn show(globals: &Globals, args: &RefShowArgs, out: &mut dyn Write) -> Result<i32> {
    let workspace = open_existing(globals)?;
    let Some(table) = refs::get(&workspace.conn, &globals.tenant, &args.table)? else {
        let known = refs::names(&workspace.conn, &globals.tenant)?;
        let known = match known.is_empty() {
            true => "it has none yet".to_string(),
            false => format!("it has {}", known.join(", ")),
        };
        return Err(Error::not_found(
            NotFoundKind::Table,
            format!(
                "tenant `{}` has no reference table `{}` ({known}); load one with {}",
                globals.tenant,
                args.table,
                Hint::new(globals)
                    .args(["ref", "load", &args.table])
                    .placeholder("FILE")
            ),
        ));
    };
    let header: Vec<&str> = table.columns.iter().map(String::as_str).collect();
    table::simple(out, &header, table.rows.clone())?;
    writeln!(out, "{} rows in `{}`.", table.rows.len(), table.name).map_err(stdout_error)?;
    Ok(0)
}

/// Reads a reference file: the reader's rows, every value as text, columns from the first row.
fn read_table(name: &str, file: &str) -> Result<RefTable> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::Usage(format!(
            "`{name}` is not a table name: use letters, digits, `_` and `-`"
        )));
    }
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let summary = read::read_source(file, &ReadOptions::default(), &mut |row: read::Row| {
        if columns.is_empty() {
            columns = row.columns.iter().map(|(c, _)| c.to_string()).collect();
        }
        let cells = columns
            .iter()
            .map(|c| row.get(c).map(cell_text).unwrap_or_default())
            .collect();
        rows.push(cells);
        Ok(())
    })?;
    if columns.is_empty() {
        columns = summary.columns;
    }
    if columns.is_empty() {
        return Err(Error::input(
            Path::new(file).display(),
            "a reference table needs a header row (CSV) or at least one object (JSON)",
        ));
    }
    Ok(RefTable {
        name: name.to_string(),
        columns,
        rows,
    })
}

fn cell_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        other => cell(other),
    }
}
