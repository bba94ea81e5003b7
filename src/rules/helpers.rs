//! The helpers every script gets, for the dull parts: text, lists, e-mail, phones, dates,
//! regular expressions, lookups and stable ids.
//!
//! They are gathered in one Rhai module registered on each engine. Helpers that can fail on
//! bad data return `()` rather than throwing, so a script decides what a bad value means.
//! Text helpers also accept `()` and give `()` back, so `trim(row["Missing"])` is harmless.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate};
use regex::Regex;
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Module, FLOAT, INT};

use super::lookup::{Found, RefTables};

/// Compiled patterns kept per engine; bounded so that generated patterns cannot grow it forever.
const REGEX_CACHE: usize = 256;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// The helper module for one engine (its own regex cache, the run's reference tables).
pub(super) fn module(refs: Arc<RefTables>) -> Module {
    let mut m = Module::new();
    text_fn(&mut m, "trim", |s| s.trim().to_string());
    text_fn(&mut m, "lower", str::to_lowercase);
    text_fn(&mut m, "upper", str::to_uppercase);
    text_fn(&mut m, "title_case", title_case);
    m.set_native_fn("split", |text: ImmutableString, sep: ImmutableString| {
        Ok(split(&text, &sep))
    });
    m.set_native_fn("split", |_: (), _: ImmutableString| Ok(Array::new()));
    m.set_native_fn("join", |list: Array, sep: ImmutableString| {
        Ok(list
            .iter()
            .filter(|d| !d.is_unit())
            .map(Dynamic::to_string)
            .collect::<Vec<_>>()
            .join(&sep))
    });
    m.set_native_fn("is_email", |text: ImmutableString| Ok(is_email(&text)));
    m.set_native_fn("is_email", |_: ()| Ok(false));
    m.set_native_fn(
        "phone_e164",
        |text: ImmutableString, country: ImmutableString| Ok(or_unit(phone_e164(&text, &country))),
    );
    m.set_native_fn("phone_e164", |_: (), _: ImmutableString| Ok(Dynamic::UNIT));
    for (name, parse) in [
        ("parse_date", parse_date as fn(&str) -> Option<NaiveDate>),
        ("parse_date_us", |t: &str| date(t, "%m/%d/%Y")),
        ("parse_date_eu", |t: &str| date(t, "%d/%m/%Y")),
    ] {
        m.set_native_fn(name, move |text: ImmutableString| {
            Ok(or_unit(parse(&text).map(iso)))
        });
        m.set_native_fn(name, |_: ()| Ok(Dynamic::UNIT));
    }
    m.set_native_fn("excel_date", |serial: INT| {
        Ok(or_unit(excel_date(serial as FLOAT).map(iso)))
    });
    m.set_native_fn("excel_date", |serial: FLOAT| {
        Ok(or_unit(excel_date(serial).map(iso)))
    });
    m.set_native_fn("excel_date", |serial: ImmutableString| {
        Ok(or_unit(
            serial.trim().parse().ok().and_then(excel_date).map(iso),
        ))
    });
    m.set_native_fn("excel_date", |_: ()| Ok(Dynamic::UNIT));
    let cache = Arc::new(Mutex::new(HashMap::<String, Regex>::new()));
    let c = cache.clone();
    m.set_native_fn(
        "regex_match",
        move |text: ImmutableString, pattern: ImmutableString| {
            with_regex(&c, &pattern, |re| re.is_match(&text))
        },
    );
    m.set_native_fn("regex_match", |_: (), _: ImmutableString| Ok(false));
    m.set_native_fn(
        "regex_replace",
        move |text: ImmutableString, pattern: ImmutableString, with: ImmutableString| {
            with_regex(&cache, &pattern, |re| {
                re.replace_all(&text, with.as_str()).into_owned()
            })
        },
    );
    m.set_native_fn(
        "regex_replace",
        |_: (), _: ImmutableString, _: ImmutableString| Ok(Dynamic::UNIT),
    );
    m.set_native_fn(
        "lookup",
        move |table: ImmutableString, column: ImmutableString, value: Dynamic| {
            if value.is_unit() {
                return Ok(Dynamic::UNIT);
            }
            match refs.find(&table, &column, &value.to_string()) {
                Ok(Found::One(id)) => Ok(Dynamic::from(id.to_string())),
                Ok(_) => Ok(Dynamic::UNIT),
                Err(_) => Err(format!(
                    "reference table `{table}` with column `{column}` is not loaded"
                )
                .into()),
            }
        },
    );
    m.set_native_fn("stable_id", |namespace: ImmutableString, text: Dynamic| {
        Ok(stable_id(&namespace, &text.to_string()))
    });
    m
}

/// Registers a text → text helper, and its `()` → `()` twin.
fn text_fn(m: &mut Module, name: &str, f: fn(&str) -> String) {
    m.set_native_fn(name, move |s: ImmutableString| Ok(f(&s)));
    m.set_native_fn(name, |_: ()| Ok(Dynamic::UNIT));
}

