//! The push journal: how far each batch of a `roster push` got, written as it happens so a
//! push killed at any moment resumes where it stood (`pushes`, `push_batches`).
//!
//! A batch is `pending`, then `in_flight` before its request leaves (so a batch that may
//! have reached the vendor is known after a crash), then `acknowledged` once the vendor's
//! word on each user is recorded, or `failed` when it could not be delivered (the next push
//! sends it again). No body is kept: a batch is made again from the plan.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::db::decode_json;
use crate::store::plans;

/// A push of a plan to one vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The plan.
    pub plan_id: i64,
    /// The vendor's name.
    pub vendor: String,
    /// The apply in which the state follows the vendor.
    pub apply_id: i64,
    /// Users per batch.
    pub batch_size: usize,
    /// The Field Squared workspace, if any.
    pub workspace: Option<String>,
}

/// How far a batch got, stored as `pending`, `in_flight`, `acknowledged` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum BatchStatus {
    /// Not sent yet.
    Pending,
    /// Being sent: it may have reached the vendor.
    InFlight,
    /// The vendor's word on each user is recorded.
    Acknowledged,
    /// Not delivered this time; the next push sends it again.
    Failed,
}

impl BatchStatus {
    fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the stored status; anything else has not been sent.
    fn parse(text: &str) -> BatchStatus {
        text.parse().unwrap_or(BatchStatus::Pending)
    }
}

/// Why a user is left out of a batch's later sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Removal {
    /// The vendor named it as the problem.
    Rejected,
    /// A conflict on a create this push had sent before: the vendor has it.
    Delivered,
}

/// One batch of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalBatch {
    /// Its place, from 0.
    pub seq: usize,
    /// The file name `export` gives it.
    pub file: String,
    /// The HTTP method.
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// Its users' keys, in order.
    pub keys: Vec<String>,
    /// Users an eSystems `DeleteNotExists` request deletes.
    pub deleted: Vec<String>,
    /// How far it got.
    pub status: BatchStatus,
    /// Users left out of later sends.
    pub removed: BTreeMap<String, Removal>,
    /// How many times users were left out.
    pub revision: u32,
    /// Whether a send may have reached the vendor without its answer.
    pub maybe_delivered: bool,
    /// Requests sent for it.
    pub attempts: u32,
    /// The last failure.
    pub message: Option<String>,
}

impl JournalBatch {
    /// A batch not sent yet.
    pub fn pending(
        seq: usize,
        file: String,
        method: String,
        path: String,
        keys: Vec<String>,
        deleted: Vec<String>,
    ) -> JournalBatch {
        JournalBatch {
            seq,
            file,
            method,
            path,
            keys,
            deleted,
            status: BatchStatus::Pending,
            removed: BTreeMap::new(),
            revision: 0,
            maybe_delivered: false,
            attempts: 0,
            message: None,
        }
    }
}

/// The push of a plan to a vendor, if one began.
pub fn find(conn: &Connection, plan_id: i64, vendor: &str) -> Result<Option<Push>> {
    Ok(conn
        .prepare_cached(
            "SELECT apply_id, batch_size, workspace FROM pushes WHERE plan_id = ?1 AND vendor = ?2",
        )?
        .query_row(params![plan_id, vendor], |r| {
            Ok(Push {
                plan_id,
                vendor: vendor.to_string(),
                apply_id: r.get(0)?,
                batch_size: r.get::<_, i64>(1)? as usize,
                workspace: r.get(2)?,
            })
        })
        .optional()?)
}

/// Records a push and its batches, all pending.
pub fn begin(conn: &Connection, push: &Push, batches: &[JournalBatch]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO pushes (plan_id, vendor, apply_id, batch_size, workspace, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        push.plan_id,
        push.vendor,
        push.apply_id,
        push.batch_size as i64,
        push.workspace,
        plans::now()
    ])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO push_batches (plan_id, vendor, seq, file, method, path, keys, deleted, status, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)",
    )?;
    let now = plans::now();
    for batch in batches {
        insert.execute(params![
            push.plan_id,
            push.vendor,
            batch.seq as i64,
            batch.file,
            batch.method,
            batch.path,
            to_json(&batch.keys),
            to_json(&batch.deleted),
            now
        ])?;
    }
    Ok(())
}

/// The batches of a push, in order.
pub fn batches(conn: &Connection, push: &Push) -> Result<Vec<JournalBatch>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, file, method, path, keys, deleted, status, removed, revision, maybe_delivered,
                attempts, message
         FROM push_batches WHERE plan_id = ?1 AND vendor = ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_and_then(params![push.plan_id, push.vendor], |r| -> Result<_> {
        let seq = r.get::<_, i64>(0)?;
        let row = format_args!(
            "plan_id {}, vendor `{}`, seq {seq}",
            push.plan_id, push.vendor
        );
        let text = |index| r.get::<_, String>(index);
        Ok(JournalBatch {
            seq: seq as usize,
            file: r.get(1)?,
            method: r.get(2)?,
            path: r.get(3)?,
            keys: decode_json("push_batches", row, "keys", &text(4)?)?,
            deleted: decode_json("push_batches", row, "deleted", &text(5)?)?,
            status: BatchStatus::parse(&r.get::<_, String>(6)?),
            removed: decode_json("push_batches", row, "removed", &text(7)?)?,
            revision: r.get(8)?,
            maybe_delivered: r.get(9)?,
            attempts: r.get(10)?,
            message: r.get(11)?,
        })
    })?;
    rows.collect()
}

/// Writes what is known of a batch now (its status, left-out users, attempts, message).
pub fn update(conn: &Connection, push: &Push, batch: &JournalBatch) -> Result<()> {
    conn.prepare_cached(
        "UPDATE push_batches SET status = ?4, removed = ?5, revision = ?6, maybe_delivered = ?7,
                attempts = ?8, message = ?9, updated_at = ?10
         WHERE plan_id = ?1 AND vendor = ?2 AND seq = ?3",
    )?
    .execute(params![
        push.plan_id,
        push.vendor,
        batch.seq as i64,
        batch.status.as_str(),
        serde_json::to_string(&batch.removed).expect("removals serialise"),
        batch.revision,
        batch.maybe_delivered,
        batch.attempts,
        batch.message,
        plans::now()
    ])?;
    Ok(())
}

fn to_json(keys: &[String]) -> String {
    serde_json::to_string(keys).expect("keys serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_keep_their_stored_names() {
        let all = [
            BatchStatus::Pending,
            BatchStatus::InFlight,
            BatchStatus::Acknowledged,
            BatchStatus::Failed,
        ];
        assert_eq!(
            all.map(BatchStatus::as_str),
            ["pending", "in_flight", "acknowledged", "failed"]
        );
        assert!(all.iter().all(|s| BatchStatus::parse(s.as_str()) == *s));
    }
}
