//! Vendor results: what a platform answered for each exported user (`roster results`), kept
//! so that `history` can show which users the vendor accepted.

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::error::Result;
use crate::model::vendor::Status;
use crate::model::vendor::Vendor;
use crate::store::plans;

/// The vendor's word on one user of one batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VendorResult {
    /// The payload file.
    pub batch_file: String,
    /// The user's key.
    pub key: String,
    /// `file:line` of the user's row in the plan's input.
    pub source: Option<String>,
    /// How the vendor took the user.
    pub status: Status,
    /// Where in the item the vendor pointed.
    pub path: Option<String>,
    /// The vendor's message.
    pub message: String,
}

/// The counts of one plan's results for one vendor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultCounts {
    /// The exported plan.
    pub plan_id: i64,
    /// The vendor.
    pub vendor: String,
    /// Users loaded.
    pub accepted: u64,
    /// Users loaded with a warning.
    pub warning: u64,
    /// Users the vendor refused.
    pub rejected: u64,
    /// Users of failed batches.
    pub failed: u64,
}

/// Results written by one statement: a batch's hundreds of users go in a few statements,
/// not one each.
const ROWS_PER_INSERT: usize = 32;

/// Records results (inside the caller's transaction), replacing earlier ones for the same
/// batch and user.
pub fn record(
    conn: &Connection,
    plan_id: i64,
    vendor: Vendor,
    results: &[VendorResult],
) -> Result<()> {
    let now = plans::now();
    let mut chunks = results.chunks_exact(ROWS_PER_INSERT);
    if chunks.len() > 0 {
        let mut insert = conn.prepare_cached(&insert_sql(ROWS_PER_INSERT))?;
        for chunk in chunks.by_ref() {
            insert_rows(&mut insert, plan_id, vendor, &now, chunk)?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut insert = conn.prepare_cached(&insert_sql(1))?;
        for result in rest {
            insert_rows(
                &mut insert,
                plan_id,
                vendor,
                &now,
                std::slice::from_ref(result),
            )?;
        }
    }
    Ok(())
}

/// The statement recording `rows` results: the plan, vendor and time are `?1`..`?3`, and
/// each row's batch file, key, status, message and path the next five.
fn insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let p = 4 + 5 * row;
            format!(
                "(?1, ?2, ?{}, ?{}, ?{}, ?{}, ?{}, ?3)",
                p,
                p + 1,
                p + 2,
                p + 3,
                p + 4
            )
        })
        .collect();
    format!(
        "INSERT OR REPLACE INTO vendor_results
           (plan_id, vendor, batch_file, external_id, status, message, path, recorded_at)
         VALUES {}",
        values.join(", ")
    )
}

/// Runs an [`insert_sql`] statement made for `results.len()` rows.
fn insert_rows(
    insert: &mut rusqlite::Statement,
    plan_id: i64,
    vendor: Vendor,
    now: &str,
    results: &[VendorResult],
) -> Result<()> {
    insert.raw_bind_parameter(1, plan_id)?;
    insert.raw_bind_parameter(2, vendor.name())?;
    insert.raw_bind_parameter(3, now)?;
    for (row, r) in results.iter().enumerate() {
        let p = 4 + 5 * row;
        insert.raw_bind_parameter(p, &r.batch_file)?;
        insert.raw_bind_parameter(p + 1, &r.key)?;
        insert.raw_bind_parameter(p + 2, r.status.as_str())?;
        insert.raw_bind_parameter(p + 3, &r.message)?;
        insert.raw_bind_parameter(p + 4, &r.path)?;
    }
    insert.raw_execute()?;
    Ok(())
}

