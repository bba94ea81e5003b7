//! A stored plan's payload batches, made once for `export` (which writes each body to a file)
//! and for `push` (which sends it): the same code, so the two never send different bytes.
//!
//! Batches are made in chunks on worker threads while this thread reads the next changes, so a
//! million-user plan never sits in memory; each body goes to a [`Keep`] on the thread that
//! made it, and the manifest entries come back in order. `push` makes a single batch again
//! with [`Outbox::remake`] when it sends it.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::manifest::ManifestFile;
pub use super::partition::Partition;
use super::{Batch, Context, ExportUser, Hook, Vendor};
use crate::error::{Error, RefusedKind, Result};
use crate::overlap::Overlap;
use crate::rules::Evaluators;
use crate::store::plans::{self, PlanHeader, StoredChange};
use crate::store::standing::Standing;
use crate::store::state;

/// Users exported together: enough to amortise the per-call work, few enough to keep a
/// million-user export in tens of megabytes.
const EXPORT_CHUNK_USERS: usize = 10_000;

/// Users per chunk when only the partition is wanted (`push`, no bodies): making a chunk is
/// cheap then, and what stays in memory is the stored changes read ahead, so smaller chunks
/// keep a push's start under its memory target.
const PARTITION_CHUNK_USERS: usize = 500;

/// Takes each batch's file name and body as it is made, on the thread that made it.
pub type Keep<'k> = dyn Fn(&str, &[u8]) -> Result<()> + Sync + 'k;

/// What turning a plan's changes into payloads needs.
pub struct Outbox<'a> {
    /// The platform.
    pub vendor: Vendor,
    /// The context of the plan's first batch.
    pub context: Context<'a>,
    /// The plain passwords the plan still holds, by key.
    pub secrets: &'a HashMap<String, String>,
    /// The tenant's rules, for the export hooks.
    pub evaluators: Evaluators,
}

/// The batches made from a run of changes, and what is reported about them.
#[derive(Debug, Default)]
pub struct Written {
    /// Their manifest entries, in order.
    pub files: Vec<ManifestFile>,
    /// How many of their items set a password.
    pub passwords: usize,
    /// What the vendor cannot express that was sent another way.
    pub warnings: Vec<String>,
    /// How many of the plan's changes the batches hold.
    pub changes: usize,
    /// Passwords the plan sets that an earlier export already wiped.
    pub wiped_passwords: usize,
}

impl Written {
    /// Adds the batches of the next run of changes.
    fn add(&mut self, next: Written) {
        self.files.extend(next.files);
        self.passwords += next.passwords;
        self.warnings.extend(next.warnings);
        self.changes += next.changes;
        self.wiped_passwords += next.wiped_passwords;
    }
}

impl Outbox<'_> {
    /// Makes every batch of the plan, in order: each body goes to `keep`, and each run of
    /// batches to `record` (on this thread, in order). `standing` is the plan's (a `--sync`
    /// eSystems plan sends the state's remaining users, which must be current).
    pub fn make_all(
        &self,
        conn: &rusqlite::Connection,
        plan: &PlanHeader,
        standing: Standing,
        keep: &Keep,
        record: &mut dyn FnMut(Written),
    ) -> Result<()> {
        let maker = Maker { outbox: self, keep };
        if self.vendor == Vendor::ESystems {
            make_whole(conn, plan, standing, &maker, record)
        } else {
            make_in_chunks(conn, plan, &maker, record)
        }
    }

    /// The plan's batches without their bodies, in order: the partition `push` fixes when it
    /// begins, with the same refusals and warnings as [`Outbox::make_all`]. A ServicePower
    /// plan without an export hook is cut by its keys alone, as its batches are runs of
    /// `batch_size` changes in order whatever the users hold.
    pub fn partition(
        &self,
        conn: &rusqlite::Connection,
        plan: &PlanHeader,
        standing: Standing,
    ) -> Result<Partition> {
        let hooked = self
            .evaluators
            .with(|evaluator| evaluator.has_export_hook(self.vendor.name()));
        if self.vendor == Vendor::ServicePower && !hooked {
            let size = self.context.batch_size;
            return super::partition::servicepower(conn, plan, size, self.secrets);
        }
        let mut partition = Partition::default();
        self.make_all(conn, plan, standing, &|_, _| Ok(()), &mut |written| {
            partition.wiped_passwords += written.wiped_passwords;
            partition.warnings.extend(written.warnings);
            partition.files.extend(written.files);
        })?;
        Ok(partition)
    }

    /// Makes batch `seq` of the plan again from its users, in its order, with its body: it
    /// must come out as one batch, as [`Outbox::make_all`] made it.
    pub fn remake(&self, users: &[ExportUser], seq: usize) -> Result<Batch> {
        let context = Context {
            first_batch: seq,
            bodies: true,
            ..self.context
        };
        let mut export = self.export(users, &context)?;
        match export.batches.len() {
            1 => Ok(export.batches.remove(0)),
            n => Err(Error::refused(RefusedKind::PushDiverged, format!(
                "batch {} of plan {} came out as {n} batches when made again; the plan's payloads changed since the push began",
                seq + 1,
                self.context.plan_id
            ))),
        }
    }

    /// The vendor's payloads for `users`, each item through the tenant's export hook.
    fn export(&self, users: &[ExportUser], context: &Context) -> Result<super::Export> {
        self.with_hook(|hook| super::export(self.vendor, users, context, hook))
    }

    /// Runs `work` with the tenant's export hook for the vendor, if it has one.
    fn with_hook<T>(&self, work: impl FnOnce(Option<&mut Hook>) -> T) -> T {
        let vendor = self.vendor.name();
        self.evaluators.with(|evaluator| {
            let hooked = evaluator.has_export_hook(vendor);
            let mut hook =
                |user: &ExportUser, item| evaluator.export_hook(vendor, || user.hook_user(), item);
            work(if hooked { Some(&mut hook) } else { None })
        })
    }
}

