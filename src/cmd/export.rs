//! `roster export`: a stored plan as vendor payload files plus `manifest.json`.
//!
//! The files are written to a private temporary folder beside `--out` and renamed into place
//! in the same step that wipes the plan's passwords from the workspace, so a crash leaves
//! either no folder or a whole one, and a password is never handed out twice.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{load_pack, location_field, open_existing, Hint};
use crate::cli::{Cli, ExportArgs};
use crate::error::{Error, Result};
use crate::overlap::Overlap;
use crate::progress::Progress;
use crate::render::table::stdout_error;
use crate::rules::{Evaluators, RefTables};
use crate::store::plans::{self, PlanHeader, StoredChange};
use crate::store::standing::{plan_standing, Standing};
use crate::store::{refs, state};
use crate::vendor::manifest::{Manifest, ManifestFile};
use crate::vendor::{self, Context, Counts, ExportUser, Hook, Vendor};
use rayon::prelude::*;

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
    let mut workspace = open_existing(cli)?;
    let conn = &workspace.conn;
    let plan = plans::find(conn, &cli.tenant, &args.plan)?;
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
    let tables = refs::all(conn, &cli.tenant)?;
    let locations = location_field(pack.settings(), &tables, vendor == Vendor::ESystems)?;
    let refs = Arc::new(RefTables::new(tables));
    let evaluators = pack.evaluators(refs)?;
    let progress = Progress::bar("exporting", total, Progress::wanted(cli.quiet));
    let mut files = Files::create(&args.out, vendor)?;
    let exporter = ChunkExporter {
        vendor,
        folder: files.temp.clone(),
        context: Context {
            plan_id: plan.id,
            sync: plan.sync,
            batch_size,
            settings: pack.settings(),
            workspace: args.workspace.as_deref(),
            first_batch: 0,
            locations: &locations,
        },
        secrets: &secrets,
        evaluators,
    };
    let written = if vendor == Vendor::ESystems {
        export_whole(conn, &plan, standing, &exporter, &mut files, &progress)
    } else {
        export_in_chunks(conn, &plan, &exporter, &mut files, &progress)
    };
    progress.finish();
    let manifest = match written.and_then(|_| files.manifest(&plan)) {
        Ok(manifest) => manifest,
        Err(error) => return Err(discard(&files.temp, error)),
    };
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
    if files.wiped_passwords > 0 {
        eprintln!(
            "warning: plan {} sets {} password(s) that an earlier export already wrote and wiped; these files leave passwords unchanged",
            plan.id, files.wiped_passwords
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

/// Exports the whole plan at once: eSystems puts each location's users in the same files, and
/// a `--sync` export adds every remaining user of the state.
fn export_whole(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    standing: Standing,
    exporter: &ChunkExporter,
    files: &mut Files,
    progress: &Progress,
) -> Result<()> {
    let mut changes = Vec::new();
    plans::for_each_stored_change(conn, plan.id, |change| {
        changes.push(change);
        Ok(())
    })?;
    let remaining = |changed: &[ExportUser]| {
        if plan.sync {
            remaining_users(conn, plan, standing, changed)
        } else {
            Ok(Vec::new())
        }
    };
    files.record(exporter.export(changes, 0, remaining)?, progress);
    Ok(())
}

/// Exports the plan's changes a chunk at a time: the chunks of a round are turned into files
/// on the worker threads while this thread reads the next round, so a million-user plan never
/// sits in memory. Batches are consecutive runs of the changes, so every chunk but the last
/// makes the same number of files, and each chunk knows the number of its first file.
fn export_in_chunks(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    exporter: &ChunkExporter,
    files: &mut Files,
    progress: &Progress,
) -> Result<()> {
    let batch_size = exporter.context.batch_size;
    let files_per_chunk = (EXPORT_CHUNK_USERS / batch_size).max(1);
    let chunk_size = batch_size * files_per_chunk;
    let round_size = rayon::current_num_threads().max(1);
    std::thread::scope(|scope| -> Result<()> {
        let mut overlap = Overlap::new(scope);
        let mut chunks_handed = 0;
        let mut hand_over = |round: Option<Vec<Vec<StoredChange>>>, files: &mut Files| {
            let job = round.map(|round| {
                let first_chunk = chunks_handed;
                chunks_handed += round.len();
                move || {
                    let export = |(n, chunk)| {
                        let first_batch = (first_chunk + n) * files_per_chunk;
                        exporter.export_batch_by_batch(chunk, first_batch)
                    };
                    let done: Vec<Result<Written>> =
                        round.into_par_iter().enumerate().map(export).collect();
                    done.into_iter().collect::<Result<Vec<_>>>()
                }
            });
            for written in overlap.hand_over(job)?.into_iter().flatten() {
                files.record(written, progress);
            }
            Ok(())
        };
        let mut round = Vec::with_capacity(round_size);
        let mut chunk = Vec::with_capacity(chunk_size);
        plans::for_each_stored_change(conn, plan.id, |change| {
            chunk.push(change);
            if chunk.len() == chunk_size {
                round.push(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(chunk_size),
                ));
                if round.len() == round_size {
                    hand_over(Some(std::mem::take(&mut round)), files)?;
                }
            }
            Ok(())
        })?;
        if !chunk.is_empty() {
            round.push(chunk);
        }
        if !round.is_empty() {
            hand_over(Some(round), files)?;
        }
        hand_over(None, files)
    })
}

/// Turns stored changes into payload files in the temporary folder; shared by the worker
/// threads.
struct ChunkExporter<'a> {
    vendor: Vendor,
    folder: PathBuf,
    /// The context of the export's first file.
    context: Context<'a>,
    secrets: &'a HashMap<String, String>,
    evaluators: Evaluators,
}

