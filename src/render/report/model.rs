//! What a report shows, gathered from the stored plan: plain values for the templates, every
//! list already cut to what the page shows (so a big plan makes a page of bounded size).

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use super::chart::{self, Chart};
use crate::error::Result;
use crate::model::change::{Action, Change};
use crate::model::problem::Severity;
use crate::model::record::{cell, digest_hex};
use crate::model::user::Field;
use crate::secret;
use crate::store::figures::{self, Grouping};
use crate::store::plans::{Guard, Input, PlanHeader, PlanKind, StoredProblem, Summary};
use crate::store::{state, vendor_results};

/// Rows of each breakdown table: the largest groups.
const BREAKDOWN_ROWS: usize = 25;

/// What the command adds to a report: follow-up commands, as the user would paste them.
#[derive(Debug, Clone, Serialize)]
pub struct Hints {
    /// The command that writes a report with every change.
    pub all_changes: String,
    /// The command that writes the rejected rows as a file to fix.
    pub rejects: String,
}

/// A plan's sign-off report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub tenant: String,
    pub plan_id: i64,
    /// `plan`, `revert of apply N` or `state load`.
    pub kind: String,
    pub created_at: String,
    pub sync: bool,
    /// Applied, stale or ready, in words.
    pub status: String,
    pub inputs: Vec<Input>,
    pub rules_digest: String,
    pub state_digest: String,
    pub version: &'static str,
    pub summary: Summary,
    /// The total of create, update and delete.
    pub changes_total: u64,
    pub chart: Chart,
    pub breakdowns: Vec<Breakdown>,
    pub guard: GuardView,
    pub warnings: Problems,
    pub changes: Vec<ChangeGroup>,
    pub rejected: Problems,
    pub vendors: Vec<VendorView>,
    pub limit: Option<u64>,
    pub hints: Hints,
}

/// Changes per location, team or role.
#[derive(Debug, Serialize)]
pub struct Breakdown {
    /// `Location`, `Team` or `Role`.
    pub title: &'static str,
    pub rows: Vec<BreakdownRow>,
    /// Groups not shown.
    pub more: usize,
}

/// One group's changes.
#[derive(Debug, Default, Serialize)]
pub struct BreakdownRow {
    pub name: String,
    pub create: u64,
    pub update: u64,
    pub delete: u64,
    pub total: u64,
}

/// The mass-delete guard's figure, in words.
#[derive(Debug, Serialize)]
pub struct GuardView {
    /// The figure against the threshold.
    pub text: String,
    /// Set when the plan deletes more than the guard allows by default: roster refused it
    /// until the threshold was raised.
    pub alert: Option<String>,
}

/// Problems of one severity: the first few, the total, and the count per rule.
#[derive(Debug, Serialize)]
pub struct Problems {
    pub shown: Vec<ProblemView>,
    pub total: u64,
    /// Rows (for errors: each rejected row once).
    pub rows: u64,
    pub per_rule: Vec<RuleCount>,
}

/// One problem as a table row.
#[derive(Debug, Serialize)]
pub struct ProblemView {
    pub key: String,
    pub source: String,
    pub field: String,
    pub rule: String,
    pub message: String,
}

/// How often one rule fired.
#[derive(Debug, Serialize)]
pub struct RuleCount {
    pub rule: String,
    pub count: u64,
}

/// The changes of one operation; their rows are rendered as they are read (see
/// [`super::write`]).
#[derive(Debug, Serialize)]
pub struct ChangeGroup {
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    /// `Users to create`…
    pub title: &'static str,
    pub total: u64,
    /// Changes shown: the first ones.
    pub shown: u64,
    /// Changes not shown.
    pub more: u64,
}

/// One change: the user and its fields.
#[derive(Debug, Serialize)]
pub(super) struct ChangeView {
    pub key: String,
    pub source: String,
    pub fields: Vec<FieldView>,
}

