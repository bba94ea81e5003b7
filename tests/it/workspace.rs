//! The workspace file: created on first use, private, migrated, and never touched by a
//! command that fails.

use crate::common::Workdir;

#[test]
fn the_workspace_is_created_on_first_use_and_readable_by_its_owner_only() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    w.ok(&["plan", "in.csv"]);
    assert!(w.db().exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.db()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn db_and_the_environment_choose_the_file() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    w.ok(&["plan", "in.csv", "--db", "other.db"]);
    assert!(w.path().join("other.db").exists() && !w.db().exists());
    let out = assert_cmd::Command::cargo_bin("roster")
        .unwrap()
        .current_dir(w.path())
        .env("ROSTER_DB", "env.db")
        .args(["plan", "in.csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(w.path().join("env.db").exists());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_untouched() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    w.write(
        "roster.db",
        "just some text, not SQLite at all, long enough to have a header....",
    );
    let before = w.db_bytes();
    let error = w.fails(&["plan", "in.csv"]);
    assert!(
        error.contains("is not a roster workspace (not a SQLite database)"),
        "{error}"
    );
    assert_eq!(w.db_bytes(), before);
}

#[test]
fn another_sqlite_database_is_refused_untouched() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER);")
        .unwrap();
    drop(conn);
    let before = w.db_bytes();
    let error = w.fails(&["plan", "in.csv"]);
    assert!(
        error.contains("is a SQLite database but not a roster workspace"),
        "{error}"
    );
    assert_eq!(w.db_bytes(), before);
}

