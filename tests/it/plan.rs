//! `roster plan`: the CUD semantics of DESIGN.md, output forms and exit statuses.

use crate::common::{counts, Workdir};
use serde_json::json;

const BASE: &str = "external_id,first_name,last_name,email,roles,active\n\
u1,Ada,Lovelace,ada@x.example,tech;lead,yes\n\
u2,Alan,Turing,alan@x.example,tech,yes\n\
u3,Grace,Hopper,grace@x.example,tech,no\n";

/// A workdir whose state holds BASE.
fn loaded() -> Workdir {
    let w = Workdir::new();
    w.write("base.csv", BASE);
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w
}

#[test]
fn a_first_plan_creates_every_user() {
    let w = Workdir::new();
    w.write("base.csv", BASE);
    let plan = w.plan_json(&["base.csv"]);
    assert_eq!(counts(&plan), [3, 0, 0, 0, 0, 0]);
    assert_eq!(plan["tenant"], "default");
    assert!(plan["plan_id"].as_i64().is_some());
    assert_eq!(plan["changes"][0]["action"], "create");
    assert_eq!(plan["changes"][0]["source"], "base.csv:2");
}

#[test]
fn upsert_with_differences_updates_field_by_field() {
    let w = loaded();
    w.write("next.csv", "external_id,email,active\nu1,ada@new.example,yes\nu2,alan@x.example,no\nu3,grace@x.example,no\n");
    let plan = w.plan_json(&["next.csv"]);
    assert_eq!(counts(&plan), [0, 2, 0, 1, 0, 0]);
    assert_eq!(
        plan["changes"][0]["fields"],
        json!([{"field": "email", "before": "ada@x.example", "after": "ada@new.example"}])
    );
    assert_eq!(
        plan["changes"][1]["fields"],
        json!([{"field": "active", "before": true, "after": false}])
    );
}

#[test]
fn an_absent_column_keeps_the_value_and_an_empty_cell_clears_it() {
    let w = loaded();
    w.write("next.csv", "external_id,roles\nu1,\n");
    let plan = w.plan_json(&["next.csv"]);
    assert_eq!(counts(&plan), [0, 1, 0, 0, 0, 0]);
    assert_eq!(
        plan["changes"][0]["fields"],
        json!([{"field": "roles", "before": ["tech", "lead"], "after": null}])
    );
}

#[test]
fn create_of_an_existing_user_is_a_conflict() {
    let w = loaded();
    w.write("next.csv", "external_id,cud\nu1,1\nu9,1\n");
    let plan = w.plan_json(&["next.csv"]);
    assert_eq!(counts(&plan), [1, 0, 0, 0, 1, 0]);
    let problem = &plan["problems"][0];
    assert_eq!(problem["rule"], "Conflict");
    assert_eq!(problem["key"], "u1");
    assert_eq!(problem["source"], "next.csv:2");
    assert_eq!(problem["severity"], "error");
}

#[test]
fn delete_removes_an_existing_user_and_warns_on_a_missing_one() {
    let w = loaded();
    w.write("next.csv", "external_id,cud\nu2,delete\nu9,3\n");
    let plan = w.plan_json(&["next.csv"]);
    assert_eq!(counts(&plan), [0, 0, 1, 0, 0, 1]);
    assert_eq!(plan["changes"][0]["action"], "delete");
    assert_eq!(plan["problems"][0]["rule"], "Missing");
    assert_eq!(plan["problems"][0]["severity"], "warning");
}

#[test]
fn a_duplicate_key_rejects_the_later_row_and_points_at_the_first() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,email\nu1,a@x.example\nu2,b@x.example\nu1,c@x.example\n",
    );
    let plan = w.plan_json(&["in.csv"]);
    assert_eq!(counts(&plan), [2, 0, 0, 0, 1, 0]);
    let problem = &plan["problems"][0];
    assert_eq!(problem["rule"], "Duplicate");
    assert_eq!(problem["source"], "in.csv:4");
    assert!(
        problem["message"].as_str().unwrap().contains("in.csv:2"),
        "{problem}"
    );
}

#[test]
fn sync_deletes_users_absent_from_the_input_but_keeps_rejected_ones() {
    let w = loaded();
    // u2 is present but rejected (bad boolean): it must not be deleted; u3 is absent.
    w.write("next.csv", "external_id,active\nu1,yes\nu2,perhaps\n");
    let plan = w.plan_json(&["next.csv", "--sync"]);
    assert_eq!(counts(&plan), [0, 0, 1, 1, 1, 0]);
    assert_eq!(plan["changes"][0]["key"], "u3");
    assert_eq!(plan["changes"][0]["source"], "not in the input (--sync)");
}

#[test]
fn sync_deletes_in_key_order_whatever_order_the_users_were_stored_in() {
    let w = Workdir::new();
    // Stored in the file's order, so the table's order is not the keys' order.
    w.write("base.csv", "external_id\nu5\nu2\nu9\nu1\nu7\nu3\n");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.write("next.csv", "external_id\nu9\n");
    let plan = w.plan_json(&["next.csv", "--sync", "--max-delete-percent", "100"]);
    let deleted: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["key"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["u1", "u2", "u3", "u5", "u7"]);
}
#[test]
fn a_mass_delete_is_refused_unless_allowed() {
    let w = Workdir::new();
    let mut csv = String::from("external_id\n");
    for i in 0..100 {
        csv.push_str(&format!("u{i}\n"));
    }
    w.write("all.csv", &csv);
    w.ok(&["plan", "all.csv"]);
    w.ok(&["apply", "latest"]);
    let kept: String = csv.lines().take(71).map(|l| format!("{l}\n")).collect();
    w.write("kept.csv", kept);
    let before = w.db_bytes();
    let error = w.fails(&["plan", "kept.csv", "--sync"]);
    assert!(
        error.contains("would delete 30 of the tenant's 100 users"),
        "{error}"
    );
    assert!(error.contains("--max-delete-percent 30"), "{error}");
    assert_eq!(
        w.db_bytes(),
        before,
        "a refused plan leaves the workspace as it was"
    );
    let plan = w.plan_json(&["kept.csv", "--sync", "--max-delete-percent", "30"]);
    assert_eq!(counts(&plan)[2], 30);
}

