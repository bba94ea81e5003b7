//! `roster export`: a stored plan as vendor payload files plus `manifest.json`.
//!
//! The files are written to a private temporary folder beside `--out` and renamed into place
//! in the same step that wipes the plan's passwords from the workspace, so a crash leaves
//! either no folder or a whole one, and a password is never handed out twice.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{load_pack, open_workspace};
use crate::cli::{Cli, ExportArgs};
use crate::error::{Error, Result};
use crate::plan::change::{Action, Change};
use crate::progress::Progress;
use crate::render::table::stdout_error;
use crate::rules::RefTables;
use crate::store::plans::{self, PlanHeader};
use crate::store::{applies, refs, state};
use crate::user::Field;
use crate::vendor::manifest::{Manifest, ManifestFile};
use crate::vendor::{self, Context, Counts, ExportUser, Vendor};

pub fn run(cli: &Cli, args: &ExportArgs, out: &mut dyn Write) -> Result<i32> {
    let vendor = args.vendor;
    let batch_size = args.batch_size.unwrap_or(vendor.default_batch_size());
    if batch_size == 0 {
        return Err(Error::Usage(format!(
            "`--batch-size 0` would put no user in any file; give 1 or more (the default for {vendor} is {})",
            vendor.default_batch_size()
        )));
    }
    check_out(&args.out)?;
    let pack = load_pack(cli)?;
    let mut workspace = open_workspace(cli)?;
    let conn = &workspace.conn;
    let plan = plans::find(conn, &cli.tenant, &args.plan)?;
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
    let refs = Arc::new(RefTables::new(refs::all(conn, &cli.tenant)?));
    let mut evaluator = pack.evaluator(refs)?;
    let mut hook =
        |user: &ExportUser, item| evaluator.export_hook(vendor.name(), || user.hook_user(), item);
    let context = Context {
        plan_id: plan.id,
        sync: plan.sync,
        batch_size,
        settings: pack.settings(),
        workspace: args.workspace.as_deref(),
        first_batch: 0,
    };
    let progress = Progress::bar("exporting", total, Progress::wanted(cli.quiet));
    let mut files = Files::create(&args.out, vendor)?;
    let mut wiped_passwords = 0;
    let written = (|| {
        let mut user_of = |change: Change| {
            let password = secrets.get(&change.key).cloned();
            if password.is_none() && sets_password(&change) {
                wiped_passwords += 1;
            }
            progress.inc(1);
            ExportUser::from_change(change, password)
        };
        if vendor == Vendor::ESystems {
            // Each location's users go in the same files, so the whole plan is grouped at once.
            let mut users = Vec::new();
            plans::for_each_change(conn, plan.id, |change| {
                users.push(user_of(change));
                Ok(())
            })?;
            if plan.sync {
                let remaining = remaining_users(conn, &plan, &users)?;
                users.extend(remaining);
            }
            return files.add(vendor::export(vendor, &users, &context, &mut hook)?);
        }
        // Batches are consecutive runs of the plan's changes: export a few at a time, so a
        // million-user plan never sits in memory.
        let chunk_size = batch_size * (EXPORT_CHUNK_USERS / batch_size).max(1);
        let mut chunk = Vec::with_capacity(chunk_size);
        let mut flush = |chunk: &mut Vec<ExportUser>, files: &mut Files| -> Result<()> {
            let context = Context {
                first_batch: files.count(),
                ..context
            };
            files.add(vendor::export(vendor, chunk, &context, &mut hook)?)?;
            chunk.clear();
            Ok(())
        };
        plans::for_each_change(conn, plan.id, |change| {
            chunk.push(user_of(change));
            if chunk.len() == chunk_size {
                flush(&mut chunk, &mut files)?;
            }
            Ok(())
        })?;
        if !chunk.is_empty() {
            flush(&mut chunk, &mut files)?;
        }
        Ok(())
    })();
    progress.finish();
    if let Err(error) = written {
        return Err(discard(&files.temp, error));
    }
    let manifest = files.manifest(&plan)?;
    let tx = match workspace.write() {
        Ok(tx) => tx,
        Err(error) => return Err(discard(&files.temp, error)),
    };
    let placed = plans::wipe_secrets(&tx, plan.id).and_then(|_| place(&files.temp, &args.out));
    if let Err(error) = placed {
        return Err(discard(&files.temp, error));
    }
    if let Err(error) = tx.commit() {
        // The passwords stay in the workspace, so the folder holding them must go.
        let _ = std::fs::remove_dir_all(&args.out);
        return Err(error.into());
    }
    for warning in &files.warnings {
        eprintln!("warning: {warning}");
    }
    if wiped_passwords > 0 {
        eprintln!(
            "warning: plan {} sets {wiped_passwords} password(s) that an earlier export already wrote and wiped; these files leave passwords unchanged",
            plan.id
        );
    }
    report(
        out,
        cli,
        &args.out,
        &manifest,
        files.passwords,
        secrets.len(),
    )?;
    Ok(0)
}

/// Users exported together: enough to amortise the per-call work, few enough to keep a
/// million-user export in tens of megabytes.
const EXPORT_CHUNK_USERS: usize = 10_000;

