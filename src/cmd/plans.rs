//! `roster plans`: the tenant's stored plans, each with where it stands now.

use std::io::Write;

use serde::Serialize;

use super::{load_pack, open_existing, Hint};
use crate::cli::{Globals, Output, PlansArgs};
use crate::error::Result;
use crate::render::table::{self, stdout_error};
use crate::store::plans::{self, PlanHeader, Summary};
use crate::store::standing::{plan_standing, Standing};

/// Where a plan stands, as `plans` and `show` say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Not applied, and it can be: the newest plan of the tenant.
    Pending,
    /// Applied by this apply.
    Applied(i64),
    /// Not applied, and never can be: the state or rules changed since it was made.
    Stale,
    /// Not applied, and it still could be, but a newer plan was made since.
    Superseded(i64),
}

impl Status {
    /// How `plan` stands, given the tenant's newest plan.
    pub(super) fn of(plan: &PlanHeader, standing: Standing, newest: i64) -> Status {
        match (standing, plan.applied_by) {
            (_, Some(apply)) => Status::Applied(apply),
            (Standing::Stale { .. }, None) => Status::Stale,
            _ if plan.id < newest => Status::Superseded(newest),
            _ => Status::Pending,
        }
    }

    /// The one word programs read.
    fn word(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Applied(_) => "applied",
            Status::Stale => "stale",
            Status::Superseded(_) => "superseded",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Applied(apply) => write!(f, "applied by apply {apply}"),
            Status::Superseded(newer) => write!(f, "superseded by plan {newer}"),
            other => f.write_str(other.word()),
        }
    }
}

/// One plan in `plans --output json`.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    plan_id: i64,
    created_at: &'a str,
    kind: &'static str,
    inputs: Vec<&'a str>,
    sync: bool,
    summary: Summary,
    status: &'static str,
    applied_by: Option<i64>,
}

pub(super) fn run(globals: &Globals, args: &PlansArgs, out: &mut dyn Write) -> Result<i32> {
    let pack = load_pack(globals)?;
    let workspace = open_existing(globals)?;
    let conn = &workspace.conn;
    let all = plans::all(conn, &globals.tenant)?;
    let newest = all.last().map_or(0, |p| p.id);
    let mut statuses = Vec::with_capacity(all.len());
    for plan in &all {
        let standing = plan_standing(conn, plan, pack.digest())?;
        statuses.push(Status::of(plan, standing, newest));
    }
    if args.output == Output::Json {
        let listed: Vec<Listed> = all
            .iter()
            .zip(&statuses)
            .map(|(plan, status)| Listed {
                plan_id: plan.id,
                created_at: &plan.created_at,
                kind: plan.kind.as_str(),
                inputs: plan.inputs.iter().map(|i| i.file.as_str()).collect(),
                sync: plan.sync,
                summary: plan.summary,
                status: status.word(),
                applied_by: plan.applied_by,
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &listed).map_err(|e| stdout_error(e.into()))?;
        writeln!(out).map_err(stdout_error)?;
        return Ok(0);
    }
    if all.is_empty() {
        writeln!(out, "No plans yet for tenant `{}`.", globals.tenant).map_err(stdout_error)?;
        return Ok(0);
    }
    let rows = all
        .iter()
        .zip(&statuses)
        .map(|(plan, status)| {
            let s = plan.summary;
            let inputs: Vec<&str> = plan.inputs.iter().map(|i| i.file.as_str()).collect();
            vec![
                plan.id.to_string(),
                plan.created_at.clone(),
                plan.kind.as_str().to_string(),
                inputs.join("\n"),
                format!("+{} ~{} -{}", s.create, s.update, s.delete),
                s.error.to_string(),
                status.to_string(),
            ]
        })
        .collect();
    table::simple(
        out,
        &[
            "plan", "made", "kind", "inputs", "changes", "rejected", "status",
        ],
        rows,
    )?;
    if !globals.quiet {
        writeln!(
            out,
            "Show one with {}.",
            Hint::new(globals).args(["show", &newest.to_string()])
        )
        .map_err(stdout_error)?;
    }
    Ok(0)
}
