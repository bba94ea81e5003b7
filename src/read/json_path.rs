//! `--json-path`: the array of users at a path of keys, and when the path leads nowhere, a
//! message that lists the arrays of objects the document holds.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::json::{scalars, Walk};
use super::scan::{Kept, Scan};
use crate::Error;

/// The most candidate paths a message names.
const LISTED: usize = 8;

/// `a.b.c` for messages.
pub(super) fn dotted(path: &[String]) -> String {
    path.join(".")
}

/// Paths as a list for messages: `` `a`, `b.c` ``, and how many more.
pub(super) fn listed(paths: &[String]) -> String {
    let mut text: Vec<String> = paths
        .iter()
        .take(LISTED)
        .map(|p| format!("`{p}`"))
        .collect();
    if paths.len() > LISTED {
        text.push(format!("and {} more", paths.len() - LISTED));
    }
    text.join(", ")
}

/// Reads the array at `path` of the top-level object.
pub(super) fn seek<'de, A: MapAccess<'de>>(
    walk: &mut Walk<'_, '_>,
    map: A,
    path: &[String],
    start: (u64, u64),
) -> Result<(), A::Error> {
    let mut found = false;
    let mut arrays = Vec::new();
    Seek {
        walk: &mut *walk,
        path,
        depth: 0,
        found: &mut found,
        arrays: &mut arrays,
        at: start,
    }
    .visit_map(map)?;
    if found {
        return Ok(());
    }
    let hint = if arrays.is_empty() {
        "it holds no array of objects".to_string()
    } else {
        let paths: Vec<String> = arrays.into_iter().map(|(path, _)| path).collect();
        format!("arrays of objects are at {}", listed(&paths))
    };
    let error = Error::input(
        walk.at(start),
        format!(
            "the document has no `{}`; {hint}; give `--json-path` the path of the array of \
             users, its keys joined by dots",
            dotted(path)
        ),
    );
    Err(walk.fail(error))
}

/// An object on the way down `path`, at key `path[depth]`.
struct Seek<'w, 'a, 's, 'p> {
    walk: &'w mut Walk<'a, 's>,
    path: &'p [String],
    depth: usize,
    found: &'p mut bool,
    /// Arrays of objects met on the way, for the message when the path leads nowhere.
    arrays: &'p mut Vec<(String, (u64, u64))>,
    /// Where the key's value starts (just before it).
    at: (u64, u64),
}

impl Seek<'_, '_, '_, '_> {
    fn scalar<E: de::Error>(self, found: &str) -> Result<(), E> {
        let walk = self.walk;
        let error = Error::input(
            walk.at(self.at),
            format!(
                "`{}` is {found}, not an object holding `{}`; check `--json-path`",
                dotted(&self.path[..self.depth]),
                self.path[self.depth]
            ),
        );
        Err(walk.fail(error))
    }
}

impl<'de> DeserializeSeed<'de> for Seek<'_, '_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<(), D::Error> {
        self.at = self.walk.spot.get();
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.scalar("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let last = self.depth + 1 == self.path.len();
        while let Some(key) = map.next_key::<String>()? {
            if key == self.path[self.depth] && !*self.found {
                if last {
                    map.next_value_seed(Target {
                        walk: &mut *self.walk,
                        path: self.path,
                        at: (0, 0),
                    })?;
                    *self.found = true;
                } else {
                    map.next_value_seed(Seek {
                        walk: &mut *self.walk,
                        path: self.path,
                        depth: self.depth + 1,
                        found: &mut *self.found,
                        arrays: &mut *self.arrays,
                        at: (0, 0),
                    })?;
                }
            } else {
                let mut prefix = self.path[..self.depth].to_vec();
                prefix.push(key);
                map.next_value_seed(Scan {
                    spot: self.walk.spot,
                    path: Some(dotted(&prefix)),
                    arrays: &mut *self.arrays,
                    kept: &mut Kept::none(),
                })?;
            }
        }
        Ok(())
    }
}

/// The value `--json-path` names: it must be an array of users.
struct Target<'w, 'a, 's, 'p> {
    walk: &'w mut Walk<'a, 's>,
    path: &'p [String],
    /// Where the value starts (just before it).
    at: (u64, u64),
}

impl Target<'_, '_, '_, '_> {
    fn scalar<E: de::Error>(self, found: &str) -> Result<(), E> {
        let walk = self.walk;
        let error = Error::input(
            walk.at(self.at),
            format!(
                "`{}` is {found}, not an array of user objects; check `--json-path`",
                dotted(self.path)
            ),
        );
        Err(walk.fail(error))
    }
}

impl<'de> DeserializeSeed<'de> for Target<'_, '_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<(), D::Error> {
        self.at = self.walk.spot.get();
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Target<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of user objects")
    }

    scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.walk.users(seq, &dotted(self.path))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.scalar("an object")
    }
}
