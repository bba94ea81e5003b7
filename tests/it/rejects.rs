//! `--rejects FILE.csv` (on `plan`, `rules check --data` and `report`): the rejected source
//! rows as they came, with what rejected them, for the customer to fix and send back.

use crate::common::{what_it_does, Workdir};
use serde_json::Value;

const BOM: &str = "\u{feff}";

/// The rejects file's lines (CRLF-separated), its byte-order mark checked and removed.
fn lines(w: &Workdir, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(w.path().join(name)).unwrap();
    let text = text.strip_prefix(BOM).expect("a byte-order mark for Excel");
    assert!(text.ends_with("\r\n"), "{text:?}");
    text.trim_end_matches("\r\n")
        .split("\r\n")
        .map(str::to_string)
        .collect()
}

/// A tenant `t` whose rules reject e-mails outside `x.example`.
fn checked() -> Workdir {
    let w = Workdir::new();
    w.write(
        "rules/t/validation.json",
        r#"[{"Name": "email", "Pattern": "@x\\.example$"}]"#,
    );
    w
}

#[test]
fn rejected_rows_keep_the_source_columns_and_order_and_say_what_is_wrong() {
    let w = checked();
    w.write(
        "in.csv",
        "external_id,email,active,Shoe size\n\
         u1,a@x.example,yes,42\n\
         u2,b@y.example,perhaps,43\n\
         u3,c@x.example,yes,44\n\
         ,d@x.example,no,45\n\
         u1,e@x.example,yes,46\n",
    );
    let out = w.ok(&[
        "--tenant",
        "t",
        "plan",
        "in.csv",
        "--rejects",
        "rejects.csv",
    ]);
    assert!(
        out.stderr.contains(
            "Wrote 3 rejected row(s) to `rejects.csv`: fix them there, then plan them with `roster --tenant t plan rejects.csv`."
        ),
        "{}",
        out.stderr
    );
    assert_eq!(
        lines(&w, "rejects.csv"),
        [
            "external_id,email,active,Shoe size,roster_source,roster_rule,roster_field,roster_message,roster_neutralised",
            "u2,b@y.example,perhaps,43,in.csv:3,Type; Pattern,active; email,\
             `perhaps` is not a boolean (use true/false/yes/no/1/0); `email` `b@y.example` does not match the pattern `@x\\.example$`,",
            ",d@x.example,no,45,in.csv:5,Required,external_id,the key `external_id` is missing or empty,",
            "u1,e@x.example,yes,46,in.csv:6,Duplicate,external_id,\
             key `u1` appears again; the row at in.csv:2 keeps it and this row is rejected,",
        ]
    );
    // The same file, from the stored plan, by `report --rejects`.
    w.ok(&[
        "--tenant",
        "t",
        "report",
        "1",
        "--out",
        "r.html",
        "--rejects",
        "again.csv",
    ]);
    assert_eq!(lines(&w, "again.csv"), lines(&w, "rejects.csv"));
    // And by `rules check --data`, which stores nothing.
    let out = w.run(&[
        "--tenant",
        "t",
        "rules",
        "check",
        "--data",
        "in.csv",
        "--rejects",
        "checked.csv",
    ]);
    assert_eq!(out.status, 4, "{}", out.stderr);
    assert_eq!(lines(&w, "checked.csv"), lines(&w, "rejects.csv"));
}

