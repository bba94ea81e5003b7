//! The emulator's command line: where it listens, whom it lets in, where it keeps users, and
//! which faults it injects.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// A local emulator of the ServicePower, eSystems and Field Squared user APIs, for rehearsing
/// a go-live with `roster push` and for its tests.
#[derive(Debug, Clone, Parser)]
#[command(name = "roster-emulator", version, max_term_width = 100)]
pub struct Config {
    /// The port on 127.0.0.1 to listen on; 0 picks a free one (printed on the first line).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Keep users in this SQLite file (created when missing) instead of in memory.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// The ServicePower `x-access-token` to accept.
    #[arg(long, env = "ROSTER_SERVICEPOWER_TOKEN", hide_env_values = true)]
    pub servicepower_token: Option<String>,

    /// The Field Squared bearer token to accept.
    #[arg(long, env = "ROSTER_FIELDSQUARED_TOKEN", hide_env_values = true)]
    pub fieldsquared_token: Option<String>,

    /// The eSystems OAuth client id to accept at the token endpoint.
    #[arg(long, env = "ROSTER_ESYSTEMS_CLIENT_ID", hide_env_values = true)]
    pub esystems_client_id: Option<String>,

    /// The eSystems OAuth client secret to accept at the token endpoint.
    #[arg(long, env = "ROSTER_ESYSTEMS_CLIENT_SECRET", hide_env_values = true)]
    pub esystems_client_secret: Option<String>,

    /// Seconds an eSystems access token lives.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub token_lifetime: u64,

    /// Serve HTTPS with this certificate chain (PEM); needs `--tls-key`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    #[command(flatten)]
    pub faults: Faults,
}

/// Faults injected into the vendor API requests (not the token endpoint or the inspection
/// endpoints). Request N (counting from 1 over all vendors) is throttled when N is a multiple
/// of `--throttle-every`, else failed when a multiple of `--fail-every`, else stored and its
/// connection dropped when a multiple of `--drop-every`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Faults {
    /// Answer every Nth request with 429 Too Many Requests.
    #[arg(long, value_name = "N")]
    pub throttle_every: Option<u64>,

    /// The wait a 429 asks for, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub retry_after: u64,

    /// How a 429 says how long to wait.
    #[arg(long, value_enum, default_value_t = RateLimitHeader::Seconds)]
    pub retry_after_format: RateLimitHeader,

    /// Answer every Nth request with `--fail-status`, storing nothing.
    #[arg(long, value_name = "N")]
    pub fail_every: Option<u64>,

    /// The status of a failed request (500, 502, 503 or 504).
    #[arg(long, value_name = "CODE", default_value_t = 503)]
    pub fail_status: u16,

    /// Store every Nth request's users, then close the connection without an answer.
    #[arg(long, value_name = "N")]
    pub drop_every: Option<u64>,

    /// Wait this long before answering each request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,

    /// Refuse users whose e-mail is at this domain, naming them in the vendor's error shape
    /// (repeatable).
    #[arg(long, value_name = "DOMAIN")]
    pub reject_email_domain: Vec<String>,

    /// Field Squared: forget the `RequestId`s seen, so a repeated request is applied again.
    #[arg(long)]
    pub forget_request_ids: bool,
}

/// The header a 429 carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum RateLimitHeader {
    /// `Retry-After: SECS`.
    #[default]
    Seconds,
    /// `Retry-After: <HTTP date>`.
    Date,
    /// `X-Rate-Limit-Reset: SECS`.
    Reset,
}
