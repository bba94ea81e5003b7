//! `roster man --out DIR`: a man page for roster and one for each of its commands
//! (`roster.1`, `roster-plan.1`, `roster-state-load.1`, …).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, ManArgs};
use crate::error::{Error, Result};
use crate::render::table::stdout_error;

pub(super) fn run(args: &ManArgs, out: &mut dyn Write) -> Result<i32> {
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Write {
        path: args.out.clone(),
        source,
    })?;
    let mut written = Vec::new();
    // Built, so that each subcommand knows its full name (`roster-state-load`).
    let mut command = Cli::build().disable_help_subcommand(true);
    command.build();
    write_pages(command, &args.out, &mut written)?;
    for page in &written {
        writeln!(out, "{}", page.display()).map_err(stdout_error)?;
    }
    Ok(0)
}

/// Writes the page of `command` and of each of its subcommands.
fn write_pages(command: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    let page = clap_mangen::Man::new(command);
    let path = dir.join(page.get_filename());
    let failed = |source| Error::Write {
        path: path.clone(),
        source,
    };
    let mut text = Vec::new();
    page.render(&mut text).map_err(failed)?;
    std::fs::write(&path, text).map_err(failed)?;
    written.push(path);
    Ok(())
}
