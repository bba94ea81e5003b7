//! `roster push` against `roster-emulator` on 127.0.0.1: faults survived per vendor, exactly
//! once, resumes after kills, credentials, HTTPS with a private CA, a proxy, and the state
//! following the vendor. Every wait is bounded: the emulator and each command have time
//! limits, and each loop a fixed count.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::emulator::{self, Emulator};
use crate::common::{Outcome, Workdir};
use serde_json::Value;

/// The keys `T0001`… of `count` users, the rejected ones (at a refused e-mail domain) too.
fn keys(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("T{i:04}")).collect()
}

/// A CSV of `count` users in two locations; those at `blocked` (1-based) have an e-mail at
/// `blocked.example`.
fn users_csv(count: usize, blocked: &[usize]) -> String {
    let mut csv = String::from("external_id,first_name,last_name,email,location\n");
    for (i, key) in keys(count).iter().enumerate() {
        let domain = if blocked.contains(&(i + 1)) {
            "blocked.example"
        } else {
            "ok.example"
        };
        let location = if i % 2 == 0 { "Oslo" } else { "Bergen Sentrum" };
        csv.push_str(&format!(
            "{key},First{i},Last{i},user{i}@{domain},{location}\n"
        ));
    }
    csv
}

/// A workspace with the users planned (not applied).
fn planned(count: usize, blocked: &[usize]) -> Workdir {
    let w = Workdir::new();
    w.write("users.csv", users_csv(count, blocked));
    w.ok(&["plan", "users.csv"]);
    w
}

/// `roster push latest --vendor V --endpoint URL ARGS` with the test credentials.
fn push(w: &Workdir, emulator: &Emulator, vendor: &str, args: &[&str]) -> Outcome {
    let mut all = vec![
        "push",
        "latest",
        "--vendor",
        vendor,
        "--endpoint",
        &emulator.url,
    ];
    all.extend_from_slice(args);
    w.run_env(&all, &emulator::credentials())
}

/// The arguments a vendor needs besides the endpoint.
fn vendor_args(vendor: &str) -> Vec<&'static str> {
    match vendor {
        "fieldsquared" => vec!["--workspace", "acme"],
        _ => Vec::new(),
    }
}

/// The property each vendor keys users by.
fn key_field(vendor: &str) -> &'static str {
    match vendor {
        "servicepower" => "UserID",
        "esystems" => "External_Id",
        _ => "ExternalId",
    }
}

/// Throttling, 5xx, dropped answers after storing, and named rejections: every accepted
/// user ends at the vendor exactly once, the rejected ones are recorded and not claimed by
/// the state, and a second push sends nothing.
fn survives_faults(vendor: &str) {
    let blocked = [5, 17, 40];
    let w = planned(48, &blocked);
    let emulator = Emulator::start(&[
        "--throttle-every",
        "5",
        "--fail-every",
        "7",
        "--drop-every",
        "4",
        "--retry-after",
        "1",
        "--reject-email-domain",
        "blocked.example",
    ]);
    let mut args = vendor_args(vendor);
    args.extend([
        "--batch-size",
        "8",
        "--concurrency",
        "3",
        "--max-retries",
        "12",
        "--output",
        "json",
    ]);
    let pushed = push(&w, &emulator, vendor, &args);
    assert_eq!(
        pushed.status, 4,
        "some users rejected:\n{}\n{}",
        pushed.stdout, pushed.stderr
    );
    let report = pushed.json();
    assert_eq!(report["plan_id"], 1);
    assert_eq!(report["vendor"], vendor);
    assert_eq!(
        report["users"],
        serde_json::json!({"accepted": 45, "warning": 0, "rejected": 3, "failed": 0})
    );
    assert_eq!(report["batches"]["failed"], 0, "{report}");
    assert_eq!(
        report["batches"]["acknowledged"],
        report["batches"]["total"]
    );
    let requests = report["requests"].as_u64().unwrap();
    assert!(report["retries"].as_u64().unwrap() > 0, "{report}");

    let accepted: Vec<String> = keys(48)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !blocked.contains(&(i + 1)))
        .map(|(_, k)| k)
        .collect();
    emulator.holds_exactly_once(vendor, key_field(vendor), &accepted);
    let stats = emulator.stats();
    assert_eq!(stats["requests"].as_u64(), Some(requests), "{stats}");
    eprintln!(
        "{vendor}: {} batches, {requests} requests ({} retries); the emulator answered {} and dropped {}",
        report["batches"]["total"], report["retries"], stats["statuses"], stats["dropped"]
    );
    for status in ["429", "503"] {
        assert!(
            stats["statuses"][status].as_u64() > Some(0),
            "{status} injected: {stats}"
        );
    }
    assert!(stats["dropped"].as_u64() > Some(0), "{stats}");

    // The state holds what the vendor holds, each record with its field places (what the
    // next plan reads its `Unique` values by); the rejected users are planned again.
    assert_eq!(w.state().as_array().unwrap().len(), 45);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let unplaced: i64 = conn
        .query_row(
            "SELECT count(*) FROM users WHERE field_places IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unplaced, 0);
    let history = w.ok(&["history", "--output", "json"]).json();
    assert_eq!(history["applies"][0]["via"], "push", "{history}");
    assert_eq!(history["applies"][0]["created"], 45, "{history}");
    let recorded = w
        .ok(&["results", "1", "--vendor", vendor, "--output", "json"])
        .json();
    let mut rejected: Vec<&str> = recorded
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "rejected")
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    rejected.sort();
    assert_eq!(rejected, ["T0005", "T0017", "T0040"]);

    // Finished: a push again sends nothing and says so.
    let again = push(&w, &emulator, vendor, &vendor_args(vendor));
    assert_eq!(again.status, 4, "{}", again.stderr);
    assert!(
        again.stdout.contains("was already pushed"),
        "{}",
        again.stdout
    );
    assert_eq!(emulator.requests(), requests, "no request sent");

    let next = w.plan_json(&["users.csv"]);
    assert_eq!(common::counts(&next)[..4], [3, 0, 0, 45], "{next}");
}

