//! `roster plans` lists a tenant's stored plans with where each stands; `roster show PLAN`
//! prints a stored plan again; `plan --no-save` stores nothing.

use crate::common::{counts, Workdir};
use serde_json::Value;

fn workdir() -> Workdir {
    let w = Workdir::new();
    w.write("a.csv", "external_id,email\nu1,u1@x.example\n");
    w.write("b.csv", "external_id,email\nu2,u2@x.example\n");
    w.write(
        "c.csv",
        "external_id,email\nu2,u2@x.example\nu3,u3@x.example\n",
    );
    w
}

#[test]
fn plans_lists_each_plan_with_where_it_stands() {
    let w = workdir();
    w.ok(&["plan", "a.csv", "-q"]);
    w.ok(&["plan", "b.csv", "-q"]);
    w.ok(&["apply", "2"]);
    w.ok(&["plan", "c.csv", "-q"]);
    w.ok(&["plan", "c.csv", "--sync", "-q"]);
    let listed = w.ok(&["plans", "--output", "json"]).json();
    let rows = listed.as_array().unwrap();
    let status: Vec<(i64, &str)> = rows
        .iter()
        .map(|p| {
            (
                p["plan_id"].as_i64().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            (1, "stale"),
            (2, "applied"),
            (3, "superseded"),
            (4, "pending")
        ],
        "{listed}"
    );
    assert_eq!(rows[1]["applied_by"], 1, "{listed}");
    assert_eq!(rows[0]["applied_by"], Value::Null, "{listed}");
    assert_eq!(rows[2]["inputs"][0], "c.csv", "{listed}");
    assert_eq!(rows[3]["summary"]["create"], 1, "{listed}");
    assert_eq!(rows[3]["kind"], "plan", "{listed}");
    assert!(
        rows[0]["created_at"].as_str().unwrap().ends_with('Z'),
        "{listed}"
    );

    let table = w.ok(&["plans"]).stdout;
    for needed in [
        "stale",
        "applied by apply 1",
        "superseded by plan 4",
        "pending",
        "c.csv",
    ] {
        assert!(table.contains(needed), "`{needed}` missing:\n{table}");
    }
    let other = w
        .ok(&["plans", "--tenant", "default", "--output", "json"])
        .json();
    assert_eq!(other.as_array().unwrap().len(), 4);
}

#[test]
fn show_prints_a_stored_plan_again() {
    let w = workdir();
    let made = w.plan_json(&["c.csv"]);
    let shown = w.ok(&["show", "1", "--output", "json"]).json();
    assert_eq!(shown, made);
    let latest = w.ok(&["show", "latest"]).stdout;
    assert!(latest.contains("u3"), "{latest}");
    assert!(latest.contains("Plan: 2 to create"), "{latest}");
    assert!(latest.contains("plan 1"), "{latest}");
    let error = w.fails(&["show", "9"]);
    assert!(
        error.contains("there is no plan 9 for tenant `default`"),
        "{error}"
    );
    assert!(error.contains("`roster plans`"), "{error}");
}

#[test]
fn plan_show_points_at_show() {
    let w = workdir();
    w.ok(&["plan", "a.csv", "-q"]);
    let error = w.fails(&["plan", "show", "1"]);
    assert!(error.contains("`roster show 1`"), "{error}");
}

#[test]
fn a_plan_made_with_no_save_is_shown_and_not_stored() {
    let w = workdir();
    let out = w.ok(&["plan", "a.csv", "--no-save"]);
    assert!(out.stdout.contains("Plan: 1 to create"), "{}", out.stdout);
    assert!(out.stdout.contains("Not saved"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("`roster"),
        "no hint to apply what is not stored"
    );
    assert!(!w.db().exists(), "no workspace made for a plan not saved");
    w.ok(&["plan", "a.csv", "-q"]);
    let before = w.db_bytes();
    let json = w.plan_json(&["b.csv", "--no-save"]);
    assert_eq!(json["plan_id"], Value::Null, "{json}");
    assert_eq!(counts(&json)[0], 1);
    assert_eq!(w.db_bytes(), before, "nothing stored");
    assert_eq!(
        w.ok(&["plans", "--output", "json"])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
