//! Stored plans: their header, changes, problems and the passwords they carry until export.

use std::collections::{HashMap, HashSet};

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, NotFoundKind, Result};
use crate::hash::Hash128;
use crate::model::change::{Action, Change};
use crate::model::problem::{Problem, Severity};
use crate::model::record::{digest_hex, user_hash, Record};
use crate::plan::outlet::{Changes, Outlet};
use crate::plan::reject::RejectedRow;
use crate::plan::rejection::Rejection;
pub use crate::plan::summary::{Guard, Input, PlanKind, Summary};
use crate::store::db::decode_json;
use crate::store::field_places::to_json_with_places;
use crate::store::rejections;

/// A stored plan's header.
#[derive(Debug, Clone)]
pub struct PlanHeader {
    /// The plan id.
    pub id: i64,
    /// The tenant it belongs to.
    pub tenant: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// Plan, revert or state load.
    pub kind: PlanKind,
    /// Its inputs.
    pub inputs: Vec<Input>,
    /// The rules digest it was made with.
    pub rules_digest: String,
    /// The state digest it was made against.
    pub state_digest: String,
    /// Whether it was made with `--sync`.
    pub sync: bool,
    /// Its counts.
    pub summary: Summary,
    /// For a revert plan: the apply it undoes.
    pub reverts: Option<i64>,
    /// The apply that applied it, if any.
    pub applied_by: Option<i64>,
    /// How the mass-delete guard met it (none for a revert, or a plan of an older roster).
    pub guard: Option<Guard>,
}

/// Writes one plan inside the caller's transaction.
pub struct PlanWriter<'c> {
    conn: &'c Connection,
    tenant: String,
    id: i64,
    changes: i64,
    problems: i64,
    rejects: i64,
    /// The XOR of the hashes of the records the plan puts (see `plans.puts_digest`).
    puts_digest: u128,
}

