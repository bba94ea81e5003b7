//! The JSON document reader: finds the array of users in a document and streams it.
//!
//! Where the users are: the document itself when it is an array; else the array `--json-path`
//! names; else an array under a name exports use for their records — `Resources` (a SCIM
//! `ListResponse`), `value` (a Microsoft Graph page), `Report_Entry` (a Workday report),
//! `data`, `users`, `Users` — whatever other arrays sit beside it; else the one array of
//! objects of the top-level object. Two candidates make an error that names their paths. A
//! top-level object holding none that names the SCIM User schema (or read with `--format
//! scim`) is one user.
//!
//! Whether an array under another name holds the users is known only at the end of the
//! document, so its rows are held back until then; past [`HELD_LIMIT`] rows it is taken as
//! the users and streamed, and a better-known array after it is an error instead.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::json::{scalars, syntax_error, Held, JsonSink, Spot, Tracked, Walk, HELD_LIMIT};
use super::json_path::{dotted, listed, seek};
use super::scan::{keep_scalars, Kept, Scan};
use super::source::{io_error, Text};
use super::{Format, Position, Row};
use crate::{Error, Result};

/// The names exports keep their records under, taken as the users whatever sits beside them.
pub(super) const ENVELOPES: &[&str] = &[
    "Resources",
    "value",
    "Report_Entry",
    "data",
    "users",
    "Users",
];

/// The SCIM core User schema's URN, which makes a top-level object one user.
const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// The SCIM `ListResponse` message's URN: one without `Resources` has no users (RFC 7644
/// leaves `Resources` out when there are no results).
const SCIM_LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

const EXPECTED_DOCUMENT: &str =
    "expected an array of user objects, or an object holding one such as `{\"Users\": [...]}`";

/// Reads a JSON document of users; returns the number of rows. `path` is `--json-path`.
pub(super) fn read(
    file: Arc<str>,
    text: Text<'_>,
    path: Option<&[String]>,
    format: Format,
    sink: &mut JsonSink<'_>,
) -> Result<u64> {
    let spot = Spot::default();
    let mut input = Tracked::new(text.reader, &spot);
    let start = input.peek_start().map_err(|e| io_error(&file, e))?;
    let mut walk = Walk::new(file, &spot, sink);
    let mut de = serde_json::Deserializer::from_reader(input);
    let read = Document {
        walk: &mut walk,
        start,
        path,
        one_user: format == Format::Scim,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match read {
        Ok(()) => Ok(walk.rows),
        Err(e) => Err(walk.failure.take().unwrap_or_else(|| {
            let (line, column) = (e.line(), e.column());
            syntax_error(&walk.file, line, column, e, false)
        })),
    }
}

/// The whole document: an array of users, or an object holding them.
struct Document<'w, 'a, 's, 'p> {
    walk: &'w mut Walk<'a, 's>,
    /// Where the document's first byte is.
    start: (u64, u64),
    path: Option<&'p [String]>,
    /// `--format scim`: a top-level object holding no array of users is one user.
    one_user: bool,
}

impl Document<'_, '_, '_, '_> {
    fn scalar<E: de::Error>(self, found: &str) -> Result<(), E> {
        let error = Error::input(
            self.walk.at(self.start),
            format!("the document is {found}; {EXPECTED_DOCUMENT}"),
        );
        Err(self.walk.fail(error))
    }
}

impl<'de> DeserializeSeed<'de> for Document<'_, '_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of user objects")
    }

    scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        if let Some(path) = self.path {
            let error = Error::input(
                self.walk.at(self.start),
                format!(
                    "the document is an array, so it has no `{}`; leave `--json-path` out",
                    dotted(path)
                ),
            );
            return Err(self.walk.fail(error));
        }
        self.walk.users(seq, "")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        match self.path {
            Some(path) => seek(self.walk, map, path, self.start),
            None => envelope(self.walk, map, self.start, self.one_user),
        }
    }
}

/// What the top-level object showed so far.
#[derive(Default)]
struct Found {
    /// The array under a known name that was read as the users.
    known: Option<String>,
    /// The array under another name that outgrew [`HELD_LIMIT`] and was read as the users.
    handed_over: Option<String>,
    /// Arrays of objects under other names, their rows held back (with where they start).
    held: Vec<(String, (u64, u64), Vec<Row>)>,
    /// Empty arrays met: an object with one but no array of objects has no users.
    empty_arrays: usize,
    /// Arrays of objects deeper in the document, for the message when there is no array.
    nested: Vec<(String, (u64, u64))>,
    /// The top-level object's members, while it may be one user.
    members: Vec<(Arc<str>, Member)>,
    kept: Kept,
}

