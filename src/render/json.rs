//! JSON for programs: `plan --output json` prints one object.

use serde::Serialize;

use crate::plan::change::Change;
use crate::store::plans::{StoredProblem, Summary};

/// The document `plan --output json` prints.
#[derive(Debug, Serialize)]
pub struct PlanDocument<'a> {
    /// The stored plan's id.
    pub plan_id: i64,
    /// The tenant.
    pub tenant: &'a str,
    /// The counts.
    pub summary: Summary,
    /// Every change, in order.
    pub changes: Vec<ChangeDocument>,
    /// Every problem, in order.
    pub problems: Vec<StoredProblem>,
}

/// One change as JSON: the passwords in `before`/`after` are left out, `fields` masks them.
#[derive(Debug, Serialize)]
pub struct ChangeDocument {
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    /// The user's key.
    pub key: String,
    /// `file:line`.
    pub source: Option<String>,
    /// The changed fields with before and after.
    pub fields: Vec<crate::plan::change::FieldChange>,
}

impl From<Change> for ChangeDocument {
    fn from(change: Change) -> ChangeDocument {
        ChangeDocument {
            action: change.action.as_str(),
            key: change.key,
            source: change.source,
            fields: change.fields,
        }
    }
}