impl<'c> PlanWriter<'c> {
    /// Starts a plan; the header's counts are filled in by [`PlanWriter::finish`].
    pub fn begin(
        conn: &'c Connection,
        tenant: &str,
        kind: PlanKind,
        rules_digest: &str,
        state_digest: &str,
        sync: bool,
        reverts: Option<i64>,
    ) -> Result<PlanWriter<'c>> {
        // The fingerprints the tenant's unapplied plans keep for their apply would make a
        // workspace grow by a plan's worth of rows each time the rules are tried again; only
        // the newest plan's are kept (an older plan still applies, it only remembers less).
        conn.prepare_cached(
            "DELETE FROM plan_fingerprints WHERE plan_id IN (
               SELECT p.id FROM plans p LEFT JOIN applies a ON a.plan_id = p.id
               WHERE p.tenant = ?1 AND a.id IS NULL)",
        )?
        .execute([tenant])?;
        conn.prepare_cached(
            "INSERT INTO plans (tenant, created_at, kind, inputs, rules_digest, state_digest, sync, summary, reverts)
             VALUES (?1, ?2, ?3, '[]', ?4, ?5, ?6, '{}', ?7)",
        )?
        .execute(params![
            tenant,
            now(),
            kind.as_str(),
            rules_digest,
            state_digest,
            sync,
            reverts
        ])?;
        Ok(PlanWriter {
            conn,
            tenant: tenant.to_string(),
            id: conn.last_insert_rowid(),
            changes: 0,
            problems: 0,
            rejects: 0,
            puts_digest: 0,
        })
    }

    /// The new plan's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Stores one change, with the fingerprint of the row that made it when the apply should
    /// keep it (see [`crate::plan::stored::Indexes::fingerprints`]).
    pub fn change(&mut self, change: &Change, fingerprint: Option<Hash128>) -> Result<()> {
        self.changes += 1;
        let (after, after_places) = match &change.after {
            Some(after) => {
                let (text, places) = to_json_with_places(after);
                (Some(text), Some(places))
            }
            None => (None, None),
        };
        if let (Action::Create | Action::Update, Some(after)) = (change.action, &after) {
            self.puts_digest ^= user_hash(&change.key, after);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO plan_changes (plan_id, seq, action, external_id, source, fields, before, after, platform_ids, source_fingerprint, after_field_places)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                self.id,
                self.changes,
                change.action.as_str(),
                change.key,
                change.source,
                (change.action == Action::Update)
                    .then(|| serde_json::to_string(&change.fields).expect("field changes serialise")),
                change.before.as_ref().map(to_json),
                after,
                change.platform_ids.as_ref().map(Value::to_string),
                fingerprint.map(Hash128::to_bytes),
                after_places,
            ])?;
        Ok(())
    }

    /// Stores the fingerprint of the row that leaves user `key` unchanged, for the apply to
    /// keep (see [`crate::plan::stored::Indexes::fingerprints`]).
    pub fn fingerprint(&mut self, key: &str, fingerprint: Hash128) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO plan_fingerprints (plan_id, external_id, fingerprint)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![self.id, key, fingerprint.to_bytes()])?;
        Ok(())
    }

    /// Stores one problem.
    pub fn problem(&mut self, problem: &Problem) -> Result<()> {
        self.problems += 1;
        self.conn
            .prepare_cached(
                "INSERT INTO plan_problems (plan_id, seq, severity, external_id, source, path, field, rule, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                self.id,
                self.problems,
                problem.severity.as_str(),
                problem.key,
                problem.position.as_ref().map(ToString::to_string),
                problem.path,
                problem.field,
                problem.rule,
                problem.message,
            ])?;
        Ok(())
    }

    /// Keeps a password the plan sets, for export only.
    pub fn secret(&mut self, key: &str, password: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO plan_secrets (plan_id, external_id, password) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![self.id, key, password])?;
        Ok(())
    }

    /// Keeps a rejected row's cells; its problems are the last `problems` stored.
    pub fn reject(&mut self, row: &RejectedRow, problems: usize) -> Result<()> {
        self.rejects += 1;
        self.conn
            .prepare_cached(
                "INSERT INTO plan_rejects (plan_id, seq, external_id, source, cells, first_problem, last_problem)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                self.id,
                self.rejects,
                row.key,
                row.position.to_string(),
                serde_json::to_string(&row.cells).expect("cells serialise"),
                self.problems - problems as i64 + 1,
                self.problems,
            ])?;
        Ok(())
    }

    /// Records how the mass-delete guard met the plan.
    pub fn guard(&mut self, guard: &Guard) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE plans SET guard = ?2 WHERE id = ?1")?
            .execute(params![
                self.id,
                serde_json::to_string(guard).expect("the guard serialises")
            ])?;
        Ok(())
    }

    /// Records the plan's inputs and counts, and the digest of the records it puts.
    pub fn finish(self, inputs: &[Input], summary: &Summary) -> Result<i64> {
        self.conn
            .prepare_cached(
                "UPDATE plans SET inputs = ?2, summary = ?3, puts_digest = ?4 WHERE id = ?1",
            )?
            .execute(params![
                self.id,
                serde_json::to_string(inputs).expect("inputs serialise"),
                serde_json::to_string(summary).expect("summary serialises"),
                digest_hex(self.puts_digest),
            ])?;
        Ok(self.id)
    }
}

impl Outlet for PlanWriter<'_> {
    fn problem(&mut self, problem: &Problem) -> Result<()> {
        PlanWriter::problem(self, problem)
    }

    fn rejected(&mut self, row: RejectedRow, problems: usize) -> Result<()> {
        self.reject(&row, problems)
    }

    fn changes(&mut self) -> Option<&mut dyn Changes> {
        Some(self)
    }
}

impl Changes for PlanWriter<'_> {
    fn change(&mut self, change: &Change, fingerprint: Option<Hash128>) -> Result<()> {
        PlanWriter::change(self, change, fingerprint)
    }

    fn fingerprint(&mut self, key: &str, fingerprint: Hash128) -> Result<()> {
        PlanWriter::fingerprint(self, key, fingerprint)
    }

    fn secret(&mut self, key: &str, password: &str) -> Result<()> {
        PlanWriter::secret(self, key, password)
    }

    fn rejection(&mut self, fingerprint: Hash128, rejection: &Rejection) -> Result<()> {
        rejections::remember(self.conn, &self.tenant, self.id, fingerprint, rejection)
    }
}

