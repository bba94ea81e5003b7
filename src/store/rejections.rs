//! Remembered rejections (see [`crate::plan::rejection`]): kept per tenant by fingerprint,
//! each with the newest plan that met it, so that each plan of source files keeps only those
//! its own rows had.

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::hash::Hash128;
use crate::plan::rejection::Rejection;

/// The tenant's remembered rejections, as JSON texts by fingerprint.
pub fn all(conn: &Connection, tenant: &str) -> Result<Vec<(Hash128, Box<str>)>> {
    let mut stmt =
        conn.prepare_cached("SELECT fingerprint, rejection FROM rejected_rows WHERE tenant = ?1")?;
    let rows = stmt.query_map([tenant], |row| {
        let fingerprint: Vec<u8> = row.get(0)?;
        let rejection: String = row.get(1)?;
        Ok((fingerprint, rejection.into_boxed_str()))
    })?;
    let mut rejections = Vec::new();
    for row in rows {
        let (fingerprint, rejection) = row?;
        // A fingerprint of another length matches no row.
        if let Some(fingerprint) = Hash128::from_bytes(&fingerprint) {
            rejections.push((fingerprint, rejection));
        }
    }
    Ok(rejections)
}

/// Remembers the rejection of a row with `fingerprint`, met by plan `plan_id`.
pub fn remember(
    conn: &Connection,
    tenant: &str,
    plan_id: i64,
    fingerprint: Hash128,
    rejection: &Rejection,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO rejected_rows (tenant, fingerprint, rejection, last_plan)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        tenant,
        fingerprint.to_bytes(),
        rejection.to_json(),
        plan_id
    ])?;
    Ok(())
}

/// Forgets the tenant's rejections that plan `plan_id` did not meet.
pub fn forget_all_but(conn: &Connection, tenant: &str, plan_id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM rejected_rows WHERE tenant = ?1 AND last_plan <> ?2")?
        .execute(params![tenant, plan_id])?;
    Ok(())
}