#[test]
fn servicepower_survives_faults_exactly_once() {
    survives_faults("servicepower");
}

#[test]
fn esystems_survives_faults_exactly_once() {
    survives_faults("esystems");
}

#[test]
fn fieldsquared_survives_faults_exactly_once() {
    survives_faults("fieldsquared");
}

/// A 429 is waited out as asked, whether `Retry-After` gives seconds or an HTTP date, or
/// `X-Rate-Limit-Reset` gives seconds.
#[test]
fn the_wait_a_throttled_answer_asks_for_is_kept() {
    for format in ["seconds", "date", "reset"] {
        let w = planned(4, &[]);
        let emulator = Emulator::start(&[
            "--throttle-every",
            "2",
            "--retry-after",
            "1",
            "--retry-after-format",
            format,
        ]);
        let started = Instant::now();
        let pushed = push(
            &w,
            &emulator,
            "servicepower",
            &[
                "--batch-size",
                "2",
                "--concurrency",
                "1",
                "--output",
                "json",
            ],
        );
        let took = started.elapsed();
        assert_eq!(pushed.status, 0, "{format}: {}", pushed.stderr);
        assert_eq!(pushed.json()["retries"], 1, "{format}");
        assert!(
            took >= Duration::from_secs(1),
            "{format}: waited only {took:?}"
        );
        emulator.holds_exactly_once("servicepower", "UserID", &keys(4));
    }
}

