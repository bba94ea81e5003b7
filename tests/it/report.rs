//! `roster report`: the sign-off report of a stored plan, in HTML and Markdown, for every
//! kind of plan a consultant hands over.
//!
//! The golden files under `fixtures/expected/report/` are the reports of the shipped
//! examples (the Markdown, and the HTML page's text). After a deliberate change to the
//! report, write them again with `ROSTER_BLESS=1 cargo test --test report` and review the diff.

use std::path::Path;

use crate::common::{copy_dir, Workdir};

/// Runs `report ARGS… --out NAME` and returns the file's text.
fn report(w: &Workdir, name: &str, args: &[&str]) -> String {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", name]);
    w.ok(&all);
    std::fs::read_to_string(w.path().join(name)).unwrap()
}

/// The page's text as a person reads it: tags gone, cells separated by ` | `, one line per
/// row or paragraph, entities decoded.
fn html_text(html: &str) -> String {
    let body = &html[html.find("<body>").expect("a body")..];
    let mut text = String::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let end = rest[start..].find('>').expect("tags close") + start;
        let tag = &rest[start + 1..end];
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or_default();
        match name {
            "td" | "th" if !tag.starts_with('/') => text.push_str(" | "),
            "br" => text.push('\n'),
            "tr" | "p" | "h1" | "h2" | "h3" | "dd" | "text" | "div" | "footer"
                if tag.starts_with('/') =>
            {
                text.push('\n')
            }
            "dt" if tag.starts_with('/') => text.push_str(": "),
            _ => {}
        }
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The text with the time the plan was made (and applied) replaced by `<time>`, and roster's
/// version by `<version>`.
fn timeless(text: &str) -> String {
    regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        .unwrap()
        .replace_all(text, "<time>")
        .replace(
            &format!("roster {}", env!("CARGO_PKG_VERSION")),
            "roster <version>",
        )
        .replace(
            &format!("roster version | {} |", env!("CARGO_PKG_VERSION")),
            "roster version | <version> |",
        )
        .replace(
            &format!("roster version: {}\n", env!("CARGO_PKG_VERSION")),
            "roster version: <version>\n",
        )
}

/// Compares `actual` with `fixtures/expected/report/NAME`, or writes it with `ROSTER_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/expected/report")
        .join(name);
    if std::env::var_os("ROSTER_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with `ROSTER_BLESS=1 cargo test --test report`",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the report at line {}:\nexpected: {:?}\nactual:   {:?}\n\
             (after a deliberate change: `ROSTER_BLESS=1 cargo test --test report`, then review the diff)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// A shipped example planned: its reference table loaded, its export planned.
fn example(tenant: &str, table: &str, file: &str) -> Workdir {
    let w = Workdir::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &w.path().join("rules"),
    );
    let refs = w.fixture(&format!("{tenant}/{table}.csv"));
    w.fixture(&format!("{tenant}/{file}"));
    let refs = refs.file_name().unwrap().to_str().unwrap().to_string();
    w.ok(&["--tenant", tenant, "ref", "load", table, &refs]);
    w.ok(&["--tenant", tenant, "plan", file, "-q"]);
    w
}

#[test]
fn the_shipped_examples_reports_match_their_golden_files() {
    for (tenant, table, file) in [
        ("acme-hr", "location", "employees.csv"),
        ("contoso-entra", "location", "users.csv"),
    ] {
        let w = example(tenant, table, file);
        let md = report(
            &w,
            "report.md",
            &["--tenant", tenant, "latest", "--format", "md"],
        );
        golden(&format!("{tenant}.md"), &timeless(&md));
        let html = report(&w, "report.html", &["--tenant", tenant, "latest"]);
        golden(&format!("{tenant}.html.txt"), &timeless(&html_text(&html)));
    }
}

#[test]
fn the_page_is_self_contained_and_holds_every_section() {
    let w = example("acme-hr", "location", "employees.csv");
    let html = report(&w, "report.html", &["--tenant", "acme-hr", "1"]);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">"#
    ));
    for absent in [
        "<script", "<link", "<img", "@import", "url(", "http://", "https://",
    ] {
        let found = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!found.contains(absent), "the page holds `{absent}`");
    }
    for section in [
        r#"<section id="summary">"#,
        r#"<section id="changes">"#,
        r#"<section id="rejected">"#,
        r#"<section id="vendor">"#,
        r#"<section id="sign-off">"#,
        "<svg class=\"chart\"",
        "@media print",
        "break-before: page",
    ] {
        assert!(html.contains(section), "no `{section}`");
    }
    let text = html_text(&html);
    for line in [
        "Tenant: acme-hr",
        "| employees.csv | 31 | 4e8e4e500329c2f265f469d072e5bccd",
        "| 24 | 0 | 0 | 0 | 7 | 2",
        "Users to create: 24",
        "7 row(s) were rejected",
        "| Script | 3",
        "| E10013 | employees.csv:14 | location | Lookup | `CC-1080` is not in reference table `location` (column `cost_center`)",
        "| Approved by (customer) |",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
}

