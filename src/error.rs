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
    Rules(String),

    /// A stored plan or apply that does not exist for the tenant.
    #[error("{0}")]
    NotFound(String),

    /// The plan cannot be applied as it stands (stale, already applied, too many deletes).
    #[error("{0}")]
    Refused(String),

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
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A report template failed (a bug in roster, not in the input).
    #[error("cannot render the report: {0}")]
    Render(String),
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

    /// The same error with its message passed through `edit`; errors that wrap a source
    /// error (I/O, database) are left as they are.
    pub fn map_message(self, edit: impl FnOnce(String) -> String) -> Error {
        match self {
            Error::Rules(m) => Error::Rules(edit(m)),
            Error::NotFound(m) => Error::NotFound(edit(m)),
            Error::Refused(m) => Error::Refused(edit(m)),
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
