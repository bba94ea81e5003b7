//! The declarative rules applied to one user: defaults, lookups, then the checks.
//!
//! Every function adds to a list of problems and never stops early: a consultant fixing a
//! file wants every problem of a row at once. `Unique` is the planner's, not checked here.

use std::borrow::Cow;

use serde_json::Value;

use super::helpers::is_email;
use super::lookup::{Found, RefTables};
use super::validation::{parse_bound, Bound, FieldRule};
use crate::model::problem::Problem;
use crate::model::user::{is_empty, Field, FieldKind, User};

/// `DefaultValue`: fills a field that is absent or empty.
pub(super) fn apply_defaults(rules: &[FieldRule], user: &mut User) {
    for rule in rules {
        if let Some(default) = &rule.default {
            if user.get(rule.field).is_none_or(is_empty) {
                user.set(rule.field, default.clone());
            }
        }
    }
}

/// `FieldName`: replaces each looked-up value by the id of its reference row.
pub(super) fn apply_lookups(
    rules: &[FieldRule],
    refs: &RefTables,
    user: &mut User,
    problems: &mut Vec<Problem>,
) {
    for rule in rules {
        let Some(column) = &rule.lookup else { continue };
        let Some(value) = user.get(rule.field).filter(|v| !is_empty(v)).cloned() else {
            continue;
        };
        let table = rule.table();
        let mut one = |text: &str| -> Option<Value> {
            let problem = match refs.find(table, column, text) {
                Ok(Found::One(id)) => return Some(Value::String(id.to_string())),
                Ok(Found::None) => {
                    format!("`{text}` is not in reference table `{table}` (column `{column}`)")
                }
                Ok(Found::Many(n)) => {
                    format!("`{text}` matches {n} rows of reference table `{table}` (column `{column}`)")
                }
                // `Evaluator` checks every lookup's table and column before the first row.
                Err(_) => format!("reference table `{table}` with column `{column}` is not loaded"),
            };
            problems.push(Problem::error("Lookup", problem).on_field(rule.field.name()));
            None
        };
        let replaced = match &value {
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().and_then(&mut one))
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            Value::String(text) => one(text),
            other => one(&other.to_string()),
        };
        if let Some(replaced) = replaced {
            user.set(rule.field, replaced);
        }
    }
}

/// `Required`, `Pattern`, `Min`, `Max`, and `IsFullValidation` when any rule asks for it.
pub(super) fn check(
    rules: &[FieldRule],
    list_separator: char,
    user: &User,
    problems: &mut Vec<Problem>,
) {
    for rule in rules {
        let field = rule.field;
        let value = user.get(field).filter(|v| !is_empty(v));
        let Some(value) = value else {
            if rule.required {
                problems.push(
                    Problem::error("Required", format!("`{field}` is required"))
                        .on_field(field.name()),
                );
            }
            continue;
        };
        if let Some(pattern) = &rule.pattern {
            let mut check = |text: &str| {
                if !pattern.is_match(text) {
                    let message = format!(
                        "`{field}` `{}` does not match the pattern `{pattern}`",
                        shown(field, text)
                    );
                    problems.push(Problem::error("Pattern", message).on_field(field.name()));
                }
            };
            match value {
                // Most values are one text: searched without gathering the texts first.
                Value::String(text) => check(text),
                value => texts(value).iter().for_each(|text| check(text)),
            }
        }
        for (name, bound, below) in [("Min", &rule.min, true), ("Max", &rule.max, false)] {
            if let Some(bound) = bound {
                if let Some(message) = outside(field, value, bound, below) {
                    problems.push(Problem::error(name, message).on_field(field.name()));
                }
            }
        }
    }
    if rules.iter().any(|r| r.full) {
        full_validation(user, list_separator, problems);
    }
}

/// The value as the texts a pattern is searched in: each item of a list.
fn texts(value: &Value) -> Vec<Cow<'_, str>> {
    match value {
        Value::String(s) => vec![Cow::Borrowed(s)],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Object(_) => vec![Cow::Owned(value.to_string())],
        other => vec![Cow::Owned(other.to_string())],
    }
}