fn or_unit(value: Option<String>) -> Dynamic {
    value.map_or(Dynamic::UNIT, Dynamic::from)
}

fn with_regex<T>(
    cache: &Mutex<HashMap<String, Regex>>,
    pattern: &str,
    f: impl FnOnce(&Regex) -> T,
) -> Fallible<T> {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if !cache.contains_key(pattern) {
        let re = Regex::new(pattern)
            .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))?;
        if cache.len() >= REGEX_CACHE {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re);
    }
    Ok(f(&cache[pattern]))
}

/// Upper-cases the first letter of each word and lower-cases the rest (`ANNE-MARIE o'neil` →
/// `Anne-Marie O'Neil`).
pub(super) fn title_case(text: &str) -> String {
    title_chars(text).collect()
}

/// The characters of [`title_case`], for comparing without building the text.
pub(super) fn title_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    let mut start = true;
    text.chars().flat_map(move |c| {
        let word_start = std::mem::replace(&mut start, !c.is_alphanumeric());
        let (upper, lower) = (c.to_uppercase(), c.to_lowercase());
        upper
            .filter(move |_| word_start)
            .chain(lower.filter(move |_| !word_start))
    })
}

/// Splits on `sep`, trims each item, drops empty ones.
fn split(text: &str, sep: &str) -> Array {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Dynamic::from(s.to_string()))
        .collect()
}

/// A plain e-mail syntax check: `local@domain.tld`, no spaces, a dotted domain.
pub(super) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    local_ok && domain_ok
}

/// Country → calling code, for numbers written without one.
const CALLING_CODES: &[(&str, &str)] = &[
    ("US", "1"),
    ("CA", "1"),
    ("GB", "44"),
    ("UK", "44"),
    ("IE", "353"),
    ("DE", "49"),
    ("AT", "43"),
    ("CH", "41"),
    ("FR", "33"),
    ("BE", "32"),
    ("NL", "31"),
    ("LU", "352"),
    ("DK", "45"),
    ("NO", "47"),
    ("SE", "46"),
    ("FI", "358"),
    ("IS", "354"),
    ("ES", "34"),
    ("PT", "351"),
    ("IT", "39"),
    ("PL", "48"),
    ("CZ", "420"),
    ("AU", "61"),
    ("NZ", "64"),
    ("IN", "91"),
    ("ZA", "27"),
    ("BR", "55"),
    ("MX", "52"),
    ("JP", "81"),
    ("SG", "65"),
];

/// Normalises a phone number to E.164 (`+4791234567`), using `country` (ISO code like `NO`,
/// or a calling code like `47`) for national numbers. `None` when it cannot.
pub(super) fn phone_e164(text: &str, country: &str) -> Option<String> {
    // A "(0)" between the country code and the number is a trunk prefix to drop.
    let text = text.replace("(0)", "");
    let text = text.trim();
    if text
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().\u{a0}/".contains(c)))
    {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let full = if text.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else {
        let code = country.trim().trim_start_matches('+');
        let code = if code.chars().all(|c| c.is_ascii_digit()) && !code.is_empty() {
            code
        } else {
            CALLING_CODES
                .iter()
                .find(|(iso, _)| iso.eq_ignore_ascii_case(code))
                .map(|(_, c)| *c)?
        };
        match code {
            // North America: ten digits, or eleven with the leading 1.
            "1" if digits.len() == 11 && digits.starts_with('1') => digits,
            "1" if digits.len() == 10 => format!("1{digits}"),
            "1" => return None,
            // Italy keeps its leading 0.
            "39" => format!("39{digits}"),
            _ => format!("{code}{}", digits.strip_prefix('0').unwrap_or(&digits)),
        }
    };
    (8..=15).contains(&full.len()).then(|| format!("+{full}"))
}

fn date(text: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), format).ok()
}

/// ISO (`2024-03-01`, also the date of an ISO date-time) or `dd.mm.yyyy`.
pub(super) fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    date(text, "%Y-%m-%d")
        .or_else(|| {
            text.get(..10)
                .filter(|_| text[10..].starts_with(['T', ' ']))
                .and_then(|d| date(d, "%Y-%m-%d"))
        })
        .or_else(|| date(text, "%d.%m.%Y"))
}

