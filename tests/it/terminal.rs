//! Terminal conventions: `+`, `~`, `-` and errors in colour on a terminal (`--color`,
//! `NO_COLOR`), never in a pipe; tables as wide as the terminal; a summary-only view.

use crate::common::Workdir;
use assert_cmd::Command;

const ESC: &str = "\u{1b}[";

fn workdir() -> Workdir {
    let w = Workdir::new();
    let long = "a long value that goes on ".repeat(12);
    w.write(
        "in.csv",
        format!(
            "external_id,email,attributes.note\nu1,u1@x.example,{long}\nu2,u2@x.example,short\n"
        ),
    );
    w.ok(&["plan", "in.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    w.write(
        "next.csv",
        "external_id,email\nu1,new@x.example\nu3,u3@x.example\n",
    );
    w
}

/// Runs roster in the folder with extra environment variables.
fn run(w: &Workdir, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut command = Command::cargo_bin("roster").unwrap();
    command
        .current_dir(w.path())
        .env_remove("ROSTER_DB")
        .env_remove("NO_COLOR");
    command.env_remove("COLUMNS");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn signs_and_errors_are_coloured_when_asked_and_never_in_a_pipe() {
    let w = workdir();
    let plan = ["plan", "next.csv", "--sync", "--max-delete-percent", "100"];
    let (_, piped, _) = run(&w, &[], &plan);
    assert!(!piped.contains(ESC), "a pipe gets no colour:\n{piped}");
    let always: Vec<&str> = plan.iter().copied().chain(["--color", "always"]).collect();
    let (_, coloured, _) = run(&w, &[("NO_COLOR", "1")], &always);
    for sign in ["\u{1b}[32m+", "\u{1b}[33m~", "\u{1b}[31m-"] {
        assert!(coloured.contains(sign), "`{sign}` missing:\n{coloured}");
    }
    let never: Vec<&str> = plan.iter().copied().chain(["--color", "never"]).collect();
    assert!(!run(&w, &[], &never).1.contains(ESC));
    let (status, _, error) = run(&w, &[], &["apply", "42", "--color", "always"]);
    assert_eq!(status, 1);
    assert!(error.starts_with("\u{1b}[1m\u{1b}[31merror"), "{error:?}");
    let (_, _, plain) = run(&w, &[], &["apply", "42"]);
    assert!(plain.starts_with("error: "), "{plain:?}");
}

#[test]
fn tables_fit_the_terminal_width() {
    let w = workdir();
    let (_, wide, _) = run(&w, &[], &["show", "1"]);
    assert!(
        wide.lines().any(|l| l.chars().count() > 200),
        "a pipe without a width keeps whole lines:\n{wide}"
    );
    let (_, narrow, _) = run(&w, &[("COLUMNS", "100")], &["show", "1"]);
    let table_lines: Vec<&str> = narrow
        .lines()
        .filter(|l| l.starts_with(['┌', '│', '├', '└']))
        .collect();
    assert!(table_lines.len() > 4, "{narrow}");
    for line in table_lines {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(narrow.contains("goes on"), "{narrow}");
}

#[test]
fn summary_shows_the_counts_alone() {
    let w = workdir();
    let (status, out, _) = run(&w, &[], &["plan", "next.csv", "--summary"]);
    assert_eq!(status, 0);
    assert!(out.contains("Plan: 1 to create, 1 to update"), "{out}");
    assert!(!out.contains('┌'), "no tables:\n{out}");
    let (_, shown, _) = run(&w, &[], &["show", "latest", "--summary"]);
    assert!(
        shown.contains("Plan: 1 to create") && !shown.contains('┌'),
        "{shown}"
    );
}