fn shown(field: Field, text: &str) -> String {
    if field.is_secret() {
        crate::secret::MASK.into()
    } else {
        text.into()
    }
}

/// Why `value` is on the wrong side of `bound`, if it is. Lists compare their item count.
fn outside(field: Field, value: &Value, bound: &Bound, min: bool) -> Option<String> {
    let (word, side) = if min {
        ("minimum", "below")
    } else {
        ("maximum", "above")
    };
    let past = |o: std::cmp::Ordering| if min { o.is_lt() } else { o.is_gt() };
    match (bound, value) {
        (Bound::Number(limit), Value::Array(items)) => past((items.len() as f64).total_cmp(limit))
            .then(|| format!("`{field}` has {} items, {side} the {word} of {limit}", items.len())),
        (Bound::Number(limit), Value::Number(n)) => {
            let n = n.as_f64()?;
            past(n.total_cmp(limit)).then(|| format!("`{field}` is {n}, {side} the {word} {limit}"))
        }
        (Bound::Number(limit), Value::String(text)) => match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => {
                past(n.total_cmp(limit)).then(|| format!("`{field}` is {n}, {side} the {word} {limit}"))
            }
            _ => {
                let len = text.chars().count();
                past((len as f64).total_cmp(limit))
                    .then(|| format!("`{field}` is {len} characters long, {side} the {word} length {limit}"))
            }
        },
        (Bound::Date(limit), Value::String(text)) => match parse_bound(text) {
            Some(Bound::Date(date)) => past(date.cmp(limit))
                .then(|| format!("`{field}` date {date} is {side} the {word} date {limit}")),
            _ => Some(format!("`{field}` `{}` is not an ISO date (YYYY-MM-DD) to compare with the {word} date {limit}", shown(field, text))),
        },
        (Bound::Date(limit), _) => Some(format!("`{field}` is not a date to compare with the {word} date {limit}")),
        _ => None,
    }
}