/// Finds a plan of the tenant by id, or the newest with `latest`.
pub fn find(conn: &Connection, tenant: &str, plan: &str) -> Result<PlanHeader> {
    let id: Option<i64> = if plan == "latest" {
        conn.query_row(
            "SELECT max(id) FROM plans WHERE tenant = ?1",
            [tenant],
            |r| r.get(0),
        )?
    } else {
        let id = plan.trim_start_matches('#').parse::<i64>().map_err(|_| {
            Error::Usage(format!(
                "`{plan}` is not a plan id: give a number or `latest`"
            ))
        })?;
        Some(id)
    };
    let not_found = || {
        Error::not_found(
            NotFoundKind::Plan,
            match plan {
                "latest" => {
                    format!("tenant `{tenant}` has no plan yet; make one with `roster plan FILE…`")
                }
                _ => format!(
                    "there is no plan {plan} for tenant `{tenant}`; `roster plans` lists its plans"
                ),
            },
        )
    };
    let id = id.ok_or_else(not_found)?;
    conn.prepare_cached(&format!("{HEADER} WHERE p.id = ?1 AND p.tenant = ?2"))?
        .query_and_then(params![id, tenant], header)?
        .next()
        .transpose()?
        .ok_or_else(not_found)
}

/// Every plan of the tenant, oldest first.
pub fn all(conn: &Connection, tenant: &str) -> Result<Vec<PlanHeader>> {
    let mut stmt = conn.prepare_cached(&format!("{HEADER} WHERE p.tenant = ?1 ORDER BY p.id"))?;
    let rows = stmt.query_and_then([tenant], header)?;
    rows.collect()
}

/// The query of [`header`]'s columns.
const HEADER: &str =
    "SELECT p.id, p.tenant, p.created_at, p.kind, p.inputs, p.rules_digest, p.state_digest, p.sync,
            p.summary, p.reverts, a.id, p.guard
     FROM plans p LEFT JOIN applies a ON a.plan_id = p.id";

fn header(r: &rusqlite::Row) -> Result<PlanHeader> {
    let id: i64 = r.get(0)?;
    let row = format_args!("id {id}");
    Ok(PlanHeader {
        id,
        tenant: r.get(1)?,
        created_at: r.get(2)?,
        kind: PlanKind::parse(&r.get::<_, String>(3)?),
        inputs: decode_json("plans", row, "inputs", &r.get::<_, String>(4)?)?,
        rules_digest: r.get(5)?,
        state_digest: r.get(6)?,
        sync: r.get(7)?,
        summary: decode_json("plans", row, "summary", &r.get::<_, String>(8)?)?,
        reverts: r.get(9)?,
        applied_by: r.get(10)?,
        guard: r
            .get::<_, Option<String>>(11)?
            .map(|guard| decode_json("plans", row, "guard", &guard))
            .transpose()?,
    })
}

/// Calls `visit` with each change of a plan, in order.
pub fn for_each_change(
    conn: &Connection,
    plan_id: i64,
    visit: impl FnMut(Change) -> Result<()>,
) -> Result<()> {
    first_changes(conn, plan_id, None, visit)
}

/// Calls `visit` with the first `limit` changes of a plan (all with `None`), in order.
pub fn first_changes(
    conn: &Connection,
    plan_id: i64,
    limit: Option<u64>,
    mut visit: impl FnMut(Change) -> Result<()>,
) -> Result<()> {
    first_stored_changes(conn, plan_id, limit, |stored| visit(stored.parse()?))
}

/// Calls `visit` with each change of a plan as stored, in order: for callers that parse the
/// records on other threads.
pub fn for_each_stored_change(
    conn: &Connection,
    plan_id: i64,
    visit: impl FnMut(StoredChange) -> Result<()>,
) -> Result<()> {
    first_stored_changes(conn, plan_id, None, visit)
}

fn first_stored_changes(
    conn: &Connection,
    plan_id: i64,
    limit: Option<u64>,
    mut visit: impl FnMut(StoredChange) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT action, external_id, source, fields, before, after, platform_ids
         FROM plan_changes WHERE plan_id = ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![plan_id, sql_limit(limit)])?;
    while let Some(row) = rows.next()? {
        visit(stored_change(row)?)?;
    }
    Ok(())
}

/// A change of a plan by its place, action and key, without its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutline {
    /// Its place in the plan.
    pub seq: i64,
    /// Create, update or delete.
    pub action: Action,
    /// The user's key.
    pub key: String,
    /// Whether the record after may set a `password`: its text holds `"password"` (as a
    /// name, or within a value), or it is not text at all.
    pub mentions_password: bool,
}

