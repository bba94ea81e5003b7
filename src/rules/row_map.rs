//! The row as a `map` hook sees it: a Rhai map of the row's columns.
//!
//! Rows of one file share their header, so the map's keys are sorted once per header and
//! each row only fills in its values: no per-row sort of the column names (which was about
//! a tenth of the instructions of evaluating a row with a light hook).

use std::sync::Arc;

use rhai::{Dynamic, Map};
use serde_json::Value;

use super::value::to_dynamic;

/// Builds row maps, keeping the keys of the last header it saw.
#[derive(Default)]
pub(super) struct RowMaps {
    /// The column names the template was built for, in the row's order.
    header: Vec<Arc<str>>,
    /// Every column name once, each with `()`.
    template: Map,
    /// For each entry of `template`, in its order, the column its value comes from.
    sources: Vec<usize>,
}

impl RowMaps {
    /// The row's columns as a map (of a repeated name, the last column's value).
    pub(super) fn build(&mut self, columns: &[(Arc<str>, Value)]) -> Map {
        if !self.fits(columns) {
            self.learn(columns);
        }
        let mut map = self.template.clone();
        for (value, &source) in map.values_mut().zip(&self.sources) {
            *value = to_dynamic(&columns[source].1);
        }
        map
    }

    /// Whether the row has the header the template was built for.
    fn fits(&self, columns: &[(Arc<str>, Value)]) -> bool {
        self.header.len() == columns.len()
            && self
                .header
                .iter()
                .zip(columns)
                .all(|(known, (name, _))| Arc::ptr_eq(known, name) || known == name)
    }

    fn learn(&mut self, columns: &[(Arc<str>, Value)]) {
        let positions: std::collections::BTreeMap<&str, usize> = columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_ref(), i))
            .collect();
        self.header = columns.iter().map(|(name, _)| name.clone()).collect();
        self.template = positions
            .keys()
            .map(|name| ((*name).into(), Dynamic::UNIT))
            .collect();
        self.sources = positions.into_values().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the map was before templates: every row collected on its own.
    fn collected(columns: &[(Arc<str>, Value)]) -> Map {
        columns
            .iter()
            .map(|(k, v)| (k.as_ref().into(), to_dynamic(v)))
            .collect()
    }

    fn text(map: &Map) -> Vec<(String, String)> {
        map.iter()
            .map(|(k, v)| (k.to_string(), format!("{v:?}")))
            .collect()
    }

    fn column() -> impl Strategy<Value = (String, Option<String>)> {
        (
            prop::sample::select(vec!["a", "B", "c d", "é", "a.b", "x"]),
            prop::option::of("[ a-zA-Z]{0,4}"),
        )
            .prop_map(|(name, value)| (name.to_string(), value))
    }

    fn row(cells: &[(String, Option<String>)], names: &[Arc<str>]) -> Vec<(Arc<str>, Value)> {
        names
            .iter()
            .zip(cells)
            .map(|(name, (_, value))| {
                (name.clone(), value.clone().map_or(Value::Null, Value::from))
            })
            .collect()
    }

    proptest! {
        /// Rows of changing headers, repeated names included, give the same maps as
        /// collecting each row on its own.
        #[test]
        fn equals_collecting_each_row(rows in prop::collection::vec(
            (prop::collection::vec(column(), 0..6), 1..4usize), 1..6)
        ) {
            let mut maps = RowMaps::default();
            for (cells, repeats) in rows {
                let names: Vec<Arc<str>> = cells.iter().map(|(n, _)| n.as_str().into()).collect();
                for _ in 0..repeats {
                    let columns = row(&cells, &names);
                    prop_assert_eq!(text(&maps.build(&columns)), text(&collected(&columns)));
                }
            }
        }
    }
}