/// `IsFullValidation`: the type and shape of every present field.
fn full_validation(user: &User, list_separator: char, problems: &mut Vec<Problem>) {
    let mut bad = |field: Field, message: String| {
        problems.push(Problem::error("Type", message).on_field(field.name()));
    };
    for (field, value) in user.fields() {
        if is_empty(value) {
            continue;
        }
        match field.kind() {
            FieldKind::Text if field == Field::Email => {
                if !value.as_str().is_some_and(is_email) {
                    bad(
                        field,
                        format!("`{}` is not an e-mail address", texts(value).join("")),
                    );
                }
            }
            FieldKind::Text | FieldKind::Secret => {
                if !value.is_string() {
                    bad(field, format!("`{field}` must be text"));
                }
            }
            FieldKind::Bool => {
                if !value.is_boolean() {
                    bad(field, format!("`{field}` must be true or false"));
                }
            }
            FieldKind::List => {
                for item in value.as_array().into_iter().flatten() {
                    match item.as_str() {
                        Some(t)
                            if !t.trim().is_empty()
                                && !t.contains(list_separator)
                                && !t.chars().any(char::is_control) => {}
                        _ => bad(
                            field,
                            format!("`{field}` item {item} is not a clean list item"),
                        ),
                    }
                }
            }
            FieldKind::Phones => match user.phones() {
                Ok(phones) => {
                    for phone in phones.into_iter().flatten() {
                        let number = &phone.number;
                        let digits = number.chars().filter(char::is_ascii_digit).count();
                        let clean = number
                            .chars()
                            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
                        if !clean || !(5..=15).contains(&digits) {
                            bad(field, format!("`{number}` is not a phone number"));
                        }
                    }
                }
                Err(e) => bad(field, e.0),
            },
            FieldKind::Address => match user.address() {
                Ok(address) => {
                    let address = address.unwrap_or_default();
                    for (key, part) in [("lat", &address.lat), ("lon", &address.lon)] {
                        if let Some(v) = part.as_deref() {
                            if v.parse::<f64>().is_err() {
                                bad(field, format!("`address.{key}` `{v}` is not a number"));
                            }
                        }
                    }
                }
                Err(e) => bad(field, e.0),
            },
            FieldKind::WorkWeek => match user.work_week() {
                Ok(week) => {
                    for day in week.into_iter().flatten().flatten() {
                        for (key, time) in [("start", &day.start), ("end", &day.end)] {
                            if let Some(v) = time.as_deref() {
                                if chrono::NaiveTime::parse_from_str(v, "%H:%M").is_err() {
                                    bad(
                                        field,
                                        format!("`work_week` {key} `{v}` is not a time (HH:MM)"),
                                    );
                                }
                            }
                        }
                    }
                }
                Err(e) => bad(field, e.0),
            },
            FieldKind::Attributes => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::reference::RefTable;
    use crate::rules::validation::parse;
    use serde_json::json;

    fn rules(json: &str) -> Vec<FieldRule> {
        parse("v.json", json, ';').unwrap()
    }

    fn user(pairs: &[(Field, Value)]) -> User {
        let mut u = User::new();
        for (f, v) in pairs {
            u.set(*f, v.clone());
        }
        u
    }

    fn problems(rules_json: &str, u: &User) -> Vec<(String, String)> {
        let mut out = Vec::new();
        check(&rules(rules_json), ';', u, &mut out);
        out.into_iter().map(|p| (p.rule, p.message)).collect()
    }

    #[test]
    fn required_rejects_absent_and_empty() {
        let r = r#"[{"Name": "email", "Required": true}]"#;
        assert_eq!(problems(r, &User::new())[0].0, "Required");
        assert_eq!(
            problems(r, &user(&[(Field::Email, Value::Null)]))[0].1,
            "`email` is required"
        );
        assert!(problems(r, &user(&[(Field::Email, json!("a@b.no"))])).is_empty());
    }

    #[test]
    fn pattern_is_searched_in_each_item() {
        let r = r#"[{"Name": "roles", "Pattern": "tech"}]"#;
        let p = problems(
            r,
            &user(&[(Field::Roles, json!(["field technician", "admin"]))]),
        );
        assert_eq!(
            p,
            vec![(
                "Pattern".into(),
                "`roles` `admin` does not match the pattern `tech`".into()
            )]
        );
    }

    #[test]
    fn min_and_max_compare_numbers_as_numbers() {
        let r = r#"[{"Name": "external_id", "Min": "10", "Max": "100"}]"#;
        assert_eq!(
            problems(r, &user(&[(Field::ExternalId, json!("9"))]))[0].1,
            "`external_id` is 9, below the minimum 10"
        );
        assert_eq!(
            problems(r, &user(&[(Field::ExternalId, json!("101"))]))[0].0,
            "Max"
        );
        assert!(problems(r, &user(&[(Field::ExternalId, json!("100"))])).is_empty());
    }

    #[test]
    fn min_and_max_compare_text_by_length() {
        let r = r#"[{"Name": "username", "Max": 5}]"#;
        assert_eq!(
            problems(r, &user(&[(Field::Username, json!("abcdef"))]))[0].1,
            "`username` is 6 characters long, above the maximum length 5"
        );
    }

    #[test]
    fn min_and_max_compare_iso_dates_as_dates() {
        let r = r#"[{"Name": "attributes", "Min": "2020-01-01"}, {"Name": "language", "Max": "2024-12-31"}]"#;
        let p = problems(r, &user(&[(Field::Language, json!("2025-01-01"))]));
        assert_eq!(
            p[0].1,
            "`language` date 2025-01-01 is above the maximum date 2024-12-31"
        );
        let p = problems(r, &user(&[(Field::Language, json!("soon"))]));
        assert!(p[0].1.contains("is not an ISO date"), "{p:?}");
    }

    #[test]
    fn defaults_fill_absent_and_empty_only() {
        let r = rules(r#"[{"Name": "language", "DefaultValue": "en"}]"#);
        let mut u = user(&[(Field::Language, json!(""))]);
        apply_defaults(&r, &mut u);
        assert_eq!(u.get(Field::Language), Some(&json!("en")));
        let mut u = user(&[(Field::Language, json!("nb"))]);
        apply_defaults(&r, &mut u);
        assert_eq!(u.get(Field::Language), Some(&json!("nb")));
    }

    fn refs() -> RefTables {
        RefTables::new(vec![RefTable {
            name: "Location".into(),
            columns: vec!["id".into(), "name".into()],
            rows: vec![
                vec!["L1".into(), "North".into()],
                vec!["T2".into(), "South".into()],
                vec!["T3".into(), "south".into()],
            ],
        }])
    }

    #[test]
    fn lookups_replace_each_list_item_by_its_id() {
        let r = rules(r#"[{"Name": "teams", "FieldName": "name"}]"#);
        // `teams` looks in table `teams`; make one under that name.
        let refs = RefTables::new(vec![RefTable {
            name: "teams".into(),
            columns: vec!["id".into(), "name".into()],
            rows: vec![vec!["T1".into(), "North".into()]],
        }]);
        let mut u = user(&[(Field::Teams, json!(["north"]))]);
        let mut p = Vec::new();
        apply_lookups(&r, &refs, &mut u, &mut p);
        assert!(p.is_empty());
        assert_eq!(u.get(Field::Teams), Some(&json!(["T1"])));
    }

    #[test]
    fn lookups_not_found_or_found_twice_are_errors() {
        let r = rules(r#"[{"Name": "location", "FieldName": "name"}]"#);
        let refs = refs();
        for (value, want) in [
            (
                "West",
                "`West` is not in reference table `location` (column `name`)",
            ),
            (
                "south",
                "`south` matches 2 rows of reference table `location` (column `name`)",
            ),
        ] {
            let mut u = user(&[(Field::Location, json!(value))]);
            let mut p = Vec::new();
            apply_lookups(&r, &refs, &mut u, &mut p);
            assert_eq!(
                (p[0].rule.as_str(), p[0].message.as_str()),
                ("Lookup", want)
            );
            assert_eq!(u.get(Field::Location), Some(&json!(value)), "left as given");
        }
    }

    #[test]
    fn full_validation_checks_every_field_shape() {
        let r = r#"[{"Name": "external_id", "IsFullValidation": true}]"#;
        let u = user(&[
            (Field::ExternalId, json!("u1")),
            (Field::Email, json!("not-an-email")),
            (Field::Phones, json!([{"number": "call me"}])),
            (Field::Roles, json!(["a;b"])),
        ]);
        let p = problems(r, &u);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().all(|(rule, _)| rule == "Type"));
        assert!(problems(r, &user(&[(Field::Email, json!("ok@example.com"))])).is_empty());
    }

    #[test]
    fn full_validation_reads_coordinates_and_times_from_the_typed_values() {
        let r = r#"[{"Name": "external_id", "IsFullValidation": true}]"#;
        let u = user(&[
            (Field::ExternalId, json!("u1")),
            (
                Field::Address,
                json!({"city": "Oslo", "lat": "north", "lon": "10.7"}),
            ),
            (
                Field::WorkWeek,
                json!([null, {"day": "monday", "start": "8am", "end": "16:00"}]),
            ),
        ]);
        let messages: Vec<String> = problems(r, &u).into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            messages,
            [
                "`address.lat` `north` is not a number",
                "`work_week` start `8am` is not a time (HH:MM)"
            ]
        );
        let shapeless = user(&[(Field::Address, json!("Oslo"))]);
        let p = problems(r, &shapeless);
        assert!(
            p.len() == 1
                && p[0]
                    .1
                    .starts_with("`address` is not shaped as roster stores it"),
            "{p:?}"
        );
    }
}
