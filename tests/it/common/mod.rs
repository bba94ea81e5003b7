//! A scratch folder with its own workspace and rules, and a way to run the real binary in it.
#![allow(dead_code)]

pub mod emulator;
pub mod workbook;

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// Longer than any command of the tests takes, even on a loaded machine.
const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(300);

/// Copies a folder and everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A workdir whose `rules/` is a copy of the shipped packs.
pub fn shipped() -> Workdir {
    let w = Workdir::new();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    copy_dir(&source, &w.path().join("rules"));
    w
}

/// The parts of a plan document that say what it does (not its id).
pub fn what_it_does(plan: &Value) -> Value {
    serde_json::json!([plan["summary"], plan["changes"], plan["problems"]])
}

/// A temporary folder holding `roster.db`, `rules/` and the test's files.
pub struct Workdir {
    dir: tempfile::TempDir,
}

/// What one run printed and returned.
pub struct Outcome {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Parses stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("rules")).unwrap();
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The workspace file.
    pub fn db(&self) -> PathBuf {
        self.path().join("roster.db")
    }

    /// Writes a file relative to the folder (creating parent folders).
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Copies a file from the repository's `fixtures/`.
    pub fn fixture(&self, name: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        let target = self.path().join(Path::new(name).file_name().unwrap());
        std::fs::copy(&source, &target)
            .unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        target
    }

    /// Runs `roster ARGS` in the folder.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_with_stdin(args, "")
    }

    /// Runs `roster ARGS` with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Outcome {
        let output = Command::cargo_bin("roster")
            .unwrap()
            .current_dir(self.path())
            .env_remove("ROSTER_DB")
            // Tests read whole, plain lines, whatever terminal runs them.
            .env_remove("COLUMNS")
            .env_remove("NO_COLOR")
            .args(args)
            .write_stdin(stdin)
            // A command that hangs (a stage waiting for one that has stopped) fails its test.
            .timeout(COMMAND_TIME_LIMIT)
            .output()
            .unwrap_or_else(|e| panic!("roster {args:?}: {e}"));
        Outcome {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `roster ARGS` with these environment variables and no proxy or credential
    /// variables beyond them.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut command = Command::cargo_bin("roster").unwrap();
        command.current_dir(self.path()).env_remove("ROSTER_DB");
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
            "ROSTER_SERVICEPOWER_TOKEN",
            "ROSTER_FIELDSQUARED_TOKEN",
            "ROSTER_ESYSTEMS_CLIENT_ID",
            "ROSTER_ESYSTEMS_CLIENT_SECRET",
        ] {
            command.env_remove(name);
        }
        let output = command
            .envs(env.iter().copied())
            .args(args)
            .timeout(COMMAND_TIME_LIMIT)
            .output()
            .unwrap_or_else(|e| panic!("roster {args:?}: {e}"));
        Outcome {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed with exit 0.
    pub fn ok(&self, args: &[&str]) -> Outcome {
        let out = self.run(args);
        assert_eq!(
            out.status, 0,
            "roster {args:?} failed:\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        out
    }

    /// Runs a command that must fail with exit 1 and one `error:` message (which may show a
    /// source line and caret below it); returns the message.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status, 1,
            "roster {args:?} should fail:\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
        assert_eq!(
            out.stderr.matches("\nerror: ").count(),
            0,
            "one message only:\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        out.stderr.trim_end().to_string()
    }

    /// `plan … --output json`, which must succeed.
    pub fn plan_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["plan"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--output", "json"]);
        self.ok(&all).json()
    }

    /// The workspace file's bytes (empty when it does not exist).
    pub fn db_bytes(&self) -> Vec<u8> {
        std::fs::read(self.db()).unwrap_or_default()
    }

    /// The stored users as JSON.
    pub fn state(&self) -> Value {
        self.ok(&["state", "show", "--output", "json"]).json()
    }
}

/// The summary counts of a plan document, in the order create, update, delete, unchanged, error, warning.
pub fn counts(plan: &Value) -> [u64; 6] {
    let s = &plan["summary"];
    [
        "create",
        "update",
        "delete",
        "unchanged",
        "error",
        "warning",
    ]
    .map(|k| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("summary.{k} is not an integer: {plan}"))
    })
}
