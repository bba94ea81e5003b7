//! `roster apply`: applies exactly a stored plan to the state, in one transaction.

use std::io::Write;

use super::{load_pack, open_existing, Hint};
use crate::cli::{ApplyArgs, Cli};
use crate::error::Result;
use crate::progress::Progress;
use crate::render::table::stdout_error;
use crate::store::{applies, plans};

pub fn run(cli: &Cli, args: &ApplyArgs, out: &mut dyn Write) -> Result<i32> {
    let pack = load_pack(cli)?;
    let mut workspace = open_existing(cli)?;
    let tx = workspace.write()?;
    let plan = plans::find(&tx, &cli.tenant, &args.plan)?;
    let s = plan.summary;
    let progress = Progress::bar(
        "applying",
        s.create + s.update + s.delete,
        Progress::wanted(cli.quiet),
    );
    let record = applies::apply(&tx, &plan, pack.digest(), &progress)?;
    tx.commit()?;
    writeln!(
        out,
        "Applied plan {} as apply {}: {} created, {} updated, {} deleted.",
        plan.id, record.id, record.created, record.updated, record.deleted
    )
    .map_err(stdout_error)?;
    if !cli.quiet {
        let undo = Hint::new(cli).args(["plan", "--revert", &record.id.to_string()]);
        writeln!(out, "Undo it with {undo}.").map_err(stdout_error)?;
    }
    Ok(0)
}
