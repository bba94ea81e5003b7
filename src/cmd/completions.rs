//! `roster completions SHELL`: the shell's completion script, on stdout.

use std::io::Write;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;

pub(super) fn run(args: &CompletionsArgs, out: &mut dyn Write) -> Result<i32> {
    clap_complete::generate(args.shell, &mut Cli::build(), "roster", out);
    Ok(0)
}
