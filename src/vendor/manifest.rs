//! `manifest.json`: what an export wrote, for the person (or script) that sends it and for
//! `roster results`, which finds each response's batch through it. No timestamps: exporting
//! the same plan twice writes the same bytes.

use serde::{Deserialize, Serialize};

use super::{Counts, Vendor};

/// The manifest of one export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The exported plan.
    pub plan_id: i64,
    /// The plan's tenant.
    pub tenant: String,
    /// The vendor the payloads are for.
    pub vendor: Vendor,
    /// Whether the plan had been applied to the state when it was exported.
    #[serde(default)]
    pub applied: bool,
    /// The apply that applied it (`roster history` lists it), if one had.
    #[serde(default)]
    pub applied_by: Option<i64>,
    /// Whether the files set passwords (only the first export of a plan can).
    pub passwords: bool,
    /// The users of all files, by operation.
    pub counts: Counts,
    /// The files, in the order to send them.
    pub files: Vec<ManifestFile>,
}

/// One payload file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The file name, beside the manifest.
    pub file: String,
    /// The plan it comes from.
    pub plan_id: i64,
    /// The HTTP method.
    pub method: String,
    /// The path with its placeholders filled, and its query.
    pub path: String,
    /// The users of the file, by operation.
    pub counts: Counts,
    /// The keys of the file's users, in order: `Users[i]` is `keys[i]`.
    pub keys: Vec<String>,
    /// Users the file deletes without an item (eSystems `DeleteNotExists`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_by_sync: Vec<String>,
}

impl Manifest {
    /// The manifest's name in an export folder.
    pub const FILE: &'static str = "manifest.json";

    /// The entry of a payload file, by name.
    pub fn file(&self, name: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.file == name)
    }
}