/// The payload files of an export, written into a private temporary folder as they come.
struct Files {
    temp: PathBuf,
    vendor: Vendor,
    entries: Vec<ManifestFile>,
    counts: Counts,
    passwords: usize,
    warnings: Vec<String>,
}

impl Files {
    /// Creates the temporary folder beside `out`.
    fn create(out: &Path, vendor: Vendor) -> Result<Files> {
        Ok(Files {
            temp: create_temp(out)?,
            vendor,
            entries: Vec::new(),
            counts: Counts::default(),
            passwords: 0,
            warnings: Vec::new(),
        })
    }

    /// Files written so far.
    fn count(&self) -> usize {
        self.entries.len()
    }

    /// Writes an export's batches as the next files.
    fn add(&mut self, export: vendor::Export) -> Result<()> {
        self.warnings.extend(export.warnings);
        for batch in export.batches {
            let file = vendor::file_name(self.vendor, self.entries.len());
            write_json(&self.temp.join(&file), &batch.body)?;
            self.passwords += passwords_in(&batch);
            self.counts.add(&batch.counts);
            self.entries.push(ManifestFile {
                file,
                plan_id: 0,
                method: batch.method.to_string(),
                path: batch.path,
                counts: batch.counts,
                keys: batch.keys,
                deleted_by_sync: batch.deleted_by_sync,
            });
        }
        Ok(())
    }

    /// Writes `manifest.json` and returns it.
    fn manifest(&mut self, plan: &PlanHeader) -> Result<Manifest> {
        let manifest = Manifest {
            plan_id: plan.id,
            tenant: plan.tenant.clone(),
            vendor: self.vendor,
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
        write_json(&self.temp.join(Manifest::FILE), &manifest)?;
        Ok(manifest)
    }
}

/// How many items of a batch set a password.
fn passwords_in(batch: &vendor::Batch) -> usize {
    batch.body["Users"].as_array().map_or(0, |users| {
        users.iter().filter(|u| u.get("Password").is_some()).count()
    })
}

/// Whether a change sets a password (whose plain text the plan may still hold).
fn sets_password(change: &Change) -> bool {
    let password = Field::Password.name();
    match change.action {
        Action::Create => change
            .after
            .as_ref()
            .is_some_and(|a| a.contains_key(password)),
        Action::Update => change
            .fields
            .iter()
            .any(|f| f.field == password && !f.after.is_null()),
        Action::Delete => false,
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

/// The users a `--sync` plan leaves alone: eSystems' `DeleteNotExists` deletes every user of
/// a location missing from the request, so they must be sent too. They come from the state,
/// which must be the one the plan was made against, or the one its apply left.
fn remaining_users(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    changed: &[ExportUser],
) -> Result<Vec<ExportUser>> {
    let current = match plan.applied_by {
        None => state::digest_hex(state::summary(conn, &plan.tenant)?.0) == plan.state_digest,
        Some(apply) => applies::latest(conn, &plan.tenant)? == Some(apply),
    };
    if !current {
        return Err(Error::Refused(format!(
            "plan {} is stale: the state of tenant `{}` changed since it was made, and an eSystems `--sync` export must list every remaining user of each location; run `roster plan --sync` again",
            plan.id, plan.tenant
        )));
    }
    let changed: HashSet<&str> = changed.iter().map(|u| u.key.as_str()).collect();
    let mut remaining = Vec::new();
    state::for_each(conn, &plan.tenant, |key, user| {
        if !changed.contains(key) {
            remaining.push(ExportUser::unchanged(key, user.record, user.platform_ids));
        }
        Ok(())
    })?;
    Ok(remaining)
}

/// Creates a new private folder beside `out` for the files.
fn create_temp(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .ok_or_else(|| Error::Usage(format!("`--out {}` names no folder", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.roster-", name.to_string_lossy());
    remove_abandoned(parent, &prefix);
    let temp = parent.join(format!("{prefix}{}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&temp).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(temp)
}

/// Removes the temporary folders (`{prefix}{pid}`) that killed exports to the same `--out`
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
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let gone = pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists();
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Pretty JSON with a final newline: stable bytes for the same value.
fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let failed = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(failed)?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 16, file);
    serde_json::to_writer_pretty(&mut writer, value).map_err(|e| failed(e.into()))?;
    writer.write_all(b"\n").map_err(failed)?;
    writer.flush().map_err(failed)
}

/// Renames the finished folder to `out` (replacing an empty folder there).
fn place(temp: &Path, out: &Path) -> Result<()> {
    let error = |source| Error::Write {
        path: out.to_path_buf(),
        source,
    };
    if out.is_dir() {
        std::fs::remove_dir(out).map_err(error)?;
    }
    std::fs::rename(temp, out).map_err(error)
}

/// Removes the temporary folder after a failure, and passes the failure on.
fn discard(temp: &Path, error: impl Into<Error>) -> Error {
    let _ = std::fs::remove_dir_all(temp);
    error.into()
}

fn report(
    out: &mut dyn Write,
    cli: &Cli,
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
    if !cli.quiet {
        writeln!(
            out,
            "Send the files in the order of `{}`, then map the answers back with `roster results {} --vendor {} RESPONSE…`.",
            Path::new(folder).join(Manifest::FILE).display(),
            manifest.plan_id,
            manifest.vendor
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}
