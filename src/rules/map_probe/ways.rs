//! The ways `[map]` could make one key the hooks return, narrowed row by row.

use std::sync::Arc;

use serde_json::Value;

use super::Returned;
use crate::map::PLATFORM_ID;
use crate::model::user::{self, Field, CUD};
use crate::rules::declarative::{target_name, Case};
use crate::rules::helpers::title_chars;

/// The ways left for one key the hooks return.
#[derive(Debug, Clone)]
pub(super) struct KeyWays {
    /// The key as the hooks return it.
    pub(super) key: String,
    /// What it fills.
    pub(super) target: Target,
    pub(super) ways: Vec<Way>,
    /// The last row (of this probe) that had the key.
    pub(super) seen_at: u64,
}

/// What a key of the hooks' result fills, which limits how `[map]` can make it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Target {
    /// A canonical field: any way.
    Field(Field),
    /// `address.x` / `attributes.x`: a rename or a split, without case or default.
    Dotted(String),
    /// `cud` or `platform_id.x`: only the source column of that name, as it is.
    Passed,
}

/// One way `[map]` could make a key's value, with the default it needs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Way {
    pub(super) source: Source,
    pub(super) default: Default,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    /// A source column (`at`: where it was in the last row, to find it fast).
    Column {
        column: Arc<str>,
        trim: bool,
        case: Option<Case>,
        at: usize,
    },
    /// Part `part` (from 1) of another returned field's text, split at `separator`.
    Split {
        from: String,
        field: Field,
        separator: String,
        part: usize,
    },
    /// Nothing but the default.
    Constant,
}

/// The default a way needs: not known yet, none, or this constant.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Default {
    Unknown,
    Never,
    Fill(Value),
}

