//! `roster push`: a stored plan's batches sent to the vendor's API, resumably and exactly
//! once, with the vendor's answers recorded and the state following them.
//!
//! - The batches are the ones `export` writes ([`crate::vendor::outbox`]); their partition is
//!   kept in the workspace's push journal when the push begins, and every later run checks
//!   that the plan still makes exactly those batches.
//! - A plan not applied yet is applied by the push itself, user by user as the vendor accepts
//!   them, in one apply marked `push` ([`crate::store::applies::begin_push`]). A plan already
//!   applied (the export-after-apply flow) stays applied, and the users the vendor does not
//!   load are rolled back to their record from before ([`crate::store::follow`]).
//!
//! The modules, by job: [`credentials`] (from the environment), [`auth`] (headers and the
//! eSystems token), [`client`] (HTTP, TLS, proxy, timeouts), [`retry`] (when and how long to
//! wait), [`form`] (the safe form of a batch sent again), [`verdict`] (what an answer means),
//! and the run loop with its sender threads and batch maker.

pub mod auth;
pub mod client;
pub mod credentials;
pub mod form;
mod outgoing;
pub mod retry;
mod run;
mod send;
pub mod verdict;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, RefusedKind, Result};
use crate::model::vendor::Vendor;
use crate::progress::Progress;
use crate::rules::{RefTables, RulePack};
use crate::store::plans::{self, PlanHeader, PlanKind};
use crate::store::push_journal::{self, BatchStatus, JournalBatch, Push};
use crate::store::standing::{plan_standing, Standing};
use crate::store::vendor_results::{self, VendorResult};
use crate::store::{applies, refs, Workspace};
use crate::vendor::esystems::LocationField;
use crate::vendor::outbox::Outbox;
use crate::vendor::Context;

pub use auth::Authorizer;
pub use client::{Client, ClientOptions};
pub use credentials::Credentials;
pub use retry::RetryPolicy;

/// What a push is asked to do.
pub struct Options<'a> {
    /// The vendor.
    pub vendor: Vendor,
    /// The base URL, without a final `/`.
    pub endpoint: &'a str,
    /// Users per batch (`None`: as the push began, else the vendor's default).
    pub batch_size: Option<usize>,
    /// The Field Squared workspace (`None`: as the push began, else the tenant's).
    pub workspace: Option<&'a str>,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// Retries per batch and their spacing.
    pub policy: RetryPolicy,
    /// The connection pool.
    pub client: &'a Client,
    /// The credentials.
    pub auth: &'a Authorizer,
    /// Whether progress is drawn.
    pub progress: bool,
    /// How eSystems' `LocationId` names the tenant's locations.
    pub locations: &'a LocationField,
}

/// Where a push stands after a run: what `--output json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The plan.
    pub plan_id: i64,
    /// The vendor.
    pub vendor: Vendor,
    /// The batches.
    pub batches: BatchCounts,
    /// The users, by the vendor's last word (`failed`: in a batch not delivered yet).
    pub users: UserCounts,
    /// Requests this run sent.
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// Every batch was acknowledged before this run: it sent nothing.
    #[serde(skip)]
    pub already_done: bool,
    /// Why the vendor refused the credentials, if it did.
    #[serde(skip)]
    pub refused: Option<String>,
    /// The last failure of each batch not delivered.
    #[serde(skip)]
    pub failures: Vec<(String, String)>,
    /// What the vendor cannot express that was sent another way.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The users recorded `rejected` or `failed`: what [`refused_users`] lists.
    #[serde(skip)]
    pub refused_recorded: u64,
}

/// Batches by how far they got.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct BatchCounts {
    /// All of them.
    pub total: u64,
    /// The vendor's word on each user is recorded.
    pub acknowledged: u64,
    /// Not delivered yet (the next push sends them).
    pub failed: u64,
}

