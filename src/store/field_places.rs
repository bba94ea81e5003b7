//! Field places: where each top-level key of a stored record begins in its JSON text, kept
//! beside the text so a field (a `Unique` value) is read without parsing the record.
//!
//! The record stays JSON, the form a person reads in `sqlite3`; its places are a small
//! BLOB of LEB128 varints (7 bits a byte, low first): the text's length, then where each
//! key's opening quote is, in the text's order, as its distance from the one before (from
//! the text's start for the first): about a byte a field. A value runs from after its key's
//! `":` to the `,` before the next key (the `}` after the last one). A user an older roster
//! stored has none, and is parsed as before. Places that do not fit their text (a record
//! edited by hand) are not trusted either: [`Placed::value`] says so, and the caller parses
//! the record.

use crate::model::record::Record;

/// The text of `record` as JSON (the bytes `serde_json::to_string` writes), and its places.
pub fn to_json_with_places(record: &Record) -> (String, Vec<u8>) {
    let mut text = Vec::with_capacity(64 * record.len().max(1));
    let mut starts = Vec::with_capacity(record.len());
    text.push(b'{');
    for (n, (key, value)) in record.iter().enumerate() {
        if n > 0 {
            text.push(b',');
        }
        starts.push(text.len());
        serde_json::to_writer(&mut text, key).expect("a key serialises");
        text.push(b':');
        serde_json::to_writer(&mut text, value).expect("a value serialises");
    }
    text.push(b'}');
    let mut places = Vec::with_capacity(3 + starts.len());
    write_varint(&mut places, text.len());
    let mut previous = 0;
    for start in starts {
        write_varint(&mut places, start - previous);
        previous = start;
    }
    let text = String::from_utf8(text).expect("serde_json writes UTF-8");
    (text, places)
}

fn write_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The varint at the start of `bytes`, which it moves past; `None` when there is none.
fn read_varint(bytes: &mut &[u8]) -> Option<usize> {
    let mut n = 0usize;
    for shift in (0..usize::BITS).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        n |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte < 0x80 {
            return Some(n);
        }
    }
    None
}

/// A record's JSON text with its places.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    text: &'a [u8],
    /// The varints after the text's length.
    starts: &'a [u8],
}

