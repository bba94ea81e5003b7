//! Crash safety and concurrency: a killed apply leaves the tenant exactly before or exactly
//! after, and two processes on one workspace never apply a plan twice.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{counts, Workdir};

fn roster(w: &Workdir, args: &[&str]) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("roster"));
    command
        .current_dir(w.path())
        .env_remove("ROSTER_DB")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn stored_users(w: &Workdir) -> (i64, i64) {
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    let counted: i64 = conn
        .query_row(
            "SELECT coalesce(sum(user_count), 0) FROM tenants",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (rows, counted)
}

/// Kills `roster apply` at spread-out moments; after each kill the tenant holds either none
/// or all of the plan's users, and the workspace needs no repair.
#[test]
fn a_killed_apply_leaves_the_state_before_or_after() {
    const USERS: i64 = 100_000;
    let w = Workdir::new();
    w.ok(&[
        "generate",
        "--users",
        &USERS.to_string(),
        "--base",
        "base.csv",
        "--clean",
    ]);
    w.ok(&["plan", "base.csv", "-q", "--limit", "1"]);
    // Time one apply on a copy, to spread the kills over its whole length.
    std::fs::copy(w.db(), w.path().join("probe.db")).unwrap();
    let started = Instant::now();
    assert!(roster(&w, &["apply", "1", "--db", "probe.db"])
        .status()
        .unwrap()
        .success());
    let length = started.elapsed();

    let mut kills = 0;
    for attempt in 1..=12u32 {
        let mut child = roster(&w, &["apply", "1"]).spawn().unwrap();
        std::thread::sleep(length * attempt / 13);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok();
        child.wait().unwrap();
        let (rows, counted) = stored_users(&w);
        assert_eq!(rows, counted, "the user count follows the rows");
        assert!(
            rows == 0 || rows == USERS,
            "after a kill at attempt {attempt}: {rows} users"
        );
        if rows == USERS {
            break;
        }
        kills += u32::from(!finished);
    }
    eprintln!("{kills} kills landed inside a {USERS}-user apply");
    assert!(kills >= 3, "only {kills} kills landed inside an apply");
    // The next commands work without repair and see a consistent state.
    let status = roster(&w, &["apply", "1"]).status().unwrap();
    let (rows, _) = stored_users(&w);
    assert_eq!(rows, USERS, "apply after the kills (exit {status})");
    let plan = w.plan_json(&["base.csv", "--limit", "1"]);
    assert_eq!(
        counts(&plan)[3],
        USERS as u64,
        "everything unchanged after the apply"
    );
}

/// Kills `roster ARGS` at spread-out moments of its run; `check` sees the workspace after
/// each kill and says whether the command had finished (`Some(true)`), had not started
/// (`Some(false)`), or left it half-done (`None`, a failure). The run that times the command
/// uses a copy of the workspace; `check` also sees what it left, so a command whose output
/// lies outside the workspace (an export's folder) can clear it.
fn kill_at_spread_moments(
    w: &Workdir,
    args: &[&str],
    check: impl Fn(&Workdir) -> Option<bool>,
) -> u32 {
    let probe = w.path().join("probe.db");
    std::fs::copy(w.db(), &probe).unwrap();
    let mut timed = roster(w, args);
    timed.arg("--db").arg(&probe);
    let started = Instant::now();
    assert!(timed.status().unwrap().success());
    let length = started.elapsed();
    std::fs::remove_file(probe).unwrap();
    check(w);
    let mut kills = 0;
    for attempt in 1..=10u32 {
        let mut child = roster(w, args).spawn().unwrap();
        std::thread::sleep(length * attempt / 11);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok();
        child.wait().unwrap();
        match check(w) {
            None => panic!("half-done after a kill at attempt {attempt}"),
            Some(true) => break,
            Some(false) => kills += u32::from(!finished),
        }
    }
    kills
}

#[test]
fn a_killed_state_load_leaves_the_state_before_or_after() {
    let w = Workdir::new();
    let users: Vec<_> = (0..60_000)
        .map(|i| serde_json::json!({"Id": i, "External_Id": format!("E{i}"), "Email": format!("e{i}@x.example"), "Is_Active": true}))
        .collect();
    w.write(
        "export.json",
        serde_json::json!({"Meta": {}, "Type": "User", "Data": users}).to_string(),
    );
    w.write("one.csv", "external_id\nE0\n");
    w.ok(&["plan", "one.csv"]);
    w.ok(&["apply", "latest"]);
    let kills = kill_at_spread_moments(
        &w,
        &["state", "load", "export.json", "--vendor", "esystems"],
        |w| match stored_users(w) {
            (1, 1) => Some(false),
            (60_000, 60_000) => Some(true),
            _ => None,
        },
    );
    eprintln!("{kills} kills landed inside a 60000-user state load");
    assert!(kills >= 2, "only {kills} kills landed inside a state load");
    w.ok(&["state", "load", "export.json", "--vendor", "esystems"]);
    assert_eq!(stored_users(&w), (60_000, 60_000));
}

#[test]
fn a_killed_reference_load_leaves_the_table_before_or_after() {
    let w = Workdir::new();
    let mut csv = String::from("id,name\n");
    for i in 0..300_000 {
        csv.push_str(&format!("L{i},Location {i}\n"));
    }
    w.write("big.csv", csv);
    w.write("small.csv", "id,name\nL0,Old\n");
    w.ok(&["ref", "load", "location", "small.csv"]);
    let rows = |w: &Workdir| -> i64 {
        let conn = rusqlite::Connection::open(w.db()).unwrap();
        conn.query_row("SELECT count(*) FROM ref_rows", [], |r| r.get(0))
            .unwrap()
    };
    let kills = kill_at_spread_moments(
        &w,
        &["ref", "load", "location", "big.csv"],
        |w| match rows(w) {
            1 => Some(false),
            300_000 => Some(true),
            _ => None,
        },
    );
    eprintln!("{kills} kills landed inside a 300000-row reference load");
    assert!(
        kills >= 2,
        "only {kills} kills landed inside a reference load"
    );
    w.ok(&["ref", "show", "location"]);
}

#[test]
fn two_applies_of_one_plan_apply_it_once() {
    let w = Workdir::new();
    w.ok(&[
        "generate", "--users", "20000", "--base", "base.csv", "--clean",
    ]);
    w.ok(&["plan", "base.csv", "-q", "--limit", "1"]);
    let children: Vec<_> = (0..2)
        .map(|_| roster(&w, &["apply", "1"]).spawn().unwrap())
        .collect();
    let outcomes: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let succeeded = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(succeeded, 1, "exactly one apply succeeds");
    let failed = outcomes.iter().find(|o| !o.status.success()).unwrap();
    let message = String::from_utf8_lossy(&failed.stderr);
    assert!(
        message.contains("was already applied") || message.contains("workspace busy"),
        "{message}"
    );
    let history = w.ok(&["history", "--output", "json"]).json();
    assert_eq!(history["applies"].as_array().unwrap().len(), 1);
}

#[test]
fn a_plan_during_an_apply_waits_or_refuses_but_never_corrupts() {
    let w = Workdir::new();
    w.ok(&[
        "generate", "--users", "20000", "--base", "base.csv", "--next", "next.csv", "--clean",
    ]);
    w.ok(&["plan", "base.csv", "-q", "--limit", "1"]);
    let apply = roster(&w, &["apply", "1"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let plan = roster(&w, &["plan", "next.csv", "-q", "--limit", "1"])
        .output()
        .unwrap();
    let apply = apply.wait_with_output().unwrap();
    assert!(apply.status.success());
    let message = String::from_utf8_lossy(&plan.stderr);
    assert!(
        plan.status.success() || message.contains("workspace busy"),
        "{message}"
    );
    let (rows, counted) = stored_users(&w);
    assert_eq!((rows, counted), (20000, 20000));
}

/// Kills `roster export` at spread-out moments: `--out` is then absent or a whole payload set
/// (every file its manifest lists, each whole JSON), and the next export cleans up after the
/// killed one and succeeds.
#[test]
fn a_killed_export_leaves_no_payload_set_that_looks_complete() {
    let w = Workdir::new();
    w.ok(&[
        "generate", "--users", "30000", "--base", "base.csv", "--clean",
    ]);
    w.ok(&["plan", "base.csv", "-q", "--limit", "1"]);
    let export = [
        "export",
        "1",
        "--vendor",
        "servicepower",
        "--out",
        "out",
        "--batch-size",
        "100",
    ];
    let out = w.path().join("out");
    let complete = |out: &std::path::Path| -> bool {
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        let files = manifest["files"].as_array().unwrap();
        assert_eq!(files.len(), 300, "a whole set has every batch");
        for file in files {
            let path = out.join(file["file"].as_str().unwrap());
            let body: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap())
                .expect("every listed file is whole JSON");
            assert_eq!(body["Users"].as_array().unwrap().len(), 100);
        }
        true
    };

    // After a kill, `out` is absent or whole; whole once, it is cleared for the next attempt.
    let kills = kill_at_spread_moments(&w, &export, |_| {
        if !out.exists() {
            return Some(false);
        }
        assert!(complete(&out));
        std::fs::remove_dir_all(&out).unwrap();
        Some(true)
    });
    eprintln!("{kills} kills landed inside a 300-file export");
    assert!(kills >= 3, "only {kills} kills landed inside an export");

    // A killed export leaves only its hidden temporary folder, which the next one removes
    // (each export above removed those of the attempts before it). One more, as a process
    // that no longer exists would leave it (pids stop below 2^22 on Linux):
    let abandoned = w.path().join(".out.roster-4999999-a1b2c3");
    std::fs::create_dir(&abandoned).unwrap();
    std::fs::write(abandoned.join("servicepower-0001.json"), "{\"Users\": [").unwrap();
    assert!(roster(&w, &export).status().unwrap().success());
    assert!(complete(&out));
    let leftovers: Vec<String> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".out.roster-"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
}
