//! What each fuzz target feeds roster and what it checks besides "no panic".
//!
//! Shared by the libFuzzer binaries of `fuzz/` and by `tests/fuzz_replay.rs`, which runs every
//! seed and every kept crash through the same checks on stable Rust, in the normal test suite.
//! A check that fails panics with the reason, which libFuzzer reports as a crash.
//!
//! The readers' targets take the first byte as the read options (see [`options_from`]) and
//! the rest as the file, so the fuzzer explores delimiters and encodings too.

use roster::read::{self, Encoding, Format, ReadOptions, Row};
use roster::rules::{parse_validation, Settings};
use roster::vendor::Vendor;
use roster::Error;

/// The CSV reader, with the delimiter and encoding chosen by the first byte.
pub fn read_csv(data: &[u8]) {
    let (options, file) = options_from(data, Format::Csv);
    check_read("fuzz.csv", file, &options);
}

/// The JSON reader (an array of users, bare or under one key).
pub fn read_json(data: &[u8]) {
    let (options, file) = options_from(data, Format::Json);
    check_read("fuzz.json", file, &options);
}

/// The NDJSON reader (one user per line).
pub fn read_ndjson(data: &[u8]) {
    let (options, file) = options_from(data, Format::Ndjson);
    check_read("fuzz.ndjson", file, &options);
}

/// `--format auto` on a name without an extension: the first bytes pick the reader.
pub fn read_sniffed(data: &[u8]) {
    let (options, file) = options_from(data, Format::Auto);
    check_read("fuzz", file, &options);
}

/// The vendor-format readers (`--format servicepower|esystems|fieldsquared`), the vendor
/// chosen by the first byte; every row they give is mapped to a canonical user too.
pub fn read_vendor(data: &[u8]) {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    let vendor = [Vendor::ServicePower, Vendor::ESystems, Vendor::FieldSquared][first as usize % 3];
    let options = ReadOptions {
        format: Format::Vendor(vendor),
        ..ReadOptions::default()
    };
    for row in check_read("fuzz.json", file, &options) {
        roster::map::map_columns(row.columns, ';');
    }
}

/// The `validation.json` loader (a `ListValidation` list, bare or as `{"Extra": [...]}`).
pub fn validation_json(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match parse_validation("validation.json", source, ';') {
        Ok(rules) => {
            let items = serde_json::from_str::<serde_json::Value>(source)
                .ok()
                .and_then(|root| match root {
                    serde_json::Value::Array(items) => Some(items.len()),
                    serde_json::Value::Object(o) => o
                        .get("Extra")
                        .and_then(serde_json::Value::as_array)
                        .map(Vec::len),
                    _ => None,
                });
            assert_eq!(items, Some(rules.len()), "one rule per item of the list");
        }
        Err(Error::Rules(message)) => check_pack_message("validation.json", source, &message),
        Err(other) => panic!("validation.json gave a {other:?} error, not a rules error"),
    }
}

/// The `tenant.toml` loader.
pub fn tenant_toml(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match Settings::parse("tenant.toml", source) {
        Ok(settings) => {
            if let Some(percent) = settings.max_delete_percent {
                assert!(
                    (0.0..=100.0).contains(&percent),
                    "max_delete_percent {percent} accepted"
                );
            }
        }
        Err(Error::Rules(message)) => check_pack_message("tenant.toml", source, &message),
        Err(other) => panic!("tenant.toml gave a {other:?} error, not a rules error"),
    }
}

/// Splits off the options byte: bit 0 picks windows-1252, bits 1–2 force a delimiter
/// (none, `,`, `;`, tab). An empty input reads as an empty file with the defaults.
fn options_from(data: &[u8], format: Format) -> (ReadOptions, &[u8]) {
    let (first, file) = data.split_first().map_or((0, data), |(&b, rest)| (b, rest));
    let options = ReadOptions {
        format,
        encoding: if first & 1 == 1 {
            Encoding::Windows1252
        } else {
            Encoding::Utf8
        },
        delimiter: [None, Some(b','), Some(b';'), Some(b'\t')][usize::from(first >> 1 & 3)],
        ..ReadOptions::default()
    };
    (options, file)
}

/// Reads `bytes` as the file `name` and checks what any read must satisfy; the rows.
fn check_read(name: &str, bytes: &[u8], options: &ReadOptions) -> Vec<Row> {
    let mut rows = Vec::new();
    let result = read::read_from(name, bytes, options, &mut |row: Row| {
        rows.push(row);
        Ok(())
    });
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    match result {
        Ok(summary) => {
            assert_eq!(
                summary.rows,
                rows.len() as u64,
                "the summary counts every row"
            );
            assert_eq!(
                summary.digest,
                format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes)),
                "the digest is of the raw bytes"
            );
            let mut previous = 1;
            for (index, row) in rows.iter().enumerate() {
                let position = &row.position;
                assert_eq!(&*position.file, name);
                assert_eq!(position.index, index as u64, "rows are numbered in order");
                assert!(
                    (previous..=lines).contains(&position.line),
                    "row {index} at line {} (previous {previous}, the file has {lines})",
                    position.line
                );
                previous = position.line;
                if !summary.columns.is_empty() {
                    let names: Vec<&str> = row.columns.iter().map(|(n, _)| &**n).collect();
                    assert_eq!(names, summary.columns, "a CSV row has the header's columns");
                }
            }
        }
        Err(Error::Input { at, message }) => {
            assert!(!message.trim().is_empty(), "an empty message at {at}");
            check_place(name, &at, lines);
        }
        Err(other) => panic!("reading gave a {other:?} error, not an input error"),
    }
    rows
}

/// An input error's place is `name`, `name:line` or `name:line:column`, both 1-based, the
/// line within the file.
pub fn check_place(name: &str, at: &str, lines: u64) {
    let Some(rest) = at.strip_prefix(name) else {
        panic!("the error's place `{at}` does not name the file `{name}`");
    };
    let numbers: Vec<u64> = rest
        .split(':')
        .skip(1)
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("`{at}` is not file:line:column"))
        })
        .collect();
    assert!(numbers.len() <= 2, "`{at}` has too many parts");
    assert!(numbers.iter().all(|&n| n >= 1), "`{at}` is not 1-based");
    if let Some(&line) = numbers.first() {
        assert!(line <= lines, "`{at}` is past the file's {lines} lines");
    }
}

/// A pack error starts `file:` and, when it names a line, that line is in the source.
pub fn check_pack_message(file: &str, source: &str, message: &str) {
    let head = message.lines().next().unwrap_or_default();
    let Some(rest) = head.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else {
        panic!("the error `{head}` does not start with `{file}:`");
    };
    let mut parts = rest.splitn(3, ':');
    if let (Some(line), Some(column), Some(_)) = (parts.next(), parts.next(), parts.next()) {
        if let (Ok(line), Ok(column)) = (line.parse::<usize>(), column.parse::<usize>()) {
            let lines = source.matches('\n').count() + 1;
            assert!(
                (1..=lines).contains(&line),
                "`{head}` is past the {lines} lines"
            );
            assert!(column >= 1, "`{head}` has column 0");
        }
    }
}
