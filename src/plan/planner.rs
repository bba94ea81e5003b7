//! The planner: rows → rules → keyed diff against the stored state → changes. A check
//! (`rules check --data`) runs the same stages up to the diff and reports problems.
//!
//! The stages have a file each: `pipeline.rs` (reading and evaluating in chunks), `settle.rs`
//! (keys, `Unique`, the diff), with `seen.rs` and `unique.rs` for what settling remembers.
//! The stored users come from a [`StoredState`] and the findings go to an [`Outlet`];
//! `store::planning` plugs the workspace into both.
//!
//! Rows are read in chunks on a reader thread; each chunk is run through the rules in
//! parallel (one evaluator per worker thread), then settled in input order on the calling
//! thread, because duplicate keys, `Unique` and the diff depend on the rows before. Changes
//! are written as they are found, so memory holds a few chunks and the key index, never the
//! whole input.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, RefusedKind, Result};
use crate::model::user::Field;
use crate::plan::fingerprint::Fingerprints;
use crate::plan::outlet::Outlet;
use crate::plan::pipeline::{settle_all, Kept, Sources};
use crate::plan::seen::FirstSeen;
use crate::plan::settle::Settler;
use crate::plan::stored::{NothingStored, StoredState};
use crate::plan::summary::{Guard, Input, PlanKind, Summary};
use crate::plan::unique::UniqueIndex;
use crate::progress::Progress;
use crate::read::ReadOptions;
use crate::rules::{MapProbe, RefTables, RulePack};

/// Below this share of deletes no confirmation is asked (a mistyped file must never wipe a
/// customer; see `docs/architecture.md`).
pub const DEFAULT_MAX_DELETE_PERCENT: f64 = 20.0;

/// Tenants smaller than this are not protected by the delete threshold.
pub const MASS_DELETE_MIN_USERS: u64 = 100;

/// What to plan.
pub struct PlanRequest<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// Source files (`-` for stdin).
    pub inputs: &'a [String],
    /// How to read them.
    pub read: ReadOptions,
    /// Delete stored users absent from the input.
    pub sync: bool,
    /// The largest share of the tenant's users the plan may delete.
    pub max_delete_percent: Option<f64>,
    /// Where to count rows as they are planned.
    pub progress: Progress,
    /// A plan of source files, or a state load of a vendor's export.
    pub kind: PlanKind,
}

/// A stored plan's id and counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// The plan's id.
    pub id: i64,
    /// What it does.
    pub summary: Summary,
    /// Rows whose fingerprint named a stored user, so the rules did not run on them.
    pub reused: u64,
    /// Rows whose fingerprint named a rejection the rules made before, so they did not run
    /// on them.
    pub remembered: u64,
}

/// What planning found besides its changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The inputs read.
    pub inputs: Vec<Input>,
    /// What the plan does.
    pub summary: Summary,
    /// Rows whose fingerprint named a stored user, so the rules did not run on them.
    pub reused: u64,
    /// Rows whose fingerprint named a rejection the rules made before, so they did not run
    /// on them.
    pub remembered: u64,
}

/// Plans `request` against `state`: every change, fingerprint, secret, problem and rejected
/// row goes to `outlet`, in input order. The mass-delete guard is the caller's to check
/// ([`delete_guard`], [`check_mass_delete`]).
pub fn settle_plan(
    state: &dyn StoredState,
    outlet: &mut dyn Outlet,
    pack: &RulePack,
    refs: Arc<RefTables>,
    request: &PlanRequest,
) -> Result<Settled> {
    let evaluators = pack.evaluators(refs.clone())?;
    let unique_fields = pack.unique_fields();
    let names: Vec<&str> = unique_fields.iter().map(|f| f.name()).collect();
    let stored = state.indexes(&names)?;
    let keep_fingerprints = request.kind == PlanKind::Plan;
    let rejections = match keep_fingerprints {
        true => state.rejections()?,
        false => Vec::new(),
    };
    let fingerprints = Fingerprints::new(pack.digest(), refs.digest(), stored.fingerprints)
        .with_rejections(rejections);
    let rejection_fields = std::iter::once(Field::ExternalId)
        .chain(unique_fields.iter().copied())
        .collect();
    let mut settle = Settler {
        state,
        seen: FirstSeen::with_slots(stored.keys.len()),
        index: stored.keys,
        unique: UniqueIndex::new(&unique_fields, stored.values, stored.value_slots),
        warned_columns: HashSet::new(),
        summary: Summary::default(),
        reused: 0,
        remembered: 0,
        keep_fingerprints,
        rejection_fields,
        outlet,
    };
    let sources = Sources {
        inputs: request.inputs,
        read: &request.read,
        progress: &request.progress,
        check_columns: pack.checks_columns().then_some(pack),
        fingerprints: Some(&fingerprints),
        keep_cells: true,
        text_rows: false,
    };
    let inputs = settle_all(&sources, &evaluators, None, |done| settle.chunk(done))?;
    if request.sync {
        settle.delete_absent()?;
    }
    request.progress.finish();
    Ok(Settled {
        inputs,
        summary: settle.summary,
        reused: settle.reused,
        remembered: settle.remembered,
    })
}

