//! Credentials come from the environment only: never a flag, the workspace, a log, an error
//! message or `--output json`. A [`Secret`] cannot be printed by accident: it has no
//! `Display`, and its `Debug` is `(sensitive)`.

use crate::error::{Error, Result};
use crate::model::vendor::Vendor;
use crate::secret::MASK;

/// A credential's value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

/// What a vendor's API is called with.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// ServicePower's access token, sent as `x-access-token`.
    AccessToken(Secret),
    /// Field Squared's token, sent as `Authorization: Bearer`.
    Bearer(Secret),
    /// eSystems' OAuth 2.0 client credentials, exchanged at the token URL for a bearer token.
    Client {
        /// The client id.
        id: Secret,
        /// The client secret.
        secret: Secret,
    },
}

/// The ServicePower token's variable.
pub const SERVICEPOWER_TOKEN: &str = "ROSTER_SERVICEPOWER_TOKEN";
/// The Field Squared token's variable.
pub const FIELDSQUARED_TOKEN: &str = "ROSTER_FIELDSQUARED_TOKEN";
/// The eSystems client id's variable.
pub const ESYSTEMS_CLIENT_ID: &str = "ROSTER_ESYSTEMS_CLIENT_ID";
/// The eSystems client secret's variable.
pub const ESYSTEMS_CLIENT_SECRET: &str = "ROSTER_ESYSTEMS_CLIENT_SECRET";

impl Credentials {
    /// Reads the vendor's credentials through `env` (the process environment, in use); an
    /// unset or empty variable is an error that names it, before anything is sent.
    pub fn from_env(vendor: Vendor, env: impl Fn(&str) -> Option<String>) -> Result<Credentials> {
        let read = |name: &str| {
            env(name)
                .filter(|value| !value.trim().is_empty())
                .map(Secret::new)
                .ok_or_else(|| missing(vendor, name))
        };
        Ok(match vendor {
            Vendor::ServicePower => Credentials::AccessToken(read(SERVICEPOWER_TOKEN)?),
            Vendor::FieldSquared => Credentials::Bearer(read(FIELDSQUARED_TOKEN)?),
            Vendor::ESystems => Credentials::Client {
                id: read(ESYSTEMS_CLIENT_ID)?,
                secret: read(ESYSTEMS_CLIENT_SECRET)?,
            },
        })
    }

    /// The variables these credentials come from, for a message about a refusal.
    pub fn variables(&self) -> &'static str {
        match self {
            Credentials::AccessToken(_) => "`ROSTER_SERVICEPOWER_TOKEN`",
            Credentials::Bearer(_) => "`ROSTER_FIELDSQUARED_TOKEN`",
            Credentials::Client { .. } => {
                "`ROSTER_ESYSTEMS_CLIENT_ID` and `ROSTER_ESYSTEMS_CLIENT_SECRET`"
            }
        }
    }
}

fn missing(vendor: Vendor, name: &str) -> Error {
    Error::Usage(format!(
        "`{name}` is not set: `roster push --vendor {vendor}` reads its credentials from the environment only; set it (e.g. `export {name}=…`) and run the push again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_variable_is_named_and_no_value_is_ever_shown() {
        let env = |name: &str| (name == ESYSTEMS_CLIENT_ID).then(|| "client".to_string());
        let error = Credentials::from_env(Vendor::ESystems, env).unwrap_err();
        assert!(error
            .to_string()
            .contains("`ROSTER_ESYSTEMS_CLIENT_SECRET` is not set"));
        let blank = |_: &str| Some("  ".to_string());
        assert!(Credentials::from_env(Vendor::ServicePower, blank).is_err());
        let set = |_: &str| Some("s3cr3t-token".to_string());
        let credentials = Credentials::from_env(Vendor::FieldSquared, set).unwrap();
        assert!(!format!("{credentials:?}").contains("s3cr3t"));
    }
}
