//! Reference tables for `FieldName` lookups, stored per tenant.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::model::reference::RefTable;
use crate::store::db::decode_json;
use crate::store::plans::now;

/// Replaces (or creates) a reference table of the tenant, inside the caller's transaction.
pub fn replace(conn: &Connection, tenant: &str, table: &RefTable, source: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM ref_rows WHERE tenant = ?1 AND table_name = ?2")?
        .execute(params![tenant, table.name])?;
    conn.prepare_cached(
        "INSERT INTO ref_tables (tenant, name, columns, source, loaded_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant, name) DO UPDATE SET columns = excluded.columns,
           source = excluded.source, loaded_at = excluded.loaded_at",
    )?
    .execute(params![tenant, table.name, to_json(&table.columns), source, now()])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO ref_rows (tenant, table_name, row_no, cells) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (row_no, cells) in table.rows.iter().enumerate() {
        insert.execute(params![
            tenant,
            table.name,
            row_no as i64 + 1,
            to_json(cells)
        ])?;
    }
    Ok(())
}

/// One table of the tenant, or `None`.
pub fn get(conn: &Connection, tenant: &str, name: &str) -> Result<Option<RefTable>> {
    let columns: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT name, columns FROM ref_tables WHERE tenant = ?1 AND name = ?2 COLLATE NOCASE",
        )?
        .query_row(params![tenant, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((name, columns)) = columns else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT cells, row_no FROM ref_rows WHERE tenant = ?1 AND table_name = ?2 ORDER BY row_no",
    )?;
    let rows = stmt
        .query_and_then(params![tenant, name], |r| {
            let row = format_args!("table_name `{name}`, row_no {}", r.get::<_, i64>(1)?);
            decode_json("ref_rows", row, "cells", &r.get::<_, String>(0)?)
        })?
        .collect::<Result<_>>()?;
    let columns = decode_json(
        "ref_tables",
        format_args!("name `{name}`"),
        "columns",
        &columns,
    )?;
    Ok(Some(RefTable {
        columns,
        name,
        rows,
    }))
}

/// Every table of the tenant.
pub fn all(conn: &Connection, tenant: &str) -> Result<Vec<RefTable>> {
    names(conn, tenant)?
        .into_iter()
        .filter_map(|name| get(conn, tenant, &name).transpose())
        .collect()
}

/// The names of the tenant's tables.
pub fn names(conn: &Connection, tenant: &str) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT name FROM ref_tables WHERE tenant = ?1 ORDER BY name")?;
    let names = stmt.query_map([tenant], |r| r.get(0))?;
    Ok(names.collect::<Result<_, _>>()?)
}

fn to_json(cells: &[String]) -> String {
    serde_json::to_string(cells).expect("text serialises")
}