/// The mass-delete guard of a plan of `request` against a tenant of `users` users.
pub fn delete_guard(pack: &RulePack, request: &PlanRequest, users: u64) -> Guard {
    let default_percent = pack
        .settings()
        .max_delete_percent
        .unwrap_or(DEFAULT_MAX_DELETE_PERCENT);
    Guard {
        users,
        allowed_percent: request.max_delete_percent.unwrap_or(default_percent),
        default_percent,
        min_users: MASS_DELETE_MIN_USERS,
    }
}

/// What `rules check --data` found.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Checked {
    /// Rows read.
    pub rows: u64,
    /// Rows with an error.
    pub rejected: u64,
    /// Warnings.
    pub warnings: u64,
}

/// Runs `inputs` through the rules and the checks between rows (duplicate keys, `Unique`)
/// on their own: no stored user is read and nothing is written. Each problem and rejected
/// row goes to `report` (whose [`Outlet::changes`] is `None`), in input order. With
/// `probe_maps`, also says whether `[map]` could do what the pack's map hooks did (see
/// [`crate::rules::Evaluators::probe_maps`]).
pub fn check(
    pack: &RulePack,
    refs: Arc<RefTables>,
    inputs: &[String],
    read: &ReadOptions,
    progress: &Progress,
    report: &mut dyn Outlet,
    probe_maps: bool,
) -> Result<(Checked, Option<MapProbe>)> {
    let evaluators = pack.evaluators(refs)?;
    if probe_maps {
        evaluators.probe_maps(pack);
    }
    let unique_fields = pack.unique_fields();
    let names: Vec<&str> = unique_fields.iter().map(|f| f.name()).collect();
    let stored = NothingStored.indexes(&names)?;
    let keep_cells = report.wants_cells();
    let mut settle = Settler {
        state: &NothingStored,
        seen: FirstSeen::default(),
        index: stored.keys,
        unique: UniqueIndex::new(&unique_fields, stored.values, stored.value_slots),
        warned_columns: HashSet::new(),
        summary: Summary::default(),
        reused: 0,
        remembered: 0,
        keep_fingerprints: false,
        rejection_fields: Vec::new(),
        outlet: report,
    };
    let sources = Sources {
        inputs,
        read,
        progress,
        check_columns: pack.checks_columns().then_some(pack),
        fingerprints: None,
        keep_cells,
        text_rows: pack.takes_canonical_columns(),
    };
    // The password only to withhold it from a rejected row's cells.
    let fields: Vec<Field> = [Field::ExternalId, Field::Password]
        .into_iter()
        .chain(unique_fields.iter().copied())
        .collect();
    let kept = Kept {
        built: pack.fields_built(&fields),
        fields,
    };
    let read = settle_all(&sources, &evaluators, Some(&kept), |done| {
        settle.chunk(done)
    })?;
    progress.finish();
    let checked = Checked {
        rows: read.iter().map(|input| input.rows).sum(),
        rejected: settle.summary.error,
        warnings: settle.summary.warning,
    };
    Ok((checked, evaluators.map_probe()))
}

/// Refuses a plan that deletes more of the tenant's users than `guard` allows.
pub fn check_mass_delete(summary: &Summary, guard: &Guard) -> Result<()> {
    let (allowed, user_count) = (guard.allowed_percent, guard.users);
    if user_count < guard.min_users || summary.delete == 0 {
        return Ok(());
    }
    let percent = summary.delete as f64 * 100.0 / user_count as f64;
    if percent > allowed {
        return Err(Error::refused(RefusedKind::MassDelete, format!(
            "plan refused: it would delete {} of the tenant's {user_count} users ({percent:.1}%), more than the {allowed}% allowed; \
             check the input file, and if the deletes are intended plan again with `--max-delete-percent {}`",
            summary.delete,
            percent.ceil()
        )));
    }
    Ok(())
}
