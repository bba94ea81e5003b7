//! Settling evaluated rows in input order: duplicate keys, `Unique` values, the diff against
//! the stored state, and where each change and problem goes.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::hash::{FrozenMap, Hash128};
use crate::map::PLATFORM_ID;
use crate::model::change::{self, Action, Change, FieldChange};
use crate::model::position::Position;
use crate::model::problem::{Problem, Severity};
use crate::model::record::{user_hash, StoredUser};
use crate::model::user::{self, Field, Op, User};
use crate::plan::outlet::Outlet;
use crate::plan::pipeline::{Evaluations, Outcome};
use crate::plan::reject::{ChunkCells, RejectedRow, RowCells};
use crate::plan::rejection::Rejection;
use crate::plan::seen::FirstSeen;
use crate::plan::stored::StoredState;
use crate::plan::summary::Summary;
use crate::plan::unique::UniqueIndex;
use crate::rules::Evaluated;

/// How many rows ahead a recognised row's first reads are fetched (see [`Settler::chunk`]).
const PREFETCH_FAR: usize = 8;

/// How many rows ahead the reads that depend on those are fetched.
const PREFETCH_NEAR: usize = 4;

/// Settles evaluated rows in input order: keys, uniqueness, the diff, and storing.
pub(super) struct Settler<'a> {
    pub(super) state: &'a dyn StoredState,
    /// Stored keys (by hash) with the low word of their record hash and their rowid.
    pub(super) index: FrozenMap<(u64, i64)>,
    /// Keys seen in the input (rejected rows included), with the first row's place.
    pub(super) seen: FirstSeen,
    pub(super) unique: UniqueIndex,
    pub(super) warned_columns: HashSet<String>,
    pub(super) summary: Summary,
    /// Rows settled as the stored user their fingerprint names.
    pub(super) reused: u64,
    /// Rows settled as the remembered rejection their fingerprint names.
    pub(super) remembered: u64,
    /// Whether the changes keep the fingerprints of their rows, and the plan the rejections
    /// of rows rejected on their own (not for a state load).
    pub(super) keep_fingerprints: bool,
    /// What a remembered rejection keeps of the user: the fields the checks between rows
    /// read (the key and the `Unique` fields).
    pub(super) rejection_fields: Vec<Field>,
    pub(super) outlet: &'a mut dyn Outlet,
}

/// The row whose problems are being stored: what a rejected row is made of.
struct Settling<'r> {
    position: &'r Position,
    key: Option<&'r str>,
    cells: RowCells<'r>,
    /// The password the rules made of the row, withheld from its cells.
    password: Option<&'r str>,
}

