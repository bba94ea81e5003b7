//! `tenant.toml`'s declarative `[map]` seen from the command line.

use serde_json::{Map, Value};

use crate::common::{counts, shipped, what_it_does, Workdir};

const TENANT_TOML: &str = r#"
[map]
trim = true
[map.columns]
"Employee ID" = "external_id"
"Work Email" = "email"
"First Name" = "first_name"
"Cost Center" = "attributes.cost_center"
[map.case]
external_id = "upper"
email = "lower"
first_name = "title"
[map.copy]
username = "email"
[map.defaults]
language = "en"
"#;

/// The same mapping as [`TENANT_TOML`], written as a `map` hook.
const MAP_HOOK: &str = r#"
fn map(row) {
    let email = lower(trim(row["Work Email"]));
    let user = #{
        external_id: upper(trim(row["Employee ID"])),
        email: email,
        username: email,
        first_name: title_case(trim(row["First Name"])),
        attributes: #{ cost_center: trim(row["Cost Center"]) },
        language: trim(row["Language"]),
    };
    if user.language == () || user.language == "" { user.language = "en"; }
    user
}
"#;

const EMPLOYEES: &str = "Employee ID,Work Email,First Name,Cost Center,Language\n\
    e1 , Ada@Example.COM,aDA,CC-1,\n\
    e2,bob@example.com ,bob ,CC-2,nb\n";

/// The fields of the plan's `index`th change, by name.
fn fields(plan: &Value, index: usize) -> Map<String, Value> {
    plan["changes"][index]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_string(), f["after"].clone()))
        .collect()
}

#[test]
fn a_declarative_only_tenant_maps_its_columns_without_a_hook() {
    let w = Workdir::new();
    w.write("rules/t/tenant.toml", TENANT_TOML);
    w.write("in.csv", EMPLOYEES);
    let plan = w.plan_json(&["in.csv", "--tenant", "t"]);
    assert_eq!(counts(&plan), [2, 0, 0, 0, 0, 0], "{plan}");
    let ada = fields(&plan, 0);
    assert_eq!(ada["external_id"], "E1");
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["username"], "ada@example.com");
    assert_eq!(ada["first_name"], "Ada");
    assert_eq!(ada["language"], "en");
    assert_eq!(ada["attributes"]["cost_center"], "CC-1");
    let bob = fields(&plan, 1);
    assert_eq!(bob["first_name"], "Bob");
    assert_eq!(bob["language"], "nb", "a given value is kept");
}

#[test]
fn the_declarative_form_plans_the_same_as_the_equivalent_map_hook() {
    let w = Workdir::new();
    w.write("rules/declarative/tenant.toml", TENANT_TOML);
    w.write("rules/hook/10_map.rhai", MAP_HOOK);
    w.write("in.csv", EMPLOYEES);
    let declarative = w.plan_json(&["in.csv", "--tenant", "declarative"]);
    let hook = w.plan_json(&["in.csv", "--tenant", "hook"]);
    assert_eq!(what_it_does(&declarative), what_it_does(&hook));
}

#[test]
fn a_map_hook_receives_the_declaratively_mapped_row() {
    let w = Workdir::new();
    w.write(
        "rules/t/tenant.toml",
        "[map]\ntrim = true\n[map.columns]\nId = \"external_id\"\n",
    );
    w.write(
        "rules/t/10_map.rhai",
        r#"fn map(row) { #{ external_id: row.external_id, last_name: `<${row.Name}>` } }"#,
    );
    w.write("in.csv", "Id,Name\n u1 , Lovelace \n");
    let plan = w.plan_json(&["in.csv", "--tenant", "t"]);
    let user = fields(&plan, 0);
    assert_eq!(user["external_id"], "u1");
    assert_eq!(user["last_name"], "<Lovelace>");
}

#[test]
fn a_bad_map_table_is_one_placed_error_and_no_workspace() {
    let w = Workdir::new();
    w.write(
        "rules/t/tenant.toml",
        "[map.columns]\n\"Work Email\" = \"email\"\n\"Private Email\" = \"email\"\n",
    );
    w.write("in.csv", "Work Email\na@x.example\n");
    let error = w.fails(&["plan", "in.csv", "--tenant", "t"]);
    assert!(
        error.contains("rules/t/tenant.toml:3:19: columns `Work Email` and `Private Email` are both mapped to `email`; map one column to each field"),
        "{error}"
    );
    assert!(!w.db().exists(), "nothing is created");
}

