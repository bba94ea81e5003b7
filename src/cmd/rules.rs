//! `roster rules check|test`: compile and lint a tenant's pack; run its own examples.

use std::io::Write;
use std::sync::Arc;

use super::rejects::{rejects_note, write_rejects};
use super::{file_names, open_existing, read_options};
use crate::cli::{Globals, Output, RulesCheckArgs};
use crate::error::{Error, RefusedKind, Result, RuleError};
use crate::model::problem::Problem;
use crate::model::reference::RefTable;
use crate::plan::outlet::{Changes, Outlet};
use crate::plan::planner::{self, Checked};
use crate::plan::reject::RejectedRow;
use crate::progress::Progress;
use crate::render::json::CheckDocument;
use crate::render::table::{stdout_error, ProblemTable};
use crate::rules::{read_table_csv, run_examples, RefTables, RulePack};
use crate::store::plans::{StoredProblem, StoredReject};
use crate::store::refs;

/// The exit status of `rules check --data` when a row is rejected: the bit `plan
/// --detailed-exitcode` gives rejected rows.
const EXIT_REJECTED: i32 = 4;

/// Compiles every file of the pack and prints the order in which hooks and checks run; with
/// `--data`, runs the files through the pack and lists their problems instead. With
/// `--output json`, a broken pack is also reported as a document naming its place.
pub(super) fn check(globals: &Globals, args: &RulesCheckArgs, out: &mut dyn Write) -> Result<i32> {
    let pack = match RulePack::load(&globals.rules, &globals.tenant) {
        Err(Error::Rules(error)) if args.output == Output::Json => {
            write_pack_error(out, &globals.tenant, &error)?;
            return Err(Error::Rules(error));
        }
        loaded => loaded?,
    };
    if !args.data.is_empty() {
        return check_data(globals, &pack, args, out);
    }
    writeln!(
        out,
        "Rules of tenant `{}` compile. Each row runs through:",
        globals.tenant
    )
    .map_err(stdout_error)?;
    for step in pack.describe() {
        writeln!(out, "  {step}").map_err(stdout_error)?;
    }
    Ok(0)
}

/// Runs the files of `--data` through the rules and the checks between their rows; lookups
/// use the tenant's stored reference tables. Stores nothing.
fn check_data(
    globals: &Globals,
    pack: &RulePack,
    args: &RulesCheckArgs,
    out: &mut dyn Write,
) -> Result<i32> {
    let files = file_names(&args.data)?;
    let read = read_options(&args.read);
    let tables = match globals.db.exists() {
        true => refs::all(&open_existing(globals)?.conn, &globals.tenant)?,
        false => Vec::new(),
    };
    let refs = Arc::new(RefTables::new(tables));
    let progress = Progress::counter("checking", Progress::wanted(globals.quiet));
    let mut rejects = Vec::new();
    let mut run = |problem: &mut dyn FnMut(&Problem) -> Result<()>| {
        let mut findings = Findings {
            problem,
            rejects: args.rejects.is_some().then_some(&mut rejects),
        };
        let (checked, probe) = planner::check(
            pack,
            refs.clone(),
            &files,
            &read,
            &progress,
            &mut findings,
            true,
        )?;
        let declarative = match probe {
            Some(probe) => probe.confirm(pack.settings().list_separator, &files, &read)?,
            None => None,
        };
        Ok::<_, Error>((checked, declarative))
    };
    let checked = match args.output {
        Output::Json => {
            // Held until the check ends, so that a check that fails prints no half document.
            let mut held = Vec::new();
            let mut document = CheckDocument::begin(&mut held, &globals.tenant)?;
            let (checked, declarative) = run(&mut |problem| document.problem(&problem.into()))?;
            document.finish(&checked, declarative.as_deref())?;
            out.write_all(&held).map_err(stdout_error)?;
            checked
        }
        Output::Table => {
            let shown = match args.limit {
                0 => usize::MAX,
                limit => limit,
            };
            let (mut listed, mut total) = (Vec::new(), 0);
            let (checked, declarative) = run(&mut |problem| {
                total += 1;
                if listed.len() < shown {
                    listed.push(StoredProblem::from(problem));
                }
                Ok(())
            })?;
            let mut table = ProblemTable::new(total);
            listed.iter().for_each(|problem| table.push(problem));
            table.write(out)?;
            writeln!(out, "{}", check_line(&globals.tenant, &checked)).map_err(stdout_error)?;
            if let Some(toml) = declarative {
                let hint = declarative_hint(&globals.tenant, checked.rows);
                writeln!(out, "\n{hint}\n\n{}", toml.trim_end()).map_err(stdout_error)?;
            }
            checked
        }
    };
    if let Some(path) = &args.rejects {
        let written = write_rejects(path, &mut |visit| rejects.iter().try_for_each(&mut *visit))?;
        rejects_note(globals, path, written);
    }
    Ok(match checked.rejected {
        0 => 0,
        _ => EXIT_REJECTED,
    })
}

