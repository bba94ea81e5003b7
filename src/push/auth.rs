//! Putting the credentials on a request: ServicePower's `x-access-token`, Field Squared's
//! bearer token, and eSystems' bearer token fetched with the client credentials from the
//! token URL, kept until it expires, and fetched again once when the API answers 401.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use super::client::Client;
use super::credentials::{Credentials, Secret};
use super::retry;

/// Why no header could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// The vendor refused the credentials: retrying cannot help.
    Refused(String),
    /// The token endpoint could not be reached or was busy: worth retrying.
    Unavailable(String),
}

/// Makes the authentication header of each request.
pub struct Authorizer {
    credentials: Credentials,
    token_url: String,
    token: Mutex<Option<(Secret, Instant)>>,
}

/// How long before its expiry a token is fetched again, so it does not expire in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

impl Authorizer {
    /// An authorizer for `credentials`; `token_url` is where eSystems tokens come from.
    pub fn new(credentials: Credentials, token_url: String) -> Authorizer {
        Authorizer {
            credentials,
            token_url,
            token: Mutex::new(None),
        }
    }

    /// The variables the credentials come from, for messages.
    pub fn variables(&self) -> &'static str {
        self.credentials.variables()
    }

    /// Fetches the eSystems token ahead of the first request, so refused client credentials
    /// show before anything is sent; nothing to do for a static token.
    pub fn prepare(&self, client: &Client) -> Result<(), AuthFailure> {
        match self.credentials {
            Credentials::Client { .. } => self.header(client).map(drop),
            _ => Ok(()),
        }
    }

    /// The header (name, value) to send a request with.
    pub fn header(&self, client: &Client) -> Result<(&'static str, String), AuthFailure> {
        match &self.credentials {
            Credentials::AccessToken(token) => Ok(("x-access-token", token.expose().to_string())),
            Credentials::Bearer(token) => Ok(("authorization", bearer(token))),
            Credentials::Client { id, secret } => {
                // One fetch at a time: the other senders wait for its token.
                let mut held = self.token.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((token, expires)) = held.as_ref() {
                    if Instant::now() < *expires {
                        return Ok(("authorization", bearer(token)));
                    }
                }
                let (token, lifetime) = self.fetch(client, id, secret)?;
                let header = bearer(&token);
                let lifetime = lifetime.saturating_sub(EXPIRY_MARGIN).max(lifetime / 2);
                *held = Some((token, Instant::now() + lifetime));
                Ok(("authorization", header))
            }
        }
    }

    /// After a 401 to a request sent with the header value `used`: forgets that token, and
    /// says whether asking for a new one can help (only a fetched token can be renewed).
    pub fn renew(&self, used: &str) -> bool {
        if !matches!(self.credentials, Credentials::Client { .. }) {
            return false;
        }
        let mut held = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if held
            .as_ref()
            .is_some_and(|(token, _)| bearer(token) == used)
        {
            *held = None;
        }
        true
    }

    /// Exchanges the client credentials for a token and its lifetime.
    fn fetch(
        &self,
        client: &Client,
        id: &Secret,
        secret: &Secret,
    ) -> Result<(Secret, Duration), AuthFailure> {
        let encode = |s: &Secret| utf8_percent_encode(s.expose(), NON_ALPHANUMERIC).to_string();
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            encode(id),
            encode(secret)
        );
        let reply = client
            .send(
                "POST",
                &self.token_url,
                &[("accept", "application/json")],
                "application/x-www-form-urlencoded",
                form.as_bytes(),
            )
            .map_err(|e| AuthFailure::Unavailable(format!("the token URL: {e}")))?;
        if retry::is_retryable(reply.status) {
            return Err(AuthFailure::Unavailable(format!(
                "the token URL answered {}",
                reply.status
            )));
        }
        let body: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        let token = body["access_token"].as_str().filter(|t| !t.is_empty());
        match (reply.status, token) {
            (200..=299, Some(token)) => {
                let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
                Ok((
                    Secret::new(token.to_string()),
                    Duration::from_secs(lifetime),
                ))
            }
            (status, _) => {
                let error = body["error"].as_str().unwrap_or("no access_token");
                Err(AuthFailure::Refused(format!(
                    "the token URL `{}` refused the client credentials ({status} {error})",
                    self.token_url
                )))
            }
        }
    }
}

fn bearer(token: &Secret) -> String {
    format!("Bearer {}", token.expose())
}
