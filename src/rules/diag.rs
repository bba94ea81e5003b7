//! Diagnostics for broken packs: `file:line:column: message`, the source line, a caret.
//!
//! Every pack error (a script that does not compile, a runaway hook, a bad `validation.json`
//! or `tenant.toml`) goes through [`render`], so they all read the same way.

use crate::error::{Error, RuleError};

/// A place in a pack file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl Span {
    /// The line and column of a byte offset in `source`.
    pub(super) fn of_offset(source: &str, offset: usize) -> Span {
        let before = &source[..offset.min(source.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Span {
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// A Rhai position, when it names a place.
    pub(super) fn of_rhai(position: rhai::Position) -> Option<Span> {
        Some(Span {
            line: position.line()?,
            column: position.position().unwrap_or(1).max(1),
        })
    }
}

/// The error of a pack file at a place in `source`; it displays as `file:line:col: message`,
/// then the source line with a caret under the column.
pub(super) fn rule_error(file: &str, source: &str, span: Option<Span>, message: &str) -> RuleError {
    RuleError {
        line: span.map(|s| s.line),
        column: span.map(|s| s.column),
        source_line: span.and_then(|s| source.lines().nth(s.line - 1).map(str::to_string)),
        ..RuleError::in_file(file, message)
    }
}

/// A pack error at a place in a file.
pub(super) fn pack_error(file: &str, source: &str, span: Option<Span>, message: &str) -> Error {
    Error::Rules(rule_error(file, source, span, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_line_with_a_caret_under_the_column() {
        let source = "fn map(row) {\n    let x = ;\n}\n";
        let error = rule_error(
            "r/t/a.rhai",
            source,
            Some(Span {
                line: 2,
                column: 13,
            }),
            "bad",
        );
        assert_eq!((error.line, error.column), (Some(2), Some(13)));
        assert_eq!(error.message, "bad");
        assert_eq!(
            error.to_string(),
            "r/t/a.rhai:2:13: bad\n  |\n2 |     let x = ;\n  |             ^"
        );
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        let source = "ab\ncdé\nf";
        assert_eq!(Span::of_offset(source, 0), Span { line: 1, column: 1 });
        assert_eq!(Span::of_offset(source, 3), Span { line: 2, column: 1 });
        assert_eq!(Span::of_offset(source, 8), Span { line: 3, column: 1 });
    }

    #[test]
    fn without_a_place_only_the_file_is_named() {
        assert_eq!(
            rule_error("x.json", "", None, "empty").to_string(),
            "x.json: empty"
        );
    }
}
