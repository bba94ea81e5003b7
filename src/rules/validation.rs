//! `validation.json`: the eSystems `ListValidation` list, parsed and compiled once.
//!
//! Accepted as a bare array or as `{"Extra": [...]}`, so a consultant can paste a customer's
//! list as it is. Property names are exactly the vendor's; anything unknown is a pack error
//! that names the nearest known property or field, with `file:line:col`.

use chrono::NaiveDate;
use regex::Regex;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::diag::{pack_error, Span};
use crate::error::{Error, Result};
use crate::model::user::{self, nearest, nearest_field, Field};

/// The properties of a `ListValidation` item.
const PROPERTIES: &[&str] = &[
    "Name",
    "FieldName",
    "Required",
    "Unique",
    "Max",
    "Min",
    "Pattern",
    "DefaultValue",
    "IsFullValidation",
];

/// A `Min` or `Max` bound.
#[derive(Debug, Clone)]
pub enum Bound {
    /// Numbers compare as numbers; text that is not a number compares by its length.
    Number(f64),
    /// ISO dates compare as dates.
    Date(NaiveDate),
}

/// One `ListValidation` item, compiled.
#[derive(Debug, Clone)]
pub struct FieldRule {
    /// The `validation.json` it comes from, as errors name it.
    pub file: String,
    /// The canonical field (`Name`).
    pub field: Field,
    /// `FieldName`: the reference-table column the value is looked up by.
    pub lookup: Option<String>,
    /// `Required`.
    pub required: bool,
    /// `Unique` (checked by the planner, across rows and against the state).
    pub unique: bool,
    /// `Min`.
    pub min: Option<Bound>,
    /// `Max`.
    pub max: Option<Bound>,
    /// `Pattern`, searched in the value.
    pub pattern: Option<Regex>,
    /// `DefaultValue`, already normalised for the field.
    pub default: Option<Value>,
    /// `IsFullValidation`.
    pub full: bool,
}

impl FieldRule {
    /// The reference table a `FieldName` lookup reads: the field's name without a trailing
    /// `Id` / `_id` (`location` → `location`, `team_id` → `team`).
    pub fn table(&self) -> &'static str {
        let name = self.field.name();
        name.strip_suffix("_id")
            .or_else(|| name.strip_suffix("Id"))
            .filter(|t| !t.is_empty())
            .unwrap_or(name)
    }
}

/// A rule as written: each property's JSON text, borrowed from the file, so a value that
/// does not fit is placed exactly. serde refuses properties that are not the vendor's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule<'a> {
    #[serde(rename = "Name", borrow)]
    name: Option<&'a RawValue>,
    #[serde(rename = "FieldName", borrow)]
    field_name: Option<&'a RawValue>,
    #[serde(rename = "Required", borrow)]
    required: Option<&'a RawValue>,
    #[serde(rename = "Unique", borrow)]
    unique: Option<&'a RawValue>,
    #[serde(rename = "Max", borrow)]
    max: Option<&'a RawValue>,
    #[serde(rename = "Min", borrow)]
    min: Option<&'a RawValue>,
    #[serde(rename = "Pattern", borrow)]
    pattern: Option<&'a RawValue>,
    #[serde(rename = "DefaultValue", borrow)]
    default_value: Option<&'a RawValue>,
    #[serde(rename = "IsFullValidation", borrow)]
    is_full_validation: Option<&'a RawValue>,
}

/// `{"Extra": [...]}`, as a customer's eSystems list is pasted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extra<'a> {
    #[serde(rename = "Extra", borrow)]
    extra: Vec<&'a RawValue>,
}

