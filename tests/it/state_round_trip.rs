//! A platform's export loaded as state is what roster exported: for each vendor, exporting a
//! state and loading the payloads back as the state gives a state whose next plan of the same
//! input is empty. Where the vendor's object cannot carry roster's key (ServicePower), the
//! tenant names the field that does, and a load that would re-key users is refused.

use crate::common::{counts, Workdir};
use proptest::prelude::*;

/// One generated user: key, login, names, e-mail, phone, team, location, active.
fn user() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(vec!["", "ada", "alan@acme.example", "g.hopper"]),
        prop::sample::select(vec!["Ada", "Zoë", "Jean-Luc"]),
        prop::sample::select(vec!["Lovelace", "Ødegård", "O'Brien"]),
        prop::sample::select(vec!["", "a@acme.example", "z@acme.example"]),
        prop::sample::select(vec!["", "mobile:+47 400 00 001", "mobile:+1 555 0100"]),
        prop::sample::select(vec!["", "North", "South"]),
        prop::sample::select(vec!["Oslo", "Bergen"]),
        prop::sample::select(vec!["yes", "no"]),
    )
        .prop_map(
            |(login, first, last, email, phone, team, location, active)| {
                [login, first, last, email, phone, team, location, active]
                    .map(str::to_string)
                    .to_vec()
            },
        )
}

/// An HR file of 1 to 8 users with distinct keys and logins (or none).
fn hr_file() -> impl Strategy<Value = String> {
    prop::collection::vec(user(), 1..8).prop_map(|users| {
        let mut csv = String::from(
            "external_id,username,first_name,last_name,email,phones,teams,location,active\n",
        );
        for (n, cells) in users.into_iter().enumerate() {
            let login = match cells[0].as_str() {
                "" => String::new(),
                login => format!("{n}.{login}"),
            };
            let rest = cells[1..].join(",");
            csv.push_str(&format!("E{n:03},{login},{rest}\n"));
        }
        csv
    })
}

/// A tenant `t` whose `tenant.toml` is `settings`.
fn tenant(settings: &str) -> Workdir {
    let w = Workdir::new();
    w.write("rules/t/tenant.toml", settings);
    w
}

/// The export files of `out/`, sorted.
fn payloads(w: &Workdir, vendor: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(w.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(vendor))
        .map(|name| format!("out/{name}"))
        .collect();
    files.sort();
    files
}

/// Plans and applies `csv`, exports the state it makes, loads the payloads back as the
/// state, and returns the counts of planning `csv` again.
fn round_trip(w: &Workdir, vendor: &str, csv: &str) -> [u64; 6] {
    w.write("hr.csv", csv);
    w.ok(&["plan", "hr.csv", "--tenant", "t", "-q"]);
    w.ok(&["apply", "latest", "--tenant", "t"]);
    w.ok(&[
        "export", "latest", "--tenant", "t", "--vendor", vendor, "--out", "out",
    ]);
    let mut load = vec!["state", "load"];
    let mut files = payloads(w, vendor);
    if vendor == "esystems" {
        // eSystems lists its users as a `{"Meta", "Type", "Data"}` answer: the users the
        // location bodies sent, gathered.
        let users: Vec<serde_json::Value> = files
            .iter()
            .flat_map(|f| {
                let text = std::fs::read_to_string(w.path().join(f)).unwrap();
                let body: serde_json::Value = serde_json::from_str(&text).unwrap();
                body["Users"].as_array().unwrap().clone()
            })
            .collect();
        let listing =
            serde_json::json!({"Meta": {"TotalItems": users.len()}, "Type": "User", "Data": users});
        w.write("listing.json", listing.to_string());
        files = vec!["listing.json".to_string()];
    }
    load.extend(files.iter().map(String::as_str));
    load.extend(["--vendor", vendor, "--tenant", "t"]);
    w.ok(&load);
    counts(&w.plan_json(&["hr.csv", "--tenant", "t"]))
}

const NO_CHANGES: [u64; 3] = [0, 0, 0];

fn changes(counts: [u64; 6]) -> [u64; 3] {
    [counts[0], counts[1], counts[2]]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn servicepower_round_trip_is_the_identity(csv in hr_file()) {
        let w = tenant("servicepower_key_field = \"Extensions.EmployeeID\"\n");
        prop_assert_eq!(changes(round_trip(&w, "servicepower", &csv)), NO_CHANGES, "{}", csv);
    }

    #[test]
    fn esystems_round_trip_is_the_identity(csv in hr_file()) {
        let w = tenant("");
        prop_assert_eq!(changes(round_trip(&w, "esystems", &csv)), NO_CHANGES, "{}", csv);
    }

    /// The User DTO holds one phone number and no type, so the users' phones have none.
    #[test]
    fn fieldsquared_round_trip_is_the_identity(csv in hr_file()) {
        let csv = csv.replace("mobile:", "");
        let w = tenant("fieldsquared_workspace = \"acme\"\n");
        prop_assert_eq!(changes(round_trip(&w, "fieldsquared", &csv)), NO_CHANGES, "{}", csv);
    }
}

/// ServicePower's `UserID` is the login: when roster's key is something else and the tenant
/// has not said which field carries it, loading the export would re-key every user (and the
/// next `--sync` plan would delete them all). The load is refused, naming the setting.
#[test]
fn a_servicepower_load_that_would_re_key_users_is_refused() {
    let w = tenant("");
    w.write(
        "hr.csv",
        "external_id,username,email\nE001,ada@acme.example,ada@acme.example\nE002,,alan@acme.example\n",
    );
    w.ok(&["plan", "hr.csv", "--tenant", "t", "-q"]);
    w.ok(&["apply", "latest", "--tenant", "t"]);
    w.ok(&[
        "export",
        "latest",
        "--tenant",
        "t",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    let before = w.db_bytes();
    let error = w.fails(&[
        "state",
        "load",
        "out/servicepower-0001.json",
        "--vendor",
        "servicepower",
        "--tenant",
        "t",
    ]);
    assert!(
        error.contains("`UserID` `ada@acme.example`, the login of stored user `E001`"),
        "{error}"
    );
    assert!(error.contains("`servicepower_key_field`"), "{error}");
    assert!(error.contains("rules/t/tenant.toml"), "{error}");
    assert_eq!(w.db_bytes(), before, "nothing stored");
}

/// With the key carried in an extension, the export sends it there and the load reads it
/// back: the users keep their keys and logins.
#[test]
fn the_key_field_carries_roster_s_key_through_servicepower() {
    let w = tenant("servicepower_key_field = \"Extensions.EmployeeID\"\n");
    w.write(
        "hr.csv",
        "external_id,username,email\nE001,ada@acme.example,ada@acme.example\n",
    );
    assert_eq!(
        changes(round_trip(
            &w,
            "servicepower",
            &std::fs::read_to_string(w.path().join("hr.csv")).unwrap()
        )),
        NO_CHANGES
    );
    let payload = std::fs::read_to_string(w.path().join("out/servicepower-0001.json")).unwrap();
    assert!(payload.contains("\"EmployeeID\": \"E001\""), "{payload}");
    let state = w
        .ok(&["state", "show", "--tenant", "t", "--output", "json"])
        .json();
    assert_eq!(state[0]["external_id"], "E001", "{state}");
    assert_eq!(state[0]["username"], "ada@acme.example", "{state}");
    assert!(
        state[0]
            .get("attributes")
            .is_none_or(|a| a.get("EmployeeID").is_none()),
        "{state}"
    );
}
