//! Passwords are never printed, never stored in plain text in the state or the history, and
//! leave the plan once exported.

use crate::common;

use crate::common::Workdir;

const PASSWORD: &str = "Fixture-Pa55w0rd!";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_password_appears_in_no_output_and_leaves_the_workspace_after_export() {
    let w = Workdir::new();
    w.write(
        "rules/t/validation.json",
        r#"[{"Name": "password", "Pattern": "^.{30,}$"}, {"Name": "password", "Max": "5"}]"#,
    );
    std::fs::create_dir_all(w.path().join("rules/ok")).unwrap();
    w.write(
        "in.csv",
        format!("external_id,email,location,password\nu1,a@x.example,Oslo,{PASSWORD}\n"),
    );
    let mut outputs = Vec::new();
    // A rule that rejects the password names the rule, not the value.
    let rejected = w.plan_json(&["in.csv", "--tenant", "t"]);
    outputs.push(rejected.to_string());
    assert_eq!(rejected["summary"]["error"], 1, "{rejected}");
    for args in [
        &["plan", "in.csv", "--tenant", "ok"][..],
        &["plan", "in.csv", "--tenant", "ok", "--output", "json"],
        &["apply", "latest", "--tenant", "ok"],
        &["history", "--tenant", "ok"],
        &["history", "--tenant", "ok", "--output", "json"],
        &["state", "show", "--tenant", "ok"],
        &["state", "show", "--tenant", "ok", "--output", "json"],
        &["state", "show", "--tenant", "ok", "--output", "csv"],
    ] {
        let out = w.ok(args);
        outputs.push(out.stdout + out.stderr.as_str());
    }
    for output in &outputs {
        assert!(!output.contains(PASSWORD), "printed: {output}");
    }
    // Until it is exported, the plan keeps the password (and nothing else does).
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM plan_secrets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 1);
    let stored: String = conn
        .query_row(
            "SELECT json_extract(record, '$.password') FROM users",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored.starts_with("$sha256$") && !stored.contains(PASSWORD));
    drop(conn);
    let export = w.ok(&[
        "export",
        "latest",
        "--tenant",
        "ok",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    assert!(!(export.stdout + export.stderr.as_str()).contains(PASSWORD));
    let payload = std::fs::read(w.path().join("out/servicepower-0001.json")).unwrap();
    assert!(
        contains(&payload, PASSWORD),
        "the export carries the password to the vendor"
    );
    assert!(
        !contains(&w.db_bytes(), PASSWORD),
        "the workspace no longer holds the password"
    );
    let journal = w.path().join("roster.db-journal");
    assert!(!journal.exists() || !contains(&std::fs::read(journal).unwrap(), PASSWORD));
}

#[test]
fn planning_the_same_password_again_is_unchanged_and_a_new_one_is_an_update() {
    let w = Workdir::new();
    w.write("a.csv", format!("external_id,password\nu1,{PASSWORD}\n"));
    w.write("b.csv", "external_id,password\nu1,another-secret\n");
    w.ok(&["plan", "a.csv"]);
    w.ok(&["apply", "latest"]);
    assert_eq!(common::counts(&w.plan_json(&["a.csv"])), [0, 0, 0, 1, 0, 0]);
    let plan = w.plan_json(&["b.csv"]);
    assert_eq!(
        plan["changes"][0]["fields"],
        serde_json::json!([{"field": "password", "before": "(sensitive)", "after": "(sensitive)"}])
    );
}
