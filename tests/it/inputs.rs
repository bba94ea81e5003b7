//! Inputs as consultants receive them, through the command line: workbooks, SCIM and other
//! JSON envelopes, compressed files, headers below a title. Each plans to the same users as
//! the plain CSV of the same people (`fixtures/inputs/staff.csv`).

use crate::common::workbook::{xlsx, xlsx_of_xml, Cell};
use crate::common::{counts, Workdir};
use serde_json::Value;

/// A plan without where its rows came from: what it would do to which users.
fn what_it_does(plan: &Value) -> Value {
    let mut plan = plan.clone();
    for list in ["changes", "problems"] {
        for item in plan[list].as_array_mut().unwrap() {
            item.as_object_mut().unwrap().remove("source");
        }
    }
    plan.as_object_mut().unwrap().remove("plan_id");
    plan
}

/// The plan of `args` in a fresh workspace.
fn fresh_plan(files: &[(&str, &[u8])], args: &[&str]) -> Value {
    let wd = Workdir::new();
    for (name, bytes) in files {
        wd.write(name, bytes);
    }
    wd.plan_json(args)
}

/// Where each change's row is, in order.
fn sources(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap().to_string())
        .collect()
}

fn staff_plan() -> Value {
    let wd = Workdir::new();
    wd.fixture("inputs/staff.csv");
    wd.plan_json(&["staff.csv"])
}

#[test]
fn every_workbook_format_plans_as_its_csv() {
    let expected = staff_plan();
    assert_eq!(counts(&expected), [3, 0, 0, 0, 0, 0]);
    for file in ["staff.xlsx", "staff.ods", "staff.xls"] {
        let wd = Workdir::new();
        wd.fixture(&format!("inputs/{file}"));
        let plan = wd.plan_json(&[file]);
        assert_eq!(what_it_does(&plan), what_it_does(&expected), "{file}");
        // Rows are at `file:Sheet:row`; row 4 is blank.
        assert_eq!(
            sources(&plan),
            [
                format!("{file}:Staff:2"),
                format!("{file}:Staff:3"),
                format!("{file}:Staff:5")
            ]
        );
    }
    // A macro-enabled workbook is read as the workbook it is.
    let wd = Workdir::new();
    let xlsx = std::fs::read(wd.fixture("inputs/staff.xlsx")).unwrap();
    wd.write("staff.xlsm", xlsx);
    let plan = wd.plan_json(&["staff.xlsm"]);
    assert_eq!(what_it_does(&plan), what_it_does(&expected));
}

#[test]
fn cells_read_as_the_sheet_shows_them() {
    let book = xlsx(&[(
        "People",
        vec![
            vec![
                Cell::Text("external_id"),
                Cell::Text("attributes.badge"),
                Cell::Text("attributes.hired"),
                Cell::Text("attributes.shift"),
                Cell::Text("attributes.fte"),
                Cell::Text("active"),
                Cell::Text("attributes.note"),
            ],
            vec![
                Cell::Number(1001.0),
                Cell::Text("007"),
                Cell::Date("2024-01-05"),
                Cell::Date("2024-01-05 10:30:00"),
                Cell::Number(0.75),
                Cell::Bool(false),
                Cell::Empty,
            ],
        ],
    )]);
    let plan = fresh_plan(&[("people.xlsx", &book)], &["people.xlsx"]);
    let fields = &plan["changes"][0]["fields"];
    let after = |field: &str| {
        fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .map(|f| f["after"].clone())
    };
    assert_eq!(after("external_id"), Some("1001".into()));
    assert_eq!(after("active"), Some(false.into()));
    assert_eq!(
        after("attributes"),
        Some(serde_json::json!({
            "badge": "007", "hired": "2024-01-05", "shift": "2024-01-05T10:30:00", "fte": "0.75",
            "note": ""
        }))
    );
}

