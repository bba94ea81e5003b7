//! `roster results`: vendor answers mapped back to keys, source rows and batch files, and
//! recorded for `history`.

use crate::common;

use crate::common::Workdir;
use serde_json::json;

/// base.csv applied, delta.csv planned with `--sync` and exported to `vendor` in `out/`.
fn exported(vendor: &str, extra: &[&str]) -> Workdir {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.fixture("vendor/delta.csv");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "delta.csv", "--sync"]);
    let mut args = vec!["export", "2", "--vendor", vendor, "--out", "out"];
    args.extend_from_slice(extra);
    w.ok(&args);
    w
}

#[test]
fn a_servicepower_data_path_names_the_user_and_its_row() {
    let w = exported("servicepower", &["--batch-size", "2"]);
    // servicepower-0002.json holds T5 (created) then T2 (deleted).
    w.write(
        "out/servicepower-0002.response.json",
        r#"{"code": 400, "detail": {"message": "Email is not valid",
            "params": {"value": "kari@"}, "dataPath": "Users[0].Email"}}"#,
    );
    w.write(
        "out/servicepower-0001.response.json",
        r#"{"code": 200, "detail": {"message": "", "params": {}, "dataPath": ""}}"#,
    );
    let rows = w
        .ok(&[
            "results",
            "2",
            "--vendor",
            "servicepower",
            "out/servicepower-0001.response.json",
            "out/servicepower-0002.response.json",
            "--output",
            "json",
        ])
        .json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let t5 = rows.iter().find(|r| r["key"] == "T5").unwrap();
    assert_eq!(t5["status"], "rejected");
    assert_eq!(t5["source"], "delta.csv:5");
    assert_eq!(t5["batch_file"], "servicepower-0002.json");
    assert_eq!(t5["path"], "Users[0].Email");
    assert!(
        t5["message"]
            .as_str()
            .unwrap()
            .contains("Email is not valid"),
        "{t5}"
    );
    let t2 = rows.iter().find(|r| r["key"] == "T2").unwrap();
    assert_eq!(
        t2["status"], "failed",
        "the batch failed: T2 is not confirmed deleted"
    );
    for key in ["T1", "T3"] {
        let row = rows.iter().find(|r| r["key"] == key).unwrap();
        assert_eq!(row["status"], "accepted", "{row}");
    }
    let history = w.ok(&["history"]).stdout;
    assert!(history.contains("Vendor results:"), "{history}");
    assert!(history.contains("servicepower"), "{history}");
}

#[test]
fn an_esystems_error_names_users_by_key() {
    let w = exported("esystems", &[]);
    w.write(
        "out/esystems-0002.response.json",
        json!({"Errors": ["The value T5 does not match the specified entity structure"],
            "Type": "/Errors/Bad Input", "Title": "Bad Request", "StatusCode": 400,
            "Instance": "/OpenApi/rest/Xzy", "RequestKey": "894ea43c-b8a6-4195-9a9c-82c07d9cc33a"})
        .to_string(),
    );
    let table = w
        .ok(&[
            "results",
            "latest",
            "--vendor",
            "esystems",
            "out/esystems-0002.response.json",
        ])
        .stdout;
    assert!(table.contains("rejected │ T5"), "{table}");
    assert!(table.contains("delta.csv:5"), "{table}");
    assert!(table.contains("failed   │ T1"), "{table}");
    assert!(
        table.contains("0 accepted, 0 with warnings, 1 rejected, 1 failed"),
        "{table}"
    );
}

#[test]
fn a_field_squared_answer_is_read() {
    let w = exported("fieldsquared", &["--workspace", "acme"]);
    w.write("out/fieldsquared-0001.response.json", "");
    let rows = w
        .ok(&[
            "results",
            "2",
            "--vendor",
            "fieldsquared",
            "out/fieldsquared-0001.response.json",
            "--output",
            "json",
        ])
        .json();
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "accepted"),
        "{rows}"
    );
}

