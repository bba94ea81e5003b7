//! Pretty JSON as `serde_json::to_writer_pretty` writes it (two spaces a level), in fewer
//! writes: a payload is mostly short tokens (quotes, `": "`, indentation), and
//! `PrettyFormatter` copies each on its own, the indentation two spaces at a time.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// Appends `value` as pretty JSON to `bytes`: the bytes `serde_json::to_writer_pretty` gives.
pub(super) fn write(bytes: &mut Vec<u8>, value: &impl Serialize) {
    let mut serializer = serde_json::Serializer::with_formatter(Buffer(bytes), Pretty::default());
    value.serialize(&mut serializer).expect(super::JSON_ONLY);
}

/// `serde_json::ser::PrettyFormatter` with two spaces a level, each object key's line break,
/// indentation and opening quote written at once, and its closing quote with the `": "`.
struct Pretty {
    /// `,\n`, the indentation of the current level and `"`: what comes before a key.
    key_prefix: Vec<u8>,
    has_value: bool,
    /// Set between a key's line and its `begin_string` (whose quote the line wrote).
    opening_key: bool,
    /// Set while a key is written, until its `end_string`.
    in_key: bool,
}

impl Default for Pretty {
    fn default() -> Pretty {
        Pretty {
            key_prefix: b",\n\"".to_vec(),
            has_value: false,
            opening_key: false,
            in_key: false,
        }
    }
}

impl Pretty {
    /// The line break and indentation of the current level, after a comma unless `first`.
    fn line(&self, first: bool) -> &[u8] {
        let line = &self.key_prefix[..self.key_prefix.len() - 1];
        if first {
            &line[1..]
        } else {
            line
        }
    }

    fn open<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        let quote = self.key_prefix.pop();
        self.key_prefix.extend_from_slice(b"  ");
        self.key_prefix.extend(quote);
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        let quote = self.key_prefix.pop();
        self.key_prefix.truncate(self.key_prefix.len() - 2);
        self.key_prefix.extend(quote);
        if self.has_value {
            writer.write_all(self.line(true))?;
        }
        writer.write_all(bracket)
    }
}

impl Formatter for Pretty {
    #[inline]
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    #[inline]
    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    #[inline]
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        writer.write_all(self.line(first))
    }

    #[inline]
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    #[inline]
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    #[inline]
    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    /// Every key is written as a string (`serde_json` quotes numbers and booleans as keys
    /// too), so its `begin_string` follows: the quote is written here.
    #[inline]
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.opening_key = true;
        writer.write_all(&self.key_prefix[usize::from(first)..])
    }

    #[inline]
    fn begin_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if self.opening_key {
            self.opening_key = false;
            self.in_key = true;
            return Ok(());
        }
        writer.write_all(b"\"")
    }

    #[inline]
    fn end_string<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if self.in_key {
            self.in_key = false;
            return writer.write_all(b"\": ");
        }
        writer.write_all(b"\"")
    }

    /// The `": "` was written with the key's closing quote.
    #[inline]
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        Ok(())
    }

    #[inline]
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// The buffer written to: `Vec<u8>`'s own `io::Write` goes through a generic `write_all`
/// loop for every token.
struct Buffer<'a>(&'a mut Vec<u8>);

impl io::Write for Buffer<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn writes_as_serde_json(value: &Value) {
        let mut bytes = b"kept ".to_vec();
        write(&mut bytes, value);
        let expected = [b"kept ".to_vec(), serde_json::to_vec_pretty(value).unwrap()].concat();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }

    #[test]
    fn empty_nested_and_escaped_values_write_as_serde_json() {
        writes_as_serde_json(&json!({
            "Users": [{"a": [], "b": {}, "c": [[], [{}], {"d": [1, 2.5, null]}]}],
            "Text": "line\nbreak \"quoted\" \u{1} é — a long string well past sixteen bytes",
            "Empty": ""
        }));
        writes_as_serde_json(&json!([]));
        writes_as_serde_json(&json!("top"));
    }

    #[test]
    fn deep_values_and_keys_that_are_no_strings_write_as_serde_json() {
        let keyed: std::collections::BTreeMap<i64, bool> = [(-1, true), (7, false)].into();
        let mut bytes = Vec::new();
        write(&mut bytes, &keyed);
        assert_eq!(bytes, serde_json::to_vec_pretty(&keyed).unwrap());
        let mut deep = json!(["bottom"]);
        for _ in 0..40 {
            deep = json!([deep, {"k": 1}]);
        }
        writes_as_serde_json(&deep);
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,20}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_writes_as_serde_json(value in any_json()) {
            writes_as_serde_json(&value);
        }
    }
}