/// Calls `visit` with the outline of each change of a plan, in order: its records are
/// neither read out nor parsed, for callers that need only the keys and their order.
pub fn for_each_change_outline(
    conn: &Connection,
    plan_id: i64,
    mut visit: impl FnMut(ChangeOutline) -> Result<()>,
) -> Result<()> {
    let password = memchr::memmem::Finder::new(b"\"password\"");
    let mut stmt = conn.prepare_cached(
        "SELECT seq, action, external_id, after FROM plan_changes WHERE plan_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([plan_id])?;
    while let Some(row) = rows.next()? {
        let after = row.get_ref(3)?;
        visit(ChangeOutline {
            seq: row.get(0)?,
            action: Action::parse(row.get_ref(1)?.as_str().unwrap_or_default())
                .unwrap_or(Action::Update),
            key: row.get(2)?,
            mentions_password: match after {
                ValueRef::Text(text) | ValueRef::Blob(text) => password.find(text).is_some(),
                ValueRef::Null => false,
                // Not a record at all: decoding it names the damage.
                ValueRef::Integer(_) | ValueRef::Real(_) => true,
            },
        })?;
    }
    Ok(())
}

/// The place (`seq`) of each change of a plan, by key: what [`stored_change_at`] and
/// [`crate::store::follow`] take.
pub fn change_seqs(conn: &Connection, plan_id: i64) -> Result<HashMap<String, i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT external_id, seq FROM plan_changes WHERE plan_id = ?1")?;
    let rows = stmt.query_map([plan_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The change at place `seq` of a plan, as stored.
pub fn stored_change_at(conn: &Connection, plan_id: i64, seq: i64) -> Result<Option<StoredChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT action, external_id, source, fields, before, after, platform_ids
         FROM plan_changes WHERE plan_id = ?1 AND seq = ?2",
    )?;
    Ok(stmt
        .query_row(params![plan_id, seq], stored_change)
        .optional()?)
}

/// The changes at places `seqs` of a plan, by place, each with the fingerprint of its
/// source row: one range read when they sit together in the plan (the users of a batch
/// mostly do), else one lookup each.
pub fn changes_at(
    conn: &Connection,
    plan_id: i64,
    seqs: &[i64],
) -> Result<HashMap<i64, FingerprintedChange>> {
    const COLUMNS: &str = "SELECT action, external_id, source, fields, before, after, platform_ids,
                                  source_fingerprint, seq, after_field_places
                           FROM plan_changes";
    let mut changes = HashMap::with_capacity(seqs.len());
    let (Some(&first), Some(&last)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(changes);
    };
    let fingerprinted = |row: &rusqlite::Row| -> rusqlite::Result<(i64, FingerprintedChange)> {
        let change = FingerprintedChange {
            change: stored_change(row)?,
            fingerprint: row.get(7)?,
            after_places: row.get(9)?,
        };
        Ok((row.get(8)?, change))
    };
    if last - first < 2 * seqs.len() as i64 {
        let wanted: HashSet<i64> = seqs.iter().copied().collect();
        let mut stmt = conn.prepare_cached(&format!(
            "{COLUMNS} WHERE plan_id = ?1 AND seq BETWEEN ?2 AND ?3"
        ))?;
        let mut rows = stmt.query(params![plan_id, first, last])?;
        while let Some(row) = rows.next()? {
            // A change of the range that is not wanted is not decoded.
            if wanted.contains(&row.get::<_, i64>(8)?) {
                let (seq, change) = fingerprinted(row)?;
                changes.insert(seq, change);
            }
        }
    } else {
        let mut stmt =
            conn.prepare_cached(&format!("{COLUMNS} WHERE plan_id = ?1 AND seq = ?2"))?;
        for &seq in seqs {
            if let Some((seq, change)) = stmt
                .query_row(params![plan_id, seq], fingerprinted)
                .optional()?
            {
                changes.insert(seq, change);
            }
        }
    }
    Ok(changes)
}

fn stored_change(row: &rusqlite::Row) -> rusqlite::Result<StoredChange> {
    Ok(StoredChange {
        action: Action::parse(row.get_ref(0)?.as_str().unwrap_or_default())
            .unwrap_or(Action::Update),
        key: row.get(1)?,
        source: row.get(2)?,
        fields: row.get(3)?,
        before: row.get(4)?,
        after: row.get(5)?,
        platform_ids: row.get(6)?,
    })
}

/// A stored change with the fingerprint of the source row that made it (see
/// [`crate::plan::stored::Indexes::fingerprints`]): what pushing a batch reads of each change,
/// and following the vendor's answer keeps.
#[derive(Debug, Clone)]
pub struct FingerprintedChange {
    /// The change.
    pub change: StoredChange,
    /// The fingerprint, as stored.
    pub fingerprint: Option<Vec<u8>>,
    /// The field places of the after record (see [`crate::store::field_places`]).
    pub after_places: Option<Vec<u8>>,
}

/// A planned change as its row holds it: the records still JSON text.
#[derive(Debug, Clone)]
pub struct StoredChange {
    /// Create, update or delete.
    pub action: Action,
    /// The user's key.
    pub key: String,
    /// Where the change comes from (see [`Change::source`]).
    pub source: Option<String>,
    /// The changed fields of an update, a JSON list of [`FieldChange`](crate::model::change::FieldChange).
    pub fields: Option<String>,
    /// The record before, a JSON object.
    pub before: Option<String>,
    /// The record after, a JSON object.
    pub after: Option<String>,
    /// The platform ids, a JSON object.
    pub platform_ids: Option<String>,
}

impl StoredChange {
    /// The change, its JSON parsed.
    pub fn parse(self) -> Result<Change> {
        let fields = self.decode("fields", &self.fields)?.unwrap_or_default();
        Ok(Change {
            before: self.decode("before", &self.before)?,
            after: self.decode("after", &self.after)?,
            platform_ids: self.decode("platform_ids", &self.platform_ids)?,
            action: self.action,
            key: self.key,
            source: self.source,
            fields,
        })
    }

    /// One JSON column of the change, decoded (see [`decode_json`]).
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        column: &'static str,
        text: &Option<String>,
    ) -> Result<Option<T>> {
        let row = format_args!("external_id `{}`", self.key);
        text.as_deref()
            .map(|text| decode_json("plan_changes", row, column, text))
            .transpose()
    }
}

