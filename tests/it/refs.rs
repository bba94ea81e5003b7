//! `roster ref load|show`: reference tables per tenant.

use crate::common::Workdir;

#[test]
fn load_replaces_the_table_and_show_prints_it() {
    let w = Workdir::new();
    w.write("teams.csv", "id,name\nT1,North\nT2,South\n");
    let out = w.ok(&["ref", "load", "team", "teams.csv"]).stdout;
    assert!(out.contains("2 rows, columns id, name"), "{out}");
    w.write("teams.csv", "id,name\nT3,East\n");
    w.ok(&["ref", "load", "team", "teams.csv"]);
    let shown = w.ok(&["ref", "show", "team"]).stdout;
    assert!(
        shown.contains("East") && !shown.contains("North"),
        "{shown}"
    );
    assert!(shown.contains("1 rows in `team`."), "{shown}");
}

#[test]
fn tables_belong_to_one_tenant() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path().join("rules/other")).unwrap();
    w.write("teams.csv", "id,name\nT1,North\n");
    w.ok(&["ref", "load", "team", "teams.csv"]);
    let error = w.fails(&["ref", "show", "team", "--tenant", "other"]);
    assert!(
        error.contains("tenant `other` has no reference table `team`"),
        "{error}"
    );
    assert!(
        error.contains("`roster --tenant other ref load team FILE`"),
        "{error}"
    );
}

#[test]
fn a_lookup_replaces_the_value_by_the_id() {
    let w = Workdir::new();
    w.write(
        "rules/t/validation.json",
        r#"[{"Name": "location", "FieldName": "name"}]"#,
    );
    w.write("locations.csv", "id,name\nL1,Oslo\nL2,Bergen\nL3,Bergen\n");
    w.write(
        "in.csv",
        "external_id,location\nu1,oslo\nu2,Bergen\nu3,Paris\n",
    );
    w.ok(&["ref", "load", "location", "locations.csv", "--tenant", "t"]);
    let plan = w.plan_json(&["in.csv", "--tenant", "t"]);
    let location = plan["changes"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "location")
        .unwrap()["after"]
        .clone();
    assert_eq!(location, "L1");
    let problems: Vec<_> = plan["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].clone())
        .collect();
    assert_eq!(
        problems,
        vec!["u2", "u3"],
        "found twice and not found are errors"
    );
}

#[test]
fn a_bad_table_name_or_missing_file_is_an_error() {
    let w = Workdir::new();
    let error = w.fails(&["ref", "load", "a/b", "x.csv"]);
    assert!(error.contains("`a/b` is not a table name"), "{error}");
    let error = w.fails(&["ref", "load", "team", "missing.csv"]);
    assert!(error.contains("missing.csv"), "{error}");
    assert!(!w.db().exists());
}
