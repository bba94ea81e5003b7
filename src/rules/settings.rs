//! `tenant.toml`: the few per-tenant settings that are not rules.
//!
//! Every key is documented in `docs/rules.md`. An unknown key is an error that names the
//! nearest known one, so a typo never silently falls back to a default.

use std::collections::BTreeMap;

use toml::Spanned;

use super::diag::{pack_error, Span};
use crate::error::Result;
use crate::user::nearest;

/// What a Field Squared export does with a planned delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeletePolicy {
    /// Send the user with `Active: false` (the default).
    #[default]
    Deactivate,
    /// Refuse to export a plan that deletes users.
    Refuse,
}

/// A tenant's settings, from `tenant.toml` (all optional).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Separates list items (`roles`, `teams`, `skills`, `phones`) in flat files; default `;`.
    pub list_separator: char,
    /// Refuse plans that delete more than this share (0–100) of the tenant's users.
    pub max_delete_percent: Option<f64>,
    /// The Field Squared workspace the export addresses.
    pub fieldsquared_workspace: Option<String>,
    /// The eSystems field that upserts are keyed on (the `Name` query parameter).
    pub esystems_key_field: Option<String>,
    /// What a Field Squared export does with deletes.
    pub fieldsquared_delete: DeletePolicy,
    /// The base URLs `roster push` sends to when `--endpoint` is not given, by key
    /// (`servicepower_endpoint`, `esystems_endpoint`, `fieldsquared_endpoint`), and
    /// `esystems_token_url`, where eSystems tokens come from.
    pub urls: BTreeMap<String, String>,
    /// The ServicePower `Extensions` entry that carries roster's key (`servicepower_key_field
    /// = "Extensions.NAME"`); `None` when the key is the `UserID` itself (the default).
    pub servicepower_key_extension: Option<String>,
    /// The eSystems Location field that `LocationId` values are looked up by (the `Extra`
    /// entry's `FieldName`); `Name` when not set.
    pub esystems_location_field: Option<String>,
    /// The largest eSystems request body, in bytes, exported without a warning
    /// (`esystems_max_request_mb`): a `--sync` file holds a whole location, however large
    /// (`DeleteNotExists` needs it in one request).
    pub esystems_max_request_bytes: u64,
}

/// `esystems_max_request_mb` when `tenant.toml` sets none.
const DEFAULT_ESYSTEMS_MAX_REQUEST_MB: f64 = 50.0;

const MIB: f64 = 1024.0 * 1024.0;

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            list_separator: ';',
            max_delete_percent: None,
            fieldsquared_workspace: None,
            esystems_key_field: None,
            fieldsquared_delete: DeletePolicy::Deactivate,
            urls: BTreeMap::new(),
            servicepower_key_extension: None,
            esystems_location_field: None,
            esystems_max_request_bytes: (DEFAULT_ESYSTEMS_MAX_REQUEST_MB * MIB) as u64,
        }
    }
}

const KEYS: &[&str] = &[
    "list_separator",
    "max_delete_percent",
    "fieldsquared_workspace",
    "esystems_key_field",
    "fieldsquared_delete",
    "servicepower_endpoint",
    "esystems_endpoint",
    "fieldsquared_endpoint",
    "esystems_token_url",
    "servicepower_key_field",
    "esystems_location_field",
    "esystems_max_request_mb",
];