/// A check's findings: problems to the output, rejected rows kept for `--rejects`.
struct Findings<'f> {
    problem: &'f mut dyn FnMut(&Problem) -> Result<()>,
    rejects: Option<&'f mut Vec<StoredReject>>,
}

/// A check makes no changes: it takes only problems and rejected rows.
impl Outlet for Findings<'_> {
    fn problem(&mut self, problem: &Problem) -> Result<()> {
        (self.problem)(problem)
    }

    fn rejected(&mut self, row: RejectedRow, _problems: usize) -> Result<()> {
        if let Some(rejects) = &mut self.rejects {
            rejects.push(row.into());
        }
        Ok(())
    }

    fn changes(&mut self) -> Option<&mut dyn Changes> {
        None
    }

    /// Only `--rejects` writes the cells of rejected rows.
    fn wants_cells(&self) -> bool {
        self.rejects.is_some()
    }
}

/// `Checked 3 rows against the rules of tenant `acme`: 1 rejected, 2 warnings.`
fn check_line(tenant: &str, checked: &Checked) -> String {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "Checked {} against the rules of tenant `{tenant}`: {} rejected, {}.",
        plural(checked.rows, "row"),
        checked.rejected,
        plural(checked.warnings, "warning")
    )
}

/// Says that the map hooks only did what `[map]` (printed after it) does.
fn declarative_hint(tenant: &str, rows: u64) -> String {
    format!(
        "The map hook of tenant `{tenant}` does only what [map] does on these {rows} row{}; \
         this in tenant.toml instead skips the interpreter (see docs/rules.md):",
        if rows == 1 { "" } else { "s" }
    )
}

/// Runs `rules/<tenant>/tests/*.json`; lookups use the tenant's stored reference tables,
/// or the pack's own `tests/refs/<table>.csv` when it ships them.
pub(super) fn test(globals: &Globals, out: &mut dyn Write) -> Result<i32> {
    let pack = RulePack::load(&globals.rules, &globals.tenant)?;
    let tenant_dir = globals.rules.join(&globals.tenant);
    let mut tables = match globals.db.exists() {
        true => refs::all(&open_existing(globals)?.conn, &globals.tenant)?,
        false => Vec::new(),
    };
    for shipped in shipped_refs(&tenant_dir)? {
        tables.retain(|t| !t.name.eq_ignore_ascii_case(&shipped.name));
        tables.push(shipped);
    }
    let results = run_examples(&pack, Arc::new(RefTables::new(tables)), &tenant_dir)?;
    let failed = results.iter().filter(|r| !r.passed).count();
    for result in &results {
        let verdict = if result.passed { "pass" } else { "FAIL" };
        writeln!(out, "{verdict}  {}", result.name).map_err(stdout_error)?;
        for line in result.diff.lines() {
            writeln!(out, "      {line}").map_err(stdout_error)?;
        }
    }
    writeln!(out, "{} passed, {failed} failed", results.len() - failed).map_err(stdout_error)?;
    if failed > 0 {
        return Err(Error::refused(
            RefusedKind::Examples,
            format!(
                "{failed} of the {} examples of tenant `{}` failed; see the differences above",
                results.len(),
                globals.tenant
            ),
        ));
    }
    Ok(0)
}

fn shipped_refs(tenant_dir: &std::path::Path) -> Result<Vec<RefTable>> {
    let dir = tenant_dir.join("tests").join("refs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            read_table_csv(&name, path)
        })
        .collect()
}

/// `{"tenant": …, "error": {"file", "line", "column", "message"}}`: a broken pack, for
/// programs (the message goes to stderr as for every error).
fn write_pack_error(out: &mut dyn Write, tenant: &str, error: &RuleError) -> Result<()> {
    let document = serde_json::json!({ "tenant": tenant, "error": error });
    let text = serde_json::to_string_pretty(&document).expect("plain data serialises");
    writeln!(out, "{text}").map_err(stdout_error)
}