#[test]
fn input_values_are_shown_as_text_never_as_markup() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,first_name,last_name,active\n\
         u1,<script>alert(1)</script>,<img src=x onerror=alert(2)>,yes\n\
         u2,a|b,\"two\nlines\",perhaps\n\
         u3,<!--roster:rows:create-->,x,yes\n",
    );
    w.ok(&["plan", "in.csv", "-q"]);
    let html = report(&w, "r.html", &["latest"]);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    // Nor can a value pass for the place where the changes' rows go.
    assert!(html.contains("&lt;!--roster:rows:create--&gt;"), "{html}");
    let md = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(
        md.contains("| first_name | &lt;!--roster:rows:create--&gt; |"),
        "{md}"
    );
    assert_eq!(md.matches("| u1 | in.csv:2 |").count(), 1, "{md}");
    assert!(
        md.contains("| first_name | &lt;script&gt;alert(1)&lt;/script&gt; |"),
        "{md}"
    );
    assert!(md.contains("| u2 | in.csv:3 | active |"), "{md}");
    let created = md.lines().filter(|l| l.contains("a\\|b")).count();
    assert_eq!(created, 0, "u2 is rejected, not created:\n{md}");
    let rejected = md
        .lines()
        .find(|l| l.starts_with("| u2 |"))
        .expect("u2's problem");
    assert_eq!(
        rejected.matches(" | ").count(),
        4,
        "one row of five cells: {rejected}"
    );
}

#[test]
fn a_plan_with_no_changes_says_so() {
    let w = Workdir::new();
    w.write("in.csv", "external_id,email\nu1,a@x.example\n");
    w.ok(&["plan", "in.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "in.csv", "-q"]);
    let md = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(
        md.contains("The plan changes no user: loading it does nothing."),
        "{md}"
    );
    assert!(md.contains("| unchanged | 1 |"), "{md}");
    assert!(md.contains("No row was rejected."), "{md}");
    assert!(
        md.contains("| Status | not applied yet; the state is as when the plan was made |"),
        "{md}"
    );
    let html = html_text(&report(&w, "r.html", &["latest"]));
    assert!(html.contains("The plan changes no user"), "{html}");
}

#[test]
fn a_plan_of_only_rejected_rows_lists_them_with_counts_per_rule() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,active,email\nu1,perhaps,a@x.example\nu2,maybe,b@x.example\n,yes,c@x.example\nu1,yes,d@x.example\n",
    );
    w.ok(&["plan", "in.csv", "-q"]);
    let md = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(md.contains("| create | 0 |"), "{md}");
    assert!(md.contains("4 row(s) were rejected"), "{md}");
    let rules: Vec<&str> = md
        .lines()
        .skip_while(|l| *l != "| Rule | Problems |")
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        rules,
        ["| Type | 2 |", "| Duplicate | 1 |", "| Required | 1 |"],
        "{md}"
    );
    assert!(
        md.contains("| u1 | in.csv:5 | external_id | Duplicate |"),
        "{md}"
    );
    assert!(
        md.contains("`roster report 1 --out r.md --format md --rejects rejects.csv`"),
        "{md}"
    );
}

