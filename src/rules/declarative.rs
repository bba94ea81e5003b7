//! `tenant.toml`'s `[map]` table: the mapping most tenants need, without a `map` hook.
//!
//! It renames source columns to canonical fields, trims text, changes case, copies a field
//! to another, splits one and fills constant defaults, in that order, before any `map`
//! hook (which then receives the row so changed). The keys are documented in
//! `docs/rules.md`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use toml::Spanned;

use super::diag::{pack_error, Span};
use super::helpers::title_case;
use crate::error::Result;
use crate::model::user::{self, nearest, nearest_field, Field, FieldKind};

/// How `[map.case]` changes a field's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Case {
    /// `"upper"`.
    Upper,
    /// `"lower"`.
    Lower,
    /// `"title"`: the first letter of every word upper case, the rest lower case.
    Title,
}

impl Case {
    const NAMES: &[&str] = &["upper", "lower", "title"];

    /// Every case, in the order of [`Case::NAMES`].
    pub(super) const ALL: [Case; 3] = [Case::Upper, Case::Lower, Case::Title];

    /// The name `[map.case]` gives it.
    pub(super) fn name(self) -> &'static str {
        Case::NAMES[self as usize]
    }

    fn parse(text: &str) -> Option<Case> {
        match text {
            "upper" => Some(Case::Upper),
            "lower" => Some(Case::Lower),
            "title" => Some(Case::Title),
            _ => None,
        }
    }

    pub(super) fn apply(self, text: &str) -> String {
        match self {
            Case::Upper => text.to_uppercase(),
            Case::Lower => text.to_lowercase(),
            Case::Title => title_case(text),
        }
    }
}

/// A tenant's declarative mapping, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclarativeMap {
    /// Trim every text cell.
    trim: bool,
    /// Source column → the name it takes (a canonical field, or `address.*`/`attributes.*`).
    renames: BTreeMap<String, Arc<str>>,
    /// Fields whose text changes case.
    case: Vec<(Field, Case)>,
    /// `(to, from)`: the field set to another's value (after the case of both).
    copy: Vec<(Field, Field)>,
    /// Fields set to one part of another field's text.
    splits: Vec<Split>,
    /// Constants for fields the row leaves empty.
    defaults: Vec<(Field, Value)>,
}

/// `[map.split]`: `to` is the `part`th (1-based) piece of `from` split at `separator`.
#[derive(Debug, Clone, PartialEq)]
struct Split {
    to: Arc<str>,
    from: Field,
    separator: String,
    part: usize,
}

/// A `[map.split]` entry as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenSplit {
    from: Spanned<String>,
    separator: Spanned<String>,
    part: Spanned<i64>,
}

/// `[map]` as written, with the places of its keys and values for errors.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct WrittenMap {
    trim: bool,
    columns: BTreeMap<Spanned<String>, Spanned<String>>,
    case: BTreeMap<Spanned<String>, Spanned<String>>,
    copy: BTreeMap<Spanned<String>, Spanned<String>>,
    split: BTreeMap<Spanned<String>, WrittenSplit>,
    defaults: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

impl WrittenMap {
    /// The keys of `[map]`, for "did you mean" hints.
    pub(super) const KEYS: &[&str] = &["trim", "columns", "case", "copy", "split", "defaults"];

