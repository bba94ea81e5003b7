//! `roster report`: a stored plan's sign-off report (HTML or Markdown), and with `--rejects`
//! its rejected rows as a file to fix. Also the rejects file of `plan` and `rules check`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::rejects::{rejects_note, write_rejects};
use super::{open_existing, Hint};
use crate::cli::{Globals, ReportArgs, ReportFormat};
use crate::error::Result;
use crate::render::{file, report};
use crate::store::plans;

/// Writes the report (and the rejects file) to files; prints nothing on stdout.
pub(super) fn run(globals: &Globals, args: &ReportArgs, _out: &mut dyn Write) -> Result<i32> {
    let workspace = open_existing(globals)?;
    let conn = &workspace.conn;
    let plan = plans::find(conn, &globals.tenant, &args.plan)?;
    let limit = (args.limit > 0).then_some(args.limit as u64);
    // Every change goes to Markdown: a page of a big plan's every change would be more
    // than a browser opens.
    let hints = report::Hints {
        all_changes: Hint::new(globals)
            .arg("report")
            .arg(plan.id)
            .arg("--out")
            .arg(everything_path(&args.out).display())
            .args(["--format", "md", "--limit", "0"])
            .command_line(),
        rejects: Hint::new(globals)
            .arg("report")
            .arg(plan.id)
            .arg("--out")
            .arg(args.out.display())
            .args(match args.format {
                ReportFormat::Html => &[][..],
                ReportFormat::Md => &["--format", "md"][..],
            })
            .args(["--rejects", "rejects.csv"])
            .command_line(),
    };
    let document = report::Report::load(conn, &plan, limit, hints)?;
    let format = match args.format {
        ReportFormat::Html => report::Format::Html,
        ReportFormat::Md => report::Format::Markdown,
    };
    if let Some(path) = &args.rejects {
        let written = write_rejects(path, &mut |visit| {
            plans::for_each_reject(conn, plan.id, |row| visit(&row))
        })?;
        rejects_note(globals, path, written);
    }
    file::write_whole(&args.out, |out| {
        report::write(conn, &document, format, &args.out, out)
    })?;
    if !globals.quiet {
        eprintln!(
            "Wrote the report of plan {} to `{}`.",
            plan.id,
            args.out.display()
        );
    }
    Ok(0)
}

/// `report.html` → `report-all.md`: where the report with every change goes.
fn everything_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}-all.md"))
}