impl Settler<'_> {
    pub(super) fn chunk(&mut self, chunk: Evaluations) -> Result<()> {
        let Evaluations { rows, cells } = chunk;
        // Recognised rows are settled by a few reads each in tables of a million entries,
        // each a cache miss: their places are fetched some rows ahead instead.
        let known: Vec<Option<usize>> = rows
            .iter()
            .map(|(_, outcome)| match outcome {
                Outcome::Known(slot) => Some(*slot),
                _ => None,
            })
            .collect();
        rows.into_iter()
            .enumerate()
            .try_for_each(|(n, (position, outcome))| {
                if let Some(&Some(slot)) = known.get(n + PREFETCH_FAR) {
                    self.prefetch_far(slot);
                }
                if let Some(&Some(slot)) = known.get(n + PREFETCH_NEAR) {
                    self.unique.prefetch_values(slot);
                }
                self.outcome(n, position, outcome, &cells)
            })
    }

    /// Brings what settling the recognised row of the stored user at `slot` reads first
    /// towards the CPU (see [`crate::hash::prefetch`]).
    fn prefetch_far(&self, slot: usize) {
        self.index.prefetch(slot);
        self.seen.prefetch(slot);
        self.unique.prefetch_slots(slot);
    }

    /// Settles the `n`th row of a chunk, by what the rules made of it.
    fn outcome(
        &mut self,
        n: usize,
        position: Position,
        outcome: Outcome,
        cells: &ChunkCells,
    ) -> Result<()> {
        match outcome {
            Outcome::Evaluated(evaluated, fingerprint) => {
                self.row(&position, evaluated, fingerprint, cells.row(n))
            }
            Outcome::Known(slot) => self.known_row(&position, slot, cells.row(n)),
            Outcome::Remembered(evaluated, fingerprint) => {
                self.remembered += 1;
                self.row(&position, evaluated, Some(fingerprint), cells.row(n))
            }
        }
    }

    /// Settles a row whose fingerprint names the stored user at `slot` of the key index (see
    /// [`crate::plan::fingerprint`]): the rules would make that user of it, so the row changes
    /// nothing once its key and `Unique` values pass the checks every row goes through. They
    /// are checked by their hashes; the user's key and values are read only for a problem.
    fn known_row(&mut self, position: &Position, slot: usize, cells: RowCells) -> Result<()> {
        self.reused += 1;
        let key_hash = self.index.key_at(slot);
        let (_, rowid) = *self.index.value_at(slot);
        let duplicate_of = self.seen.first(key_hash, Some(slot), position);
        let taken = self
            .unique
            .check_known(self.state, &self.index, slot, position)?;
        if duplicate_of.is_none() && taken.is_empty() {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let key = self.state.key_at(rowid)?.unwrap_or_default();
        let mut problems: Vec<Problem> = duplicate_of
            .map(|first| duplicate(&key, &first, position))
            .into_iter()
            .collect();
        problems.extend(
            taken
                .into_iter()
                .map(|(field, message)| unique_problem(field, &message, position, Some(&key))),
        );
        let row = Settling {
            position,
            key: Some(&key),
            cells,
            password: None,
        };
        self.store_problems(&problems, row)
    }

    /// Settles one row the rules ran on, or the remembered rejection of one; `fingerprint` is
    /// the row's (none in a check).
    fn row(
        &mut self,
        position: &Position,
        evaluated: Evaluated,
        fingerprint: Option<Hash128>,
        cells: RowCells,
    ) -> Result<()> {
        if let Some(fingerprint) = fingerprint.filter(|_| self.keep_fingerprints) {
            self.remember_rejection(fingerprint, &evaluated)?;
        }
        let Evaluated {
            op,
            user,
            mut problems,
            unknown_columns,
            platform_ids,
        } = evaluated;
        // Only a row without problems (below) or unknown columns (warned about once, on the
        // first row that has them) may be recognised by its fingerprint later.
        let plain = unknown_columns.is_empty();
        for column in unknown_columns {
            if self.warned_columns.insert(column.clone()) {
                self.store_problem(&unknown_column(&column, position))?;
            }
        }
        let key = user.key().map(str::to_string);
        // The row's key's slot among the stored users', if it has one.
        let mut own = None;
        match &key {
            None => {
                // A row the map hook could not map has its error already; a missing key says no more.
                let explained = problems.iter().any(|p| {
                    p.severity == Severity::Error
                        && (p.field.is_none()
                            || p.field.as_deref() == Some(Field::ExternalId.name()))
                });
                if !explained {
                    problems.push(
                        Problem::error("Required", "the key `external_id` is missing or empty")
                            .on_field(Field::ExternalId.name())
                            .at(position, None),
                    );
                }
            }
            Some(key) => {
                let hash = Hash128::of(key);
                own = self.index.slot(&hash);
                if let Some(first) = self.seen.first(hash, own, position) {
                    problems.push(duplicate(key, &first, position));
                }
            }
        }
        if op != Op::Delete {
            let taken = self
                .unique
                .check(self.state, &self.index, &user, own, position)?;
            problems.extend(
                taken.into_iter().map(|(field, message)| {
                    unique_problem(field, &message, position, key.as_deref())
                }),
            );
        }
        let rejected = problems.iter().any(|p| p.severity == Severity::Error);
        // Copied only when there is one: the diff takes the user, and may still reject it.
        let password = user
            .get(Field::Password)
            .and_then(Value::as_str)
            .map(str::to_string);
        let planning = self.outlet.changes().is_some();
        if !rejected && planning {
            if let Some(key) = &key {
                let keep = plain && problems.is_empty() && self.keep_fingerprints;
                let fingerprint = fingerprint.filter(|_| keep);
                if let Some(problem) =
                    self.diff(key, op, user, platform_ids, position, fingerprint)?
                {
                    problems.push(problem);
                }
            }
        }
        let row = Settling {
            position,
            key: key.as_deref(),
            cells,
            password: password.as_deref(),
        };
        self.store_problems(&problems, row)
    }

    /// Hands the rejection of a row with `fingerprint` to the plan, when its evaluation alone
    /// rejects it (see [`crate::plan::rejection`]).
    fn remember_rejection(&mut self, fingerprint: Hash128, evaluated: &Evaluated) -> Result<()> {
        let Some(changes) = self.outlet.changes() else {
            return Ok(());
        };
        match Rejection::of(evaluated, &self.rejection_fields) {
            Some(rejection) => changes.rejection(fingerprint, &rejection),
            None => Ok(()),
        }
    }

    /// Stores a row's problems; when one is an error, counts the row as rejected and keeps
    /// its cells.
    fn store_problems(&mut self, problems: &[Problem], row: Settling) -> Result<()> {
        for problem in problems {
            self.store_problem(problem)?;
        }
        if problems.iter().any(|p| p.severity == Severity::Error) {
            self.summary.error += 1;
            let rejected =
                RejectedRow::new(row.position, row.key, row.cells, problems, row.password);
            self.outlet.rejected(rejected, problems.len())?;
        }
        Ok(())
    }

    /// Plans one accepted row; a conflict or a delete of a missing user comes back as a problem.
    /// `fingerprint` (of a row without problems) is kept for the apply when the rules' user is
    /// exactly the record the change makes, or the stored record the row leaves unchanged (see
    /// [`crate::plan::fingerprint`]).
    fn diff(
        &mut self,
        key: &str,
        op: Op,
        user: User,
        ids: Map<String, Value>,
        position: &Position,
        fingerprint: Option<Hash128>,
    ) -> Result<Option<Problem>> {
        let reusable = op == Op::Upsert && ids.is_empty() && !user.has(Field::Password);
        let user_fields = user.fields().filter(|(_, v)| !v.is_null()).count();
        let stored = match self.index.get(&Hash128::of(key)) {
            Some((hash, _))
                if op == Op::Upsert && ids.is_empty() && is_exactly_stored(key, &user, *hash) =>
            {
                self.summary.unchanged += 1;
                if let (Some(fingerprint), Some(changes)) = (fingerprint, self.outlet.changes()) {
                    changes.fingerprint(key, fingerprint)?;
                }
                return Ok(None);
            }
            Some((_, rowid)) => self.state.user_at(*rowid)?,
            None => None,
        };
        let source = Some(position.to_string());
        let mut exact = false;
        let change = match (op, stored) {
            (Op::Create, Some(_)) => {
                return Ok(Some(
                    Problem::error(
                        "Conflict",
                        format!("user `{key}` already exists, so it cannot be created (the vendor answers 409); use upsert (2) to update it"),
                    )
                    .at(position, Some(key)),
                ))
            }
            (Op::Delete, None) => {
                return Ok(Some(
                    Problem::warning("Missing", format!("user `{key}` is not in the state: nothing to delete"))
                        .at(position, Some(key)),
                ))
            }
            (Op::Delete, Some(stored)) => Change {
                action: Action::Delete,
                key: key.to_string(),
                source,
                fields: Vec::new(),
                before: Some(stored.record),
                after: None,
                platform_ids: stored.platform_ids,
            },
            (Op::Create | Op::Upsert, stored) => {
                let before = stored.as_ref().map(|s| &s.record);
                let mut merged = change::merge(before, user);
                let (platform_ids, id_changes) = merge_ids(stored.as_ref().and_then(|s| s.platform_ids.as_ref()), ids);
                if before.is_some() {
                    merged.fields.extend(id_changes);
                }
                if merged.fields.is_empty() && before.is_some() {
                    self.summary.unchanged += 1;
                    return Ok(None);
                }
                if let (Some(password), Some(changes)) = (&merged.password, self.outlet.changes()) {
                    changes.secret(key, password)?;
                }
                let mut after = merged.after;
                after.insert(Field::ExternalId.name().into(), Value::String(key.to_string()));
                // The record holds the user's fields; it is the user when it holds no others.
                exact = reusable && after.len() == user_fields;
                Change {
                    action: if before.is_some() { Action::Update } else { Action::Create },
                    key: key.to_string(),
                    source,
                    fields: merged.fields,
                    before: stored.map(|s| s.record),
                    after: Some(after),
                    platform_ids,
                }
            }
        };
        self.store_change(&change, fingerprint.filter(|_| exact))?;
        Ok(None)
    }

    /// Under `--sync`: every stored user whose key no row carried goes, in key order.
    pub(super) fn delete_absent(&mut self) -> Result<()> {
        let mut rowids: Vec<i64> = self
            .index
            .values()
            .enumerate()
            .filter(|(slot, _)| !self.seen.contains_slot(*slot))
            .map(|(_, (_, rowid))| *rowid)
            .collect();
        // In rowid order the keys are read in one walk along the table, not a page each.
        rowids.sort_unstable();
        let mut absent = Vec::with_capacity(rowids.len());
        for rowid in rowids {
            absent.extend(self.state.key_at(rowid)?.map(|key| (key, rowid)));
        }
        absent.sort_unstable();
        for (key, rowid) in absent {
            if let Some(stored) = self.state.user_at(rowid)? {
                self.store_change(&deletion(&key, stored), None)?;
            }
        }
        Ok(())
    }

    fn store_change(&mut self, change: &Change, fingerprint: Option<Hash128>) -> Result<()> {
        self.summary.count(change.action);
        match self.outlet.changes() {
            Some(changes) => changes.change(change, fingerprint),
            None => Ok(()),
        }
    }

    fn store_problem(&mut self, problem: &Problem) -> Result<()> {
        if problem.severity == Severity::Warning {
            self.summary.warning += 1;
        }
        self.outlet.problem(problem)
    }
}