/// SIGKILL at moments spread over a 20,000-user push, then push again each time: in the
/// end every user is at the vendor exactly once, and the state holds what the vendor holds.
#[cfg(unix)]
#[test]
fn a_killed_push_resumes_exactly_once() {
    use std::process::Command;
    let w = Workdir::new();
    w.ok(&[
        "generate", "--users", "20000", "--base", "base.csv", "--clean",
    ]);
    w.ok(&["plan", "base.csv", "--limit", "1"]);
    let emulator = Emulator::start(&["--latency", "15"]);
    let roster = assert_cmd::cargo::cargo_bin("roster");
    let args = [
        "push",
        "latest",
        "--vendor",
        "servicepower",
        "--endpoint",
        &emulator.url,
        "--batch-size",
        "100",
        "--concurrency",
        "4",
        "-q",
    ];
    // The moments are spread over the push's progress: each push is killed once the
    // emulator has seen 25 more requests, one before the first batch is answered too.
    let mut kills = 0;
    for moment in 0..8u64 {
        let mut child = Command::new(&roster)
            .current_dir(w.path())
            .env_remove("ROSTER_DB")
            .envs(emulator::credentials())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let threshold = 1 + 25 * moment;
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none()
            && emulator.requests() < threshold
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    eprintln!("the push was killed {kills} times");
    assert!(
        kills >= 6,
        "only {kills} pushes were still running when killed"
    );
    let done = w.run_env(&args, &emulator::credentials());
    assert_eq!(done.status, 0, "{}", done.stderr);
    let held = emulator.holds_exactly_once("servicepower", "UserID", &generated_keys(20000));
    let state = w.ok(&["state", "show", "--output", "json"]).json();
    let state = state.as_array().unwrap();
    assert_eq!(
        state.len(),
        held.len(),
        "the state holds what the vendor holds"
    );
    let history = w.ok(&["history", "--output", "json"]).json();
    assert_eq!(history["applies"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["applies"][0]["created"], 20000);
    let next = w.plan_json(&["base.csv", "--limit", "1"]);
    assert_eq!(common::counts(&next)[..3], [0, 0, 0]);
}

fn generated_keys(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("U{i:07}")).collect()
}

#[test]
fn missing_and_wrong_credentials_fail_cleanly_and_no_secret_is_shown_or_kept() {
    let w = Workdir::new();
    w.fixture("vendor/base.csv");
    w.fixture("vendor/delta.csv");
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    w.ok(&["plan", "delta.csv"]);
    let emulator = Emulator::start(&[]);
    let before = w.db_bytes();
    let endpoint = emulator.url.as_str();
    let base = [
        "push",
        "2",
        "--vendor",
        "servicepower",
        "--endpoint",
        endpoint,
    ];

    let missing = w.run_env(&base, &[]);
    assert_eq!(missing.status, 1);
    assert!(
        missing
            .stderr
            .contains("`ROSTER_SERVICEPOWER_TOKEN` is not set"),
        "{}",
        missing.stderr
    );
    assert_eq!(w.db_bytes(), before, "nothing written");
    let wrong_secret = w.run_env(
        &["push", "2", "--vendor", "esystems", "--endpoint", endpoint],
        &[
            ("ROSTER_ESYSTEMS_CLIENT_ID", emulator::ESYSTEMS_CLIENT_ID),
            ("ROSTER_ESYSTEMS_CLIENT_SECRET", "not-it"),
        ],
    );
    assert_eq!(wrong_secret.status, 1);
    assert!(
        wrong_secret
            .stderr
            .contains("refused the client credentials (401 invalid_client)"),
        "{}",
        wrong_secret.stderr
    );
    assert!(
        wrong_secret
            .stderr
            .contains("`ROSTER_ESYSTEMS_CLIENT_SECRET`"),
        "{}",
        wrong_secret.stderr
    );
    assert_eq!(w.db_bytes(), before, "nothing written");
    assert_eq!(emulator.requests(), 0);

    let wrong = w.run_env(&base, &[("ROSTER_SERVICEPOWER_TOKEN", "not-the-token")]);
    assert_eq!(wrong.status, 1, "{}", wrong.stdout);
    assert!(
        wrong.stderr.contains(
            "refused the credentials in `ROSTER_SERVICEPOWER_TOKEN` (the vendor answered 401)"
        ),
        "{}",
        wrong.stderr
    );
    assert!(wrong.stderr.contains("to resume"), "{}", wrong.stderr);
    assert_eq!(
        emulator.dump("servicepower")["users"],
        serde_json::json!([])
    );

    let right = w.run_env(&base, &emulator::credentials());
    assert_eq!(right.status, 0, "{}", right.stderr);
    // Plan 2 updates T1 and T3 and creates T5.
    assert_eq!(
        emulator.dump("servicepower")["users"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let shown = [&missing, &wrong_secret, &wrong, &right]
        .iter()
        .map(|o| format!("{}{}", o.stdout, o.stderr))
        .collect::<String>();
    let kept = String::from_utf8_lossy(&w.db_bytes()).into_owned();
    for secret in [
        emulator::SERVICEPOWER_TOKEN,
        emulator::ESYSTEMS_CLIENT_SECRET,
        "not-the-token",
        "not-it",
    ] {
        assert!(!shown.contains(secret), "{secret} shown");
        assert!(!kept.contains(secret), "{secret} kept");
    }
    // The plan's passwords went to the vendor and left the workspace.
    for password in ["S3cret-ada!", "S3cret-kari!", "S3cret-grace!"] {
        assert!(!kept.contains(password), "{password} kept after the push");
    }
    let sent = emulator.dump("servicepower").to_string();
    assert!(!sent.contains("S3cret"), "the emulator keeps no password");
}

/// A plan applied with `apply` first (the export-after-apply flow) stays applied when pushed:
/// the users the vendor rejects are rolled back, so the next plan shows them again.
#[test]
fn pushing_an_applied_plan_rolls_back_the_rejected_users() {
    let w = planned(6, &[2]);
    w.ok(&["apply", "1"]);
    let emulator = Emulator::start(&["--reject-email-domain", "blocked.example"]);
    let pushed = push(&w, &emulator, "servicepower", &["--output", "json"]);
    assert_eq!(pushed.status, 4, "{}", pushed.stderr);
    assert_eq!(pushed.json()["users"]["rejected"], 1);
    let history = w.ok(&["history", "--output", "json"]).json();
    let apply = &history["applies"][0];
    assert_eq!(
        (
            apply["via"].as_str(),
            apply["created"].as_u64(),
            apply["rolled_back"].as_u64()
        ),
        (Some("apply"), Some(5), Some(1))
    );
    let next = w.plan_json(&["users.csv"]);
    assert_eq!(common::counts(&next)[..4], [1, 0, 0, 5], "{next}");
    // The table lists the rejected user with its source row; a push the vendor takes whole
    // lists none.
    let shown = push(&w, &emulator, "servicepower", &[]);
    assert!(
        shown.stdout.contains("rejected") && shown.stdout.contains("users.csv:3"),
        "{}",
        shown.stdout
    );
    let whole = planned(2, &[]);
    let pushed = push(&whole, &Emulator::start(&[]), "servicepower", &[]);
    assert_eq!(pushed.status, 0, "{}", pushed.stderr);
    assert!(!pushed.stdout.contains("message"), "{}", pushed.stdout);
    // A plan being pushed is the push's to apply.
    let w2 = planned(2, &[]);
    let pushed = push(&w2, &emulator, "fieldsquared", &["--workspace", "w2"]);
    assert_eq!(pushed.status, 0, "{}", pushed.stderr);
    assert!(w2
        .fails(&["apply", "1"])
        .contains("already applied (apply 1)"));
}

/// HTTPS with a certificate only a private CA vouches for: reached with `--ca-cert`,
/// refused without.
#[test]
fn a_self_signed_https_emulator_is_reached_with_ca_cert() {
    let w = planned(3, &[]);
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    w.write("cert.pem", certified.cert.pem());
    w.write("key.pem", certified.key_pair.serialize_pem());
    let cert = w.path().join("cert.pem");
    let key = w.path().join("key.pem");
    let emulator = Emulator::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        emulator.url.starts_with("https://127.0.0.1:"),
        "{}",
        emulator.url
    );
    let untrusted = push(&w, &emulator, "servicepower", &["--max-retries", "0"]);
    assert_eq!(untrusted.status, 1, "{}", untrusted.stdout);
    assert!(
        untrusted.stderr.contains("could not finish"),
        "{}",
        untrusted.stderr
    );
    let trusted = push(&w, &emulator, "servicepower", &["--ca-cert", "cert.pem"]);
    assert_eq!(trusted.status, 0, "{}", trusted.stderr);
    emulator.holds_exactly_once("servicepower", "UserID", &keys(3));
}

/// `HTTP_PROXY` carries the requests (the emulator is also a CONNECT proxy to itself);
/// `NO_PROXY` naming the host sends them directly, where the host does not resolve.
#[test]
fn the_proxy_of_the_environment_is_used_unless_no_proxy_names_the_host() {
    let w = planned(2, &[]);
    let emulator = Emulator::start(&[]);
    let port = emulator.url.rsplit(':').next().unwrap();
    let endpoint = format!("http://vendor.roster-test.invalid:{port}");
    let args = [
        "push",
        "1",
        "--vendor",
        "servicepower",
        "--endpoint",
        &endpoint,
        "--max-retries",
        "0",
        "--connect-timeout",
        "5",
        "--timeout",
        "20",
    ];
    let mut env = emulator::credentials();
    env.push(("NO_PROXY", "roster-test.invalid"));
    env.push(("HTTP_PROXY", &emulator.url));
    let direct = w.run_env(&args, &env);
    assert_eq!(
        direct.status, 1,
        "the host does not resolve: {}",
        direct.stdout
    );
    env.retain(|(name, _)| *name != "NO_PROXY");
    let proxied = w.run_env(&args, &env);
    assert_eq!(proxied.status, 0, "{}", proxied.stderr);
    assert_eq!(
        emulator.stats()["tunnels"],
        1,
        "one connection through the proxy"
    );
    emulator.holds_exactly_once("servicepower", "UserID", &keys(2));
}

/// An eSystems token that expires while batches are sent is fetched again.
#[test]
fn an_expired_esystems_token_is_fetched_again() {
    let w = planned(12, &[]);
    let emulator = Emulator::start(&["--token-lifetime", "1", "--latency", "400"]);
    let pushed = push(
        &w,
        &emulator,
        "esystems",
        &["--batch-size", "2", "--output", "json"],
    );
    assert_eq!(pushed.status, 0, "{}", pushed.stderr);
    let report: Value = pushed.json();
    assert_eq!(report["users"]["accepted"], 12);
    emulator.holds_exactly_once("esystems", "External_Id", &keys(12));
}

/// What cannot be pushed is refused before anything is sent, with one message.
#[test]
fn push_refuses_what_it_cannot_send() {
    let w = planned(4, &[]);
    let emulator = Emulator::start(&[]);
    let env = emulator::credentials();
    let no_endpoint = w.run_env(&["push", "1", "--vendor", "servicepower"], &env);
    assert_eq!(no_endpoint.status, 1);
    assert!(
        no_endpoint
            .stderr
            .contains("pass `--endpoint URL` or set `servicepower_endpoint`"),
        "{}",
        no_endpoint.stderr
    );
    // Plan 2 is applied: plan 1, made against the empty state, is stale.
    w.write("more.csv", users_csv(5, &[]));
    w.ok(&["plan", "more.csv"]);
    w.ok(&["apply", "2"]);
    let stale = w.run_env(
        &[
            "push",
            "1",
            "--vendor",
            "servicepower",
            "--endpoint",
            &emulator.url,
        ],
        &env,
    );
    assert_eq!(stale.status, 1);
    assert!(stale.stderr.contains("plan 1 is stale"), "{}", stale.stderr);
    assert_eq!(emulator.requests(), 0);
    // A push resumes with the batch size it began with.
    let began = push(&w, &emulator, "servicepower", &["--batch-size", "2"]);
    assert_eq!(began.status, 0, "{}", began.stderr);
    let resumed = push(&w, &emulator, "servicepower", &["--batch-size", "3"]);
    assert_eq!(resumed.status, 1);
    assert!(
        resumed.stderr.contains("began with `--batch-size 2`"),
        "{}",
        resumed.stderr
    );
}

/// The tenant's `tenant.toml` names the endpoint when `--endpoint` is not given.
#[test]
fn the_tenant_names_the_endpoint() {
    let w = Workdir::new();
    let emulator = Emulator::start(&[]);
    w.write(
        "rules/default/tenant.toml",
        format!(
            "fieldsquared_endpoint = \"{}/\"\nfieldsquared_workspace = \"acme\"\n",
            emulator.url
        ),
    );
    w.write("users.csv", users_csv(2, &[]));
    w.ok(&["plan", "users.csv"]);
    let pushed = w.run_env(
        &["push", "1", "--vendor", "fieldsquared"],
        &emulator::credentials(),
    );
    assert_eq!(pushed.status, 0, "{}", pushed.stderr);
    let users = emulator.holds_exactly_once("fieldsquared", "ExternalId", &keys(2));
    assert_eq!(users[0]["Workspace"], "acme");
}

/// An `--endpoint` that is no URL is refused before anything is sent, saying what a URL
/// looks like.
#[test]
fn an_endpoint_that_is_no_url_is_refused_with_an_example() {
    let w = Workdir::new();
    w.write("users.csv", users_csv(2, &[]));
    w.ok(&["plan", "users.csv"]);
    let given = w.run_env(
        &[
            "push",
            "1",
            "--vendor",
            "servicepower",
            "--endpoint",
            "api.example.com",
        ],
        &emulator::credentials(),
    );
    assert_eq!(given.status, 1, "{}", given.stderr);
    assert!(
        given.stderr.contains("`--endpoint api.example.com` is not an http:// or https:// URL; give the vendor's base URL, such as `https://"),
        "{}",
        given.stderr
    );
}

/// After a push, the plan's report shows what the vendor accepted and which users it
/// rejected, with its message.
#[test]
fn a_report_after_a_push_shows_what_the_vendor_took() {
    let w = planned(6, &[4]);
    let emulator = Emulator::start(&["--reject-email-domain", "blocked.example"]);
    let pushed = push(&w, &emulator, "servicepower", &[]);
    assert_eq!(pushed.status, 4, "{}", pushed.stderr);
    w.ok(&["report", "latest", "--format", "md", "--out", "r.md"]);
    let md = std::fs::read_to_string(w.path().join("r.md")).unwrap();
    assert!(md.contains("### servicepower"), "{md}");
    assert!(md.contains("| 5 | 0 | 1 | 0 |"), "{md}");
    let rejected = md
        .lines()
        .find(|line| line.starts_with("| T0004 | users.csv:5 | rejected |"))
        .unwrap_or_else(|| panic!("no line for T0004:\n{md}"));
    assert!(rejected.contains("blocked.example"), "{rejected}");
}

/// A ServicePower push fixes the batches `export` writes, creates, updates and deletes
/// alike, and refuses an update that renames a user before it sends anything.
#[test]
fn a_servicepower_push_sends_the_exported_batches_and_refuses_a_rename_first() {
    let w = Workdir::new();
    let header = "external_id,username,first_name,last_name,email,location\n";
    let row = |i: usize, username: &str, last: &str| {
        format!("T{i:04},{username},First{i},{last},user{i}@ok.example,Oslo\n")
    };
    let base: String = (1..=7).map(|i| row(i, &format!("u{i}"), "Last")).collect();
    w.write("base.csv", format!("{header}{base}"));
    w.ok(&["plan", "base.csv"]);
    w.ok(&["apply", "latest"]);
    // T0001 goes, T0002 and T0005 change, T0008 to T0010 come.
    let next: String = (2..=10)
        .map(|i| {
            row(
                i,
                &format!("u{i}"),
                if i == 2 || i == 5 { "New" } else { "Last" },
            )
        })
        .collect();
    w.write("next.csv", format!("{header}{next}"));
    w.ok(&["plan", "next.csv", "--sync"]);
    w.ok(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--batch-size",
        "2",
        "--out",
        "out",
    ]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(w.path().join("out/manifest.json")).unwrap())
            .unwrap();
    let exported: Vec<(String, Value)> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap().to_string(), f["keys"].clone()))
        .collect();
    assert_eq!(exported.len(), 3, "{manifest}");
    let emulator = Emulator::start(&[]);
    let pushed = push(&w, &emulator, "servicepower", &["--batch-size", "2"]);
    assert_eq!(pushed.status, 0, "{}", pushed.stderr);
    let conn = rusqlite::Connection::open(w.db()).unwrap();
    let journal: Vec<(String, Value)> = conn
        .prepare("SELECT file, keys FROM push_batches ORDER BY seq")
        .unwrap()
        .query_map([], |r| {
            let keys: String = r.get(1)?;
            Ok((r.get(0)?, serde_json::from_str(&keys).unwrap()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(journal, exported);

    // Twenty users come before the one renamed: a push that found the rename only when it
    // made its batch would have sent theirs first.
    let kept: String = (2..=9).map(|i| row(i, &format!("u{i}"), "New")).collect();
    let created: String = (11..=30)
        .map(|i| row(i, &format!("u{i}"), "Last"))
        .collect();
    let renamed = row(10, "v10", "Last");
    w.write("renamed.csv", format!("{header}{kept}{created}{renamed}"));
    w.ok(&["plan", "renamed.csv"]);
    let before = emulator.requests();
    let refused = push(&w, &emulator, "servicepower", &["--batch-size", "1"]);
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("changes `username`"),
        "{}",
        refused.stderr
    );
    assert_eq!(emulator.requests(), before);
}

/// A push of a plan whose passwords an export already sent and wiped says so, and counts
/// only the users whose password the plan sets.
#[test]
fn a_push_after_an_export_names_the_passwords_it_leaves_unchanged() {
    let w = Workdir::new();
    w.write(
        "users.csv",
        "external_id,email,location,password\nu1,a@ok.example,Oslo,first-secret-1\nu2,b@ok.example,Oslo,\nu3,c@ok.example,Oslo,third-secret-3\n",
    );
    w.ok(&["plan", "users.csv"]);
    w.ok(&[
        "export",
        "latest",
        "--vendor",
        "servicepower",
        "--out",
        "out",
    ]);
    let emulator = Emulator::start(&[]);
    let pushed = push(&w, &emulator, "servicepower", &[]);
    assert_eq!(pushed.status, 0, "{}", pushed.stderr);
    assert!(
        pushed
            .stderr
            .contains("plan 1 sets 2 password(s) that an earlier export already sent and wiped"),
        "{}",
        pushed.stderr
    );
}
