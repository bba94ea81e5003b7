//! `validation.json`: the eSystems `ListValidation` list, parsed and compiled once.
//!
//! Accepted as a bare array or as `{"Extra": [...]}`, so a consultant can paste a customer's
//! list as it is. Property names are exactly the vendor's; anything unknown is a pack error
//! that names the nearest known property or field, with `file:line:col`.

use chrono::NaiveDate;
use regex::Regex;
use serde_json::Value;

use super::diag::{pack_error, Span};
use crate::error::{Error, Result};
use crate::user::{self, nearest, nearest_field, Field};

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

/// Parses `validation.json`; `file` is the name errors show.
pub fn parse(file: &str, source: &str, list_separator: char) -> Result<Vec<FieldRule>> {
    let root: Value = serde_json::from_str(source).map_err(|e| {
        let span = Span {
            line: e.line().max(1),
            column: e.column().max(1),
        };
        pack_error(file, source, Some(span), &format!("invalid JSON: {e}"))
    })?;
    let places = Places::scan(source);
    let here = |offset: Option<usize>, message: String| -> Error {
        pack_error(
            file,
            source,
            offset.map(|o| Span::of_offset(source, o)),
            &message,
        )
    };
    let items = match &root {
        Value::Array(items) => items,
        Value::Object(o) => match o.get("Extra") {
            Some(Value::Array(items)) if o.len() == 1 => items,
            _ => {
                return Err(here(
                    Some(0),
                    "expected a list of rules, or an object with only an `Extra` list".into(),
                ))
            }
        },
        _ => return Err(here(Some(0), "expected a list of rules".into())),
    };
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let start = places.items.get(i).copied();
        let Value::Object(props) = item else {
            return Err(here(start, format!("rule {} must be an object", i + 1)));
        };
        let at = |key: &str| places.key(i, key).or(start);
        for key in props.keys() {
            if !PROPERTIES.contains(&key.as_str()) {
                let hint = match nearest(key, PROPERTIES.iter().copied()) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => format!("; the properties are {}", PROPERTIES.join(", ")),
                };
                return Err(here(at(key), format!("unknown property `{key}`{hint}")));
            }
        }
        let Some(name) = props.get("Name").and_then(Value::as_str) else {
            return Err(here(
                at("Name"),
                format!("rule {} needs a `Name` (a canonical field)", i + 1),
            ));
        };
        let field = Field::parse(name).ok_or_else(|| {
            let hint = nearest_field(name)
                .map(|f| format!("; did you mean `{f}`?"))
                .unwrap_or_default();
            here(at("Name"), format!("unknown field `{name}`{hint}"))
        })?;
        let flag = |key: &str| -> Result<bool> {
            match props.get(key) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(Value::String(s)) if user::parse_bool(s).is_some() => {
                    Ok(user::parse_bool(s) == Some(true))
                }
                Some(_) => Err(here(at(key), format!("`{key}` must be true or false"))),
            }
        };
        let text = |key: &str| -> Result<Option<String>> {
            match props.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Bool(b)) => Ok(Some(b.to_string())),
                Some(_) => Err(here(at(key), format!("`{key}` must be text"))),
            }
        };
        let bound = |key: &str| -> Result<Option<Bound>> {
            let Some(t) = text(key)? else { return Ok(None) };
            parse_bound(&t).map(Some).ok_or_else(|| {
                here(
                    at(key),
                    format!("`{key}` must be a number or an ISO date (YYYY-MM-DD), found `{t}`"),
                )
            })
        };
        let pattern = match text("Pattern")? {
            None => None,
            Some(p) => Some(Regex::new(&p).map_err(|e| {
                here(
                    at("Pattern"),
                    format!(
                        "`Pattern` is not a valid regular expression: {}",
                        regex_reason(&e)
                    ),
                )
            })?),
        };
        let default = match text("DefaultValue")? {
            None => None,
            Some(d) => Some(
                user::normalize(field, Value::String(d.clone()), list_separator).map_err(|e| {
                    here(
                        at("DefaultValue"),
                        format!("`DefaultValue` `{d}` does not fit `{field}`: {e}"),
                    )
                })?,
            ),
        };
        rules.push(FieldRule {
            file: file.to_string(),
            field,
            lookup: text("FieldName")?,
            required: flag("Required")?,
            unique: flag("Unique")?,
            min: bound("Min")?,
            max: bound("Max")?,
            pattern,
            default,
            full: flag("IsFullValidation")?,
        });
    }
    Ok(rules)
}

/// A bound or a value as a number or an ISO date.
pub fn parse_bound(text: &str) -> Option<Bound> {
    let text = text.trim();
    if let Ok(n) = text.parse::<f64>() {
        return n.is_finite().then_some(Bound::Number(n));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(Bound::Date)
}

/// Where each rule and each of its keys start in the source, for error messages.
struct Places {
    /// The byte offset of each rule object.
    items: Vec<usize>,
    /// (rule index, key, byte offset of the key).
    keys: Vec<(usize, String, usize)>,
}

impl Places {
    /// A small scanner over the JSON text: objects directly inside an array are rules; strings
    /// directly inside a rule and followed by `:` are its keys. The text is valid JSON here.
    fn scan(source: &str) -> Places {
        let bytes = source.as_bytes();
        let mut places = Places {
            items: Vec::new(),
            keys: Vec::new(),
        };
        // Each open container: its bracket and, for rule objects, the rule index.
        let mut stack: Vec<(u8, Option<usize>)> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let start = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    let rest = source[i + 1..].trim_start();
                    if let (Some((b'{', Some(rule))), true) = (stack.last(), rest.starts_with(':'))
                    {
                        places
                            .keys
                            .push((*rule, source[start + 1..i].to_string(), start));
                    }
                }
                b'{' => {
                    let rule = matches!(stack.last(), Some((b'[', _))).then(|| {
                        places.items.push(i);
                        places.items.len() - 1
                    });
                    stack.push((b'{', rule));
                }
                b'[' => stack.push((b'[', None)),
                b'}' | b']' => {
                    stack.pop();
                }
                _ => {}
            }
            i += 1;
        }
        places
    }

    fn key(&self, rule: usize, key: &str) -> Option<usize> {
        self.keys
            .iter()
            .find(|(r, k, _)| *r == rule && k == key)
            .map(|(.., offset)| *offset)
    }
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
            e.starts_with("v.json:1:3: unknown field `emial`; did you mean `email`?"),
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
    fn invalid_json_is_placed() {
        assert!(err("[{\"Name\": }]").starts_with("v.json:1:11: invalid JSON"));
    }
}