/// One field of a change: before and after as text (`(none)` for nothing).
#[derive(Debug, Serialize)]
pub(super) struct FieldView {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// What one vendor answered.
#[derive(Debug, Serialize)]
pub struct VendorView {
    pub vendor: String,
    pub accepted: u64,
    pub warning: u64,
    pub rejected: u64,
    pub failed: u64,
    pub shown: Vec<VendorProblem>,
    pub more: u64,
}

/// A user the vendor did not simply accept.
#[derive(Debug, Serialize)]
pub struct VendorProblem {
    pub key: String,
    pub source: String,
    pub status: &'static str,
    pub batch: String,
    pub path: String,
    pub message: String,
}

impl Report {
    /// Gathers the report of `plan`; lists show at most `limit` items each (`None`: all).
    pub fn load(
        conn: &Connection,
        plan: &PlanHeader,
        limit: Option<u64>,
        hints: Hints,
    ) -> Result<Report> {
        let summary = plan.summary;
        let changes_total = summary.create + summary.update + summary.delete;
        let changes = [
            (Action::Create, "Users to create", summary.create),
            (Action::Update, "Users to update", summary.update),
            (Action::Delete, "Users to delete", summary.delete),
        ]
        .into_iter()
        .map(|(action, title, total)| {
            let shown = limit.map_or(total, |limit| total.min(limit));
            ChangeGroup {
                action: action.as_str(),
                title,
                total,
                shown,
                more: total - shown,
            }
        })
        .collect();
        Ok(Report {
            tenant: plan.tenant.clone(),
            plan_id: plan.id,
            kind: kind(plan),
            created_at: plan.created_at.clone(),
            sync: plan.sync,
            status: status(conn, plan)?,
            inputs: plan.inputs.clone(),
            rules_digest: plan.rules_digest.clone(),
            state_digest: plan.state_digest.clone(),
            version: env!("CARGO_PKG_VERSION"),
            summary,
            changes_total,
            chart: chart::bars(&summary),
            breakdowns: breakdowns(conn, plan.id)?,
            guard: guard(plan),
            warnings: problems(conn, plan.id, Severity::Warning, summary.warning, limit)?,
            changes,
            rejected: problems(conn, plan.id, Severity::Error, summary.error, limit)?,
            vendors: vendors(conn, plan.id, limit)?,
            limit,
            hints,
        })
    }
}

fn kind(plan: &PlanHeader) -> String {
    match (plan.kind, plan.reverts) {
        (PlanKind::Revert, Some(apply)) => format!("revert of apply {apply}"),
        (PlanKind::StateLoad, _) => "state load".to_string(),
        _ => "plan".to_string(),
    }
}

/// Applied, stale or ready to apply.
fn status(conn: &Connection, plan: &PlanHeader) -> Result<String> {
    if let Some((apply, at)) = figures::applied(conn, plan.id)? {
        return Ok(format!("applied to the state by apply {apply} at {at}"));
    }
    let (digest, _) = state::summary(conn, &plan.tenant)?;
    Ok(match digest_hex(digest) == plan.state_digest {
        true => "not applied yet; the state is as when the plan was made".to_string(),
        false => "not applied; the state has changed since the plan was made, so it must be planned again before it can be applied".to_string(),
    })
}

impl ChangeView {
    /// The change as the report shows it; passwords masked.
    pub(super) fn of(change: &Change) -> ChangeView {
        let fields = match change.action {
            Action::Update => change
                .fields
                .iter()
                .map(|f| FieldView::new(&f.field, &f.before, &f.after))
                .collect(),
            Action::Create => record_fields(change.after.iter().flatten(), false),
            Action::Delete => record_fields(change.before.iter().flatten(), true),
        };
        ChangeView {
            key: change.key.clone(),
            source: change.source.clone().unwrap_or_default(),
            fields,
        }
    }
}

/// A created (or, with `before`, deleted) record's fields, the key left out.
fn record_fields<'r>(
    record: impl Iterator<Item = (&'r String, &'r Value)>,
    before: bool,
) -> Vec<FieldView> {
    record
        .filter(|(name, _)| *name != Field::ExternalId.name())
        .map(|(name, value)| match before {
            true => FieldView::new(name, value, &Value::Null),
            false => FieldView::new(name, &Value::Null, value),
        })
        .collect()
}

impl FieldView {
    /// Passwords (and their stored hashes) show as `(sensitive)`.
    fn new(field: &str, before: &Value, after: &Value) -> FieldView {
        let secret = Field::parse(field).is_some_and(Field::is_secret);
        let shown = |value: &Value| match (secret, value) {
            (_, Value::Null) => String::new(),
            (true, _) => secret::MASK.to_string(),
            (false, value) => cell(value),
        };
        FieldView {
            field: field.to_string(),
            before: shown(before),
            after: shown(after),
        }
    }
}

