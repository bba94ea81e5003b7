//! Whether a pack's `map` hooks only do what `tenant.toml`'s `[map]` does, found on the rows
//! of `rules check --data` (see `docs/rules.md`).
//!
//! For each field the hooks return, a probe keeps the ways `[map]` could have made its value
//! (a column, trimmed or not, in a case; a part of another field; a constant default) and
//! drops a way at the first row where it gives another value. Each worker thread probes its
//! own rows and the probes are merged at the end. The `[map]` they leave is only a candidate:
//! [`MapProbe::confirm`] runs it through the real mapping on every row again and keeps it only when it
//! makes exactly the users the hooks made.

mod confirm;
mod ways;
mod written;

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;

use self::confirm::{fingerprint, made_by};
use self::ways::{KeyWays, Way};
use self::written::Written;
use super::settings::Settings;
use crate::error::Result;
use crate::map::Mapped;
use crate::model::position::Position;
use crate::model::user::{Field, FieldKind};
use crate::read::ReadOptions;

/// What the probes of one check learn: shared by the evaluators of the worker threads only
/// through the flag that says a row ruled every `[map]` out, so the others stop too.
#[derive(Debug)]
pub struct MapProbe {
    given_up: Arc<AtomicBool>,
    keys: Vec<KeyWays>,
    rows: u64,
    users: u128,
}

impl MapProbe {
    /// A probe for one evaluator; probes made with the same `given_up` stop together.
    pub(crate) fn new(given_up: Arc<AtomicBool>) -> MapProbe {
        MapProbe {
            given_up,
            keys: Vec::new(),
            rows: 0,
            users: 0,
        }
    }

    /// Whether a `[map]` may still explain the rows.
    pub(crate) fn probing(&self) -> bool {
        !self.given_up.load(Ordering::Relaxed)
    }

    /// Rules every `[map]` out (a hook failed, or returned what `[map]` cannot make).
    pub(crate) fn give_up(&self) {
        self.given_up.store(true, Ordering::Relaxed);
    }

    /// Narrows the ways of each key by one row: its source `columns` and what the hooks
    /// returned for it.
    pub(crate) fn observe(&mut self, columns: &[(Arc<str>, Value)], returned: &[(&str, Value)]) {
        self.rows += 1;
        let row = self.rows;
        let returned = &flatten(returned);
        for &(ref key, value) in returned {
            let at = match self.keys.binary_search_by(|k| k.key.as_str().cmp(key)) {
                Ok(at) => at,
                Err(at) => match KeyWays::first_seen(key, value, columns, returned) {
                    Some(ways) => {
                        self.keys.insert(at, ways);
                        at
                    }
                    None => return self.give_up(),
                },
            };
            let ways = &mut self.keys[at];
            ways.seen_at = row;
            ways.narrow(Some(value), columns, returned);
            if ways.ways.is_empty() {
                return self.give_up();
            }
        }
        for ways in self.keys.iter_mut().filter(|k| k.seen_at != row) {
            ways.narrow(None, columns, returned);
            if ways.ways.is_empty() {
                return self.give_up();
            }
        }
    }

    /// Counts the user the hooks made of the row at `position`.
    pub(crate) fn made(&mut self, position: &Position, mapped: &Mapped) {
        self.users = self.users.wrapping_add(fingerprint(position, mapped));
    }

    /// This probe and `other`'s, as if one had seen the rows of both.
    pub(crate) fn merge(mut self, other: MapProbe) -> MapProbe {
        self.rows += other.rows;
        self.users = self.users.wrapping_add(other.users);
        for theirs in other.keys {
            match self.keys.binary_search_by(|k| k.key.cmp(&theirs.key)) {
                Ok(at) => {
                    let ours = &mut self.keys[at];
                    ours.ways = std::mem::take(&mut ours.ways)
                        .into_iter()
                        .filter_map(|way| theirs.ways.iter().find_map(|t| way.meet(t)))
                        .collect();
                    if ours.ways.is_empty() {
                        self.give_up();
                    }
                }
                Err(at) => self.keys.insert(at, theirs),
            }
        }
        self
    }