impl ChunkExporter<'_> {
    /// Writes the files of a run of changes one batch at a time, the first numbered
    /// `first_batch` (0-based): a batch's users are decoded, written and dropped while they
    /// are still in the cache, and a chunk never holds all its decoded users at once.
    fn export_batch_by_batch(
        &self,
        changes: Vec<StoredChange>,
        first_batch: usize,
    ) -> Result<Written> {
        let mut changes = changes.into_iter();
        let mut written = Written::default();
        for number in first_batch.. {
            let batch: Vec<StoredChange> = changes.by_ref().take(self.context.batch_size).collect();
            if batch.is_empty() {
                break;
            }
            written.add(self.export(batch, number, |_: &[ExportUser]| Ok(Vec::new()))?);
        }
        Ok(written)
    }

    /// Writes the files of a run of changes, the first numbered `first_batch` (0-based).
    /// `remaining` adds the users a `--sync` export must send unchanged.
    fn export(
        &self,
        changes: Vec<StoredChange>,
        first_batch: usize,
        remaining: impl FnOnce(&[ExportUser]) -> Result<Vec<ExportUser>>,
    ) -> Result<Written> {
        let mut wiped_passwords = 0;
        let mut users: Vec<ExportUser> = changes
            .into_iter()
            .map(|stored| {
                let password = self.secrets.get(&stored.key).cloned();
                let user = ExportUser::from_stored(stored, password);
                if user.password.is_none() && user.plan_sets_password() {
                    wiped_passwords += 1;
                }
                user
            })
            .collect();
        let changed = users.len();
        users.extend(remaining(&users)?);
        let context = Context {
            first_batch,
            ..self.context
        };
        let vendor = self.vendor.name();
        let export = self.evaluators.with(|evaluator| {
            let hooked = evaluator.has_export_hook(vendor);
            let mut hook =
                |user: &ExportUser, item| evaluator.export_hook(vendor, || user.hook_user(), item);
            let hook: Option<&mut Hook> = if hooked { Some(&mut hook) } else { None };
            vendor::export(self.vendor, &users, &context, hook)
        })?;
        let mut files = Vec::with_capacity(export.batches.len());
        let mut passwords = 0;
        for (number, batch) in (first_batch..).zip(export.batches) {
            let file = vendor::file_name(self.vendor, number);
            write_new(&self.folder.join(&file), &batch.body)?;
            passwords += batch.passwords;
            files.push(ManifestFile {
                file,
                plan_id: 0,
                method: batch.method.to_string(),
                path: batch.path,
                counts: batch.counts,
                keys: batch.keys,
                deleted_by_sync: batch.deleted_by_sync,
            });
        }
        Ok(Written {
            files,
            passwords,
            warnings: export.warnings,
            changes: changed,
            wiped_passwords,
        })
    }
}

/// The files written for a run of changes, and what is reported about them.
#[derive(Default)]
struct Written {
    files: Vec<ManifestFile>,
    /// How many of their items set a password.
    passwords: usize,
    warnings: Vec<String>,
    /// How many of the plan's changes the files hold.
    changes: usize,
    /// Passwords the plan sets that an earlier export already wiped.
    wiped_passwords: usize,
}

impl Written {
    /// Adds the files written for the next run of changes.
    fn add(&mut self, next: Written) {
        self.files.extend(next.files);
        self.passwords += next.passwords;
        self.warnings.extend(next.warnings);
        self.changes += next.changes;
        self.wiped_passwords += next.wiped_passwords;
    }
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
    temp: PathBuf,
    vendor: Vendor,
    entries: Vec<ManifestFile>,
    counts: Counts,
    passwords: usize,
    wiped_passwords: usize,
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
            wiped_passwords: 0,
            warnings: Vec::new(),
        })
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
        write_json(&self.temp.join(Manifest::FILE), &manifest)?;
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

/// The users a `--sync` plan leaves alone: eSystems' `DeleteNotExists` deletes every user of
/// a location missing from the request, so they must be sent too. They come from the state,
/// which must be the one the plan was made against, or the one its apply left: not even
/// `--force` exports a stale plan's sync.
fn remaining_users(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    standing: Standing,
    changed: &[ExportUser],
) -> Result<Vec<ExportUser>> {
    if standing.is_stale() {
        return Err(Error::Refused(format!(
            "plan {} is stale: the state of tenant `{}` changed since it was made, and an eSystems `--sync` export must list every remaining user of each location; plan again with `roster plan FILE… --sync`",
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

/// Writes `value` as [`vendor::pretty`] JSON.
fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    std::fs::write(path, vendor::pretty(value)).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
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
        let results = Hint::new(cli)
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
