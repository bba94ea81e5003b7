//! Fingerprints of source rows, so a plan can skip the rules for rows it has seen before.
//!
//! A row's fingerprint is the xxh3-128 of roster's version, the tenant's rules, its reference
//! tables and the row's columns (names and typed values, in order). The rules see nothing else of a row and
//! are deterministic (sandboxed Rhai, no clock or randomness), so two rows with the same
//! fingerprint evaluate to the same user. The apply keeps a row's fingerprint beside the
//! record it made when that record is exactly the evaluated user: no problems, no fields kept
//! from before, no password (whose stored hash is salted), no platform ids. A later row with
//! that fingerprint is then that stored user again, read back instead of evaluated.

use serde_json::Value;
use xxhash_rust::xxh3::Xxh3Default;

use crate::hash::{FrozenMap, Hash128};
use crate::read::Row;

/// Fingerprints rows, and knows the stored users that a fingerprint makes.
pub struct Fingerprints {
    salt: [u8; 16],
    /// Fingerprint → the slot of the stored user it made in the state's key index.
    known: FrozenMap<usize>,
}

impl Fingerprints {
    /// Fingerprints for rules with digest `rules` and reference tables with digest `refs`;
    /// `known` are the stored users' (see [`crate::store::state::fingerprints`]).
    pub fn new(rules: &str, refs: Hash128, known: FrozenMap<usize>) -> Fingerprints {
        let mut hasher = Xxh3Default::new();
        // Another roster may map or check a row differently.
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(rules.as_bytes());
        hasher.update(&refs.to_bytes());
        Fingerprints {
            salt: hasher.digest128().to_le_bytes(),
            known,
        }
    }

    /// The row's fingerprint.
    pub fn of(&self, row: &Row) -> Hash128 {
        let mut hasher = Xxh3Default::new();
        hasher.update(&self.salt);
        for (name, value) in &row.columns {
            feed_text(&mut hasher, name);
            feed(&mut hasher, value);
        }
        Hash128::from(hasher.digest128())
    }

    /// The slot in the state's key index of the stored user that a row with this
    /// fingerprint makes.
    pub fn known(&self, fingerprint: Hash128) -> Option<usize> {
        self.known.get(&fingerprint).copied()
    }
}

/// Feeds a value with its type and every length, so no two values feed the same bytes.
fn feed(hasher: &mut Xxh3Default, value: &Value) {
    match value {
        Value::Null => hasher.update(b"n"),
        Value::Bool(b) => hasher.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            hasher.update(b"#");
            feed_text(hasher, &n.to_string());
        }
        Value::String(s) => {
            hasher.update(b"s");
            feed_text(hasher, s);
        }
        Value::Array(items) => {
            hasher.update(b"[");
            hasher.update(&(items.len() as u64).to_le_bytes());
            items.iter().for_each(|item| feed(hasher, item));
        }
        Value::Object(map) => {
            hasher.update(b"{");
            hasher.update(&(map.len() as u64).to_le_bytes());
            for (key, item) in map {
                feed_text(hasher, key);
                feed(hasher, item);
            }
        }
    }
}

fn feed_text(hasher: &mut Xxh3Default, text: &str) {
    hasher.update(&(text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Position;
    use serde_json::json;
    use std::sync::Arc;

    fn row(columns: &[(&str, Value)], line: u64) -> Row {
        Row {
            position: Position {
                file: Arc::from("in.csv"),
                line,
                index: line - 2,
            },
            columns: columns
                .iter()
                .map(|(name, value)| (Arc::from(*name), value.clone()))
                .collect(),
        }
    }

    fn fingerprints(rules: &str, refs: &str) -> Fingerprints {
        Fingerprints::new(rules, Hash128::of(refs), FrozenMap::new(Vec::new()))
    }

    #[test]
    fn the_same_columns_anywhere_have_the_same_fingerprint() {
        let f = fingerprints("rules", "refs");
        let a = row(&[("external_id", json!("u1")), ("email", json!("a@x"))], 2);
        let b = row(
            &[("external_id", json!("u1")), ("email", json!("a@x"))],
            900,
        );
        assert_eq!(f.of(&a), f.of(&b));
    }

    #[test]
    fn any_difference_in_the_row_the_rules_or_the_refs_changes_it() {
        let f = fingerprints("rules", "refs");
        let base = f.of(&row(&[("a", json!("1")), ("b", json!("2"))], 2));
        let others = [
            f.of(&row(&[("a", json!("1")), ("b", json!("3"))], 2)),
            f.of(&row(&[("a", json!(1)), ("b", json!("2"))], 2)),
            f.of(&row(&[("b", json!("2")), ("a", json!("1"))], 2)),
            f.of(&row(&[("a", json!("12")), ("b", json!(""))], 2)),
            f.of(&row(&[("a", json!(["1"])), ("b", json!("2"))], 2)),
            f.of(&row(
                &[("a", json!("1")), ("b", json!("2")), ("c", Value::Null)],
                2,
            )),
            fingerprints("other rules", "refs")
                .of(&row(&[("a", json!("1")), ("b", json!("2"))], 2)),
            fingerprints("rules", "other refs")
                .of(&row(&[("a", json!("1")), ("b", json!("2"))], 2)),
        ];
        for (n, other) in others.iter().enumerate() {
            assert_ne!(base, *other, "variant {n}");
        }
    }
}
