//! `roster plan`: the dry run. Reads, checks and diffs the input, stores the plan, shows it.

use std::io::Write;
use std::sync::Arc;

use super::{load_pack, open_workspace, read_options, vendor_reading, Hint};
use crate::cli::{Cli, Output, PlanArgs};
use crate::error::Result;
use crate::plan::planner::{self, PlanRequest};
use crate::progress::Progress;
use crate::render::json;
use crate::render::table::{self, stdout_error, ChangeTable, ProblemTable};
use crate::rules::RefTables;
use crate::store::plans::{self, PlanKind, Summary};
use crate::store::{applies, refs, Workspace};

/// Exit status bits of `--detailed-exitcode`.
const EXIT_CHANGES: i32 = 2;
const EXIT_REJECTED: i32 = 4;

pub fn run(cli: &Cli, args: &PlanArgs, out: &mut dyn Write) -> Result<i32> {
    let mut read = read_options(&args.read)?;
    let pack = load_pack(cli)?;
    let mut workspace = open_workspace(cli)?;
    let (plan_id, summary, reused) = match args.revert {
        Some(apply_id) => {
            let (plan_id, summary) = revert(&mut workspace, cli, pack.digest(), apply_id)?;
            (plan_id, summary, 0)
        }
        None => {
            let tx = workspace.write()?;
            let tables = refs::all(&tx, &cli.tenant)?;
            read.vendor = vendor_reading(pack.settings(), &tables, read.format)?;
            let request = PlanRequest {
                tenant: &cli.tenant,
                inputs: &args.files,
                read,
                sync: args.sync,
                max_delete_percent: args.max_delete_percent,
                progress: Progress::counter("planning", Progress::wanted(cli.quiet)),
                kind: PlanKind::Plan,
            };
            let refs = Arc::new(RefTables::new(tables));
            let planned = planner::plan(&tx, &pack, refs, &request)?;
            tx.commit()?;
            (planned.id, planned.summary, planned.reused)
        }
    };
    if reused > 0 && !cli.quiet {
        eprintln!(
            "note: {reused} row(s) are exactly as when their users were last applied, with the same rules and reference tables; the rules were not run on them again"
        );
    }
    show(
        &workspace,
        cli,
        args.output,
        args.limit,
        plan_id,
        &summary,
        out,
    )?;
    Ok(exit_status(args, &summary))
}

fn revert(
    workspace: &mut Workspace,
    cli: &Cli,
    rules_digest: &str,
    apply_id: i64,
) -> Result<(i64, Summary)> {
    let tx = workspace.write()?;
    let plan_id = applies::plan_of(&tx, &cli.tenant, apply_id)?;
    let mut targets = Vec::new();
    plans::for_each_change(&tx, plan_id, |change| {
        targets.push((change.key, change.before, change.platform_ids));
        Ok(())
    })?;
    let planned = planner::revert(&tx, &cli.tenant, rules_digest, apply_id, targets)?;
    tx.commit()?;
    Ok(planned)
}

/// Shows a stored plan: its tables (at most `limit` rows each, 0 for all) or its JSON.
pub(super) fn show(
    workspace: &Workspace,
    cli: &Cli,
    output: Output,
    limit: usize,
    plan_id: i64,
    summary: &Summary,
    out: &mut dyn Write,
) -> Result<()> {
    let conn = &workspace.conn;
    match output {
        Output::Json => json::write_plan(out, conn, plan_id, &cli.tenant, summary),
        Output::Table => {
            let limit = (limit > 0).then_some(limit as u64);
            let mut changes = ChangeTable::new(summary.create + summary.update + summary.delete);
            plans::first_changes(conn, plan_id, limit, |c| {
                changes.push(&c);
                Ok(())
            })?;
            changes.write(out)?;
            let mut problems = ProblemTable::new(plans::problem_count(conn, plan_id)?);
            plans::first_problems(conn, plan_id, limit, |p| {
                problems.push(&p);
                Ok(())
            })?;
            problems.write(out)?;
            writeln!(out, "{}", table::summary_line(summary)).map_err(stdout_error)?;
            // The plan id is a result (scripts need it), so `-q` keeps it; only the hint goes.
            let next = if summary.has_changes() && !cli.quiet {
                format!(
                    " Apply it with {}.",
                    Hint::new(cli).args(["apply", &plan_id.to_string()])
                )
            } else {
                String::new()
            };
            writeln!(
                out,
                "Saved as plan {plan_id} for tenant `{}`.{next}",
                cli.tenant
            )
            .map_err(stdout_error)?;
            Ok(())
        }
    }
}

fn exit_status(args: &PlanArgs, summary: &Summary) -> i32 {
    if !args.detailed_exitcode {
        return 0;
    }
    let mut status = 0;
    if summary.has_changes() {
        status |= EXIT_CHANGES;
    }
    if summary.error > 0 {
        status |= EXIT_REJECTED;
    }
    status
}