/// Parses `validation.json`; `file` is the name errors show.
pub fn parse(file: &str, source: &str, list_separator: char) -> Result<Vec<FieldRule>> {
    let doc = Document { file, source };
    let items: Vec<&RawValue> = match source.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(source).map_err(|e| doc.json_error(source, e, &[]))?,
        Some(b'{') => {
            serde_json::from_str::<Extra>(source)
                .map_err(|e| doc.json_error(source, e, &["Extra"]))?
                .extra
        }
        _ => {
            // Not a list or an object: say what is wrong with the JSON first, if anything is.
            serde_json::from_str::<serde::de::IgnoredAny>(source)
                .map_err(|e| doc.json_error(source, e, &[]))?;
            return Err(doc.at(
                source,
                "expected a list of rules, or an object with an `Extra` list".into(),
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| doc.rule(i, item, list_separator))
        .collect()
}

/// The file being parsed, for placing errors.
struct Document<'s> {
    file: &'s str,
    source: &'s str,
}

impl<'s> Document<'s> {
    /// An error at the start of `part`, a slice of the source.
    fn at(&self, part: &str, message: String) -> Error {
        let offset = part.as_ptr() as usize - self.source.as_ptr() as usize;
        let offset = offset + (part.len() - part.trim_start().len());
        pack_error(
            self.file,
            self.source,
            Some(Span::of_offset(self.source, offset)),
            &message,
        )
    }

    /// A serde_json error in `part` (a slice of the source), placed in the whole file. An
    /// unknown property is placed at its name and named with the nearest of `known`.
    fn json_error(&self, part: &str, error: serde_json::Error, known: &[&str]) -> Error {
        let local = line_column_offset(part, error.line(), error.column());
        let message = error.to_string();
        let message = message
            .strip_suffix(&format!(
                " at line {} column {}",
                error.line(),
                error.column()
            ))
            .unwrap_or(&message);
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name);
        match unknown {
            Some(name) => {
                // serde stops at the name's closing quote; the caret goes to its opening one.
                let start = part[..local].rfind('"').unwrap_or(local);
                let hint = match nearest(name, known.iter().copied()) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => format!("; the properties are {}", known.join(", ")),
                };
                self.at(&part[start..], format!("unknown property `{name}`{hint}"))
            }
            None if error.is_data() => self.at(&part[local..], message.to_string()),
            None => self.at(&part[local..], format!("invalid JSON: {message}")),
        }
    }

    /// Compiles rule `i` (0-based).
    fn rule(&self, i: usize, item: &RawValue, list_separator: char) -> Result<FieldRule> {
        let text = item.get();
        if !text.starts_with('{') {
            return Err(self.at(text, format!("rule {} must be an object", i + 1)));
        }
        let raw: RawRule =
            serde_json::from_str(text).map_err(|e| self.json_error(text, e, PROPERTIES))?;
        let name_raw = raw.name.ok_or_else(|| {
            self.at(
                text,
                format!("rule {} needs a `Name` (a canonical field)", i + 1),
            )
        })?;
        let field = match self.text(name_raw, "Name")? {
            Some(name) => Field::parse(&name).ok_or_else(|| {
                let hint = nearest_field(&name)
                    .map(|f| format!("; did you mean `{f}`?"))
                    .unwrap_or_default();
                self.at(name_raw.get(), format!("unknown field `{name}`{hint}"))
            })?,
            None => {
                return Err(self.at(
                    name_raw.get(),
                    format!("rule {} needs a `Name` (a canonical field)", i + 1),
                ))
            }
        };
        let pattern = match raw.pattern.map(|p| Ok((p, self.text(p, "Pattern")?))) {
            Some(Ok((at, Some(p)))) => Some(Regex::new(&p).map_err(|e| {
                self.at(
                    at.get(),
                    format!(
                        "`Pattern` is not a valid regular expression: {}",
                        regex_reason(&e)
                    ),
                )
            })?),
            Some(Err(e)) => return Err(e),
            _ => None,
        };
        let default = match raw.default_value {
            None => None,
            Some(at) => match self.text(at, "DefaultValue")? {
                None => None,
                Some(d) => Some(
                    user::normalize(field, Value::String(d.clone()), list_separator).map_err(
                        |e| {
                            self.at(
                                at.get(),
                                format!("`DefaultValue` `{d}` does not fit `{field}`: {e}"),
                            )
                        },
                    )?,
                ),
            },
        };
        Ok(FieldRule {
            file: self.file.to_string(),
            field,
            lookup: raw
                .field_name
                .map(|v| self.text(v, "FieldName"))
                .transpose()?
                .flatten(),
            required: self.flag(raw.required, "Required")?,
            unique: self.flag(raw.unique, "Unique")?,
            min: self.bound(raw.min, "Min")?,
            max: self.bound(raw.max, "Max")?,
            pattern,
            default,
            full: self.flag(raw.is_full_validation, "IsFullValidation")?,
        })
    }

    /// A true/false property (also as text such as `"False"`); absent or null is false.
    fn flag(&self, value: Option<&RawValue>, key: &str) -> Result<bool> {
        let Some(raw) = value else { return Ok(false) };
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Null) => Ok(false),
            Ok(Value::Bool(b)) => Ok(b),
            Ok(Value::String(s)) if user::parse_bool(&s).is_some() => {
                Ok(user::parse_bool(&s) == Some(true))
            }
            _ => Err(self.at(raw.get(), format!("`{key}` must be true or false"))),
        }
    }

    /// A text property (numbers and booleans as their text); null or blank is `None`.
    fn text(&self, raw: &RawValue, key: &str) -> Result<Option<String>> {
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Null) => Ok(None),
            Ok(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Ok(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Ok(Value::Number(n)) => Ok(Some(n.to_string())),
            Ok(Value::Bool(b)) => Ok(Some(b.to_string())),
            _ => Err(self.at(raw.get(), format!("`{key}` must be text"))),
        }
    }

    /// A `Min` or `Max` bound.
    fn bound(&self, value: Option<&RawValue>, key: &str) -> Result<Option<Bound>> {
        let Some(raw) = value else { return Ok(None) };
        let Some(t) = self.text(raw, key)? else {
            return Ok(None);
        };
        parse_bound(&t).map(Some).ok_or_else(|| {
            self.at(
                raw.get(),
                format!("`{key}` must be a number or an ISO date (YYYY-MM-DD), found `{t}`"),
            )
        })
    }
}

