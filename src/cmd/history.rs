//! `roster history`: the tenant's applies with their counts, and what vendors answered to
//! exported plans.

use std::io::Write;

use super::open_existing;
use crate::cli::{Globals, HistoryArgs, Output};
use crate::error::Result;
use crate::render::table::{self, stdout_error};
use crate::store::{applies, vendor_results};

/// What vendors answered to exported plans (`roster results`), counted per plan and vendor.
fn vendor_results(out: &mut dyn Write, conn: &rusqlite::Connection, tenant: &str) -> Result<()> {
    let counts = vendor_results::counts(conn, tenant)?;
    if counts.is_empty() {
        return Ok(());
    }
    writeln!(out, "Vendor results:").map_err(stdout_error)?;
    let rows = counts
        .into_iter()
        .map(|c| {
            vec![
                c.plan_id.to_string(),
                c.vendor,
                c.accepted.to_string(),
                c.warning.to_string(),
                c.rejected.to_string(),
                c.failed.to_string(),
            ]
        })
        .collect();
    table::simple(
        out,
        &[
            "plan", "vendor", "accepted", "warning", "rejected", "failed",
        ],
        rows,
    )
}

pub(super) fn run(globals: &Globals, args: &HistoryArgs, out: &mut dyn Write) -> Result<i32> {
    let workspace = open_existing(globals)?;
    let applies = applies::history(&workspace.conn, &globals.tenant)?;
    match args.output {
        Output::Table => {
            table::history(out, &applies)?;
            vendor_results(out, &workspace.conn, &globals.tenant)?;
        }
        Output::Json => {
            // The same two parts as the tables: the applies, and the vendors' answers.
            let document = serde_json::json!({
                "applies": applies,
                "vendor_results": vendor_results::counts(&workspace.conn, &globals.tenant)?,
            });
            serde_json::to_writer_pretty(&mut *out, &document)
                .map_err(|e| stdout_error(e.into()))?;
            writeln!(out).map_err(stdout_error)?;
        }
    }
    Ok(0)
}
