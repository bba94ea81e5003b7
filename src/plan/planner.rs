//! The planner: rows → rules → keyed diff against the stored state → a stored plan. A
//! check (`rules check --data`) runs the same stages up to the diff and reports problems.
//!
//! Rows are read in chunks on a reader thread; each chunk is run through the rules in
//! parallel (one evaluator per worker thread), then settled in input order on the calling
//! thread, because duplicate keys, `Unique` and the diff depend on the rows before. Changes
//! are written as they are found, so memory holds a few chunks and the key index, never the
//! whole input.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::hash::{FrozenMap, Hash128, HashedMap};
use crate::map::PLATFORM_ID;
use crate::model::change::{self, Action, Change, FieldChange};
use crate::model::problem::{Problem, Severity};
use crate::model::record::{unique_text, user_hash, StoredUser};
use crate::model::user::{self, Field, Op, User};
use crate::overlap::Overlap;
use crate::plan::fingerprint::Fingerprints;
use crate::plan::outlet::Outlet;
use crate::plan::reject::{ChunkCells, RejectedRow, RowCells};
use crate::plan::stored::{NothingStored, StoredState, NO_SLOT};
use crate::plan::summary::{Guard, Input, PlanKind, Summary};
use crate::progress::Progress;
use crate::read::{self, Cells, Position, ReadOptions, Row};
use crate::rules::{Evaluated, Evaluators, RefTables, RulePack};

/// Rows evaluated together; big enough to keep every core busy, small enough to bound memory.
const CHUNK_ROWS: usize = 4096;

/// Chunks the rules may evaluate while one is settled: more than one keeps the worker
/// threads busy when the settling thread waits for the next chunk.
const EVALUATING_CHUNKS: usize = 2;

/// Chunks the reader may read ahead of the rules.
const READ_AHEAD_CHUNKS: usize = 2;

/// A chunk is sent on early when its rows' cells pass this many bytes (rows of huge JSON
/// objects), which bounds memory and keeps a chunk's buffer offsets small.
const CHUNK_TEXT: usize = 256 << 20;

/// Below this share of deletes no confirmation is asked (a mistyped file must never wipe a
/// customer; see `docs/architecture.md`).
pub const DEFAULT_MAX_DELETE_PERCENT: f64 = 20.0;

/// Tenants smaller than this are not protected by the delete threshold.
pub const MASS_DELETE_MIN_USERS: u64 = 100;

/// What to plan.
pub struct PlanRequest<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// Source files (`-` for stdin).
    pub inputs: &'a [String],
    /// How to read them.
    pub read: ReadOptions,
    /// Delete stored users absent from the input.
    pub sync: bool,
    /// The largest share of the tenant's users the plan may delete.
    pub max_delete_percent: Option<f64>,
    /// Where to count rows as they are planned.
    pub progress: Progress,
    /// A plan of source files, or a state load of a vendor's export.
    pub kind: PlanKind,
}

/// A stored plan's id and counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// The plan's id.
    pub id: i64,
    /// What it does.
    pub summary: Summary,
    /// Rows whose fingerprint named a stored user, so the rules did not run on them.
    pub reused: u64,
}

/// What planning found besides its changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The inputs read.
    pub inputs: Vec<Input>,
    /// What the plan does.
    pub summary: Summary,
    /// Rows whose fingerprint named a stored user, so the rules did not run on them.
    pub reused: u64,
}

