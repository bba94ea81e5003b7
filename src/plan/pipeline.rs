//! The pipeline of a plan or a check: a reader thread reads chunks of rows, the rules
//! evaluate the next chunks on the worker threads, and the calling thread settles the oldest
//! in input order. A row whose fingerprint names a stored user, or a rejection the rules made
//! of it before, skips the rules (see [`crate::plan::fingerprint`]).

use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hash::Hash128;
use crate::map::{check_canonical_columns, Column};
use crate::model::position::Position;
use crate::model::user::{Field, FieldSet};
use crate::overlap::Overlap;
use crate::plan::fingerprint::Fingerprints;
use crate::plan::reject::ChunkCells;
use crate::plan::rejection::Rejection;
use crate::plan::summary::Input;
use crate::progress::Progress;
use crate::read::{self, Cells, ReadOptions, Row};
use crate::rules::{Evaluated, Evaluators, RulePack};

/// Rows evaluated together; big enough to keep every core busy, small enough to bound memory
/// (about six chunks of evaluated users are in flight at once).
const CHUNK_ROWS: usize = 2048;

/// Chunks the rules may evaluate while one is settled, at most (and within
/// [`EVALUATING_ROWS`]): more than one keeps the worker threads busy when the settling
/// thread waits for the next chunk.
const EVALUATING_CHUNKS: usize = 8;

/// Rows those chunks may hold at once, not counting rows recognised as stored users (see
/// [`Chunk::weight`]): the chunks of a first load, every row evaluated, go two at a time,
/// while a delta's, mostly recognised rows, run ahead to the new rows that need the rules.
const EVALUATING_ROWS: usize = 2 * CHUNK_ROWS;

/// Chunks the reader may read ahead of the rules.
const READ_AHEAD_CHUNKS: usize = 2;

/// A chunk is sent on early when its rows' cells pass this many bytes (rows of huge JSON
/// objects), which bounds memory and keeps a chunk's buffer offsets small.
const CHUNK_TEXT: usize = 256 << 20;

/// The files to read, and how.
pub(super) struct Sources<'a> {
    pub(super) inputs: &'a [String],
    pub(super) read: &'a ReadOptions,
    pub(super) progress: &'a Progress,
    /// The pack the first row's columns are checked against, as its `[map]` renames them
    /// (none with a `map` hook, whose result is checked instead).
    pub(super) check_columns: Option<&'a RulePack>,
    /// The fingerprints rows are recognised by (none for a check).
    pub(super) fingerprints: Option<&'a Fingerprints>,
    /// Whether rows keep their source cells (for rejected rows); without, every row has none.
    pub(super) keep_cells: bool,
    /// Whether CSV rows go to the rules as their cells' text, never built into rows (a
    /// check of rules that take canonical columns; see [`crate::rules::RulePack::takes_canonical_columns`]).
    pub(super) text_rows: bool,
}

/// What a check keeps of each evaluated user.
pub(super) struct Kept {
    /// The fields settling reads (the key and the `Unique` fields); the rest of each user
    /// is dropped on the worker threads rather than by the settling thread.
    pub(super) fields: Vec<Field>,
    /// The fields the rules build of a row given as text (see
    /// [`crate::rules::RulePack::fields_built`]).
    pub(super) built: Option<FieldSet>,
}