#[test]
fn a_workspace_from_a_newer_roster_is_refused_untouched() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    w.ok(&["plan", "in.csv"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let before = w.db_bytes();
    let error = w.fails(&["history"]);
    assert!(
        error.contains("was written by a newer roster (schema version 99"),
        "{error}"
    );
    assert_eq!(w.db_bytes(), before);
}

#[test]
fn a_failed_first_command_leaves_no_workspace_behind() {
    let w = Workdir::new();
    let error = w.fails(&["plan", "missing.csv"]);
    assert!(error.contains("missing.csv"), "{error}");
    assert!(!w.db().exists());
}

#[test]
fn a_failed_plan_leaves_the_workspace_byte_identical() {
    let w = Workdir::new();
    w.write("good.csv", "external_id\nu1\n");
    w.write("ragged.csv", "external_id,email\nu2,a@x\nu3,b@x,extra\n");
    w.ok(&["plan", "good.csv"]);
    w.ok(&["apply", "latest"]);
    let before = w.db_bytes();
    w.fails(&["plan", "ragged.csv"]);
    assert_eq!(w.db_bytes(), before);
}

#[test]
fn the_tables_are_readable_with_plain_sql() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,email\nu1,a@x\n");
    w.ok(&["plan", "in.csv"]);
    w.ok(&["apply", "latest"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let email: String = conn
        .query_row(
            "SELECT json_extract(record, '$.email') FROM users WHERE tenant = 'default' AND external_id = 'u1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(email, "a@x");
    let history: i64 = conn
        .query_row(
            "SELECT count(*) FROM history WHERE action = 'create'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(history, 1);
}

/// A workspace written before fingerprints (schema version 2) is upgraded in place: its users
/// and plans stay, its rows go through the rules once, and the next apply stores fingerprints.
#[test]
fn a_workspace_from_before_fingerprints_is_upgraded_and_keeps_its_users() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,email\nu1,a@x.example\nu2,b@x.example\n",
    );
    w.ok(&["plan", "in.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    // Back to the version-2 schema, as a roster before fingerprints left it.
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.execute_batch(
        "ALTER TABLE users DROP COLUMN field_places;
         ALTER TABLE plan_changes DROP COLUMN after_field_places;
         ALTER TABLE plans DROP COLUMN puts_digest;
         DROP TABLE rejected_rows;
         DROP TABLE push_batches; DROP TABLE pushes; DROP TABLE rolled_back;
         ALTER TABLE applies DROP COLUMN via;
         DROP TABLE plan_rejects;
         ALTER TABLE plans DROP COLUMN guard;
         DROP TABLE plan_fingerprints;
         ALTER TABLE users DROP COLUMN source_fingerprint;
         ALTER TABLE plan_changes DROP COLUMN source_fingerprint;
         ALTER TABLE applies DROP COLUMN state_digest;
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let users = w.state();
    let recognised = |w: &Workdir| w.ok(&["plan", "in.csv"]).stderr.contains("note: 2 row(s)");
    assert!(!recognised(&w), "no fingerprints yet");
    assert_eq!(w.state(), users);
    w.ok(&["apply", "latest"]);
    assert!(recognised(&w), "the apply stored them");
    assert_eq!(w.state(), users);
}

/// Vendor results recorded before they were kept by key alone (a rowid table) are carried
/// over, unchanged, when the workspace is upgraded.
#[test]
fn vendor_results_from_before_the_keyed_table_survive_the_upgrade() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,email\nu1,a@x.example\n");
    w.ok(&["plan", "in.csv", "-q"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    // Migration `i` brings the schema to version `i + 1`: `before` is the version before the
    // one that keys the table.
    let before = roster::store::migrations::MIGRATIONS
        .iter()
        .position(|sql| sql.contains("vendor_results_by_key"))
        .unwrap();
    // Back to the schema before (the tables of later migrations dropped): vendor_results as
    // a rowid table, holding one answer.
    conn.execute_batch(&format!(
        "ALTER TABLE users DROP COLUMN field_places;
         ALTER TABLE plan_changes DROP COLUMN after_field_places;
         ALTER TABLE plans DROP COLUMN puts_digest;
         DROP TABLE rejected_rows;
         DROP TABLE vendor_results;
         CREATE TABLE vendor_results (
             plan_id INTEGER NOT NULL REFERENCES plans(id), vendor TEXT NOT NULL,
             batch_file TEXT NOT NULL, external_id TEXT NOT NULL, status TEXT NOT NULL,
             message TEXT NOT NULL, path TEXT, recorded_at TEXT NOT NULL,
             PRIMARY KEY (plan_id, vendor, batch_file, external_id));
         INSERT INTO vendor_results VALUES
             (1, 'servicepower', 'servicepower-0001.json', 'u1', 'rejected', 'Email is not valid',
              'Users[0].Email', '2026-01-01T00:00:00Z');
         PRAGMA user_version = {before};"
    ))
    .unwrap();
    drop(conn);
    let history = w.ok(&["history", "--output", "json"]).json();
    assert_eq!(
        history["vendor_results"],
        serde_json::json!([{"plan_id": 1, "vendor": "servicepower", "accepted": 0,
                            "warning": 0, "rejected": 1, "failed": 0}])
    );
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'vendor_results'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.ends_with("WITHOUT ROWID"), "{sql}");
}

/// A command that only reads (or acts on something stored) never creates a workspace: it
/// says there is none, and where it looked.
#[test]
fn read_only_commands_never_create_a_workspace() {
    let w = Workdir::new();
    w.write("out/servicepower-0001.response.json", "{}");
    let looked = w.path().join("roster.db");
    for args in [
        &["history"][..],
        &["state", "show"],
        &["ref", "show", "location"],
        &["apply", "1"],
        &["export", "1", "--vendor", "servicepower", "--out", "x"],
        &[
            "results",
            "1",
            "--vendor",
            "servicepower",
            "out/servicepower-0001.response.json",
        ],
    ] {
        let error = w.fails(args);
        assert!(error.contains("there is no workspace"), "{args:?}: {error}");
        assert!(
            error.contains(&looked.display().to_string()),
            "{args:?}: {error}"
        );
        assert!(!w.db().exists(), "{args:?} created the workspace");
    }
}

#[test]
fn a_folder_given_as_the_workspace_is_named_as_one() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    std::fs::create_dir(w.path().join("ws")).unwrap();
    for args in [
        &["plan", "in.csv", "--db", "ws"][..],
        &["history", "--db", "ws"],
    ] {
        let error = w.fails(args);
        assert!(
            error.contains("workspace `ws`: is a folder; `--db` names the workspace file"),
            "{error}"
        );
        assert!(!error.contains("unable to open"), "{error}");
    }
}

/// A stored user whose record is no longer JSON, as a damaged or hand-edited file holds it.
fn with_a_damaged_record() -> Workdir {
    let w = Workdir::new();
    w.write("in.csv", "external_id,email\nu1,a@x\nu2,b@x\n");
    w.ok(&["plan", "in.csv"]);
    w.ok(&["apply", "latest"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let damaged = conn
        .execute("UPDATE users SET record = '{' WHERE external_id = 'u2'", [])
        .unwrap();
    assert_eq!(damaged, 1);
    w
}

const DAMAGED_U2: &str = "error: the workspace is damaged: table `users`, row external_id `u2`, column `record`: not the JSON roster wrote (EOF while parsing an object at line 1 column 1); restore the workspace file from a backup";

#[test]
fn a_damaged_stored_record_is_named_not_read_as_an_empty_user() {
    let w = with_a_damaged_record();
    assert_eq!(w.fails(&["state", "show"]), DAMAGED_U2);
    // Planning reads the stored records of the users a row may change.
    w.write("again.csv", "external_id,email\nu1,a@x\nu2,c@x\n");
    let before = w.db_bytes();
    assert_eq!(w.fails(&["plan", "again.csv"]), DAMAGED_U2);
    assert_eq!(w.db_bytes(), before);
}

#[test]
fn a_damaged_plan_header_is_named() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    w.ok(&["plan", "in.csv"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.execute("UPDATE plans SET summary = '[1,' WHERE id = 1", [])
        .unwrap();
    let error = w.fails(&["plans"]);
    assert!(
        error.starts_with(
            "error: the workspace is damaged: table `plans`, row id 1, column `summary`: not the JSON roster wrote"
        ),
        "{error}"
    );
}

#[test]
fn a_damaged_planned_change_is_named() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,email\nu1,a@x\n");
    w.ok(&["plan", "in.csv"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.execute("UPDATE plan_changes SET after = 'not json'", [])
        .unwrap();
    let error = w.fails(&["show", "latest"]);
    assert!(
        error.starts_with(
            "error: the workspace is damaged: table `plan_changes`, row external_id `u1`, column `after`"
        ),
        "{error}"
    );
    // Apply copies records into the state without decoding them: it checks them first,
    // and a refused apply leaves the workspace as it was.
    drop(conn);
    let before = w.db_bytes();
    let error = w.fails(&["apply", "latest"]);
    assert!(
        error.starts_with(
            "error: the workspace is damaged: table `plan_changes`, row plan 1, external_id `u1`, column `after`"
        ),
        "{error}"
    );
    assert_eq!(w.db_bytes(), before);
}

/// A plan applies exactly the records it was made with: one edited in the workspace since,
/// even into other valid JSON, stops the apply, and the state does not move.
#[test]
fn a_planned_record_edited_since_the_plan_is_refused() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,email\nu1,a@x\nu2,b@x\n");
    w.ok(&["plan", "in.csv"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.execute(
        "UPDATE plan_changes SET after = replace(after, 'b@x', 'evil@x') WHERE external_id = 'u2'",
        [],
    )
    .unwrap();
    drop(conn);
    let before = w.db_bytes();
    let error = w.fails(&["apply", "latest"]);
    assert!(
        error.starts_with(
            "error: the workspace is damaged: table `plan_changes`, row plan 1, column `after`: the records are not those the plan wrote"
        ),
        "{error}"
    );
    assert_eq!(w.db_bytes(), before);
}

/// The eSystems `--sync` export reads every user the plan leaves alone straight from the
/// state: a damaged record there is named too, and no folder is left.
#[test]
fn a_damaged_record_the_sync_export_reads_is_named() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,email,location\nu1,a@x,Oslo\nu2,b@x,Oslo\n",
    );
    w.ok(&["plan", "in.csv"]);
    w.ok(&["apply", "latest"]);
    w.write(
        "next.csv",
        "external_id,email,location\nu1,a2@x,Oslo\nu2,b@x,Oslo\n",
    );
    w.ok(&["plan", "next.csv", "--sync"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.execute("UPDATE users SET record = '{' WHERE external_id = 'u2'", [])
        .unwrap();
    drop(conn);
    let error = w.fails(&["export", "latest", "--vendor", "esystems", "--out", "out"]);
    assert_eq!(error, DAMAGED_U2);
    assert!(!w.path().join("out").exists());
}