/// Plans `request` against `state`: every change, fingerprint, secret, problem and rejected
/// row goes to `outlet`, in input order. The mass-delete guard is the caller's to check
/// ([`delete_guard`], [`check_mass_delete`]).
pub fn settle_plan(
    state: &dyn StoredState,
    outlet: &mut dyn Outlet,
    pack: &RulePack,
    refs: Arc<RefTables>,
    request: &PlanRequest,
) -> Result<Settled> {
    let evaluators = pack.evaluators(refs.clone())?;
    let unique_fields = pack.unique_fields();
    let names: Vec<&str> = unique_fields.iter().map(|f| f.name()).collect();
    let stored = state.indexes(&names)?;
    let fingerprints = Fingerprints::new(pack.digest(), refs.digest(), stored.fingerprints);
    let mut settle = Settler {
        state,
        seen: FirstSeen::with_slots(stored.keys.len()),
        index: stored.keys,
        unique: UniqueIndex::new(&unique_fields, stored.values, stored.value_slots),
        warned_columns: HashSet::new(),
        summary: Summary::default(),
        reused: 0,
        keep_fingerprints: request.kind == PlanKind::Plan,
        outlet,
    };
    let sources = Sources {
        inputs: request.inputs,
        read: &request.read,
        progress: &request.progress,
        check_columns: !pack.has_map_hook(),
        fingerprints: Some(&fingerprints),
    };
    let inputs = settle_all(&sources, &evaluators, None, &mut settle)?;
    if request.sync {
        settle.delete_absent()?;
    }
    request.progress.finish();
    Ok(Settled {
        inputs,
        summary: settle.summary,
        reused: settle.reused,
    })
}

/// The mass-delete guard of a plan of `request` against a tenant of `users` users.
pub fn delete_guard(pack: &RulePack, request: &PlanRequest, users: u64) -> Guard {
    let default_percent = pack
        .settings()
        .max_delete_percent
        .unwrap_or(DEFAULT_MAX_DELETE_PERCENT);
    Guard {
        users,
        allowed_percent: request.max_delete_percent.unwrap_or(default_percent),
        default_percent,
        min_users: MASS_DELETE_MIN_USERS,
    }
}

/// What `rules check --data` found.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Checked {
    /// Rows read.
    pub rows: u64,
    /// Rows with an error.
    pub rejected: u64,
    /// Warnings.
    pub warnings: u64,
}

/// Runs `inputs` through the rules and the checks between rows (duplicate keys, `Unique`)
/// on their own: no stored user is read and nothing is written. Each problem and rejected
/// row goes to `report` (whose [`Outlet::changes`] is `None`), in input order.
pub fn check(
    pack: &RulePack,
    refs: Arc<RefTables>,
    inputs: &[String],
    read: &ReadOptions,
    progress: &Progress,
    report: &mut dyn Outlet,
) -> Result<Checked> {
    let evaluators = pack.evaluators(refs)?;
    let unique_fields = pack.unique_fields();
    let names: Vec<&str> = unique_fields.iter().map(|f| f.name()).collect();
    let stored = NothingStored.indexes(&names)?;
    let mut settle = Settler {
        state: &NothingStored,
        seen: FirstSeen::default(),
        index: stored.keys,
        unique: UniqueIndex::new(&unique_fields, stored.values, stored.value_slots),
        warned_columns: HashSet::new(),
        summary: Summary::default(),
        reused: 0,
        keep_fingerprints: false,
        outlet: report,
    };
    let sources = Sources {
        inputs,
        read,
        progress,
        check_columns: !pack.has_map_hook(),
        fingerprints: None,
    };
    // The password only to withhold it from a rejected row's cells.
    let settled_fields: Vec<Field> = [Field::ExternalId, Field::Password]
        .into_iter()
        .chain(unique_fields.iter().copied())
        .collect();
    let read = settle_all(&sources, &evaluators, Some(&settled_fields), &mut settle)?;
    progress.finish();
    Ok(Checked {
        rows: read.iter().map(|input| input.rows).sum(),
        rejected: settle.summary.error,
        warnings: settle.summary.warning,
    })
}

/// The files to read, and how.
struct Sources<'a> {
    inputs: &'a [String],
    read: &'a ReadOptions,
    progress: &'a Progress,
    /// Whether the first row's columns must be canonical fields (no `map` hook).
    check_columns: bool,
    /// The fingerprints rows are recognised by (none for a check).
    fingerprints: Option<&'a Fingerprints>,
}

