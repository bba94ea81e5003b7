//! The README documents every command, and its vendor round trip works as written.

mod common;

use common::Workdir;

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
