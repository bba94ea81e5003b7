//! A chosen way per key, written as `tenant.toml`'s `[map]` tables.

use serde_json::Value;

use super::ways::{Default, KeyWays, Source, Target, Way};
use crate::rules::declarative::Case;

/// The chosen ways, grouped as `[map]`'s tables.
#[derive(Default)]
pub(super) struct Written {
    trim: bool,
    columns: Vec<(String, String)>,
    case: Vec<(String, Case)>,
    copy: Vec<(String, String)>,
    split: Vec<(String, String, String, usize)>,
    defaults: Vec<(String, Value)>,
}

impl Written {
    /// `[map]` for one chosen way per key; `None` when the ways cannot be written together
    /// (a column two keys take that no copy can share).
    pub(super) fn of(chosen: Vec<(&KeyWays, Way)>, trim: bool) -> Option<Written> {
        let mut written = Written {
            trim,
            ..Written::default()
        };
        let name = |key: &KeyWays| match &key.target {
            Target::Field(field) => field.name().to_string(),
            Target::Dotted(name) => name.clone(),
            Target::Passed => key.key.clone(),
        };
        let mut done = vec![false; chosen.len()];
        for i in 0..chosen.len() {
            let (key, way) = &chosen[i];
            if let Default::Fill(constant) = &way.default {
                written.defaults.push((name(key), constant.clone()));
            }
            match &way.source {
                Source::Split {
                    field,
                    separator,
                    part,
                    ..
                } => {
                    written.split.push((
                        name(key),
                        field.name().to_string(),
                        separator.clone(),
                        *part,
                    ));
                }
                Source::Column { column, .. } if !done[i] => {
                    let group: Vec<usize> = (i..chosen.len())
                        .filter(|&j| matches!(&chosen[j].1.source, Source::Column { column: c, .. } if c == column))
                        .collect();
                    group.iter().for_each(|&j| done[j] = true);
                    written.column(
                        column,
                        group.iter().map(|&j| (chosen[j].0, &chosen[j].1)).collect(),
                        &name,
                    )?;
                }
                _ => {}
            }
        }
        Some(written)
    }

    /// The keys one column makes: one takes the column (renamed unless it has the key's
    /// name), the others copy it, each in its case.
    fn column(
        &mut self,
        column: &str,
        group: Vec<(&KeyWays, &Way)>,
        name: &dyn Fn(&KeyWays) -> String,
    ) -> Option<()> {
        let case_of = |way: &Way| match way.source {
            Source::Column { case, .. } => case,
            _ => None,
        };
        let first = group
            .iter()
            .min_by_key(|(key, way)| (case_of(way).is_some(), !key.is_named(column)))?;
        let (primary, primary_way) = *first;
        if group.len() > 1 && !matches!(primary.target, Target::Field(_)) {
            return None;
        }
        if !primary.is_named(column) {
            self.columns.push((column.to_string(), name(primary)));
        }
        if let Some(case) = case_of(primary_way) {
            self.case.push((name(primary), case));
        }
        for (key, way) in group.iter().filter(|(key, _)| key.key != primary.key) {
            if !matches!(key.target, Target::Field(_)) {
                return None;
            }
            match case_of(way) {
                // The copy has the source's case already: upper, lower and title keep it.
                Some(case) if Some(case) == case_of(primary_way) => {}
                Some(case) => self.case.push((name(key), case)),
                None if case_of(primary_way).is_some() => return None,
                None => {}
            }
            self.copy.push((name(key), name(primary)));
        }
        Some(())
    }

    /// The `[map]` tables in the order `docs/rules.md` gives them.
    pub(super) fn toml(&self) -> String {
        let mut out = String::from("[map]\n");
        if self.trim {
            out.push_str("trim = true\n");
        }
        let mut table = |title: &str, lines: Vec<String>| {
            if !lines.is_empty() {
                out.push_str(&format!("\n[map.{title}]\n"));
                lines
                    .iter()
                    .for_each(|line| out.push_str(&format!("{line}\n")));
            }
        };
        let text = |s: &str| toml::Value::String(s.to_string()).to_string();
        let key = |s: &str| match s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            true => s.to_string(),
            false => text(s),
        };
        table(
            "columns",
            self.columns
                .iter()
                .map(|(c, t)| format!("{} = {}", key(c), text(t)))
                .collect(),
        );
        table(
            "case",
            self.case
                .iter()
                .map(|(f, c)| format!("{} = {}", key(f), text(c.name())))
                .collect(),
        );
        table(
            "copy",
            self.copy
                .iter()
                .map(|(t, f)| format!("{} = {}", key(t), text(f)))
                .collect(),
        );
        table(
            "split",
            self.split
                .iter()
                .map(|(t, f, s, p)| {
                    format!(
                        "{} = {{ from = {}, separator = {}, part = {p} }}",
                        key(t),
                        text(f),
                        text(s)
                    )
                })
                .collect(),
        );
        table(
            "defaults",
            self.defaults
                .iter()
                .map(|(f, v)| {
                    let value = match v {
                        Value::String(s) => text(s),
                        other => other.to_string(),
                    };
                    format!("{} = {value}", key(f))
                })
                .collect(),
        );
        out
    }
}
