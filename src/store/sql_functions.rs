//! roster's own functions in SQL, so a whole plan goes into the state in one pass over its
//! changes (see [`crate::store::state::StateWriter::put_plan_changes`]):
//! `roster_tally(action, key, before, after)` counts each change, takes its `before` out of
//! the state digest, keeps the keys to delete, says whether the change puts a record and,
//! for a plan that does not carry the digest of its records, checks that its `after` is
//! JSON; `roster_put_hash(key, after)` is the put record's hash as `users.record_hash` holds
//! it, also added to the digests.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde::de::IgnoredAny;

use crate::error::Result;
use crate::model::record::{digest_hex, user_hash, user_hash_of_bytes};

/// What one pass over a plan's changes found.
#[derive(Debug, Default)]
pub struct Tally {
    /// Creates that put a record.
    pub created: i64,
    /// Updates that put a record.
    pub updated: i64,
    /// Deletes.
    pub deleted: i64,
    /// Puts of a user the state did not hold (no `before`).
    pub added: i64,
    /// The XOR of the hashes of every `before` a change removes and every `after` it puts.
    pub digest: u128,
    /// The XOR of the hashes of every `after` put (as `plans.puts_digest`).
    pub puts: u128,
    /// The keys of the deletes, in the order of the pass.
    pub deletes: Vec<String>,
    /// The key of a change whose `after` is not JSON; the pass stopped there.
    pub damaged: Option<String>,
    /// How many records `roster_put_hash` hashed: one for each put, or the pass went wrong.
    pub hashed: i64,
}

/// The tally the functions fill while they are registered.
pub struct Tallying<'c> {
    conn: &'c Connection,
    tally: Arc<Mutex<Tally>>,
}

impl Tallying<'_> {
    /// What the pass found; the functions go with `self`.
    pub fn into_tally(self) -> Tally {
        std::mem::take(&mut *lock(&self.tally))
    }
}

impl Drop for Tallying<'_> {
    fn drop(&mut self) {
        // Unregistering cannot fail for functions that were registered.
        let _ = self.conn.remove_function("roster_tally", 4);
        let _ = self.conn.remove_function("roster_put_hash", 2);
    }
}

/// How the pass makes sure each record it puts is one the plan wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// Parsed as JSON, one by one: for a plan without `plans.puts_digest`.
    Parsed,
    /// Left to the caller, who compares [`Tally::puts`] with the plan's digest: the records
    /// are hashed for the state's digest anyway, and parsing them was a fifth of an apply.
    Hashed,
}

/// Registers `roster_tally` and `roster_put_hash` on `conn`, filling a new tally.
pub fn tallying(conn: &Connection, records: Records) -> Result<Tallying<'_>> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    // Not deterministic: each call must run once per row, as the pass reaches it.
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY;
    let counted = Arc::clone(&tally);
    conn.create_scalar_function("roster_tally", 4, flags, move |ctx| {
        count(ctx, records, &mut lock(&counted))
    })?;
    let hashed = Arc::clone(&tally);
    conn.create_scalar_function("roster_put_hash", 2, flags, move |ctx| {
        // The bytes as stored: the plan's digest of them, compared after the pass, vouches
        // for each record, so they are not checked as UTF-8 here again.
        let hash = user_hash_of_bytes(text_bytes(ctx, 0)?, text_bytes(ctx, 1)?);
        let mut tally = lock(&hashed);
        tally.digest ^= hash;
        tally.puts ^= hash;
        tally.hashed += 1;
        Ok(digest_hex(hash))
    })?;
    Ok(Tallying { conn, tally })
}

/// Argument `n` as the bytes of its text.
fn text_bytes<'a>(ctx: &'a Context, n: usize) -> rusqlite::Result<&'a [u8]> {
    match ctx.get_raw(n) {
        ValueRef::Text(bytes) => Ok(bytes),
        other => Err(rusqlite::Error::InvalidFunctionParameterType(
            n,
            other.data_type(),
        )),
    }
}

fn lock(tally: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `roster_tally(action, key, before, after)`: whether the change puts `after`.
fn count(ctx: &Context, records: Records, tally: &mut Tally) -> rusqlite::Result<bool> {
    let action = ctx.get_raw(0).as_str()?;
    let key = ctx.get_raw(1).as_str()?;
    let before = ctx.get_raw(2).as_str_or_null()?;
    let after = ctx.get_raw(3);
    match (action, after) {
        ("delete", _) => {
            tally.deleted += 1;
            tally.digest ^= user_hash(key, before.unwrap_or("{}"));
            tally.deletes.push(key.to_string());
            Ok(false)
        }
        (_, ValueRef::Null) => Ok(false),
        ("create" | "update", after) => {
            // The record goes into the state as stored, undecoded: a damaged one must stop
            // here, not at the next read of the state.
            if records == Records::Parsed
                && serde_json::from_str::<IgnoredAny>(after.as_str()?).is_err()
            {
                tally.damaged = Some(key.to_string());
                return Err(rusqlite::Error::UserFunctionError(
                    "a planned record is not JSON".into(),
                ));
            }
            match action {
                "create" => tally.created += 1,
                _ => tally.updated += 1,
            }
            match before {
                Some(before) => tally.digest ^= user_hash(key, before),
                None => tally.added += 1,
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}
