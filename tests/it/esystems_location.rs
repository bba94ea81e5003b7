//! eSystems `LocationId` is a text foreign key that the platform looks up by the Location field
//! the payload's `Extra` names: the value sent is the one that field holds for the user's
//! location (`esystems_location_field`, `Name` by default), taken from the tenant's reference
//! table `location`.

use std::path::Path;

use crate::common::{copy_dir, counts, Workdir};
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The shipped acme-hr tenant, `settings` added to its `tenant.toml`, with its reference
/// table and its HR file applied.
fn acme(settings: &str) -> Workdir {
    let w = Workdir::new();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for dir in ["common", "acme-hr"] {
        copy_dir(&rules.join(dir), &w.path().join("rules").join(dir));
    }
    let toml = w.path().join("rules/acme-hr/tenant.toml");
    // The settings given replace the shipped line that names the lookup field.
    let shipped: String = std::fs::read_to_string(&toml)
        .unwrap()
        .lines()
        .filter(|l| settings.is_empty() || !l.starts_with("esystems_location_field"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&toml, format!("{shipped}{settings}")).unwrap();
    w.fixture("acme-hr/location.csv");
    w.fixture("acme-hr/employees.csv");
    w.ok(&[
        "--tenant",
        "acme-hr",
        "ref",
        "load",
        "location",
        "location.csv",
    ]);
    w.ok(&["--tenant", "acme-hr", "plan", "employees.csv", "-q"]);
    w.ok(&["--tenant", "acme-hr", "apply", "latest"]);
    w
}

/// Every `(LocationId, Extra FieldName)` of the export folder `out`, and its users.
fn sent(w: &Workdir, out: &str) -> (Vec<(String, String)>, Vec<Value>) {
    let mut pairs = Vec::new();
    let mut users = Vec::new();
    for entry in std::fs::read_dir(w.path().join(out)).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("esystems-")
        {
            continue;
        }
        let body = read_json(&path);
        let field = body["Extra"][0]["FieldName"].as_str().unwrap().to_string();
        assert_eq!(body["Extra"][0]["Name"], "LocationId");
        for user in body["Users"].as_array().unwrap() {
            pairs.push((
                user["LocationId"].as_str().unwrap().to_string(),
                field.clone(),
            ));
            users.push(user.clone());
        }
    }
    (pairs, users)
}

#[test]
fn the_shipped_example_sends_the_location_name_it_looks_up_by() {
    let w = acme("");
    w.ok(&[
        "--tenant", "acme-hr", "export", "latest", "--vendor", "esystems", "--out", "out",
    ]);
    let (pairs, _) = sent(&w, "out");
    let names = [
        "Oslo depot",
        "Bergen depot",
        "Trondheim depot",
        "Stavanger depot",
        "Head office",
    ];
    assert!(!pairs.is_empty());
    for (value, field) in &pairs {
        assert_eq!(field, "Name");
        assert!(
            names.contains(&value.as_str()),
            "`{value}` is not a location name"
        );
    }
    assert!(pairs.iter().any(|(v, _)| v == "Bergen depot"), "{pairs:?}");
}

#[test]
fn the_lookup_field_is_a_tenant_setting_and_a_load_reads_it_back() {
    let w = acme("esystems_location_field = \"cost_center\"\n");
    w.ok(&[
        "--tenant", "acme-hr", "export", "latest", "--vendor", "esystems", "--out", "out",
    ]);
    let (pairs, users) = sent(&w, "out");
    assert!(
        pairs.contains(&("CC-1050".into(), "cost_center".into())),
        "{pairs:?}"
    );
    // The platform's listing of those users loads back as the same state.
    let listing = serde_json::json!({"Meta": {}, "Type": "User", "Data": users});
    w.write("listing.json", listing.to_string());
    w.ok(&[
        "--tenant",
        "acme-hr",
        "state",
        "load",
        "listing.json",
        "--vendor",
        "esystems",
    ]);
    let again = w.plan_json(&["--tenant", "acme-hr", "employees.csv"]);
    assert_eq!(counts(&again)[..3], [0, 0, 0], "{again}");
}

#[test]
fn a_lookup_field_the_reference_table_lacks_is_refused() {
    let w = acme("esystems_location_field = \"Code\"\n");
    let error = w.fails(&[
        "--tenant", "acme-hr", "export", "latest", "--vendor", "esystems", "--out", "out",
    ]);
    assert!(
        error.contains("`esystems_location_field` is `Code`, but reference table `location` has no such column (it has id, name, cost_center)"),
        "{error}"
    );
    assert!(!w.path().join("out").exists());
}
