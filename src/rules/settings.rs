//! `tenant.toml`: the few per-tenant settings that are not rules.
//!
//! Every key is documented in `docs/rules.md`. An unknown key is an error that names the
//! nearest known one, so a typo never silently falls back to a default.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::declarative::{DeclarativeMap, WrittenMap};
use super::diag::{pack_error, Span};
use crate::error::Result;
use crate::model::user::nearest;

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
    /// The declarative mapping (`[map]`), run on every row before any `map` hook.
    pub map: Option<DeclarativeMap>,
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
            map: None,
        }
    }
}

impl Settings {
    /// Parses `tenant.toml`; `file` is the name errors show, at the place of the key or value
    /// at fault.
    pub fn parse(file: &str, source: &str) -> Result<Settings> {
        let mut written: Written = toml::from_str(source).map_err(|e| {
            let span = e.span().map(|s| Span::of_offset(source, s.start));
            let message = match unknown_key(e.message()) {
                Some(key) if e.message().contains(MAP_KEYS_EXPECTED) => unknown_map_key(key),
                Some(key) => unknown_setting(key),
                None => e.message().to_string(),
            };
            pack_error(file, source, span, &message)
        })?;
        let map = match written.map.take() {
            Some(map) => Some(map.check(file, source)?),
            None => None,
        };
        Ok(Settings {
            map,
            ..written.into_settings()
        })
    }
}

/// `tenant.toml` as written: every key optional and checked as it is read (so an error
/// carries the value's place), an unknown key refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Written {
    #[serde(deserialize_with = "list_separator")]
    list_separator: Option<char>,
    #[serde(deserialize_with = "max_delete_percent")]
    max_delete_percent: Option<f64>,
    #[serde(deserialize_with = "fieldsquared_workspace")]
    fieldsquared_workspace: Option<String>,
    #[serde(deserialize_with = "esystems_key_field")]
    esystems_key_field: Option<String>,
    #[serde(deserialize_with = "fieldsquared_delete")]
    fieldsquared_delete: Option<DeletePolicy>,
    #[serde(deserialize_with = "servicepower_endpoint")]
    servicepower_endpoint: Option<String>,
    #[serde(deserialize_with = "esystems_endpoint")]
    esystems_endpoint: Option<String>,
    #[serde(deserialize_with = "fieldsquared_endpoint")]
    fieldsquared_endpoint: Option<String>,
    #[serde(deserialize_with = "esystems_token_url")]
    esystems_token_url: Option<String>,
    #[serde(deserialize_with = "servicepower_key_field")]
    servicepower_key_field: Option<String>,
    #[serde(deserialize_with = "esystems_location_field")]
    esystems_location_field: Option<String>,
    #[serde(deserialize_with = "esystems_max_request_mb")]
    esystems_max_request_mb: Option<f64>,
    map: Option<WrittenMap>,
}

impl Written {
    fn into_settings(self) -> Settings {
        let defaults = Settings::default();
        let urls = [
            ("servicepower_endpoint", self.servicepower_endpoint),
            ("esystems_endpoint", self.esystems_endpoint),
            ("fieldsquared_endpoint", self.fieldsquared_endpoint),
            ("esystems_token_url", self.esystems_token_url),
        ];
        Settings {
            list_separator: self.list_separator.unwrap_or(defaults.list_separator),
            max_delete_percent: self.max_delete_percent,
            fieldsquared_workspace: self.fieldsquared_workspace,
            esystems_key_field: self.esystems_key_field,
            fieldsquared_delete: self
                .fieldsquared_delete
                .unwrap_or(defaults.fieldsquared_delete),
            urls: urls
                .into_iter()
                .filter_map(|(key, url)| Some((key.to_string(), url?)))
                .collect(),
            servicepower_key_extension: self.servicepower_key_field,
            esystems_location_field: self.esystems_location_field,
            esystems_max_request_bytes: self
                .esystems_max_request_mb
                .map_or(defaults.esystems_max_request_bytes, |mib| {
                    (mib * MIB) as u64
                }),
            map: None,
        }
    }
}

/// The key of serde's "unknown field" error (the wording of `serde::de::Error::unknown_field`).
fn unknown_key(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// An unknown key, with the nearest known one (or all of them).
fn unknown_setting(key: &str) -> String {
    let known = Written::KEYS;
    let hint = match nearest(key, known.iter().copied()) {
        Some(near) => format!("; did you mean `{near}`?"),
        None => format!("; known keys: {}", known.join(", ")),
    };
    format!("unknown setting `{key}`{hint}")
}

/// How serde's "unknown field" error of `[map]` lists the keys it expected.
const MAP_KEYS_EXPECTED: &str = "expected one of `trim`";

/// An unknown key of `[map]`, with the nearest known one (or all of them).
fn unknown_map_key(key: &str) -> String {
    let known = WrittenMap::KEYS;
    let hint = match nearest(key, known.iter().copied()) {
        Some(near) => format!("; did you mean `{near}`?"),
        None => format!("; known keys: {}", known.join(", ")),
    };
    format!("unknown key `{key}` in [map]{hint}")
}

impl Written {
    /// Every key, in the order `docs/rules.md` lists them.
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
        "map",
    ];
}

