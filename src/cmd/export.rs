//! `roster export`: a stored plan as vendor payload files plus `manifest.json`.
//!
//! The files are written to a private temporary folder beside `--out` and renamed into place
//! in the same step that wipes the plan's passwords from the workspace, so a crash leaves
//! either no folder or a whole one, and a password is never handed out twice.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tempfile::TempDir;

use super::{load_pack, location_field, open_existing, Hint};
use crate::cli::{ExportArgs, Globals};
use crate::error::{Error, Result};
use crate::model::vendor::Vendor;
use crate::progress::Progress;
use crate::render::table::stdout_error;
use crate::rules::RefTables;
use crate::store::plans::{self, PlanHeader};
use crate::store::refs;
use crate::store::standing::{plan_standing, Standing};
use crate::vendor::manifest::{Manifest, ManifestFile};
use crate::vendor::outbox::{Outbox, Written};
use crate::vendor::{self, Context, Counts};

pub(super) fn run(globals: &Globals, args: &ExportArgs, out: &mut dyn Write) -> Result<i32> {
    let vendor = args.vendor;
    let batch_size = args.batch_size.unwrap_or(vendor.default_batch_size());
    if batch_size == 0 {
        return Err(Error::Usage(format!(
            "`--batch-size 0` would put no user in any file; give 1 or more (the default for {vendor} is {})",
            vendor.default_batch_size()
        )));
    }
    check_out(&args.out)?;
    let pack = load_pack(globals)?;
    let mut workspace = open_existing(globals)?;
    let conn = &workspace.conn;
    let plan = plans::find(conn, &globals.tenant, &args.plan)?;
    let standing = plan_standing(conn, &plan, pack.digest())?;
    standing.require_exportable(&plan, args.force)?;
    if let Standing::Stale {
        applied_by: Some(apply),
        moved,
    } = standing
    {
        eprintln!(
            "warning: plan {} is stale: the {moved} of tenant `{}` changed since apply {apply}; writing its payloads as they were, as `--force` asks",
            plan.id, plan.tenant
        );
    }
    let total = plan.summary.create + plan.summary.update + plan.summary.delete;
    if total == 0 {
        writeln!(
            out,
            "Plan {} has no changes: no payload files written.",
            plan.id
        )
        .map_err(stdout_error)?;
        return Ok(0);
    }
    let secrets = plans::secrets(conn, plan.id)?;
    let tables = refs::all(conn, &globals.tenant)?;
    let locations = location_field(pack.settings(), &tables, vendor == Vendor::ESystems)?;
    let refs = Arc::new(RefTables::new(tables));
    let evaluators = pack.evaluators(refs)?;
    let progress = Progress::bar("exporting", total, Progress::wanted(globals.quiet));
    let temp = create_temp(&args.out)?;
    let mut files = Files::new(temp.path().to_path_buf(), vendor);
    let outbox = Outbox {
        vendor,
        context: Context {
            plan_id: plan.id,
            sync: plan.sync,
            batch_size,
            settings: pack.settings(),
            workspace: args.workspace.as_deref(),
            first_batch: 0,
            locations: &locations,
            bodies: true,
        },
        secrets: &secrets,
        evaluators,
    };
    let folder = files.folder.clone();
    let keep = |file: &str, body: &[u8]| write_new(&folder.join(file), body);
    let written = outbox.make_all(conn, &plan, standing, &keep, &mut |written| {
        files.record(written, &progress)
    });
    progress.finish();
    // On any failure before `place`, dropping `temp` removes the folder and its files.
    written?;
    let manifest = files.manifest(&plan)?;
    let tx = workspace.write()?;
    plans::wipe_secrets(&tx, plan.id)?;
    place(temp, &args.out)?;
    if let Err(error) = tx.commit() {
        // The passwords stay in the workspace, so the folder holding them must go.
        let _ = std::fs::remove_dir_all(&args.out);
        return Err(error.into());
    }
    for warning in &files.warnings {
        eprintln!("warning: {warning}");
    }
    if files.wiped_passwords > 0 {
        eprintln!(
            "warning: plan {} sets {} password(s) that an earlier export already wrote and wiped; these files leave passwords unchanged",
            plan.id, files.wiped_passwords
        );
    }
    report(
        out,
        globals,
        &args.out,
        &manifest,
        files.passwords,
        secrets.len(),
    )?;
    Ok(0)
}

/// Creates a file that must not exist yet, with `bytes`.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create_new(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)
}

/// The payload files of an export, written into a private temporary folder as they come.
struct Files {
    folder: PathBuf,
    vendor: Vendor,
    entries: Vec<ManifestFile>,
    counts: Counts,
    passwords: usize,
    wiped_passwords: usize,
    warnings: Vec<String>,
}

impl Files {
    /// Files to be written into `folder`.
    fn new(folder: PathBuf, vendor: Vendor) -> Files {
        Files {
            folder,
            vendor,
            entries: Vec::new(),
            counts: Counts::default(),
            passwords: 0,
            wiped_passwords: 0,
            warnings: Vec::new(),
        }
    }