/// Reads, evaluates and settles every row of `sources`; says what was read. With
/// `settled_fields` (a check's: the key and the `Unique` fields), the rest of each user is
/// dropped on the worker threads rather than by the settling thread, which never reads it.
///
/// Three stages overlap instead of taking turns: a reader thread reads chunks of rows; the
/// rules evaluate the next chunks on the worker threads while this thread settles the
/// oldest, in order.
fn settle_all(
    sources: &Sources,
    evaluators: &Evaluators,
    settled_fields: Option<&[Field]>,
    settle: &mut Settler,
) -> Result<Vec<Input>> {
    std::thread::scope(|scope| -> Result<Vec<Input>> {
        let (sender, chunks) = std::sync::mpsc::sync_channel(READ_AHEAD_CHUNKS);
        let reader = scope.spawn(move || read_inputs(sources, sender));
        let mut overlap = Overlap::with_depth(scope, EVALUATING_CHUNKS);
        // Settles the oldest chunk evaluated, if it is its turn; says whether it did.
        let mut hand_over = |next: Option<Chunk>| -> Result<bool> {
            let job = next.map(|rows| move || evaluate(evaluators, settled_fields, rows));
            match overlap.hand_over(job)? {
                Some(done) => settle.chunk(done).map(|()| true),
                None => Ok(false),
            }
        };
        // `chunks` goes with the loop: a settling error hangs up on the reader, which stops.
        let settled = chunks
            .into_iter()
            .try_for_each(|chunk| hand_over(Some(chunk)).map(drop))
            .and_then(|()| {
                while hand_over(None)? {}
                Ok(())
            });
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        settled.and(read)
    })
}

/// Reads every input in chunks of rows into `chunks`, each row with its fingerprint (when
/// rows are recognised), and says what was read. Stops when the receiver hangs up.
fn read_inputs(sources: &Sources, chunks: SyncSender<Chunk>) -> Result<Vec<Input>> {
    let mut arrivals = Arrivals {
        check_columns: sources.check_columns,
        fingerprints: sources.fingerprints,
        chunks,
        progress: sources.progress,
        chunk: Chunk::default(),
        unknown: None,
    };
    let mut inputs = Vec::new();
    for name in sources.inputs {
        let read = read::read_source(name, sources.read, &mut arrivals)?;
        arrivals.send()?;
        inputs.push(Input {
            file: name.clone(),
            digest: read.digest,
            rows: read.rows,
        });
    }
    Ok(inputs)
}

/// Rows as read, with their source cells (kept for the rows that will be rejected).
#[derive(Default)]
struct Chunk {
    rows: Vec<Arrival>,
    cells: ChunkCells,
}

/// The reader thread's sink: each row fingerprinted, sent on in chunks.
struct Arrivals<'a> {
    check_columns: bool,
    fingerprints: Option<&'a Fingerprints>,
    chunks: SyncSender<Chunk>,
    progress: &'a Progress,
    chunk: Chunk,
    /// The fingerprint of the row just offered as text and not recognised: the reader hands
    /// that row over built next, and it need not be fingerprinted again.
    unknown: Option<Hash128>,
}