#[test]
fn formula_cells_are_neutralised_and_come_back_exactly_when_the_fixed_file_is_planned() {
    let w = checked();
    w.write(
        "in.csv",
        "external_id,email,phones,attributes.Balance,first_name,last_name\n\
         u1,a@y.example,mobile:+47 400 00 001,-5,=HYPERLINK(\"http://evil.example\"),@SUM(A1)\n\
         u2,'+1,+47 400 00 002,'t Hooft,\"\tTab\",\"\rReturn\"\n",
    );
    w.ok(&[
        "--tenant",
        "t",
        "plan",
        "in.csv",
        "--rejects",
        "rejects.csv",
        "-q",
    ]);
    let rows = lines(&w, "rejects.csv");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[1],
        "u1,a@y.example,mobile:+47 400 00 001,'-5,\"'=HYPERLINK(\"\"http://evil.example\"\")\",'@SUM(A1),\
         in.csv:2,Pattern,email,`email` `a@y.example` does not match the pattern `@x\\.example$`,\
         \"[\"\"attributes.Balance\"\",\"\"first_name\"\",\"\"last_name\"\"]\""
    );
    assert!(
        rows[2].starts_with("u2,'+1,'+47 400 00 002,'t Hooft,'\tTab,\"'\rReturn\",in.csv:3,"),
        "{:?}",
        rows[2]
    );
    assert!(
        rows[2].ends_with(r#","[""phones"",""first_name"",""last_name""]""#),
        "{:?}",
        rows[2]
    );
    // The customer fixes the e-mails in the file and sends it back.
    let fixed = std::fs::read_to_string(w.path().join("rejects.csv"))
        .unwrap()
        .replace("a@y.example,", "a@x.example,")
        .replace("u2,'+1,", "u2,b@x.example,");
    w.write("fixed.csv", fixed);
    let plan = w.plan_json(&["--tenant", "t", "fixed.csv"]);
    assert_eq!(plan["summary"]["create"], 2, "{plan}");
    assert_eq!(
        plan["summary"]["warning"], 0,
        "roster's columns are not source columns: {plan}"
    );
    // A create lists each field of the new record with its value after.
    let after = |key: &str| -> Value {
        let change = plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .unwrap_or_else(|| panic!("no {key} in {plan}"));
        let fields = change["fields"].as_array().unwrap().iter();
        fields
            .map(|f| (f["field"].as_str().unwrap().to_string(), f["after"].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let u1 = after("u1");
    assert_eq!(u1["attributes"]["Balance"], "-5");
    assert_eq!(u1["phones"][0]["number"], "+47 400 00 001");
    assert_eq!(u1["first_name"], "=HYPERLINK(\"http://evil.example\")");
    assert_eq!(u1["last_name"], "@SUM(A1)");
    let u2 = after("u2");
    assert_eq!(u2["phones"][0]["number"], "+47 400 00 002");
    assert_eq!(
        u2["attributes"]["Balance"], "'t Hooft",
        "a `'` roster did not put there stays"
    );
    assert_eq!(
        u2["last_name"],
        "\rReturn".trim(),
        "names are trimmed, as any cell"
    );
    // A fixed file planned again is clean: nothing left to reject.
    let out = w.run(&["--tenant", "t", "rules", "check", "--data", "fixed.csv"]);
    assert_eq!(out.status, 0, "{}", out.stdout);
}

#[test]
fn a_formula_header_name_round_trips_too() {
    let w = checked();
    w.write(
        "in.csv",
        "external_id,email,=x,'quoted\nu1,a@y.example,1,2\n",
    );
    w.ok(&[
        "--tenant",
        "t",
        "plan",
        "in.csv",
        "--rejects",
        "rejects.csv",
        "-q",
    ]);
    assert!(
        lines(&w, "rejects.csv")[0].starts_with("external_id,email,'=x,''quoted,roster_source,"),
        "{:?}",
        lines(&w, "rejects.csv")
    );
    let fixed = std::fs::read_to_string(w.path().join("rejects.csv"))
        .unwrap()
        .replace("a@y.example", "a@x.example");
    w.write("fixed.csv", fixed);
    let plan = w.plan_json(&["--tenant", "t", "fixed.csv"]);
    assert_eq!(plan["summary"]["create"], 1, "{plan}");
    let ignored: Vec<&str> = plan["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(ignored, ["=x", "'quoted"], "the source's own names: {plan}");
}

#[test]
fn passwords_never_reach_the_rejects_file_or_the_workspace() {
    let w = Workdir::new();
    w.write(
        "rules/p/10_map.rhai",
        r#"fn map(row) { #{ external_id: row["id"], email: row["mail"], password: row["Credentials"] } }"#,
    );
    w.write(
        "rules/p/validation.json",
        r#"[{"Name": "email", "Required": true}]"#,
    );
    w.write(
        "in.csv",
        "id,mail,Credentials,Initial Password\nu1,,Hunter2-secret,Other-secret\nu2,b@x.example,Fine-secret,x\n",
    );
    w.ok(&[
        "--tenant",
        "p",
        "plan",
        "in.csv",
        "--rejects",
        "rejects.csv",
        "-q",
    ]);
    assert_eq!(
        lines(&w, "rejects.csv"),
        [
            "id,mail,roster_source,roster_rule,roster_field,roster_message,roster_neutralised",
            "u1,,in.csv:2,Required,email,`email` is required,",
        ]
    );
    let db = String::from_utf8_lossy(&w.db_bytes()).into_owned();
    for secret in ["Hunter2-secret", "Other-secret"] {
        assert!(!db.contains(secret), "{secret} is in the workspace");
    }
    let out = w.run(&[
        "--tenant",
        "p",
        "rules",
        "check",
        "--data",
        "in.csv",
        "--rejects",
        "c.csv",
    ]);
    assert_eq!(out.status, 4);
    assert_eq!(lines(&w, "c.csv"), lines(&w, "rejects.csv"));
}

#[test]
fn rows_recognised_from_an_earlier_apply_keep_their_cells_when_rejected() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,email\nu1,a@x.example\nu2,b@x.example\n",
    );
    w.ok(&["plan", "in.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    // Both rows are known by their fingerprints; the second u1 is a duplicate.
    w.write(
        "again.csv",
        "external_id,email\nu1,a@x.example\nu2,b@x.example\nu1,a@x.example\n",
    );
    let out = w.ok(&["plan", "again.csv", "--rejects", "rejects.csv"]);
    assert!(out.stderr.contains("note: 3 row(s)"), "{}", out.stderr);
    assert_eq!(
        lines(&w, "rejects.csv")[1..],
        ["u1,a@x.example,again.csv:4,Duplicate,external_id,\
          key `u1` appears again; the row at again.csv:2 keeps it and this row is rejected,"]
    );
}

#[test]
fn json_rows_give_every_key_of_the_rejected_objects_as_columns() {
    let w = checked();
    w.write(
        "in.json",
        r#"[{"external_id": "u1", "email": "a@y.example", "roles": ["a", "b"]},
            {"external_id": "u2", "email": "b@x.example"},
            {"email": "c@x.example", "active": true, "note": null}]"#,
    );
    w.ok(&[
        "--tenant",
        "t",
        "plan",
        "in.json",
        "--rejects",
        "rejects.csv",
        "-q",
    ]);
    let rows = lines(&w, "rejects.csv");
    assert_eq!(
        rows[0],
        "external_id,email,roles,active,note,roster_source,roster_rule,roster_field,roster_message,roster_neutralised"
    );
    assert!(
        rows[1].starts_with(r#"u1,a@y.example,"[""a"",""b""]",,,in.json:1,Pattern"#),
        "{rows:?}"
    );
    assert!(
        rows[2].starts_with(",c@x.example,,true,,in.json:3,Required"),
        "{rows:?}"
    );
}

#[test]
fn a_plan_without_rejects_writes_a_header_only_and_a_failed_write_stores_no_plan() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    w.ok(&["plan", "in.csv", "--rejects", "none.csv", "-q"]);
    assert_eq!(
        lines(&w, "none.csv"),
        ["roster_source,roster_rule,roster_field,roster_message,roster_neutralised"]
    );
    let before = w.db_bytes();
    let error = w.fails(&["plan", "in.csv", "--rejects", "missing/r.csv"]);
    assert!(
        error.starts_with("error: cannot write `missing/r.csv`"),
        "{error}"
    );
    assert_eq!(
        w.db_bytes(),
        before,
        "no plan is stored without its rejects file"
    );
}

#[test]
fn a_garbled_neutralised_cell_is_one_clear_error() {
    let w = Workdir::new();
    w.write(
        "back.csv",
        "external_id,phones,roster_source,roster_neutralised\nu1,'+47 1,in.csv:2,phones\n",
    );
    let error = w.fails(&["plan", "back.csv"]);
    assert!(
        error.starts_with("error: back.csv:2: the `roster_neutralised` cell `phones` is not the list of columns roster wrote"),
        "{error}"
    );
    assert!(!w.db().exists());
}

/// A row the rules rejected on their own is remembered by its fingerprint: planned again, it
/// is rejected with the same problems and cells without the rules, while its key still counts
/// for duplicate keys and keeps its stored user from a `--sync` delete. New rules forget it.
#[test]
fn rows_rejected_before_are_rejected_again_without_the_rules() {
    let w = checked();
    let t = |args: &[&str]| {
        let mut all = vec!["--tenant", "t"];
        all.extend_from_slice(args);
        w.ok(&all)
    };
    w.write(
        "base.csv",
        "external_id,email\nu1,a@x.example\nu2,b@x.example\n",
    );
    t(&["plan", "base.csv", "-q"]);
    t(&["apply", "latest"]);
    w.write(
        "in.csv",
        "external_id,email,active\n\
         u1,a@y.example,yes\n\
         u3,c@x.example,perhaps\n\
         ,d@x.example,no\n\
         u3,c@x.example,perhaps\n\
         u4,e@x.example,yes\n",
    );
    let plan = |rejects: &str| {
        let out = t(&[
            "plan",
            "in.csv",
            "--sync",
            "--output",
            "json",
            "--rejects",
            rejects,
        ]);
        let plan = out.json();
        let what = what_it_does(&plan);
        (out.stderr, what)
    };
    let remembered = |stderr: &str| {
        stderr
            .lines()
            .filter(|l| l.contains("as when the rules last rejected them"))
            .find_map(|l| l.strip_prefix("note: "))
            .map_or(0, |l| l.split(' ').next().unwrap().parse::<u64>().unwrap())
    };
    let (first_note, first) = plan("first.csv");
    assert_eq!(remembered(&first_note), 0, "{first_note}");
    let (again_note, again) = plan("again.csv");
    assert_eq!(remembered(&again_note), 4, "{again_note}");
    assert_eq!(again, first);
    assert_eq!(lines(&w, "again.csv"), lines(&w, "first.csv"));
    // u1's rejected row keeps u1; u2 is absent and goes; the second u3 is a duplicate too.
    let [create, _, delete, _, error, _] =
        crate::common::counts(&serde_json::json!({ "summary": again[0] }));
    assert_eq!((create, delete, error), (1, 1, 4), "{}", again[0]);
    let changes = again[1].to_string();
    assert!(
        changes.contains("\"u2\"") && !changes.contains("\"u1\""),
        "{changes}"
    );
    assert!(
        again[2].to_string().contains("key `u3` appears again"),
        "{}",
        again[2]
    );
    // New rules: every row goes through them again, and only their rejections are kept.
    w.write(
        "rules/t/validation.json",
        r#"[{"Name": "email", "Pattern": "@x\\.example$"}] "#,
    );
    let (note, _) = plan("new.csv");
    assert_eq!(remembered(&note), 0, "{note}");
    let kept: i64 = rusqlite::Connection::open(w.db())
        .unwrap()
        .query_row("SELECT count(*) FROM rejected_rows", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 3, "u1's, u3's and the keyless row's");
}
