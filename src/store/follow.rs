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

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::Result;
use crate::model::change::Action;
use crate::model::record::digest_hex;
use crate::store::plans::{self, FingerprintedChange};
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
    let verdicts: Vec<(i64, bool)> = verdicts.into_iter().collect();
    let seqs: Vec<i64> = verdicts.iter().map(|v| v.0).collect();
    let changes = plans::changes_at(conn, plan_id, &seqs)?;
    let verdicts = verdicts
        .iter()
        .filter_map(|(seq, loaded)| Some((changes.get(seq)?, *loaded)));
    follow_changes(conn, tenant, apply_id, vendor, verdicts)
}

/// As [`follow`], for changes already read (a push has read them to make the batch): each
/// `(change, loaded)` is a change of the plan applied by `apply_id`, as stored.
pub fn follow_changes<'c>(
    conn: &Connection,
    tenant: &str,
    apply_id: i64,
    vendor: &str,
    verdicts: impl IntoIterator<Item = (&'c FingerprintedChange, bool)>,
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
    for (planned, loaded) in verdicts {
        let change = &planned.change;
        // Read as each change is followed, so it is the state's record even where an
        // answer names a user twice.
        let current = current_record(conn, tenant, &change.key)?;
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
                // The before record going back has no places kept: it is put without.
                let (ids, fingerprint, places) = if loaded {
                    (
                        change.platform_ids.as_deref(),
                        planned.fingerprint.as_deref(),
                        planned.after_places.as_deref(),
                    )
                } else {
                    let ids = current.as_ref().and_then(|c| c.1.as_deref());
                    (ids.or(change.platform_ids.as_deref()), None, None)
                };
                writer.put(
                    &change.key,
                    current_text,
                    (record, places),
                    ids,
                    fingerprint,
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

/// The state's record (as text) and platform ids of the user, if it holds it.
fn current_record(
    conn: &Connection,
    tenant: &str,
    key: &str,
) -> Result<Option<(String, Option<String>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT record, platform_ids FROM users WHERE tenant = ?1 AND external_id = ?2",
        )?
        .query_row(params![tenant, key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
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
