//! `roster report`: a stored plan's sign-off report (HTML or Markdown), and with `--rejects`
//! its rejected rows as a file to fix. Also the rejects file of `plan` and `rules check`.

use std::io::Write;
use std::path::Path;

use super::{open_workspace, suggest};
use crate::cli::{Cli, ReportArgs, ReportFormat};
use crate::error::{Error, Result};
use super::rejects::{rejects_note, write_rejects};
use crate::render::{file, report};
use crate::store::plans;

/// Writes the report (and the rejects file) to files; prints nothing on stdout.
pub fn run(cli: &Cli, args: &ReportArgs, _out: &mut dyn Write) -> Result<i32> {
    if !cli.db.exists() {
        return Err(Error::NotFound(format!(
            "there is no workspace `{}` to report on; make a plan first with {}",
            cli.db.display(),
            suggest(cli, "plan FILE")
        )));
    }
    let workspace = open_workspace(cli)?;
    let conn = &workspace.conn;
    let plan = plans::find(conn, &cli.tenant, &args.plan)?;
    let limit = (args.limit > 0).then_some(args.limit as u64);
    let hints = report::Hints {
        all_changes: hint(cli, args, plan.id, &everything_path(&args.out), None),
        rejects: hint(cli, args, plan.id, &args.out, Some("rejects.csv")),
    };
    let document = report::Report::load(conn, &plan, limit, hints)?;
    let format = match args.format {
        ReportFormat::Html => report::Format::Html,
        ReportFormat::Md => report::Format::Markdown,
    };
    let text = report::render(&document, format)?;
    if let Some(path) = &args.rejects {
        let written = write_rejects(path, &mut |visit| {
            plans::for_each_reject(conn, plan.id, |row| visit(&row))
        })?;
        rejects_note(cli, path, written);
    }
    file::write_whole(&args.out, |out| {
        out.write_all(text.as_bytes())
            .map_err(|source| Error::Write {
                path: args.out.clone(),
                source,
            })
    })?;
    if !cli.quiet {
        eprintln!(
            "Wrote the report of plan {} to `{}`.",
            plan.id,
            args.out.display()
        );
    }
    Ok(0)
}

/// The command that writes this report again, with `--limit 0` (to `out`), or with
/// `--rejects` (to `rejects`).
fn hint(cli: &Cli, args: &ReportArgs, plan: i64, out: &Path, rejects: Option<&str>) -> String {
    let format = match args.format {
        ReportFormat::Html => "",
        ReportFormat::Md => " --format md",
    };
    let extra = match rejects {
        Some(file) => format!(" --rejects {file}"),
        None => " --limit 0".to_string(),
    };
    let command = suggest(
        cli,
        &format!("report {plan} --out {}{format}{extra}", out.display()),
    );
    command.trim_matches('`').to_string()
}

/// `report.html` → `report-all.html`: where the report with every change goes.
fn everything_path(out: &Path) -> std::path::PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let name = match out.extension() {
        Some(ext) => format!("{stem}-all.{}", ext.to_string_lossy()),
        None => format!("{stem}-all"),
    };
    out.with_file_name(name)
}
