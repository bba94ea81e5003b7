//! The README documents every command, and its vendor round trip works as written.

use crate::common::Workdir;

fn readme() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .unwrap()
}

/// The subcommands `--help` lists (the lines of its "Commands:" section).
fn subcommands(w: &Workdir, args: &[&str]) -> Vec<String> {
    let help = w.ok(args).stdout;
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_command_is_in_the_readme() {
    let w = Workdir::new();
    let readme = readme();
    let top = subcommands(&w, &["--help"]);
    assert!(top.len() >= 9, "{top:?}");
    for command in top {
        let nested = subcommands(&w, &[&command, "--help"]);
        if nested.is_empty() {
            assert!(
                readme.contains(&format!("roster {command}")),
                "`roster {command}` is not in the README"
            );
        }
        for sub in nested {
            let full = format!("roster {command} {sub}");
            assert!(readme.contains(&full), "`{full}` is not in the README");
        }
    }
}

#[test]
fn the_vendor_round_trip_works_as_the_readme_says() {
    let w = Workdir::new();
    let base = w.fixture("vendor/base.csv");
    let delta = w.fixture("vendor/delta.csv");
    for file in [&base, &delta] {
        w.ok(&["plan", file.to_str().unwrap()]);
        w.ok(&["apply", "latest"]);
    }
    w.ok(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    let readme = readme();
    let start = readme.find("<<'JSON'\n").unwrap() + "<<'JSON'\n".len();
    let response = &readme[start..start + readme[start..].find("JSON\n").unwrap()];
    w.write("out/servicepower-0001.response.json", response);
    let out = w.ok(&[
        "results",
        "latest",
        "--vendor",
        "servicepower",
        "out/servicepower-0001.response.json",
        "--output",
        "json",
    ]);
    let results = out.json();
    let statuses: Vec<(String, String)> = results
        .as_array()
        .or_else(|| results["users"].as_array())
        .expect("a list of users")
        .iter()
        .map(|u| {
            (
                u["key"].as_str().unwrap().to_string(),
                u["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("T3".into(), "rejected".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("T1".into(), "failed".into())),
        "{statuses:?}"
    );
    assert!(out.stdout.contains("delta.csv:3"), "{}", out.stdout);
}

/// The README's first command, run as written from the repository's root: its `cargo run`
/// steps run `roster` (the crate's default binary) with the shipped rules and fixtures.
#[test]
fn the_readme_main_job_runs_as_written() {
    let readme = readme();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run --release -q -- "))
        .expect("the README's first command");
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    assert_eq!(
        manifest["package"]["default-run"].as_str(),
        Some("roster"),
        "`cargo run` must run roster, not the emulator"
    );
    // The README runs in a clone: its rules and fixtures as they are, a fresh workspace.
    let root = tempfile::tempdir().unwrap();
    for shipped in ["rules", "fixtures"] {
        std::os::unix::fs::symlink(repo().join(shipped), root.path().join(shipped)).unwrap();
    }
    let mut last = String::new();
    for step in line.split(" && ") {
        let args = step
            .strip_prefix("cargo run --release -q -- ")
            .expect("each step runs roster");
        let output = assert_cmd::Command::cargo_bin("roster")
            .unwrap()
            .current_dir(root.path())
            .env_remove("ROSTER_DB")
            .env_remove("COLUMNS")
            .args(args.split_whitespace())
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`{step}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        last = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    // What the README says the plan shows.
    assert!(last.contains("24 to create"), "{last}");
    assert!(last.contains("7 rejected"), "{last}");
    assert!(last.contains("roster --tenant acme-hr apply 1"), "{last}");
}

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