/// Users by the vendor's last word.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct UserCounts {
    /// Loaded.
    pub accepted: u64,
    /// Loaded, with a message.
    pub warning: u64,
    /// Refused by the vendor, named.
    pub rejected: u64,
    /// In batches not delivered yet.
    pub failed: u64,
}

/// Sends the plan's batches not acknowledged yet; see the module's description.
pub fn push(
    workspace: &mut Workspace,
    plan: &PlanHeader,
    pack: &RulePack,
    options: &Options,
) -> Result<Report> {
    let vendor = options.vendor;
    if plan.kind == PlanKind::StateLoad {
        return Err(Error::refused(RefusedKind::NothingToPush, format!(
            "plan {} loads a vendor's export as the state: it changes roster's state only, so there is nothing to push",
            plan.id
        )));
    }
    let standing = plan_standing(&workspace.conn, plan, pack.digest())?;
    standing.require_exportable(plan, false)?;
    let journal = push_journal::find(&workspace.conn, plan.id, vendor.name())?;
    let (batch_size, fs_workspace) = resolve(options, journal.as_ref())?;
    let secrets = plans::secrets(&workspace.conn, plan.id)?;
    let refs = Arc::new(RefTables::new(refs::all(&workspace.conn, &plan.tenant)?));
    let outbox = Outbox {
        vendor,
        context: Context {
            plan_id: plan.id,
            sync: plan.sync,
            batch_size,
            settings: pack.settings(),
            workspace: fs_workspace.as_deref(),
            first_batch: 0,
            locations: options.locations,
            bodies: false,
        },
        secrets: &secrets,
        evaluators: pack.evaluators(refs)?,
    };
    let (made, warnings, wiped, seqs) = partition(&workspace.conn, plan, standing, &outbox)?;
    let push = match journal {
        Some(push) => {
            let recorded = push_journal::batches(&workspace.conn, &push)?;
            let same = recorded.len() == made.len()
                && recorded.iter().zip(&made).all(|(r, m)| {
                    (&r.file, &r.path, &r.keys, &r.deleted)
                        == (&m.file, &m.path, &m.keys, &m.deleted)
                });
            if !same {
                return Err(Error::refused(RefusedKind::PushDiverged, format!(
                    "plan {} no longer makes the batches its push to {vendor} began with; plan again",
                    plan.id
                )));
            }
            push
        }
        None => {
            let tx = workspace.write()?;
            let apply_id = match standing {
                Standing::Applied { apply } => apply,
                _ => applies::begin_push(&tx, plan, pack.digest())?.id,
            };
            let push = Push {
                plan_id: plan.id,
                vendor: vendor.name().to_string(),
                apply_id,
                batch_size,
                workspace: fs_workspace.clone(),
            };
            push_journal::begin(&tx, &push, &made)?;
            tx.commit()?;
            push
        }
    };
    // The journal holds the batches now; the partition's copy of every key goes.
    drop(made);
    if wiped > 0 {
        eprintln!(
            "warning: plan {} sets {wiped} password(s) that an earlier export already sent and wiped; this push leaves those passwords unchanged",
            plan.id
        );
    }
    let mut batches = push_journal::batches(&workspace.conn, &push)?;
    let open = batches
        .iter()
        .filter(|b| b.status != BatchStatus::Acknowledged)
        .count();
    let ran = if open == 0 {
        run::Ran::default()
    } else {
        let seqs = match seqs {
            Some(seqs) => seqs,
            None => plans::change_seqs(&workspace.conn, plan.id)?,
        };
        let maker = outgoing::Maker {
            plan,
            outbox: &outbox,
            seqs: &seqs,
        };
        let progress = Progress::bar_with_status("pushing", open as u64, options.progress);
        let sender = send::Sender {
            client: options.client,
            auth: options.auth,
            policy: options.policy,
            progress: &progress,
            pause: Mutex::new(Instant::now()),
        };
        let run = run::Run {
            push: &push,
            vendor,
            endpoint: options.endpoint,
            concurrency: options.concurrency.max(1),
            maker: &maker,
            sender: &sender,
        };
        let ran = run.run(workspace, &mut batches);
        progress.finish();
        ran?
    };
    let counts = vendor_results::counts_of(&workspace.conn, plan.id, vendor)?;
    let undelivered: Vec<&JournalBatch> = batches
        .iter()
        .filter(|b| b.status != BatchStatus::Acknowledged)
        .collect();
    Ok(Report {
        plan_id: plan.id,
        vendor,
        batches: BatchCounts {
            total: batches.len() as u64,
            acknowledged: (batches.len() - undelivered.len()) as u64,
            failed: undelivered.len() as u64,
        },
        users: UserCounts {
            accepted: counts.accepted,
            warning: counts.warning,
            rejected: counts.rejected,
            failed: undelivered
                .iter()
                .map(|b| {
                    b.keys
                        .iter()
                        .filter(|k| !b.removed.contains_key(*k))
                        .count() as u64
                })
                .sum(),
        },
        requests: ran.requests,
        retries: ran.retries,
        already_done: open == 0,
        refused: ran.refused,
        failures: undelivered
            .iter()
            .map(|b| {
                (
                    b.file.clone(),
                    b.message.clone().unwrap_or_else(|| "not sent".into()),
                )
            })
            .collect(),
        warnings,
        refused_recorded: counts.rejected + counts.failed,
    })
}

