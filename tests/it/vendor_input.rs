//! Vendor files as input (`plan --format <vendor>`) and as state (`state load`).

use crate::common::{counts, Workdir};
use serde_json::json;

#[test]
fn a_servicepower_payload_plans_with_its_cud_honoured() {
    let w = Workdir::new();
    w.write(
        "base.csv",
        "external_id,email\nU1,a@x.example\nU2,b@x.example\n",
    );
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.write(
        "payload.json",
        json!({"Users": [
            {"UserID": "U1", "CUD": 2, "Email": "a@new.example", "FirstName": "Ada"},
            {"UserID": "U2", "CUD": 3},
            {"UserID": "U3", "CUD": 1, "Email": "c@x.example", "Activated": true,
             "Phones": [{"PhoneNum": "+4740000003", "PhoneType": "mobile"}]}
        ]})
        .to_string(),
    );
    let plan = w.plan_json(&["payload.json", "--format", "servicepower"]);
    assert_eq!(counts(&plan), [1, 1, 1, 0, 0, 0]);
    let actions: Vec<_> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].clone(), c["key"].clone()))
        .collect();
    assert_eq!(
        actions,
        vec![
            (json!("update"), json!("U1")),
            (json!("delete"), json!("U2")),
            (json!("create"), json!("U3"))
        ]
    );
    w.ok(&["apply", "latest"]);
    let state = w.state();
    assert_eq!(
        state[1]["phones"],
        json!([{"number": "+4740000003", "type": "mobile"}])
    );
}

#[test]
fn an_export_moves_to_another_tenant_through_the_vendor_format() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path().join("rules/target")).unwrap();
    let base = w.fixture("vendor/base.csv");
    w.ok(&["plan", base.to_str().unwrap()]);
    w.ok(&["apply", "latest"]);
    w.ok(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    let plan = w.plan_json(&[
        "out/servicepower-0001.json",
        "--format",
        "servicepower",
        "--tenant",
        "target",
    ]);
    let [create, update, delete, _, error, _] = counts(&plan);
    assert_eq!((update, delete, error), (0, 0, 0));
    assert_eq!(create as usize, w.state().as_array().unwrap().len());
}

fn esystems_response() -> String {
    json!({
        "Meta": {"TotalItems": 2, "CurrentPage": 1, "PageSize": 50},
        "Type": "User",
        "Data": [
            {"Id": 101, "Name": "Ada Lovelace", "Username": "ada", "Email": "ada@acme.example",
             "MobilePhone": "+4740000001", "External_Id": "T1", "Is_Active": true},
            {"Id": 102, "Name": "Alan Turing", "Username": "alan", "Email": "alan@acme.example",
             "MobilePhone": "+4740000002", "External_Id": "T2", "Is_Active": false}
        ]
    })
    .to_string()
}

fn platform_ids(w: &Workdir) -> Vec<(String, Option<String>)> {
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let mut stmt = conn
        .prepare("SELECT external_id, platform_ids FROM users ORDER BY external_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn state_load_keeps_the_platform_ids_and_shows_what_it_changes() {
    let w = Workdir::new();
    w.write("export.json", esystems_response());
    let out = w
        .ok(&["state", "load", "export.json", "--vendor", "esystems"])
        .stdout;
    assert!(out.contains("Plan: 2 to create"), "{out}");
    assert!(
        out.contains("Loaded the esystems export into the state of tenant `default` as apply 1"),
        "{out}"
    );
    assert_eq!(
        platform_ids(&w),
        vec![
            ("T1".into(), Some(r#"{"esystems":101}"#.into())),
            ("T2".into(), Some(r#"{"esystems":102}"#.into()))
        ]
    );
    let state = w.state();
    assert_eq!(state[1]["active"], false);
    assert_eq!(state[0]["email"], "ada@acme.example");
    // Loading the same export again changes nothing.
    let again = w
        .ok(&["state", "load", "export.json", "--vendor", "esystems"])
        .stdout;
    assert!(
        again.contains("0 to create, 0 to update, 0 to delete, 2 unchanged"),
        "{again}"
    );
}

#[test]
fn state_load_replaces_users_absent_from_the_export_and_learns_new_ids() {
    let w = Workdir::new();
    w.write(
        "old.csv",
        "external_id,email\nT1,ada@acme.example\nT9,gone@acme.example\n",
    );
    w.ok(&["plan", "old.csv"]);
    w.ok(&["apply", "latest"]);
    w.write("export.json", esystems_response());
    let dry = w
        .ok(&[
            "state",
            "load",
            "export.json",
            "--vendor",
            "esystems",
            "--dry-run",
        ])
        .stdout;
    assert!(dry.contains("platform_id.esystems: (none) → 101"), "{dry}");
    assert!(dry.contains("│ - │ T9"), "{dry}");
    assert!(dry.contains("Dry run: nothing applied"), "{dry}");
    assert_eq!(
        w.state().as_array().unwrap().len(),
        2,
        "a dry run changes nothing"
    );
    w.ok(&["apply", "latest"]);
    let keys: Vec<_> = platform_ids(&w).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec!["T1", "T2"]);
    let history = w.ok(&["history"]).stdout;
    assert!(history.contains("state load"), "{history}");
}

#[test]
fn exports_address_the_learned_ids() {
    let w = Workdir::new();
    w.write("export.json", esystems_response());
    w.ok(&["state", "load", "export.json", "--vendor", "esystems"]);
    w.write(
        "change.csv",
        "external_id,email,location\nT1,ada@new.example,Oslo\n",
    );
    w.ok(&["plan", "change.csv"]);
    w.ok(&["export", "latest", "--vendor", "esystems", "--out", "out"]);
    let body: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.path().join("out/esystems-0001.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(body["Users"][0]["Id"], 101);
    assert_eq!(body["Users"][0]["Email"], "ada@new.example");
}

#[test]
fn a_bad_vendor_file_is_refused_with_its_place() {
    let w = Workdir::new();
    w.write(
        "bad.json",
        r#"{"Meta": {}, "Data": [{"Id": 1, "External_Id": "T1"}, 5]}"#,
    );
    let before = w.db_bytes();
    let error = w.fails(&["state", "load", "bad.json", "--vendor", "esystems"]);
    assert!(
        error.contains("bad.json:1") && error.contains("Data[1] is a number"),
        "{error}"
    );
    assert_eq!(w.db_bytes(), before);
    let error = w.fails(&["state", "load", "bad.json", "--vendor", "sap"]);
    assert!(error.contains("sap"), "{error}");
}
