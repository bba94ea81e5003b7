//! `roster show`: a stored plan's tables (or JSON) again, with where it stands now.

use std::io::Write;

use super::plan::{write_plan, Shown};
use super::plans::Status;
use super::{load_pack, open_existing, Hint};
use crate::cli::{Globals, Output, ShowArgs};
use crate::error::Result;
use crate::render::table::stdout_error;
use crate::store::plans;
use crate::store::standing::plan_standing;

pub(super) fn run(globals: &Globals, args: &ShowArgs, out: &mut dyn Write) -> Result<i32> {
    let pack = load_pack(globals)?;
    let workspace = open_existing(globals)?;
    let conn = &workspace.conn;
    let plan = plans::find(conn, &globals.tenant, &args.plan)?;
    let shown = Shown {
        output: args.output,
        limit: args.limit,
        saved: true,
        summary: args.summary,
    };
    write_plan(
        conn,
        &globals.tenant,
        shown,
        plan.id,
        Some(plan.id),
        &plan.summary,
        out,
    )?;
    if args.output == Output::Json {
        return Ok(0);
    }
    let newest = plans::find(conn, &globals.tenant, "latest")?.id;
    let status = Status::of(&plan, plan_standing(conn, &plan, pack.digest())?, newest);
    let inputs: Vec<&str> = plan.inputs.iter().map(|i| i.file.as_str()).collect();
    let from = match inputs.is_empty() {
        true => String::new(),
        false => format!(" from {}", inputs.join(", ")),
    };
    write!(
        out,
        "This is plan {} of tenant `{}`, made {}{from} ({}): {status}.",
        plan.id,
        globals.tenant,
        plan.created_at,
        plan.kind.as_str()
    )
    .map_err(stdout_error)?;
    if status == Status::Pending && plan.summary.has_changes() && !globals.quiet {
        let apply = Hint::new(globals).args(["apply", &plan.id.to_string()]);
        write!(out, " Apply it with {apply}.").map_err(stdout_error)?;
    }
    writeln!(out).map_err(stdout_error)?;
    Ok(0)
}
