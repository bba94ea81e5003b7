//! A hostile rule pack cannot read files, run commands, load modules, allocate without
//! bound or run forever: each attempt is a row error or a pack error, never an escape.

use crate::common::{counts, Workdir};

/// Plans one row through a map hook with `body` and returns the plan or the error.
fn run(body: &str) -> (i32, String) {
    let w = Workdir::new();
    w.write("secret.txt", "TOP-SECRET-CONTENT");
    w.write(
        "rules/t/10_map.rhai",
        format!("fn map(row) {{\n{body}\n}}\n"),
    );
    w.write("in.csv", "external_id\nu1\n");
    let out = w.run(&["plan", "in.csv", "--tenant", "t", "--output", "json"]);
    assert!(
        !out.stdout.contains("TOP-SECRET-CONTENT") && !out.stderr.contains("TOP-SECRET-CONTENT")
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    (out.status, out.stdout + out.stderr.as_str())
}

#[test]
fn there_is_no_function_to_read_a_file_or_run_a_command() {
    for call in [
        r#"open_file("secret.txt")"#,
        r#"read_file("secret.txt")"#,
        r#"system("cat secret.txt")"#,
        r#"exec("cat", ["secret.txt"])"#,
        r#"http_get("http://127.0.0.1/")"#,
    ] {
        let (status, out) = run(&format!(
            "let x = {call};\n#{{ external_id: row.external_id }}"
        ));
        assert_eq!(status, 0, "{call}: {out}");
        assert!(
            out.contains("\"rule\":\"Script\"") && out.contains("not found"),
            "{call}: {out}"
        );
    }
}

#[test]
fn modules_and_eval_are_refused_when_the_pack_is_loaded() {
    let (status, out) = run("import \"std\" as s;\nrow");
    assert_eq!(status, 1, "{out}");
    let (status, out) = run("eval(\"row\")");
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("rules/t/10_map.rhai:2"), "{out}");
}

#[test]
fn unbounded_work_ends_the_run_within_a_second_or_two() {
    for body in [
        "loop {}",
        "let s = \"x\"; loop { s += s; }",
        "let a = []; loop { a.push(a.len()); }",
        "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }",
    ] {
        let started = std::time::Instant::now();
        let (status, out) = run(body);
        assert_eq!(status, 1, "{body}: {out}");
        assert!(out.contains("rules/t/10_map.rhai"), "{body}: {out}");
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "{body} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_script_cannot_reach_another_tenants_data() {
    let w = Workdir::new();
    std::fs::create_dir_all(w.path().join("rules/other")).unwrap();
    w.write("teams.csv", "id,name\nT1,North\n");
    w.ok(&["ref", "load", "team", "teams.csv", "--tenant", "other"]);
    w.write(
        "rules/t/10_map.rhai",
        "fn map(row) { #{ external_id: row.external_id, teams: lookup(\"team\", \"name\", \"North\") } }\n",
    );
    w.write("in.csv", "external_id\nu1\n");
    let plan = w.plan_json(&["in.csv", "--tenant", "t"]);
    assert_eq!(counts(&plan)[0] + counts(&plan)[4], 1);
    assert!(!plan.to_string().contains("T1"), "{plan}");
}
