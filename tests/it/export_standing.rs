//! `roster export` acts only on a plan that still describes the workspace, as `apply` does,
//! and its manifest says whether the plan was applied, and by which apply.

use crate::common;

use crate::common::Workdir;
use serde_json::Value;

fn with_files() -> Workdir {
    let w = Workdir::new();
    w.write("a.csv", "external_id,email\nu1,u1@x.example\n");
    w.write("b.csv", "external_id,email\nu2,u2@x.example\n");
    w
}

fn export(w: &Workdir, plan: &str, out: &str, extra: &[&str]) -> common::Outcome {
    let mut args = vec!["export", plan, "--vendor", "servicepower", "--out", out];
    args.extend_from_slice(extra);
    w.run(&args)
}

fn manifest(w: &Workdir, out: &str) -> Value {
    let text = std::fs::read_to_string(w.path().join(out).join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn export_refuses_a_plan_that_apply_refuses_as_stale() {
    let w = with_files();
    w.ok(&["plan", "a.csv"]);
    w.ok(&["plan", "b.csv"]);
    w.ok(&["apply", "2"]);
    let apply = w.fails(&["apply", "1"]);
    assert!(apply.contains("plan 1 is stale"), "{apply}");
    let before = w.db_bytes();
    for extra in [&[][..], &["--force"]] {
        let out = export(&w, "1", "out", extra);
        assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(
                "plan 1 is stale: the state of tenant `default` changed since it was made"
            ),
            "{}",
            out.stderr
        );
        assert!(!w.path().join("out").exists(), "nothing is written");
        assert_eq!(w.db_bytes(), before);
    }
}

#[test]
fn export_refuses_a_plan_whose_rules_changed() {
    let w = with_files();
    std::fs::create_dir_all(w.path().join("rules/acme")).unwrap();
    w.ok(&["plan", "a.csv", "--tenant", "acme"]);
    w.write(
        "rules/acme/validation.json",
        r#"[{"Name": "email", "Required": true}]"#,
    );
    let out = export(&w, "latest", "out", &["--tenant", "acme"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the rules of tenant `acme` changed"),
        "{}",
        out.stderr
    );
    assert!(!w.path().join("out").exists());
}

#[test]
fn the_manifest_says_whether_and_by_which_apply_the_plan_was_applied() {
    let w = with_files();
    w.ok(&["plan", "a.csv"]);
    assert_eq!(export(&w, "1", "before", &[]).status, 0);
    let before = manifest(&w, "before");
    assert_eq!(before["applied"], false, "{before}");
    assert_eq!(before["applied_by"], Value::Null, "{before}");
    w.ok(&["apply", "1"]);
    assert_eq!(export(&w, "1", "after", &[]).status, 0);
    let after = manifest(&w, "after");
    assert_eq!(after["applied"], true, "{after}");
    assert_eq!(after["applied_by"], 1, "{after}");
}

#[test]
fn an_applied_plan_exports_until_the_state_moves_on_then_only_when_forced() {
    let w = with_files();
    w.ok(&["plan", "a.csv"]);
    w.ok(&["apply", "1"]);
    w.ok(&["plan", "b.csv"]);
    w.ok(&["apply", "2"]);
    let before = w.db_bytes();
    let out = export(&w, "1", "out", &[]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "plan 1 was applied (apply 1), but the state of tenant `default` changed since"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert!(!w.path().join("out").exists());
    assert_eq!(w.db_bytes(), before);
    let forced = export(&w, "1", "out", &["--force"]);
    assert_eq!(forced.status, 0, "{}", forced.stderr);
    assert!(
        forced.stderr.contains("warning: plan 1 is stale"),
        "{}",
        forced.stderr
    );
    assert_eq!(manifest(&w, "out")["applied_by"], 1);
}

/// A workspace from before applies kept the state they left: its newest apply's plan still
/// exports, an older one is stale.
#[test]
fn an_older_workspace_knows_the_state_its_newest_apply_left() {
    let w = with_files();
    for file in ["a.csv", "b.csv"] {
        w.ok(&["plan", file]);
        w.ok(&["apply", "latest"]);
    }
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    // Back to the version-3 schema: without migration 4's column and what came after it.
    conn.execute_batch(
        "ALTER TABLE users DROP COLUMN field_places;
         ALTER TABLE plan_changes DROP COLUMN after_field_places;
         ALTER TABLE plans DROP COLUMN puts_digest;
         DROP TABLE rejected_rows;
         DROP TABLE push_batches; DROP TABLE pushes; DROP TABLE rolled_back;
         ALTER TABLE applies DROP COLUMN via;
         DROP TABLE plan_rejects;
         ALTER TABLE plans DROP COLUMN guard;
         ALTER TABLE applies DROP COLUMN state_digest;
         PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(conn);
    assert_eq!(export(&w, "2", "newest", &[]).status, 0);
    let older = export(&w, "1", "older", &[]);
    assert_eq!(older.status, 1, "{}", older.stderr);
    assert!(
        older
            .stderr
            .contains("plan 1 was applied (apply 1), but the state"),
        "{}",
        older.stderr
    );
}