/// The value of a key, made into `T` by `check`, or the error `message` at the value.
fn checked<'de, D: Deserializer<'de>, T>(
    value: D,
    check: impl FnOnce(&toml::Value) -> Option<T>,
    message: &str,
) -> std::result::Result<Option<T>, D::Error> {
    let value = toml::Value::deserialize(value)?;
    check(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(message))
}

/// What a key's reader gives: its value (`None` when it means the default), or the error.
type Read<T, E> = std::result::Result<Option<T>, E>;

fn list_separator<'de, D: Deserializer<'de>>(value: D) -> Read<char, D::Error> {
    let one_char = |value: &toml::Value| {
        let mut chars = value.as_str()?.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    };
    checked(
        value,
        one_char,
        "`list_separator` must be one character, e.g. \";\"",
    )
}

fn max_delete_percent<'de, D: Deserializer<'de>>(value: D) -> Read<f64, D::Error> {
    let percent = |value: &toml::Value| {
        let number = match value {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            _ => return None,
        };
        (0.0..=100.0).contains(&number).then_some(number)
    };
    checked(
        value,
        percent,
        "`max_delete_percent` must be a number from 0 to 100",
    )
}

fn esystems_max_request_mb<'de, D: Deserializer<'de>>(value: D) -> Read<f64, D::Error> {
    let mib = |value: &toml::Value| {
        let number = match value {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            _ => return None,
        };
        (number > 0.0 && number.is_finite()).then_some(number)
    };
    checked(
        value,
        mib,
        "`esystems_max_request_mb` must be a number of MiB above 0, e.g. 50",
    )
}

fn fieldsquared_delete<'de, D: Deserializer<'de>>(value: D) -> Read<DeletePolicy, D::Error> {
    let policy = |value: &toml::Value| match value.as_str()? {
        "deactivate" => Some(DeletePolicy::Deactivate),
        "refuse" => Some(DeletePolicy::Refuse),
        _ => None,
    };
    checked(
        value,
        policy,
        "`fieldsquared_delete` must be \"deactivate\" or \"refuse\"",
    )
}

/// `None` for `UserID` (roster's key is the `UserID` itself), else the extension's name.
fn servicepower_key_field<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    let extension = |value: &toml::Value| {
        let text = value.as_str()?.trim();
        match text.strip_prefix("Extensions.") {
            _ if text == "UserID" => Some(None),
            Some(name) if !name.trim().is_empty() => Some(Some(name.trim().to_string())),
            _ => None,
        }
    };
    let message = "`servicepower_key_field` must be \"UserID\" or \"Extensions.NAME\" (the extension that carries roster's key)";
    Ok(checked(value, extension, message)?.flatten())
}

/// Non-empty text, trimmed.
fn text<'de, D: Deserializer<'de>>(value: D, key: &str) -> Read<String, D::Error> {
    let non_empty = |value: &toml::Value| {
        let text = value.as_str()?.trim();
        (!text.is_empty()).then(|| text.to_string())
    };
    checked(value, non_empty, &format!("`{key}` must be non-empty text"))
}

fn fieldsquared_workspace<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    text(value, "fieldsquared_workspace")
}

fn esystems_key_field<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    text(value, "esystems_key_field")
}

fn esystems_location_field<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    text(value, "esystems_location_field")
}

/// An http:// or https:// URL, trimmed.
fn url<'de, D: Deserializer<'de>>(value: D, key: &str) -> Read<String, D::Error> {
    let url = |value: &toml::Value| {
        let text = value.as_str()?.trim();
        (text.starts_with("https://") || text.starts_with("http://")).then(|| text.to_string())
    };
    let message =
        format!("`{key}` must be an http:// or https:// URL, e.g. \"https://api.vendor.example\"");
    checked(value, url, &message)
}

fn servicepower_endpoint<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    url(value, "servicepower_endpoint")
}

fn esystems_endpoint<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    url(value, "esystems_endpoint")
}

fn fieldsquared_endpoint<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    url(value, "fieldsquared_endpoint")
}

fn esystems_token_url<'de, D: Deserializer<'de>>(value: D) -> Read<String, D::Error> {
    url(value, "esystems_token_url")
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

    #[test]
    fn urls_are_read_by_key_and_a_far_off_key_lists_the_known_ones() {
        let s = Settings::parse(
            "t.toml",
            "esystems_endpoint = \" https://e.example \"\nesystems_token_url = \"http://t.example\"\n",
        )
        .unwrap();
        let urls: Vec<_> = s
            .urls
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            urls,
            [
                ("esystems_endpoint", "https://e.example"),
                ("esystems_token_url", "http://t.example")
            ]
        );
        let err = Settings::parse("t.toml", "zzz = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.toml:1:1: unknown setting `zzz`; known keys: list_separator, "),
            "{err}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_placed_with_the_key_message() {
        let err = Settings::parse("t.toml", "list_separator = 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.toml:1:18: `list_separator` must be one character"),
            "{err}"
        );
        let user_id = Settings::parse("t.toml", "servicepower_key_field = \"UserID\"\n").unwrap();
        assert_eq!(user_id.servicepower_key_extension, None);
    }
}
