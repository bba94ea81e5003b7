//! `roster apply`: exactly the stored plan, once, and only against the state it was made for.

use crate::common::{counts, Workdir};

fn workdir_with(files: &[(&str, &str)]) -> Workdir {
    let w = Workdir::new();
    for (name, contents) in files {
        w.write(name, contents);
    }
    w
}

#[test]
fn apply_stores_the_plan_and_planning_again_gives_no_changes() {
    let w = workdir_with(&[("in.csv", "external_id,email,roles\nu1,a@x,tech\nu2,b@x,\n")]);
    let plan = w.plan_json(&["in.csv"]);
    let out = w.ok(&["apply", &plan["plan_id"].to_string()]);
    assert!(
        out.stdout.contains("2 created, 0 updated, 0 deleted"),
        "{}",
        out.stdout
    );
    let state = w.state();
    assert_eq!(state[0]["external_id"], "u1");
    assert_eq!(state[0]["roles"][0], "tech");
    assert_eq!(counts(&w.plan_json(&["in.csv"])), [0, 0, 0, 2, 0, 0]);
}

#[test]
fn a_plan_is_applied_once() {
    let w = workdir_with(&[("in.csv", "external_id\nu1\n")]);
    w.ok(&["plan", "in.csv"]);
    w.ok(&["apply", "latest"]);
    let before = w.db_bytes();
    let error = w.fails(&["apply", "latest"]);
    assert!(error.contains("was already applied (apply 1)"), "{error}");
    assert!(error.contains("roster plan"), "{error}");
    assert_eq!(w.db_bytes(), before);
}

#[test]
fn a_stale_plan_is_refused() {
    let w = workdir_with(&[
        ("a.csv", "external_id\nu1\n"),
        ("b.csv", "external_id\nu2\n"),
    ]);
    let first = w.plan_json(&["a.csv"])["plan_id"].to_string();
    let second = w.plan_json(&["b.csv"])["plan_id"].to_string();
    w.ok(&["apply", &second]);
    let error = w.fails(&["apply", &first]);
    assert!(error.contains(&format!("plan {first} is stale")), "{error}");
    assert!(
        error.contains("plan again with `roster plan FILE…`"),
        "{error}"
    );
}

#[test]
fn a_plan_made_with_other_rules_is_refused() {
    let w = workdir_with(&[("in.csv", "external_id\nu1\n")]);
    std::fs::create_dir_all(w.path().join("rules/acme")).unwrap();
    w.ok(&["plan", "in.csv", "--tenant", "acme"]);
    w.write(
        "rules/acme/validation.json",
        r#"[{"Name": "email", "Required": true}]"#,
    );
    let error = w.fails(&["apply", "latest", "--tenant", "acme"]);
    assert!(
        error.contains("the rules of tenant `acme` changed"),
        "{error}"
    );
}

#[test]
fn an_unknown_plan_is_an_error() {
    let w = Workdir::new();
    w.write("other.csv", "external_id\nu1\n");
    w.ok(&["plan", "other.csv", "--tenant", "default", "-q"]);
    w.write("rules/t2/README.md", "another tenant\n");
    let error = w.fails(&["apply", "42"]);
    assert!(
        error.contains("there is no plan 42 for tenant `default`"),
        "{error}"
    );
    let error = w.fails(&["apply", "latest", "--tenant", "t2"]);
    assert!(error.contains("has no plan yet"), "{error}");
    let error = w.fails(&["apply", "abc"]);
    assert!(error.contains("`abc` is not a plan id"), "{error}");
}

#[test]
fn tenants_share_nothing() {
    std::fs::create_dir_all(std::env::temp_dir()).unwrap();
    let w = workdir_with(&[("in.csv", "external_id\nu1\n")]);
    std::fs::create_dir_all(w.path().join("rules/other")).unwrap();
    w.ok(&["plan", "in.csv"]);
    let error = w.fails(&["apply", "latest", "--tenant", "other"]);
    assert!(error.contains("tenant `other` has no plan yet"), "{error}");
    w.ok(&["apply", "latest"]);
    let other = w
        .ok(&["state", "show", "--tenant", "other", "--output", "json"])
        .json();
    assert_eq!(other, serde_json::json!([]));
    assert_eq!(
        counts(&w.plan_json(&["in.csv", "--tenant", "other"])),
        [1, 0, 0, 0, 0, 0]
    );
}

#[test]
fn revert_restores_the_state_before_the_apply() {
    let w = workdir_with(&[
        ("a.csv", "external_id,email\nu1,a@x\nu2,b@x\nu3,c@x\n"),
        (
            "b.csv",
            "external_id,email,cud\nu1,new@x,2\nu2,,3\nu4,d@x,1\n",
        ),
    ]);
    w.ok(&["plan", "a.csv"]);
    w.ok(&["apply", "latest"]);
    let before = w.state();
    w.ok(&["plan", "b.csv"]);
    let applied = w.ok(&["apply", "latest"]).stdout;
    assert!(applied.contains("as apply 2"), "{applied}");
    assert_ne!(w.state(), before);
    let revert = w.plan_json(&["--revert", "2"]);
    assert_eq!(counts(&revert), [1, 1, 1, 0, 0, 0]);
    w.ok(&["apply", "latest"]);
    assert_eq!(w.state(), before);
    let history = w.ok(&["history"]).stdout;
    assert!(history.contains("revert of apply 2"), "{history}");
}

#[test]
fn revert_of_an_unknown_apply_is_an_error() {
    let w = Workdir::new();
    let error = w.fails(&["plan", "--revert", "7"]);
    assert!(
        error.contains("there is no apply 7 for tenant `default`"),
        "{error}"
    );
}