/// Calls `visit` with each problem of a plan, in order.
pub fn for_each_problem(
    conn: &Connection,
    plan_id: i64,
    visit: impl FnMut(StoredProblem) -> Result<()>,
) -> Result<()> {
    first_problems(conn, plan_id, None, visit)
}

/// Calls `visit` with the first `limit` problems of a plan (all with `None`), in order.
pub fn first_problems(
    conn: &Connection,
    plan_id: i64,
    limit: Option<u64>,
    mut visit: impl FnMut(StoredProblem) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT severity, external_id, source, path, field, rule, message
         FROM plan_problems WHERE plan_id = ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![plan_id, sql_limit(limit)])?;
    while let Some(row) = rows.next()? {
        visit(stored_problem(row)?)?;
    }
    Ok(())
}

/// A problem from a row of `SELECT severity, external_id, source, path, field, rule, message`.
fn stored_problem(row: &rusqlite::Row) -> rusqlite::Result<StoredProblem> {
    Ok(StoredProblem {
        severity: Severity::parse(&row.get::<_, String>(0)?).unwrap_or(Severity::Error),
        key: row.get(1)?,
        source: row.get(2)?,
        path: row.get(3)?,
        field: row.get(4)?,
        rule: row.get(5)?,
        message: row.get(6)?,
    })
}

/// A problem as stored with its plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredProblem {
    /// Error or warning.
    pub severity: Severity,
    /// The user's key.
    pub key: Option<String>,
    /// `file:line`.
    pub source: Option<String>,
    /// Data path, e.g. `Users[3].email`.
    pub path: Option<String>,
    /// The field.
    pub field: Option<String>,
    /// The rule.
    pub rule: String,
    /// The message.
    pub message: String,
}

impl From<&Problem> for StoredProblem {
    /// The problem as [`PlanWriter::problem`] stores it.
    fn from(problem: &Problem) -> StoredProblem {
        StoredProblem {
            severity: problem.severity,
            key: problem.key.clone(),
            source: problem.position.as_ref().map(ToString::to_string),
            path: problem.path.clone(),
            field: problem.field.clone(),
            rule: problem.rule.clone(),
            message: problem.message.clone(),
        }
    }
}

/// A rejected row as stored with its plan (see [`RejectedRow`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReject {
    /// `file:line`.
    pub source: String,
    /// The row's key, when known.
    pub key: Option<String>,
    /// The source's columns and cells; `None` for a withheld password.
    pub cells: Vec<(String, Option<String>)>,
    /// The errors that rejected it.
    pub problems: Vec<StoredProblem>,
}

impl From<RejectedRow> for StoredReject {
    /// The row as [`PlanWriter::reject`] stores it.
    fn from(row: RejectedRow) -> StoredReject {
        StoredReject {
            source: row.position.to_string(),
            key: row.key,
            cells: row.cells,
            problems: row.problems.iter().map(StoredProblem::from).collect(),
        }
    }
}

