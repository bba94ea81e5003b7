//! `roster plan`: the dry run. Reads, checks and diffs the input, stores the plan, shows it.

use std::io::Write;
use std::sync::Arc;

use super::rejects::{rejects_note, write_rejects};
use super::{file_names, load_pack, open_workspace, read_options, vendor_reading, Hint};
use crate::cli::{Globals, Output, PlanArgs};
use crate::error::{Error, Result};
use crate::plan::planner::PlanRequest;
use crate::progress::Progress;
use crate::render::json;
use crate::render::table::{self, stdout_error, ChangeTable, ProblemTable};
use crate::rules::RefTables;
use crate::store::plans::{self, PlanKind, Summary};
use crate::store::{applies, planning, refs};

/// Exit status bits of `--detailed-exitcode`.
const EXIT_CHANGES: i32 = 2;
const EXIT_REJECTED: i32 = 4;

pub(super) fn run(globals: &Globals, args: &PlanArgs, out: &mut dyn Write) -> Result<i32> {
    let files = file_names(&args.files)?;
    refuse_a_command_as_file(globals, &files)?;
    let mut read = read_options(&args.read);
    let pack = load_pack(globals)?;
    let existed = globals.db.exists();
    let mut workspace = open_workspace(globals)?;
    let tx = workspace.write()?;
    let (plan_id, summary, reused, remembered) = match args.revert {
        Some(apply_id) => {
            let (plan_id, summary) = revert(&tx, globals, pack.digest(), apply_id)?;
            (plan_id, summary, 0, 0)
        }
        None => {
            let tables = refs::all(&tx, &globals.tenant)?;
            read.vendor = Some(Arc::new(vendor_reading(
                pack.settings(),
                &tables,
                read.format,
            )?));
            let request = PlanRequest {
                tenant: &globals.tenant,
                inputs: &files,
                read,
                sync: args.sync,
                max_delete_percent: args.max_delete_percent,
                progress: Progress::counter("planning", Progress::wanted(globals.quiet)),
                kind: PlanKind::Plan,
            };
            let refs = Arc::new(RefTables::new(tables));
            let planned = planning::plan(&tx, &pack, refs, &request)?;
            // Written before the plan is committed: a rejects file that cannot be written
            // leaves no plan behind.
            if let Some(path) = &args.rejects {
                let written = write_rejects(path, &mut |visit| {
                    plans::for_each_reject(&tx, planned.id, |row| visit(&row))
                })?;
                rejects_note(globals, path, written);
            }
            (
                planned.id,
                planned.summary,
                planned.reused,
                planned.remembered,
            )
        }
    };
    if reused > 0 && !globals.quiet {
        eprintln!(
            "note: {reused} row(s) are exactly as when their users were last applied, with the same rules and reference tables; the rules were not run on them again"
        );
    }
    if remembered > 0 && !globals.quiet {
        eprintln!(
            "note: {remembered} row(s) are exactly as when the rules last rejected them, with the same rules and reference tables; they are rejected again without running the rules"
        );
    }
    let shown = Shown {
        output: args.output,
        limit: args.limit,
        saved: !args.no_save,
        summary: args.summary,
    };
    if args.no_save {
        // The plan is shown from the transaction that made it, which is then rolled back.
        show(&tx, globals, shown, plan_id, &summary, out)?;
        drop(tx);
        drop(workspace);
        if !existed {
            super::remove_workspace(&globals.db);
        }
    } else {
        tx.commit()?;
        show(&workspace.conn, globals, shown, plan_id, &summary, out)?;
    }
    Ok(exit_status(args, &summary))
}

/// `roster plan show 2` reads `show` as a file: say which command was meant instead.
fn refuse_a_command_as_file(globals: &Globals, files: &[String]) -> Result<()> {
    let Some(first) = files.first().filter(|f| !std::path::Path::new(f).exists()) else {
        return Ok(());
    };
    let meant = match first.as_str() {
        "show" => Hint::new(globals).arg("show").args(&files[1..]),
        "list" | "ls" => Hint::new(globals).arg("plans"),
        _ => return Ok(()),
    };
    Err(Error::Usage(format!(
        "`plan` takes source files, and there is no file `{first}`; to see stored plans, run {meant}"
    )))
}

fn revert(
    tx: &rusqlite::Connection,
    globals: &Globals,
    rules_digest: &str,
    apply_id: i64,
) -> Result<(i64, Summary)> {
    let plan_id = applies::plan_of(tx, &globals.tenant, apply_id)?;
    let mut targets = Vec::new();
    plans::for_each_change(tx, plan_id, |change| {
        targets.push((change.key, change.before, change.platform_ids));
        Ok(())
    })?;
    planning::revert(tx, &globals.tenant, rules_digest, apply_id, targets)
}

/// How a plan is shown.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shown {
    /// Tables or JSON.
    pub output: Output,
    /// Rows per table (0 for all).
    pub limit: usize,
    /// Whether the plan is stored (`plan --no-save` shows one that is not).
    pub saved: bool,
    /// The summary line alone, no tables (`--summary`).
    pub summary: bool,
}

/// Shows the plan just made, and says whether it was saved.
pub(super) fn show(
    conn: &rusqlite::Connection,
    globals: &Globals,
    shown: Shown,
    plan_id: i64,
    summary: &Summary,
    out: &mut dyn Write,
) -> Result<()> {
    let id = shown.saved.then_some(plan_id);
    write_plan(conn, &globals.tenant, shown, plan_id, id, summary, out)?;
    if shown.output == Output::Json {
        return Ok(());
    }
    let said = match shown.saved {
        false => "Not saved (`--no-save`): nothing was stored.".to_string(),
        // The plan id is a result (scripts need it), so `-q` keeps it; only the hint goes.
        true if summary.has_changes() && !globals.quiet => format!(
            "Saved as plan {plan_id} for tenant `{}`. Apply it with {}.",
            globals.tenant,
            Hint::new(globals).args(["apply", &plan_id.to_string()])
        ),
        true => format!("Saved as plan {plan_id} for tenant `{}`.", globals.tenant),
    };
    writeln!(out, "{said}").map_err(stdout_error)
}

/// Writes a stored plan: its tables (at most `limit` rows each, 0 for all) and summary line,
/// or its JSON document, whose `plan_id` is `id` (`null` for a plan not saved).
pub(super) fn write_plan(
    conn: &rusqlite::Connection,
    tenant: &str,
    shown: Shown,
    plan_id: i64,
    id: Option<i64>,
    summary: &Summary,
    out: &mut dyn Write,
) -> Result<()> {
    match shown.output {
        Output::Json => json::write_plan_as(out, conn, plan_id, id, tenant, summary),
        Output::Table if shown.summary => {
            writeln!(out, "{}", table::summary_line(summary)).map_err(stdout_error)
        }
        Output::Table => {
            let limit = (shown.limit > 0).then_some(shown.limit as u64);
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
            writeln!(out, "{}", table::summary_line(summary)).map_err(stdout_error)
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