/// A member of the top-level object, kept in case the object is one user.
enum Member {
    Value(Value),
    /// The rows of `held[i]`.
    Held(usize),
}

/// Reads the top-level object's members, then decides where its users are.
fn envelope<'de, A: MapAccess<'de>>(
    walk: &mut Walk<'_, '_>,
    mut map: A,
    start: (u64, u64),
    one_user: bool,
) -> Result<(), A::Error> {
    let mut found = Found::default();
    while let Some(key) = map.next_key::<String>()? {
        let kept = map.next_value_seed(Top {
            walk: &mut *walk,
            found: &mut found,
            key: &key,
        })?;
        if let Some(member) = kept {
            found.members.push((Arc::from(key.as_str()), member));
        }
    }
    if found.known.is_some() || found.handed_over.is_some() {
        return Ok(());
    }
    if one_user || names_schema(&found.members, SCIM_USER) {
        return one_user_row(walk, found, start).map_err(|e| walk.fail(e));
    }
    users_of_held(walk, found, start)
}

/// Whether the members' `schemas` names `schema` (URNs match in any case).
fn names_schema(members: &[(Arc<str>, Member)], schema: &str) -> bool {
    members.iter().any(|(key, member)| match member {
        Member::Value(Value::Array(schemas)) if key.eq_ignore_ascii_case("schemas") => schemas
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema))),
        _ => false,
    })
}

/// The top-level object as one user.
fn one_user_row(walk: &mut Walk<'_, '_>, found: Found, start: (u64, u64)) -> Result<()> {
    if found.kept.left == 0 {
        return Err(Error::input(
            walk.at(start),
            "the document is an object too large to be one user, and holds no array of users; \
             give the path of its users with `--json-path`",
        ));
    }
    let mut held: Vec<Option<Vec<Row>>> = found
        .held
        .into_iter()
        .map(|(_, _, rows)| Some(rows))
        .collect();
    let columns = found
        .members
        .into_iter()
        .map(|(key, member)| {
            let value = match member {
                Member::Value(value) => value,
                Member::Held(i) => Value::Array(
                    held[i]
                        .take()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|row| {
                            Value::Object(
                                row.columns
                                    .into_iter()
                                    .map(|(name, value)| (name.to_string(), value))
                                    .collect::<Map<String, Value>>(),
                            )
                        })
                        .collect(),
                ),
            };
            (key, value)
        })
        .collect();
    let row = Row {
        position: Position {
            file: walk.file.clone(),
            line: start.0,
            index: 0,
        },
        columns,
    };
    walk.hand_over(vec![row], "")
}

/// The one array of objects held back as the users; an error when there are none or several.
fn users_of_held<E: de::Error>(
    walk: &mut Walk<'_, '_>,
    found: Found,
    start: (u64, u64),
) -> Result<(), E> {
    let mut candidates: Vec<(String, (u64, u64), Vec<Row>)> = found
        .held
        .into_iter()
        .filter(|(_, _, rows)| !rows.is_empty())
        .collect();
    match candidates.len() {
        1 => {
            let (path, _, rows) = candidates.remove(0);
            walk.hand_over(rows, &path).map_err(|e| walk.fail(e))
        }
        0 if found.empty_arrays > 0 || names_schema(&found.members, SCIM_LIST) => Ok(()),
        0 => {
            let message = if found.nested.is_empty() {
                format!(
                    "the document is an object with no array in it; {EXPECTED_DOCUMENT}; if \
                     the file holds one user object per line, pass `--format ndjson`"
                )
            } else {
                let paths: Vec<String> = found.nested.into_iter().map(|(p, _)| p).collect();
                format!(
                    "the document has no array of users at its top level; arrays of objects \
                     are at {}: pass the users' path with `--json-path {}`",
                    listed(&paths),
                    paths[0]
                )
            };
            let error = Error::input(walk.at(start), message);
            Err(walk.fail(error))
        }
        _ => {
            let paths: Vec<String> = candidates.iter().map(|(p, _, _)| p.clone()).collect();
            let error = ambiguous(walk, &paths, candidates[1].1);
            Err(walk.fail(error))
        }
    }
}

/// The error for a document with more than one array that may hold the users.
fn ambiguous(walk: &Walk<'_, '_>, paths: &[String], at: (u64, u64)) -> Error {
    Error::input(
        walk.at(at),
        format!(
            "the document holds more than one array of objects ({}) and roster cannot tell \
             which holds the users; choose with `--json-path {}`",
            listed(paths),
            paths[0]
        ),
    )
}

