//! The state follows the vendor. Once a vendor has answered for the users of an applied plan
//! (`roster results`, `roster push`), each of them is held in the state as the plan's change
//! left it when the vendor loaded it, and as it was before the change when the vendor did
//! not (rejected, or its batch failed): the state never claims what the vendor refused, and
//! the next plan of the same input shows those users again.
//!
//! A user is moved only between the two records of its change: one that a later change holds
//! is left alone. Moving back to the record before is always safe then; moving forward (a
//! user loaded after all) only while the plan's apply is still the state's latest, since a
//! later apply may have planned on the user's absence. Every move keeps the apply's counts
//! and the `rolled_back` table true, and is recorded in the caller's transaction.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::Result;
use crate::model::change::Action;
use crate::model::record::digest_hex;
use crate::store::plans;
use crate::store::state::{self, StateWriter};

/// What following the vendor did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Followed {
    /// Users moved to their change's record (the vendor loaded them).
    pub applied: u64,
    /// Users moved back to their record from before (the vendor did not load them).
    pub rolled_back: u64,
    /// Users left as they are: a later change holds them, or a later apply came since.
    pub skipped: u64,
}

/// Makes the state follow the vendor's word on users of the plan applied by `apply_id`:
/// each `(seq, loaded)` names a change of the plan by its place and says whether the vendor
/// loaded it.
pub fn follow(
    conn: &Connection,
    plan_id: i64,
    tenant: &str,
    apply_id: i64,
    vendor: &str,
    verdicts: impl IntoIterator<Item = (i64, bool)>,
) -> Result<Followed> {
    let digest_before = digest_hex(state::summary(conn, tenant)?.0);
    let apply_digest: Option<String> = conn
        .prepare_cached("SELECT state_digest FROM applies WHERE id = ?1")?
        .query_row([apply_id], |r| r.get(0))
        .optional()?
        .flatten();
    let latest = apply_digest.as_deref() == Some(digest_before.as_str());
    let mut writer = StateWriter::new(conn, tenant)?;
    let mut followed = Followed::default();
    let now = plans::now();
    // Most applies have no user rolled back: then moving one forward has nothing to clear.
    let mut any_rolled_back: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM rolled_back WHERE apply_id = ?1)")?
        .query_row([apply_id], |r| r.get(0))?;
    // Changes of the apply's counts: created, updated, deleted.
    let mut counts = [0i64; 3];
    let verdicts: Vec<(i64, bool)> = verdicts.into_iter().collect();
    let mut changes = changes_at(conn, plan_id, tenant, verdicts.iter().map(|v| v.0))?;
    for (seq, loaded) in verdicts {
        let Some(mut change) = changes.remove(&seq) else {
            continue;
        };
        let current = change.current.take();
        let (target, other) = if loaded {
            (&change.after, &change.before)
        } else {
            (&change.before, &change.after)
        };
        let holds = |record: &Option<String>| same(current.as_ref().map(|c| &c.0), record);
        if holds(target) || !holds(other) || (loaded && !latest) {
            followed.skipped += u64::from(!holds(target));
            continue;
        }
        let current_text = current.as_ref().map(|c| c.0.as_str());
        // One prepared upsert per user: an `INSERT … SELECT` of a batch's changes from the
        // plan was measured no faster, as the B-tree inserts cost the same and the plan's
        // rows are read a second time.
        match target {
            Some(record) => {
                let (ids, fingerprint) = if loaded {
                    (change.platform_ids.clone(), change.fingerprint.clone())
                } else {
                    let ids = current.as_ref().and_then(|c| c.1.clone());
                    (ids.or(change.platform_ids.clone()), None)
                };
                writer.put(
                    &change.key,
                    current_text,
                    record,
                    ids.as_deref(),
                    fingerprint.as_deref(),
                )?;
            }
            None => writer.delete(&change.key, current_text.unwrap_or("{}"))?,
        }
        let column = match change.action {
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
        };
        counts[column] += if loaded { 1 } else { -1 };
        if loaded {
            if any_rolled_back {
                conn.prepare_cached(
                    "DELETE FROM rolled_back WHERE apply_id = ?1 AND external_id = ?2",
                )?
                .execute(params![apply_id, change.key])?;
            }
            followed.applied += 1;
        } else {
            any_rolled_back = true;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO rolled_back (apply_id, external_id, vendor, rolled_back_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![apply_id, change.key, vendor, now])?;
            followed.rolled_back += 1;
        }
    }
    writer.finish()?;
    if counts != [0; 3] {
        conn.prepare_cached(
            "UPDATE applies SET created = created + ?2, updated = updated + ?3,
                    deleted = deleted + ?4 WHERE id = ?1",
        )?
        .execute(params![apply_id, counts[0], counts[1], counts[2]])?;
    }
    if latest {
        // The apply still describes the state: its plan stays applied, not stale.
        let digest_after = digest_hex(state::summary(conn, tenant)?.0);
        conn.prepare_cached("UPDATE applies SET state_digest = ?2 WHERE id = ?1")?
            .execute(params![apply_id, digest_after])?;
    }
    Ok(followed)
}

