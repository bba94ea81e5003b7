//! Tenant rules (interim: the built-in column mapping only; the full engine lands with issue 3).

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::map::map_columns;
use crate::plan::problem::Problem;
use crate::read::Row;
use crate::user::{Field, Op, User};

/// A tenant's rule pack.
pub struct RulePack {
    digest: String,
    settings: Settings,
}

/// The tenant's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Separator of list items in text cells.
    pub list_separator: char,
    /// The largest share of users a plan may delete, in percent.
    pub max_delete_percent: Option<f64>,
    /// The Field Squared workspace.
    pub fieldsquared_workspace: Option<String>,
    /// The eSystems field to upsert by.
    pub esystems_key_field: Option<String>,
    /// What a Field Squared export does with a delete.
    pub fieldsquared_delete: DeletePolicy,
}

/// What to do with a delete the vendor cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeletePolicy {
    /// Send the user disabled, with a warning.
    #[default]
    Deactivate,
    /// Refuse the export.
    Refuse,
}

/// Reference tables for lookups.
pub struct RefTables;

impl RefTables {
    /// No tables.
    pub fn empty() -> RefTables {
        RefTables
    }
}

/// A row after the rules.
pub struct Evaluated {
    /// The operation.
    pub op: Op,
    /// The user.
    pub user: User,
    /// Problems found.
    pub problems: Vec<Problem>,
    /// Columns that are not canonical.
    pub unknown_columns: Vec<String>,
}

/// Runs rows through the pack.
pub struct Evaluator {
    separator: char,
}

impl RulePack {
    /// Loads a tenant's pack.
    pub fn load(rules_dir: &Path, tenant: &str) -> Result<RulePack> {
        let folder = rules_dir.join(tenant);
        if tenant != "default" && !folder.is_dir() {
            return Err(Error::UnknownTenant {
                tenant: tenant.to_string(),
                folder,
                known: String::new(),
            });
        }
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .map(|dir| {
                dir.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let mut bytes = Vec::new();
        for file in files {
            bytes.extend(file.to_string_lossy().as_bytes());
            bytes.extend(std::fs::read(&file).unwrap_or_default());
        }
        Ok(RulePack {
            digest: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)),
            settings: Settings {
                list_separator: ';',
                max_delete_percent: None,
                fieldsquared_workspace: None,
                esystems_key_field: None,
                fieldsquared_delete: DeletePolicy::Deactivate,
            },
        })
    }

    /// The digest of the pack's files.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Fields with `Unique`.
    pub fn unique_fields(&self) -> Vec<Field> {
        Vec::new()
    }

    /// An evaluator for one thread.
    pub fn evaluator(&self, _refs: Arc<RefTables>) -> Result<Evaluator> {
        Ok(Evaluator {
            separator: self.settings.list_separator,
        })
    }
}

impl Evaluator {
    /// Runs the pack's `export_<vendor>` hook on a payload item (interim: none).
    pub fn export_hook(
        &mut self,
        _vendor: &str,
        _user: &serde_json::Value,
        item: serde_json::Value,
    ) -> Result<serde_json::Value> {
        Ok(item)
    }

    /// Maps and checks one row.
    pub fn evaluate(&mut self, row: &Row) -> Result<Evaluated> {
        let m = map_columns(row.columns.iter().map(|(k, v)| (&**k, v)), self.separator);
        let key = m.user.key().map(str::to_string);
        Ok(Evaluated {
            op: m.op,
            problems: m
                .problems
                .into_iter()
                .map(|p| p.at(&row.position, key.as_deref()))
                .collect(),
            user: m.user,
            unknown_columns: m.unknown_columns,
        })
    }
}