impl Arrivals<'_> {
    /// Adds a row, whose cells were just added to `self.chunk.cells`.
    fn push(&mut self, arrival: Arrival) -> Result<()> {
        self.chunk.rows.push(arrival);
        if self.chunk.rows.len() == CHUNK_ROWS || self.chunk.cells.text_len() >= CHUNK_TEXT {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the rows gathered so far, if any.
    fn send(&mut self) -> Result<()> {
        if self.chunk.rows.is_empty() {
            return Ok(());
        }
        let next = Chunk {
            rows: Vec::with_capacity(CHUNK_ROWS),
            cells: ChunkCells::like(&self.chunk.cells),
        };
        let chunk = std::mem::replace(&mut self.chunk, next);
        self.progress.inc(chunk.rows.len() as u64);
        self.chunks
            .send(chunk)
            // Never shown: the settling error that hung up is the plan's.
            .map_err(|_| Error::Usage("planning stopped".into()))
    }
}

impl read::Sink for Arrivals<'_> {
    fn row(&mut self, row: Row) -> Result<()> {
        if self.check_columns && row.position.index == 0 {
            check_canonical_columns(&row)?;
        }
        self.chunk.cells.push_values(&row.columns);
        let arrival = match (self.unknown.take(), self.fingerprints) {
            (Some(fingerprint), _) => Arrival::Unknown(row, Some(fingerprint)),
            (None, Some(fingerprints)) => Arrival::of(row, fingerprints),
            (None, None) => Arrival::Unknown(row, None),
        };
        self.push(arrival)
    }

    /// A CSV row is recognised by the fingerprint of its text, without being built: most rows
    /// of a delta are known, and building them was most of the reader's work.
    fn cells(&mut self, position: &Position, names: &[Arc<str>], cells: &Cells) -> Result<bool> {
        let Some(fingerprints) = self.fingerprints else {
            return Ok(false);
        };
        // The first row is built: its columns are checked.
        if self.check_columns && position.index == 0 {
            return Ok(false);
        }
        let columns = || names.iter().map(|name| &**name).zip(cells.iter());
        let fingerprint = fingerprints.of_texts(columns());
        match fingerprints.known(fingerprint) {
            Some(slot) => {
                self.chunk.cells.push_texts(names, cells.iter());
                self.push(Arrival::Known(position.clone(), slot))
                    .map(|()| true)
            }
            None => {
                self.unknown = Some(fingerprint);
                Ok(false)
            }
        }
    }
}

/// Without a map hook the columns are the fields: a file whose key column is missing, or
/// with two columns for one field, is refused whole rather than rejected row by row.
fn check_canonical_columns(row: &Row) -> Result<()> {
    let mut seen: HashMap<Field, &str> = HashMap::new();
    for (name, _) in &row.columns {
        if let Some(field) = Field::parse(name) {
            if let Some(first) = seen.insert(field, name) {
                return Err(Error::input(
                    format!("{}:1", row.position.file),
                    format!(
                        "columns `{first}` and `{name}` both fill `{field}`; remove or rename one"
                    ),
                ));
            }
        }
    }
    if seen.contains_key(&Field::ExternalId) {
        return Ok(());
    }
    let columns: Vec<&str> = row.columns.iter().map(|(name, _)| &**name).collect();
    let hint = columns
        .iter()
        .find(|c| user::nearest_field(c) == Some(Field::ExternalId))
        .map(|c| {
            format!(
                "; is `{c}` the key? rename it to `external_id`, or map it in a rules `map` hook"
            )
        })
        .unwrap_or_else(|| "; add one, or map the key in a rules `map` hook".to_string());
    Err(Error::input(
        format!("{}:1", row.position.file),
        format!(
            "no key column `external_id` (the columns are {}){hint}",
            columns.join(", ")
        ),
    ))
}

/// A row after the rules (with its fingerprint, when rows are recognised), or the stored
/// user its fingerprint names.
enum Outcome {
    Evaluated(Evaluated, Option<Hash128>),
    /// The slot in the state's key index of the stored user the row makes.
    Known(usize),
}

/// A row as the reader hands it on: the rules run only on a row whose fingerprint names no
/// stored user. Of a recognised row only its place goes on (a CSV row is not even built).
enum Arrival {
    Known(Position, usize),
    Unknown(Row, Option<Hash128>),
}

impl Arrival {
    fn of(row: Row, fingerprints: &Fingerprints) -> Arrival {
        let fingerprint = fingerprints.of(&row);
        match fingerprints.known(fingerprint) {
            Some(slot) => Arrival::Known(row.position, slot),
            None => Arrival::Unknown(row, Some(fingerprint)),
        }
    }
}

