//! The one error type of the library, and the exit status each error means.
//!
//! Messages are lowercase, name things in backticks, say where (`file:line`) and, when the
//! user can do something about it, what to do.

use std::path::PathBuf;

/// Everything that can make a roster command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A source file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A source file is not in the shape roster expects; `at` is `file:line` or `file:line:col`.
    #[error("{at}: {message}")]
    Input { at: String, message: String },

    /// The tenant has no rules folder.
    #[error("unknown tenant `{tenant}`: there is no folder `{folder}`; {known}")]
    UnknownTenant {
        tenant: String,
        folder: PathBuf,
        known: String,
    },

    /// A rule pack is broken (syntax, runaway script, bad `validation.json`).
    #[error("{0}")]
    Rules(RuleError),

    /// Something named that does not exist (a plan, an apply, a reference table…).
    #[error("{message}")]
    NotFound { kind: NotFoundKind, message: String },

    /// What was asked cannot be done as things stand (a stale plan, one already applied, too
    /// many deletes, a change the vendor cannot make…).
    #[error("{message}")]
    Refused { kind: RefusedKind, message: String },

    /// A command-line value that makes no sense.
    #[error("{0}")]
    Usage(String),

    /// The workspace file is not usable.
    #[error("workspace `{path}`: {message}")]
    Workspace { path: PathBuf, message: String },

    /// A value the workspace stores cannot be read back: the file was damaged or edited by
    /// hand. `row` says which row of `table`, e.g. ``external_id = `u1` ``.
    #[error("the workspace is damaged: table `{table}`, row {row}, column `{column}`: {reason}; restore the workspace file from a backup")]
    Damaged {
        table: &'static str,
        row: String,
        column: &'static str,
        reason: String,
    },

    /// Another roster process holds the workspace.
    #[error("workspace busy: another roster command is writing `{0}`; wait for it to finish and run this again")]
    Busy(PathBuf),

    /// An unexpected database failure.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),

    /// Writing output failed.
    #[error("cannot write `{path}`: {}", write_advice(.source))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A report template failed (a bug in roster, not in the input).
    #[error("cannot render the report: {0}")]
    Render(String),

    /// A stage of a pipeline stopped because the stage it feeds failed; that stage's error is
    /// the one reported, never this.
    #[error("stopped: the next stage failed")]
    Stopped,
}

/// Why a write failed, worded for a person, with what to do when there is something to do.
fn write_advice(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => {
            "its folder does not exist; create the folder, or name another path".to_string()
        }
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            "permission denied; name a path in a folder you may write to".to_string()
        }
        ErrorKind::IsADirectory => "it is a folder; name a file instead".to_string(),
        ErrorKind::StorageFull => {
            "the disk is full; free some space and run this again".to_string()
        }
        _ => os_text(e),
    }
}

/// The operating system's text of `e` without its `(os error N)`, lowercased: messages here
/// start in lowercase.
pub(crate) fn os_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or_default();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "failed".to_string(),
    }
}

/// A broken rule pack: where (`file`, 1-based `line` and `column`, when known) and what. It
/// displays as `file:line:column: message` with the source line and a caret under the
/// column; `--output json` reports the fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleError {
    /// The pack file, as the user names it (`rules/acme/validation.json`), when known.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column, in characters.
    pub column: Option<usize>,
    /// What is wrong, and what to do.
    pub message: String,
    /// The text of `line`, drawn under the message with a caret.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl RuleError {
    /// An error about the pack as a whole (or a file named in `message`), with no place.
    pub fn new(message: impl Into<String>) -> RuleError {
        RuleError {
            file: None,
            line: None,
            column: None,
            message: message.into(),
            source_line: None,
        }
    }

    /// An error about `file`, with no line.
    pub fn in_file(file: impl Into<String>, message: impl Into<String>) -> RuleError {
        RuleError {
            file: Some(file.into()),
            ..RuleError::new(message)
        }
    }
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
            if let (Some(line), Some(column)) = (self.line, self.column) {
                write!(f, "{line}:{column}:")?;
            }
            f.write_str(" ")?;
        }
        f.write_str(&self.message)?;
        if let (Some(line), Some(column), Some(text)) = (self.line, self.column, &self.source_line)
        {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            let indent: String = text
                .chars()
                .take(column - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} |\n{number} | {text}\n{pad} | {indent}^")?;
        }
        Ok(())
    }
}

/// What [`Error::NotFound`] did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFoundKind {
    /// The workspace file.
    Workspace,
    /// A stored plan.
    Plan,
    /// A stored apply.
    Apply,
    /// A reference table.
    Table,
    /// An export's manifest, or the batch a response answers in it.
    Manifest,
}

/// Why [`Error::Refused`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedKind {
    /// The plan would delete more of the tenant's users than allowed.
    MassDelete,
    /// The state or rules changed since the plan was made.
    Stale,
    /// The plan was applied already.
    AlreadyApplied,
    /// The plan was applied, and the state or rules changed since.
    ChangedSinceApplied,
    /// The plan no longer makes the batches a push of it began with.
    PushDiverged,
    /// The plan has nothing to send.
    NothingToPush,
    /// The vendor cannot make the change, or take the user as it stands.
    Vendor,
    /// The vendor refused the credentials.
    Credentials,
    /// Batches of a push were not delivered.
    Undelivered,
    /// Loading a vendor's export would replace a stored user by another.
    StateLoad,
    /// Examples of the pack failed.
    Examples,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An input error at a position.
    pub fn input(at: impl std::fmt::Display, message: impl Into<String>) -> Error {
        Error::Input {
            at: at.to_string(),
            message: message.into(),
        }
    }

    /// A [`Error::Refused`] of `kind`.
    pub fn refused(kind: RefusedKind, message: impl Into<String>) -> Error {
        Error::Refused {
            kind,
            message: message.into(),
        }
    }

    /// A [`Error::NotFound`] of `kind`.
    pub fn not_found(kind: NotFoundKind, message: impl Into<String>) -> Error {
        Error::NotFound {
            kind,
            message: message.into(),
        }
    }

    /// The same error with its message passed through `edit`; errors that wrap a source
    /// error (I/O, database) are left as they are.
    pub fn map_message(self, edit: impl FnOnce(String) -> String) -> Error {
        match self {
            Error::Rules(error) => Error::Rules(RuleError {
                message: edit(error.message),
                ..error
            }),
            Error::NotFound { kind, message } => Error::NotFound {
                kind,
                message: edit(message),
            },
            Error::Refused { kind, message } => Error::Refused {
                kind,
                message: edit(message),
            },
            Error::Usage(m) => Error::Usage(edit(m)),
            Error::Workspace { path, message } => Error::Workspace {
                path,
                message: edit(message),
            },
            other => other,
        }
    }

    /// The process exit status for this error: always 1 (2, 4 and 6 are success statuses of
    /// `plan --detailed-exitcode`).
    pub fn exit_status(&self) -> i32 {
        1
    }
}