    /// Records written files as the next ones.
    fn record(&mut self, written: Written, progress: &Progress) {
        self.warnings.extend(written.warnings);
        self.wiped_passwords += written.wiped_passwords;
        self.passwords += written.passwords;
        for entry in written.files {
            assert_eq!(
                entry.file,
                vendor::file_name(self.vendor, self.entries.len()),
                "the files of an export are numbered in order"
            );
            self.counts.add(&entry.counts);
            self.entries.push(entry);
        }
        progress.inc(written.changes as u64);
    }

    /// Writes `manifest.json` and returns it.
    fn manifest(&mut self, plan: &PlanHeader) -> Result<Manifest> {
        let manifest = Manifest {
            plan_id: plan.id,
            tenant: plan.tenant.clone(),
            vendor: self.vendor,
            applied: plan.applied_by.is_some(),
            applied_by: plan.applied_by,
            passwords: self.passwords > 0,
            counts: self.counts,
            files: std::mem::take(&mut self.entries)
                .into_iter()
                .map(|entry| ManifestFile {
                    plan_id: plan.id,
                    ..entry
                })
                .collect(),
        };
        write_json(&self.folder.join(Manifest::FILE), &manifest)?;
        Ok(manifest)
    }
}

/// Refuses an `--out` that holds anything, or is not a folder.
fn check_out(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    let empty = out.is_dir()
        && std::fs::read_dir(out)
            .map_err(|source| Error::Write {
                path: out.to_path_buf(),
                source,
            })?
            .next()
            .is_none();
    if empty {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "`--out {}` already exists and is not an empty folder; name a new folder, so no earlier payload is overwritten or mixed in",
            out.display()
        )))
    }
}

/// Creates a new private folder (mode 0700) beside `out` for the files, named
/// `.{out}.roster-{pid}-{random}` so a later export can tell whether its process still runs.
/// Dropped unplaced (any failure), the folder and what it holds are removed.
fn create_temp(out: &Path) -> Result<TempDir> {
    let name = out
        .file_name()
        .ok_or_else(|| Error::Usage(format!("`--out {}` names no folder", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.roster-", name.to_string_lossy());
    remove_abandoned(parent, &prefix);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir_in(parent)
        .map_err(|source| Error::Write {
            path: out.to_path_buf(),
            source,
        })
}

/// Removes the temporary folders (`{prefix}{pid}-…`) that killed exports to the same `--out`
/// left behind: those whose process is gone. Only where `/proc` tells which processes run.
fn remove_abandoned(parent: &Path, prefix: &str) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        let gone = pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists();
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes `value` as [`vendor::pretty`] JSON.
fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    std::fs::write(path, vendor::pretty(value)).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Renames the finished folder to `out` (replacing an empty folder there).
fn place(temp: TempDir, out: &Path) -> Result<()> {
    let error = |source| Error::Write {
        path: out.to_path_buf(),
        source,
    };
    if out.is_dir() {
        std::fs::remove_dir(out).map_err(error)?;
    }
    std::fs::rename(temp.path(), out).map_err(error)?;
    // Renamed away: nothing is left for the guard to remove.
    let _ = temp.keep();
    Ok(())
}

fn report(
    out: &mut dyn Write,
    globals: &Globals,
    folder: &Path,
    manifest: &Manifest,
    passwords: usize,
    held: usize,
) -> Result<()> {
    let c = &manifest.counts;
    let files = manifest.files.len();
    let mut line = format!(
        "Wrote {files} {} file{} for plan {} to `{}`: {} to create, {} to update, {} to delete",
        manifest.vendor,
        if files == 1 { "" } else { "s" },
        manifest.plan_id,
        folder.display(),
        c.create,
        c.update,
        c.delete
    );
    if c.unchanged > 0 {
        line.push_str(&format!(
            ", {} unchanged sent so `DeleteNotExists` keeps them",
            c.unchanged
        ));
    }
    writeln!(out, "{line}.").map_err(stdout_error)?;
    if passwords > 0 {
        writeln!(
            out,
            "The files set {passwords} password(s); the workspace no longer holds them, so exporting plan {} again will not send them.",
            manifest.plan_id
        )
        .map_err(stdout_error)?;
    } else if held > 0 {
        writeln!(
            out,
            "The {held} password(s) plan {} held are not in these files and are now wiped from the workspace.",
            manifest.plan_id
        )
        .map_err(stdout_error)?;
    }
    if !globals.quiet {
        let results = Hint::new(globals)
            .args([
                "results",
                &manifest.plan_id.to_string(),
                "--vendor",
                manifest.vendor.name(),
            ])
            .glob_in(
                folder,
                &format!("{}-*.response.json", manifest.vendor.name()),
            );
        writeln!(
            out,
            "Send the files in the order of `{}`, save each answer beside its file as `NAME.response.json`, then map the answers back with {results}.",
            Path::new(folder).join(Manifest::FILE).display(),
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}
