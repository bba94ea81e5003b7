//! Fingerprints of source rows, so a plan can skip the rules for rows it has seen before.
//!
//! A row's fingerprint is the xxh3-128 of roster's version, the tenant's rules, its reference
//! tables and the row's columns (names and typed values, in order). The rules see nothing else of a row and
//! are deterministic (sandboxed Rhai, no clock or randomness), so two rows with the same
//! fingerprint evaluate to the same user. The apply keeps a row's fingerprint beside the
//! record it made when that record is exactly the evaluated user: no problems, no fields kept
//! from before, no password (whose stored hash is salted), no platform ids. A later row with
//! that fingerprint is then that stored user again, read back instead of evaluated. A row the
//! rules rejected on their own is remembered too (see [`crate::plan::rejection`]).

use serde_json::Value;
use xxhash_rust::xxh3::{xxh3_128, Xxh3Default};

use crate::hash::{FrozenMap, Hash128};
use crate::read::Row;

/// Fingerprints rows, and knows the stored users that a fingerprint makes.
pub struct Fingerprints {
    salt: [u8; 16],
    /// Fingerprint → the slot of the stored user it made in the state's key index.
    known: FrozenMap<u32>,
    /// Fingerprint → the rejection the rules made of its row, as JSON text (see
    /// [`crate::plan::rejection`]).
    rejected: FrozenMap<Box<str>>,
}

impl Fingerprints {
    /// Fingerprints for rules with digest `rules` and reference tables with digest `refs`;
    /// `known` are the stored users' (see [`crate::plan::stored::Indexes::fingerprints`]).
    pub fn new(rules: &str, refs: Hash128, known: FrozenMap<u32>) -> Fingerprints {
        let mut hasher = Xxh3Default::new();
        // Another roster may map or check a row differently.
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update(rules.as_bytes());
        hasher.update(&refs.to_bytes());
        Fingerprints {
            salt: hasher.digest128().to_le_bytes(),
            known,
            rejected: FrozenMap::new(Vec::new()),
        }
    }

    /// These fingerprints, also knowing the `rejected` rows' remembered rejections (JSON
    /// texts, by fingerprint).
    pub fn with_rejections(self, rejected: Vec<(Hash128, Box<str>)>) -> Fingerprints {
        Fingerprints {
            rejected: FrozenMap::new(rejected),
            ..self
        }
    }

    /// The row's fingerprint.
    pub fn of(&self, row: &Row) -> Hash128 {
        self.hash(|bytes| {
            for (name, value) in &row.columns {
                feed_text(bytes, name);
                feed(bytes, value);
            }
        })
    }

    /// The fingerprint of a row of text columns (a CSV row before it is built): the same as
    /// [`Fingerprints::of`] the row.
    pub fn of_texts<'t>(&self, columns: impl Iterator<Item = (&'t str, &'t str)>) -> Hash128 {
        self.hash(|bytes| {
            for (name, text) in columns {
                feed_text(bytes, name);
                feed_string(bytes, text);
            }
        })
    }

    /// The hash of the salt and the bytes `feed_columns` adds.
    fn hash(&self, feed_columns: impl FnOnce(&mut Vec<u8>)) -> Hash128 {
        // Hashed in one call: fed to a streaming hasher a few bytes at a time, the ~25
        // pieces of a row cost twice as much. Both give the same hash of the same bytes.
        let mut bytes = Vec::with_capacity(FINGERPRINTED_BYTES);
        bytes.extend_from_slice(&self.salt);
        feed_columns(&mut bytes);
        Hash128::from(xxh3_128(&bytes))
    }

    /// The slot in the state's key index of the stored user that a row with this
    /// fingerprint makes.
    pub fn known(&self, fingerprint: Hash128) -> Option<usize> {
        self.known.get(&fingerprint).map(|slot| *slot as usize)
    }

    /// The slot of the remembered rejection of a row with this fingerprint, if any.
    pub fn rejected(&self, fingerprint: Hash128) -> Option<usize> {
        self.rejected.slot(&fingerprint)
    }

    /// The remembered rejection at `slot` (see [`Fingerprints::rejected`]), as JSON text.
    pub fn rejection_at(&self, slot: usize) -> &str {
        self.rejected.value_at(slot)
    }
}

/// Room for a typical row's fingerprinted bytes without growing.
const FINGERPRINTED_BYTES: usize = 512;

/// Feeds a value with its type and every length, so no two values feed the same bytes.
fn feed(bytes: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => bytes.push(b'n'),
        Value::Bool(b) => bytes.push(if *b { b't' } else { b'f' }),
        Value::Number(n) => {
            bytes.push(b'#');
            feed_text(bytes, &n.to_string());
        }
        Value::String(s) => feed_string(bytes, s),
        Value::Array(items) => {
            bytes.push(b'[');
            bytes.extend_from_slice(&(items.len() as u64).to_le_bytes());
            items.iter().for_each(|item| feed(bytes, item));
        }
        Value::Object(map) => {
            bytes.push(b'{');
            bytes.extend_from_slice(&(map.len() as u64).to_le_bytes());
            for (key, item) in map {
                feed_text(bytes, key);
                feed(bytes, item);
            }
        }
    }
}

fn feed_string(bytes: &mut Vec<u8>, text: &str) {
    bytes.push(b's');
    feed_text(bytes, text);
}

fn feed_text(bytes: &mut Vec<u8>, text: &str) {
    bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::position::Position;
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
    fn a_fingerprint_hashes_the_salt_then_each_name_and_typed_value_with_its_length() {
        // Workspaces keep fingerprints: the bytes hashed must not drift between releases.
        let f = fingerprints("rules", "refs");
        let mut stream = Xxh3Default::new();
        for piece in [
            &f.salt[..],
            &1u64.to_le_bytes(),
            b"a",
            b"s",
            &2u64.to_le_bytes(),
            b"xy",
        ] {
            stream.update(piece);
        }
        let expected = Hash128::from(stream.digest128());
        assert_eq!(f.of(&row(&[("a", json!("xy"))], 2)), expected);
    }

    #[test]
    fn a_row_of_texts_has_the_fingerprint_of_the_row_built_from_them() {
        let f = fingerprints("rules", "refs");
        let built = row(&[("a", json!("xy")), ("b", json!(""))], 2);
        let texts = [("a", "xy"), ("b", "")].into_iter();
        assert_eq!(f.of_texts(texts), f.of(&built));
        let other = [("a", "xy"), ("b", "z")].into_iter();
        assert_ne!(f.of_texts(other), f.of(&built));
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
