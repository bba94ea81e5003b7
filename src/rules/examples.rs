//! `rules test`: a pack's own examples, `rules/<tenant>/tests/*.json`.
//!
//! Each example is `{"row": {...}, "user": {...}?, "problems": [{"field", "rule"}]?}`: a source
//! row, the canonical user it must become, and the problems it must raise (none when the
//! key is left out). A failing example says what differs, field by field.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::lookup::RefTables;
use super::pack::RulePack;
use crate::error::{Error, Result};
use crate::read::{Position, Row};
use crate::user::nearest;

/// The outcome of one example.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleResult {
    /// The example file.
    pub name: String,
    /// Whether the row gave the expected user and problems.
    pub passed: bool,
    /// What differs, one line each (empty when passed).
    pub diff: String,
}

const KEYS: &[&str] = &["row", "user", "problems"];

/// Runs every example of the tenant folder through the pack, in file-name order.
pub fn run_examples(
    pack: &RulePack,
    refs: Arc<RefTables>,
    tenant_dir: &Path,
) -> Result<Vec<ExampleResult>> {
    let dir = tenant_dir.join("tests");
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(Error::Io { path: dir, source }),
    };
    files.sort();
    let mut evaluator = pack.evaluator(refs)?;
    let mut results = Vec::with_capacity(files.len());
    for path in files {
        let name = path.display().to_string();
        let source = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let example: Map<String, Value> = serde_json::from_str(&source)
            .map_err(|e| Error::Rules(format!("{name}:{}:{}: {e}", e.line(), e.column())))?;
        if let Some(key) = example.keys().find(|k| !KEYS.contains(&k.as_str())) {
            let hint = nearest(key, KEYS.iter().copied())
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return Err(Error::Rules(format!("{name}: unknown key `{key}`{hint}")));
        }
        let Some(Value::Object(columns)) = example.get("row") else {
            return Err(Error::Rules(format!(
                "{name}: an example needs a `row` object"
            )));
        };
        let row = Row {
            position: Position {
                file: name.as_str().into(),
                line: 1,
                index: 0,
            },
            columns: columns
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.clone()))
                .collect(),
        };
        let got = evaluator.evaluate(&row)?;
        let mut diff = Vec::new();
        if let Some(want) = example.get("user") {
            diff_user(want, &Value::Object(got.user.to_json()), &mut diff);
        }
        let want: BTreeSet<(String, String)> = example
            .get("problems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| (text(p.get("field")), text(p.get("rule"))))
            .collect();
        let have: Vec<(String, String, String)> = got
            .problems
            .iter()
            .map(|p| {
                (
                    p.field.clone().unwrap_or_default(),
                    p.rule.clone(),
                    p.message.clone(),
                )
            })
            .collect();
        for (field, rule) in &want {
            if !have.iter().any(|(f, r, _)| f == field && r == rule) {
                diff.push(format!(
                    "expected a `{rule}` problem on `{field}`, got none"
                ));
            }
        }
        for (field, rule, message) in &have {
            if !want.contains(&(field.clone(), rule.clone())) {
                diff.push(format!(
                    "unexpected `{rule}` problem on `{field}`: {message}"
                ));
            }
        }
        results.push(ExampleResult {
            name,
            passed: diff.is_empty(),
            diff: diff.join("\n"),
        });
    }
    Ok(results)
}

fn text(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn diff_user(want: &Value, got: &Value, diff: &mut Vec<String>) {
    let empty = Map::new();
    let want = want.as_object().unwrap_or(&empty);
    let got = got.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for key in keys {
        match (want.get(key), got.get(key)) {
            (Some(w), Some(g)) if w == g => {}
            (Some(w), Some(g)) => diff.push(format!("user.{key}: expected {w}, got {g}")),
            (Some(w), None) => diff.push(format!("user.{key}: expected {w}, got nothing")),
            (None, Some(g)) => diff.push(format!("user.{key}: not expected, got {g}")),
            (None, None) => {}
        }
    }
}