/// Changes per location, team and role; the largest groups first.
fn breakdowns(conn: &Connection, plan_id: i64) -> Result<Vec<Breakdown>> {
    let mut groups: [HashMap<String, BreakdownRow>; 3] = Default::default();
    figures::for_each_grouping(conn, plan_id, |g: Grouping| {
        let none = || vec!["(none)".to_string()];
        let names = [
            g.location.map_or_else(none, |l| vec![l]),
            match g.teams.is_empty() {
                true => none(),
                false => g.teams,
            },
            match g.roles.is_empty() {
                true => none(),
                false => g.roles,
            },
        ];
        for (group, names) in groups.iter_mut().zip(names) {
            for name in names {
                let row = group.entry(name).or_default();
                match g.action {
                    Action::Create => row.create += 1,
                    Action::Update => row.update += 1,
                    Action::Delete => row.delete += 1,
                }
                row.total += 1;
            }
        }
        Ok(())
    })?;
    Ok(["Location", "Team", "Role"]
        .into_iter()
        .zip(groups)
        .map(|(title, group)| {
            let mut rows: Vec<BreakdownRow> = group
                .into_iter()
                .map(|(name, row)| BreakdownRow { name, ..row })
                .collect();
            rows.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.name.cmp(&b.name)));
            let more = rows.len().saturating_sub(BREAKDOWN_ROWS);
            rows.truncate(BREAKDOWN_ROWS);
            Breakdown { title, rows, more }
        })
        .collect())
}

/// The mass-delete figure against the guard's threshold.
fn guard(plan: &PlanHeader) -> GuardView {
    let deletes = plan.summary.delete;
    let Some(Guard {
        users,
        allowed_percent,
        default_percent,
        min_users,
    }) = plan.guard
    else {
        return GuardView {
            text: match plan.kind {
                PlanKind::Revert => format!(
                    "A revert is not held to the mass-delete guard; it deletes {deletes} user(s)."
                ),
                _ => format!("The guard's figures were not recorded with this plan; it deletes {deletes} user(s)."),
            },
            alert: None,
        };
    };
    if users < min_users {
        return GuardView {
            text: format!(
                "Deletes {deletes} user(s). The tenant held {users} user(s) when planned; tenants of fewer than {min_users} users are not guarded."
            ),
            alert: None,
        };
    }
    let percent = deletes as f64 * 100.0 / users as f64;
    let text = format!(
        "Deletes {deletes} of the tenant's {users} users ({percent:.1}%); roster refuses a plan that deletes more than {default_percent}%."
    );
    let alert = (percent > default_percent).then(|| {
        format!(
            "This plan deletes {percent:.1}% of the tenant's users, more than the {default_percent}% the mass-delete guard allows: roster refused it, and it was made only because the threshold was raised to {allowed_percent}% (--max-delete-percent). Check every delete below before signing."
        )
    });
    GuardView { text, alert }
}

/// Problems of one severity: the first `limit`, the total and the counts per rule.
fn problems(
    conn: &Connection,
    plan_id: i64,
    severity: Severity,
    rows: u64,
    limit: Option<u64>,
) -> Result<Problems> {
    let per_rule: Vec<RuleCount> = figures::problems_per_rule(conn, plan_id, severity)?
        .into_iter()
        .map(|(rule, count)| RuleCount { rule, count })
        .collect();
    let shown = figures::first_problems_of(conn, plan_id, severity, limit)?
        .into_iter()
        .map(ProblemView::from)
        .collect();
    Ok(Problems {
        shown,
        total: per_rule.iter().map(|r| r.count).sum(),
        rows,
        per_rule,
    })
}

impl From<StoredProblem> for ProblemView {
    fn from(p: StoredProblem) -> ProblemView {
        ProblemView {
            key: p.key.unwrap_or_default(),
            source: p.source.unwrap_or_default(),
            field: p.field.unwrap_or_default(),
            rule: p.rule,
            message: p.message,
        }
    }
}

/// What each vendor answered about the plan's users (`results`, `push`).
fn vendors(conn: &Connection, plan_id: i64, limit: Option<u64>) -> Result<Vec<VendorView>> {
    vendor_results::counts_for_plan(conn, plan_id)?
        .into_iter()
        .map(|c| {
            let shown: Vec<VendorProblem> =
                vendor_results::not_accepted(conn, plan_id, &c.vendor, limit)?
                    .into_iter()
                    .map(|r| VendorProblem {
                        key: r.key,
                        source: r.source.unwrap_or_default(),
                        status: r.status.as_str(),
                        batch: r.batch_file,
                        path: r.path.unwrap_or_default(),
                        message: r.message,
                    })
                    .collect();
            let more = (c.warning + c.rejected + c.failed).saturating_sub(shown.len() as u64);
            Ok(VendorView {
                vendor: c.vendor,
                accepted: c.accepted,
                warning: c.warning,
                rejected: c.rejected,
                failed: c.failed,
                shown,
                more,
            })
        })
        .collect()
}
