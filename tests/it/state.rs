//! `roster state show`: the stored users as a table, JSON or CSV.

use crate::common::{counts, Workdir};

fn loaded() -> Workdir {
    let w = Workdir::new();
    w.write("in.csv", "external_id,first_name,last_name,email,roles,password\nu2,Alan,Turing,alan@x,tech,pw\nu1,Ada,Lovelace,ada@x,tech;lead,\n");
    w.ok(&["plan", "in.csv"]);
    w.ok(&["apply", "latest"]);
    w
}

#[test]
fn json_is_an_array_of_users_in_key_order() {
    let state = loaded().state();
    let users = state.as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["external_id"], "u1");
    assert_eq!(users[0]["name"], "Ada Lovelace");
    assert_eq!(users[1]["password"], "(sensitive)");
}

#[test]
fn the_table_shows_the_main_fields_and_a_count() {
    let out = loaded().ok(&["state", "show"]).stdout;
    assert!(
        out.contains("Ada Lovelace") && out.contains("tech; lead"),
        "{out}"
    );
    assert!(out.contains("2 users in tenant `default`."), "{out}");
}

#[test]
fn csv_has_canonical_columns_and_plans_back_to_no_changes() {
    let w = loaded();
    let csv = w.ok(&["state", "show", "--output", "csv"]).stdout;
    assert!(csv.starts_with("external_id,username,first_name"), "{csv}");
    assert!(
        csv.contains("u1,,Ada,Lovelace,Ada Lovelace,AL,ada@x"),
        "{csv}"
    );
    // Without the password column the exported file describes the same users.
    let without_password: String = csv
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let keep: Vec<&str> = cells
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 19)
                .map(|(_, c)| *c)
                .collect();
            format!("{}\n", keep.join(","))
        })
        .collect();
    w.write("again.csv", without_password);
    assert_eq!(counts(&w.plan_json(&["again.csv"])), [0, 0, 0, 2, 0, 0]);
}