#[test]
fn the_table_shows_signs_fields_and_the_summary_line() {
    let w = loaded();
    w.write(
        "next.csv",
        "external_id,email,cud\nu1,ada@new.example,2\nu4,d@x.example,1\nu3,,3\n",
    );
    let out = w.ok(&["plan", "next.csv"]).stdout;
    assert!(
        out.contains("email: ada@x.example → ada@new.example"),
        "{out}"
    );
    assert!(out.contains("│ + │ u4"), "{out}");
    assert!(out.contains("│ - │ u3"), "{out}");
    assert!(
        out.contains(
            "Plan: 1 to create, 1 to update, 1 to delete, 0 unchanged; 0 rejected, 0 warnings"
        ),
        "{out}"
    );
}

#[test]
fn passwords_are_shown_as_sensitive_and_never_printed() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,password\nu1,Tr0ub4dor&3\n");
    for output in ["table", "json"] {
        let out = w.ok(&["plan", "in.csv", "--output", output]);
        assert!(out.stdout.contains("(sensitive)"), "{}", out.stdout);
        assert!(!out.stdout.contains("Tr0ub4dor"), "{}", out.stdout);
    }
    w.ok(&["apply", "latest"]);
    let state = w.ok(&["state", "show", "--output", "json"]).stdout;
    assert!(
        !state.contains("Tr0ub4dor") && state.contains("(sensitive)"),
        "{state}"
    );
}

#[test]
fn detailed_exitcode_adds_2_for_changes_and_4_for_rejected_rows() {
    let w = Workdir::new();
    w.write("changes.csv", "external_id\nu1\n");
    w.write("rejected.csv", "external_id,active\nu1,perhaps\n");
    w.write("both.csv", "external_id,active\nu1,yes\nu2,perhaps\n");
    for (file, status) in [("changes.csv", 2), ("rejected.csv", 4), ("both.csv", 6)] {
        assert_eq!(
            w.run(&["plan", file, "--detailed-exitcode"]).status,
            status,
            "{file}"
        );
    }
    w.ok(&["plan", "changes.csv"]);
    w.ok(&["apply", "latest"]);
    assert_eq!(
        w.run(&["plan", "changes.csv", "--detailed-exitcode"])
            .status,
        0
    );
    assert_eq!(
        w.run(&["plan", "both.csv"]).status,
        0,
        "without the flag a plan exits 0"
    );
}

#[test]
fn an_unknown_column_warns_once_with_the_nearest_field() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,emial\nu1,a@x\nu2,b@x\n");
    let plan = w.plan_json(&["in.csv"]);
    assert_eq!(counts(&plan), [2, 0, 0, 0, 0, 1]);
    let message = plan["problems"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`emial`") && message.contains("did you mean `email`"),
        "{message}"
    );
}

#[test]
fn a_row_without_a_key_is_rejected() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,email\n,a@x\n");
    let plan = w.plan_json(&["in.csv"]);
    assert_eq!(counts(&plan), [0, 0, 0, 0, 1, 0]);
    assert_eq!(plan["problems"][0]["rule"], "Required");
    assert_eq!(plan["problems"][0]["path"], "Users[0].external_id");
}

#[test]
fn the_limit_cuts_long_tables_and_says_how_many_are_left() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\nu2\nu3\n");
    let out = w.ok(&["plan", "in.csv", "--limit", "2"]).stdout;
    assert!(out.contains("… and 1 more changes"), "{out}");
    assert!(!out.contains("u3"), "{out}");
}

#[test]
fn the_shipped_fixtures_plan_as_documented() {
    let w = Workdir::new();
    w.fixture("default/users.csv");
    w.fixture("default/next-week.csv");
    assert_eq!(counts(&w.plan_json(&["users.csv"])), [36, 0, 0, 0, 0, 0]);
    w.ok(&["apply", "latest"]);
    // next-week: 2 updates, 2 creates, 1 delete, 1 rejected row, 1 delete of a missing user.
    assert_eq!(
        counts(&w.plan_json(&["next-week.csv"])),
        [2, 2, 1, 32, 1, 1]
    );
}

/// `-q` leaves out hints, not results: the plan id is what a script needs next.
#[test]
fn quiet_prints_the_plan_id_without_the_hint() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    let out = w.ok(&["plan", "in.csv", "-q"]);
    assert!(
        out.stdout.contains("Saved as plan 1 for tenant `default`."),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("`roster"), "{}", out.stdout);
    w.write("sp.json", r#"[{"UserID": "u1", "ExternalID": "u1"}]"#);
    let load = w.ok(&[
        "state",
        "load",
        "sp.json",
        "--vendor",
        "servicepower",
        "--dry-run",
        "-q",
    ]);
    assert!(load.stdout.contains("plan 2"), "{}", load.stdout);
    assert!(!load.stdout.contains("`roster"), "{}", load.stdout);
}
