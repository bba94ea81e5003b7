//! Whole outputs, compared with the snapshots under `tests/it/snapshots/` (insta): a change
//! to a table, a hint or an error message shows up as a diff of the whole text, not as a
//! fragment that still happens to be found. `cargo insta review` (or `INSTA_UPDATE=always`)
//! accepts an intended change.

use std::path::Path;

use crate::common::{copy_dir, Workdir};

/// An output as it holds at any time: a moment (`2026-12-05T07:44:23Z`) as `[time]`. (Paths
/// need no such care: each test works in its own folder, with relative names.)
fn portable(text: &str) -> String {
    let moment = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z").unwrap();
    moment.replace_all(text, "[time]").into_owned()
}

#[test]
fn the_readme_main_job_prints_its_diff_tables() {
    let w = Workdir::new();
    // The shipped rules, copied: paths in messages are then the same on every machine.
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &w.path().join("rules"),
    );
    let globals = ["--tenant", "acme-hr"];
    let location = w.fixture("acme-hr/location.csv");
    let employees = w.fixture("acme-hr/employees.csv");
    let run = |args: &[&str]| {
        let mut all = globals.to_vec();
        all.extend_from_slice(args);
        w.ok(&all)
    };
    run(&["ref", "load", "location", location.to_str().unwrap()]);
    let plan = run(&["plan", "employees.csv"]);
    assert!(employees.exists());
    insta::assert_snapshot!("readme_main_job", portable(&plan.stdout));
}

#[test]
fn a_week_of_the_default_tenant_prints_these_plans() {
    let w = Workdir::new();
    w.fixture("default/users.csv");
    w.fixture("default/next-week.csv");
    let first = w.ok(&["plan", "users.csv"]);
    w.ok(&["apply", "latest"]);
    let next = w.ok(&["plan", "next-week.csv"]);
    let shown = w.ok(&["show", "2"]);
    insta::assert_snapshot!("default_first_plan", portable(&first.stdout));
    insta::assert_snapshot!("default_next_week_plan", portable(&next.stdout));
    insta::assert_snapshot!("default_show_2", portable(&shown.stdout));
}

#[test]
fn a_rule_script_with_a_syntax_error_is_shown_with_its_caret() {
    let w = Workdir::new();
    w.write(
        "rules/t/10_map.rhai",
        "fn map(row) {\n    let x = ;\n    row\n}\n",
    );
    w.write("in.csv", "external_id\nu1\n");
    let error = w.fails(&["--tenant", "t", "plan", "in.csv"]);
    insta::assert_snapshot!("rule_syntax_error", error);
}

#[test]
fn a_ragged_csv_is_refused_with_its_place_and_what_to_do() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,email\nu1,a@x.example\nu2,b@x.example,extra\n",
    );
    let error = w.fails(&["plan", "in.csv"]);
    insta::assert_snapshot!("ragged_csv", error);
}
