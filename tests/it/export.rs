//! `roster export`: payloads that pass the vendors' schemas, equal the golden files, come out
//! the same every time, and refuse what the vendor cannot express.

use crate::common;

use std::path::Path;

use crate::common::Workdir;
use serde_json::Value;

const VENDORS: [&str; 3] = ["servicepower", "esystems", "fieldsquared"];

/// A workspace holding base.csv applied, and plan 2: delta.csv planned with `--sync`
/// (T1 and T3 updated with passwords, T5 created, T2 deleted, T4 unchanged).
fn delta_planned() -> Workdir {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.fixture("vendor/delta.csv");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "delta.csv", "--sync"]);
    w
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema(vendor: &str) -> jsonschema::Validator {
    let file = match vendor {
        "servicepower" => "servicepower_bulk_users",
        "esystems" => "esystems_location_users",
        _ => "fieldsquared_userimport",
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/schemas")
        .join(format!("{file}.schema.json"));
    jsonschema::validator_for(&read_json(&path)).expect("the schema compiles")
}

/// Every payload file of an export folder passes the vendor's schema; returns the manifest.
fn assert_valid(folder: &Path, vendor: &str) -> Value {
    let validator = schema(vendor);
    let manifest = read_json(&folder.join("manifest.json"));
    let files = manifest["files"].as_array().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut listed: Vec<String> = files
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    listed.push("manifest.json".into());
    listed.sort();
    assert_eq!(
        names, listed,
        "the folder holds exactly the manifest's files"
    );
    for file in files {
        let payload = read_json(&folder.join(file["file"].as_str().unwrap()));
        let errors: Vec<String> = validator
            .iter_errors(&payload)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file["file"]);
        assert_eq!(
            payload["Users"].as_array().unwrap().len(),
            file["keys"].as_array().unwrap().len(),
            "keys list every item of {}",
            file["file"]
        );
    }
    manifest
}

fn export(w: &Workdir, plan: &str, vendor: &str, out: &str, extra: &[&str]) -> common::Outcome {
    let mut args = vec!["export", plan, "--vendor", vendor, "--out", out];
    if vendor == "fieldsquared" {
        args.extend(["--workspace", "acme"]);
    }
    args.extend_from_slice(extra);
    w.ok(&args)
}

#[test]
fn exports_pass_the_schemas_and_equal_the_golden_files() {
    for vendor in VENDORS {
        let w = delta_planned();
        let extra: &[&str] = if vendor == "servicepower" {
            &["--batch-size", "2"]
        } else {
            &[]
        };
        let out = export(&w, "latest", vendor, "out", extra);
        assert_valid(&w.path().join("out"), vendor);
        let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/expected")
            .join(vendor);
        for entry in std::fs::read_dir(&expected).unwrap() {
            let name = entry.unwrap().file_name();
            assert_eq!(
                read_json(&w.path().join("out").join(&name)),
                read_json(&expected.join(&name)),
                "{vendor}: {name:?} differs from the golden file"
            );
        }
        if vendor == "fieldsquared" {
            assert!(
                out.stderr.contains("warning: Field Squared's UserImport cannot delete: T2 is sent with `Enabled: false`"),
                "{}",
                out.stderr
            );
        }
    }
}

#[test]
fn exporting_twice_writes_the_same_bytes() {
    for vendor in VENDORS {
        let w = Workdir::new();
        w.fixture("vendor/base.csv");
        w.ok(&["plan", "base.csv"]);
        export(&w, "1", vendor, "a", &["--batch-size", "3"]);
        export(&w, "1", vendor, "b", &["--batch-size", "3"]);
        for entry in std::fs::read_dir(w.path().join("a")).unwrap() {
            let name = entry.unwrap().file_name();
            assert_eq!(
                std::fs::read(w.path().join("a").join(&name)).unwrap(),
                std::fs::read(w.path().join("b").join(&name)).unwrap(),
                "{vendor}: {name:?}"
            );
        }
    }
}

