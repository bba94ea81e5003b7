//! `roster rules check|test` and rule packs seen from the command line.

use crate::common::{counts, shipped, what_it_does, Workdir};

#[test]
fn the_shipped_packs_pass_their_own_examples() {
    let w = shipped();
    for tenant in ["acme-hr", "contoso-entra"] {
        let out = w.ok(&["rules", "test", "--tenant", tenant]).stdout;
        assert!(out.contains("7 passed, 0 failed"), "{tenant}: {out}");
        assert!(!w.db().exists(), "rules test does not create a workspace");
    }
}

#[test]
fn check_prints_the_order_of_hooks_and_checks() {
    let out = shipped()
        .ok(&["rules", "check", "--tenant", "acme-hr"])
        .stdout;
    let position = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in {out}"))
    };
    assert!(position("map hook") < position("DefaultValue"));
    assert!(position("DefaultValue") < position("Lookup location"));
    assert!(position("Lookup location") < position("Required"));
    assert!(position("Required") < position("validate hook"));
    assert!(position("validate hook") < position("Unique"));
}

#[test]
fn a_failing_example_shows_its_difference_and_fails_the_command() {
    let w = Workdir::new();
    w.write(
        "rules/t/10_map.rhai",
        "fn map(row) { #{ external_id: row.id, email: lower(row.mail) } }",
    );
    w.write(
        "rules/t/tests/01.json",
        r#"{"row": {"id": "u1", "mail": "A@X.EXAMPLE"}, "user": {"external_id": "u1", "email": "A@X.EXAMPLE"}}"#,
    );
    let out = w.run(&["rules", "test", "--tenant", "t"]);
    assert_eq!(out.status, 1);
    assert!(out.stdout.contains("FAIL"), "{}", out.stdout);
    assert!(
        out.stdout.contains("a@x.example"),
        "the diff shows the value got: {}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("1 of the 1 examples of tenant `t` failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unknown_tenant_names_the_tenants_that_exist() {
    let w = shipped();
    w.write("in.csv", "external_id\nu1\n");
    let error = w.fails(&["plan", "in.csv", "--tenant", "acme"]);
    assert!(error.contains("unknown tenant `acme`"), "{error}");
    assert!(
        error.contains("acme-hr") && error.contains("contoso-entra"),
        "{error}"
    );
    assert!(!w.db().exists());
}

#[test]
fn a_syntax_error_names_file_line_column_and_shows_a_caret() {
    let w = Workdir::new();
    w.write(
        "rules/t/10_map.rhai",
        "fn map(row) {\n    let x = ;\n    x\n}\n",
    );
    let error = w.fails(&["rules", "check", "--tenant", "t"]);
    assert!(error.contains("rules/t/10_map.rhai:2:"), "{error}");
    assert!(
        error.contains("let x = ;") && error.contains('^'),
        "{error}"
    );
}

#[test]
fn check_reports_a_broken_pack_as_data_with_output_json() {
    let w = Workdir::new();
    w.write(
        "rules/t/10_map.rhai",
        "fn map(row) {\n    let x = ;\n    x\n}\n",
    );
    let out = w.run(&["rules", "check", "--tenant", "t", "--output", "json"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    let document = out.json();
    let error = &document["error"];
    assert_eq!(document["tenant"], "t");
    assert_eq!(error["file"], "rules/t/10_map.rhai");
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(2), Some(13))
    );
    let message = error["message"].as_str().unwrap();
    assert!(!message.is_empty() && !message.contains('^'), "{message}");
    // The same error, drawn with its caret, is the message on stderr.
    assert!(
        out.stderr
            .contains(&format!("rules/t/10_map.rhai:2:13: {message}\n")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("let x = ;"), "{}", out.stderr);
}

#[test]
fn a_runaway_script_stops_the_run_quickly_with_its_file() {
    let w = Workdir::new();
    w.write("rules/t/10_map.rhai", "fn map(row) {\n    loop { }\n}\n");
    w.write("in.csv", "external_id\nu1\n");
    let started = std::time::Instant::now();
    let error = w.fails(&["plan", "in.csv", "--tenant", "t"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(error.contains("rules/t/10_map.rhai:1"), "{error}");
    assert!(!w.db().exists(), "nothing half-written");
}

#[test]
fn a_throw_rejects_the_row_and_the_run_goes_on() {
    let w = Workdir::new();
    w.write(
        "rules/t/10_map.rhai",
        "fn map(row) {\n    if row.id == \"bad\" { throw \"no thanks\"; }\n    #{ external_id: row.id }\n}\n",
    );
    w.write("in.csv", "id\nu1\nbad\nu2\n");
    let plan = w.plan_json(&["in.csv", "--tenant", "t"]);
    assert_eq!(counts(&plan), [2, 0, 0, 0, 1, 0]);
    assert_eq!(plan["problems"][0]["rule"], "Script");
    assert_eq!(plan["problems"][0]["source"], "in.csv:3");
    assert!(plan["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no thanks"));
}

#[test]
fn declarative_checks_from_validation_json_reject_rows_with_every_problem() {
    let w = Workdir::new();
    w.write(
        "rules/t/validation.json",
        r#"{"Extra": [
            {"Name": "email", "Required": true, "Pattern": "@x\\.example$", "Unique": true},
            {"Name": "language", "DefaultValue": "en"},
            {"Name": "last_name", "Max": "5"}
        ]}"#,
    );
    w.write(
        "in.csv",
        "external_id,email,last_name\nu1,a@x.example,Short\nu2,,Longername\nu3,a@x.example,Ok\nu4,b@y.example,Ok\n",
    );
    let plan = w.plan_json(&["in.csv", "--tenant", "t"]);
    assert_eq!(counts(&plan), [1, 0, 0, 0, 3, 0]);
    let rules: Vec<(&str, &str)> = plan["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["key"].as_str().unwrap(), p["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("u2", "Required"),
            ("u2", "Max"),
            ("u3", "Unique"),
            ("u4", "Pattern")
        ]
    );
    assert_eq!(
        plan["changes"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "language")
            .unwrap()["after"],
        "en"
    );
}

/// Tenant `t` with a `Unique` e-mail, and user `u1` holding `a@x.example` applied.
fn stored_u1_with_a_unique_email() -> Workdir {
    let w = Workdir::new();
    w.write(
        "rules/t/validation.json",
        r#"[{"Name": "email", "Unique": true}]"#,
    );
    w.write("a.csv", "external_id,email\nu1,a@x.example\n");
    w.ok(&["plan", "a.csv", "--tenant", "t"]);
    w.ok(&["apply", "latest", "--tenant", "t"]);
    w
}

#[test]
fn unique_also_holds_against_other_stored_users() {
    let w = stored_u1_with_a_unique_email();
    w.write(
        "b.csv",
        "external_id,email\nu1,a@x.example\nu2,a@x.example\n",
    );
    let plan = w.plan_json(&["b.csv", "--tenant", "t"]);
    assert_eq!(counts(&plan), [0, 0, 0, 1, 1, 0]);
    assert!(plan["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("already used by the row at b.csv:2"));
    w.write("c.csv", "external_id,email\nu3,a@x.example\n");
    let plan = w.plan_json(&["c.csv", "--tenant", "t"]);
    assert!(plan["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("held by stored user `u1`"));
}

/// The apply stores each record with its field places, by which the next plan reads the
/// stored `Unique` values; a user stored without them (by an older roster) is parsed, and
/// holds its value all the same.
#[test]
fn unique_values_are_read_by_their_places_or_parsed_without() {
    let w = stored_u1_with_a_unique_email();
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let (record, places): (String, Vec<u8>) = conn
        .query_row(
            "SELECT record, field_places FROM users WHERE external_id = 'u1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let placed = roster::store::field_places::Placed::new(record.as_bytes(), &places).unwrap();
    assert_eq!(placed.value("email"), Some(Some(&b"\"a@x.example\""[..])));
    w.write("c.csv", "external_id,email\nu3,a@x.example\n");
    let held = |w: &Workdir| {
        let plan = w.plan_json(&["c.csv", "--tenant", "t"]);
        assert_eq!(counts(&plan), [0, 0, 0, 0, 1, 0]);
        plan["problems"][0]["message"].as_str().unwrap().to_string()
    };
    assert!(held(&w).contains("held by stored user `u1`"));
    conn.execute("UPDATE users SET field_places = NULL", [])
        .unwrap();
    assert!(held(&w).contains("held by stored user `u1`"));
}

#[test]
fn the_readme_tenant_plans_its_fixture_with_its_lookup() {
    let w = shipped();
    let location = w.fixture("acme-hr/location.csv");
    let employees = w.fixture("acme-hr/employees.csv");
    let error = w.fails(&["plan", employees.to_str().unwrap(), "--tenant", "acme-hr"]);
    assert!(
        error.contains("`roster --tenant acme-hr ref load location FILE`"),
        "{error}"
    );
    w.ok(&[
        "ref",
        "load",
        "location",
        location.to_str().unwrap(),
        "--tenant",
        "acme-hr",
    ]);
    let plan = w.plan_json(&["employees.csv", "--tenant", "acme-hr"]);
    let [create, .., error, _] = counts(&plan);
    assert!(create > 20 && error > 3, "{:?}", counts(&plan));
    let first = &plan["changes"][0]["fields"];
    let location = first
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "location")
        .unwrap();
    assert_eq!(
        location["after"], "LOC-OSL",
        "the cost center was looked up"
    );
}

/// `rules check --data` runs a file through the tenant's rules and lists the problems a plan
/// into an empty state would store, in the same order, without storing anything.
#[test]
fn check_data_lists_the_problems_a_plan_would_find_and_stores_nothing() {
    let w = shipped();
    let location = w.fixture("acme-hr/location.csv");
    w.fixture("acme-hr/employees.csv");
    let check = [
        "rules",
        "check",
        "--tenant",
        "acme-hr",
        "--data",
        "employees.csv",
    ];
    let error = w.fails(&check);
    assert!(
        error.contains("`roster --tenant acme-hr ref load location FILE`"),
        "{error}"
    );
    assert!(!w.db().exists(), "a failed check leaves no workspace");
    w.ok(&[
        "ref",
        "load",
        "location",
        location.to_str().unwrap(),
        "--tenant",
        "acme-hr",
    ]);
    let before = w.db_bytes();
    let json = w.run(&[&check[..], &["--output", "json"]].concat());
    assert_eq!(json.status, 4, "a rejected row exits 4: {}", json.stderr);
    let found = json.json();
    assert_eq!(w.db_bytes(), before, "a check stores nothing");
    let plan = w.plan_json(&["employees.csv", "--tenant", "acme-hr"]);
    assert_eq!(found["problems"], plan["problems"]);
    let [.., rejected, warnings] = counts(&plan);
    assert!(rejected > 3 && warnings > 0, "{:?}", counts(&plan));
    assert_eq!(
        found["checked"],
        serde_json::json!({"rows": 31, "rejected": rejected, "warnings": warnings})
    );
    let table = w.run(&[&check[..], &["--limit", "2"]].concat());
    assert_eq!(table.status, 4);
    let listed = found["problems"].as_array().unwrap().len();
    assert!(
        table
            .stdout
            .contains(&format!("… and {} more problems", listed - 2)),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains(&format!(
        "Checked 31 rows against the rules of tenant `acme-hr`: {rejected} rejected, {warnings} warnings."
    )), "{}", table.stdout);
}

/// A check looks at the files alone: `Unique` holds between their rows, not against the
/// stored users a plan would also weigh.
#[test]
fn check_data_holds_unique_within_the_files_only() {
    let w = stored_u1_with_a_unique_email();
    w.write("c.csv", "external_id,email\nu3,a@x.example\n");
    let clean = w
        .ok(&["rules", "check", "--tenant", "t", "--data", "c.csv"])
        .stdout;
    assert_eq!(
        clean.trim(),
        "Checked 1 row against the rules of tenant `t`: 0 rejected, 0 warnings."
    );
    w.write("b.csv", "external_id,email\nu2,b@x.example\n");
    let out = w.run(&[
        "rules", "check", "--tenant", "t", "--data", "c.csv", "b.csv", "c.csv", "--output", "json",
    ]);
    assert_eq!(out.status, 4);
    let problems = out.json()["problems"].clone();
    assert_eq!(problems.as_array().unwrap().len(), 2, "{problems}");
    assert_eq!(problems[0]["rule"], "Duplicate");
    assert_eq!(problems[1]["rule"], "Unique");
    assert!(problems[1]["message"]
        .as_str()
        .unwrap()
        .contains("already used by the row at c.csv:2"));
}

/// A check of rules that read only some fields still reports every cell that does not fit
/// its field, in the order and words of a plan, which builds every field.
#[test]
fn check_data_reports_bad_cells_of_fields_no_rule_reads() {
    let w = Workdir::new();
    w.write(
        "rules/t/validation.json",
        r#"[{"Name": "email", "Required": true, "Unique": true}, {"Name": "name", "Pattern": "^[A-Z]"}]"#,
    );
    w.write(
        "d.csv",
        "external_id,first_name,email,active,phones,roles,address,cud,Shoe size\n\
         u1,ada,a@x.example,perhaps,{bad,\"[[1]]\",Main St,9,44\n\
         u2,Bo,a@x.example,yes,+47 1,tech;ops,,1,\n\
         u3,Cy,,TRUE,\"[{\"\"number\"\": 1}]\",[],\"{\"\"city\"\": \"\"Oslo\"\"}\",,\n",
    );
    let check = w.run(&[
        "rules", "check", "--tenant", "t", "--data", "d.csv", "--output", "json",
    ]);
    assert_eq!(check.status, 4, "{}", check.stderr);
    let found = check.json()["problems"].clone();
    let rules: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["Column", "Type", "Type", "Type", "Type", "Type", "Pattern", "Unique", "Required"],
        "{found}"
    );
    let plan = w.run(&["plan", "d.csv", "--tenant", "t", "--output", "json"]);
    assert_eq!(found, plan.json()["problems"]);
}

/// A check that fails on a bad row prints only its error: no half JSON document for a
/// program to choke on, even after problems were found on the rows before.
#[test]
fn a_failed_check_prints_no_half_document() {
    let w = Workdir::new();
    w.write(
        "bad.csv",
        "external_id,email\nu1,a@x.example\nu1,b@x.example\nu2,c,extra\n",
    );
    let out = w.run(&["rules", "check", "--data", "bad.csv", "--output", "json"]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("bad.csv:4"), "{}", out.stderr);
}

/// How many rows `roster plan` said it recognised by their fingerprints (0 without the note).
fn reused(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.contains("when their users were last applied"))
        .find_map(|l| l.strip_prefix("note: "))
        .and_then(|l| l.split(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// A row exactly as when its user was last applied is recognised by its fingerprint: the
/// rules do not run on it again, and the plan is the one they would give, `Unique` included.
/// New rules or new reference tables send every row through the rules again.
#[test]
fn rows_applied_before_skip_the_rules_until_the_rules_or_references_change() {
    let w = shipped();
    let location = w.fixture("acme-hr/location.csv");
    let employees = w.fixture("acme-hr/employees.csv");
    let acme = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--tenant", "acme-hr"]);
        w.ok(&all)
    };
    acme(&["ref", "load", "location", location.to_str().unwrap()]);
    acme(&["plan", "employees.csv", "-q"]);
    acme(&["apply", "latest"]);

    // The same rows, one renamed, and two new ones with e-mail addresses stored users hold:
    // one before that user's row (which then loses it), one after (which loses it itself).
    let text = std::fs::read_to_string(&employees).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let next = format!(
        "{header}\nE10098,Per,Olsen,ase.odegard@acme.example,912 00 001,CC-1050,Field Service West,01.03.2024,Active\n{}",
        rows.replacen("Ola,Nordmann", "Ola,Nordmann-Berg", 1)
    ) + "E10099,Per,Hansen,kari.nordmann@acme.example,912 00 000,CC-1040,Field Service North,01.03.2024,Active\n";
    w.write("next.csv", next);
    let plan = |w: &Workdir| {
        let out = w.run(&[
            "plan", "next.csv", "--tenant", "acme-hr", "--output", "json",
        ]);
        assert_eq!(out.status, 0, "{}", out.stderr);
        (reused(&out.stderr), out.json())
    };
    let (recognised, remembered) = plan(&w);
    let [create, update, _, unchanged, error, warning] = counts(&remembered);
    assert_eq!((create, update), (0, 1), "{:?}", counts(&remembered));
    assert!(
        recognised > 0 && recognised <= unchanged,
        "{recognised} recognised of {unchanged} unchanged"
    );
    assert!(error > 0 && warning > 0, "{:?}", counts(&remembered));
    let unique = |key: &str, email: &str| {
        remembered["problems"].as_array().unwrap().iter().any(|p| {
            p["key"] == key
                && p["rule"] == "Unique"
                && p["message"].as_str().unwrap().contains(email)
        })
    };
    assert!(
        unique("E10099", "kari.nordmann") && unique("E10003", "ase.odegard"),
        "{}",
        remembered["problems"]
    );

    // Without the fingerprints every row goes through the rules: the same plan.
    rusqlite::Connection::open(w.db())
        .unwrap()
        .execute("UPDATE users SET source_fingerprint = NULL", [])
        .unwrap();
    let (none, forgotten) = plan(&w);
    assert_eq!(none, 0);
    assert_eq!(what_it_does(&remembered), what_it_does(&forgotten));

    // The next apply of the same rows stores their fingerprints again, changed or not.
    acme(&["plan", "employees.csv", "-q"]);
    acme(&["apply", "latest"]);
    assert_eq!(plan(&w).0, recognised);

    // New references or rules: every row goes through the rules, until the next apply.
    let moved = std::fs::read_to_string(&location)
        .unwrap()
        .replace("Oslo depot", "Oslo depot (new)");
    w.write("location.csv", moved);
    acme(&["ref", "load", "location", "location.csv"]);
    assert_eq!(plan(&w).0, 0, "the references changed");
    acme(&["plan", "employees.csv", "-q"]);
    // Only the newest unapplied plan keeps the fingerprints of the rows it leaves unchanged,
    // until its apply stores them.
    let kept = |w: &Workdir| -> Vec<(i64, i64)> {
        let db = rusqlite::Connection::open(w.db()).unwrap();
        let mut stmt = db
            .prepare("SELECT plan_id, count(*) FROM plan_fingerprints GROUP BY plan_id")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    let newest = kept(&w);
    assert!(
        newest.len() == 1 && newest[0].1 as u64 >= recognised,
        "{newest:?}"
    );
    acme(&["apply", "latest"]);
    assert_eq!(kept(&w), vec![]);
    assert_eq!(plan(&w).0, recognised);
    let rules = w.path().join("rules/acme-hr/20_validate.rhai");
    let script = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(&rules, format!("// edited\n{script}")).unwrap();
    assert_eq!(plan(&w).0, 0, "the rules changed");
}
