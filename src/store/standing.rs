//! Whether a stored plan still describes the workspace: the one check that `apply`, `export`
//! and `push` make before they act on a plan, and that `plans` shows.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, RefusedKind, Result};
use crate::rules::RulePack;
use crate::store::plans::{PlanHeader, PlanKind};
use crate::store::state;

/// How a stored plan stands against the tenant's state and rules now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not applied, and the state and rules are those it was made against: it can be applied,
    /// and its payloads are what applying it sends.
    Pending,
    /// Applied, and the state and rules are still those its apply left: its payloads are
    /// what the state holds.
    Applied {
        /// The apply that applied it.
        apply: i64,
    },
    /// The state or the rules moved on since the plan was made (or, for an applied plan,
    /// since its apply): it can never be applied, and its payloads no longer match the state.
    Stale {
        /// The apply that applied it, if one did.
        applied_by: Option<i64>,
        /// What moved on.
        moved: Moved,
    },
}

/// What changed since a plan was made or applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// The tenant's state.
    State,
    /// The tenant's rules.
    Rules,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Moved::State => "state",
            Moved::Rules => "rules",
        })
    }
}

/// The staleness check: how `plan` stands against the tenant's state and rules now
/// (`rules_digest`, [`RulePack::digest`] of the tenant's pack as loaded). A plan is stale when the state digest is no longer the one it was
/// made against (or, once applied, the one its apply left), or when the rules digest is not
/// the one it was made with; a state load is planned without rules, so only its state counts.
pub fn plan_standing(conn: &Connection, plan: &PlanHeader, rules_digest: &str) -> Result<Standing> {
    let none = RulePack::none();
    let rules_digest = match plan.kind {
        PlanKind::StateLoad => none.digest(),
        _ => rules_digest,
    };
    let expected_state = match plan.applied_by {
        None => Some(plan.state_digest.clone()),
        Some(apply) => state_after(conn, apply)?,
    };
    let current_state = crate::model::record::digest_hex(state::summary(conn, &plan.tenant)?.0);
    let moved = if expected_state.as_deref() != Some(current_state.as_str()) {
        Some(Moved::State)
    } else if rules_digest != plan.rules_digest {
        Some(Moved::Rules)
    } else {
        None
    };
    Ok(match (moved, plan.applied_by) {
        (Some(moved), applied_by) => Standing::Stale { applied_by, moved },
        (None, Some(apply)) => Standing::Applied { apply },
        (None, None) => Standing::Pending,
    })
}

/// The tenant's state digest right after an apply (none for applies an older roster made,
/// which are not known to match the state).
fn state_after(conn: &Connection, apply: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT state_digest FROM applies WHERE id = ?1")?
        .query_row([apply], |r| r.get(0))
        .optional()?
        .flatten())
}

impl Standing {
    /// Refuses anything but a pending plan, as `apply` must: a plan is applied once, and only
    /// to the state and rules it was made against.
    pub fn require_pending(self, plan: &PlanHeader) -> Result<()> {
        match self {
            Standing::Pending => Ok(()),
            Standing::Applied { apply }
            | Standing::Stale {
                applied_by: Some(apply),
                ..
            } => Err(Error::refused(RefusedKind::AlreadyApplied, format!(
                "plan {} was already applied (apply {apply}); make a new plan with `roster plan FILE…`",
                plan.id
            ))),
            Standing::Stale { moved, .. } => Err(stale(plan, moved)),
        }
    }

    /// Refuses a plan whose payloads would not describe the workspace: a stale plan that was
    /// never applied (it never will be), and an applied one whose state or rules moved on
    /// since its apply unless `force` (sending its files again is then the user's call).
    pub fn require_exportable(self, plan: &PlanHeader, force: bool) -> Result<()> {
        match self {
            Standing::Pending | Standing::Applied { .. } => Ok(()),
            Standing::Stale {
                applied_by: Some(apply),
                moved,
            } if !force => Err(Error::refused(RefusedKind::ChangedSinceApplied, format!(
                "plan {} was applied (apply {apply}), but the {} of tenant `{}` changed since, so its payloads no longer match what the state holds; plan again with `roster plan FILE…`, or pass `--force` to send this plan's payloads again as they were",
                plan.id,
                moved,
                plan.tenant
            ))),
            Standing::Stale {
                applied_by: Some(_),
                ..
            } => Ok(()),
            Standing::Stale {
                applied_by: None,
                moved,
            } => Err(stale(plan, moved)),
        }
    }

    /// Whether the plan is stale.
    pub fn is_stale(self) -> bool {
        matches!(self, Standing::Stale { .. })
    }
}

/// The refusal of a plan that was never applied and never can be.
fn stale(plan: &PlanHeader, moved: Moved) -> Error {
    Error::refused(RefusedKind::Stale, format!(
        "plan {} is stale: the {} of tenant `{}` changed since it was made; plan again with `roster plan FILE…`",
        plan.id,
        moved,
        plan.tenant
    ))
}