#[test]
fn sheet_chooses_by_name_or_number_and_header_row_skips_a_title() {
    let people = vec![
        vec![Cell::Text("Staff list, exported Friday")],
        vec![],
        vec![Cell::Text("external_id"), Cell::Text("email")],
        vec![Cell::Text("u1"), Cell::Text("a@x.org")],
    ];
    let book = xlsx(&[
        ("Cover", vec![vec![Cell::Text("nothing here")]]),
        ("People", people),
    ]);
    let wd = Workdir::new();
    wd.write("book.xlsx", &book);
    for sheet in ["People", "people", "2"] {
        let plan = wd.plan_json(&["book.xlsx", "--sheet", sheet, "--header-row", "3"]);
        assert_eq!(counts(&plan)[0], 1, "{sheet}");
        assert_eq!(sources(&plan), ["book.xlsx:People:4"]);
    }
    let e = wd.fails(&["plan", "book.xlsx", "--sheet", "Staff"]);
    assert_eq!(
        e,
        "error: book.xlsx: the workbook has no sheet `Staff`; its sheets are `Cover`, `People`: \
         pass one of them to `--sheet`, or its number (1 to 2)"
    );
    // Without `--header-row`, the title is taken as the header.
    let e = wd.fails(&["plan", "book.xlsx", "--sheet", "People"]);
    assert_eq!(
        e,
        "error: book.xlsx:People:3: cell B3 holds `email`, but its column has no name in the \
         header (row 1); name the column there or clear the cell, and if the header is a later \
         row, pass `--header-row` with its number"
    );
    // `rules check --data` reads the same way.
    let out = wd.ok(&[
        "rules",
        "check",
        "--data",
        "book.xlsx",
        "--sheet",
        "2",
        "--header-row",
        "3",
    ]);
    assert!(out.stdout.contains("1 row"), "{}", out.stdout);
}

#[test]
fn header_row_skips_the_title_lines_of_a_csv() {
    let csv =
        "Staff export\nFriday 5 January\nexternal_id,email\nu1,a@x.org\n\nu2,not-an-address\n";
    let wd = Workdir::new();
    wd.write("titled.csv", csv);
    let plan = wd.plan_json(&["titled.csv", "--header-row", "3"]);
    assert_eq!(counts(&plan)[0], 2);
    assert_eq!(sources(&plan), ["titled.csv:4", "titled.csv:6"]);
    let e = wd.fails(&["plan", "titled.csv", "--header-row", "9"]);
    assert!(
        e.contains("`--header-row 9` is past the end of the file"),
        "{e}"
    );
    let e = wd.fails(&["plan", "titled.csv", "--header-row", "5"]);
    assert!(e.starts_with("error: titled.csv:5: line 5 is blank"), "{e}");
}

const SCIM_LIST: &str = r#"{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
  "totalResults": 2,
  "Resources": [
    {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId": "u001",
     "userName": "ada", "name": {"givenName": "Ada", "familyName": "Lovelace"},
     "emails": [{"value": "ada@example.com", "primary": true}], "active": true,
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Field"}},
    {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bo",
     "name": {"givenName": "Bo", "familyName": "Ek"}, "active": false,
     "phoneNumbers": [{"value": "+47 400 00 001", "type": "mobile"}]}
  ],
  "startIndex": 1,
  "itemsPerPage": 2
}"#;

const SCIM_AS_CSV: &str = "external_id,username,first_name,last_name,email,phones,active,language,timezone,user_type,address,attributes\n\
u001,ada,Ada,Lovelace,ada@example.com,,true,,,,,\"{\"\"department\"\":\"\"Field\"\"}\"\n\
bo,bo,Bo,Ek,,mobile:+47 400 00 001,false,,,,,\n";