impl KeyWays {
    /// Every way `[map]` could make `value` of `key` from this row; `None` when the hooks
    /// returned a key that is no field (a `Script` problem, which `[map]` never makes).
    pub(super) fn first_seen(
        key: &str,
        value: &Value,
        columns: &[(Arc<str>, Value)],
        returned: &[Returned<'_>],
    ) -> Option<KeyWays> {
        let target = if key.eq_ignore_ascii_case(CUD) || key.starts_with(PLATFORM_ID) {
            Target::Passed
        } else if let Some(field) = Field::parse(key) {
            Target::Field(field)
        } else {
            Target::Dotted(target_name(key)?)
        };
        let default = match target {
            Target::Field(_) => Default::Unknown,
            _ => Default::Never,
        };
        let mut ways = Vec::new();
        for (at, (column, cell)) in columns.iter().enumerate() {
            let cases: &[Option<Case>] = match cell {
                Value::String(_) => &[
                    None,
                    Some(Case::ALL[0]),
                    Some(Case::ALL[1]),
                    Some(Case::ALL[2]),
                ],
                _ => &[None],
            };
            // Both trims of a case side by side: [`KeyWays::narrow`] decides them once when
            // the cell has nothing to trim.
            for &case in cases {
                for trim in [false, true] {
                    let (column, default) = (column.clone(), default.clone());
                    let source = Source::Column {
                        column,
                        trim,
                        case,
                        at,
                    };
                    ways.push(Way { source, default });
                }
            }
        }
        if let Value::String(part) = value {
            for (from, text) in returned.iter().filter(|(name, _)| name != key) {
                let (Some(field), Value::String(text)) = (Field::parse(from), text) else {
                    continue;
                };
                for (separator, part) in splits_giving(text, part) {
                    let from = from.to_string();
                    let source = Source::Split {
                        from,
                        field,
                        separator,
                        part,
                    };
                    ways.push(Way {
                        source,
                        default: default.clone(),
                    });
                }
            }
        }
        if default == Default::Unknown {
            ways.push(Way {
                source: Source::Constant,
                default,
            });
        }
        let mut ways = KeyWays {
            key: key.to_string(),
            target,
            ways,
            seen_at: 0,
        };
        ways.keep_giving(Some(value), columns, returned);
        let mut sorted = std::mem::take(&mut ways.ways);
        sorted.sort_by_key(|way| ways.cost(way));
        ways.ways = sorted;
        Some(ways)
    }

    /// Keeps the ways that give `value` (`None`: the key left out) on this row. The way
    /// `[map]` would take (the first: they are kept cheapest first) is tried alone first: only
    /// a row it does not explain is tried on the others. This bounds the cost to about one
    /// way per field and row; a way so spared on a row is still run on it by [`MapProbe::confirm`](super::MapProbe::confirm).
    pub(super) fn narrow(
        &mut self,
        value: Option<&Value>,
        columns: &[(Arc<str>, Value)],
        returned: &[Returned<'_>],
    ) {
        let mut decided = None;
        if let Some(first) = self.ways.first_mut() {
            if first.gives_fast(value, columns, returned, &mut decided) {
                return;
            }
        }
        self.keep_giving(value, columns, returned);
    }

    /// Keeps the ways that give `value` on this row, trying every one.
    pub(super) fn keep_giving(
        &mut self,
        value: Option<&Value>,
        columns: &[(Arc<str>, Value)],
        returned: &[Returned<'_>],
    ) {
        let mut decided = None;
        self.ways
            .retain_mut(|way| way.gives_fast(value, columns, returned, &mut decided));
    }

    /// Whether `[map]` can write `way` for this key, with `trim` for every text cell.
    pub(super) fn writable(&self, way: &Way, trim: bool) -> bool {
        let defaulted = matches!(way.default, Default::Fill(_));
        match (&self.target, &way.source) {
            (_, Source::Column { trim: t, .. }) if *t != trim => false,
            // A default is printed: never one of a secret field.
            (Target::Field(field), _) if field.is_secret() && defaulted => false,
            (Target::Field(_), Source::Constant) => defaulted,
            (Target::Field(_), _) => true,
            (Target::Dotted(_), Source::Column { case, .. }) => case.is_none(),
            (Target::Dotted(_), Source::Split { .. }) => true,
            (Target::Passed, Source::Column { column, case, .. }) => {
                let cud = column.eq_ignore_ascii_case(CUD) && self.key.eq_ignore_ascii_case(CUD);
                case.is_none() && (**column == *self.key || cud)
            }
            _ => false,
        }
    }

    /// How much `tenant.toml` text a way takes: the least is chosen.
    pub(super) fn cost(&self, way: &Way) -> u8 {
        let default = u8::from(matches!(way.default, Default::Fill(_)));
        default
            + match &way.source {
                Source::Column { column, case, .. } => {
                    u8::from(!self.is_named(column)) + u8::from(case.is_some())
                }
                Source::Split { .. } => 2,
                Source::Constant => 0,
            }
    }

    /// Whether a source column of this name fills this key without a rename.
    pub(super) fn is_named(&self, column: &str) -> bool {
        match &self.target {
            Target::Field(field) => Field::parse(column) == Some(*field),
            Target::Dotted(name) => target_name(column).as_ref() == Some(name),
            Target::Passed => column == self.key,
        }
    }
}

impl Way {
    /// [`Way::gives`], deciding a column's text without building it, and once for both trims
    /// of a case when the cell has nothing to trim: `decided` holds the last text decided so,
    /// as (column, case, equal).
    pub(super) fn gives_fast(
        &mut self,
        value: Option<&Value>,
        columns: &[(Arc<str>, Value)],
        returned: &[Returned<'_>],
        decided: &mut Option<(usize, Option<Case>, bool)>,
    ) -> bool {
        if let (Some(Value::String(wanted)), Source::Column { case, .. }) = (value, &self.source) {
            let case = *case;
            if let Some((at, text)) = self
                .source
                .text(columns)
                .filter(|(_, t)| !t.trim().is_empty())
            {
                let untrimmed = columns[at]
                    .1
                    .as_str()
                    .is_some_and(|raw| raw.len() == text.len());
                if let Some((column, c, equal)) = decided.filter(|_| untrimmed) {
                    if column == at && c == case {
                        return equal;
                    }
                }
                let equal = self.source.cased_equal(text, wanted);
                *decided = untrimmed.then_some((at, case, equal));
                return equal;
            }
        }
        self.gives(value, columns, returned)
    }

    /// Whether this way gives `value` on this row (learning the default it needs).
    pub(super) fn gives(
        &mut self,
        value: Option<&Value>,
        columns: &[(Arc<str>, Value)],
        returned: &[Returned<'_>],
    ) -> bool {
        let made = self.source.make(columns, returned);
        if !made.as_ref().is_none_or(user::is_empty) {
            return made.as_ref() == value;
        }
        match (&self.default, value) {
            (Default::Fill(constant), value) => value == Some(constant),
            (Default::Unknown | Default::Never, value) if made.as_ref() == value => {
                self.default = Default::Never;
                true
            }
            (Default::Unknown, Some(value)) if is_constant(value) => {
                self.default = Default::Fill(value.clone());
                true
            }
            _ => false,
        }
    }

    /// The way both `self` and `other` are, if they are the same way.
    pub(super) fn meet(&self, other: &Way) -> Option<Way> {
        if !self.source.same(&other.source) {
            return None;
        }
        let default = match (&self.default, &other.default) {
            (Default::Unknown, d) | (d, Default::Unknown) => d.clone(),
            (a, b) if a == b => a.clone(),
            _ => return None,
        };
        Some(Way {
            source: self.source.clone(),
            default,
        })
    }
}

impl Source {
    /// What this source gives on a row (`None`: nothing).
    pub(super) fn make(
        &mut self,
        columns: &[(Arc<str>, Value)],
        returned: &[Returned<'_>],
    ) -> Option<Value> {
        match self {
            Source::Column { case, .. } => {
                let case = *case;
                if let Some((_, text)) = self.text(columns) {
                    return Some(Value::String(match case {
                        Some(case) => case.apply(text),
                        None => text.to_string(),
                    }));
                }
                self.cell(columns).map(|at| columns[at].1.clone())
            }
            Source::Split {
                from,
                separator,
                part,
                ..
            } => returned
                .iter()
                .find(|(name, _)| name == from)
                .and_then(|(_, value)| value.as_str())
                .and_then(|text| text.split(separator.as_str()).nth(*part - 1))
                .map(Value::from),
            Source::Constant => None,
        }
    }

    /// Where a column's cell is on this row (remembered for the next row).
    pub(super) fn cell(&mut self, columns: &[(Arc<str>, Value)]) -> Option<usize> {
        let Source::Column { column, at, .. } = self else {
            return None;
        };
        let index = match columns.get(*at) {
            Some((name, _)) if Arc::ptr_eq(name, column) || name == column => *at,
            _ => columns.iter().position(|(name, _)| name == column)?,
        };
        *at = index;
        Some(index)
    }

    /// A column's text cell on this row (with where it is), trimmed when the way trims.
    pub(super) fn text<'r>(
        &mut self,
        columns: &'r [(Arc<str>, Value)],
    ) -> Option<(usize, &'r str)> {
        let trim = matches!(self, Source::Column { trim: true, .. });
        let at = self.cell(columns)?;
        let text = columns[at].1.as_str()?;
        Some((at, if trim { text.trim() } else { text }))
    }

    /// Whether a column's `text`, in the way's case, is `wanted` (without building it for
    /// upper and lower case).
    pub(super) fn cased_equal(&self, text: &str, wanted: &str) -> bool {
        if text.is_ascii() {
            return self.ascii_cased_equal(text.as_bytes(), wanted.as_bytes());
        }
        match self {
            Source::Column { case: None, .. } => text == wanted,
            Source::Column {
                case: Some(Case::Upper),
                ..
            } => text.chars().flat_map(char::to_uppercase).eq(wanted.chars()),
            Source::Column {
                case: Some(Case::Lower),
                ..
            } => text.chars().flat_map(char::to_lowercase).eq(wanted.chars()),
            Source::Column {
                case: Some(Case::Title),
                ..
            } => title_chars(text).eq(wanted.chars()),
            _ => false,
        }
    }

    /// [`Source::cased_equal`] for ASCII text, byte by byte.
    pub(super) fn ascii_cased_equal(&self, text: &[u8], wanted: &[u8]) -> bool {
        let Source::Column { case, .. } = self else {
            return false;
        };
        if case.is_none() || text.len() != wanted.len() {
            return text == wanted;
        }
        let mut word_start = true;
        text.iter().zip(wanted).all(|(&t, &w)| {
            let made = match case {
                None => t,
                Some(Case::Upper) => t.to_ascii_uppercase(),
                Some(Case::Lower) => t.to_ascii_lowercase(),
                Some(Case::Title) if word_start => t.to_ascii_uppercase(),
                Some(Case::Title) => t.to_ascii_lowercase(),
            };
            word_start = !t.is_ascii_alphanumeric();
            made == w
        })
    }

    /// The same source (wherever its column was last seen).
    pub(super) fn same(&self, other: &Source) -> bool {
        match (self, other) {
            (
                Source::Column {
                    column, trim, case, ..
                },
                Source::Column {
                    column: c,
                    trim: t,
                    case: k,
                    ..
                },
            ) => column == c && trim == t && case == k,
            (a, b) => a == b,
        }
    }
}

/// A value `[map.defaults]` can hold: text, a number or true/false, not empty.
pub(super) fn is_constant(value: &Value) -> bool {
    matches!(value, Value::Bool(_) | Value::Number(_))
        || value.as_str().is_some_and(|s| !s.trim().is_empty())
}

/// The `(separator, part)` pairs that split `text` so that one part is `part`: the separator
/// is a character beside an occurrence of `part` that is no letter or digit.
pub(super) fn splits_giving(text: &str, part: &str) -> Vec<(String, usize)> {
    let mut found: Vec<(String, usize)> = Vec::new();
    if part.is_empty() || part == text {
        return found;
    }
    for (start, _) in text.match_indices(part) {
        let before = text[..start].chars().next_back();
        let after = text[start + part.len()..].chars().next();
        for separator in [before, after].into_iter().flatten() {
            if separator.is_alphanumeric() {
                continue;
            }
            let separator = separator.to_string();
            if let Some(at) = text.split(separator.as_str()).position(|p| p == part) {
                if !found.contains(&(separator.clone(), at + 1)) {
                    found.push((separator, at + 1));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_is_found_beside_the_part() {
        assert_eq!(
            splits_giving("ada@x.example", "x.example"),
            vec![("@".to_string(), 2)]
        );
        assert_eq!(
            splits_giving("Ada Lovelace", "Ada"),
            vec![(" ".to_string(), 1)]
        );
        assert!(
            splits_giving("ada", "ada").is_empty(),
            "the whole text is no split"
        );
    }
}
