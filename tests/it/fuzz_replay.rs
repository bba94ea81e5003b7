//! Every fuzz seed and every input a fuzzer once crashed on, run through the fuzz targets'
//! own checks (`fuzz/src/targets.rs`) on stable Rust, so a fixed crash stays fixed.
//!
//! The long fuzz runs stay out of CI; see docs/fuzzing.md for how to run them and how to keep
//! a new crash here (copy the artifact into `fuzz/regressions/<target>/`).

use std::path::Path;

#[path = "../../fuzz/src/targets.rs"]
mod targets;

/// Runs `target` on every file under `fuzz/seeds/<name>/` and `fuzz/regressions/<name>/`;
/// the number of inputs run.
fn replay(name: &str, target: Target) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut run = 0;
    for folder in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(
                outcome.is_ok(),
                "{} fails the `{name}` target",
                path.display()
            );
            run += 1;
        }
    }
    run
}

/// A fuzz target's entry point.
type Target = fn(&[u8]);

/// Every target, with the fewest seeds its folder may hold.
const TARGETS: [(&str, Target, usize); 9] = [
    ("read_csv", targets::read_csv, 5),
    ("read_json", targets::read_json, 3),
    ("read_ndjson", targets::read_ndjson, 2),
    ("read_sniffed", targets::read_sniffed, 5),
    ("read_vendor", targets::read_vendor, 6),
    ("read_spreadsheet", targets::read_spreadsheet, 6),
    ("read_compressed", targets::read_compressed, 6),
    ("validation_json", targets::validation_json, 3),
    ("tenant_toml", targets::tenant_toml, 3),
];

#[test]
fn every_seed_and_kept_crash_passes_its_target() {
    for (name, target, fewest) in TARGETS {
        let run = replay(name, target);
        assert!(run >= fewest, "`{name}` ran only {run} inputs");
    }
}

/// The checks are not vacuous: a place that breaks the readers' promises is caught.
#[test]
fn the_place_checks_catch_what_they_promise_to() {
    let fails = |check: fn()| std::panic::catch_unwind(check).is_err();
    assert!(!fails(|| targets::check_place("x.csv", "x.csv:2:1", 3)));
    assert!(!fails(|| targets::check_place("x.csv", "x.csv", 1)));
    assert!(fails(|| targets::check_place("x.csv", "x.csv:0", 3)));
    assert!(fails(|| targets::check_place("x.csv", "x.csv:2:0", 3)));
    assert!(fails(|| targets::check_place("x.csv", "x.csv:4", 3)));
    assert!(fails(|| targets::check_place("x.csv", "y.csv:1", 3)));
    assert!(fails(|| targets::check_place("x.csv", "x.csv:1:2:3", 3)));
    assert!(!fails(|| targets::check_pack_message(
        "v.json",
        "[\n{}\n]",
        "v.json:2:1: bad"
    )));
    assert!(fails(|| targets::check_pack_message(
        "v.json",
        "[\n{}\n]",
        "v.json:9:1: bad"
    )));
    assert!(fails(|| targets::check_pack_message(
        "v.json",
        "[]",
        "w.json:1:1: bad"
    )));
}
