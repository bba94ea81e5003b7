//! The sign-off report: one self-contained HTML page (inline CSS and SVG, no script, nothing
//! fetched) or Markdown with the same sections as tables, rendered by minijinja templates.
//!
//! Every value reaches the page through the templates' auto-escaping: HTML escaping for the
//! page, Markdown escaping (below) for the Markdown, so a cell holding `<script>` shows as
//! text. Nothing is concatenated into markup by hand.
//!
//! The page is rendered around its changes, which are rendered in chunks as they are read
//! from the plan: a report of every change of a big plan (`--limit 0`) streams to its file
//! instead of being built in memory.

mod chart;
mod model;

use std::io::Write;
use std::path::Path;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use rusqlite::Connection;

pub use model::{Hints, Report};

use crate::error::{Error, Result};
use crate::model::change::Action;
use crate::store::figures;
use model::ChangeView;

/// The page's template.
const HTML: &str = include_str!("report.html");
/// The Markdown's template.
const MARKDOWN: &str = include_str!("report.md");
/// The rows of a page's changes table.
const HTML_ROWS: &str = include_str!("rows.html");
/// The rows of a Markdown changes table.
const MARKDOWN_ROWS: &str = include_str!("rows.md");

/// Changes rendered at a time.
const ROWS_AT_A_TIME: usize = 500;

/// What a report is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML page.
    Html,
    /// Markdown tables.
    Markdown,
}

/// Writes `report` of the plan in `conn` to `out` (for messages, the file is `path`).
pub fn write(
    conn: &Connection,
    report: &Report,
    format: Format,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let (page, rows) = match format {
        Format::Html => ("report.html", "rows.html"),
        Format::Markdown => ("report.md", "rows.md"),
    };
    let write_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let env = environment();
    let page = render(&env, page, report)?;
    let rows = env.get_template(rows).map_err(template_error)?;
    let marker = regex::Regex::new(r"<!--roster:rows:(create|update|delete)-->\n?")
        .expect("the marker pattern is valid");
    let mut written = 0;
    // Input cannot forge a marker: every `<` of a value is escaped.
    for found in marker.captures_iter(&page) {
        let whole = found.get(0).expect("a match");
        out.write_all(&page.as_bytes()[written..whole.start()])
            .map_err(write_error)?;
        written = whole.end();
        let action = Action::parse(&found[1]).expect("the marker names an action");
        let mut chunk = Vec::with_capacity(ROWS_AT_A_TIME);
        let mut flush = |chunk: &mut Vec<ChangeView>| -> Result<()> {
            let changes = minijinja::value::Serde(&*chunk);
            let context = minijinja::context! { action => action.as_str(), changes };
            let text = rows.render(context).map_err(template_error)?;
            chunk.clear();
            out.write_all(text.as_bytes()).map_err(write_error)
        };
        figures::first_changes_of(conn, report.plan_id, action, report.limit, |change| {
            chunk.push(ChangeView::of(&change));
            match chunk.len() == ROWS_AT_A_TIME {
                true => flush(&mut chunk),
                false => Ok(()),
            }
        })?;
        flush(&mut chunk)?;
    }
    out.write_all(&page.as_bytes()[written..])
        .map_err(write_error)
}

/// Renders one template of `env` with `context`.
fn render(env: &Environment, name: &str, context: impl serde::Serialize) -> Result<String> {
    env.get_template(name)
        .map_err(template_error)?
        .render(minijinja::value::Serde(context))
        .map_err(template_error)
}

/// The templates, escaping by kind: HTML for `.html`, Markdown for `.md`. An undefined
/// value is an error rather than an empty cell, so a mistyped name cannot hide.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| match name.rsplit('.').next() {
        Some("html") => AutoEscape::Html,
        _ => AutoEscape::Custom("markdown".into()),
    });
    env.set_formatter(|out, state, value| match state.auto_escape() {
        AutoEscape::Custom(kind) if kind == "markdown" && !value.is_safe() => {
            let text = match value.as_str() {
                Some(text) => escape_markdown(text),
                None => escape_markdown(&value.to_string()),
            };
            out.write_str(&text).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    // The templates ship inside the binary; a broken one fails every test that renders.
    env.add_template("report.html", HTML)
        .expect("the report's HTML template parses");
    env.add_template("report.md", MARKDOWN)
        .expect("the report's Markdown template parses");
    env.add_template("rows.html", HTML_ROWS)
        .expect("the report's HTML rows template parses");
    env.add_template("rows.md", MARKDOWN_ROWS)
        .expect("the report's Markdown rows template parses");
    env
}

/// A value as text in a Markdown table cell: nothing in it can end the cell, start markup,
/// a link or raw HTML; line breaks become `<br>`.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    let mut previous = ' ';
    while let Some(c) = chars.next() {
        // An `_` inside a word (`first_name`) never starts emphasis.
        let inside_word = c == '_'
            && previous.is_alphanumeric()
            && chars.peek().is_some_and(|next| next.is_alphanumeric());
        previous = c;
        match c {
            '_' if inside_word => out.push(c),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

fn template_error(e: minijinja::Error) -> Error {
    Error::Render(format!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table_or_carry_markup() {
        assert_eq!(
            escape_markdown("a|b\r\nc\nd <script>x</script> [l](u) *e* `c` &amp;"),
            "a\\|b<br>c<br>d &lt;script&gt;x&lt;/script&gt; \\[l\\](u) \\*e\\* \\`c\\` &amp;amp;"
        );
        assert_eq!(escape_markdown("plain text, 1.5"), "plain text, 1.5");
        assert_eq!(escape_markdown("first_name _x_"), "first_name \\_x\\_");
    }

    #[test]
    fn both_templates_parse() {
        let env = environment();
        for name in ["report.html", "report.md", "rows.html", "rows.md"] {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