/// An Excel serial date (1900 system, as spreadsheets export it).
pub(super) fn excel_date(serial: FLOAT) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    // Day 0 is 1899-12-30 once Excel's phantom 1900-02-29 (serial 60) is accounted for.
    let days = serial.trunc() as i64;
    let days = if days < 60 { days + 1 } else { days };
    NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_signed(Duration::days(days))
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A stable id for `text` in `namespace`: the same inputs give the same id on every run and
/// machine. Shaped as a UUID (version 8, "custom": xxh3-128 of the namespace and the text).
pub(super) fn stable_id(namespace: &str, text: &str) -> String {
    let mut input = Vec::with_capacity(namespace.len() + text.len() + 1);
    input.extend_from_slice(namespace.as_bytes());
    input.push(0);
    input.extend_from_slice(text.as_bytes());
    uuid::Uuid::new_v8(xxhash_rust::xxh3::xxh3_128(&input).to_be_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::reference::RefTable;

    fn eval(script: &str) -> Dynamic {
        let refs = RefTables::new(vec![RefTable {
            name: "location".into(),
            columns: vec!["id".into(), "name".into()],
            rows: vec![vec!["L1".into(), "Oslo".into()]],
        }]);
        engine(Arc::new(refs)).eval::<Dynamic>(script).unwrap()
    }

    /// A bare engine with the helpers; the sandbox around them is `engine.rs`'s to test.
    fn engine(refs: Arc<RefTables>) -> rhai::Engine {
        let mut engine = rhai::Engine::new();
        engine.register_global_module(module(refs).into());
        engine
    }

    fn text(script: &str) -> String {
        eval(script).to_string()
    }

    #[test]
    fn text_helpers() {
        assert_eq!(text(r#"trim("  a b ")"#), "a b");
        assert_eq!(text(r#"lower("ÅSE")"#), "åse");
        assert_eq!(text(r#"upper("åse")"#), "ÅSE");
        assert_eq!(
            text(r#"title_case("ANNE-MARIE o'neil")"#),
            "Anne-Marie O'Neil"
        );
        assert!(eval("trim(())").is_unit());
        assert_eq!(text(r#"" x ".trim()"#), "x", "method style works too");
    }

    #[test]
    fn list_helpers() {
        assert_eq!(text(r#"split(" a; b ;;c", ";").len()"#), "3");
        assert_eq!(text(r#"join(split("a;b", ";"), ", ")"#), "a, b");
    }

    #[test]
    fn email_helper() {
        assert!(is_email("ola.nordmann@example.no"));
        assert!(is_email("Zoë@exämple.de"));
        for bad in [
            "", "a@b", "a b@c.no", "@c.no", "a@@c.no", "a@c..no", "a.@c.no", "a@c.n0",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert_eq!(text(r#"is_email("x@y.com")"#), "true");
    }

    #[test]
    fn phone_helper() {
        assert_eq!(
            phone_e164("912 34 567", "NO").as_deref(),
            Some("+4791234567")
        );
        assert_eq!(
            phone_e164("+47 912 34 567", "SE").as_deref(),
            Some("+4791234567")
        );
        assert_eq!(
            phone_e164("0044 20 7946 0958", "NO").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            phone_e164("020 7946 0958", "GB").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            phone_e164("+44 (0)20 7946 0958", "GB").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            phone_e164("(555) 010-0199", "US").as_deref(),
            Some("+15550100199")
        );
        assert_eq!(
            phone_e164("06 12 34 56 78", "33").as_deref(),
            Some("+33612345678")
        );
        assert_eq!(
            phone_e164("06 1234 5678", "IT").as_deref(),
            Some("+390612345678")
        );
        assert_eq!(phone_e164("call me", "NO"), None);
        assert_eq!(phone_e164("123", "NO"), None);
        assert_eq!(phone_e164("912 34 567", "XX"), None);
        assert!(eval(r#"phone_e164("n/a", "NO")"#).is_unit());
    }

    #[test]
    fn date_helpers() {
        assert_eq!(text(r#"parse_date("2024-03-01")"#), "2024-03-01");
        assert_eq!(text(r#"parse_date("2024-03-01T08:00:00Z")"#), "2024-03-01");
        assert_eq!(text(r#"parse_date("01.03.2024")"#), "2024-03-01");
        assert!(eval(r#"parse_date("31.02.2024")"#).is_unit());
        assert_eq!(text(r#"parse_date_us("03/01/2024")"#), "2024-03-01");
        assert_eq!(text(r#"parse_date_eu("01/03/2024")"#), "2024-03-01");
        assert_eq!(text("excel_date(45352)"), "2024-03-01");
        assert_eq!(text(r#"excel_date("45352")"#), "2024-03-01");
        assert_eq!(text("excel_date(1)"), "1900-01-01");
        assert!(eval("excel_date(-3)").is_unit());
    }

    #[test]
    fn regex_helpers() {
        assert_eq!(text(r#"regex_match("AB-12", "^[A-Z]+-\\d+$")"#), "true");
        assert_eq!(text(r#"regex_replace("a  b   c", "\\s+", " ")"#), "a b c");
        let refs = Arc::new(RefTables::empty());
        let err = engine(refs)
            .eval::<Dynamic>(r#"regex_match("a", "(")"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("invalid regular expression `(`"),
            "{err}"
        );
    }

    #[test]
    fn lookup_helper() {
        assert_eq!(text(r#"lookup("Location", "name", "oslo")"#), "L1");
        assert!(eval(r#"lookup("location", "name", "Bergen")"#).is_unit());
    }

    #[test]
    fn stable_ids_are_stable_and_shaped_as_uuids() {
        let a = stable_id("acme", "E100");
        assert_eq!(a, stable_id("acme", "E100"));
        assert_ne!(a, stable_id("acme", "E101"));
        assert_ne!(a, stable_id("acm", "eE100"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert_eq!(text(r#"stable_id("acme", "E100")"#), a);
    }
}