    /// Checks every name and value; `file` and `source` place the error.
    pub(super) fn check(self, file: &str, source: &str) -> Result<DeclarativeMap> {
        let fail = |at: std::ops::Range<usize>, message: String| {
            pack_error(
                file,
                source,
                Some(Span::of_offset(source, at.start)),
                &message,
            )
        };
        let field = |name: &Spanned<String>, table: &str| {
            Field::parse(name.get_ref()).ok_or_else(|| {
                fail(
                    name.span(),
                    unknown_field(name.get_ref(), &format!("[map.{table}]")),
                )
            })
        };
        let mut renames = BTreeMap::new();
        let mut targets: BTreeMap<String, &str> = BTreeMap::new();
        for (column, target) in &in_file_order(self.columns) {
            let Some(canonical) = target_name(target.get_ref()) else {
                return Err(fail(
                    target.span(),
                    unknown_field(target.get_ref(), "[map.columns]"),
                ));
            };
            if let Some(first) = targets.insert(canonical.clone(), column.get_ref()) {
                return Err(fail(
                    target.span(),
                    format!(
                        "columns `{first}` and `{}` are both mapped to `{canonical}`; map one column to each field",
                        column.get_ref()
                    ),
                ));
            }
            renames.insert(column.get_ref().clone(), Arc::from(canonical));
        }
        let mut case = Vec::new();
        for (name, written) in &in_file_order(self.case) {
            let Some(kind) = Case::parse(written.get_ref()) else {
                let hint = nearest(written.get_ref(), Case::NAMES.iter().copied())
                    .map(|near| format!("did you mean \"{near}\"? "))
                    .unwrap_or_default();
                return Err(fail(
                    written.span(),
                    format!(
                        "unknown case `{}`; {hint}use \"upper\", \"lower\" or \"title\"",
                        written.get_ref()
                    ),
                ));
            };
            case.push((field(name, "case")?, kind));
        }
        let mut copy = Vec::new();
        for (to, from) in &in_file_order(self.copy) {
            copy.push((field(to, "copy")?, field(from, "copy")?));
        }
        let mut splits = Vec::new();
        for (to, written) in in_file_order(self.split) {
            let Some(target) = target_name(to.get_ref()) else {
                return Err(fail(to.span(), unknown_field(to.get_ref(), "[map.split]")));
            };
            if written.separator.get_ref().is_empty() {
                let message = "`separator` must be non-empty text, e.g. \"@\"".to_string();
                return Err(fail(written.separator.span(), message));
            }
            let Ok(part @ 1..) = usize::try_from(*written.part.get_ref()) else {
                let message = "`part` counts from 1: 1 is the text before the first separator";
                return Err(fail(written.part.span(), message.to_string()));
            };
            splits.push(Split {
                to: Arc::from(target),
                from: field(&written.from, "split")?,
                separator: written.separator.into_inner(),
                part,
            });
        }
        let mut defaults = Vec::new();
        for (name, value) in &in_file_order(self.defaults) {
            let constant = match value.get_ref() {
                toml::Value::String(s) => Value::from(s.as_str()),
                toml::Value::Integer(i) => Value::from(*i),
                toml::Value::Float(f) => Value::from(*f),
                toml::Value::Boolean(b) => Value::from(*b),
                _ => {
                    return Err(fail(
                        value.span(),
                        format!(
                            "the default of `{}` must be text, a number or true/false",
                            name.get_ref()
                        ),
                    ))
                }
            };
            defaults.push((field(name, "defaults")?, constant));
        }
        Ok(DeclarativeMap {
            trim: self.trim,
            renames,
            case,
            copy,
            splits,
            defaults,
        })
    }
}

/// A table's entries in the order the file has them (a later entry wins, and errors name
/// the later of two entries).
fn in_file_order<V>(table: BTreeMap<Spanned<String>, V>) -> Vec<(Spanned<String>, V)> {
    let mut entries: Vec<_> = table.into_iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// The canonical name a column may be mapped to: a field, or a dotted `address`/`attributes`
/// entry (`attributes.cost_center`).
pub(super) fn target_name(target: &str) -> Option<String> {
    if let Some(field) = Field::parse(target) {
        return Some(field.name().to_string());
    }
    let (head, tail) = target.split_once('.')?;
    let field = Field::parse(head)
        .filter(|f| matches!(f.kind(), FieldKind::Address | FieldKind::Attributes))?;
    (!tail.trim().is_empty()).then(|| format!("{}.{}", field.name(), tail.trim()))
}

fn unknown_field(name: &str, table: &str) -> String {
    let hint = match nearest_field(name) {
        Some(near) => format!("did you mean `{near}`?"),
        None => "use a canonical field name (see docs/fields.md)".to_string(),
    };
    format!("`{name}` in {table} is not a canonical field; {hint}")
}

impl DeclarativeMap {
    /// The row's columns, renamed, trimmed, cased, copied and defaulted.
    pub fn apply(&self, columns: Vec<(Arc<str>, Value)>) -> Vec<(Arc<str>, Value)> {
        let mut columns: Vec<(Arc<str>, Value)> = columns
            .into_iter()
            .map(|(name, value)| {
                let name = self.renames.get(name.as_ref()).cloned().unwrap_or(name);
                match value {
                    Value::String(text) if self.trim && text.trim().len() != text.len() => {
                        (name, Value::String(text.trim().to_string()))
                    }
                    value => (name, value),
                }
            })
            .collect();
        if self.case.is_empty()
            && self.copy.is_empty()
            && self.splits.is_empty()
            && self.defaults.is_empty()
        {
            return columns;
        }
        let mut fields: Vec<Option<Field>> =
            columns.iter().map(|(name, _)| Field::parse(name)).collect();
        for &(field, case) in &self.case {
            for (slot, (_, value)) in fields.iter().zip(columns.iter_mut()) {
                if let (Some(f), Value::String(text)) = (slot, value) {
                    if *f == field {
                        *text = case.apply(text);
                    }
                }
            }
        }
        for &(to, from) in &self.copy {
            let value = fields
                .iter()
                .rposition(|f| *f == Some(from))
                .map(|i| columns[i].1.clone());
            if let Some(mut value) = value {
                if let (Some((_, case)), Value::String(text)) =
                    (self.case.iter().find(|(f, _)| *f == to), &mut value)
                {
                    *text = case.apply(text);
                }
                set(&mut columns, &mut fields, &Arc::from(to.name()), value);
            }
        }
        for split in &self.splits {
            let part = fields
                .iter()
                .rposition(|f| *f == Some(split.from))
                .and_then(|i| columns[i].1.as_str())
                .and_then(|text| text.split(split.separator.as_str()).nth(split.part - 1))
                .map(Value::from);
            if let Some(part) = part {
                set(&mut columns, &mut fields, &split.to, part);
            }
        }
        for (field, constant) in &self.defaults {
            let given = fields
                .iter()
                .zip(&columns)
                .any(|(f, (_, value))| *f == Some(*field) && !user::is_empty(value));
            if !given {
                let name = Arc::from(field.name());
                set(&mut columns, &mut fields, &name, constant.clone());
            }
        }
        columns
    }

    /// A source column's name after the renames.
    pub fn renamed<'a>(&'a self, column: &'a str) -> &'a str {
        self.renames.get(column).map_or(column, |name| name)
    }

    /// Whether a copy or a default sets `field` whatever the source columns.
    pub fn fills(&self, field: Field) -> bool {
        self.copy.iter().any(|(to, _)| *to == field)
            || self.defaults.iter().any(|(f, _)| *f == field)
    }

    /// What the mapping does, for `rules check`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.renames.is_empty() {
            parts.push(format!("rename {} column(s)", self.renames.len()));
        }
        if self.trim {
            parts.push("trim text".to_string());
        }
        for (field, case) in &self.case {
            parts.push(format!("{field} {}", case.name()));
        }
        for (to, from) in &self.copy {
            parts.push(format!("{to} = {from}"));
        }
        for split in &self.splits {
            parts.push(format!(
                "{} = part {} of {} split at {:?}",
                split.to, split.part, split.from, split.separator
            ));
        }
        for (field, constant) in &self.defaults {
            let shown = if field.is_secret() {
                crate::secret::MASK.to_string()
            } else {
                constant.to_string()
            };
            parts.push(format!("{field} defaults to {shown}"));
        }
        format!("tenant.toml [map]: {}", parts.join(", "))
    }
}