/// A chunk of rows after the rules, each with its position, and their source cells.
struct Evaluations {
    rows: Vec<(Position, Outcome)>,
    cells: ChunkCells,
}

fn evaluate(
    evaluators: &Evaluators,
    settled_fields: Option<&[Field]>,
    chunk: Chunk,
) -> Result<Evaluations> {
    let run = |arrival| match arrival {
        Arrival::Known(position, slot) => Ok((position, Outcome::Known(slot))),
        Arrival::Unknown(row, fingerprint) => {
            let position = row.position.clone();
            let mut evaluated = evaluators.with(|evaluator| evaluator.evaluate(row))?;
            if let Some(settled) = settled_fields {
                evaluated.user.retain(|field| settled.contains(&field));
            }
            Ok((position, Outcome::Evaluated(evaluated, fingerprint)))
        }
    };
    // On the pool even with one thread: chunks handed over back to back then take turns
    // on it, rather than both spinning on its one evaluator.
    let rows = chunk.rows.into_par_iter().map(run).collect::<Result<_>>()?;
    Ok(Evaluations {
        rows,
        cells: chunk.cells,
    })
}

/// Refuses a plan that deletes more of the tenant's users than `guard` allows.
pub fn check_mass_delete(summary: &Summary, guard: &Guard) -> Result<()> {
    let (allowed, user_count) = (guard.allowed_percent, guard.users);
    if user_count < guard.min_users || summary.delete == 0 {
        return Ok(());
    }
    let percent = summary.delete as f64 * 100.0 / user_count as f64;
    if percent > allowed {
        return Err(Error::Refused(format!(
            "plan refused: it would delete {} of the tenant's {user_count} users ({percent:.1}%), more than the {allowed}% allowed; \
             check the input file, and if the deletes are intended plan again with `--max-delete-percent {}`",
            summary.delete,
            percent.ceil()
        )));
    }
    Ok(())
}

