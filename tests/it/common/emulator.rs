//! A `roster-emulator` on 127.0.0.1 for the push tests: started with the test credentials,
//! read back through its inspection endpoints, and killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The credentials the emulator accepts and the tests push with.
pub const SERVICEPOWER_TOKEN: &str = "sp-token-7Qd2x";
pub const FIELDSQUARED_TOKEN: &str = "fs-token-9Lm4k";
pub const ESYSTEMS_CLIENT_ID: &str = "roster-tests";
pub const ESYSTEMS_CLIENT_SECRET: &str = "es-secret-3Vb8p";

/// Every credential variable with its test value.
pub fn credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ROSTER_SERVICEPOWER_TOKEN", SERVICEPOWER_TOKEN),
        ("ROSTER_FIELDSQUARED_TOKEN", FIELDSQUARED_TOKEN),
        ("ROSTER_ESYSTEMS_CLIENT_ID", ESYSTEMS_CLIENT_ID),
        ("ROSTER_ESYSTEMS_CLIENT_SECRET", ESYSTEMS_CLIENT_SECRET),
    ]
}

/// A running emulator.
pub struct Emulator {
    child: Child,
    /// Its base URL.
    pub url: String,
}

/// Longer than the emulator takes to start, even on a loaded machine.
const START_LIMIT: Duration = Duration::from_secs(30);

impl Emulator {
    /// Starts `roster-emulator --port 0 ARGS` with the test credentials.
    pub fn start(args: &[&str]) -> Emulator {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("roster-emulator"))
            .args(["--port", "0"])
            .args(args)
            .envs(credentials())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start roster-emulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(START_LIMIT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("roster-emulator did not say where it listens");
            }
        };
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Emulator { child, url }
    }

    fn get(&self, path: &str) -> Value {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .build(),
            )
            .proxy(None)
            .build()
            .new_agent();
        let mut response = agent
            .get(&format!("{}{path}", self.url))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    }

    /// The vendor's users and the creates counted per key.
    pub fn dump(&self, vendor: &str) -> Value {
        self.get(&format!("/_emulator/{vendor}/users"))
    }

    /// Requests, answers by status, and connections dropped.
    pub fn stats(&self) -> Value {
        self.get("/_emulator/stats")
    }

    /// The vendor API requests seen so far.
    pub fn requests(&self) -> u64 {
        self.stats()["requests"].as_u64().unwrap()
    }

    /// Asserts that the vendor holds exactly `keys`, each created once; returns the users.
    pub fn holds_exactly_once(&self, vendor: &str, key_field: &str, keys: &[String]) -> Vec<Value> {
        let dump = self.dump(vendor);
        let users = dump["users"].as_array().unwrap().clone();
        let mut held: Vec<String> = users
            .iter()
            .map(|u| u[key_field].as_str().unwrap_or_default().to_string())
            .collect();
        held.sort();
        let mut expected = keys.to_vec();
        expected.sort();
        assert_eq!(held.len(), expected.len(), "users held by {vendor}");
        assert_eq!(held, expected, "users held by {vendor}");
        let creates = dump["creates"].as_object().unwrap();
        for key in keys {
            assert_eq!(
                creates.get(key).and_then(Value::as_u64),
                Some(1),
                "creates of {key}"
            );
        }
        assert_eq!(creates.len(), keys.len(), "no other user was created");
        users
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