impl<'a> Placed<'a> {
    /// The record `text` with its `places`; `None` when they were not written for a text
    /// of this length (or are no places at all).
    pub fn new(text: &'a [u8], mut places: &'a [u8]) -> Option<Placed<'a>> {
        let len = read_varint(&mut places)?;
        (len == text.len() && text.first() == Some(&b'{')).then_some(Placed {
            text,
            starts: places,
        })
    }

    /// The JSON text of field `name`'s value: `Some(None)` when the record has no such
    /// field, `None` when the places do not fit the text (read the record whole then), or
    /// when `name` is one JSON writes escaped.
    pub fn value(&self, name: &str) -> Option<Option<&'a [u8]>> {
        if name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            return None;
        }
        let text = self.text;
        let mut deltas = self.starts;
        let mut next = |previous: usize| -> Option<Option<usize>> {
            if deltas.is_empty() {
                return Some(None);
            }
            let start = previous.checked_add(read_varint(&mut deltas)?)?;
            Some(Some(start))
        };
        let mut current = next(0)?;
        while let Some(start) = current {
            let opens_key = start > 0
                && text.get(start) == Some(&b'"')
                && matches!(text[start - 1], b'{' | b',');
            if !opens_key {
                return None;
            }
            let following = next(start)?;
            let name_end = start + 1 + name.len();
            if text.get(start + 1..name_end) == Some(name.as_bytes())
                && text.get(name_end..name_end + 2) == Some(b"\":")
            {
                let (end, closer) = match following {
                    Some(next) => (next - 1, b','),
                    None => (text.len() - 1, b'}'),
                };
                let value_start = name_end + 2;
                return (value_start < end && text.get(end) == Some(&closer))
                    .then(|| Some(&text[value_start..end]));
            }
            current = following;
        }
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn record(value: Value) -> Record {
        match value {
            Value::Object(record) => record,
            _ => unreachable!("a test record is an object"),
        }
    }

    #[test]
    fn the_text_is_what_serde_json_writes_and_each_value_is_found_in_it() {
        let user = record(json!({
            "external_id": "u1",
            "email": "a\"b@x",
            "roles": ["tech", "lead"],
            "address": {"city": "Oslo", "email": "nested"},
            "active": true,
            "weird \"key\"": null
        }));
        let (text, places) = to_json_with_places(&user);
        assert_eq!(text, serde_json::to_string(&user).unwrap());
        let placed = Placed::new(text.as_bytes(), &places).unwrap();
        for (name, value) in user.iter().filter(|(name, _)| !name.contains('"')) {
            let found = placed.value(name).unwrap().unwrap();
            assert_eq!(
                &serde_json::from_slice::<Value>(found).unwrap(),
                value,
                "{name}"
            );
        }
        assert_eq!(placed.value("weird \"key\""), None);
        assert_eq!(placed.value("weird "), Some(None));
        assert_eq!(placed.value("username"), Some(None));
        assert_eq!(placed.value("city"), Some(None), "a nested key is no field");
    }

    #[test]
    fn places_that_do_not_fit_their_text_are_not_trusted() {
        let (text, places) = to_json_with_places(&record(json!({"a": "1", "email": "x@y"})));
        // Edited to another length: the places were written for another text.
        let longer = text.replace("x@y", "xx@y");
        assert!(Placed::new(longer.as_bytes(), &places).is_none());
        // Edited to the same length but moved: the key is no longer where it was.
        let moved = r#"{"email":"x@y","a":"1"}"#;
        assert_eq!(moved.len(), text.len());
        let placed = Placed::new(moved.as_bytes(), &places).unwrap();
        assert_eq!(placed.value("email"), None);
        assert!(Placed::new(text.as_bytes(), b"\x01").is_none());
        // Cut short: the last varint is missing its end.
        let mut cut = places.clone();
        *cut.last_mut().unwrap() |= 0x80;
        assert_eq!(
            Placed::new(text.as_bytes(), &cut).unwrap().value("email"),
            None
        );
    }

    #[test]
    fn an_empty_record_and_a_long_one() {
        let (text, places) = to_json_with_places(&Record::new());
        assert_eq!(text, "{}");
        let placed = Placed::new(text.as_bytes(), &places).unwrap();
        assert_eq!(placed.value("email"), Some(None));
        let long = record(json!({"notes": "n".repeat(70_000), "email": "x@y"}));
        let (text, places) = to_json_with_places(&long);
        let placed = Placed::new(text.as_bytes(), &places).unwrap();
        assert_eq!(placed.value("email"), Some(Some(&b"\"x@y\""[..])));
        assert_eq!(placed.value("notes").unwrap().unwrap().len(), 70_002);
    }

    #[test]
    fn a_place_takes_about_a_byte() {
        let (text, places) = to_json_with_places(&record(json!({
            "email": "ada@example.com", "external_id": "U0000001", "first_name": "Ada"
        })));
        assert_eq!(places, [text.len() as u8, 1, 26, 25]);
    }

    proptest! {
        /// Whatever the record, each field read by its place is the field the text holds.
        #[test]
        fn every_field_read_by_its_place_is_the_parsed_field(
            fields in proptest::collection::btree_map(
                "[a-z_\"\\\\]{1,8}",
                prop_oneof![
                    any::<String>().prop_map(Value::from),
                    any::<i64>().prop_map(Value::from),
                    any::<bool>().prop_map(Value::from),
                    Just(Value::Null),
                    proptest::collection::vec(any::<String>(), 0..3).prop_map(Value::from),
                ],
                0..8,
            )
        ) {
            let user: Record = fields.into_iter().collect();
            let (text, places) = to_json_with_places(&user);
            prop_assert_eq!(&text, &serde_json::to_string(&user).unwrap());
            let placed = Placed::new(text.as_bytes(), &places).unwrap();
            for (name, value) in &user {
                if name.contains(['"', '\\']) {
                    prop_assert_eq!(placed.value(name), None, "an escaped name is not looked for");
                    continue;
                }
                let found = placed.value(name).unwrap().unwrap();
                prop_assert_eq!(&serde_json::from_slice::<Value>(found).unwrap(), value);
            }
        }
    }
}