/// The byte offset of a 1-based line and column (serde_json's) in `text`.
fn line_column_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// A bound or a value as a number or an ISO date.
pub(super) fn parse_bound(text: &str) -> Option<Bound> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return n.is_finite().then_some(Bound::Number(n));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(Bound::Date)
}

/// The reason of a regex error in one line (its full text draws the pattern with a caret,
/// which the pack error does already).
fn regex_reason(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(text)
            .to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str) -> FieldRule {
        parse("v.json", json, ';').unwrap().remove(0)
    }

    fn err(json: &str) -> String {
        parse("v.json", json, ';').unwrap_err().to_string()
    }

    #[test]
    fn reads_every_property() {
        let r = one(
            r#"{"Extra": [{"Name": "Location", "FieldName": "Name", "Required": true, "Unique": "False",
               "Max": "10", "Min": "2020-01-01", "Pattern": "^[A-Z]", "DefaultValue": "OSL",
               "IsFullValidation": true}]}"#,
        );
        assert_eq!(r.field, Field::Location);
        assert_eq!(r.lookup.as_deref(), Some("Name"));
        assert!(r.required && !r.unique && r.full);
        assert!(matches!(r.max, Some(Bound::Number(n)) if n == 10.0));
        assert!(matches!(r.min, Some(Bound::Date(_))));
        assert!(r.pattern.as_ref().unwrap().is_match("Oslo"));
        assert_eq!(r.default, Some(Value::String("OSL".into())));
        assert_eq!(r.table(), "location");
    }

    #[test]
    fn a_bare_array_is_accepted() {
        assert_eq!(
            one(r#"[{"Name": "email", "Unique": true}]"#).field,
            Field::Email
        );
    }

    #[test]
    fn an_unknown_property_names_the_nearest_with_its_place() {
        let e = err("[\n  {\"Name\": \"email\",\n   \"Requird\": true}\n]");
        assert!(
            e.starts_with("v.json:3:4: unknown property `Requird`; did you mean `Required`?"),
            "{e}"
        );
        assert!(e.contains("3 |    \"Requird\": true}\n  |    ^"), "{e}");
    }

    #[test]
    fn an_unknown_field_names_the_nearest_with_its_place() {
        let e = err("[{\"Name\": \"emial\"}]");
        assert!(
            e.starts_with("v.json:1:11: unknown field `emial`; did you mean `email`?"),
            "{e}"
        );
        assert!(
            e.ends_with("1 | [{\"Name\": \"emial\"}]\n  |           ^"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_pattern_is_a_pack_error() {
        let e = err(r#"[{"Name": "email", "Pattern": "(unclosed"}]"#);
        assert!(
            e.contains("`Pattern` is not a valid regular expression: unclosed group"),
            "{e}"
        );
    }

    #[test]
    fn a_default_that_does_not_fit_is_a_pack_error() {
        let e = err(r#"[{"Name": "active", "DefaultValue": "perhaps"}]"#);
        assert!(
            e.contains("`DefaultValue` `perhaps` does not fit `active`"),
            "{e}"
        );
    }

    #[test]
    fn a_bound_must_be_a_number_or_a_date() {
        assert!(err(r#"[{"Name": "name", "Max": "ten"}]"#)
            .contains("`Max` must be a number or an ISO date"));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_placed_at_the_value() {
        let e = err("[{\"Name\": \"email\",\n  \"Unique\": [1]}]");
        assert!(
            e.starts_with("v.json:2:13: `Unique` must be true or false"),
            "{e}"
        );
    }

    #[test]
    fn only_an_extra_list_may_wrap_the_rules() {
        let e = err("{\"Extra\": [], \"Rules\": []}");
        assert!(
            e.starts_with("v.json:1:15: unknown property `Rules`; the properties are Extra"),
            "{e}"
        );
        assert!(err("[1]").starts_with("v.json:1:2: rule 1 must be an object"));
        assert!(err("\"rules\"").starts_with("v.json:1:1: expected a list of rules"));
    }

    #[test]
    fn invalid_json_is_placed() {
        assert!(err("[{\"Name\": }]").starts_with("v.json:1:11: invalid JSON"));
    }
}