#[test]
fn changing_the_map_table_re_evaluates_applied_rows() {
    let w = Workdir::new();
    w.write(
        "rules/t/tenant.toml",
        "[map.columns]\nId = \"external_id\"\nMail = \"email\"\n",
    );
    w.write("in.csv", "Id,Mail\nu1,Ada@X.example\n");
    w.ok(&["plan", "in.csv", "--tenant", "t"]);
    w.ok(&["apply", "latest", "--tenant", "t"]);
    let again = w.plan_json(&["in.csv", "--tenant", "t"]);
    assert_eq!(counts(&again), [0, 0, 0, 1, 0, 0]);
    w.write(
        "rules/t/tenant.toml",
        "[map.columns]\nId = \"external_id\"\nMail = \"email\"\n[map.case]\nemail = \"lower\"\n",
    );
    let changed = w.plan_json(&["in.csv", "--tenant", "t"]);
    assert_eq!(counts(&changed), [0, 1, 0, 0, 0, 0], "{changed}");
    assert_eq!(fields(&changed, 0)["email"], "ada@x.example");
}

#[test]
fn rules_check_lists_the_declarative_step_before_the_hooks() {
    let w = Workdir::new();
    w.write("rules/t/tenant.toml", TENANT_TOML);
    w.write("rules/t/20_v.rhai", "fn validate(user) { [] }");
    let out = w.ok(&["rules", "check", "--tenant", "t"]).stdout;
    let declarative = out
        .find("1. tenant.toml [map]: rename 4 column(s), trim text")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(declarative < out.find("validate hook").unwrap(), "{out}");
}

#[test]
fn the_declarative_bench_pack_plans_the_same_as_the_bench_map_hook() {
    let w = Workdir::new();
    let benches = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/rules");
    crate::common::copy_dir(&benches, &w.path().join("rules"));
    w.ok(&["generate", "--users", "300", "--base", "base.csv"]);
    w.write(
        "locations.csv",
        "id,code\nL0,OSL\nL1,BER\nL2,CHI\nL3,LYO\nL4,MAD\n",
    );
    let mut plans = Vec::new();
    for tenant in ["bench", "bench-declarative"] {
        w.ok(&[
            "ref",
            "load",
            "location",
            "locations.csv",
            "--tenant",
            tenant,
        ]);
        plans.push(w.plan_json(&["base.csv", "--tenant", tenant]));
    }
    assert!(counts(&plans[0])[0] > 250, "{}", plans[0]["summary"]);
    assert!(
        counts(&plans[0])[4] > 0,
        "the data has dirt the rules reject"
    );
    assert_eq!(what_it_does(&plans[0]), what_it_does(&plans[1]));
}

/// The part of `rules check`'s output that follows `hint`: the `[map]` it suggests.
fn suggested(out: &str) -> Option<&str> {
    let hint = "does only what [map] does on these";
    let at = out.find(hint)?;
    out[at..].find("\n\n").map(|end| out[at + end..].trim())
}

/// A hook that only renames, trims, cases, copies and defaults is told so with the `[map]` to
/// paste, and that `[map]` in place of the hook plans the same.
#[test]
fn rules_check_data_suggests_the_map_table_that_does_what_the_hook_does() {
    let w = Workdir::new();
    w.write("rules/hook/10_map.rhai", MAP_HOOK);
    w.write("in.csv", EMPLOYEES);
    let out = w
        .ok(&["rules", "check", "--tenant", "hook", "--data", "in.csv"])
        .stdout;
    assert!(
        out.contains("The map hook of tenant `hook` does only what [map] does on these 2 rows; this in tenant.toml instead skips the interpreter (see docs/rules.md):"),
        "{out}"
    );
    let toml = suggested(&out).unwrap_or_else(|| panic!("{out}"));
    assert!(toml.starts_with("[map]\ntrim = true\n"), "{toml}");
    assert!(toml.contains("\"Employee ID\" = \"external_id\""), "{toml}");
    assert!(toml.contains("[map.defaults]\nlanguage = \"en\""), "{toml}");
    let json = w
        .ok(&[
            "rules", "check", "--tenant", "hook", "--data", "in.csv", "--output", "json",
        ])
        .json();
    assert_eq!(json["declarative_map"].as_str().map(str::trim), Some(toml));
    assert_eq!(json["checked"]["rows"], 2, "the document keeps its fields");

    w.write("rules/pasted/tenant.toml", toml);
    let hook = w.plan_json(&["in.csv", "--tenant", "hook"]);
    let pasted = w.plan_json(&["in.csv", "--tenant", "pasted"]);
    assert_eq!(counts(&hook), [2, 0, 0, 0, 0, 0], "{hook}");
    assert_eq!(what_it_does(&pasted), what_it_does(&hook));
}