/// Calls `visit` with each rejected row of a plan, in input order, with the errors that
/// rejected it.
pub fn for_each_reject(
    conn: &Connection,
    plan_id: i64,
    mut visit: impl FnMut(StoredReject) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT source, external_id, cells, first_problem, last_problem
         FROM plan_rejects WHERE plan_id = ?1 ORDER BY seq",
    )?;
    let mut problems = conn.prepare_cached(
        "SELECT severity, external_id, source, path, field, rule, message
         FROM plan_problems WHERE plan_id = ?1 AND seq BETWEEN ?2 AND ?3 AND severity = 'error'
         ORDER BY seq",
    )?;
    let mut rows = stmt.query([plan_id])?;
    while let Some(row) = rows.next()? {
        let (first, last): (i64, i64) = (row.get(3)?, row.get(4)?);
        let cells = row.get_ref(2)?.as_str().unwrap_or("[]");
        let problems = problems
            .query_map(params![plan_id, first, last], stored_problem)?
            .collect::<Result<_, _>>()?;
        let source: String = row.get(0)?;
        visit(StoredReject {
            key: row.get(1)?,
            cells: decode_json(
                "plan_rejects",
                format_args!("plan_id {plan_id}, source `{source}`"),
                "cells",
                cells,
            )?,
            problems,
            source,
        })?;
    }
    Ok(())
}

/// How many rows a plan rejected and kept.
pub fn reject_count(conn: &Connection, plan_id: i64) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM plan_rejects WHERE plan_id = ?1")?
        .query_row([plan_id], |r| r.get(0))?;
    Ok(count as u64)
}

/// How many problems a plan has.
pub fn problem_count(conn: &Connection, plan_id: i64) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM plan_problems WHERE plan_id = ?1")?
        .query_row([plan_id], |r| r.get(0))?;
    Ok(count as u64)
}

/// SQLite's `LIMIT`: -1 for none.
fn sql_limit(limit: Option<u64>) -> i64 {
    limit.map_or(-1, |l| l as i64)
}

/// The passwords a plan sets, by key.
pub fn secrets(
    conn: &Connection,
    plan_id: i64,
) -> Result<std::collections::HashMap<String, String>> {
    let mut stmt =
        conn.prepare_cached("SELECT external_id, password FROM plan_secrets WHERE plan_id = ?1")?;
    let rows = stmt.query_map([plan_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn to_json(record: &Record) -> String {
    serde_json::to_string(record).expect("records serialise")
}

/// The current time, RFC 3339 in UTC.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Forgets the passwords a plan sets for these users (once the vendor has answered for them),
/// inside the caller's transaction.
pub fn wipe_secrets_of<'k>(
    conn: &Connection,
    plan_id: i64,
    keys: impl IntoIterator<Item = &'k str>,
) -> Result<()> {
    // A plan without passwords (most) has nothing to wipe. The workspace runs with
    // `secure_delete` (see `Workspace::open`), so the freed bytes are overwritten.
    let held: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM plan_secrets WHERE plan_id = ?1)")?
        .query_row([plan_id], |r| r.get(0))?;
    if !held {
        return Ok(());
    }
    let mut delete =
        conn.prepare_cached("DELETE FROM plan_secrets WHERE plan_id = ?1 AND external_id = ?2")?;
    for key in keys {
        delete.execute(params![plan_id, key])?;
    }
    Ok(())
}

/// Forgets the passwords a plan sets (after they were exported), inside the caller's
/// transaction; returns how many there were. `secure_delete` overwrites the freed bytes, so
/// the passwords do not linger in the file's free pages.
pub fn wipe_secrets(conn: &Connection, plan_id: i64) -> Result<usize> {
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(conn
        .prepare_cached("DELETE FROM plan_secrets WHERE plan_id = ?1")?
        .execute([plan_id])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_the_ones_older_workspaces_hold() {
        let kinds = [PlanKind::Plan, PlanKind::Revert, PlanKind::StateLoad];
        let names: Vec<_> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["plan", "revert", "state-load"]);
        assert!(kinds.iter().all(|k| PlanKind::parse(k.as_str()) == *k));
        assert_eq!(PlanKind::parse("something else"), PlanKind::Plan);
        assert_eq!(
            [Action::Create, Action::Update, Action::Delete].map(Action::as_str),
            ["create", "update", "delete"]
        );
        assert_eq!(Severity::parse("warning"), Some(Severity::Warning));
        assert_eq!(Severity::parse("Warning"), None, "stored names are exact");
    }
}
