//! Whether a pack's `map` hooks only do what `tenant.toml`'s `[map]` does, found on the rows
//! of `rules check --data` (see `docs/rules.md`).
//!
//! For each field the hooks return, a probe keeps the ways `[map]` could have made its value
//! (a column, trimmed or not, in a case; a part of another field; a constant default) and
//! drops a way at the first row where it gives another value. Each worker thread probes its
//! own rows and the probes are merged at the end. The `[map]` they leave is only a candidate:
//! [`confirm`] runs it through the real mapping on every row again and keeps it only when it
//! makes exactly the users the hooks made.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_128;

use super::declarative::{target_name, Case, DeclarativeMap};
use super::helpers::title_chars;
use super::settings::Settings;
use crate::error::Result;
use crate::map::{check_canonical_columns, map_columns, Mapped, PLATFORM_ID};
use crate::model::position::Position;
use crate::model::user::{self, Field, FieldKind, CUD};
use crate::read::{self, ReadOptions, Row};

/// What the probes of one check learn: shared by the evaluators of the worker threads only
/// through the flag that says a row ruled every `[map]` out, so the others stop too.
#[derive(Debug)]
pub struct MapProbe {
    given_up: Arc<AtomicBool>,
    keys: Vec<KeyWays>,
    rows: u64,
    users: u128,
}

/// The ways left for one key the hooks return.
#[derive(Debug, Clone)]
struct KeyWays {
    /// The key as the hooks return it.
    key: String,
    /// What it fills.
    target: Target,
    ways: Vec<Way>,
    /// The last row (of this probe) that had the key.
    seen_at: u64,
}

/// What a key of the hooks' result fills, which limits how `[map]` can make it.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A canonical field: any way.
    Field(Field),
    /// `address.x` / `attributes.x`: a rename or a split, without case or default.
    Dotted(String),
    /// `cud` or `platform_id.x`: only the source column of that name, as it is.
    Passed,
}

/// One way `[map]` could make a key's value, with the default it needs.
#[derive(Debug, Clone, PartialEq)]
struct Way {
    source: Source,
    default: Default,
}

