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
use crate::error::{Error, Result, RuleError};
use crate::model::position::Position;
use crate::model::user::nearest;
use crate::read::Row;

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
        let example: Map<String, Value> = serde_json::from_str(&source).map_err(|e| {
            Error::Rules(RuleError {
                line: Some(e.line()),
                column: Some(e.column()),
                ..RuleError::in_file(&name, e.to_string())
            })
        })?;
        if let Some(key) = example.keys().find(|k| !KEYS.contains(&k.as_str())) {
            let hint = nearest(key, KEYS.iter().copied())
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            let message = format!("unknown key `{key}`{hint}");
            return Err(Error::Rules(RuleError::in_file(name, message)));
        }
        let Some(Value::Object(columns)) = example.get("row") else {
            return Err(Error::Rules(RuleError::in_file(
                name,
                "an example needs a `row` object",
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
        let got = evaluator.evaluate(row)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::read_table_csv;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn refs(tenant: &str) -> Arc<RefTables> {
        let path = root().join("fixtures").join(tenant).join("location.csv");
        Arc::new(RefTables::new(vec![
            read_table_csv("location", &path).unwrap()
        ]))
    }

    #[test]
    fn the_shipped_packs_pass_their_own_examples() {
        for tenant in ["acme-hr", "contoso-entra"] {
            let rules = root().join("rules");
            let pack = RulePack::load(&rules, tenant).unwrap();
            let results = run_examples(&pack, refs(tenant), &rules.join(tenant)).unwrap();
            assert!(results.len() >= 5, "{tenant}: {results:?}");
            for r in &results {
                assert!(r.passed, "{}:\n{}", r.name, r.diff);
            }
        }
    }

    #[test]
    fn the_default_tenant_loads_with_the_common_checks_only() {
        let pack = RulePack::load(&root().join("rules"), "default").unwrap();
        assert_eq!(pack.describe().len(), 2, "{:?}", pack.describe());
    }

    #[test]
    fn a_failing_example_says_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let tests = dir.path().join("t").join("tests");
        std::fs::create_dir_all(&tests).unwrap();
        std::fs::write(
            tests.join("a.json"),
            r#"{"row": {"external_id": "u1", "email": "A@b.no"},
                "user": {"external_id": "u1", "email": "a@b.no"},
                "problems": [{"field": "email", "rule": "Required"}]}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("t").join("v.rhai"),
            r#"fn validate(u) { ["odd"] }"#,
        )
        .unwrap();
        let pack = RulePack::load(dir.path(), "t").unwrap();
        let results =
            run_examples(&pack, Arc::new(RefTables::empty()), &dir.path().join("t")).unwrap();
        assert!(!results[0].passed);
        assert_eq!(
            results[0].diff,
            "user.email: expected \"a@b.no\", got \"A@b.no\"\n\
             expected a `Required` problem on `email`, got none\n\
             unexpected `Script` problem on ``: odd"
        );
    }

    #[test]
    fn an_unknown_key_in_an_example_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let tests = dir.path().join("t").join("tests");
        std::fs::create_dir_all(&tests).unwrap();
        std::fs::write(tests.join("a.json"), r#"{"row": {}, "users": {}}"#).unwrap();
        let pack = RulePack::load(dir.path(), "t").unwrap();
        let err =
            run_examples(&pack, Arc::new(RefTables::empty()), &dir.path().join("t")).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("unknown key `users`; did you mean `user`?"),
            "{err}"
        );
    }

    /// The fixture files behave as their dirt promises: the clean rows pass, each dirty row
    /// is caught by the rule meant for it.
    #[test]
    fn the_fixtures_raise_the_problems_they_were_written_for() {
        for (tenant, file, errors) in [
            (
                "acme-hr",
                "employees.csv",
                vec![
                    ("E10012", "Required"),
                    ("E10013", "Lookup"),
                    ("", "Script"),
                    ("E10018", "Pattern"),
                    ("E10018", "Script"),
                    ("", "Script"),
                    ("1024", "Pattern"),
                ],
            ),
            (
                "contoso-entra",
                "users.csv",
                vec![
                    ("lidiah@contoso.com", "Min"),
                    ("lynner@contoso.com", "Lookup"),
                    ("", "Script"),
                    ("", "Script"),
                    ("pradeepg@fabrikam.com", "Pattern"),
                    ("", "Required"),
                    ("", "Required"),
                    ("", "Required"),
                    ("", "Required"),
                ],
            ),
        ] {
            let pack = RulePack::load(&root().join("rules"), tenant).unwrap();
            let mut ev = pack.evaluator(refs(tenant)).unwrap();
            let path = root().join("fixtures").join(tenant).join(file);
            let mut found = Vec::new();
            let options = crate::read::ReadOptions::default();
            crate::read::read_source(
                &path.to_string_lossy(),
                &options,
                &mut |row: crate::read::Row| {
                    for p in ev.evaluate(row)?.problems {
                        if p.severity == crate::model::problem::Severity::Error {
                            found.push((p.key.unwrap_or_default(), p.rule));
                        }
                    }
                    Ok(())
                },
            )
            .unwrap();
            let want: Vec<(String, String)> = errors
                .iter()
                .map(|(k, r)| (k.to_string(), r.to_string()))
                .collect();
            assert_eq!(found, want, "{tenant}");
        }
    }
}