/// The platform ids after a row: the stored ones, with those the row carries set over them;
/// each id that changes is listed as a field change (`platform_id.esystems`).
fn merge_ids(
    stored: Option<&Value>,
    given: Map<String, Value>,
) -> (Option<Value>, Vec<FieldChange>) {
    let mut ids = stored
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut changes = Vec::new();
    for (vendor, id) in given {
        if ids.get(&vendor) != Some(&id) {
            changes.push(FieldChange {
                field: format!("{PLATFORM_ID}{vendor}"),
                before: ids.get(&vendor).cloned().unwrap_or(Value::Null),
                after: id.clone(),
            });
            ids.insert(vendor, id);
        }
    }
    ((!ids.is_empty()).then_some(Value::Object(ids)), changes)
}

/// Whether the stored record is exactly the user's fields: then nothing changes, and the
/// stored record need not be read. Most rows of a weekly full export take this path.
fn is_exactly_stored(key: &str, user: &User, stored_hash: u64) -> bool {
    if user.has(Field::Password) {
        return false; // a password hash is salted: only the stored record can tell
    }
    let mut record = change::record_of(user);
    record.insert(
        Field::ExternalId.name().into(),
        Value::String(key.to_string()),
    );
    let json = serde_json::to_string(&record).expect("records serialise");
    user_hash(key, &json) as u64 == stored_hash
}

