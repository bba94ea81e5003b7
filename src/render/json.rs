//! JSON for programs: `plan --output json` prints one object,
//! `{"plan_id", "tenant", "summary", "changes", "problems"}`; `rules check --data --output
//! json` prints `{"tenant", "problems", "checked", "declarative_map"}`.
//!
//! A plan's document is streamed from the stored plan, one change at a time, so a
//! million-change plan prints in constant memory.

use std::io::Write;

use rusqlite::Connection;
use serde::Serialize;

use super::table::stdout_error;
use crate::error::Result;
use crate::model::change::{Change, FieldChange};
use crate::plan::planner::Checked;
use crate::store::plans::{self, StoredProblem, Summary};

/// One change as JSON. Whole records are left out: `fields` says what changes, passwords masked.
#[derive(Debug, Serialize)]
struct ChangeDocument<'a> {
    action: &'static str,
    key: &'a str,
    source: &'a Option<String>,
    fields: std::borrow::Cow<'a, [FieldChange]>,
}

impl<'a> From<&'a Change> for ChangeDocument<'a> {
    fn from(change: &'a Change) -> ChangeDocument<'a> {
        ChangeDocument {
            action: change.action.as_str(),
            key: &change.key,
            source: &change.source,
            fields: change.field_changes(),
        }
    }
}

/// Writes a stored plan as one JSON object, each change and problem on a line of its own.
pub fn write_plan(
    out: &mut dyn Write,
    conn: &Connection,
    plan_id: i64,
    tenant: &str,
    summary: &Summary,
) -> Result<()> {
    write_plan_as(out, conn, plan_id, Some(plan_id), tenant, summary)
}

/// Writes the plan `plan_id` as [`write_plan`] does, its `plan_id` shown as `id` (`null` for
/// a plan that is not kept).
pub fn write_plan_as(
    out: &mut dyn Write,
    conn: &Connection,
    plan_id: i64,
    id: Option<i64>,
    tenant: &str,
    summary: &Summary,
) -> Result<()> {
    write!(
        out,
        "{{\n  \"plan_id\": {},\n  \"tenant\": {},\n  \"summary\": {},\n  \"changes\": [",
        value(&id),
        value(tenant),
        value(summary)
    )
    .map_err(stdout_error)?;
    let mut first = true;
    plans::for_each_change(conn, plan_id, |change| {
        item(out, &mut first, &value(&ChangeDocument::from(&change)))
    })?;
    write!(
        out,
        "{}],\n  \"problems\": [",
        if first { "" } else { "\n  " }
    )
    .map_err(stdout_error)?;
    first = true;
    plans::for_each_problem(conn, plan_id, |problem| {
        item(out, &mut first, &value(&problem))
    })?;
    writeln!(out, "{}]\n}}", if first { "" } else { "\n  " }).map_err(stdout_error)
}

/// `rules check --data --output json`, each problem written as the check finds it.
pub struct CheckDocument<'o> {
    out: &'o mut dyn Write,
    first: bool,
}

impl<'o> CheckDocument<'o> {
    /// Opens the document of a check of `tenant`'s rules.
    pub fn begin(out: &'o mut dyn Write, tenant: &str) -> Result<CheckDocument<'o>> {
        write!(
            out,
            "{{\n  \"tenant\": {},\n  \"problems\": [",
            value(tenant)
        )
        .map_err(stdout_error)?;
        Ok(CheckDocument { out, first: true })
    }

    /// Writes one problem.
    pub fn problem(&mut self, problem: &StoredProblem) -> Result<()> {
        item(self.out, &mut self.first, &value(problem))
    }

    /// Closes the document with the counts and the `[map]` that could replace the pack's map
    /// hooks (`null` when none does what they did).
    pub fn finish(self, checked: &Checked, declarative_map: Option<&str>) -> Result<()> {
        writeln!(
            self.out,
            "{}],\n  \"checked\": {},\n  \"declarative_map\": {}\n}}",
            if self.first { "" } else { "\n  " },
            value(checked),
            value(&declarative_map)
        )
        .map_err(stdout_error)
    }
}

fn item(out: &mut dyn Write, first: &mut bool, json: &str) -> Result<()> {
    let separator = if *first { "" } else { "," };
    *first = false;
    write!(out, "{separator}\n    {json}").map_err(stdout_error)
}

fn value<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}
