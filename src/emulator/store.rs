//! The emulator's users: one SQLite database (in memory, or a file with `--db`), shared by
//! the three vendors, each request handled in one transaction so a refused batch stores
//! nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

const SCHEMA: &str = "
-- Users as each vendor holds them: `key` is the ServicePower UserID, the eSystems key field's
-- value, or the Field Squared ExternalId; `id` the id the platform assigned (eSystems Id,
-- Field Squared ObjectId); `location` the eSystems location the user belongs to.
CREATE TABLE IF NOT EXISTS users (
    vendor   TEXT NOT NULL,
    key      TEXT NOT NULL,
    id       TEXT,
    location TEXT,
    object   TEXT NOT NULL,
    PRIMARY KEY (vendor, key)
);
CREATE INDEX IF NOT EXISTS users_by_id ON users (vendor, id);
CREATE INDEX IF NOT EXISTS users_by_location ON users (vendor, location);
-- How many times each key was created, deletes notwithstanding: a test of exactly-once
-- delivery wants 1 for every user.
CREATE TABLE IF NOT EXISTS creates (
    vendor TEXT NOT NULL,
    key    TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (vendor, key)
);
-- Field Squared requests by RequestId, with the answer given, to give it again.
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    status     INTEGER NOT NULL,
    body       TEXT NOT NULL
);
-- The last platform id handed out per vendor.
CREATE TABLE IF NOT EXISTS sequences (
    vendor TEXT PRIMARY KEY,
    last   INTEGER NOT NULL
);
";

/// The users of the three vendors.
pub(super) struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens the store: a file when given, else memory.
    pub(super) fn open(path: Option<&Path>) -> Result<Store, String> {
        let conn = match path {
            Some(path) => Connection::open(path),
            None => Connection::open_in_memory(),
        }
        .and_then(|conn| conn.execute_batch(SCHEMA).map(|_| conn))
        .map_err(|e| match path {
            Some(path) => format!("cannot open `{}`: {e}", path.display()),
            None => e.to_string(),
        })?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `work` in one transaction: committed when it returns `Ok`, else rolled back.
    pub(super) fn transaction<T, E: From<rusqlite::Error>>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let done = work(&tx)?;
        tx.commit()?;
        Ok(done)
    }

    /// Every user of a vendor (key order) and the creates counted per key.
    pub(super) fn dump(
        &self,
        vendor: &str,
    ) -> rusqlite::Result<(Vec<Value>, BTreeMap<String, u64>)> {
        self.transaction(|conn| {
            let mut users = Vec::new();
            let mut stmt =
                conn.prepare_cached("SELECT object FROM users WHERE vendor = ?1 ORDER BY key")?;
            for object in stmt.query_map([vendor], |r| r.get::<_, String>(0))? {
                users.push(serde_json::from_str(&object?).unwrap_or(Value::Null));
            }
            let mut creates = BTreeMap::new();
            let mut stmt = conn
                .prepare_cached("SELECT key, count FROM creates WHERE vendor = ?1 ORDER BY key")?;
            for row in stmt.query_map([vendor], |r| Ok((r.get(0)?, r.get(1)?)))? {
                let (key, count): (String, u64) = row?;
                creates.insert(key, count);
            }
            Ok((users, creates))
        })
    }
}

/// A stored user.
pub(super) struct Stored {
    pub key: String,
    pub id: Option<String>,
    pub object: Value,
}

/// The user stored under `key`.
pub(super) fn get(conn: &Connection, vendor: &str, key: &str) -> rusqlite::Result<Option<Stored>> {
    conn.prepare_cached("SELECT id, object FROM users WHERE vendor = ?1 AND key = ?2")?
        .query_row(params![vendor, key], |r| {
            Ok(Stored {
                key: key.to_string(),
                id: r.get(0)?,
                object: serde_json::from_str(&r.get::<_, String>(1)?).unwrap_or(Value::Null),
            })
        })
        .optional()
}

/// The user the platform knows by `id`.
pub(super) fn get_by_id(
    conn: &Connection,
    vendor: &str,
    id: &str,
) -> rusqlite::Result<Option<Stored>> {
    let key: Option<String> = conn
        .prepare_cached("SELECT key FROM users WHERE vendor = ?1 AND id = ?2")?
        .query_row(params![vendor, id], |r| r.get(0))
        .optional()?;
    match key {
        Some(key) => get(conn, vendor, &key),
        None => Ok(None),
    }
}