#[test]
fn a_scim_list_response_plans_as_its_csv() {
    let expected = fresh_plan(&[("scim.csv", SCIM_AS_CSV.as_bytes())], &["scim.csv"]);
    let plan = fresh_plan(&[("scim.json", SCIM_LIST.as_bytes())], &["scim.json"]);
    assert_eq!(what_it_does(&plan), what_it_does(&expected));
    assert_eq!(sources(&plan), ["scim.json:5", "scim.json:9"]);
    // The same resources one per line, and `--format scim` on a name that says nothing.
    let lines: Vec<String> = serde_json::from_str::<Value>(SCIM_LIST).unwrap()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    let ndjson = lines.join("\n");
    let plan = fresh_plan(
        &[("scim.dat", ndjson.as_bytes())],
        &["scim.dat", "--format", "scim"],
    );
    assert_eq!(what_it_does(&plan), what_it_does(&expected));
}

#[test]
fn json_envelopes_and_json_path() {
    let expected = fresh_plan(
        &[("u.csv", b"external_id,email\nu1,a@x.org\n".as_slice())],
        &["u.csv"],
    );
    for (name, document) in [
        (
            "graph.json",
            r#"{"@odata.context": "https://graph/$metadata#users", "value": [{"external_id": "u1", "email": "a@x.org"}], "@odata.nextLink": null}"#,
        ),
        (
            "workday.json",
            r#"{"Report_Entry": [{"external_id": "u1", "email": "a@x.org"}], "links": [{"rel": "self"}]}"#,
        ),
        (
            "mine.json",
            r#"{"meta": {"count": 1}, "employees": [{"external_id": "u1", "email": "a@x.org"}]}"#,
        ),
    ] {
        let plan = fresh_plan(&[(name, document.as_bytes())], &[name]);
        assert_eq!(what_it_does(&plan), what_it_does(&expected), "{name}");
    }
    let nested = r#"{"result": {"data": {"users": [{"external_id": "u1", "email": "a@x.org"}]}}}"#;
    let wd = Workdir::new();
    wd.write("nested.json", nested);
    let e = wd.fails(&["plan", "nested.json"]);
    assert!(e.contains("--json-path result.data.users"), "{e}");
    let plan = wd.plan_json(&["nested.json", "--json-path", "result.data.users"]);
    assert_eq!(what_it_does(&plan), what_it_does(&expected));
    let two = r#"{"staff": [{"external_id": "u1"}], "contractors": [{"external_id": "c1"}]}"#;
    wd.write("two.json", two);
    let e = wd.fails(&["plan", "two.json"]);
    assert!(e.contains("(`staff`, `contractors`)"), "{e}");
    assert!(e.contains("--json-path staff"), "{e}");
    let e = wd.fails(&["plan", "two.json", "--json-path", "staff..x"]);
    assert!(e.contains("has an empty key"), "{e}");
}

#[test]
fn compressed_files_plan_as_the_file_they_hold() {
    let expected = staff_plan();
    for file in ["staff.csv.gz", "staff.zip"] {
        let wd = Workdir::new();
        wd.fixture(&format!("inputs/{file}"));
        let plan = wd.plan_json(&[file]);
        assert_eq!(what_it_does(&plan), what_it_does(&expected), "{file}");
    }
    // Told by their first bytes too, whatever the name says.
    let wd = Workdir::new();
    let gz = std::fs::read(wd.fixture("inputs/staff.csv.gz")).unwrap();
    wd.write("download", gz);
    let plan = wd.plan_json(&["download"]);
    assert_eq!(what_it_does(&plan), what_it_does(&expected));
    assert_eq!(sources(&plan)[2], "download:5");
    // A zip's member is named in positions.
    let wd = Workdir::new();
    wd.fixture("inputs/staff.zip");
    assert_eq!(
        sources(&wd.plan_json(&["staff.zip"]))[0],
        "staff.zip:export/staff.csv:2"
    );
    // Of two files, `--member` chooses.
    let wd = Workdir::new();
    wd.fixture("inputs/two-files.zip");
    let e = wd.fails(&["plan", "two-files.zip"]);
    assert_eq!(
        e,
        "error: two-files.zip: the zip archive holds 2 files: `notes.txt`, `staff.csv`; \
         roster reads one: choose it with `--member staff.csv`"
    );
    let plan = wd.plan_json(&["two-files.zip", "--member", "staff.csv"]);
    assert_eq!(what_it_does(&plan), what_it_does(&expected));
    // A workbook in a zip.
    let wd = Workdir::new();
    let book = std::fs::read(wd.fixture("inputs/staff.xlsx")).unwrap();
    wd.write("book.zip", zip_of(&[("staff.xlsx", &book)]));
    let plan = wd.plan_json(&["book.zip"]);
    assert_eq!(what_it_does(&plan), what_it_does(&expected));
    assert_eq!(sources(&plan)[0], "book.zip:staff.xlsx:Staff:2");
}