/// Reads, evaluates and settles every row of `sources`; says what was read. With `kept`
/// (a check's), only those fields of each user reach `settle`.
///
/// Three stages overlap instead of taking turns: a reader thread reads chunks of rows; the
/// rules evaluate the next chunks on the worker threads while this thread settles the
/// oldest, in order.
pub(super) fn settle_all(
    sources: &Sources,
    evaluators: &Evaluators,
    kept: Option<&Kept>,
    mut settle: impl FnMut(Evaluations) -> Result<()>,
) -> Result<Vec<Input>> {
    std::thread::scope(|scope| -> Result<Vec<Input>> {
        let (sender, chunks) = std::sync::mpsc::sync_channel(READ_AHEAD_CHUNKS);
        let reader = scope.spawn(move || read_inputs(sources, sender));
        let mut overlap = Overlap::with_budget(scope, EVALUATING_CHUNKS, EVALUATING_ROWS);
        // `chunks` goes with the loop: a settling error hangs up on the reader, which stops.
        let settled = chunks
            .into_iter()
            .try_for_each(|chunk| {
                let weight = chunk.weight();
                overlap.start(move || evaluate(evaluators, sources, kept, chunk), weight);
                while let Some(done) = overlap.take_if_over()? {
                    settle(done)?;
                }
                Ok(())
            })
            .and_then(|()| {
                while let Some(done) = overlap.take_oldest()? {
                    settle(done)?;
                }
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
        // A row given as text is read from its chunk's cells.
        keep_cells: sources.keep_cells || sources.text_rows,
        text_rows: sources.text_rows,
        chunks,
        progress: sources.progress,
        chunk: Chunk::default(),
        unknown: None,
        header: None,
        columns_checked: false,
    };
    let mut inputs = Vec::new();
    for name in sources.inputs {
        (arrivals.header, arrivals.columns_checked) = (None, false);
        let read = read::read_source(name, sources.read, &mut arrivals)?;
        arrivals.check_columns_once(None)?;
        arrivals.send()?;
        inputs.push(Input {
            file: name.clone(),
            digest: read.digest,
            rows: read.rows,
        });
    }
    Ok(inputs)
}

/// Rows as read, with their source cells (kept for the rows that will be rejected, unless
/// nothing wants them).
#[derive(Default)]
struct Chunk {
    rows: Vec<Arrival>,
    cells: ChunkCells,
}

impl Chunk {
    /// What the chunk weighs while it is evaluated and waits to be settled: its rows that
    /// come out as a user with its problems (evaluated, or a remembered rejection), not
    /// those recognised as a stored user.
    fn weight(&self) -> usize {
        let held = |row: &&Arrival| !matches!(row, Arrival::Known(..));
        self.rows.iter().filter(held).count()
    }
}

/// The reader thread's sink: each row fingerprinted, sent on in chunks.
struct Arrivals<'a> {
    check_columns: Option<&'a RulePack>,
    fingerprints: Option<&'a Fingerprints>,
    keep_cells: bool,
    text_rows: bool,
    chunks: SyncSender<Chunk>,
    progress: &'a Progress,
    chunk: Chunk,
    /// The fingerprint of the row just offered as text and not recognised: the reader hands
    /// that row over built next, and it need not be fingerprinted again.
    unknown: Option<Hash128>,
    /// The current file's header (its place and columns), when it has one: checked at the
    /// first row, after the reader's own checks of that row, or at the end of a file with
    /// no rows.
    header: Option<(String, Vec<Arc<str>>)>,
    /// Whether the current file's columns were checked.
    columns_checked: bool,
}

impl Arrivals<'_> {
    /// Checks the current file's columns once: those of its header, or else those of its
    /// first row (a JSON object's keys).
    fn check_columns_once(&mut self, first_row: Option<&Row>) -> Result<()> {
        let Some(pack) = self.check_columns.filter(|_| !self.columns_checked) else {
            return Ok(());
        };
        if let Some((at, names)) = self.header.take() {
            self.columns_checked = true;
            let names = names.iter().map(|name| pack.column_name(name));
            return check_canonical_columns(&at, names);
        }
        if let Some(row) = first_row {
            self.columns_checked = true;
            let names = row.columns.iter().map(|(name, _)| pack.column_name(name));
            return check_canonical_columns(&row.position.to_string(), names);
        }
        Ok(())
    }

    /// Adds a row, whose cells (when kept) were just added to `self.chunk.cells`.
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
            .map_err(|_| Error::Stopped)
    }
}

impl read::Sink for Arrivals<'_> {
    fn header(&mut self, at: &str, names: &[Arc<str>]) -> Result<()> {
        if self.check_columns.is_some() {
            self.header = Some((at.to_string(), names.to_vec()));
        }
        Ok(())
    }

    fn row(&mut self, row: Row) -> Result<()> {
        self.check_columns_once(Some(&row))?;
        if self.keep_cells {
            self.chunk.cells.push_values(&row.columns);
        }
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
        self.check_columns_once(None)?;
        let Some(fingerprints) = self.fingerprints else {
            if !self.text_rows {
                return Ok(false);
            }
            self.chunk.cells.push_cells(names, cells);
            return self.push(Arrival::Texts(position.clone())).map(|()| true);
        };
        let columns = || names.iter().map(|name| &**name).zip(cells.iter());
        let fingerprint = fingerprints.of_texts(columns());
        let arrival = match Arrival::recognised(position, fingerprint, fingerprints) {
            Some(arrival) => arrival,
            None => {
                self.unknown = Some(fingerprint);
                return Ok(false);
            }
        };
        if self.keep_cells {
            self.chunk.cells.push_cells(names, cells);
        }
        self.push(arrival).map(|()| true)
    }
}