/// The change that deletes the stored user `key`, absent from a `--sync` plan's input.
pub(super) fn deletion(key: &str, stored: StoredUser) -> Change {
    Change {
        action: Action::Delete,
        key: key.to_string(),
        source: Some("not in the input (--sync)".to_string()),
        fields: Vec::new(),
        before: Some(stored.record),
        after: None,
        platform_ids: stored.platform_ids,
    }
}

/// A later row of a key: rejected, naming the row that keeps it.
fn duplicate(key: &str, first: &str, position: &Position) -> Problem {
    Problem::error(
        "Duplicate",
        format!("key `{key}` appears again; the row at {first} keeps it and this row is rejected"),
    )
    .on_field(Field::ExternalId.name())
    .at(position, Some(key))
}

/// A value of a `Unique` field that another row or stored user has.
fn unique_problem(field: Field, message: &str, position: &Position, key: Option<&str>) -> Problem {
    Problem::error("Unique", format!("{message}; `{field}` must be unique"))
        .on_field(field.name())
        .at(position, key)
}

fn unknown_column(column: &str, position: &Position) -> Problem {
    let hint = user::nearest_field(column)
        .map(|f| format!("; did you mean `{f}`?"))
        .unwrap_or_else(|| "; map it in a rules `map` hook if it matters".to_string());
    Problem {
        position: Some(position.clone()),
        ..Problem::warning(
            "Column",
            format!("column `{column}` is not a canonical field and is ignored{hint}"),
        )
        .on_field(column)
    }
}
