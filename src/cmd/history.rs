//! `roster history`: the tenant's applies with their counts.

use std::io::Write;

use super::open_workspace;
use crate::cli::{Cli, HistoryArgs, Output};
use crate::error::Result;
use crate::render::table::{self, stdout_error};
use crate::store::applies;

pub fn run(cli: &Cli, args: &HistoryArgs, out: &mut dyn Write) -> Result<i32> {
    let workspace = open_workspace(cli)?;
    let applies = applies::history(&workspace.conn, &cli.tenant)?;
    match args.output {
        Output::Table => table::history(out, &applies)?,
        Output::Json => {
            serde_json::to_writer_pretty(&mut *out, &applies)
                .map_err(|e| stdout_error(e.into()))?;
            writeln!(out).map_err(stdout_error)?;
        }
    }
    Ok(0)
}