#[derive(Debug, Clone, PartialEq)]
enum Source {
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
enum Default {
    Unknown,
    Never,
    Fill(Value),
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

impl KeyWays {
    /// Every way `[map]` could make `value` of `key` from this row; `None` when the hooks
    /// returned a key that is no field (a `Script` problem, which `[map]` never makes).
    fn first_seen(
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
    /// way per field and row; a way so spared on a row is still run on it by [`confirm`].
    fn narrow(
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
    fn keep_giving(
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
    fn writable(&self, way: &Way, trim: bool) -> bool {
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
    fn cost(&self, way: &Way) -> u8 {
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
    fn is_named(&self, column: &str) -> bool {
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
    fn gives_fast(
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
    fn gives(
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
    fn meet(&self, other: &Way) -> Option<Way> {
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
    fn make(&mut self, columns: &[(Arc<str>, Value)], returned: &[Returned<'_>]) -> Option<Value> {
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
    fn cell(&mut self, columns: &[(Arc<str>, Value)]) -> Option<usize> {
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
    fn text<'r>(&mut self, columns: &'r [(Arc<str>, Value)]) -> Option<(usize, &'r str)> {
        let trim = matches!(self, Source::Column { trim: true, .. });
        let at = self.cell(columns)?;
        let text = columns[at].1.as_str()?;
        Some((at, if trim { text.trim() } else { text }))
    }

    /// Whether a column's `text`, in the way's case, is `wanted` (without building it for
    /// upper and lower case).
    fn cased_equal(&self, text: &str, wanted: &str) -> bool {
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
    fn ascii_cased_equal(&self, text: &[u8], wanted: &[u8]) -> bool {
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
    fn same(&self, other: &Source) -> bool {
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

/// A key the hooks returned and its value; the entries of a returned `address` or
/// `attributes` object are keys of their own (`attributes.region`), as `[map]` makes them.
type Returned<'r> = (Cow<'r, str>, &'r Value);

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

/// A value `[map.defaults]` can hold: text, a number or true/false, not empty.
fn is_constant(value: &Value) -> bool {
    matches!(value, Value::Bool(_) | Value::Number(_))
        || value.as_str().is_some_and(|s| !s.trim().is_empty())
}

/// The `(separator, part)` pairs that split `text` so that one part is `part`: the separator
/// is a character beside an occurrence of `part` that is no letter or digit.
fn splits_giving(text: &str, part: &str) -> Vec<(String, usize)> {
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

/// Rows read ahead of the threads that map them again.
const CONFIRM_CHUNK: usize = 2048;

/// What `map` makes of every row of `files`: the rows, the sum of their users' fingerprints,
/// and whether each file's columns pass the check a plan makes of them. A reader thread reads
/// chunks of rows while the worker threads map the chunks before.
fn made_by(
    map: &DeclarativeMap,
    separator: char,
    files: &[String],
    options: &ReadOptions,
) -> Result<(u64, u128, bool)> {
    std::thread::scope(|scope| {
        let (sender, chunks) = std::sync::mpsc::sync_channel::<Vec<Row>>(2);
        let reader = scope.spawn(move || -> Result<bool> {
            let mut columns_fit = true;
            for file in files {
                let (mut first, mut chunk) = (true, Vec::with_capacity(CONFIRM_CHUNK));
                let mut sink = |row: Row| {
                    if std::mem::take(&mut first) && !map.fills(Field::ExternalId) {
                        let names = row.columns.iter().map(|(name, _)| map.renamed(name));
                        let at = row.position.to_string();
                        columns_fit &= check_canonical_columns(&at, names).is_ok();
                    }
                    chunk.push(row);
                    if chunk.len() == CONFIRM_CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CONFIRM_CHUNK));
                        sender
                            .send(full)
                            .map_err(|_| crate::error::Error::Stopped)?;
                    }
                    Ok(())
                };
                read::read_source(file, options, &mut sink)?;
                sender
                    .send(chunk)
                    .map_err(|_| crate::error::Error::Stopped)?;
            }
            Ok(columns_fit)
        });
        let (mut rows, mut users) = (0u64, 0u128);
        for chunk in chunks {
            rows += chunk.len() as u64;
            users = users.wrapping_add(
                chunk
                    .into_par_iter()
                    .map(|row| {
                        let mapped = map_columns(map.apply(row.columns), separator);
                        fingerprint(&row.position, &mapped)
                    })
                    .reduce(|| 0, u128::wrapping_add),
            );
        }
        let columns_fit = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((rows, users, columns_fit))
    })
}

/// The fingerprint of the user made of the row at `position`: its operation, fields and
/// platform ids. Summed over rows, in any order.
fn fingerprint(position: &Position, mapped: &Mapped) -> u128 {
    let mut bytes = Vec::with_capacity(512);
    bytes.extend_from_slice(position.file.as_bytes());
    bytes.extend_from_slice(&position.index.to_le_bytes());
    bytes.push(mapped.op as u8);
    for (field, value) in mapped.user.fields() {
        bytes.extend_from_slice(field.name().as_bytes());
        encode(&mut bytes, value);
    }
    for (vendor, id) in &mapped.platform_ids {
        encode_text(&mut bytes, vendor);
        encode(&mut bytes, id);
    }
    xxh3_128(&bytes)
}

/// Appends a value: a tag, then its content with lengths, so that no two values give the
/// same bytes.
fn encode(bytes: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => bytes.push(0),
        Value::Bool(b) => bytes.extend_from_slice(&[1, u8::from(*b)]),
        Value::Number(n) => {
            bytes.push(2);
            encode_text(bytes, &n.to_string());
        }
        Value::String(s) => {
            bytes.push(3);
            encode_text(bytes, s);
        }
        Value::Array(items) => {
            bytes.push(4);
            bytes.extend_from_slice(&items.len().to_le_bytes());
            items.iter().for_each(|item| encode(bytes, item));
        }
        Value::Object(entries) => {
            bytes.push(5);
            bytes.extend_from_slice(&entries.len().to_le_bytes());
            for (key, item) in entries {
                encode_text(bytes, key);
                encode(bytes, item);
            }
        }
    }
}

fn encode_text(bytes: &mut Vec<u8>, text: &str) {
    bytes.extend_from_slice(&text.len().to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
}

/// The chosen ways, grouped as `[map]`'s tables.
#[derive(Default)]
struct Written {
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
    fn of(chosen: Vec<(&KeyWays, Way)>, trim: bool) -> Option<Written> {
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
    fn toml(&self) -> String {
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
