//! A journal batch made again for sending: its users read from the plan (and, for an eSystems
//! `--sync` batch, the state's users it must list), less those left out, through the same
//! [`Outbox`] as `export`, so the body is the exported file's.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::error::{Error, RefusedKind, Result};
use crate::model::change::Action;
use crate::model::record::Record;
use crate::model::vendor::Vendor;
use crate::store::plans::{self, FingerprintedChange, PlanHeader, StoredChange};
use crate::store::push_journal::JournalBatch;
use crate::store::state;
use crate::vendor::outbox::Outbox;
use crate::vendor::{Batch, ExportUser, Operation};

/// A batch as it is sent now.
pub(super) struct Outgoing {
    /// The payload (its `keys` are the users sent, in order).
    pub batch: Batch,
    /// For each user sent, whether the plan creates it.
    pub creates: Vec<bool>,
    /// For each user sent, `file:line` of its source row.
    pub sources: Vec<Option<String>>,
    /// The plan's changes of the batch's users, by place, as read to make it: following
    /// the vendor's answer needs them again.
    pub changes: HashMap<i64, FingerprintedChange>,
}

/// Makes a push's batches again.
pub(super) struct Maker<'a> {
    /// The plan pushed.
    pub plan: &'a PlanHeader,
    /// The payload maker `export` uses.
    pub outbox: &'a Outbox<'a>,
    /// The place of each of the plan's changes, by key.
    pub seqs: &'a HashMap<String, i64>,
}

impl Maker<'_> {
    /// Whether the batch is an eSystems `DeleteNotExists` request, which deletes every user of
    /// its location that it does not list: a refused update is then sent as the user was
    /// before, never left out.
    fn lists_whole_location(&self) -> bool {
        self.outbox.vendor == Vendor::ESystems && self.plan.sync
    }

    /// Whether the vendor's refusal of `key` can be met by leaving it out (or, in a
    /// `DeleteNotExists` request, by sending it as it was): not for a user the plan leaves
    /// alone, nor one already left out.
    pub(super) fn can_leave_out(
        &self,
        conn: &Connection,
        batch: &JournalBatch,
        key: &str,
    ) -> Result<bool> {
        if batch.removed.contains_key(key) {
            return Ok(false);
        }
        let Some(seq) = self.seqs.get(key) else {
            return Ok(false);
        };
        Ok(!self.lists_whole_location()
            || plans::stored_change_at(conn, self.plan.id, *seq)?
                .is_some_and(|c| matches!(c.action, Action::Create | Action::Update)))
    }

    /// What the batch is made of now, read from the plan and the state (on the thread that
    /// owns the connection); [`Maker::make`] turns it into the request on any thread.
    pub(super) fn read(&self, conn: &Connection, batch: &JournalBatch) -> Result<Unmade> {
        let seqs: Vec<i64> = batch
            .keys
            .iter()
            .chain(&batch.deleted)
            .filter_map(|key| self.seqs.get(key).copied())
            .collect();
        let changes = plans::changes_at(conn, self.plan.id, &seqs)?;
        let mut users = Vec::with_capacity(batch.keys.len() + batch.deleted.len());
        for key in batch.keys.iter().chain(&batch.deleted) {
            let removed = batch.removed.contains_key(key);
            match self.seqs.get(key) {
                Some(seq) => {
                    let change = &changes.get(seq).ok_or_else(|| gone(batch, key))?.change;
                    if !removed {
                        let password = self.outbox.secrets.get(key).cloned();
                        users.push(Unread::Changed(change.clone(), password));
                    } else if self.lists_whole_location() && change.action == Action::Update {
                        users.push(Unread::AsBefore(change.clone()));
                    }
                }
                None => {
                    let user = state::get(conn, &self.plan.tenant, key)?
                        .ok_or_else(|| gone(batch, key))?;
                    users.push(Unread::Unchanged(Box::new(ExportUser::unchanged(
                        key,
                        user.record,
                        user.platform_ids,
                    ))));
                }
            }
        }
        Ok(Unmade {
            users,
            changes,
            seq: batch.seq,
            file: batch.file.clone(),
            path: batch.path.clone(),
        })
    }

    /// The batch as it is sent now, from what [`Maker::read`] read.
    pub(super) fn make(&self, unmade: Unmade) -> Result<Outgoing> {
        let users = unmade
            .users
            .into_iter()
            .map(|user| match user {
                Unread::Changed(change, password) => ExportUser::from_stored(change, password),
                Unread::AsBefore(change) => {
                    let before: Record =
                        change.decode("before", &change.before)?.unwrap_or_default();
                    let ids = change.decode("platform_ids", &change.platform_ids)?;
                    Ok(ExportUser::unchanged(&change.key, before, ids))
                }
                Unread::Unchanged(user) => Ok(*user),
            })
            .collect::<Result<Vec<ExportUser>>>()?;
        let made = self.outbox.remake(&users, unmade.seq)?;
        if made.path != unmade.path {
            return Err(Error::refused(RefusedKind::PushDiverged, format!(
                "batch `{}` of plan {} is now addressed to `{}`, not `{}` as when the push began; plan again",
                unmade.file, self.plan.id, made.path, unmade.path
            )));
        }
        let by_key: HashMap<&str, &ExportUser> =
            users.iter().map(|u| (u.key.as_str(), u)).collect();
        let creates = made
            .keys
            .iter()
            .map(|k| {
                by_key
                    .get(k.as_str())
                    .is_some_and(|u| u.operation == Operation::Create)
            })
            .collect();
        let sources = made
            .keys
            .iter()
            .map(|k| by_key.get(k.as_str()).and_then(|u| u.source.clone()))
            .collect();
        Ok(Outgoing {
            batch: made,
            creates,
            sources,
            changes: unmade.changes,
        })
    }
}

/// A batch's users as read, not decoded yet: decoding them and making the body is most of
/// the work of sending a batch, and needs no connection.
pub(super) struct Unmade {
    users: Vec<Unread>,
    changes: HashMap<i64, FingerprintedChange>,
    seq: usize,
    file: String,
    path: String,
}

/// One user of an [`Unmade`] batch.
enum Unread {
    /// Sent as the plan changes it, with its password if the plan still holds it.
    Changed(StoredChange, Option<String>),
    /// Left out of an eSystems `DeleteNotExists` request that must list it: sent as it was.
    AsBefore(StoredChange),
    /// A user of the state the plan leaves alone.
    Unchanged(Box<ExportUser>),
}

fn gone(batch: &JournalBatch, key: &str) -> Error {
    Error::refused(RefusedKind::PushDiverged, format!(
        "user `{key}` of batch `{}` is no longer in the plan or the state it was made from; plan again",
        batch.file
    ))
}
