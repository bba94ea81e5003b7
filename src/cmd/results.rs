//! `roster results`: a vendor's responses to exported batches, mapped back to each user's key,
//! source row and batch file, and recorded in the workspace for `history`.
//!
//! A response is matched to its batch by name: `servicepower-0001.response.json` answers
//! `servicepower-0001.json`, and must sit beside the export's `manifest.json`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use super::{open_existing, Hint};
use crate::cli::{Globals, Output, ResultsArgs};
use crate::error::{Error, NotFoundKind, Result};
use crate::model::vendor::{Status, Vendor};
use crate::render::table::{self, stdout_error};
use crate::store::vendor_results::{self, VendorResult};
use crate::store::{follow, plans};
use crate::vendor::manifest::Manifest;
use crate::vendor::results::Outcome;
use crate::vendor::{esystems, fieldsquared, servicepower};

/// The suffix that makes a batch file's name a response file's name.
const RESPONSE_SUFFIX: &str = ".response.json";

pub(super) fn run(globals: &Globals, args: &ResultsArgs, out: &mut dyn Write) -> Result<i32> {
    let mut workspace = open_existing(globals)?;
    let plan = plans::find(&workspace.conn, &globals.tenant, &args.plan)?;
    if args.files.is_empty() {
        let recorded = vendor_results::of_plan(&workspace.conn, plan.id, args.vendor, false)?;
        show(out, globals, args, plan.id, &recorded, false)?;
        return Ok(0);
    }
    let mut sources = HashMap::new();
    plans::for_each_change(&workspace.conn, plan.id, |change| {
        sources.insert(change.key, change.source);
        Ok(())
    })?;
    let mut results = Vec::new();
    // Users a `DeleteNotExists` file deletes: loaded when the file was taken.
    let mut deleted = Vec::new();
    for file in &args.files {
        let (batch_file, manifest) = batch_of(file)?;
        if manifest.plan_id != plan.id || manifest.vendor != args.vendor {
            return Err(Error::Usage(format!(
                "`{}` answers an export of plan {} to {}, not plan {} to {}",
                file.display(),
                manifest.plan_id,
                manifest.vendor,
                plan.id,
                args.vendor
            )));
        }
        let entry = manifest.file(&batch_file).ok_or_else(|| {
            Error::not_found(
                NotFoundKind::Manifest,
                format!(
                    "`{}` answers `{batch_file}`, which the manifest beside it does not list",
                    file.display()
                ),
            )
        })?;
        let response = read_response(file)?;
        let outcomes = outcomes(args.vendor, &response, &entry.keys);
        let taken = !outcomes.iter().any(|o| o.status == Status::Failed);
        deleted.extend(entry.deleted_by_sync.iter().map(|key| (key.clone(), taken)));
        for outcome in outcomes {
            let key = entry.keys[outcome.index].clone();
            results.push(VendorResult {
                batch_file: batch_file.clone(),
                source: sources.get(&key).cloned().flatten(),
                key,
                status: outcome.status,
                path: outcome.path,
                message: outcome.message,
            });
        }
    }
    let tx = workspace.write()?;
    vendor_results::record(&tx, plan.id, args.vendor, &results)?;
    // The state follows the vendor: an applied plan's users it did not load are rolled back.
    let followed = match plan.applied_by {
        Some(apply) => {
            let seqs = plans::change_seqs(&tx, plan.id)?;
            let loaded = |status| matches!(status, Status::Accepted | Status::Warning);
            let verdicts = results
                .iter()
                .map(|r| (r.key.clone(), loaded(r.status)))
                .chain(deleted)
                .filter_map(|(key, loaded)| seqs.get(&key).map(|seq| (*seq, loaded)));
            follow::follow(
                &tx,
                plan.id,
                &plan.tenant,
                apply,
                args.vendor.name(),
                verdicts,
            )?
        }
        None => follow::Followed::default(),
    };
    tx.commit()?;
    show(out, globals, args, plan.id, &results, true)?;
    if args.output == Output::Table && followed.rolled_back + followed.applied > 0 {
        writeln!(
            out,
            "The state follows the vendor: {} user(s) rolled back to their record before plan {}, {} applied again; the next plan of the same input shows the rolled-back ones again.",
            followed.rolled_back, plan.id, followed.applied
        )
        .map_err(stdout_error)?;
    }
    Ok(0)
}

fn outcomes(vendor: Vendor, response: &Value, keys: &[String]) -> Vec<Outcome> {
    match vendor {
        Vendor::ServicePower => servicepower::outcomes(response, keys),
        Vendor::ESystems => esystems::outcomes(response, keys),
        Vendor::FieldSquared => fieldsquared::outcomes(response, keys),
    }
}

/// The batch file a response answers, and the manifest of its export.
fn batch_of(file: &Path) -> Result<(String, Manifest)> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let batch = name.strip_suffix(RESPONSE_SUFFIX).ok_or_else(|| {
        Error::Usage(format!(
            "`{}` is not named after a batch: save the answer to `servicepower-0001.json` as `servicepower-0001{RESPONSE_SUFFIX}`, beside the export's manifest.json",
            file.display()
        ))
    })?;
    let folder = file.parent().filter(|p| !p.as_os_str().is_empty());
    let manifest_path = folder.unwrap_or(Path::new(".")).join(Manifest::FILE);
    let text = std::fs::read_to_string(&manifest_path).map_err(|_| {
        Error::not_found(
            NotFoundKind::Manifest,
            format!(
                "there is no `{}` beside `{}`: keep each response in the export folder it answers",
                Manifest::FILE,
                file.display()
            ),
        )
    })?;
    let manifest = serde_json::from_str(&text).map_err(|e| {
        Error::input(
            format!("{}:{}", manifest_path.display(), e.line()),
            format!("not a roster export manifest: {e}"),
        )
    })?;
    Ok((format!("{batch}.json"), manifest))
}

/// The response as JSON; an empty file (a bare `200 OK`) is an empty object.
fn read_response(file: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(&text).map_err(|e| {
        Error::input(
            format!("{}:{}", file.display(), e.line()),
            format!("not a JSON response: {e}"),
        )
    })
}

fn show(
    out: &mut dyn Write,
    globals: &Globals,
    args: &ResultsArgs,
    plan_id: i64,
    results: &[VendorResult],
    recorded_now: bool,
) -> Result<()> {
    if args.output == Output::Json {
        serde_json::to_writer_pretty(&mut *out, results).map_err(|e| stdout_error(e.into()))?;
        return writeln!(out).map_err(stdout_error);
    }
    let rows = results
        .iter()
        .map(|r| {
            vec![
                r.status.as_str().to_string(),
                r.key.clone(),
                r.source.clone().unwrap_or_default(),
                r.batch_file.clone(),
                r.path.clone().unwrap_or_default(),
                r.message.clone(),
            ]
        })
        .collect();
    table::simple(
        out,
        &["status", "key", "source", "file", "path", "message"],
        rows,
    )?;
    let count = |status| results.iter().filter(|r| r.status == status).count();
    writeln!(
        out,
        "Plan {plan_id}, {}: {} accepted, {} with warnings, {} rejected, {} failed.",
        args.vendor,
        count(Status::Accepted),
        count(Status::Warning),
        count(Status::Rejected),
        count(Status::Failed)
    )
    .map_err(stdout_error)?;
    if !globals.quiet && recorded_now {
        writeln!(
            out,
            "Recorded in the workspace; {} shows the counts.",
            Hint::new(globals).arg("history")
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}
