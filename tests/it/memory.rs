//! The process's memory settings: what the binary sets for itself before any command runs.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Workdir;

/// roster turns transparent huge pages off for itself (they held 20–35 MiB more of every
/// measured command's memory, for no time): the kernel reports it for the running process.
#[cfg(target_os = "linux")]
#[test]
fn roster_runs_without_transparent_huge_pages() {
    let w = Workdir::new();
    // A plan of stdin waits for its rows: the process is alive to be looked at.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("roster"))
        .current_dir(w.path())
        .env_remove("ROSTER_DB")
        .args(["plan", "-", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let huge_pages = loop {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let line = text.lines().find(|line| line.starts_with("THP_enabled:"));
        // The flag is set as main starts; until then the line says what the parent had.
        if let Some(line) = line.filter(|line| line.ends_with('0')) {
            break line.to_string();
        }
        if started.elapsed() > Duration::from_secs(10) {
            break line.unwrap_or("no THP_enabled line").to_string();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"external_id\nu1\n").unwrap();
    drop(stdin);
    let exited = child.wait().unwrap();
    assert!(exited.success(), "{exited:?}");
    assert_eq!(
        huge_pages.split_whitespace().last(),
        Some("0"),
        "{huge_pages}"
    );
}