/// A member's value in the top-level object.
struct Top<'w, 'a, 's, 'k> {
    walk: &'w mut Walk<'a, 's>,
    found: &'k mut Found,
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_, '_, '_> {
    type Value = Option<Member>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Top<'_, '_, '_, '_> {
    fn keep(self, value: impl FnOnce() -> Value) -> Option<Member> {
        self.found.kept.take(value).map(Member::Value)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_, '_, '_> {
    type Value = Option<Member>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    keep_scalars!();

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = Scan {
            spot: self.walk.spot,
            path: Some(self.key.to_string()),
            arrays: &mut self.found.nested,
            kept: &mut self.found.kept,
        }
        .visit_map(map)?;
        Ok(value.map(Member::Value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let (walk, found, key) = (self.walk, self.found, self.key);
        let at = walk.spot.get();
        let chosen = found.known.clone().or_else(|| found.handed_over.clone());
        if ENVELOPES.contains(&key) && chosen.is_none() {
            walk.users(seq, key)?;
            found.known = Some(key.to_string());
            return Ok(None);
        }
        if chosen.is_some() || key.eq_ignore_ascii_case("schemas") {
            // Scanned: a second array of users is an error when the first was chosen by size
            // alone (or both by name); `schemas` is kept, to tell a SCIM resource.
            let mut objects = Vec::new();
            let value = Scan {
                spot: walk.spot,
                path: Some(key.to_string()),
                arrays: &mut objects,
                kept: &mut found.kept,
            }
            .visit_seq(seq)?;
            if let (Some(chosen), false) = (chosen, objects.is_empty()) {
                if found.handed_over.is_some() || ENVELOPES.contains(&key) {
                    let error = ambiguous(walk, &[chosen, key.to_string()], at);
                    return Err(walk.fail(error));
                }
            }
            return Ok(value.map(Member::Value));
        }
        let some_held = found.held.iter().any(|(_, _, rows)| !rows.is_empty());
        match walk.hold_users(seq, key, Some(HELD_LIMIT))? {
            Held::Rows(rows) => {
                found.empty_arrays += usize::from(rows.is_empty());
                found.held.push((key.to_string(), at, rows));
                Ok(Some(Member::Held(found.held.len() - 1)))
            }
            Held::HandedOver if some_held => {
                let mut paths: Vec<String> = found
                    .held
                    .iter()
                    .filter(|(_, _, rows)| !rows.is_empty())
                    .map(|(p, _, _)| p.clone())
                    .collect();
                paths.push(key.to_string());
                let error = ambiguous(walk, &paths, at);
                Err(walk.fail(error))
            }
            Held::HandedOver => {
                found.handed_over = Some(key.to_string());
                Ok(None)
            }
            Held::NotUsers => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::ReadOptions;
    use super::HELD_LIMIT;
    use serde_json::json;

    fn with_path(path: &str) -> ReadOptions {
        ReadOptions {
            json_path: Some(path.split('.').map(str::to_string).collect()),
            ..ReadOptions::default()
        }
    }

    #[test]
    fn a_known_envelope_wins_over_the_arrays_beside_it() {
        let bytes = br#"{
  "links": [{"rel": "next", "href": "/page/2"}],
  "tags": ["a", "b"],
  "value": [
    {"id": 1},
    {"id": 2}
  ],
  "errors": [{"code": 7}]
}"#;
        let graph = rows("graph.json", bytes);
        assert_eq!(graph.len(), 2);
        assert_eq!(graph[0].get("id"), Some(&json!(1)));
        assert_eq!(graph[1].position.to_string(), "graph.json:6");
        assert_eq!(graph[1].position.index, 1);
        for name in [
            "Resources",
            "value",
            "Report_Entry",
            "data",
            "users",
            "Users",
        ] {
            let bytes =
                format!("{{\"other\": [{{\"x\": 1}}], \"{name}\": [{{\"userName\": \"u9\"}}]}}");
            let rows = rows("x.json", bytes.as_bytes());
            assert_eq!(rows.len(), 1, "{name}");
            // The users of `Resources` are SCIM resources.
            let key = if name == "Resources" {
                "external_id"
            } else {
                "userName"
            };
            assert_eq!(rows[0].get(key), Some(&json!("u9")), "{name}");
        }
    }

    #[test]
    fn two_candidates_are_an_error_naming_their_paths() {
        assert_eq!(
            error(
                "x.json",
                b"{\"data\": [{\"id\": 1}],\n \"users\": [{\"id\": 2}]}"
            ),
            "x.json:2:11: the document holds more than one array of objects (`data`, `users`) \
             and roster cannot tell which holds the users; choose with `--json-path data`"
        );
        assert_eq!(
            error(
                "x.json",
                b"{\"staff\": [{\"id\": 1}],\n \"teams\": [{\"id\": 2}]}"
            ),
            "x.json:2:11: the document holds more than one array of objects (`staff`, `teams`) \
             and roster cannot tell which holds the users; choose with `--json-path staff`"
        );
        // `--json-path` settles it.
        let options = with_path("teams");
        let bytes = b"{\"staff\": [{\"id\": 1}],\n \"teams\": [{\"id\": 2}]}";
        let (_, rows) = read_bytes("x.json", bytes, &options).unwrap();
        assert_eq!(rows[0].get("id"), Some(&json!(2)));
        assert_eq!(rows[0].position.index, 0);
    }

    #[test]
    fn the_one_array_of_objects_under_another_name_is_the_users() {
        let bytes = b"{\"meta\": {\"count\": 2}, \"ids\": [3, 4],\n\"employees\": [\n{\"id\": 1},\n{\"id\": 2}\n], \"empty\": []}";
        let employees = rows("x.json", bytes);
        assert_eq!(employees.len(), 2);
        assert_eq!(employees[1].position.line, 4);
        assert_eq!(employees[1].position.index, 1);
        // Empty arrays: no users, and no error.
        assert!(rows("x.json", b"{\"employees\": [], \"total\": 0}").is_empty());
        // An object with arrays of numbers only has no users.
        assert!(error("x.json", b"{\"ids\": [1, 2]}")
            .starts_with("x.json:1:1: the document is an object with no array in it;"));
    }

    #[test]
    fn a_long_array_under_another_name_is_streamed_and_a_later_envelope_is_an_error() {
        let mut bytes = b"{\"employees\": [".to_vec();
        let count = HELD_LIMIT + 5;
        for i in 0..count {
            if i > 0 {
                bytes.push(b',');
            }
            bytes.extend_from_slice(format!("{{\"id\": {i}}}").as_bytes());
        }
        bytes.extend_from_slice(b"]}");
        let rows = rows("big.json", &bytes);
        assert_eq!(rows.len(), count);
        assert!(rows
            .iter()
            .enumerate()
            .all(|(i, row)| row.position.index == i as u64));
        bytes.pop();
        bytes.extend_from_slice(b",\n \"users\": [{\"id\": 1}]}");
        let e = error("big.json", &bytes);
        assert!(
            e.starts_with("big.json:2:11: the document holds more than one array of objects (`employees`, `users`)"),
            "{e}"
        );
    }

    #[test]
    fn json_path_follows_keys_and_says_where_the_arrays_are_when_it_leads_nowhere() {
        let bytes = b"{\"result\": {\"page\": 1,\n \"people\": {\"list\": [{\"id\": 1}, {\"id\": 2}]}},\n \"data\": [{\"id\": 9}]}";
        let (_, rows) = read_bytes("x.json", bytes, &with_path("result.people.list")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].position.line, 2);
        assert_eq!(
            error_with("x.json", bytes, &with_path("result.staff")),
            "x.json:1:1: the document has no `result.staff`; arrays of objects are at \
             `result.people.list`, `data`; give `--json-path` the path of the array of users, \
             its keys joined by dots"
        );
        assert_eq!(
            error_with("x.json", bytes, &with_path("result.page.list")),
            "x.json:1:19: `result.page` is a number, not an object holding `list`; check \
             `--json-path`"
        );
        assert_eq!(
            error_with("x.json", bytes, &with_path("result.people")),
            "x.json:2:10: `result.people` is an object, not an array of user objects; check \
             `--json-path`"
        );
        assert_eq!(
            error_with("x.json", b"[{\"id\": 1}]", &with_path("data")),
            "x.json:1:1: the document is an array, so it has no `data`; leave `--json-path` out"
        );
    }

    #[test]
    fn users_deeper_down_are_pointed_at() {
        assert_eq!(
            error("x.json", b"{\"data\": {\"users\": [{\"id\": 1}]}}"),
            "x.json:1:1: the document has no array of users at its top level; arrays of \
             objects are at `data.users`: pass the users' path with `--json-path data.users`"
        );
    }

    #[test]
    fn a_scim_list_response_without_resources_has_no_users() {
        let bytes = b"{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"], \"totalResults\": 0}";
        assert!(rows("x.json", bytes).is_empty());
    }
}
