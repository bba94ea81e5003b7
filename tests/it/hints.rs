//! Every next step roster prints is a command a user will paste: run as printed, in the same
//! folder, it acts on the workspace, rules and tenant that were given — never on another
//! customer's `roster.db`.

use std::path::Path;

use crate::common::{Outcome, Workdir};

/// The global options of the customer the tests act for: a workspace and a rules folder
/// whose names need quoting, and a tenant of their own.
const GLOBALS: [&str; 6] = [
    "--db",
    "client b.db",
    "--rules",
    "my rules",
    "--tenant",
    "acme",
];

/// How many hints one test follows at most (hints lead to hints).
const MAX_HINTS: usize = 40;

/// The commands between backticks that start with `roster `.
fn hints(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| quoted.starts_with("roster "))
        .map(str::to_string)
        .collect()
}

/// Runs a hint as a shell would, with `roster` the binary under test; `fill` gives the words
/// only the user knows (`FILE`), the one part of a hint not meant to be pasted as is.
fn run_hint(w: &Workdir, hint: &str, fill: &[(&str, &str)]) -> Outcome {
    let mut command = hint.to_string();
    for (placeholder, value) in fill {
        command = command.replace(placeholder, value);
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_roster")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(w.path())
        .env("PATH", path)
        .env_remove("ROSTER_DB")
        .output()
        .unwrap();
    Outcome {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A hint with its numbers left out: `apply 3` and `apply 4` are the same step.
fn shape(hint: &str) -> String {
    hint.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// Runs every hint in `printed`, and every hint those runs print, one of each shape; every one
/// must succeed. Returns the hints run.
fn follow(w: &Workdir, printed: &Outcome, fill: &[(&str, &str)]) -> Vec<String> {
    let mut pending: Vec<String> = hints(&printed.stdout);
    pending.extend(hints(&printed.stderr));
    let mut done: Vec<String> = Vec::new();
    while let Some(hint) = pending.pop() {
        if done.iter().any(|d| shape(d) == shape(&hint)) {
            continue;
        }
        assert!(done.len() < MAX_HINTS, "hints keep leading on: {done:#?}");
        let out = run_hint(w, &hint, fill);
        assert_eq!(
            out.status, 0,
            "the hint `{hint}` fails:\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        pending.extend(hints(&out.stdout));
        pending.extend(hints(&out.stderr));
        done.push(hint);
    }
    done
}

/// `roster GLOBALS ARGS`.
fn with_globals<'a>(args: &[&'a str]) -> Vec<&'a str> {
    GLOBALS
        .iter()
        .copied()
        .chain(args.iter().copied())
        .collect()
}

/// A folder holding another customer's workspace (`roster.db`, tenant `default`, with an
/// unapplied plan 1) beside the files of customer `acme`, whose rules are under `my rules/`.
fn two_customers() -> Workdir {
    let w = Workdir::new();
    w.write("other.csv", "external_id,email\nz1,z1@other.example\n");
    w.ok(&["plan", "other.csv"]);
    w.write("my rules/acme/README.md", "acme's rules\n");
    w.write(
        "in.csv",
        "external_id,email,location\nu1,u1@acme.example,Oslo\nu2,u2@acme.example,Oslo\n",
    );
    w.write(
        "next.csv",
        "external_id,email,location\nu1,u1@acme.example,Oslo\nu3,u3@acme.example,Oslo\n",
    );
    w.write("loc.csv", "Name,Id\nOslo,LOC-OSL\n");
    w
}

#[test]
fn a_hint_repeats_the_global_options_as_given_and_quotes_them() {
    let w = two_customers();
    let out = w.ok(&with_globals(&["plan", "in.csv"]));
    assert_eq!(
        hints(&out.stdout),
        ["roster --db 'client b.db' --rules 'my rules' --tenant acme apply 1"],
        "{}",
        out.stdout
    );
    let plain = w.ok(&["plan", "other.csv"]);
    assert_eq!(hints(&plain.stdout), ["roster apply 2"], "{}", plain.stdout);
}

#[test]
fn a_workspace_named_in_the_environment_is_named_in_the_hint() {
    let w = two_customers();
    let out = assert_cmd::Command::cargo_bin("roster")
        .unwrap()
        .current_dir(w.path())
        .env("ROSTER_DB", "/tmp/no such dir/../env.db")
        .args(["plan", "other.csv", "--db", "env b.db"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        hints(&stdout),
        ["roster --db 'env b.db' apply 1"],
        "{stdout}"
    );
    let out = assert_cmd::Command::cargo_bin("roster")
        .unwrap()
        .current_dir(w.path())
        .env("ROSTER_DB", "env b.db")
        .args(["plan", "in.csv"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        hints(&stdout),
        ["roster --db 'env b.db' apply 2"],
        "{stdout}"
    );
}

#[test]
fn every_hint_of_a_week_runs_as_printed_against_the_same_customer() {
    let w = two_customers();
    let decoy = w.db_bytes();
    let mut followed = Vec::new();
    let fill = [("FILE…", "in.csv"), ("FILE", "in.csv")];

    // Plan, apply, undo, apply: the hints of plan and apply lead on to each other.
    let plan = w.ok(&with_globals(&["plan", "in.csv"]));
    followed.extend(follow(&w, &plan, &fill));

    // Next week's delta, exported; the vendor's answer saved beside the files.
    w.ok(&with_globals(&["plan", "next.csv"]));
    w.ok(&with_globals(&["apply", "latest"]));
    let export = w.ok(&with_globals(&[
        "export",
        "latest",
        "--vendor",
        "fieldsquared",
        "--workspace",
        "acme",
        "--out",
        "out dir",
    ]));
    w.write("out dir/fieldsquared-0001.response.json", "{}");
    followed.extend(follow(&w, &export, &fill));

    // A state load kept as a dry run.
    w.write(
        "sp.json",
        r#"[{"UserID": "u1", "ExternalID": "u1", "Email": "u1@acme.example"}]"#,
    );
    let load = w.ok(&with_globals(&[
        "state",
        "load",
        "sp.json",
        "--vendor",
        "servicepower",
        "--dry-run",
    ]));
    followed.extend(follow(&w, &load, &fill));

    // The hints of failures: an unknown plan, a stale plan, a missing reference table.
    let unknown = w.run(&with_globals(&["apply", "42"]));
    assert_eq!(unknown.status, 1, "{}", unknown.stderr);
    followed.extend(follow(&w, &unknown, &fill));
    let first = w.plan_json(&with_globals(&["next.csv"]))["plan_id"].to_string();
    w.write("more.csv", "external_id,email\nu9,u9@acme.example\n");
    w.ok(&with_globals(&["plan", "more.csv"]));
    w.ok(&with_globals(&["apply", "latest"]));
    let stale = w.run(&with_globals(&["apply", &first]));
    assert_eq!(stale.status, 1, "{}", stale.stderr);
    followed.extend(follow(&w, &stale, &fill));
    let no_table = w.run(&with_globals(&["ref", "show", "location"]));
    assert_eq!(no_table.status, 1, "{}", no_table.stderr);
    followed.extend(follow(&w, &no_table, &[("FILE", "loc.csv")]));

    let listed = w.ok(&with_globals(&["plans"]));
    followed.extend(follow(&w, &listed, &fill));

    for needed in [
        " show ",
        " plans",
        " apply ",
        " plan --revert ",
        " results ",
        " history",
        " ref load location ",
        " plan FILE",
    ] {
        assert!(
            followed.iter().any(|h| h.contains(needed)),
            "no hint with `{needed}` was followed: {followed:#?}"
        );
    }
    for hint in &followed {
        assert!(
            hint.starts_with("roster --db 'client b.db' --rules 'my rules' --tenant acme "),
            "{hint}"
        );
    }
    assert_eq!(
        w.db_bytes(),
        decoy,
        "another customer's workspace was touched"
    );
    let history = w.ok(&with_globals(&["history", "--output", "json"])).json();
    assert!(
        history["applies"].as_array().unwrap().len() >= 4,
        "{history}"
    );
}