#[test]
fn the_batch_size_is_honoured() {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.ok(&["plan", "base.csv"]);
    let manifest = |out: &str, vendor: &str| assert_valid(&w.path().join(out), vendor);
    export(&w, "1", "servicepower", "sp", &["--batch-size", "3"]);
    let keys: Vec<Value> = manifest("sp", "servicepower")["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["keys"].clone())
        .collect();
    assert_eq!(
        keys,
        vec![
            serde_json::json!(["T1", "T2", "T3"]),
            serde_json::json!(["T4"])
        ]
    );
    // eSystems without --sync: batches within each location.
    export(&w, "1", "esystems", "es", &["--batch-size", "1"]);
    let files = manifest("es", "esystems")["files"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(files.len(), 4);
    assert!(files[0]["path"]
        .as_str()
        .unwrap()
        .contains("/Location/base64%7CQmVyZ2VuIFNlbnRydW0%3D/Users?Name=External_Id"));
    assert!(!files[0]["path"]
        .as_str()
        .unwrap()
        .contains("DeleteNotExists"));
    export(&w, "1", "fieldsquared", "fs", &["--batch-size", "2"]);
    let files = manifest("fs", "fieldsquared")["files"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(files.len(), 2);
    let first = read_json(&w.path().join("fs/fieldsquared-0001.json"));
    let second = read_json(&w.path().join("fs/fieldsquared-0002.json"));
    assert_ne!(first["RequestId"], second["RequestId"]);
}

#[test]
fn a_sync_plan_puts_each_esystems_location_in_one_file() {
    let w = delta_planned();
    export(&w, "latest", "esystems", "es", &["--batch-size", "1"]);
    let manifest = assert_valid(&w.path().join("es"), "esystems");
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{manifest}");
    let oslo = &files[1];
    assert!(oslo["path"]
        .as_str()
        .unwrap()
        .ends_with("/Location/Oslo/Users?Name=External_Id&DeleteNotExists=true"));
    assert_eq!(oslo["keys"], serde_json::json!(["T1", "T5"]));
    assert_eq!(oslo["deleted_by_sync"], serde_json::json!(["T2"]));
    // T4 is unchanged but must be sent, or DeleteNotExists would delete it.
    assert_eq!(files[0]["keys"], serde_json::json!(["T3", "T4"]));
}

/// A `--sync` request body over `esystems_max_request_mb` is exported whole, with a warning
/// naming the location, its size and its users; under the limit, no warning.
#[test]
fn an_esystems_location_over_the_request_limit_is_named() {
    let quiet = export(&delta_planned(), "latest", "esystems", "es", &[]);
    assert!(
        !quiet.stderr.contains("esystems_max_request_mb"),
        "{}",
        quiet.stderr
    );
    let w = Workdir::new();
    w.write(
        "rules/default/tenant.toml",
        "esystems_max_request_mb = 0.0005\n",
    );
    w.fixture("vendor/base.csv");
    w.fixture("vendor/delta.csv");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "delta.csv", "--sync"]);
    let warned = export(&w, "latest", "esystems", "es", &[]);
    assert!(
        warned
            .stderr
            .contains("the eSystems request for location `Oslo` is ")
            && warned
                .stderr
                .contains(" bytes (2 users), over the 524 bytes `esystems_max_request_mb` allows"),
        "{}",
        warned.stderr
    );
    // Sent whole all the same.
    let manifest = assert_valid(&w.path().join("es"), "esystems");
    assert_eq!(
        manifest["files"][1]["keys"],
        serde_json::json!(["T1", "T5"])
    );
}

#[test]
fn a_zero_batch_size_is_refused() {
    let w = delta_planned();
    let error = w.fails(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
        "--batch-size",
        "0",
    ]);
    assert!(
        error.contains("`--batch-size 0`") && error.contains("give 1 or more"),
        "{error}"
    );
    assert!(!w.path().join("out").exists());
}

