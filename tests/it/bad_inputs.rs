//! The bad-input corpus: everything a user can get wrong, across the commands. Each case
//! must end in exit 1 with one message saying what and where, no panic, and the workspace
//! file byte-identical.

use crate::common::Workdir;

/// One bad input: the files it needs, the command, and text the message must contain.
struct Case {
    files: &'static [(&'static str, &'static [u8])],
    args: &'static [&'static str],
    says: &'static [&'static str],
}

const CASES: &[Case] = &[
    // Source files.
    Case {
        files: &[("ragged.csv", b"external_id,email\nu1,a\nu2,b,c\n")],
        args: &["plan", "ragged.csv"],
        says: &["ragged.csv:3", "3 fields", "header has 2"],
    },
    Case {
        files: &[("quote.csv", b"external_id,name\nu1,\"Ada\n")],
        args: &["plan", "quote.csv"],
        says: &["quote.csv:2", "never closed"],
    },
    Case {
        files: &[("latin.csv", b"external_id,name\nu1,Jos\xe9\n")],
        args: &["plan", "latin.csv"],
        says: &["latin.csv:2", "--encoding windows-1252"],
    },
    Case {
        files: &[("bin.csv", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00")],
        args: &["plan", "bin.csv"],
        says: &["bin.csv", "text"],
    },
    Case {
        files: &[("ragged.csv", b"external_id,email\nu1,a\nu2,b,c\n")],
        args: &["rules", "check", "--data", "ragged.csv"],
        says: &["ragged.csv:3", "3 fields", "header has 2"],
    },
    Case {
        files: &[("latin.csv", b"external_id,name\nu1,Jos\xe9\n")],
        args: &["rules", "check", "--data", "latin.csv"],
        says: &["latin.csv:2", "--encoding windows-1252"],
    },
    Case {
        files: &[],
        args: &["rules", "check", "--data", "nowhere.csv"],
        says: &["nowhere.csv"],
    },
    Case {
        files: &[("empty.csv", b"")],
        args: &["plan", "empty.csv"],
        says: &["empty.csv:1", "empty"],
    },
    Case {
        files: &[("blank.csv", b"\n\n  \n")],
        args: &["plan", "blank.csv"],
        says: &["blank.csv"],
    },
    Case {
        files: &[("dup.csv", b"external_id,Email,email\nu1,a,b\n")],
        args: &["plan", "dup.csv"],
        says: &["dup.csv:1", "email"],
    },
    Case {
        files: &[("emptycol.csv", b"external_id,,email\nu1,x,a\n")],
        args: &["plan", "emptycol.csv"],
        says: &["emptycol.csv:1"],
    },
    Case {
        files: &[("nokey.csv", b"id,email\nu1,a\n")],
        args: &["plan", "nokey.csv"],
        says: &["no key column `external_id`"],
    },
    Case {
        files: &[],
        args: &["plan", "nowhere.csv"],
        says: &["nowhere.csv", "no such file"],
    },
    Case {
        files: &[("comma.json", b"[{\"external_id\": \"u1\",}]")],
        args: &["plan", "comma.json"],
        says: &["comma.json:1:", "JSON"],
    },
    Case {
        files: &[("cut.json", b"[{\"external_id\": \"u1\"")],
        args: &["plan", "cut.json"],
        says: &["cut.json:1:"],
    },
    Case {
        files: &[("num.json", b"12")],
        args: &["plan", "num.json"],
        says: &["num.json:1", "number"],
    },
    Case {
        files: &[("str.json", b"\"users\"")],
        args: &["plan", "str.json"],
        says: &["str.json:1"],
    },
    Case {
        files: &[("nums.json", b"[1,2,3]")],
        args: &["plan", "nums.json"],
        says: &["[0] is a number", "expected a user object"],
    },
    Case {
        files: &[(
            "wrapped.json",
            b"{\"Users\": [{\"external_id\": \"u1\"}, 7]}",
        )],
        args: &["plan", "wrapped.json"],
        says: &["Users[1] is a number"],
    },
    Case {
        files: &[("noarray.json", b"{\"external_id\": \"u1\"}")],
        args: &["plan", "noarray.json", "--format", "json"],
        says: &["noarray.json"],
    },
    Case {
        files: &[("two.json", b"{\"a\": [{}], \"b\": [{}]}")],
        args: &["plan", "two.json"],
        says: &["two.json"],
    },
    Case {
        files: &[("bad.ndjson", b"{\"external_id\": \"u1\"}\n[1]\n")],
        args: &["plan", "bad.ndjson"],
        says: &["bad.ndjson:2"],
    },
    Case {
        files: &[("badutf8.json", b"[{\"external_id\": \"\xff\"}]")],
        args: &["plan", "badutf8.json"],
        says: &["badutf8.json:1"],
    },
    // Rule packs.
    Case {
        files: &[(
            "rules/syntax/10_map.rhai",
            b"fn map(row) {\n  let = 1;\n}\n",
        )],
        args: &["rules", "check", "--tenant", "syntax"],
        says: &["rules/syntax/10_map.rhai:2:", "^"],
    },
    Case {
        files: &[("rules/arity/10_map.rhai", b"fn map(row, extra) { row }\n")],
        args: &["rules", "check", "--tenant", "arity"],
        says: &["rules/arity/10_map.rhai:1", "`map` must take 1"],
    },
    Case {
        files: &[("rules/vjson/validation.json", b"[{\"Name\": \"email\",]")],
        args: &["rules", "check", "--tenant", "vjson"],
        says: &["rules/vjson/validation.json:1:"],
    },
    Case {
        files: &[(
            "rules/vprop/validation.json",
            b"[{\"Name\": \"email\", \"Requird\": true}]",
        )],
        args: &["rules", "check", "--tenant", "vprop"],
        says: &["`Requird`", "`Required`"],
    },
    Case {
        files: &[(
            "rules/vfield/validation.json",
            b"[{\"Name\": \"emial\", \"Required\": true}]",
        )],
        args: &["rules", "check", "--tenant", "vfield"],
        says: &["`emial`", "`email`"],
    },
    Case {
        files: &[(
            "rules/vregex/validation.json",
            b"[{\"Name\": \"email\", \"Pattern\": \"(unclosed\"}]",
        )],
        args: &["rules", "check", "--tenant", "vregex"],
        says: &["rules/vregex/validation.json", "Pattern"],
    },
    Case {
        files: &[("rules/vshape/validation.json", b"{\"Users\": []}")],
        args: &["rules", "check", "--tenant", "vshape"],
        says: &["rules/vshape/validation.json"],
    },
    Case {
        files: &[("rules/toml/tenant.toml", b"list_seperator = \",\"\n")],
        args: &["rules", "check", "--tenant", "toml"],
        says: &["rules/toml/tenant.toml:1", "`list_separator`"],
    },
    Case {
        files: &[
            ("rules/loop/10_map.rhai", b"fn map(row) {\n  loop { }\n}\n"),
            ("in.csv", b"external_id\nu1\n"),
        ],
        args: &["plan", "in.csv", "--tenant", "loop"],
        says: &["rules/loop/10_map.rhai:1", "endless loop"],
    },
    Case {
        files: &[
            (
                "rules/deep/10_map.rhai",
                b"fn down(n) { down(n + 1) }\nfn map(row) { down(0) }\n",
            ),
            ("in.csv", b"external_id\nu1\n"),
        ],
        args: &["plan", "in.csv", "--tenant", "deep"],
        says: &["rules/deep/10_map.rhai", "recursion"],
    },
    Case {
        files: &[
            (
                "rules/big/10_map.rhai",
                b"fn map(row) {\n  let s = \"x\";\n  loop { s += s; }\n}\n",
            ),
            ("in.csv", b"external_id\nu1\n"),
        ],
        args: &["plan", "in.csv", "--tenant", "big"],
        says: &["rules/big/10_map.rhai"],
    },
    Case {
        files: &[("rules/evil/10_map.rhai", b"fn map(row) { eval(\"1\") }\n")],
        args: &["rules", "check", "--tenant", "evil"],
        says: &["rules/evil/10_map.rhai:1", "eval"],
    },
    Case {
        files: &[(
            "rules/imp/10_map.rhai",
            b"import \"os\" as os;\nfn map(row) { row }\n",
        )],
        args: &["rules", "check", "--tenant", "imp"],
        says: &["rules/imp/10_map.rhai:1"],
    },
    Case {
        files: &[
            (
                "rules/refs/validation.json",
                b"[{\"Name\": \"location\", \"FieldName\": \"code\"}]",
            ),
            ("in.csv", b"external_id\nu1\n"),
        ],
        args: &["plan", "in.csv", "--tenant", "refs"],
        says: &[
            "reference table `location`",
            "`roster --tenant refs ref load location FILE`",
        ],
    },
    Case {
        files: &[
            (
                "rules/failing/10_map.rhai",
                b"fn map(row) { #{ external_id: row.id } }\n",
            ),
            (
                "rules/failing/tests/01.json",
                b"{\"row\": {\"id\": \"a\"}, \"user\": {\"external_id\": \"b\"}}",
            ),
        ],
        args: &["rules", "test", "--tenant", "failing"],
        says: &["examples of tenant `failing` failed"],
    },
    Case {
        files: &[("rules/badex/tests/01.json", b"{\"rows\": {}}")],
        args: &["rules", "test", "--tenant", "badex"],
        says: &["rules/badex/tests/01.json", "`rows`", "`row`"],
    },
    // The command line.
    Case {
        files: &[("in.csv", b"external_id\nu1\n")],
        args: &["plan", "in.csv", "--tenant", "nobody"],
        says: &["unknown tenant `nobody`", "rules/nobody"],
    },
    Case {
        files: &[("in.csv", b"external_id\nu1\n")],
        args: &["plan", "in.csv", "--format", "xml"],
        says: &["xml"],
    },
    Case {
        files: &[("in.csv", b"external_id\nu1\n")],
        args: &["plan", "in.csv", "--encoding", "utf-7"],
        says: &["invalid value 'utf-7' for '--encoding", "possible values: utf-8, windows-1252"],
    },
    Case {
        files: &[("in.csv", b"external_id\nu1\n")],
        args: &["plan", "in.csv", "--delimiter", ";;"],
        says: &["not one character"],
    },
    Case {
        files: &[],
        args: &["apply", "99"],
        says: &["no plan 99"],
    },
    Case {
        files: &[],
        args: &["apply", "first"],
        says: &["`first` is not a plan id"],
    },
    Case {
        files: &[],
        args: &["plan", "--revert", "99"],
        says: &["no apply 99"],
    },
    Case {
        files: &[],
        args: &["ref", "show", "nothing"],
        says: &["no reference table `nothing`"],
    },
    Case {
        files: &[],
        args: &["ref", "load", "../x", "in.csv"],
        says: &["not a table name"],
    },
    Case {
        files: &[],
        args: &["plann", "in.csv"],
        says: &["plann"],
    },
    Case {
        files: &[],
        args: &["state", "show", "--output", "xml"],
        says: &["xml"],
    },
    // Spreadsheets, SCIM and JSON envelopes, compressed files (fixtures/inputs/make.sh).
    Case {
        files: &[("corrupt.xlsx", b"PK\x03\x04\x14\x00\x00\x00 not really a workbook")],
        args: &["plan", "corrupt.xlsx"],
        says: &["corrupt.xlsx: the workbook is damaged", "save it again"],
    },
    Case {
        files: &[(
            "empty-sheet.xlsx",
            include_bytes!("../../fixtures/inputs/empty-sheet.xlsx"),
        )],
        args: &["plan", "empty-sheet.xlsx"],
        says: &["empty-sheet.xlsx:Export: the sheet is empty", "`Staff`", "--sheet"],
    },
    Case {
        files: &[(
            "locked.xlsx",
            include_bytes!("../../fixtures/inputs/staff-password.xlsx"),
        )],
        args: &["plan", "locked.xlsx"],
        says: &["locked.xlsx: the workbook is password-protected", "without the password"],
    },
    Case {
        files: &[(
            "locked.xlsx",
            include_bytes!("../../fixtures/inputs/staff-password.xlsx"),
        )],
        args: &["rules", "check", "--data", "locked.xlsx"],
        says: &["locked.xlsx: the workbook is password-protected"],
    },
    Case {
        files: &[("staff.xlsx", include_bytes!("../../fixtures/inputs/staff.xlsx"))],
        args: &["plan", "staff.xlsx", "--sheet", "Payroll"],
        says: &["no sheet `Payroll`", "`Staff`, `Notes`"],
    },
    Case {
        files: &[("report.xls", b"<html><table><tr><td>external_id</td></tr></table></html>")],
        args: &["plan", "report.xls"],
        says: &["report.xls:1", "HTML or XML", "save it as .xlsx or CSV"],
    },
    Case {
        files: &[("two-files.zip", include_bytes!("../../fixtures/inputs/two-files.zip"))],
        args: &["plan", "two-files.zip"],
        says: &["two-files.zip", "`notes.txt`, `staff.csv`", "--member staff.csv"],
    },
    Case {
        files: &[("two-files.zip", include_bytes!("../../fixtures/inputs/two-files.zip"))],
        args: &["plan", "two-files.zip", "--member", "payroll.csv"],
        says: &["`--member payroll.csv` is not in the archive"],
    },
    Case {
        files: &[(
            "truncated.csv.gz",
            include_bytes!("../../fixtures/inputs/truncated.csv.gz"),
        )],
        args: &["plan", "truncated.csv.gz"],
        says: &["truncated.csv.gz: the gzip data ends before it should", "cut short"],
    },
    Case {
        files: &[("bomb.csv.gz", include_bytes!("../../fixtures/inputs/bomb.csv.gz"))],
        args: &["plan", "bomb.csv.gz"],
        says: &["bomb.csv.gz: the gzip data decompresses to more than", "--max-decompressed"],
    },
    Case {
        files: &[("bomb.csv.gz", include_bytes!("../../fixtures/inputs/bomb.csv.gz"))],
        args: &["rules", "check", "--data", "bomb.csv.gz"],
        says: &["decompression bomb"],
    },
    Case {
        files: &[("nested.zip", include_bytes!("../../fixtures/inputs/nested.zip"))],
        args: &["plan", "nested.zip"],
        says: &["nested.zip:staff.csv.gz", "another compressed file"],
    },
    Case {
        files: &[(
            "scim.json",
            b"{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\n \"Resources\": [{\"userName\": \"a\"}, 7]}",
        )],
        args: &["plan", "scim.json"],
        says: &["scim.json:2:", "Resources[1] is a number"],
    },
    Case {
        files: &[(
            "two.json",
            b"{\"staff\": [{\"external_id\": \"u1\"}],\n \"contractors\": [{\"external_id\": \"c1\"}]}",
        )],
        args: &["plan", "two.json"],
        says: &["two.json:2:", "`staff`, `contractors`", "--json-path staff"],
    },
    Case {
        files: &[("deep.json", b"{\"data\": {\"users\": [{\"external_id\": \"u1\"}]}}")],
        args: &["plan", "deep.json", "--json-path", "data.people"],
        says: &["deep.json:1:1: the document has no `data.people`", "`data.users`"],
    },
    Case {
        files: &[("users.json", b"[{\"external_id\": \"u1\"}]")],
        args: &["plan", "users.json", "--header-row", "2"],
        says: &["`--header-row 2` is for CSV files and spreadsheets"],
    },
    Case {
        files: &[("titled.csv", b"Staff export\n\nexternal_id\nu1\n")],
        args: &["plan", "titled.csv", "--header-row", "2"],
        says: &["titled.csv:2: line 2 is blank"],
    },
];

#[test]
fn every_bad_input_fails_cleanly_and_leaves_the_workspace_alone() {
    assert!(CASES.len() >= 40, "the corpus holds {} cases", CASES.len());
    let w = Workdir::new();
    w.write("seed.csv", "external_id\nu0\n");
    w.ok(&["plan", "seed.csv"]);
    w.ok(&["apply", "latest"]);
    let before = w.db_bytes();
    for case in CASES {
        for (name, contents) in case.files {
            w.write(name, contents);
        }
        let out = w.run(case.args);
        let context = format!(
            "roster {:?}:\nstdout: {}\nstderr: {}",
            case.args, out.stdout, out.stderr
        );
        assert_eq!(out.status, 1, "{context}");
        assert!(
            out.stderr.starts_with("error: ") || out.stderr.starts_with("error:"),
            "{context}"
        );
        assert_eq!(
            out.stderr.matches("\nerror").count(),
            0,
            "one message: {context}"
        );
        assert!(!out.stderr.contains("panicked"), "{context}");
        for needle in case.says {
            assert!(
                out.stderr.contains(needle),
                "expected `{needle}`: {context}"
            );
        }
        assert_eq!(w.db_bytes(), before, "the workspace changed: {context}");
    }
}

/// Rows enough for the reader to be chunks ahead of the rules and of settling.
const LONG_FILE_ROWS: usize = 30_000;

fn long_file(last_line: &str) -> String {
    let mut text = String::from("external_id,email\n");
    for n in 0..LONG_FILE_ROWS {
        text.push_str(&format!("u{n},u{n}@example.com\n"));
    }
    text.push_str(last_line);
    text
}

/// A hook that fails on the first row stops the whole pipeline: the reader, still chunks
/// from the end of a long file, must stop too rather than wait to hand over its next chunk.
#[test]
fn a_hook_failing_early_in_a_long_file_stops_the_reader() {
    let w = Workdir::new();
    w.write(
        "rules/deep/10_map.rhai",
        "fn down(n) { down(n + 1) }\nfn map(row) { if row.external_id == \"u1\" { down(0) } row }\n",
    );
    w.write("long.csv", long_file(""));
    let before = w.db_bytes();
    let message = w.fails(&["plan", "long.csv", "--tenant", "deep"]);
    assert!(message.contains("rules/deep/10_map.rhai"), "{message}");
    assert!(message.contains("recursion"), "{message}");
    assert_eq!(w.db_bytes(), before);
}

/// A bad row after thousands of good ones is read while earlier chunks are settled; its
/// error, with its line, is the command's.
#[test]
fn a_bad_row_at_the_end_of_a_long_file_fails_the_plan_at_its_line() {
    let w = Workdir::new();
    w.write("long.csv", long_file("u-last,a,extra\n"));
    let before = w.db_bytes();
    let message = w.fails(&["plan", "long.csv"]);
    let line = LONG_FILE_ROWS + 2;
    assert!(message.contains(&format!("long.csv:{line}")), "{message}");
    assert!(message.contains("3 fields"), "{message}");
    assert_eq!(w.db_bytes(), before);
}