/// Stores a user (replacing the one under `key`); `created` counts a create of the key.
pub(super) fn put(
    conn: &Connection,
    vendor: &str,
    user: &Stored,
    location: Option<&str>,
    created: bool,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO users (vendor, key, id, location, object) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![vendor, user.key, user.id, location, user.object.to_string()])?;
    if created {
        conn.prepare_cached(
            "INSERT INTO creates (vendor, key, count) VALUES (?1, ?2, 1)
             ON CONFLICT (vendor, key) DO UPDATE SET count = count + 1",
        )?
        .execute(params![vendor, user.key])?;
    }
    Ok(())
}

/// Deletes the user under `key`; whether there was one.
pub(super) fn delete(conn: &Connection, vendor: &str, key: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM users WHERE vendor = ?1 AND key = ?2")?
        .execute(params![vendor, key])?
        > 0)
}

/// The keys of the users at a location.
pub(super) fn keys_at(
    conn: &Connection,
    vendor: &str,
    location: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT key FROM users WHERE vendor = ?1 AND location = ?2")?;
    let keys = stmt.query_map(params![vendor, location], |r| r.get(0))?;
    keys.collect()
}

/// Whether any user of the vendor is at this location.
pub(super) fn has_location(
    conn: &Connection,
    vendor: &str,
    location: &str,
) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM users WHERE vendor = ?1 AND location = ?2 LIMIT 1")?
        .query_row(params![vendor, location], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

/// The keys of the vendor's users whose `field` holds `value` (text compared as text).
pub(super) fn holders(
    conn: &Connection,
    vendor: &str,
    field: &str,
    value: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key FROM users WHERE vendor = ?1 AND CAST(json_extract(object, '$.' || ?2) AS TEXT) = ?3",
    )?;
    let keys = stmt.query_map(params![vendor, format!("\"{field}\""), value], |r| r.get(0))?;
    keys.collect()
}

/// The next platform id of the vendor: 1, 2, …
pub(super) fn next_id(conn: &Connection, vendor: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sequences (vendor, last) VALUES (?1, 1)
         ON CONFLICT (vendor) DO UPDATE SET last = last + 1 RETURNING last",
    )?
    .query_row([vendor], |r| r.get(0))
}

/// The answer given to a request id, if it was seen.
pub(super) fn answer_to(
    conn: &Connection,
    request_id: &str,
) -> rusqlite::Result<Option<(u16, String)>> {
    conn.prepare_cached("SELECT status, body FROM requests WHERE request_id = ?1")?
        .query_row([request_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// Remembers the answer given to a request id.
pub(super) fn remember(
    conn: &Connection,
    request_id: &str,
    status: u16,
    body: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO requests (request_id, status, body) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![request_id, status, body])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn creates_are_counted_across_deletes_and_a_failed_transaction_stores_nothing() {
        let store = Store::open(None).unwrap();
        let user = Stored {
            key: "T1".into(),
            id: Some("7".into()),
            object: json!({"UserID": "T1", "Email": "a@x"}),
        };
        store
            .transaction(|conn| {
                put(conn, "sp", &user, None, true)?;
                delete(conn, "sp", "T1")?;
                put(conn, "sp", &user, Some("Oslo"), true)
            })
            .unwrap();
        let failed: Result<(), rusqlite::Error> = store.transaction(|conn| {
            put(
                conn,
                "sp",
                &Stored {
                    key: "T2".into(),
                    ..user
                },
                None,
                true,
            )?;
            Err(rusqlite::Error::InvalidQuery)
        });
        assert!(failed.is_err());
        let (users, creates) = store.dump("sp").unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(creates.get("T1"), Some(&2));
        assert_eq!(creates.get("T2"), None);
        store
            .transaction(|conn| {
                assert_eq!(holders(conn, "sp", "Email", "a@x")?, vec!["T1"]);
                assert_eq!(get_by_id(conn, "sp", "7")?.unwrap().key, "T1");
                assert_eq!(keys_at(conn, "sp", "Oslo")?, vec!["T1"]);
                assert_eq!((next_id(conn, "sp")?, next_id(conn, "sp")?), (1, 2));
                Ok::<_, rusqlite::Error>(())
            })
            .unwrap();
    }
}
