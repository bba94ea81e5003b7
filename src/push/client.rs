//! The HTTP client: ureq over rustls with the platform's root certificates (plus the private
//! CA of `--ca-cert`), the proxy of `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` unless `NO_PROXY`
//! names the host, timeouts on connecting and on each whole request, and no redirects (a
//! redirect could carry a credential to another host).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::retry;
use crate::error::{Error, Result};

/// How to reach the vendor.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// A PEM file of extra root certificates (a private CA).
    pub ca_cert: Option<PathBuf>,
    /// The longest wait for a connection.
    pub connect_timeout: Duration,
    /// The longest a whole request may take, answer included.
    pub timeout: Duration,
}

/// A connection pool to one endpoint.
pub struct Client {
    agent: ureq::Agent,
}

/// A vendor's answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The wait the server asked for, read when the answer came.
    pub asked_wait: Option<Duration>,
    /// The body.
    pub body: String,
}

/// Answers larger than this are cut: a vendor's answer to one batch is far smaller.
const LONGEST_ANSWER: u64 = 64 << 20;

impl Client {
    /// A client for `endpoint` (its scheme and host decide the proxy); `env` reads the
    /// environment.
    pub fn new(
        endpoint: &str,
        options: &ClientOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Client> {
        let proxy = match proxy_for(endpoint, &env) {
            Some(url) => Some(ureq::Proxy::new(&url).map_err(|e| {
                Error::Usage(format!(
                    "the proxy `{}` from the environment is not usable: {e}",
                    without_password(&url)
                ))
            })?),
            None => None,
        };
        let tls = TlsConfig::builder()
            .root_certs(root_certs(options.ca_cert.as_deref())?)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.timeout))
            .proxy(proxy)
            .tls_config(tls)
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: ureq::Agent::new_with_config(config),
        })
    }

    /// Sends one request; an `Err` is a failure of the transport (no connection, a timeout,
    /// a connection closed before the whole answer), whose text names no header.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
    ) -> std::result::Result<Reply, String> {
        let mut request = match method {
            "PATCH" => self.agent.patch(url),
            "PUT" => self.agent.put(url),
            _ => self.agent.post(url),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request
            .header("content-type", content_type)
            .send(body)
            .map_err(describe)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let asked_wait = retry::server_wait(
            header("retry-after").as_deref(),
            header("x-rate-limit-reset").as_deref(),
            SystemTime::now(),
        );
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(LONGEST_ANSWER)
            .read_to_string()
            .map_err(describe)?;
        Ok(Reply {
            status,
            asked_wait,
            body,
        })
    }
}

/// A transport failure in words (ureq's errors name the host, never a header).
fn describe(error: ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(what) => format!("timed out ({what})"),
        ureq::Error::Io(io) => format!("connection failed: {io}"),
        other => other.to_string(),
    }
}

/// The platform's root certificates (Mozilla's when the platform has none), and those of
/// `ca_cert`.
fn root_certs(ca_cert: Option<&Path>) -> Result<RootCerts> {
    let native = rustls_native_certs::load_native_certs();
    let mut roots: Vec<Certificate<'static>> = native
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let before = roots.len();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => roots.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::input(
                        path.display(),
                        format!("not a PEM certificate file: {e}"),
                    ))
                }
            }
        }
        if roots.len() == before {
            return Err(Error::input(
                path.display(),
                "holds no PEM certificate (`-----BEGIN CERTIFICATE-----`); give the CA's certificate in PEM form",
            ));
        }
    } else if roots.is_empty() {
        return Ok(RootCerts::WebPki);
    }
    Ok(roots.into())
}

/// The proxy to reach `endpoint` through, from the environment as curl reads it:
/// `HTTPS_PROXY` for https, `HTTP_PROXY` for http, else `ALL_PROXY` (each also lowercase),
/// unless `NO_PROXY` names the host (`*`, a name, or a domain suffix, with or without a
/// leading dot). Loopback addresses are never proxied.
pub fn proxy_for(endpoint: &str, env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    }
    .to_ascii_lowercase();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return None;
    }
    let read = |name: &str| {
        env(name)
            .or_else(|| env(&name.to_ascii_lowercase()))
            .filter(|v| !v.trim().is_empty())
    };
    if let Some(no_proxy) = read("NO_PROXY") {
        let excluded = no_proxy.split(',').map(str::trim).any(|entry| {
            let entry = entry.split(':').next().unwrap_or_default();
            let entry = entry.trim_start_matches("*.").trim_start_matches('.');
            entry == "*"
                || (!entry.is_empty()
                    && (host == entry.to_ascii_lowercase()
                        || host.ends_with(&format!(".{}", entry.to_ascii_lowercase()))))
        });
        if excluded {
            return None;
        }
    }
    let specific = if scheme.eq_ignore_ascii_case("https") {
        "HTTPS_PROXY"
    } else {
        "HTTP_PROXY"
    };
    read(specific).or_else(|| read("ALL_PROXY"))
}

/// A proxy URL with its password, if any, masked.
fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://…@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_proxy_follows_the_scheme_and_no_proxy_and_skips_loopback() {
        let vars = env(&[
            ("HTTPS_PROXY", "http://proxy.corp:3128"),
            ("http_proxy", "http://plain.corp:80"),
            ("NO_PROXY", "internal.example, .corp.example:443"),
        ]);
        let via = |url| proxy_for(url, &vars);
        assert_eq!(
            via("https://api.vendor.example/x").as_deref(),
            Some("http://proxy.corp:3128")
        );
        assert_eq!(
            via("http://api.vendor.example").as_deref(),
            Some("http://plain.corp:80")
        );
        assert_eq!(via("https://internal.example:8443/x"), None);
        assert_eq!(via("https://a.b.corp.example/x"), None);
        assert_eq!(via("https://127.0.0.1:8080/x"), None);
        assert_eq!(via("http://[::1]:8080/x"), None);
        assert_eq!(via("https://localhost/x"), None);
        let everything = env(&[("ALL_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(proxy_for("https://x.example", &everything), None);
        let all = env(&[("ALL_PROXY", "http://p:1")]);
        assert_eq!(
            proxy_for("https://x.example", &all).as_deref(),
            Some("http://p:1")
        );
        assert_eq!(without_password("http://u:pw@p:1"), "http://…@p:1");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let error = root_certs(Some(&file)).unwrap_err().to_string();
        assert!(error.contains("holds no PEM certificate"), "{error}");
    }
}
