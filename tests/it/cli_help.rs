//! The command line explains itself: global options apart in `--help`, the README's synopsis
//! lists every option `--help` offers, and shell completions and man pages can be generated.

use crate::common::Workdir;

fn readme() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .unwrap()
}

/// The README's command-line synopsis: the first code block after `## Command line`, and
/// the paragraph after it that names the global options.
fn synopsis() -> (String, String) {
    let readme = readme();
    let section = &readme[readme.find("## Command line").unwrap()..];
    let start = section.find("```\n").unwrap() + 4;
    let end = start + section[start..].find("```").unwrap();
    let after = &section[end..];
    let globals = &after[after.find("Global options").unwrap()..];
    let globals = &globals[..globals.find("\n\n").unwrap_or(globals.len())];
    (section[start..end].to_string(), globals.to_string())
}

/// The long options a `--help` lists, split into the command's own and the global ones.
fn options(help: &str) -> (Vec<String>, Vec<String>) {
    let (mut own, mut global) = (Vec::new(), Vec::new());
    let mut in_global = false;
    for line in help.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            in_global = line.starts_with("Global options");
            continue;
        }
        let Some(at) = line.find("--") else { continue };
        if !line.trim_start().starts_with('-') {
            continue;
        }
        let name: String = line[at..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '=' && *c != '<' && *c != ',')
            .collect();
        if name == "--help" || name == "--version" {
            continue;
        }
        if in_global {
            global.push(name)
        } else {
            own.push(name)
        }
    }
    (own, global)
}

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
fn the_readme_synopsis_lists_every_option_of_help() {
    let w = Workdir::new();
    let (synopsis, globals) = synopsis();
    let (_, top_globals) = options(&w.ok(&["--help"]).stdout);
    assert!(top_globals.contains(&"--db".to_string()), "{top_globals:?}");
    for global in &top_globals {
        assert!(
            globals.contains(global.as_str()),
            "global `{global}` is not in the README:\n{globals}"
        );
    }
    let mut paths = Vec::new();
    for command in subcommands(&w, &["--help"]) {
        let nested = subcommands(&w, &[&command, "--help"]);
        if nested.is_empty() {
            paths.push(vec![command]);
        } else {
            paths.extend(nested.into_iter().map(|sub| vec![command.clone(), sub]));
        }
    }
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (own, _) = options(&w.ok(&args).stdout);
        let prefix = format!("roster {}", path.join(" "));
        // The synopsis lines of this command: its own lines and their indented continuations.
        let mut lines = String::new();
        let mut inside = false;
        for line in synopsis.lines() {
            if line.starts_with("roster ") {
                inside = line.starts_with(&format!("{prefix} ")) || line == prefix;
            }
            if inside {
                lines.push_str(line);
                lines.push('\n');
            }
        }
        assert!(!lines.is_empty(), "`{prefix}` is not in the synopsis");
        for option in own {
            assert!(
                lines.contains(&option),
                "`{prefix} {option}` is in --help but not in the README's synopsis:\n{lines}"
            );
        }
    }
}

#[test]
fn global_options_have_a_heading_of_their_own() {
    let w = Workdir::new();
    let help = w.ok(&["plan", "--help"]).stdout;
    let (own, global) = options(&help);
    assert!(global.contains(&"--db".to_string()), "{help}");
    assert!(global.contains(&"--tenant".to_string()), "{help}");
    assert!(!own.contains(&"--db".to_string()), "{help}");
    assert!(own.contains(&"--sync".to_string()), "{help}");
}

#[test]
fn generate_offers_no_workspace_options_and_state_names_load() {
    let w = Workdir::new();
    let help = w.ok(&["generate", "--help"]).stdout;
    for ignored in ["--db", "--rules", "--tenant"] {
        assert!(
            !help.contains(ignored),
            "generate offers `{ignored}`:\n{help}"
        );
    }
    let top = w.ok(&["--help"]).stdout;
    let state = top
        .lines()
        .find(|l| l.trim_start().starts_with("state "))
        .unwrap();
    assert!(state.contains("load"), "{state}");
}

#[test]
fn completions_and_man_pages_are_generated() {
    let w = Workdir::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef roster"),
        ("fish", "complete -c roster"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = w.ok(&["completions", shell]).stdout;
        assert!(
            out.contains(marker),
            "{shell}:\n{}",
            &out[..out.len().min(400)]
        );
        assert!(out.contains("plans"), "{shell} completes the subcommands");
    }
    let out = w.ok(&["man", "--out", "man"]);
    let page = std::fs::read_to_string(w.path().join("man/roster.1")).unwrap();
    assert!(page.contains(".TH roster 1"), "{page}");
    let plan = std::fs::read_to_string(w.path().join("man/roster-plan.1")).unwrap();
    assert!(
        plan.contains("no\\-save") || plan.contains("no-save"),
        "{plan}"
    );
    assert!(w.path().join("man/roster-state-load.1").exists());
    assert!(out.stdout.contains("man/roster.1"), "{}", out.stdout);
}
