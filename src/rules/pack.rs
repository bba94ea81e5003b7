//! A tenant's rule pack: found, read, hashed and compiled once per run.
//!
//! Load order (also the digest's order): `common/validation.json`, the tenant's
//! `tenant.toml` and `validation.json`, then the `*.rhai` plug-ins by file name, `common/`
//! and the tenant's merged, a tenant file replacing a common file of the same name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3;

use super::engine;
use super::lookup::RefTables;
use super::script::Script;
use super::settings::Settings;
use super::validation::{self, Bound, FieldRule};
use crate::error::{Error, Result};
use crate::model::user::{Field, FieldSet};

/// The folder every tenant inherits.
pub const COMMON: &str = "common";
/// The tenant used when none is named; it needs no folder.
pub const DEFAULT_TENANT: &str = "default";

/// A tenant's pack, loaded and compiled once per run.
pub struct RulePack {
    pub(super) compiled: Arc<Compiled>,
    digest: String,
}

/// What evaluators share.
pub(crate) struct Compiled {
    pub settings: Settings,
    pub rules: Vec<FieldRule>,
    pub scripts: Vec<Script>,
}

impl RulePack {
    /// Loads `rules_dir/common/` (if present) then `rules_dir/<tenant>/`. Tenant `default`
    /// needs no folder; any other tenant without one is [`Error::UnknownTenant`].
    pub fn load(rules_dir: &Path, tenant: &str) -> Result<RulePack> {
        let tenant_dir = rules_dir.join(tenant);
        if tenant == COMMON
            || tenant.contains(['/', '\\'])
            || (!tenant_dir.is_dir() && tenant != DEFAULT_TENANT)
        {
            return Err(unknown_tenant(rules_dir, tenant, tenant_dir));
        }
        let mut files = Files::new(rules_dir);
        let settings = match files.read(&[tenant, "tenant.toml"])? {
            Some((file, text)) => Settings::parse(&file, &text)?,
            None => Settings::default(),
        };
        let mut rules = Vec::new();
        for folder in [COMMON, tenant] {
            if let Some((file, text)) = files.read(&[folder, "validation.json"])? {
                rules.extend(validation::parse(&file, &text, settings.list_separator)?);
            }
        }
        let mut plugins: BTreeMap<String, &str> = BTreeMap::new();
        for folder in [COMMON, tenant] {
            for name in rhai_files(&rules_dir.join(folder))? {
                plugins.insert(name, folder);
            }
        }
        let (engine, _) = engine::build(Arc::new(RefTables::empty()));
        let mut scripts = Vec::with_capacity(plugins.len());
        for (name, folder) in &plugins {
            if let Some((file, text)) = files.read(&[folder, name])? {
                scripts.push(Script::compile(&engine, file, text)?);
            }
        }
        Ok(RulePack {
            compiled: Arc::new(Compiled {
                settings,
                rules,
                scripts,
            }),
            digest: format!("{:032x}", files.hash.digest128()),
        })
    }