/// Settles evaluated rows in input order: keys, uniqueness, the diff, and storing.
struct Settler<'a> {
    state: &'a dyn StoredState,
    /// Stored keys (by hash) with the low word of their record hash and their rowid.
    index: FrozenMap<(u64, i64)>,
    /// Keys seen in the input (rejected rows included), with the first row's place.
    seen: FirstSeen,
    unique: UniqueIndex,
    warned_columns: HashSet<String>,
    summary: Summary,
    /// Rows settled as the stored user their fingerprint names.
    reused: u64,
    /// Whether the changes keep the fingerprints of their rows (not for a state load).
    keep_fingerprints: bool,
    outlet: &'a mut dyn Outlet,
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
    fn chunk(&mut self, chunk: Evaluations) -> Result<()> {
        let Evaluations { rows, cells } = chunk;
        rows.into_iter()
            .enumerate()
            .try_for_each(|(n, (position, outcome))| match outcome {
                Outcome::Evaluated(evaluated, fingerprint) => {
                    self.row(&position, evaluated, fingerprint, cells.row(n))
                }
                Outcome::Known(slot) => self.known_row(&position, slot, cells.row(n)),
            })
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
            .check_known(self.state, slot, rowid, key_hash.short(), position)?;
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

    /// Settles one row the rules ran on; `fingerprint` is the row's (none in a check).
    fn row(
        &mut self,
        position: &Position,
        evaluated: Evaluated,
        fingerprint: Option<Hash128>,
        cells: RowCells,
    ) -> Result<()> {
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
                if let Some(first) = self.seen.first(hash, self.index.slot(&hash), position) {
                    problems.push(duplicate(key, &first, position));
                }
            }
        }
        if op != Op::Delete {
            let own = key.as_deref().map(|k| Hash128::of(k).short());
            let taken = self.unique.check(self.state, &user, own, position)?;
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
            Some(_) => self.state.get(key)?,
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
    fn delete_absent(&mut self) -> Result<()> {
        let mut absent = Vec::new();
        for (slot, (_, rowid)) in self.index.values().enumerate() {
            if !self.seen.contains_slot(slot) {
                absent.extend(self.state.key_at(*rowid)?);
            }
        }
        absent.sort_unstable();
        for key in absent {
            if let Some(stored) = self.state.get(&key)? {
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
pub fn deletion(key: &str, stored: StoredUser) -> Change {
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

/// Texts (keys, unique values) by hash, with the place of the first row that carried each.
/// A place is a file number and a line packed in 8 bytes (see [`pack_place`]), not a
/// `Position` and a copy of the text. A text the state knows has a slot in its index (see
/// [`FrozenMap::slot`]), and its place sits at that slot in a vector: 8 bytes a text. Other
/// texts are in a hash table, at about 40.
#[derive(Default)]
struct FirstSeen {
    /// By slot: the place, or 0 (no place is 0: lines start at 1).
    known: Vec<u64>,
    first: HashedMap<u64>,
    files: Vec<Arc<str>>,
}

/// Bits of a packed place that hold the line: files up to 2^24, lines up to 2^40.
const LINE_BITS: u32 = 40;

/// Never 0, which [`FirstSeen`] reads as "not seen".
fn pack_place(file: usize, line: u64) -> u64 {
    ((file as u64) << LINE_BITS) | line.clamp(1, (1 << LINE_BITS) - 1)
}

impl FirstSeen {
    /// For texts of which `slots` have a slot in an index.
    fn with_slots(slots: usize) -> FirstSeen {
        FirstSeen {
            known: vec![0; slots],
            ..FirstSeen::default()
        }
    }

    /// The place of the first row that carried the text of `hash` (at `slot` in the index
    /// when it has one), or `None` (and `position` is recorded).
    fn first(&mut self, hash: Hash128, slot: Option<usize>, position: &Position) -> Option<String> {
        let seen = match slot {
            Some(slot) => Some(self.known[slot]).filter(|place| *place != 0),
            None => self.first.get(&hash).copied(),
        };
        if let Some(place) = seen {
            let (file, line) = (place >> LINE_BITS, place & ((1 << LINE_BITS) - 1));
            return Some(format!("{}:{line}", self.files[file as usize]));
        }
        if self.files.last() != Some(&position.file) {
            self.files.push(position.file.clone());
        }
        let place = pack_place(self.files.len() - 1, position.line);
        match slot {
            Some(slot) => self.known[slot] = place,
            None => {
                self.first.insert(hash, place);
            }
        }
        None
    }

    /// Whether a row carried the text at `slot` in the index.
    fn contains_slot(&self, slot: usize) -> bool {
        self.known[slot] != 0
    }
}

/// `Unique` checks: the first row carrying a value keeps it; later rows and values held by
/// another stored user are errors.
struct UniqueIndex {
    fields: Vec<Field>,
    /// Per field: the values rows carried.
    taken: Vec<FirstSeen>,
    /// Per field: value hash → the stored user holding it (see [`crate::plan::stored::Indexes`]).
    stored: Vec<FrozenMap<(u64, i64)>>,
    /// Per field, by key slot: the slot of a fingerprinted user's value in `stored`.
    value_slots: Vec<Vec<u32>>,
}

impl UniqueIndex {
    /// Checks `fields`, whose stored values and fingerprinted users' value slots are
    /// `stored` and `value_slots` (in the same order; see [`crate::plan::stored::Indexes`]). The key is
    /// left to the duplicate-key check, which names the first row too.
    fn new(
        fields: &[Field],
        stored: Vec<FrozenMap<(u64, i64)>>,
        value_slots: Vec<Vec<u32>>,
    ) -> UniqueIndex {
        let mut index = UniqueIndex {
            fields: Vec::new(),
            taken: Vec::new(),
            stored: Vec::new(),
            value_slots: Vec::new(),
        };
        for ((field, stored), slots) in fields.iter().zip(stored).zip(value_slots) {
            if *field != Field::ExternalId {
                index.fields.push(*field);
                index.taken.push(FirstSeen::with_slots(stored.len()));
                index.stored.push(stored);
                index.value_slots.push(slots);
            }
        }
        index
    }

    /// The problems of a row's user: `(field, message)` for each value another row or stored
    /// user has; `own` is the low word of the row's key hash.
    fn check(
        &mut self,
        state: &dyn StoredState,
        user: &User,
        own: Option<u64>,
        position: &Position,
    ) -> Result<Vec<(Field, String)>> {
        let mut problems = Vec::new();
        for n in 0..self.fields.len() {
            let Some(value) = user.get(self.fields[n]).and_then(unique_text) else {
                continue;
            };
            let hash = Hash128::of(&value);
            let slot = self.stored[n].slot(&hash);
            if let Some(taken) = self.take(n, hash, slot, own, position) {
                problems.push((self.fields[n], self.describe(state, n, taken, value)?));
            }
        }
        Ok(problems)
    }

    /// [`UniqueIndex::check`] for the stored user at `slot` of the key index (and `rowid`),
    /// by the hashes of its values; a value is read only to name it in a problem.
    fn check_known(
        &mut self,
        state: &dyn StoredState,
        slot: usize,
        rowid: i64,
        own: u64,
        position: &Position,
    ) -> Result<Vec<(Field, String)>> {
        let mut problems = Vec::new();
        for n in 0..self.fields.len() {
            let value_slot = self.value_slots[n].get(slot).copied().unwrap_or(NO_SLOT);
            if value_slot == NO_SLOT {
                continue;
            }
            let value_slot = value_slot as usize;
            let hash = self.stored[n].key_at(value_slot);
            if let Some(taken) = self.take(n, hash, Some(value_slot), Some(own), position) {
                let field = self.fields[n].name();
                let (_, record) = state.fields_at(rowid, &[field])?.unwrap_or_default();
                let value = record.get(field).and_then(unique_text);
                problems.push((
                    self.fields[n],
                    self.describe(state, n, taken, value.unwrap_or_default())?,
                ));
            }
        }
        Ok(problems)
    }

    /// Records the value of field `n` with `hash` (at `slot` in its stored index) for the row
    /// at `position`, and says who has it already, if anyone: an earlier row, or a stored user
    /// other than the one whose key hash's low word is `own`.
    fn take(
        &mut self,
        n: usize,
        hash: Hash128,
        slot: Option<usize>,
        own: Option<u64>,
        position: &Position,
    ) -> Option<Taken> {
        let holder = self.stored[n]
            .get_all(hash)
            .find(|(holder, _)| Some(*holder) != own);
        match (self.taken[n].first(hash, slot, position), holder) {
            (Some(first), _) => Some(Taken::ByRow(first)),
            (None, Some((_, rowid))) => Some(Taken::ByStoredUser(*rowid)),
            (None, None) => None,
        }
    }

    /// Why `value` of field `n` is not the row's to have.
    fn describe(
        &self,
        state: &dyn StoredState,
        n: usize,
        taken: Taken,
        value: String,
    ) -> Result<String> {
        let shown = match self.fields[n].is_secret() {
            true => crate::secret::MASK.to_string(),
            false => value,
        };
        Ok(match taken {
            Taken::ByRow(first) => format!("`{shown}` is already used by the row at {first}"),
            Taken::ByStoredUser(rowid) => {
                let holder = state.key_at(rowid)?.unwrap_or_default();
                format!("`{shown}` is already held by stored user `{holder}`")
            }
        })
    }
}

/// Who has a `Unique` value already.
enum Taken {
    /// The row at this place.
    ByRow(String),
    /// The stored user at this rowid.
    ByStoredUser(i64),
}
