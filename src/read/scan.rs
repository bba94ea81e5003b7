//! Looking through JSON that is not the users: keeping a top-level object's values while
//! they are few (it may be one user), and noting every array of objects and its path (for
//! messages that say where the users might be).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::json::Spot;

/// The most values of the top-level object kept for reading it as one user.
const KEPT_VALUES: usize = 10_000;

/// Values kept of the top-level object; past the budget the object is not read as one user.
pub(super) struct Kept {
    pub(super) left: usize,
}

impl Kept {
    pub(super) fn none() -> Kept {
        Kept { left: 0 }
    }

    /// Keeps one more value, if the budget allows.
    pub(super) fn take(&mut self, value: impl FnOnce() -> Value) -> Option<Value> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(value())
    }
}

impl Default for Kept {
    fn default() -> Self {
        Kept { left: KEPT_VALUES }
    }
}

/// Implements the scalar visits of a visitor that keeps scalars as JSON values.
macro_rules! keep_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(self.keep(|| Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(self.keep(|| Value::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(self.keep(|| Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(self.keep(|| Value::from(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(self.keep(|| Value::String(v.to_string())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(self.keep(|| Value::Null))
        }
    };
}
pub(super) use keep_scalars;

/// Any value below the top-level object: kept while the budget allows, and every array of
/// objects under a path of keys recorded.
pub(super) struct Scan<'k> {
    pub(super) spot: &'k Spot,
    /// The value's path of keys; `None` inside an array (no path reaches it).
    pub(super) path: Option<String>,
    pub(super) arrays: &'k mut Vec<(String, (u64, u64))>,
    pub(super) kept: &'k mut Kept,
}

impl Scan<'_> {
    fn keep(self, value: impl FnOnce() -> Value) -> Option<Value> {
        self.kept.take(value)
    }
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    keep_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let at = self.spot.get();
        let mut items = Some(Vec::new());
        let mut first = true;
        // Arrays inside an array's elements have no path of keys, so none is recorded.
        let mut unreachable = Vec::new();
        loop {
            let mut probe = Probe::default();
            let item = seq.next_element_seed(ProbeSeed {
                probe: &mut probe,
                scan: Scan {
                    spot: self.spot,
                    path: None,
                    arrays: &mut unreachable,
                    kept: &mut *self.kept,
                },
            })?;
            let Some(item) = item else { break };
            if first && probe.object {
                if let Some(path) = &self.path {
                    self.arrays.push((path.clone(), at));
                }
            }
            first = false;
            match (item, &mut items) {
                (Some(value), Some(list)) => list.push(value),
                _ => items = None,
            }
        }
        Ok(items.filter(|_| self.kept.left > 0).map(Value::Array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = Some(Map::new());
        while let Some(key) = map.next_key::<String>()? {
            let path = self.path.as_ref().map(|p| format!("{p}.{key}"));
            let value = map.next_value_seed(Scan {
                spot: self.spot,
                path,
                arrays: &mut *self.arrays,
                kept: &mut *self.kept,
            })?;
            match (value, &mut object) {
                (Some(value), Some(object)) => {
                    object.insert(key, value);
                }
                _ => object = None,
            }
        }
        Ok(object.filter(|_| self.kept.left > 0).map(Value::Object))
    }
}

/// Whether an array element was an object, found while scanning it.
#[derive(Default)]
struct Probe {
    object: bool,
}

struct ProbeSeed<'p, 'k> {
    probe: &'p mut Probe,
    scan: Scan<'k>,
}

impl<'de> DeserializeSeed<'de> for ProbeSeed<'_, '_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ProbeSeed<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.scan.visit_bool(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.scan.visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.scan.visit_u64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.scan.visit_f64(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.scan.visit_str(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.scan.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.scan.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.probe.object = true;
        self.scan.visit_map(map)
    }
}