    /// The `[map]` (as `tenant.toml` text) that makes the users the hooks made on every row
    /// of `files`, if the probe found one: it is parsed and run by the real mapping on every
    /// row again, and kept only when it makes the same users. `None` for stdin, which cannot
    /// be read twice.
    pub fn confirm(
        &self,
        separator: char,
        files: &[String],
        options: &ReadOptions,
    ) -> Result<Option<String>> {
        if !self.probing() || self.rows == 0 || files.iter().any(|f| f == "-") {
            return Ok(None);
        }
        let Some(text) = [true, false]
            .into_iter()
            .find_map(|trim| self.written(trim))
        else {
            return Ok(None);
        };
        let Ok(Some(map)) = Settings::parse("tenant.toml", &text).map(|s| s.map) else {
            return Ok(None);
        };
        let (rows, users, columns_fit) = made_by(&map, separator, files, options)?;
        let same = columns_fit && rows == self.rows && users == self.users;
        Ok(same.then_some(text))
    }

    /// The `[map]` of the ways left, trimming or not, as `tenant.toml` text; `None` when a
    /// key has no way `[map]` can write.
    fn written(&self, trim: bool) -> Option<String> {
        let mut chosen: Vec<(&KeyWays, Way)> = Vec::new();
        for key in &self.keys {
            let way = key
                .ways
                .iter()
                .filter(|way| key.writable(way, trim))
                .min_by_key(|way| key.cost(way))?;
            chosen.push((key, way.clone()));
        }
        Written::of(chosen, trim).map(|written| written.toml())
    }
}

/// A key the hooks returned and its value; the entries of a returned `address` or
/// `attributes` object are keys of their own (`attributes.region`), as `[map]` makes them.
pub(super) type Returned<'r> = (Cow<'r, str>, &'r Value);

fn flatten<'r>(returned: &'r [(&'r str, Value)]) -> Vec<Returned<'r>> {
    let mut flat = Vec::with_capacity(returned.len());
    for (key, value) in returned {
        match (Field::parse(key), value) {
            (Some(field), Value::Object(entries))
                if matches!(field.kind(), FieldKind::Address | FieldKind::Attributes) =>
            {
                for (entry, value) in entries {
                    flat.push((Cow::Owned(format!("{}.{entry}", field.name())), value));
                }
            }
            _ => flat.push((Cow::Borrowed(*key), value)),
        }
    }
    flat
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Vec<(Arc<str>, Value)> {
        pairs.iter().map(|(k, v)| ((*k).into(), json!(v))).collect()
    }

    fn probe() -> MapProbe {
        MapProbe::new(Arc::default())
    }

    #[test]
    fn rows_narrow_a_field_to_the_ways_that_give_it_on_every_row() {
        let mut p = probe();
        p.observe(&row(&[("Id", " u1 ")]), &[("external_id", json!("U1"))]);
        p.observe(&row(&[("Id", "u2")]), &[("external_id", json!("U2"))]);
        let toml = p.written(true).unwrap();
        assert_eq!(
            toml,
            "[map]\ntrim = true\n\n[map.columns]\nId = \"external_id\"\n\n[map.case]\nexternal_id = \"upper\"\n"
        );
        assert_eq!(p.written(false), None, "the first row needs the trim");
        assert!(p.probing());
    }

    #[test]
    fn a_field_no_way_explains_gives_up_for_every_thread() {
        let given_up = Arc::default();
        let (mut a, b) = (
            MapProbe::new(Arc::clone(&given_up)),
            MapProbe::new(given_up),
        );
        a.observe(&row(&[("Status", "Active")]), &[("active", json!(true))]);
        a.observe(
            &row(&[("Status", "Terminated")]),
            &[("active", json!(false))],
        );
        assert!(!a.probing() && !b.probing());
    }

    #[test]
    fn merged_probes_keep_the_ways_both_kept() {
        let (mut a, mut b) = (probe(), probe());
        a.observe(&row(&[("mail", "ada@x")]), &[("email", json!("ada@x"))]);
        b.observe(&row(&[("mail", "Bob@x")]), &[("email", json!("bob@x"))]);
        let merged = a.merge(b);
        assert_eq!(merged.rows, 2);
        let toml = merged.written(false).unwrap();
        assert!(toml.contains("mail = \"email\""), "{toml}");
        assert!(toml.contains("email = \"lower\""), "{toml}");
    }

    #[test]
    fn a_returned_key_that_is_no_field_gives_up() {
        let mut p = probe();
        p.observe(&row(&[("a", "x")]), &[("shoe_size", json!("x"))]);
        assert!(!p.probing());
    }
}