/// Makes the whole plan at once: eSystems puts each location's users in the same batches, and
/// a `--sync` plan adds every remaining user of the state, read as the files are made.
fn make_whole(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    standing: Standing,
    maker: &Maker,
    record: &mut dyn FnMut(Written),
) -> Result<()> {
    let mut changes = Vec::new();
    plans::for_each_stored_change(conn, plan.id, |change| {
        changes.push(change);
        Ok(())
    })?;
    if plan.sync {
        require_current(plan, standing)?;
        record(maker.make_sync(conn, plan, changes)?);
    } else {
        record(maker.make(changes, 0)?);
    }
    Ok(())
}

/// Makes the plan's batches a chunk at a time: the chunks of a round are made on the worker
/// threads while this thread reads the next round. Batches are consecutive runs of the
/// changes, so every chunk but the last makes the same number of batches, and each chunk
/// knows the number of its first.
fn make_in_chunks(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    maker: &Maker,
    record: &mut dyn FnMut(Written),
) -> Result<()> {
    let batch_size = maker.outbox.context.batch_size;
    let chunk_users = if maker.outbox.context.bodies {
        EXPORT_CHUNK_USERS
    } else {
        PARTITION_CHUNK_USERS
    };
    let files_per_chunk = (chunk_users / batch_size).max(1);
    let chunk_size = batch_size * files_per_chunk;
    let round_size = rayon::current_num_threads().max(1);
    std::thread::scope(|scope| -> Result<()> {
        let mut overlap = Overlap::new(scope);
        let mut chunks_handed = 0;
        let mut hand_over = |round: Option<Vec<Vec<StoredChange>>>,
                             record: &mut dyn FnMut(Written)| {
            let job = round.map(|round| {
                let first_chunk = chunks_handed;
                chunks_handed += round.len();
                move || {
                    let make = |(n, chunk)| {
                        let first_batch = (first_chunk + n) * files_per_chunk;
                        maker.make_batch_by_batch(chunk, first_batch)
                    };
                    let done: Vec<Result<Written>> =
                        round.into_par_iter().enumerate().map(make).collect();
                    done.into_iter().collect::<Result<Vec<_>>>()
                }
            });
            for written in overlap.hand_over(job)?.into_iter().flatten() {
                record(written);
            }
            Ok(())
        };
        let mut round = Vec::with_capacity(round_size);
        let mut chunk = Vec::with_capacity(chunk_size);
        plans::for_each_stored_change(conn, plan.id, |change| {
            chunk.push(change);
            if chunk.len() == chunk_size {
                round.push(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(chunk_size),
                ));
                if round.len() == round_size {
                    hand_over(Some(std::mem::take(&mut round)), record)?;
                }
            }
            Ok(())
        })?;
        if !chunk.is_empty() {
            round.push(chunk);
        }
        if !round.is_empty() {
            hand_over(Some(round), record)?;
        }
        hand_over(None, record)
    })
}

/// Turns stored changes into batches; shared by the worker threads.
struct Maker<'o, 'k> {
    outbox: &'o Outbox<'o>,
    keep: &'k Keep<'k>,
}

