//! Progress goes to stderr on a terminal only, and never with `-q`.

use std::process::Command;

use crate::common::Workdir;

/// Runs roster under a pseudo-terminal (util-linux `script`) and returns what the terminal showed.
fn on_a_terminal(w: &Workdir, args: &str) -> String {
    let binary = assert_cmd::cargo::cargo_bin("roster");
    let command = format!("{} {args} > /dev/null", binary.display());
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(w.path())
        .output()
        .expect("util-linux `script` runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn progress_shows_on_a_terminal_unless_quiet() {
    let w = Workdir::new();
    w.ok(&[
        "generate", "--users", "20000", "--base", "base.csv", "--clean",
    ]);
    let shown = on_a_terminal(&w, "plan base.csv --limit 1");
    assert!(shown.contains("planning: "), "{shown:?}");
    let quiet = on_a_terminal(&w, "plan base.csv --limit 1 -q");
    assert!(!quiet.contains("planning"), "{quiet:?}");
    let applied = on_a_terminal(&w, "apply 1");
    assert!(applied.contains("applying ["), "{applied:?}");
}

#[test]
fn nothing_goes_to_stderr_when_it_is_not_a_terminal() {
    let w = Workdir::new();
    w.ok(&[
        "generate", "--users", "20000", "--base", "base.csv", "--clean",
    ]);
    let out = w.ok(&["plan", "base.csv", "--limit", "1"]);
    assert_eq!(out.stderr, "");
}
