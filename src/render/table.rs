//! Tables for people: plans, problems, history and the state.

use std::io::Write;

use tabled::builder::Builder;
use tabled::settings::Style;

use super::fit::fit;
use super::terminal::{self, paint_first_column, Terminal};
use crate::error::Result;
use crate::model::change::{Action, Change};
use crate::model::record::cell;
use crate::model::user::Field;
use crate::secret;
use crate::store::applies::ApplyRecord;
use crate::store::plans::{StoredProblem, Summary};

/// The one-line summary: `Plan: 3 to create, 2 to update, 1 to delete, 10 unchanged; 1 rejected, 1 warning`.
pub fn summary_line(summary: &Summary) -> String {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "Plan: {} to create, {} to update, {} to delete, {} unchanged; {} rejected, {}",
        summary.create,
        summary.update,
        summary.delete,
        summary.unchanged,
        summary.error,
        plural(summary.warning, "warning")
    )
}

/// A table of the first changes of a plan; it says how many more there are.
pub struct ChangeTable {
    builder: Builder,
    total: u64,
}

impl ChangeTable {
    /// An empty table for a plan of `total` changes.
    pub fn new(total: u64) -> ChangeTable {
        let mut builder = Builder::default();
        builder.push_record(["", "key", "source", "changes"]);
        ChangeTable { builder, total }
    }

    /// Adds one change.
    pub fn push(&mut self, change: &Change) {
        self.builder.push_record([
            change.action.sign().to_string(),
            change.key.clone(),
            change.source.clone().unwrap_or_default(),
            describe(change),
        ]);
    }

    /// Writes the table (nothing when there were no changes), its signs coloured on a
    /// terminal that wants colour.
    pub fn write(self, out: &mut dyn Write) -> Result<()> {
        let signs = [
            (Action::Create.sign(), terminal::CREATE),
            (Action::Update.sign(), terminal::UPDATE),
            (Action::Delete.sign(), terminal::DELETE),
        ];
        write_table(out, self.builder, self.total, "changes", &signs)
    }
}

/// The text of a change's `changes` cell: one line per field.
fn describe(change: &Change) -> String {
    let lines: Vec<String> = match change.action {
        Action::Update => change
            .fields
            .iter()
            .map(|f| format!("{}: {} → {}", f.field, cell(&f.before), cell(&f.after)))
            .collect(),
        Action::Create => change
            .after
            .iter()
            .flatten()
            .filter(|(name, _)| *name != Field::ExternalId.name())
            .map(|(name, value)| format!("{name} = {}", shown(name, value)))
            .collect(),
        Action::Delete => change
            .before
            .iter()
            .flatten()
            .filter(|(name, _)| matches!(name.as_str(), "name" | "email" | "username"))
            .map(|(name, value)| format!("{name} = {}", cell(value)))
            .collect(),
    };
    lines.join("\n")
}

fn shown(name: &str, value: &serde_json::Value) -> String {
    match Field::parse(name) {
        Some(field) if field.is_secret() => secret::MASK.to_string(),
        _ => cell(value),
    }
}

/// A table of the first problems of a plan; it says how many more there are.
pub struct ProblemTable {
    builder: Builder,
    total: u64,
}

impl ProblemTable {
    /// An empty table for a plan of `total` problems.
    pub fn new(total: u64) -> ProblemTable {
        let mut builder = Builder::default();
        builder.push_record(["severity", "key", "source", "field", "rule", "message"]);
        ProblemTable { builder, total }
    }

    /// Adds one problem.
    pub fn push(&mut self, problem: &StoredProblem) {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        self.builder.push_record([
            problem.severity.to_string(),
            text(&problem.key),
            text(&problem.source),
            text(&problem.field),
            problem.rule.clone(),
            problem.message.clone(),
        ]);
    }

    /// Writes the table (nothing when there were no problems), its severities coloured on a
    /// terminal that wants colour.
    pub fn write(self, out: &mut dyn Write) -> Result<()> {
        let severities = [("error", terminal::DELETE), ("warning", terminal::UPDATE)];
        write_table(out, self.builder, self.total, "problems", &severities)
    }
}

fn write_table(
    out: &mut dyn Write,
    builder: Builder,
    total: u64,
    what: &str,
    words: &[(&str, anstyle::Style)],
) -> Result<()> {
    let shown = builder.count_records().saturating_sub(1) as u64;
    if shown == 0 {
        return Ok(());
    }
    write_built(out, builder, words)?;
    if total > shown {
        writeln!(
            out,
            "… and {} more {what} (`--limit 0` shows all, `--output json` gives them to programs)",
            total - shown
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}

/// The history table.
pub fn history(out: &mut dyn Write, applies: &[ApplyRecord]) -> Result<()> {
    if applies.is_empty() {
        writeln!(out, "No applies yet.").map_err(stdout_error)?;
        return Ok(());
    }
    let mut builder = Builder::default();
    builder.push_record([
        "apply",
        "plan",
        "applied at",
        "kind",
        "created",
        "updated",
        "deleted",
        "rolled back",
    ]);
    for a in applies {
        builder.push_record([
            a.id.to_string(),
            a.plan_id.to_string(),
            a.applied_at.clone(),
            match a.via.as_str() {
                "push" => format!("{}, by push", a.kind),
                _ => a.kind.clone(),
            },
            a.created.to_string(),
            a.updated.to_string(),
            a.deleted.to_string(),
            a.rolled_back.to_string(),
        ]);
    }
    write_built(out, builder, &[])
}

/// Lays a table out for stdout (wrapped to the terminal's width, its widest columns first,
/// and the `words` of its first column coloured when stdout wants colour) and writes it.
fn write_built(
    out: &mut dyn Write,
    builder: Builder,
    words: &[(&str, anstyle::Style)],
) -> Result<()> {
    let terminal = Terminal::stdout();
    let builder = match terminal.width {
        Some(width) => Builder::from(fit(Vec::from(builder), width)),
        None => builder,
    };
    let mut table = builder.build();
    table.with(Style::sharp());
    let text = table.to_string();
    let text = match terminal.color && !words.is_empty() {
        true => paint_first_column(&text, words),
        false => text,
    };
    writeln!(out, "{text}").map_err(stdout_error)
}

/// A table with a header row and string rows.
pub fn simple(out: &mut dyn Write, header: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    let mut builder = Builder::default();
    builder.push_record(header.iter().map(|h| h.to_string()));
    for row in rows {
        builder.push_record(row);
    }
    write_built(out, builder, &[])
}

/// Turns a failed write to stdout into an error (a closed pipe is handled by the caller).
pub fn stdout_error(source: std::io::Error) -> crate::Error {
    crate::Error::Write {
        path: "stdout".into(),
        source,
    }
}
