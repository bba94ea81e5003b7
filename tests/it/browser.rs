//! The report in a real browser: headless Chromium renders the page offline. The counts and
//! rejected rows are in what it renders, no request leaves the machine (Chromium's own network
//! log), and cells crafted with script and event-handler payloads add no element and run
//! nothing.
//!
//! Chromium must be installed (Debian: `apt-get install chromium`; `.ci/run` installs it);
//! `ROSTER_CHROMIUM` names another binary. Without it this test fails, saying so: the
//! report's safety is not something to skip quietly.
//!
//! `ROSTER_BLESS=1 cargo test --test browser` also writes the README's screenshot,
//! `docs/report.png`, from the acme-hr example's report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{copy_dir, Workdir};

/// Longer than Chromium takes to render a page, even on a loaded machine.
const BROWSER_TIME_LIMIT: Duration = Duration::from_secs(120);

/// The Chromium binary: `ROSTER_CHROMIUM`, else `chromium` or `chromium-browser` on the path.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("ROSTER_CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "headless Chromium is needed to test the report in a browser, and none was found \
                 (looked for `chromium` and `chromium-browser` on PATH, and ROSTER_CHROMIUM): \
                 install it with `apt-get install chromium` (Debian/Ubuntu), as `.ci/run` does, \
                 or set ROSTER_CHROMIUM to its path"
            )
        })
}

/// What one Chromium run left: the DOM it dumped, its network log, and the screenshot.
struct Rendered {
    dom: String,
    netlog: String,
    screenshot: Vec<u8>,
}