#[test]
fn an_esystems_delete_without_sync_is_refused() {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.write("gone.csv", "external_id,cud\nT2,3\n");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "gone.csv"]);
    let error = w.fails(&["export", "latest", "--vendor", "esystems", "--out", "out"]);
    assert!(
        error.contains("plan 2 deletes `T2` (gone.csv:2)"),
        "{error}"
    );
    assert!(error.contains("plan with `--sync`"), "{error}");
    assert!(!w.path().join("out").exists());
}

#[test]
fn field_squared_needs_a_workspace() {
    let w = delta_planned();
    let error = w.fails(&[
        "export",
        "latest",
        "--vendor",
        "fieldsquared",
        "--out",
        "out",
    ]);
    assert!(
        error.contains("pass `--workspace W` or set `fieldsquared_workspace`"),
        "{error}"
    );
    assert!(!w.path().join("out").exists());
}

#[test]
fn passwords_are_exported_once_then_wiped() {
    let w = delta_planned();
    let first = export(&w, "latest", "servicepower", "first", &[]);
    assert!(
        first
            .stdout
            .contains("exporting plan 2 again will not send them"),
        "{}",
        first.stdout
    );
    let payload = std::fs::read_to_string(w.path().join("first/servicepower-0001.json")).unwrap();
    assert_eq!(
        payload.matches("\"Password\"").count(),
        2,
        "T1 and T5; T3 asks ResetPassword"
    );
    assert!(payload.contains("S3cret-ada!") && !payload.contains("S3cret-grace!"));
    let again = export(&w, "latest", "servicepower", "again", &[]);
    assert!(
        again.stderr.contains("already wrote and wiped"),
        "{}",
        again.stderr
    );
    let payload = std::fs::read_to_string(w.path().join("again/servicepower-0001.json")).unwrap();
    assert!(!payload.contains("\"Password\""), "{payload}");
    assert!(!String::from_utf8_lossy(&w.db_bytes()).contains("S3cret"));
}

#[test]
fn an_unchanged_plan_writes_nothing() {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "base.csv"]);
    let out = w.ok(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    assert!(
        out.stdout
            .contains("Plan 2 has no changes: no payload files written."),
        "{}",
        out.stdout
    );
    assert!(!w.path().join("out").exists());
}

#[test]
fn an_existing_folder_or_an_unknown_vendor_is_refused() {
    let w = delta_planned();
    w.write("out/keep.txt", "mine");
    let error = w.fails(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    assert!(
        error.contains("already exists and is not an empty folder"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_to_string(w.path().join("out/keep.txt")).unwrap(),
        "mine"
    );
    std::fs::create_dir(w.path().join("empty")).unwrap();
    export(&w, "latest", "servicepower", "empty", &[]);
    assert!(w.path().join("empty/manifest.json").exists());
    let unknown = w.run(&["export", "latest", "--vendor", "salesforce", "--out", "x"]);
    assert_eq!(unknown.status, 1, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("invalid value 'salesforce'"),
        "{}",
        unknown.stderr
    );
}

#[cfg(unix)]
#[test]
fn an_unwritable_folder_is_refused_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let w = delta_planned();
    let locked = w.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    if std::fs::write(locked.join("probe"), "").is_ok() {
        return; // running as root: permissions are not enforced
    }
    let error = w.fails(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "locked/out",
    ]);
    assert!(error.contains("cannot write `locked/out`"), "{error}");
    // The passwords stay for a later export that succeeds.
    let out = export(&w, "latest", "servicepower", "out", &[]);
    assert!(
        out.stdout.contains("The files set 2 password(s)"),
        "{}",
        out.stdout
    );
}

