//! Applying a stored plan to the state, and the history of applies.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, NotFoundKind, Result};
use crate::model::record::digest_hex;
use crate::progress::Progress;
use crate::store::plans::{self, PlanHeader};
use crate::store::standing::plan_standing;
use crate::store::state::{self, StateWriter};

/// The counts of one apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyRecord {
    /// The apply's id (what `plan --revert` takes).
    pub id: i64,
    /// The plan it applied.
    pub plan_id: i64,
    /// When (RFC 3339).
    pub applied_at: String,
    /// Users created, updated and deleted.
    pub created: u64,
    /// Users updated.
    pub updated: u64,
    /// Users deleted.
    pub deleted: u64,
    /// `plan`, `revert of apply N` or `state load`.
    pub kind: String,
    /// `apply`, or `push` for a plan applied user by user as the vendor accepted them.
    pub via: String,
    /// Users of the apply whose change the state no longer holds, because the vendor did not
    /// load it (they are counted out of `created`, `updated` and `deleted`).
    pub rolled_back: u64,
}

/// Applies exactly the stored plan, in the caller's transaction; refuses a plan already
/// applied or made against another state or other rules than the tenant's now
/// (`rules_digest`, see [`plan_standing`]).
pub fn apply(
    conn: &Connection,
    plan: &PlanHeader,
    rules_digest: &str,
    progress: &Progress,
) -> Result<ApplyRecord> {
    plan_standing(conn, plan, rules_digest)?.require_pending(plan)?;
    let mut writer = StateWriter::new(conn, &plan.tenant)?;
    let counts = writer.put_plan_changes(plan.id)?;
    progress.inc(counts.iter().sum());
    progress.finish();
    writer.finish()?;
    record(conn, plan, Via::Apply, counts)
}

/// How an apply came about, stored as `apply` or `push`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Via {
    /// `roster apply`: the whole plan at once.
    Apply,
    /// `roster push`: user by user, as the vendor accepts them.
    Push,
}

impl Via {
    fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Starts the apply of a plan that `roster push` applies user by user as the vendor accepts
/// them (see [`crate::store::follow`]), in the caller's transaction: it applies no user yet,
/// but the plan counts as applied from now on, so it is not applied twice. Refuses what
/// [`apply`] refuses.
pub fn begin_push(conn: &Connection, plan: &PlanHeader, rules_digest: &str) -> Result<ApplyRecord> {
    plan_standing(conn, plan, rules_digest)?.require_pending(plan)?;
    record(conn, plan, Via::Push, [0, 0, 0])
}

/// Records an apply of `plan` with its counts (created, updated, deleted), and does what
/// applying a plan settles: the fingerprints of its unchanged rows are kept, and every other
/// unapplied plan of the tenant is stale now, so the passwords they kept for export go.
fn record(conn: &Connection, plan: &PlanHeader, via: Via, counts: [u64; 3]) -> Result<ApplyRecord> {
    conn.prepare_cached(
        "UPDATE users SET source_fingerprint = f.fingerprint
         FROM plan_fingerprints f
         WHERE f.plan_id = ?1 AND users.tenant = ?2 AND users.external_id = f.external_id",
    )?
    .execute(params![plan.id, plan.tenant])?;
    conn.prepare_cached("DELETE FROM plan_fingerprints WHERE plan_id = ?1")?
        .execute([plan.id])?;
    conn.prepare_cached(
        "DELETE FROM plan_secrets WHERE plan_id IN (
           SELECT p.id FROM plans p LEFT JOIN applies a ON a.plan_id = p.id
           WHERE p.tenant = ?1 AND p.id != ?2 AND a.id IS NULL)",
    )?
    .execute(params![plan.tenant, plan.id])?;
    let applied_at = plans::now();
    let state_after = digest_hex(state::summary(conn, &plan.tenant)?.0);
    let [created, updated, deleted] = counts;
    conn.prepare_cached(
        "INSERT INTO applies (plan_id, tenant, applied_at, created, updated, deleted, state_digest, via)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        plan.id,
        plan.tenant,
        applied_at,
        created,
        updated,
        deleted,
        state_after,
        via.as_str()
    ])?;
    Ok(ApplyRecord {
        id: conn.last_insert_rowid(),
        plan_id: plan.id,
        applied_at,
        created,
        updated,
        deleted,
        kind: kind_label(plan.kind, plan.reverts),
        via: via.as_str().to_string(),
        rolled_back: 0,
    })
}

/// The tenant's applies, oldest first.
pub fn history(conn: &Connection, tenant: &str) -> Result<Vec<ApplyRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.plan_id, a.applied_at, a.created, a.updated, a.deleted, p.kind, p.reverts,
                a.via, (SELECT count(*) FROM rolled_back r WHERE r.apply_id = a.id)
         FROM applies a JOIN plans p ON p.id = a.plan_id WHERE a.tenant = ?1 ORDER BY a.id",
    )?;
    let rows = stmt.query_map([tenant], |r| {
        let kind: String = r.get(6)?;
        let reverts: Option<i64> = r.get(7)?;
        Ok(ApplyRecord {
            id: r.get(0)?,
            plan_id: r.get(1)?,
            applied_at: r.get(2)?,
            created: r.get(3)?,
            updated: r.get(4)?,
            deleted: r.get(5)?,
            kind: kind_label(plans::PlanKind::parse(&kind), reverts),
            via: r.get(8)?,
            rolled_back: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The plan an apply of the tenant applied.
pub fn plan_of(conn: &Connection, tenant: &str, apply_id: i64) -> Result<i64> {
    conn.prepare_cached("SELECT plan_id FROM applies WHERE id = ?1 AND tenant = ?2")?
        .query_row(params![apply_id, tenant], |r| r.get(0))
        .optional()?
        .ok_or_else(|| {
            Error::not_found(
                NotFoundKind::Apply,
                format!(
                "there is no apply {apply_id} for tenant `{tenant}`; `roster history` lists them"
            ),
            )
        })
}

fn kind_label(kind: plans::PlanKind, reverts: Option<i64>) -> String {
    match (kind, reverts) {
        (plans::PlanKind::Revert, Some(id)) => format!("revert of apply {id}"),
        (plans::PlanKind::StateLoad, _) => "state load".to_string(),
        _ => "plan".to_string(),
    }
}
