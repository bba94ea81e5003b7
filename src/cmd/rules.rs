//! `roster rules check|test`: compile and lint a tenant's pack; run its own examples.

use std::io::Write;
use std::sync::Arc;

use super::open_workspace;
use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::render::table::stdout_error;
use crate::rules::{run_examples, RefTable, RefTables, RulePack};
use crate::store::refs;

/// Compiles every file of the pack and prints the order in which hooks and checks run.
pub fn check(cli: &Cli, out: &mut dyn Write) -> Result<i32> {
    let pack = RulePack::load(&cli.rules, &cli.tenant)?;
    writeln!(
        out,
        "Rules of tenant `{}` compile. Each row runs through:",
        cli.tenant
    )
    .map_err(stdout_error)?;
    for step in pack.describe() {
        writeln!(out, "  {step}").map_err(stdout_error)?;
    }
    Ok(0)
}

/// Runs `rules/<tenant>/tests/*.json`; lookups use the tenant's stored reference tables,
/// or the pack's own `tests/refs/<table>.csv` when it ships them.
pub fn test(cli: &Cli, out: &mut dyn Write) -> Result<i32> {
    let pack = RulePack::load(&cli.rules, &cli.tenant)?;
    let tenant_dir = cli.rules.join(&cli.tenant);
    let mut tables = match cli.db.exists() {
        true => refs::all(&open_workspace(cli)?.conn, &cli.tenant)?,
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
        return Err(Error::Refused(format!(
            "{failed} of the {} examples of tenant `{}` failed; see the differences above",
            results.len(),
            cli.tenant
        )));
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
            RefTable::read_csv(&name, path)
        })
        .collect()
}