impl Maker<'_, '_> {
    /// Makes the batches of a run of changes one at a time, the first numbered `first_batch`
    /// (0-based): a batch's users are decoded, kept and dropped while they are still in the
    /// cache, and a chunk never holds all its decoded users at once.
    fn make_batch_by_batch(
        &self,
        changes: Vec<StoredChange>,
        first_batch: usize,
    ) -> Result<Written> {
        let mut changes = changes.into_iter();
        let mut written = Written::default();
        for number in first_batch.. {
            let batch: Vec<StoredChange> = changes
                .by_ref()
                .take(self.outbox.context.batch_size)
                .collect();
            if batch.is_empty() {
                break;
            }
            written.add(self.make(batch, number)?);
        }
        Ok(written)
    }

    /// Makes the batches of a run of changes, the first numbered `first_batch` (0-based).
    fn make(&self, changes: Vec<StoredChange>, first_batch: usize) -> Result<Written> {
        let (users, wiped_passwords) = self.users_of(changes)?;
        let changed = users.len();
        let context = Context {
            first_batch,
            ..self.outbox.context
        };
        let export = self.outbox.export(&users, &context)?;
        self.written(export, first_batch, changed, wiped_passwords)
    }

    /// Makes the files of an eSystems `--sync` plan, each location's remaining users read
    /// from the state as its file is made (see [`super::esystems::sync_batches`]).
    fn make_sync(
        &self,
        conn: &rusqlite::Connection,
        plan: &PlanHeader,
        changes: Vec<StoredChange>,
    ) -> Result<Written> {
        let (users, wiped_passwords) = self.users_of(changes)?;
        let changed: HashSet<&str> = users.iter().map(|u| u.key.as_str()).collect();
        let mut remaining = |visit: &mut dyn FnMut(ExportUser) -> Result<()>| {
            state::for_each_text(conn, &plan.tenant, |key, record, ids| {
                if changed.contains(key) {
                    return Ok(());
                }
                visit(ExportUser::unchanged_from_text(key, record, ids)?)
            })
        };
        let outbox = self.outbox;
        let context = &outbox.context;
        let limit = context.settings.esystems_max_request_bytes;
        let mut export = super::Export::default();
        export.batches = outbox.with_hook(|hook| {
            super::esystems::sync_batches(
                &users,
                context,
                hook,
                &mut remaining,
                limit,
                &mut export.warnings,
            )
        })?;
        self.written(export, 0, users.len(), wiped_passwords)
    }

    /// The users of stored changes, with their passwords, and how many passwords the plan
    /// sets that an earlier export already wiped.
    fn users_of(&self, changes: Vec<StoredChange>) -> Result<(Vec<ExportUser>, usize)> {
        let mut wiped_passwords = 0;
        let users = changes
            .into_iter()
            .map(|stored| {
                let password = self.outbox.secrets.get(&stored.key).cloned();
                let user = ExportUser::from_stored(stored, password)?;
                if user.password.is_none() && user.plan_sets_password() {
                    wiped_passwords += 1;
                }
                Ok(user)
            })
            .collect::<Result<_>>()?;
        Ok((users, wiped_passwords))
    }

    /// Hands each made body to `keep` and lists the files; the first is `first_batch`.
    fn written(
        &self,
        export: super::Export,
        first_batch: usize,
        changes: usize,
        wiped_passwords: usize,
    ) -> Result<Written> {
        let mut files = Vec::with_capacity(export.batches.len());
        let mut passwords = 0;
        for (number, batch) in (first_batch..).zip(export.batches) {
            let file = super::file_name(self.outbox.vendor, number);
            (self.keep)(&file, &batch.body)?;
            passwords += batch.passwords;
            files.push(ManifestFile {
                file,
                plan_id: 0,
                method: batch.method.to_string(),
                path: batch.path,
                counts: batch.counts,
                keys: batch.keys,
                deleted_by_sync: batch.deleted_by_sync,
            });
        }
        Ok(Written {
            files,
            passwords,
            warnings: export.warnings,
            changes,
            wiped_passwords,
        })
    }
}

/// Refuses to send a stale plan's `--sync`: eSystems' `DeleteNotExists` deletes every user of
/// a location missing from the request, so the remaining users, read from the state, must
/// be those of the state the plan was made against, or the one its apply left: not even
/// `--force` exports a stale plan's sync.
fn require_current(plan: &PlanHeader, standing: Standing) -> Result<()> {
    if standing.is_stale() {
        return Err(Error::refused(RefusedKind::Stale, format!(
            "plan {} is stale: the state of tenant `{}` changed since it was made, and an eSystems `--sync` export must list every remaining user of each location; plan again with `roster plan FILE… --sync`",
            plan.id, plan.tenant
        )));
    }
    Ok(())
}
