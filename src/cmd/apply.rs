//! `roster apply`: applies exactly a stored plan to the state, in one transaction.

use std::io::Write;

use super::{load_pack, open_existing, Hint};
use crate::cli::{ApplyArgs, Globals};
use crate::error::Result;
use crate::progress::Progress;
use crate::render::table::stdout_error;
use crate::store::{applies, plans};

pub(super) fn run(globals: &Globals, args: &ApplyArgs, out: &mut dyn Write) -> Result<i32> {
    let pack = load_pack(globals)?;
    let mut workspace = open_existing(globals)?;
    let tx = workspace.write()?;
    let plan = plans::find(&tx, &globals.tenant, &args.plan)?;
    let s = plan.summary;
    let progress = Progress::bar(
        "applying",
        s.create + s.update + s.delete,
        Progress::wanted(globals.quiet),
    );
    let record = applies::apply(&tx, &plan, pack.digest(), &progress)?;
    tx.commit()?;
    writeln!(
        out,
        "Applied plan {} as apply {}: {} created, {} updated, {} deleted.",
        plan.id, record.id, record.created, record.updated, record.deleted
    )
    .map_err(stdout_error)?;
    if !globals.quiet {
        let undo = Hint::new(globals).args(["plan", "--revert", &record.id.to_string()]);
        writeln!(out, "Undo it with {undo}.").map_err(stdout_error)?;
    }
    Ok(0)
}