/// Sets a field (or a dotted entry), replacing every column that carried it.
fn set(
    columns: &mut Vec<(Arc<str>, Value)>,
    fields: &mut Vec<Option<Field>>,
    to: &Arc<str>,
    value: Value,
) {
    let field = Field::parse(to);
    let mut i = 0;
    while i < columns.len() {
        if (field.is_some() && fields[i] == field) || columns[i].0 == *to {
            columns.remove(i);
            fields.remove(i);
        } else {
            i += 1;
        }
    }
    columns.push((to.clone(), value));
    fields.push(field);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::Settings;

    fn parse(toml: &str) -> Result<DeclarativeMap> {
        Settings::parse("t.toml", toml).map(|s| s.map.expect("a [map] table"))
    }

    fn error(toml: &str) -> String {
        Settings::parse("t.toml", toml).unwrap_err().to_string()
    }

    fn row(pairs: &[(&str, Value)]) -> Vec<(Arc<str>, Value)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    fn named(columns: &[(Arc<str>, Value)]) -> Vec<(&str, &Value)> {
        columns.iter().map(|(k, v)| (k.as_ref(), v)).collect()
    }

    const ACME: &str = r#"
[map]
trim = true
[map.columns]
"Employee ID" = "external_id"
"Work Email" = "email"
"Cost Center" = "attributes.cost_center"
[map.case]
external_id = "upper"
email = "lower"
first_name = "title"
[map.copy]
username = "email"
[map.split]
"attributes.email_domain" = { from = "email", separator = "@", part = 2 }
[map.defaults]
language = "en"
"#;

    #[test]
    fn renames_trims_cases_copies_and_defaults_in_that_order() {
        let map = parse(ACME).unwrap();
        let out = map.apply(row(&[
            ("Employee ID", json!(" e1 ")),
            ("Work Email", json!(" Ada@Example.COM")),
            ("first_name", json!("aDA lovelace")),
            ("Cost Center", json!("cc-1 ")),
            ("Shoe size", json!(44)),
        ]));
        assert_eq!(
            named(&out),
            vec![
                ("external_id", &json!("E1")),
                ("email", &json!("ada@example.com")),
                ("first_name", &json!("Ada Lovelace")),
                ("attributes.cost_center", &json!("cc-1")),
                ("Shoe size", &json!(44)),
                ("username", &json!("ada@example.com")),
                ("attributes.email_domain", &json!("example.com")),
                ("language", &json!("en")),
            ]
        );
    }

    #[test]
    fn a_default_leaves_a_given_value_and_fills_a_blank_one() {
        let map = parse("[map.defaults]\nlanguage = \"en\"\n").unwrap();
        let given = map.apply(row(&[("Language", json!("nb"))]));
        assert_eq!(named(&given), vec![("Language", &json!("nb"))]);
        let blank = map.apply(row(&[("Language", json!("  "))]));
        assert_eq!(named(&blank), vec![("language", &json!("en"))]);
    }

    #[test]
    fn a_copy_takes_its_own_case_after_the_source_s() {
        let map = parse(
            "[map.case]\nexternal_id = \"upper\"\nusername = \"lower\"\n[map.copy]\nusername = \"external_id\"\n",
        )
        .unwrap();
        let out = map.apply(row(&[("external_id", json!("u1"))]));
        assert_eq!(
            named(&out),
            vec![("external_id", &json!("U1")), ("username", &json!("u1"))]
        );
    }

    #[test]
    fn without_trim_text_is_kept_as_it_is() {
        let map = parse("[map.columns]\nId = \"external_id\"\n").unwrap();
        let out = map.apply(row(&[("Id", json!(" u1 "))]));
        assert_eq!(named(&out), vec![("external_id", &json!(" u1 "))]);
    }

    #[test]
    fn an_unknown_target_field_is_placed_with_a_hint() {
        let err = error("[map.columns]\n\"Work Email\" = \"emial\"\n");
        assert!(
            err.starts_with("t.toml:2:16: `emial` in [map.columns] is not a canonical field; did you mean `email`?"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_field_in_case_copy_or_defaults_is_placed() {
        let err = error("[map.case]\nemial = \"lower\"\n");
        assert!(
            err.starts_with("t.toml:2:1: `emial` in [map.case]"),
            "{err}"
        );
        let err = error("[map.copy]\nusername = \"emali\"\n");
        assert!(
            err.starts_with("t.toml:2:12: `emali` in [map.copy]"),
            "{err}"
        );
        let err = error("[map.defaults]\nlangauge = \"en\"\n");
        assert!(
            err.starts_with("t.toml:2:1: `langauge` in [map.defaults] is not a canonical field; did you mean `language`?"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_case_names_the_known_ones() {
        let err = error("[map.case]\nemail = \"lowercase\"\n");
        assert!(
            err.starts_with("t.toml:2:9: unknown case `lowercase`; did you mean \"lower\"? use \"upper\", \"lower\" or \"title\""),
            "{err}"
        );
    }

    #[test]
    fn two_columns_mapped_to_one_field_is_an_error_at_the_second() {
        let err = error("[map.columns]\nA = \"email\"\nB = \"Email\"\n");
        assert!(
            err.starts_with("t.toml:3:5: columns `A` and `B` are both mapped to `email`; map one column to each field"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_in_map_names_the_nearest_map_key() {
        let err = error("[map]\ntrm = true\n");
        assert!(
            err.starts_with("t.toml:2:1: unknown key `trm` in [map]; did you mean `trim`?"),
            "{err}"
        );
    }

    #[test]
    fn a_default_that_is_not_a_scalar_is_refused() {
        let err = error("[map.defaults]\nroles = [\"a\"]\n");
        assert!(
            err.starts_with(
                "t.toml:2:9: the default of `roles` must be text, a number or true/false"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_split_without_the_part_leaves_the_field_unset() {
        let map =
            parse("[map.split]\nlast_name = { from = \"name\", separator = \" \", part = 2 }\n")
                .unwrap();
        let out = map.apply(row(&[("name", json!("Ada"))]));
        assert_eq!(named(&out), vec![("name", &json!("Ada"))]);
        let out = map.apply(row(&[("name", json!("Ada Lovelace"))]));
        assert_eq!(out[1], ("last_name".into(), json!("Lovelace")));
    }

    #[test]
    fn a_split_part_counts_from_one() {
        let err =
            error("[map.split]\nlast_name = { from = \"name\", separator = \" \", part = 0 }\n");
        assert!(
            err.starts_with("t.toml:2:54: `part` counts from 1"),
            "{err}"
        );
    }

    #[test]
    fn describe_names_every_step() {
        assert_eq!(
            parse(ACME).unwrap().describe(),
            "tenant.toml [map]: rename 3 column(s), trim text, external_id upper, email lower, \
             first_name title, username = email, attributes.email_domain = part 2 of email split at \"@\", \
             language defaults to \"en\""
        );
    }
}