#[test]
fn a_response_must_sit_beside_its_manifest_and_match_the_plan() {
    let w = exported("servicepower", &[]);
    w.write("answer.json", "{}");
    let error = w.fails(&["results", "2", "--vendor", "servicepower", "answer.json"]);
    assert!(error.contains("is not named after a batch"), "{error}");
    w.write("servicepower-0001.response.json", "{}");
    let error = w.fails(&[
        "results",
        "2",
        "--vendor",
        "servicepower",
        "servicepower-0001.response.json",
    ]);
    assert!(
        error.contains("there is no `manifest.json` beside"),
        "{error}"
    );
    w.write("out/servicepower-0001.response.json", "{}");
    let error = w.fails(&[
        "results",
        "2",
        "--vendor",
        "esystems",
        "out/servicepower-0001.response.json",
    ]);
    assert!(
        error.contains("answers an export of plan 2 to servicepower, not plan 2 to esystems"),
        "{error}"
    );
    w.write("out/servicepower-0009.response.json", "{}");
    let error = w.fails(&[
        "results",
        "2",
        "--vendor",
        "servicepower",
        "out/servicepower-0009.response.json",
    ]);
    assert!(
        error.contains("which the manifest beside it does not list"),
        "{error}"
    );
}

/// The state never claims what the vendor refused: users of an applied plan that the vendor
/// rejected or failed are rolled back, shown again by the next plan, counted in `history`,
/// and applied again when a later answer loads them.
#[test]
fn vendor_failures_are_rolled_back_and_planned_again() {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.fixture("vendor/delta.csv");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "delta.csv", "--sync"]);
    w.ok(&["apply", "latest"]);
    w.ok(&[
        "export",
        "2",
        "--vendor",
        "servicepower",
        "--out",
        "out",
        "--batch-size",
        "2",
    ]);
    // servicepower-0002.json holds T5 (created) then T2 (deleted): T5 is named, T2 fails
    // with the batch; servicepower-0001.json (T1, T3) is taken.
    w.write(
        "out/servicepower-0001.response.json",
        r#"{"code": 200, "detail": {"message": "", "params": {}, "dataPath": ""}}"#,
    );
    w.write(
        "out/servicepower-0002.response.json",
        r#"{"code": 400, "detail": {"message": "Email is not valid", "dataPath": "Users[0].Email"}}"#,
    );
    let answers = [
        "out/servicepower-0001.response.json",
        "out/servicepower-0002.response.json",
    ];
    let mut args = vec!["results", "2", "--vendor", "servicepower"];
    args.extend_from_slice(&answers);
    let shown = w.ok(&args).stdout;
    assert!(shown.contains("2 user(s) rolled back"), "{shown}");
    let state = w.state();
    let keys: Vec<&str> = state
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["T1", "T2", "T3", "T4"],
        "T5 is not held, T2 is held again"
    );
    let again = w.plan_json(&["delta.csv", "--sync"]);
    assert_eq!(common::counts(&again)[..3], [1, 0, 1], "{again}");
    let history = w.ok(&["history", "--output", "json"]).json();
    let apply = &history["applies"][1];
    assert_eq!(
        (
            apply["created"].as_u64(),
            apply["deleted"].as_u64(),
            apply["rolled_back"].as_u64()
        ),
        (Some(0), Some(0), Some(2)),
        "{history}"
    );
    assert_eq!(
        history["vendor_results"],
        json!([{"plan_id": 2, "vendor": "servicepower", "accepted": 2, "warning": 0,
                "rejected": 1, "failed": 1}])
    );
    assert!(w.ok(&["history"]).stdout.contains("rolled back"));

    // The file sent again and taken: the state holds plan 2's users again.
    w.write("out/servicepower-0002.response.json", "{}");
    let shown = w
        .ok(&["results", "2", "--vendor", "servicepower", answers[1]])
        .stdout;
    assert!(
        shown.contains("0 user(s) rolled back to their record before plan 2, 2 applied again"),
        "{shown}"
    );
    let settled = w.plan_json(&["delta.csv", "--sync"]);
    assert_eq!(common::counts(&settled)[..3], [0, 0, 0], "{settled}");
    let recorded = w
        .ok(&[
            "results",
            "2",
            "--vendor",
            "servicepower",
            "--output",
            "json",
        ])
        .json();
    assert!(
        recorded
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "accepted"),
        "{recorded}"
    );
}