/// Renders `page` (a file in `w`) offline, with a fresh profile, bounded in time.
fn render(w: &Workdir, page: &str) -> Rendered {
    let dir = w.path().join(format!("chromium-{page}"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("file://{}", w.path().join(page).display());
    let common = |extra: &[String]| {
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            // Chromium's own services (network time, sign-in) ask for hosts as it starts:
            // no name resolves, so not even a DNS query leaves the machine.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ]
        .map(str::to_string)
        .to_vec();
        args.push(format!("--user-data-dir={}", dir.join("profile").display()));
        args.extend_from_slice(extra);
        args.push(url.clone());
        args
    };
    let netlog = dir.join("netlog.json");
    let dom = run_bounded(
        &common(&[
            format!("--log-net-log={}", netlog.display()),
            "--dump-dom".to_string(),
        ]),
        &dir.join("dom.html"),
    );
    let screenshot = dir.join("page.png");
    run_bounded(
        &common(&[
            "--window-size=1200,1700".to_string(),
            format!("--screenshot={}", screenshot.display()),
        ]),
        &dir.join("screenshot.out"),
    );
    Rendered {
        dom,
        netlog: std::fs::read_to_string(&netlog).unwrap_or_else(|e| {
            panic!("Chromium wrote no network log at {}: {e}", netlog.display())
        }),
        screenshot: std::fs::read(&screenshot).unwrap_or_else(|e| {
            panic!(
                "Chromium wrote no screenshot at {}: {e}",
                screenshot.display()
            )
        }),
    }
}

/// Runs Chromium with `args`, its stdout into `out`; returns that output. Fails the test
/// when Chromium fails or outlives [`BROWSER_TIME_LIMIT`].
fn run_bounded(args: &[String], out: &Path) -> String {
    let stdout = std::fs::File::create(out).unwrap();
    let stderr = std::fs::File::create(out.with_extension("err")).unwrap();
    let mut child = Command::new(chromium())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Chromium ({}): {e}", chromium().display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium did not finish within {BROWSER_TIME_LIMIT:?}: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let errors = std::fs::read_to_string(out.with_extension("err")).unwrap_or_default();
    assert!(status.success(), "Chromium failed ({status}): {errors}");
    std::fs::read_to_string(out).unwrap()
}

/// The URLs the page asked for, from Chromium's network log: requests whose initiator is an
/// origin (a `file://` page's is `null`). Chromium's own requests have none ("not an origin").
fn page_requests(netlog: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(netlog).expect("the network log is JSON");
    let start = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    assert!(
        start.is_number(),
        "the network log names no URL_REQUEST_START_JOB event type"
    );
    log["events"]
        .as_array()
        .expect("network log events")
        .iter()
        .filter(|event| &event["type"] == start)
        .filter(|event| event["params"]["initiator"] != "not an origin")
        .filter_map(|event| event["params"]["url"].as_str())
        .map(str::to_string)
        .collect()
}

/// The page's text as rendered: the DOM's tags dropped, whitespace folded.
fn text_of(dom: &str) -> String {
    let without_style = regex::Regex::new(r"(?s)<style.*?</style>")
        .unwrap()
        .replace_all(dom, "");
    let text = regex::Regex::new(r"<[^>]*>")
        .unwrap()
        .replace_all(&without_style, " ");
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_stays_on_the_machine(rendered: &Rendered) {
    let asked = page_requests(&rendered.netlog);
    assert!(asked.is_empty(), "the page asked the network for {asked:?}");
}

fn assert_is_png(screenshot: &[u8]) {
    assert!(screenshot.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        screenshot.len() > 20_000,
        "a blank screenshot ({} bytes)",
        screenshot.len()
    );
}

#[test]
fn the_report_renders_offline_with_its_counts_and_rejected_rows() {
    let w = Workdir::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &w.path().join("rules"),
    );
    w.fixture("acme-hr/location.csv");
    w.fixture("acme-hr/employees.csv");
    w.ok(&[
        "--tenant",
        "acme-hr",
        "ref",
        "load",
        "location",
        "location.csv",
    ]);
    w.ok(&["--tenant", "acme-hr", "plan", "employees.csv", "-q"]);
    w.ok(&[
        "--tenant",
        "acme-hr",
        "report",
        "latest",
        "--out",
        "report.html",
    ]);
    let rendered = render(&w, "report.html");
    let text = text_of(&rendered.dom);
    for shown in [
        "Sign-off report: plan 1",
        "To create To update To delete Unchanged Rows rejected Warnings 24 0 0 0 7 2",
        "Users to create: 24",
        "7 row(s) were rejected",
        "Script 3 Pattern 2 Duplicate 1 Lookup 1 Required 1 Unique 1",
        "E10013 employees.csv:14 location Lookup `CC-1080` is not in reference table `location`",
        "1024 employees.csv:25 external_id Pattern",
        "Approved by (customer)",
    ] {
        assert!(
            text.contains(shown),
            "the rendered page lacks `{shown}`:\n{text}"
        );
    }
    assert_stays_on_the_machine(&rendered);
    assert_is_png(&rendered.screenshot);
    if std::env::var_os("ROSTER_BLESS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.png");
        std::fs::write(docs, &rendered.screenshot).unwrap();
    }
}

#[test]
fn crafted_cells_add_no_element_and_run_nothing() {
    let w = Workdir::new();
    let payloads = [
        "<script>document.title='pwned'</script>",
        "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
        "\"><svg onload=\"document.title='pwned'\">",
        "<a href=\"http://evil.example/\">click</a>",
    ];
    let cell = |p: &str| format!("\"{}\"", p.replace('"', "\"\""));
    let mut csv = String::from("external_id,first_name,last_name,active\n");
    csv.push_str(&format!(
        "u1,{},{},yes\n",
        cell(payloads[0]),
        cell(payloads[1])
    ));
    csv.push_str(&format!("u2,{},x,yes\n", cell(payloads[2])));
    // Rejected: the bad boolean is quoted back in the problem's message.
    csv.push_str(&format!("u3,x,x,{}\n", cell(payloads[1])));
    csv.push_str(&format!("{},x,x,yes\n", cell(payloads[3])));
    w.write("in.csv", csv);
    w.ok(&["plan", "in.csv", "-q"]);
    w.ok(&["report", "latest", "--out", "report.html"]);
    let page = std::fs::read_to_string(w.path().join("report.html")).unwrap();
    let rendered = render(&w, "report.html");
    let dom = &rendered.dom;
    // The DOM Chromium built holds exactly the page's elements: none came from a cell.
    let tags = |html: &str, tag: &str| html.matches(&format!("<{tag}")).count();
    for tag in ["script", "img", "a ", "iframe", "object"] {
        assert_eq!(tags(dom, tag), 0, "a `<{tag}` element in:\n{dom}");
    }
    assert_eq!(tags(dom, "svg"), tags(&page, "svg"), "only the chart's svg");
    assert_eq!(tags(dom, "tr"), tags(&page, "tr"), "rows as written");
    // In the serialised DOM a text `<` is `&lt;`: every `<` starts a real element.
    let elements: Vec<&str> = regex::Regex::new(r"<[a-zA-Z][^>]*>")
        .unwrap()
        .find_iter(dom)
        .map(|m| m.as_str())
        .collect();
    for attribute in ["onerror", "onload", "data-pwned", "href"] {
        let carrying: Vec<&&str> = elements.iter().filter(|e| e.contains(attribute)).collect();
        assert!(
            carrying.is_empty(),
            "elements with `{attribute}`: {carrying:?}"
        );
    }
    assert!(
        dom.contains("<title>Sign-off report: plan 1 of tenant default</title>"),
        "{dom}"
    );
    let text = text_of(dom);
    for payload in payloads {
        assert!(
            text.contains(payload),
            "`{payload}` is not shown as text:\n{text}"
        );
    }
    assert!(text.contains("1 row(s) were rejected"), "{text}");
    assert_stays_on_the_machine(&rendered);
}

#[test]
fn the_network_check_sees_a_page_that_asks_for_something() {
    let w = Workdir::new();
    w.write(
        "asks.html",
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title></head><body>\
         <p>x</p><img src=\"http://roster-test.invalid/x.png\"></body></html>",
    );
    let rendered = render(&w, "asks.html");
    assert_eq!(
        page_requests(&rendered.netlog),
        ["http://roster-test.invalid/x.png"]
    );
}