    /// No rules at all: source columns that carry canonical names are the user. Used for a
    /// vendor's export loaded as the state, which is the platform's truth, not a tenant's input.
    pub fn none() -> RulePack {
        RulePack {
            compiled: Arc::new(Compiled {
                settings: Settings::default(),
                rules: Vec::new(),
                scripts: Vec::new(),
            }),
            digest: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(b"")),
        }
    }

    /// xxh3-128 (hex) over every pack file's relative path and bytes, in load order: two runs
    /// with the same digest ran the same rules.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The tenant's settings (`tenant.toml`).
    pub fn settings(&self) -> &Settings {
        &self.compiled.settings
    }

    /// Whether a `map` hook maps rows; without one, source columns must carry canonical names.
    pub fn has_map_hook(&self) -> bool {
        self.compiled.scripts.iter().any(|s| s.map)
    }

    /// Whether a source file's columns are checked before its rows (its key column present,
    /// one column per field): without a `map` hook, unless `[map]` copies or defaults the key.
    pub fn checks_columns(&self) -> bool {
        !self.has_map_hook()
            && self
                .compiled
                .settings
                .map
                .as_ref()
                .is_none_or(|map| !map.fills(Field::ExternalId))
    }

    /// Whether rows map by their canonical column names alone (no `[map]`, no `map` hook),
    /// so that a CSV row can be evaluated from its cell texts
    /// ([`crate::rules::Evaluator::evaluate_texts`]).
    pub fn takes_canonical_columns(&self) -> bool {
        self.compiled.settings.map.is_none() && !self.has_map_hook()
    }

    /// The fields an evaluation must build for a caller that keeps only `kept` of each user:
    /// those and the fields the declarative rules read (with the names `name` and
    /// `initials` are derived from). `None` when every field is needed: a `validate` hook
    /// sees the whole user, and so does `IsFullValidation`.
    pub fn fields_built(&self, kept: &[Field]) -> Option<FieldSet> {
        let c = &self.compiled;
        if c.scripts.iter().any(|s| s.map || s.validate) || c.rules.iter().any(|r| r.full) {
            return None;
        }
        let mut built = FieldSet::default();
        for &field in kept.iter().chain(c.rules.iter().map(|r| &r.field)) {
            built[field] = true;
        }
        if built[Field::Name] || built[Field::Initials] {
            built[Field::FirstName] = true;
            built[Field::LastName] = true;
        }
        Some(built)
    }

    /// A source column's name after `[map]` renames it.
    pub fn column_name<'a>(&'a self, name: &'a str) -> &'a str {
        match &self.compiled.settings.map {
            Some(map) => map.renamed(name),
            None => name,
        }
    }

    /// The fields with `Unique: true`, checked by the planner across rows and the state.
    pub fn unique_fields(&self) -> Vec<Field> {
        let mut fields: Vec<Field> = self
            .compiled
            .rules
            .iter()
            .filter(|r| r.unique)
            .map(|r| r.field)
            .collect();
        fields.sort();
        fields.dedup();
        fields
    }

    /// The ordered steps a row goes through, for `rules check`.
    pub fn describe(&self) -> Vec<String> {
        let c = &self.compiled;
        let mut steps = Vec::new();
        let hooks = |steps: &mut Vec<String>, name: &str, has: fn(&Script) -> bool| {
            for s in c.scripts.iter().filter(|s| has(s)) {
                steps.push(format!("{name} hook {}", s.file));
            }
        };
        if let Some(declarative) = &c.settings.map {
            steps.push(declarative.describe());
        }
        hooks(&mut steps, "map", |s| s.map);
        if !c.scripts.iter().any(|s| s.map) {
            steps.push("map source columns by their canonical names".into());
        }
        for r in &c.rules {
            if let Some(d) = &r.default {
                steps.push(format!(
                    "DefaultValue {} = {}",
                    r.field,
                    if r.field.is_secret() {
                        crate::secret::MASK.into()
                    } else {
                        text(d)
                    }
                ));
            }
        }
        for r in &c.rules {
            if let Some(column) = &r.lookup {
                steps.push(format!(
                    "Lookup {} in table `{}` by `{column}`",
                    r.field,
                    r.table()
                ));
            }
        }
        for r in &c.rules {
            if r.required {
                steps.push(format!("Required {}", r.field));
            }
            if let Some(p) = &r.pattern {
                steps.push(format!("Pattern {} ~ /{p}/", r.field));
            }
            for (name, bound) in [("Min", &r.min), ("Max", &r.max)] {
                match bound {
                    Some(Bound::Number(n)) => steps.push(format!(
                        "{name} {} {n} (number, or length of text)",
                        r.field
                    )),
                    Some(Bound::Date(d)) => steps.push(format!("{name} {} {d} (date)", r.field)),
                    None => {}
                }
            }
        }
        if c.rules.iter().any(|r| r.full) {
            steps.push("IsFullValidation: type and shape of every field".into());
        }
        hooks(&mut steps, "validate", |s| s.validate);
        for f in self.unique_fields() {
            steps.push(format!(
                "Unique {f} (across rows and the stored users, by the planner)"
            ));
        }
        for s in &c.scripts {
            for vendor in &s.exports {
                steps.push(format!("export_{vendor} hook {}", s.file));
            }
        }
        steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1))
            .collect()
    }
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads pack files and feeds each one's relative path and bytes to the digest.
struct Files<'a> {
    root: &'a Path,
    hash: Xxh3,
}

impl<'a> Files<'a> {
    fn new(root: &'a Path) -> Files<'a> {
        Files {
            root,
            hash: Xxh3::new(),
        }
    }

    /// The file's name as errors show it and its text, or `None` when it does not exist.
    fn read(&mut self, parts: &[&str]) -> Result<Option<(String, String)>> {
        let relative = parts.join("/");
        let path: PathBuf = parts
            .iter()
            .fold(self.root.to_path_buf(), |p, part| p.join(part));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        self.hash.update(relative.as_bytes());
        self.hash.update(&[0]);
        self.hash.update(&(text.len() as u64).to_le_bytes());
        self.hash.update(text.as_bytes());
        Ok(Some((path.display().to_string(), text)))
    }
}

/// The `*.rhai` file names in a folder (none when the folder does not exist).
fn rhai_files(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rhai") && entry.path().is_file() {
            names.push(name);
        }
    }
    Ok(names)
}

fn unknown_tenant(rules_dir: &Path, tenant: &str, folder: PathBuf) -> Error {
    let mut tenants: Vec<String> = std::fs::read_dir(rules_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != COMMON && !name.starts_with('.'))
        .collect();
    tenants.sort();
    let known = if tenants.is_empty() {
        format!("`{}` holds no tenant folders", rules_dir.display())
    } else {
        format!(
            "the tenants are {}",
            tenants
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Error::UnknownTenant {
        tenant: tenant.to_string(),
        folder,
        known,
    }
}