/// The users the vendor refused, and those of batches not delivered, as recorded.
pub fn refused_users(workspace: &Workspace, report: &Report) -> Result<Vec<VendorResult>> {
    // A push the vendor took whole has none to list: no second scan of its results.
    if report.refused_recorded == 0 {
        return Ok(Vec::new());
    }
    vendor_results::of_plan(&workspace.conn, report.plan_id, report.vendor, true)
}

/// The batch size and Field Squared workspace: as the push began (a different one asked for
/// now is an error), else as asked, else the defaults.
fn resolve(options: &Options, journal: Option<&Push>) -> Result<(usize, Option<String>)> {
    let asked_size = options.batch_size;
    let asked_workspace = options.workspace.map(str::to_string);
    let Some(push) = journal else {
        return Ok((
            asked_size.unwrap_or(options.vendor.default_batch_size()),
            asked_workspace,
        ));
    };
    if asked_size.is_some_and(|size| size != push.batch_size) {
        return Err(Error::Usage(format!(
            "the push of plan {} to {} began with `--batch-size {}`; resume it with that size (or without `--batch-size`)",
            push.plan_id, options.vendor, push.batch_size
        )));
    }
    if asked_workspace.is_some() && asked_workspace != push.workspace {
        return Err(Error::Usage(format!(
            "the push of plan {} to {} began with another `--workspace`; resume it with the same one (or without `--workspace`)",
            push.plan_id, options.vendor
        )));
    }
    Ok((push.batch_size, push.workspace.clone()))
}

/// What [`partition`] gives.
type Partitioned = (
    Vec<JournalBatch>,
    Vec<String>,
    usize,
    Option<HashMap<String, i64>>,
);

/// The plan's batches as `export` makes them (without their bodies), the warnings, how many
/// passwords an earlier export already wiped, and the place of each change by key if the
/// partition read them.
fn partition(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    standing: Standing,
    outbox: &Outbox,
) -> Result<Partitioned> {
    let partition = outbox.partition(conn, plan, standing)?;
    let made = partition
        .files
        .into_iter()
        .enumerate()
        .map(|(seq, file)| {
            JournalBatch::pending(
                seq,
                file.file,
                file.method,
                file.path,
                file.keys,
                file.deleted_by_sync,
            )
        })
        .collect();
    Ok((
        made,
        partition.warnings,
        partition.wiped_passwords,
        partition.seqs,
    ))
}