/// A row after the rules (with its fingerprint, when rows are recognised), or the stored
/// user its fingerprint names.
pub(super) enum Outcome {
    Evaluated(Evaluated, Option<Hash128>),
    /// The slot in the state's key index of the stored user the row makes.
    Known(usize),
    /// The remembered rejection of a row with this fingerprint, placed at the row.
    Remembered(Evaluated, Hash128),
}

/// A row as the reader hands it on: the rules run only on a row whose fingerprint names no
/// stored user and no remembered rejection. Of a recognised row only its place goes on (a
/// CSV row is not even built).
enum Arrival {
    Known(Position, usize),
    /// The fingerprint, and the slot of its remembered rejection.
    Remembered(Position, Hash128, usize),
    Unknown(Row, Option<Hash128>),
    /// A CSV row of a check, whose cells' text is the chunk's.
    Texts(Position),
}

impl Arrival {
    fn of(row: Row, fingerprints: &Fingerprints) -> Arrival {
        let fingerprint = fingerprints.of(&row);
        match Arrival::recognised(&row.position, fingerprint, fingerprints) {
            Some(arrival) => arrival,
            None => Arrival::Unknown(row, Some(fingerprint)),
        }
    }

    /// The row at `position` with `fingerprint`, when that names a stored user or a
    /// remembered rejection.
    fn recognised(
        position: &Position,
        fingerprint: Hash128,
        fingerprints: &Fingerprints,
    ) -> Option<Arrival> {
        if let Some(slot) = fingerprints.known(fingerprint) {
            return Some(Arrival::Known(position.clone(), slot));
        }
        let slot = fingerprints.rejected(fingerprint)?;
        Some(Arrival::Remembered(position.clone(), fingerprint, slot))
    }
}

/// A chunk of rows after the rules, each with its position, and their source cells.
pub(super) struct Evaluations {
    pub(super) rows: Vec<(Position, Outcome)>,
    pub(super) cells: ChunkCells,
}

fn evaluate(
    evaluators: &Evaluators,
    sources: &Sources,
    kept: Option<&Kept>,
    chunk: Chunk,
) -> Result<Evaluations> {
    let Chunk { rows, cells } = chunk;
    let fingerprints = sources.fingerprints;
    let keep = |evaluated: &mut Evaluated| {
        if let Some(kept) = kept {
            evaluated.user.retain(|field| kept.fields.contains(&field));
        }
    };
    // What each column of the chunk's headers is, told once rather than per row.
    let columns: Vec<Vec<Column>> = match sources.text_rows {
        true => cells
            .headers()
            .map(|names| names.iter().map(|name| Column::of(name)).collect())
            .collect(),
        false => Vec::new(),
    };
    let run = |(n, arrival)| match arrival {
        Arrival::Known(position, slot) => Ok((position, Outcome::Known(slot))),
        Arrival::Remembered(position, fingerprint, slot) => {
            let fingerprints = fingerprints.expect("only recognised rows are remembered");
            let text = fingerprints.rejection_at(slot);
            let rejection = Rejection::from_json(text).map_err(|e| Error::Damaged {
                table: "rejected_rows",
                row: format!(
                    "fingerprint x'{:032x}'",
                    u128::from_be_bytes(fingerprint.to_bytes())
                ),
                column: "rejection",
                reason: format!("not the JSON roster wrote ({e})"),
            })?;
            let evaluated = rejection.evaluated(&position);
            Ok((position, Outcome::Remembered(evaluated, fingerprint)))
        }
        Arrival::Unknown(row, fingerprint) => {
            let position = row.position.clone();
            let mut evaluated = evaluators.with(|evaluator| evaluator.evaluate(row))?;
            keep(&mut evaluated);
            Ok((position, Outcome::Evaluated(evaluated, fingerprint)))
        }
        Arrival::Texts(position) => {
            let built = kept.and_then(|kept| kept.built.as_ref());
            let row = cells.row(n);
            let columns = row.header().map_or(&[][..], |header| &columns[header][..]);
            let texts = columns.iter().copied().zip(row.texts());
            let mut evaluated =
                evaluators.with(|evaluator| evaluator.evaluate_texts(&position, texts, built))?;
            keep(&mut evaluated);
            Ok((position, Outcome::Evaluated(evaluated, None)))
        }
    };
    // On the pool even with one thread: chunks handed over back to back then take turns
    // on it, rather than both spinning on its one evaluator.
    let rows = rows
        .into_par_iter()
        .enumerate()
        .map(run)
        .collect::<Result<_>>()?;
    Ok(Evaluations {
        rows,
        // Cells read only for the rules are not handed on.
        cells: match sources.keep_cells {
            true => cells,
            false => ChunkCells::default(),
        },
    })
}