/// A hook that does what `[map]` cannot (dates, phones, a switch: the shipped acme-hr pack)
/// gets no suggestion.
#[test]
fn rules_check_data_suggests_nothing_for_a_hook_that_does_more() {
    let w = shipped();
    let location = w.fixture("acme-hr/location.csv");
    w.fixture("acme-hr/employees.csv");
    let load = ["ref", "load", "location", location.to_str().unwrap()];
    w.ok(&[&load[..], &["--tenant", "acme-hr"]].concat());
    let check = [
        "rules",
        "check",
        "--tenant",
        "acme-hr",
        "--data",
        "employees.csv",
    ];
    let table = w.run(&check);
    assert_eq!(table.status, 4, "{}", table.stderr);
    assert!(table.stdout.contains("Checked 31 rows"), "{}", table.stdout);
    assert!(!table.stdout.contains("[map]"), "{}", table.stdout);
    let json = w.run(&[&check[..], &["--output", "json"]].concat()).json();
    assert_eq!(json["declarative_map"], Value::Null);
}

/// A mapping that holds on some rows only is no mapping `[map]` can do: no suggestion. Nor
/// for a pack that has `[map]` already.
#[test]
fn rules_check_data_suggests_nothing_when_the_mapping_holds_on_some_rows_only() {
    let w = Workdir::new();
    w.write(
        "rules/t/10_map.rhai",
        // Contractors' addresses are kept as given; the others' lowered.
        r#"fn map(row) {
            let email = if row.id.starts_with("c") { row.mail } else { lower(row.mail) };
            #{ external_id: row.id, email: email }
        }"#,
    );
    w.write(
        "in.csv",
        "id,mail\ne1,Ada@X.example\ne2,bob@x.example\nc3,Cy@X.example\n",
    );
    let check = ["rules", "check", "--tenant", "t", "--data", "in.csv"];
    let out = w.ok(&check).stdout;
    assert!(!out.contains("[map]"), "{out}");
    w.write(
        "first-two.csv",
        "id,mail\ne1,Ada@X.example\ne2,bob@x.example\n",
    );
    let out = w
        .ok(&[&check[..4], &["--data", "first-two.csv"]].concat())
        .stdout;
    assert!(
        suggested(&out).is_some_and(|toml| toml.contains("email = \"lower\"")),
        "the rows it holds on alone are explained: {out}"
    );
    w.write("rules/t/tenant.toml", "[map]\ntrim = true\n");
    let out = w
        .ok(&[&check[..4], &["--data", "first-two.csv"]].concat())
        .stdout;
    assert!(!out.contains("does only what"), "{out}");
}

/// The bench pack's hook (trims, case, a copy, a split into `attributes`) on generated users
/// with dirt: the suggested `[map]` pasted in place of the `map` hook plans the same.
#[test]
fn the_map_suggested_for_the_bench_hook_plans_the_same_as_the_hook() {
    let w = Workdir::new();
    let benches = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/rules/bench");
    crate::common::copy_dir(&benches, &w.path().join("rules/bench"));
    w.ok(&["generate", "--users", "300", "--base", "base.csv"]);
    w.write(
        "locations.csv",
        "id,code\nL0,OSL\nL1,BER\nL2,CHI\nL3,LYO\nL4,MAD\n",
    );
    w.ok(&[
        "ref",
        "load",
        "location",
        "locations.csv",
        "--tenant",
        "bench",
    ]);
    let out = w.run(&["rules", "check", "--tenant", "bench", "--data", "base.csv"]);
    assert_eq!(out.status, 4, "the data has dirt the rules reject");
    let toml = suggested(&out.stdout).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        toml.contains("[map.copy]\nusername = \"external_id\""),
        "{toml}"
    );
    let settings = std::fs::read_to_string(w.path().join("rules/bench/tenant.toml")).unwrap();
    w.write("rules/pasted/tenant.toml", format!("{settings}\n{toml}\n"));
    let declarative = benches.with_file_name("bench-declarative");
    for file in ["validation.json", "20_validate.rhai"] {
        // The bench hook's `validate`, without its `map`.
        let to = w.path().join("rules/pasted").join(file);
        std::fs::copy(declarative.join(file), to).unwrap();
    }
    w.ok(&[
        "ref",
        "load",
        "location",
        "locations.csv",
        "--tenant",
        "pasted",
    ]);
    let hook = w.plan_json(&["base.csv", "--tenant", "bench"]);
    let pasted = w.plan_json(&["base.csv", "--tenant", "pasted"]);
    assert!(counts(&hook)[0] > 250, "{}", hook["summary"]);
    assert_eq!(what_it_does(&pasted), what_it_does(&hook));
}