impl Settings {
    /// Parses `tenant.toml`; `file` is the name errors show.
    pub fn parse(file: &str, source: &str) -> Result<Settings> {
        let table: BTreeMap<Spanned<String>, Spanned<toml::Value>> = toml::from_str(source)
            .map_err(|e| {
                let span = e.span().map(|s| Span::of_offset(source, s.start));
                pack_error(file, source, span, e.message())
            })?;
        let mut settings = Settings::default();
        for (key, value) in &table {
            let at = |span: std::ops::Range<usize>| Some(Span::of_offset(source, span.start));
            let bad = |message: String| pack_error(file, source, at(value.span()), &message);
            match key.get_ref().as_str() {
                "list_separator" => {
                    let text = value.get_ref().as_str().unwrap_or_default();
                    let mut chars = text.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => settings.list_separator = c,
                        _ => {
                            return Err(bad(
                                "`list_separator` must be one character, e.g. \";\"".into()
                            ))
                        }
                    }
                }
                "max_delete_percent" => {
                    let number = match value.get_ref() {
                        toml::Value::Integer(i) => *i as f64,
                        toml::Value::Float(f) => *f,
                        _ => f64::NAN,
                    };
                    if !(0.0..=100.0).contains(&number) {
                        return Err(bad(
                            "`max_delete_percent` must be a number from 0 to 100".into()
                        ));
                    }
                    settings.max_delete_percent = Some(number);
                }
                "fieldsquared_workspace" | "esystems_key_field" | "esystems_location_field" => {
                    let Some(text) = value.get_ref().as_str().filter(|t| !t.trim().is_empty())
                    else {
                        return Err(bad(format!("`{}` must be non-empty text", key.get_ref())));
                    };
                    let slot = match key.get_ref().as_str() {
                        "fieldsquared_workspace" => &mut settings.fieldsquared_workspace,
                        "esystems_key_field" => &mut settings.esystems_key_field,
                        _ => &mut settings.esystems_location_field,
                    };
                    *slot = Some(text.trim().to_string());
                }
                "servicepower_key_field" => {
                    let text = value.get_ref().as_str().unwrap_or_default().trim();
                    settings.servicepower_key_extension = match text.strip_prefix("Extensions.") {
                        _ if text == "UserID" => None,
                        Some(name) if !name.trim().is_empty() => Some(name.trim().to_string()),
                        _ => {
                            return Err(bad(
                                "`servicepower_key_field` must be \"UserID\" or \"Extensions.NAME\" (the extension that carries roster's key)".into(),
                            ))
                        }
                    };
                }
                "esystems_max_request_mb" => {
                    let mib = match value.get_ref() {
                        toml::Value::Integer(i) => *i as f64,
                        toml::Value::Float(f) => *f,
                        _ => f64::NAN,
                    };
                    if !(mib > 0.0 && mib.is_finite()) {
                        return Err(bad(
                            "`esystems_max_request_mb` must be a number of MiB above 0, e.g. 50"
                                .into(),
                        ));
                    }
                    settings.esystems_max_request_bytes = (mib * MIB) as u64;
                }
                "fieldsquared_delete" => {
                    settings.fieldsquared_delete = match value.get_ref().as_str() {
                        Some("deactivate") => DeletePolicy::Deactivate,
                        Some("refuse") => DeletePolicy::Refuse,
                        _ => {
                            return Err(bad(
                                "`fieldsquared_delete` must be \"deactivate\" or \"refuse\"".into(),
                            ))
                        }
                    }
                }
                url @ ("servicepower_endpoint"
                | "esystems_endpoint"
                | "fieldsquared_endpoint"
                | "esystems_token_url") => {
                    let text = value.get_ref().as_str().unwrap_or_default().trim();
                    if !(text.starts_with("https://") || text.starts_with("http://")) {
                        return Err(bad(format!(
                            "`{url}` must be an http:// or https:// URL, e.g. \"https://api.vendor.example\""
                        )));
                    }
                    settings.urls.insert(url.to_string(), text.to_string());
                }
                other => {
                    let hint = match nearest(other, KEYS.iter().copied()) {
                        Some(near) => format!("; did you mean `{near}`?"),
                        None => format!("; known keys: {}", KEYS.join(", ")),
                    };
                    return Err(pack_error(
                        file,
                        source,
                        at(key.span()),
                        &format!("unknown setting `{other}`{hint}"),
                    ));
                }
            }
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty() {
        assert_eq!(Settings::parse("t.toml", "").unwrap(), Settings::default());
    }

    #[test]
    fn every_key_is_read() {
        let s = Settings::parse(
            "t.toml",
            "list_separator = \"|\"\nmax_delete_percent = 10\nfieldsquared_workspace = \"acme\"\n\
             esystems_key_field = \"Email\"\nfieldsquared_delete = \"refuse\"\n\
             servicepower_key_field = \"Extensions.EmployeeID\"\n",
        )
        .unwrap();
        assert_eq!(s.servicepower_key_extension.as_deref(), Some("EmployeeID"));
        assert_eq!(s.list_separator, '|');
        assert_eq!(s.max_delete_percent, Some(10.0));
        assert_eq!(s.fieldsquared_workspace.as_deref(), Some("acme"));
        assert_eq!(s.esystems_key_field.as_deref(), Some("Email"));
        assert_eq!(s.fieldsquared_delete, DeletePolicy::Refuse);
    }

    #[test]
    fn an_unknown_key_names_the_nearest_with_its_place() {
        let err = Settings::parse("t.toml", "list_seperator = \",\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "t.toml:1:1: unknown setting `list_seperator`; did you mean `list_separator`?"
            ),
            "{err}"
        );
        assert!(err.contains("1 | list_seperator"), "{err}");
    }

    #[test]
    fn a_bad_value_is_placed() {
        let err = Settings::parse("t.toml", "\nmax_delete_percent = 150\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.toml:2:22: `max_delete_percent`"),
            "{err}"
        );
    }
}