/// A large plan is exported a chunk at a time, chunks in parallel; the files must read as one
/// export: batch sizes, consecutive `RequestId`s and the plan's order across chunk boundaries.
/// A batch of 7 makes two chunks of 9,996 users at most; a batch of 5,001 makes three chunks
/// of one file each, so on two cores a second round of chunks follows the first.
#[test]
fn a_large_plan_exports_in_chunks_that_read_as_one() {
    let w = Workdir::new();
    w.ok(&[
        "generate", "--users", "10050", "--base", "base.csv", "--clean",
    ]);
    w.ok(&["plan", "base.csv", "-q", "--limit", "1"]);
    for batch_size in [7, 5001] {
        let out = format!("out-{batch_size}");
        w.ok(&[
            "export",
            "latest",
            "--vendor",
            "fieldsquared",
            "--workspace",
            "acme",
            "--out",
            &out,
            "--batch-size",
            &batch_size.to_string(),
        ]);
        let out = w.path().join(out);
        let manifest = read_json(&out.join("manifest.json"));
        let files = manifest["files"].as_array().unwrap();
        assert_eq!(files.len(), 10050usize.div_ceil(batch_size));
        let mut keys = Vec::new();
        for (index, file) in files.iter().enumerate() {
            let body = read_json(&out.join(file["file"].as_str().unwrap()));
            assert_eq!(
                body["RequestId"],
                roster::vendor::fieldsquared::request_id(1, index + 1)
            );
            keys.extend(
                body["Users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["ExternalId"].as_str().unwrap().to_string()),
            );
        }
        let expected: Vec<String> = (0..10050).map(|i| format!("U{i:07}")).collect();
        assert_eq!(keys, expected);
    }
}

/// The contoso-entra pack's `export_fieldsquared` hook sets each user's type from the Entra
/// job title; the adjusted payload still passes the vendor's schema.
#[test]
fn a_tenants_export_hook_adjusts_items_from_the_command_line() {
    let w = Workdir::new();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for folder in ["common", "contoso-entra"] {
        std::fs::create_dir_all(w.path().join("rules").join(folder)).unwrap();
        for entry in std::fs::read_dir(rules.join(folder)).unwrap().flatten() {
            if entry.path().is_file() {
                std::fs::copy(
                    entry.path(),
                    w.path().join("rules").join(folder).join(entry.file_name()),
                )
                .unwrap();
            }
        }
    }
    let users = w.fixture("contoso-entra/users.csv");
    let locations = w.fixture("contoso-entra/location.csv");
    let tenant = ["--tenant", "contoso-entra"];
    w.ok(&[
        &["ref", "load", "location", locations.to_str().unwrap()][..],
        &tenant,
    ]
    .concat());
    w.ok(&[&["plan", users.to_str().unwrap()][..], &tenant].concat());
    w.ok(&[
        &[
            "export",
            "latest",
            "--vendor",
            "fieldsquared",
            "--out",
            "out",
        ][..],
        &tenant,
    ]
    .concat());
    let body: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.path().join("out/fieldsquared-0001.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        body["Workspace"], "contoso",
        "the workspace comes from tenant.toml"
    );
    let first = &body["Users"][0];
    assert_eq!(first["UserType"], "Field Technician", "{first}");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/schemas/fieldsquared_userimport.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        validator.is_valid(&body),
        "{:?}",
        validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
}

/// An export that fails half-way (a hook throws on a late user, after earlier files were
/// written) leaves neither `--out` nor its hidden temporary folder, and the workspace as it
/// was.
#[test]
fn a_failed_export_leaves_no_folder_behind() {
    let w = Workdir::new();
    w.write(
        "rules/default/90_export.rhai",
        r#"fn export_servicepower(user, item) {
    if user.external_id == "T1035" { throw "no user type for T1035"; }
    item
}"#,
    );
    let users = w.fixture("default/users.csv");
    w.ok(&["plan", users.to_str().unwrap(), "-q"]);
    let export = [
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
        "--batch-size",
        "2",
    ];
    let before = w.db_bytes();
    let error = w.fails(&export);
    assert!(error.contains("no user type for T1035"), "{error}");
    let left: Vec<String> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("out"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "nothing of the export is left");
    assert_eq!(w.db_bytes(), before, "the workspace is unchanged");
}
