//! What a plan is and counts: its kind, inputs, counts and the mass-delete guard it met.

use serde::{Deserialize, Serialize};

use crate::model::change::Action;

/// The counts of a plan, as `--output json` prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Users to create.
    pub create: u64,
    /// Users to update.
    pub update: u64,
    /// Users to delete.
    pub delete: u64,
    /// Users whose row changes nothing.
    pub unchanged: u64,
    /// Rows rejected (each row once).
    pub error: u64,
    /// Warnings.
    pub warning: u64,
}

impl Summary {
    /// Counts one change.
    pub fn count(&mut self, action: Action) {
        match action {
            Action::Create => self.create += 1,
            Action::Update => self.update += 1,
            Action::Delete => self.delete += 1,
        }
    }

    /// Whether the plan changes anything.
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.delete > 0
    }
}

/// One input of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// The file as named on the command line.
    pub file: String,
    /// xxh3-128 of its bytes.
    pub digest: String,
    /// Rows read.
    pub rows: u64,
}

/// What kind of plan it is, stored as `plan`, `revert` or `state-load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "kebab-case")]
pub enum PlanKind {
    /// Made from source files.
    Plan,
    /// Undoes an apply.
    Revert,
    /// Replaces the state with a vendor's export.
    StateLoad,
}

impl PlanKind {
    /// The stored kind.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses the stored kind; anything else is a plan made from files.
    pub fn parse(text: &str) -> PlanKind {
        text.parse().unwrap_or(PlanKind::Plan)
    }
}

/// The mass-delete guard as a plan met it: a plan may delete at most `allowed_percent` of
/// the tenant's `users`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    /// The tenant's users when the plan was made.
    pub users: u64,
    /// The share of them the plan was allowed to delete.
    pub allowed_percent: f64,
    /// The share allowed unless raised (`--max-delete-percent`, the tenant's setting).
    pub default_percent: f64,
    /// Tenants with fewer users are not guarded.
    pub min_users: u64,
}
