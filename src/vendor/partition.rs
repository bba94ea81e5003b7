//! A ServicePower plan cut into batches by its keys alone, for `push`: its batches are runs
//! of `batch_size` changes in order, so only the changes whose records can refuse the export
//! or warn are read and decoded (updates, which may rename a user, and users whose password
//! the plan sets but no longer holds); the body of each batch is made when it is sent. The
//! same read gives the place of each change by key, which `push` needs to make them again.

use std::collections::HashMap;

use super::manifest::ManifestFile;
use super::{file_name, servicepower, Counts, ExportUser, Operation, Vendor};
use crate::error::Result;
use crate::model::change::Action;
use crate::store::plans::{self, PlanHeader};

/// A plan's batches without their bodies, and what is reported about them.
#[derive(Debug, Default)]
pub struct Partition {
    /// Their manifest entries, in order.
    pub files: Vec<ManifestFile>,
    /// What the vendor cannot express that is sent another way.
    pub warnings: Vec<String>,
    /// Passwords the plan sets that an earlier export already wiped.
    pub wiped_passwords: usize,
    /// The place (`seq`) of each change, by key, when the partition read them on its way.
    pub seqs: Option<HashMap<String, i64>>,
}

/// The batches of a ServicePower plan exported without a hook, `size` users each, as
/// `Outbox::make_all` cuts them, with the same refusals and the passwords already wiped;
/// `secrets` are the plain passwords the plan still holds, by key.
pub(super) fn servicepower(
    conn: &rusqlite::Connection,
    plan: &PlanHeader,
    size: usize,
    secrets: &HashMap<String, String>,
) -> Result<Partition> {
    let mut partition = Partition::default();
    let mut seqs = HashMap::new();
    plans::for_each_change_outline(conn, plan.id, |change| {
        let password = secrets.get(&change.key);
        let may_wipe = change.mentions_password && password.is_none();
        if change.action == Action::Update || may_wipe {
            if let Some(stored) = plans::stored_change_at(conn, plan.id, change.seq)? {
                let user = ExportUser::from_stored(stored, password.cloned())?;
                servicepower::refuse_rename(&user)?;
                if user.password.is_none() && user.plan_sets_password() {
                    partition.wiped_passwords += 1;
                }
            }
        }
        let files = &mut partition.files;
        if files.last().is_none_or(|file| file.keys.len() == size) {
            files.push(ManifestFile {
                file: file_name(Vendor::ServicePower, files.len()),
                plan_id: 0,
                method: servicepower::METHOD.to_string(),
                path: servicepower::PATH.to_string(),
                counts: Counts::default(),
                keys: Vec::with_capacity(size.min(1 << 12)),
                deleted_by_sync: Vec::new(),
            });
        }
        let file = files.last_mut().expect("a batch was just opened");
        file.counts.count(match change.action {
            Action::Create => Operation::Create,
            Action::Update => Operation::Update,
            Action::Delete => Operation::Delete,
        });
        seqs.insert(change.key.clone(), change.seq);
        file.keys.push(change.key);
        Ok(())
    })?;
    partition.seqs = Some(seqs);
    Ok(partition)
}