#[test]
fn a_sync_plan_the_guard_refused_is_reported_as_such_once_allowed() {
    let w = Workdir::new();
    let all: String = (0..100).map(|i| format!("u{i}\n")).collect();
    w.write("all.csv", format!("external_id\n{all}"));
    w.ok(&["plan", "all.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    let kept: String = (0..70).map(|i| format!("u{i}\n")).collect();
    w.write("kept.csv", format!("external_id\n{kept}"));
    let refused = w.fails(&["plan", "kept.csv", "--sync"]);
    assert!(refused.contains("plan refused"), "{refused}");
    // Nothing stored: the report of `latest` is still the first plan's.
    assert!(report(&w, "r.md", &["latest", "--format", "md"]).contains("| Plan | 1 (plan) |"));
    w.ok(&[
        "plan",
        "kept.csv",
        "--sync",
        "--max-delete-percent",
        "30",
        "-q",
    ]);
    let md = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(
        md.contains("with `--sync`: users absent from the input are deleted"),
        "{md}"
    );
    assert!(
        md.contains("Deletes 30 of the tenant's 100 users (30.0%); roster refuses a plan that deletes more than 20%."),
        "{md}"
    );
    assert!(
        md.contains("> **This plan deletes 30.0% of the tenant's users, more than the 20% the mass-delete guard allows: roster refused it, and it was made only because the threshold was raised to 30% (--max-delete-percent)."),
        "{md}"
    );
    assert!(md.contains("### Users to delete: 30"), "{md}");
    assert!(md.contains("| u70 | not in the input (--sync) |"), "{md}");
    let html = html_text(&report(&w, "r.html", &["latest"]));
    assert!(html.contains("roster refused it"), "{html}");
}

#[test]
fn a_small_delete_is_shown_against_the_threshold_without_alarm() {
    let w = Workdir::new();
    let all: String = (0..100).map(|i| format!("u{i}\n")).collect();
    w.write("all.csv", format!("external_id\n{all}"));
    w.ok(&["plan", "all.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    let kept: String = (0..99).map(|i| format!("u{i}\n")).collect();
    w.write("kept.csv", format!("external_id\n{kept}"));
    w.ok(&["plan", "kept.csv", "--sync", "-q"]);
    let md = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(
        md.contains("Deletes 1 of the tenant's 100 users (1.0%)"),
        "{md}"
    );
    assert!(!md.contains("roster refused it"), "{md}");
}

#[test]
fn an_applied_plan_says_by_which_apply() {
    let w = Workdir::new();
    w.write(
        "in.csv",
        "external_id,location,teams,roles\nu1,Oslo,North;South,tech\nu2,Oslo,,\n",
    );
    w.ok(&["plan", "in.csv", "-q"]);
    w.ok(&["apply", "1"]);
    let md = timeless(&report(&w, "r.md", &["1", "--format", "md"]));
    assert!(
        md.contains("| Status | applied to the state by apply 1 at <time> |"),
        "{md}"
    );
    assert!(md.contains("| Oslo | 2 | 0 | 0 | 2 |"), "{md}");
    assert!(md.contains("| North | 1 | 0 | 0 | 1 |"), "{md}");
    assert!(md.contains("| South | 1 | 0 | 0 | 1 |"), "{md}");
    assert!(md.contains("| (none) | 1 | 0 | 0 | 1 |"), "{md}");
    assert!(md.contains("| tech | 1 | 0 | 0 | 1 |"), "{md}");
    // A later change of the state makes an unapplied plan stale.
    w.write("next.csv", "external_id,location\nu1,Bergen\n");
    w.ok(&["plan", "next.csv", "-q"]);
    w.write("other.csv", "external_id\nu3\n");
    w.ok(&["plan", "other.csv", "-q"]);
    w.ok(&["apply", "3"]);
    let md = report(&w, "r.md", &["2", "--format", "md"]);
    assert!(
        md.contains("the state has changed since the plan was made"),
        "{md}"
    );
    assert!(
        md.contains("| u1 | next.csv:2 | location | Oslo | Bergen |"),
        "{md}"
    );
}

#[test]
fn after_results_the_report_shows_what_the_vendor_accepted_and_rejected() {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.fixture("vendor/delta.csv");
    w.ok(&["plan", "base.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "delta.csv", "-q"]);
    w.ok(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    let before = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(
        before.contains("No vendor answer is recorded for this plan yet"),
        "{before}"
    );
    w.write(
        "out/servicepower-0001.response.json",
        r#"{"code": 400, "detail": {"message": "Email is already used by another user",
            "params": {"value": "grace@acme.example"}, "dataPath": "Users[1].Email"}}"#,
    );
    w.ok(&[
        "results",
        "latest",
        "--vendor",
        "servicepower",
        "out/servicepower-0001.response.json",
    ]);
    let md = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(md.contains("### servicepower"), "{md}");
    assert!(md.contains("| 0 | 0 | 1 | 2 |"), "{md}");
    assert!(
        md.contains("| T3 | delta.csv:3 | rejected | servicepower-0001.json | Users\\[1\\].Email | Email is already used by another user ("),
        "{md}"
    );
    let html = html_text(&report(&w, "r.html", &["latest"]));
    assert!(html.contains("| T3 | delta.csv:3 | rejected |"), "{html}");
}

#[test]
fn passwords_never_appear_in_a_report() {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.fixture("vendor/delta.csv");
    w.ok(&["plan", "base.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "delta.csv", "-q"]);
    w.ok(&["apply", "latest"]);
    for format in ["md", "html"] {
        let text = report(&w, "r", &["latest", "--format", format]);
        for secret in ["S3cret", "$sha256$"] {
            assert!(!text.contains(secret), "{format}: {secret}");
        }
        assert!(text.contains("(sensitive)"), "{format}");
    }
}

#[test]
fn a_big_plan_shows_the_first_changes_and_says_how_to_get_all() {
    let w = Workdir::new();
    let rows: String = (0..7).map(|i| format!("u{i}\n")).collect();
    w.write("in.csv", format!("external_id\n{rows}"));
    w.ok(&["--db", "work.db", "plan", "in.csv", "-q"]);
    let md = report(
        &w,
        "r.md",
        &[
            "--db", "work.db", "latest", "--format", "md", "--limit", "3",
        ],
    );
    assert!(md.contains("### Users to create: 7"), "{md}");
    assert!(md.contains("| u2 | in.csv:4 |"), "{md}");
    assert!(!md.contains("| u3 |"), "{md}");
    // The hint is a command to paste (it carries the options given, such as `--db`).
    let hint = md
        .lines()
        .find(|l| l.starts_with("The first 3 of 7 are shown; `roster "))
        .unwrap_or_else(|| panic!("no hint in {md}"));
    assert!(
        hint.ends_with(
            " report 1 --out r-all.md --format md --limit 0` writes a report with all of them."
        ),
        "{hint}"
    );
    let all = report(
        &w,
        "r-all.md",
        &["--db", "work.db", "1", "--format", "md", "--limit", "0"],
    );
    assert!(all.contains("| u6 | in.csv:8 |"), "{all}");
    assert!(!all.contains("are shown"), "{all}");
}

#[test]
fn a_report_that_cannot_be_made_is_one_clear_error_and_leaves_nothing() {
    let w = Workdir::new();
    let error = w.fails(&["report", "latest", "--out", "r.html"]);
    assert!(
        error.contains("there is no workspace `roster.db`"),
        "{error}"
    );
    assert!(!w.db().exists(), "a report creates no workspace");
    w.write("in.csv", "external_id\nu1\n");
    w.ok(&["plan", "in.csv", "-q"]);
    let error = w.fails(&["report", "7", "--out", "r.html"]);
    assert!(
        error.contains("there is no plan 7 for tenant `default`"),
        "{error}"
    );
    let error = w.fails(&["report", "1", "--out", "missing/r.html"]);
    assert!(
        error.starts_with(
            "error: cannot write `missing/r.html`: its folder does not exist; create the folder"
        ),
        "{error}"
    );
    let error = w.fails(&[
        "report",
        "1",
        "--out",
        "r.html",
        "--rejects",
        "missing/x.csv",
    ]);
    assert!(
        error.starts_with("error: cannot write `missing/x.csv`"),
        "{error}"
    );
    assert!(
        !w.path().join("r.html").exists(),
        "no report without its rejects file"
    );
    let left: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_plan_from_before_reports_says_the_guard_was_not_recorded() {
    let w = Workdir::new();
    w.write("in.csv", "external_id\nu1\n");
    w.ok(&["plan", "in.csv", "-q"]);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    conn.execute_batch(
        "ALTER TABLE users DROP COLUMN field_places;
         ALTER TABLE plan_changes DROP COLUMN after_field_places;
         ALTER TABLE plans DROP COLUMN puts_digest;
         DROP TABLE rejected_rows;
         DROP TABLE push_batches; DROP TABLE pushes; DROP TABLE rolled_back;
         ALTER TABLE applies DROP COLUMN via;
         DROP TABLE plan_rejects; ALTER TABLE plans DROP COLUMN guard; PRAGMA user_version = 4;",
    )
    .unwrap();
    drop(conn);
    let md = report(&w, "r.md", &["latest", "--format", "md"]);
    assert!(
        md.contains("The guard's figures were not recorded with this plan; it deletes 0 user(s)."),
        "{md}"
    );
}
