//! How output looks where it goes: colour for the signs of changes, severities and errors,
//! and the width tables wrap to. Decided once per run (`--color`, `NO_COLOR`, the terminal's
//! width or `COLUMNS`); a pipe gets no colour and whole lines.

use std::io::IsTerminal;
use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

/// How stdout is rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    /// Whether to colour.
    pub color: bool,
    /// The width tables wrap to; `None` keeps whole lines.
    pub width: Option<usize>,
}

static STDOUT: OnceLock<Terminal> = OnceLock::new();

impl Terminal {
    /// Sets how stdout is rendered for the rest of the run (the first call wins).
    pub fn set_stdout(terminal: Terminal) {
        let _ = STDOUT.set(terminal);
    }

    /// How stdout is rendered: plain and unwrapped unless [`Terminal::set_stdout`] said
    /// otherwise.
    pub fn stdout() -> Terminal {
        STDOUT.get().copied().unwrap_or_default()
    }

    /// The width of stdout: `COLUMNS` when set, else the terminal's, else none.
    pub fn stdout_width() -> Option<usize> {
        if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
            return Some(columns);
        }
        if !std::io::stdout().is_terminal() {
            return None;
        }
        console::Term::stdout()
            .size_checked()
            .map(|(_, width)| usize::from(width))
    }
}

/// Green: a create.
pub const CREATE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
/// Yellow: an update, a warning.
pub const UPDATE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
/// Red: a delete, an error.
pub const DELETE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
/// Bold red: the `error` of an error message.
pub const ERROR: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));

/// `text` in `style`.
pub fn paint(text: &str, style: Style) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// A rendered table with the words of its first column coloured: each line whose first
/// cell holds one of `words` gets that word in its style. Applied after the table is laid
/// out, so the escape codes never count towards a column's width.
pub fn paint_first_column(table: &str, words: &[(&str, Style)]) -> String {
    let mut painted = String::with_capacity(table.len() + 64);
    for line in table.lines() {
        let styled = words.iter().find_map(|(word, style)| {
            let rest = line.strip_prefix("│ ")?.strip_prefix(word)?;
            rest.starts_with(' ')
                .then(|| format!("│ {}{rest}", paint(word, *style)))
        });
        painted.push_str(styled.as_deref().unwrap_or(line));
        painted.push('\n');
    }
    painted.pop();
    painted
}
