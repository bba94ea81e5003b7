//! Reading sources from the command line: formats, encodings, delimiters, stdin, and one
//! clear message for each kind of bad file.

use crate::common::{counts, Workdir};

fn emails(w: &Workdir, args: &[&str]) -> Vec<String> {
    let plan = w.plan_json(args);
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["field"] == "email")
                .map_or(String::new(), |f| {
                    f["after"].as_str().unwrap_or_default().to_string()
                })
        })
        .collect()
}

#[test]
fn json_arrays_wrapped_arrays_and_ndjson_read_alike() {
    let w = Workdir::new();
    w.write(
        "a.json",
        r#"[{"external_id": "u1", "email": "a@x"}, {"external_id": "u2", "email": "b@x"}]"#,
    );
    w.write("b.json", "{\"exported\": \"2026-11-20\",\n \"Users\": [\n  {\"external_id\": \"u1\", \"email\": \"a@x\"},\n  {\"external_id\": \"u2\", \"email\": \"b@x\"}]}");
    w.write("c.ndjson", "{\"external_id\": \"u1\", \"email\": \"a@x\"}\n\n{\"external_id\": \"u2\", \"email\": \"b@x\"}\n");
    for file in ["a.json", "b.json", "c.ndjson"] {
        assert_eq!(emails(&w, &[file]), vec!["a@x", "b@x"], "{file}");
    }
    let plan = w.plan_json(&["b.json"]);
    assert_eq!(
        plan["changes"][1]["source"], "b.json:4",
        "the line where the object starts"
    );
}

#[test]
fn csv_with_bom_crlf_semicolons_and_quoted_newlines() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "\u{feff}external_id ; email;address.street\r\nu1;a@x;\"Main St 1\r\nBack door\"\r\nu2;\"b;c@x\";\r\n",
    );
    let plan = w.plan_json(&["in.csv"]);
    assert_eq!(counts(&plan), [2, 0, 0, 0, 0, 0]);
    assert_eq!(
        plan["changes"][1]["source"], "in.csv:4",
        "a quoted newline moves the next row down"
    );
    let emails = emails(&w, &["in.csv"]);
    assert_eq!(emails, vec!["a@x", "b;c@x"]);
}

#[test]
fn tabs_are_detected_and_delimiters_can_be_forced() {
    let w = Workdir::new();
    w.write("in.tsv", "external_id\temail\nu1\ta@x\n");
    assert_eq!(emails(&w, &["in.tsv", "--format", "csv"]), vec!["a@x"]);
    w.write("pipe.txt", "external_id|email\nu1|a@x\n");
    assert_eq!(emails(&w, &["pipe.txt", "--delimiter", "|"]), vec!["a@x"]);
    let error = w.fails(&["plan", "pipe.txt", "--delimiter", "||"]);
    assert!(error.contains("is not one character"), "{error}");
}

#[test]
fn windows_1252_files_read_with_the_encoding_flag() {
    let w = Workdir::new();
    w.write("excel.csv", b"external_id,first_name\nu1,Jos\xe9\n");
    let error = w.fails(&["plan", "excel.csv"]);
    assert!(error.contains("excel.csv:2"), "{error}");
    assert!(error.contains("--encoding windows-1252"), "{error}");
    for encoding in ["windows-1252", "latin1"] {
        let plan = w.plan_json(&["excel.csv", "--encoding", encoding]);
        let first = plan["changes"][0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "first_name")
            .unwrap()["after"]
            .clone();
        assert_eq!(first, "José");
    }
    let error = w.fails(&["plan", "excel.csv", "--encoding", "ebcdic"]);
    assert!(
        error.contains("invalid value 'ebcdic' for '--encoding")
            && error.contains("possible values: utf-8, windows-1252"),
        "{error}"
    );
}

#[test]
fn stdin_is_read_with_a_dash() {
    let w = Workdir::new();
    let out = w.run_with_stdin(
        &["plan", "-", "--output", "json"],
        "external_id,email\nu1,a@x\n",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.json()["changes"][0]["source"], "-:2");
    let out = w.run_with_stdin(
        &["plan", "-", "--output", "json"],
        "[{\"external_id\": \"u2\"}]",
    );
    assert_eq!(out.json()["changes"][0]["key"], "u2");
}

#[test]
fn several_files_plan_together() {
    let w = Workdir::new();
    w.write("a.csv", "external_id\nu1\n");
    w.write(
        "b.json",
        r#"[{"external_id": "u1"}, {"external_id": "u2"}]"#,
    );
    let plan = w.plan_json(&["a.csv", "b.json"]);
    assert_eq!(counts(&plan), [2, 0, 0, 0, 1, 0]);
    assert!(plan["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("a.csv:2"));
}

/// Each bad file ends in one message naming the place, and the workspace is unchanged.
#[test]
fn bad_files_fail_with_one_message_and_leave_the_workspace_alone() {
    let w = Workdir::new();
    w.write("good.csv", "external_id\nu0\n");
    w.ok(&["plan", "good.csv"]);
    w.ok(&["apply", "latest"]);
    let deep = "[".repeat(500);
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "ragged.csv",
            b"external_id,email\nu1,a@x\nu2,b@x,extra\n",
            "ragged.csv:3",
        ),
        (
            "quote.csv",
            b"external_id,email\nu1,\"a@x\nu2,b@x\n",
            "quote.csv:2",
        ),
        (
            "utf8.csv",
            b"external_id,email\nu1,a@x\nu2,\xff\xfe@x\n",
            "utf8.csv:3",
        ),
        (
            "binary.csv",
            b"\x00\x01\x02\x03roster\x00\x00",
            "binary.csv",
        ),
        ("empty.csv", b"", "empty.csv:1"),
        (
            "dupcols.csv",
            b"external_id,email,email\nu1,a,b\n",
            "`email`",
        ),
        (
            "nokey.csv",
            b"id,email\nu1,a@x\n",
            "no key column `external_id`",
        ),
        (
            "syntax.json",
            b"[{\"external_id\": \"u1\",}]",
            "syntax.json:1:",
        ),
        ("number.json", b"42", "number.json:1"),
        ("numbers.json", b"[1, 2]", "[0] is a number"),
        ("deep.json", deep.as_bytes(), "deep.json"),
        (
            "twoarrays.json",
            b"{\"a\": [{}], \"b\": [{}]}",
            "twoarrays.json",
        ),
        (
            "bad.ndjson",
            b"{\"external_id\": \"u1\"}\n{oops}\n",
            "bad.ndjson:2",
        ),
    ];
    let before = w.db_bytes();
    for (name, contents, place) in cases {
        w.write(name, contents);
        let error = w.fails(&["plan", name]);
        assert!(
            error.contains(place),
            "{name}: expected `{place}` in: {error}"
        );
        assert_eq!(w.db_bytes(), before, "{name} changed the workspace");
    }
    let error = w.fails(&["plan", "missing.csv"]);
    assert!(
        error.contains("missing.csv") && error.contains("check the name"),
        "{error}"
    );
}