/// The tenant's recorded results, counted per plan and vendor, oldest plan first.
pub fn counts(conn: &Connection, tenant: &str) -> Result<Vec<ResultCounts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.plan_id, r.vendor,
                sum(r.status = 'accepted'), sum(r.status = 'warning'),
                sum(r.status = 'rejected'), sum(r.status = 'failed')
         FROM vendor_results r JOIN plans p ON p.id = r.plan_id
         WHERE p.tenant = ?1 GROUP BY r.plan_id, r.vendor ORDER BY r.plan_id, r.vendor",
    )?;
    let rows = stmt.query_map([tenant], |r| {
        Ok(ResultCounts {
            plan_id: r.get(0)?,
            vendor: r.get(1)?,
            accepted: r.get(2)?,
            warning: r.get(3)?,
            rejected: r.get(4)?,
            failed: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One plan's results, counted per vendor.
pub fn counts_for_plan(conn: &Connection, plan_id: i64) -> Result<Vec<ResultCounts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT plan_id, vendor,
                sum(status = 'accepted'), sum(status = 'warning'),
                sum(status = 'rejected'), sum(status = 'failed')
         FROM vendor_results WHERE plan_id = ?1 GROUP BY vendor ORDER BY vendor",
    )?;
    let rows = stmt.query_map([plan_id], |r| {
        Ok(ResultCounts {
            plan_id: r.get(0)?,
            vendor: r.get(1)?,
            accepted: r.get(2)?,
            warning: r.get(3)?,
            rejected: r.get(4)?,
            failed: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The first `limit` users of one plan and vendor that the vendor did not simply accept
/// (rejected, failed, then warnings; by batch and key), with their source rows.
pub fn not_accepted(
    conn: &Connection,
    plan_id: i64,
    vendor: &str,
    limit: Option<u64>,
) -> Result<Vec<VendorResult>> {
    let mut stmt = conn.prepare_cached(
        "SELECT batch_file, external_id, status, path, message FROM vendor_results
         WHERE plan_id = ?1 AND vendor = ?2 AND status <> 'accepted'
         ORDER BY CASE status WHEN 'rejected' THEN 0 WHEN 'failed' THEN 1 ELSE 2 END,
                  batch_file, external_id
         LIMIT ?3",
    )?;
    let limit = limit.map_or(-1, |l| l as i64);
    let rows = stmt.query_map(params![plan_id, vendor, limit], |r| {
        let status: String = r.get(2)?;
        Ok(VendorResult {
            batch_file: r.get(0)?,
            key: r.get(1)?,
            source: None,
            status: Status::parse(&status).unwrap_or(Status::Failed),
            path: r.get(3)?,
            message: r.get(4)?,
        })
    })?;
    let mut results: Vec<VendorResult> = rows.collect::<Result<_, _>>()?;
    if results.is_empty() {
        return Ok(results);
    }
    // The changes are not indexed by key: one pass over the plan's finds every source.
    let mut wanted: std::collections::HashMap<String, Option<String>> =
        results.iter().map(|r| (r.key.clone(), None)).collect();
    let mut sources =
        conn.prepare_cached("SELECT external_id, source FROM plan_changes WHERE plan_id = ?1")?;
    let mut rows = sources.query([plan_id])?;
    while let Some(row) = rows.next()? {
        let key = row.get_ref(0)?.as_str().unwrap_or_default();
        if let Some(source) = wanted.get_mut(key) {
            *source = row.get(1)?;
        }
    }
    for result in &mut results {
        result.source = wanted.get(&result.key).cloned().flatten();
    }
    Ok(results)
}

/// The recorded results of one plan for one vendor, by batch file and key; with `refused`,
/// only the users rejected or failed.
pub fn of_plan(
    conn: &Connection,
    plan_id: i64,
    vendor: Vendor,
    refused: bool,
) -> Result<Vec<VendorResult>> {
    // plan_changes has no index by key: its sources are read once and indexed by SQLite for
    // the join, not searched through per result.
    let mut stmt = conn.prepare_cached(
        "WITH c AS MATERIALIZED (SELECT external_id, source FROM plan_changes WHERE plan_id = ?1)
         SELECT r.batch_file, r.external_id, c.source, r.status, r.path, r.message
         FROM vendor_results r
         LEFT JOIN c ON c.external_id = r.external_id
         WHERE r.plan_id = ?1 AND r.vendor = ?2 AND (NOT ?3 OR r.status IN ('rejected', 'failed'))
         ORDER BY r.batch_file, r.external_id",
    )?;
    let rows = stmt.query_map(params![plan_id, vendor.name(), refused], |r| {
        Ok(VendorResult {
            batch_file: r.get(0)?,
            key: r.get(1)?,
            source: r.get(2)?,
            status: Status::parse(&r.get::<_, String>(3)?).unwrap_or(Status::Failed),
            path: r.get(4)?,
            message: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The results of one plan for one vendor, counted by status.
pub fn counts_of(conn: &Connection, plan_id: i64, vendor: Vendor) -> Result<ResultCounts> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(status = 'accepted'), 0), coalesce(sum(status = 'warning'), 0),
                    coalesce(sum(status = 'rejected'), 0), coalesce(sum(status = 'failed'), 0)
             FROM vendor_results WHERE plan_id = ?1 AND vendor = ?2",
        )?
        .query_row(params![plan_id, vendor.name()], |r| {
            Ok(ResultCounts {
                plan_id,
                vendor: vendor.name().to_string(),
                accepted: r.get(0)?,
                warning: r.get(1)?,
                rejected: r.get(2)?,
                failed: r.get(3)?,
            })
        })?)
}
