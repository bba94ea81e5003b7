//! Every fuzz seed and every input a fuzzer once crashed on, run through the fuzz targets'
//! own checks (`fuzz/src/targets.rs`) on stable Rust, so a fixed crash stays fixed.
//!
//! The long fuzz runs stay out of CI; see docs/fuzzing.md for how to run them and how to keep
//! a new crash here (copy the artifact into `fuzz/regressions/<target>/`).

use std::path::Path;

#[path = "../fuzz/src/targets.rs"]
mod targets;

/// Runs `target` on every file under `fuzz/seeds/<name>/` and `fuzz/regressions/<name>/`;
/// the number of inputs run.
fn replay(name: &str, target: fn(&[u8])) -> usize {
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

#[test]
fn csv_reader() {
    assert!(replay("read_csv", targets::read_csv) >= 5);
}

#[test]
fn json_reader() {
    assert!(replay("read_json", targets::read_json) >= 3);
}

#[test]
fn ndjson_reader() {
    assert!(replay("read_ndjson", targets::read_ndjson) >= 2);
}

#[test]
fn format_sniffing() {
    assert!(replay("read_sniffed", targets::read_sniffed) >= 5);
}

#[test]
fn vendor_readers() {
    assert!(replay("read_vendor", targets::read_vendor) >= 6);
}

#[test]
fn validation_json_loader() {
    assert!(replay("validation_json", targets::validation_json) >= 3);
}

#[test]
fn tenant_toml_loader() {
    assert!(replay("tenant_toml", targets::tenant_toml) >= 3);
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