#[test]
fn a_decompression_bomb_stops_the_read_unless_the_limit_is_raised() {
    let wd = Workdir::new();
    wd.fixture("inputs/bomb.csv.gz");
    let before = wd.db_bytes();
    let e = wd.fails(&["plan", "bomb.csv.gz"]);
    assert!(
        e.starts_with("error: bomb.csv.gz: the gzip data decompresses to more than 1.0 MiB"),
        "{e}"
    );
    assert!(e.contains("--max-decompressed"), "{e}");
    assert_eq!(wd.db_bytes(), before);
    let e = wd.fails(&["plan", "bomb.csv.gz", "--max-decompressed", "2MB"]);
    assert!(e.contains("the `--max-decompressed` limit"), "{e}");
    let plan = wd.plan_json(&["bomb.csv.gz", "--max-decompressed", "16MiB"]);
    assert_eq!(counts(&plan), [0; 6]);
    let e = wd.fails(&["plan", "bomb.csv.gz", "--max-decompressed", "lots"]);
    assert!(e.contains("is not a size"), "{e}");
}

/// A zip archive of `members`, deflated.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_workbook_damaged_inside_is_one_message() {
    // A cell names shared string 3 of a table of 1: calamine's reader panics on it.
    let sheet = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>3</v></c></row></sheetData></worksheet>"#;
    let strings = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>external_id</t></si></sst>"#;
    let wd = Workdir::new();
    wd.write("broken.xlsx", xlsx_of_xml(sheet, strings));
    let e = wd.fails(&["plan", "broken.xlsx"]);
    assert_eq!(
        e,
        "error: broken.xlsx: the workbook cannot be read: it is damaged in a way the \
         spreadsheet reader does not expect; open it in Excel or LibreOffice and save it again, \
         or export the sheet as CSV"
    );
    assert!(!wd.db().exists());
}

/// A file without the key column is refused at its header, wherever the header is: the
/// line `--header-row` names, a sheet's header row, or the first object of a JSON array.
#[test]
fn a_missing_key_column_is_named_at_the_header_s_place() {
    let wd = Workdir::new();
    wd.write("titled.csv", "Staff export\n\nid,email\nu1,a@x.org\n");
    let e = wd.fails(&["plan", "titled.csv", "--header-row", "3"]);
    assert!(
        e.starts_with(
            "error: titled.csv:3: no key column `external_id` (the columns are id, email)"
        ),
        "{e}"
    );
    let book = xlsx(&[(
        "People",
        vec![
            vec![Cell::Text("Staff list")],
            vec![],
            vec![Cell::Text("id"), Cell::Text("email")],
            vec![Cell::Text("u1"), Cell::Text("a@x.org")],
        ],
    )]);
    wd.write("book.xlsx", &book);
    let e = wd.fails(&["plan", "book.xlsx", "--header-row", "3"]);
    assert!(
        e.starts_with("error: book.xlsx:People:3: no key column"),
        "{e}"
    );
    wd.write(
        "people.json",
        "[\n  {\"id\": \"u1\", \"email\": \"a@x.org\"}\n]\n",
    );
    let e = wd.fails(&["plan", "people.json"]);
    assert!(e.starts_with("error: people.json:2: no key column"), "{e}");
    // A header without rows is checked too: nothing to plan is no reason to accept it.
    wd.write("header-only.csv", "id,email\n");
    let e = wd.fails(&["plan", "header-only.csv"]);
    assert!(
        e.starts_with("error: header-only.csv:1: no key column"),
        "{e}"
    );
}
