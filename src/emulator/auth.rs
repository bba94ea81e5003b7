//! Who may call: ServicePower's `x-access-token`, Field Squared's bearer token, and eSystems'
//! OAuth 2.0 client credentials exchanged at the token endpoint for short-lived bearer tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use super::config::Config;

/// The credentials the emulator accepts, and the eSystems tokens it handed out.
pub(super) struct Auth {
    servicepower_token: Option<String>,
    fieldsquared_token: Option<String>,
    esystems_client: Option<(String, String)>,
    lifetime: Duration,
    issued: Mutex<HashMap<String, Instant>>,
}

/// Why a request is refused (never echoing what was sent).
pub(super) type Refusal = String;

/// An access token handed out by the token endpoint.
pub(super) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
}

impl Auth {
    /// The credentials of the configuration.
    pub(super) fn new(config: &Config) -> Auth {
        let client = config
            .esystems_client_id
            .clone()
            .zip(config.esystems_client_secret.clone());
        Auth {
            servicepower_token: config.servicepower_token.clone(),
            fieldsquared_token: config.fieldsquared_token.clone(),
            esystems_client: client,
            lifetime: Duration::from_secs(config.token_lifetime),
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// Checks ServicePower's `x-access-token` header.
    pub(super) fn servicepower(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let expected = self.servicepower_token.as_deref().ok_or(
            "the emulator has no ServicePower token: start it with ROSTER_SERVICEPOWER_TOKEN set",
        )?;
        match headers.get("x-access-token").and_then(|v| v.to_str().ok()) {
            Some(token) if token == expected => Ok(()),
            Some(_) => Err("the x-access-token is not valid".into()),
            None => Err("the x-access-token header is missing".into()),
        }
    }

    /// Checks Field Squared's bearer token.
    pub(super) fn fieldsquared(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let expected = self.fieldsquared_token.as_deref().ok_or(
            "the emulator has no Field Squared token: start it with ROSTER_FIELDSQUARED_TOKEN set",
        )?;
        match bearer(headers) {
            Some(token) if token == expected => Ok(()),
            Some(_) => Err("the bearer token is not valid".into()),
            None => Err("the Authorization: Bearer header is missing".into()),
        }
    }

    /// Checks an eSystems bearer token: one the token endpoint handed out, not expired.
    pub(super) fn esystems(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let token = bearer(headers).ok_or("The session Id or OAuth token used is missing.")?;
        let issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        match issued.get(token) {
            Some(expires) if Instant::now() < *expires => Ok(()),
            _ => Err("The session Id or OAuth token used has expired or is invalid.".into()),
        }
    }

    /// The token endpoint: client credentials from the form (or HTTP Basic) for a token.
    pub(super) fn issue(
        &self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
    ) -> Result<Issued, (u16, &'static str)> {
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return Err((400, "unsupported_grant_type"));
        }
        let (id, secret) = match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => basic(headers).ok_or((401, "invalid_client"))?,
        };
        match &self.esystems_client {
            Some((expected_id, expected_secret))
                if *expected_id == id && *expected_secret == secret => {}
            _ => return Err((401, "invalid_client")),
        }
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes).map_err(|_| (500, "server_error"))?;
        let token = hex::encode(bytes);
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        issued.retain(|_, expires| *expires > now);
        issued.insert(token.clone(), now + self.lifetime);
        Ok(Issued {
            access_token: token,
            expires_in: self.lifetime.as_secs(),
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn auth(lifetime: &str) -> Auth {
        let config = Config::try_parse_from([
            "roster-emulator",
            "--esystems-client-id",
            "id",
            "--esystems-client-secret",
            "secret",
            "--token-lifetime",
            lifetime,
        ])
        .unwrap();
        Auth::new(&config)
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn client_credentials_buy_a_bearer_token_that_expires() {
        let auth = auth("3600");
        let good = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "id"),
            ("client_secret", "secret"),
        ]);
        let issued = auth.issue(&HeaderMap::new(), &good).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            format!("Bearer {}", issued.access_token).parse().unwrap(),
        );
        assert!(auth.esystems(&headers).is_ok());
        let bad = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "id"),
            ("client_secret", "nope"),
        ]);
        assert_eq!(
            auth.issue(&HeaderMap::new(), &bad).err(),
            Some((401, "invalid_client"))
        );

        let short = self::auth("0");
        let issued = short.issue(&HeaderMap::new(), &good).unwrap();
        headers.insert(
            "authorization",
            format!("Bearer {}", issued.access_token).parse().unwrap(),
        );
        assert!(short.esystems(&headers).is_err());
    }
}