/// One change of a plan, its records as stored, with its user as the state holds it now.
struct StoredRecords {
    action: Action,
    key: String,
    before: Option<String>,
    after: Option<String>,
    platform_ids: Option<String>,
    fingerprint: Option<Vec<u8>>,
    /// The state's record (as text) and platform ids of the user, if it holds it.
    current: Option<(String, Option<String>)>,
}

/// The plan's changes at the places `seqs`, by place, each with its user's current record in
/// the same read: one range when they sit together in the plan (the users of one batch
/// mostly do), else one by one. A plan changes each user once, so the records read here stay
/// current while the changes are followed one after the other.
fn changes_at(
    conn: &Connection,
    plan_id: i64,
    tenant: &str,
    seqs: impl Iterator<Item = i64> + Clone,
) -> Result<HashMap<i64, StoredRecords>> {
    const COLUMNS: &str = "SELECT c.action, c.external_id, c.before, c.after, c.platform_ids,
                                  c.source_fingerprint, u.record, u.platform_ids, c.seq
                           FROM plan_changes c
                           LEFT JOIN users u ON u.tenant = ?2 AND u.external_id = c.external_id";
    let count = seqs.clone().count() as i64;
    let mut changes = HashMap::with_capacity(count as usize);
    let (Some(first), Some(last)) = (seqs.clone().min(), seqs.clone().max()) else {
        return Ok(changes);
    };
    if last - first < 2 * count {
        let wanted: HashSet<i64> = seqs.collect();
        let mut stmt = conn.prepare_cached(&format!(
            "{COLUMNS} WHERE c.plan_id = ?1 AND c.seq BETWEEN ?3 AND ?4"
        ))?;
        let mut rows = stmt.query(params![plan_id, tenant, first, last])?;
        while let Some(row) = rows.next()? {
            let seq = row.get(8)?;
            if wanted.contains(&seq) {
                changes.insert(seq, stored_records(row)?);
            }
        }
    } else {
        let mut stmt =
            conn.prepare_cached(&format!("{COLUMNS} WHERE c.plan_id = ?1 AND c.seq = ?3"))?;
        for seq in seqs {
            if let Some(change) = stmt
                .query_row(params![plan_id, tenant, seq], stored_records)
                .optional()?
            {
                changes.insert(seq, change);
            }
        }
    }
    Ok(changes)
}

fn stored_records(r: &rusqlite::Row) -> rusqlite::Result<StoredRecords> {
    let record: Option<String> = r.get(6)?;
    Ok(StoredRecords {
        action: Action::parse(&r.get::<_, String>(0)?).unwrap_or(Action::Update),
        key: r.get(1)?,
        before: r.get(2)?,
        after: r.get(3)?,
        platform_ids: r.get(4)?,
        fingerprint: r.get(5)?,
        current: match record {
            Some(record) => Some((record, r.get(7)?)),
            None => None,
        },
    })
}

/// Whether the state's record is the change's record (both absent counts): as text, else as
/// JSON, so a record written in another key order is still recognised.
fn same(stored: Option<&String>, record: &Option<String>) -> bool {
    match (stored, record) {
        (None, None) => true,
        (Some(stored), Some(record)) => {
            stored == record
                || matches!(
                    (serde_json::from_str::<Value>(stored), serde_json::from_str::<Value>(record)),
                    (Ok(a), Ok(b)) if a == b
                )
        }
        _ => false,
    }
}
