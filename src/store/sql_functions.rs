//! roster's own functions in SQL, so a whole plan can go into the state in one statement:
//! `roster_user_hash(key, record)` is a user's hash as `users.record_hash` holds it, and the
//! aggregate `roster_digest(key, record)` the XOR of those hashes (rows with a null record
//! left out), as 32 hex digits.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::Connection;

use crate::error::Result;
use crate::model::record::{digest_hex, user_hash};

/// Makes the functions callable on `conn` (again is harmless).
pub fn register(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("roster_user_hash", 2, flags, |ctx| {
        Ok(hash_of(ctx)?.map(digest_hex))
    })?;
    conn.create_aggregate_function("roster_digest", 2, flags, Digest)?;
    Ok(())
}

/// The hash of `(key, record)` given as the call's two arguments; `None` for a null record.
fn hash_of(ctx: &Context) -> rusqlite::Result<Option<u128>> {
    let key = ctx.get_raw(0).as_str()?;
    let record = ctx.get_raw(1);
    if record == rusqlite::types::ValueRef::Null {
        return Ok(None);
    }
    Ok(Some(user_hash(key, record.as_str()?)))
}

/// `roster_digest`: the XOR of the rows' user hashes.
struct Digest;

impl Aggregate<u128, String> for Digest {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<u128> {
        Ok(0)
    }

    fn step(&self, ctx: &mut Context<'_>, digest: &mut u128) -> rusqlite::Result<()> {
        *digest ^= hash_of(ctx)?.unwrap_or(0);
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, digest: Option<u128>) -> rusqlite::Result<String> {
        Ok(digest_hex(digest.unwrap_or(0)))
    }
}
