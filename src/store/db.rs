//! Opening the workspace: create it on first use (readable by its owner only), check that it
//! is a roster workspace of a version this binary knows, and migrate it in place.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::migrations::MIGRATIONS;
use crate::error::{Error, NotFoundKind, Result};

/// How long a command waits for another roster process to finish writing.
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// An open workspace file.
pub struct Workspace {
    /// The open connection.
    pub conn: Connection,
    path: PathBuf,
}

impl Workspace {
    /// Opens (creating when missing) and migrates the workspace at `path`.
    pub fn open(path: &Path) -> Result<Workspace> {
        if !path.exists() {
            create_private_file(path)?;
        }
        Workspace::open_existing(path)
    }

    /// Opens and migrates the workspace at `path`, which must exist: for commands that only
    /// read, or act on something stored, and so must never create one.
    pub fn open_existing(path: &Path) -> Result<Workspace> {
        if path.is_dir() {
            return Err(Error::Workspace {
                path: path.to_path_buf(),
                message: format!(
                    "is a folder; `--db` names the workspace file, such as `{}`",
                    path.join("roster.db").display()
                ),
            });
        }
        if !path.exists() {
            let looked = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            return Err(Error::not_found(NotFoundKind::Workspace, format!(
                "there is no workspace `{}` (looked for `{}`); make one with `roster plan FILE…`, or name another with `--db FILE` (or `ROSTER_DB`)",
                path.display(),
                looked.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| workspace_error(path, e))?;
        conn.busy_timeout(BUSY_WAIT)?;
        // secure_delete: a wiped password must not linger in the file's free pages.
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;")
            .map_err(|e| workspace_error(path, e))?;
        let mut workspace = Workspace {
            conn,
            path: path.to_path_buf(),
        };
        workspace.migrate()?;
        Ok(workspace)
    }

    /// The workspace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a write transaction, waiting a bounded time for other writers.
    pub fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| busy_or(e, &path))
    }

    /// Maps a database error to "busy" when another process holds the lock.
    pub fn check(&self, error: rusqlite::Error) -> Error {
        busy_or(error, &self.path)
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let version: usize = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| workspace_error(&path, e))?;
        if version > MIGRATIONS.len() {
            return Err(Error::Workspace {
                path,
                message: format!(
                    "was written by a newer roster (schema version {version}, this roster knows {}); upgrade roster",
                    MIGRATIONS.len()
                ),
            });
        }
        if version == MIGRATIONS.len() {
            return Ok(());
        }
        if version == 0 && self.has_foreign_tables()? {
            return Err(Error::Workspace {
                path,
                message:
                    "is a SQLite database but not a roster workspace; pass another `--db` file"
                        .into(),
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(|e| busy_or(e, &path))?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", index + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn has_foreign_tables(&self) -> Result<bool> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )?;
        Ok(count > 0)
    }
}

fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn workspace_error(path: &Path, error: rusqlite::Error) -> Error {
    let message = match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            "is not a roster workspace (not a SQLite database); pass another `--db` file"
                .to_string()
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            return Error::Busy(path.to_path_buf())
        }
        _ => error.to_string(),
    };
    Error::Workspace {
        path: path.to_path_buf(),
        message,
    }
}

fn busy_or(error: rusqlite::Error, path: &Path) -> Error {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::Busy(path.to_path_buf())
        }
        _ => Error::Db(error),
    }
}

/// Decodes the JSON text of a stored column, or fails with [`damaged`]: a damaged workspace
/// is an error, never an empty value.
pub fn decode_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    row: impl std::fmt::Display,
    column: &'static str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| damaged(table, row, column, e))
}

/// The [`Error::Damaged`] of a stored column whose JSON does not decode: it names the table,
/// the row (e.g. ``external_id = `u1` ``) and the column.
pub fn damaged(
    table: &'static str,
    row: impl std::fmt::Display,
    column: &'static str,
    error: serde_json::Error,
) -> Error {
    Error::Damaged {
        table,
        row: row.to_string(),
        column,
        reason: format!("not the JSON roster wrote ({error})"),
    }
}
