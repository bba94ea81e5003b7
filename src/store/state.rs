//! The state: the users a tenant's platform holds, as roster last knew it.
//!
//! Each user is one row holding its record as JSON. The tenant's `state_digest` is the XOR
//! of every user's hash, so it can be kept up to date from the changes alone and a plan can
//! tell in O(1) whether the state moved since it was made.

use rayon::prelude::*;
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use xxhash_rust::xxh3::xxh3_128;

use crate::error::{Error, Result};
use crate::hash::{FrozenMap, Hash128};
use crate::overlap::Overlap;
use crate::plan::stored::StoredState;
use crate::store::db;
use crate::store::field_places::Placed;
use crate::store::rejections;
use crate::store::sql_functions::{self, Records};

use crate::model::record::{digest_hex, unique_text, user_hash, Record, StoredUser};

/// The stored user `key` from its record and platform ids (JSON texts); a text that is not
/// JSON is a damaged workspace, named by table, row and column.
fn decode_user(key: &str, record: &str, platform_ids: Option<&str>) -> Result<StoredUser> {
    let row = format_args!("external_id `{key}`");
    Ok(StoredUser {
        record: db::decode_json("users", row, "record", record)?,
        platform_ids: platform_ids
            .map(|ids| db::decode_json("users", row, "platform_ids", ids))
            .transpose()?,
    })
}

/// The tenant's state digest and user count (zero for a tenant never loaded).
pub fn summary(conn: &Connection, tenant: &str) -> Result<(u128, u64)> {
    let row = conn
        .prepare_cached("SELECT state_digest, user_count FROM tenants WHERE name = ?1")?
        .query_row([tenant], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?;
    Ok(match row {
        Some((digest, count)) => (u128::from_str_radix(&digest, 16).unwrap_or(0), count as u64),
        None => (0, 0),
    })
}

/// One stored user, or `None`.
pub fn get(conn: &Connection, tenant: &str, key: &str) -> Result<Option<StoredUser>> {
    let row = conn
        .prepare_cached(
            "SELECT record, platform_ids FROM users WHERE tenant = ?1 AND external_id = ?2",
        )?
        .query_row(params![tenant, key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .optional()?;
    row.map(|(record, ids)| decode_user(key, &record, ids.as_deref()))
        .transpose()
}

pub use crate::plan::stored::{Indexes, NO_SLOT};

/// A tenant's users in the workspace, as a plan reads them.
pub struct TenantState<'c> {
    /// The workspace.
    pub conn: &'c Connection,
    /// The tenant.
    pub tenant: &'c str,
}

impl StoredState for TenantState<'_> {
    fn indexes(&self, fields: &[&str]) -> Result<Indexes> {
        indexes(self.conn, self.tenant, fields)
    }

    fn get(&self, key: &str) -> Result<Option<StoredUser>> {
        get(self.conn, self.tenant, key)
    }

    fn user_at(&self, rowid: i64) -> Result<Option<StoredUser>> {
        user_at(self.conn, self.tenant, rowid)
    }

    fn key_at(&self, rowid: i64) -> Result<Option<String>> {
        key_at(self.conn, rowid)
    }

    fn fields_at(&self, rowid: i64, fields: &[&str]) -> Result<Option<(String, Record)>> {
        fields_at(self.conn, rowid, fields)
    }

    fn rejections(&self) -> Result<Vec<(Hash128, Box<str>)>> {
        rejections::all(self.conn, self.tenant)
    }
}

/// Reads the [`Indexes`] of the tenant's users, with the values of `fields`.
pub fn indexes(conn: &Connection, tenant: &str, fields: &[&str]) -> Result<Indexes> {
    let (_, count) = summary(conn, tenant)?;
    // The record is read only when values are asked for.
    let mut stmt = conn.prepare_cached(
        "SELECT external_id, record_hash, rowid, source_fingerprint,
                CASE WHEN ?2 THEN record END, CASE WHEN ?2 THEN field_places END
         FROM users WHERE tenant = ?1",
    )?;
    let mut rows = stmt.query(params![tenant, !fields.is_empty()])?;
    // Sized for every user up front: grown by doubling, the vectors would hold up to twice
    // that while they grow. A map shrinks its vector to its entries.
    let count = count as usize;
    // Until the key index is sorted, a user is named by its place in this pass, its
    // ordinal: the entries hold ordinals where they will hold slots (and rowids, in `keys`).
    let mut keys = Vec::with_capacity(count);
    let mut rowids = Vec::with_capacity(count);
    let mut fingerprints = Vec::with_capacity(count);
    let mut values: Vec<Vec<_>> = fields.iter().map(|_| Vec::with_capacity(count)).collect();
    // SQLite steps on this thread while helpers hash the keys and parse the records read
    // before: that is most of the pass's work.
    std::thread::scope(|scope| -> Result<()> {
        let mut overlap = Overlap::with_depth(scope, SCAN_HELPERS);
        let mut batch = Batch::default();
        let mut hand_over = |batch: Option<Batch>| -> Result<bool> {
            let job = batch.map(|batch| move || batch.index(fields));
            let Some(indexed) = overlap.hand_over(job)? else {
                return Ok(false);
            };
            keys.extend(indexed.keys);
            for (n, found) in indexed.values.into_iter().enumerate() {
                values[n].extend(found);
            }
            Ok(true)
        };
        while let Some(row) = rows.next()? {
            // Checked as UTF-8 on the helpers: this thread is the pass's bound.
            let text = |column| -> Result<&[u8]> {
                Ok(row
                    .get_ref(column)?
                    .as_bytes_or_null()
                    .map_err(rusqlite::Error::from)?
                    .unwrap_or_default())
            };
            let ordinal = ordinal(rowids.len());
            rowids.push(row.get::<_, i64>(2)?);
            let fingerprint = row
                .get_ref(3)?
                .as_blob_or_null()
                .map_err(rusqlite::Error::from)?;
            if let Some(fingerprint) = fingerprint.and_then(Hash128::from_bytes) {
                fingerprints.push((fingerprint, ordinal));
            }
            let places = row
                .get_ref(5)?
                .as_blob_or_null()
                .map_err(rusqlite::Error::from)?;
            batch.push(text(0)?, text(1)?, (text(4)?, places), fields, ordinal);
            if batch.users.len() == SCAN_BATCH {
                hand_over(Some(std::mem::take(&mut batch)))?;
            }
        }
        hand_over(Some(batch))?;
        while hand_over(None)? {}
        Ok(())
    })?;
    let mut keys = FrozenMap::new(keys);
    let mut slot_by_ordinal = vec![0u32; keys.len()];
    for (slot, (_, user)) in keys.values_mut().enumerate() {
        slot_by_ordinal[*user as usize] = slot as u32;
        *user = rowids[*user as usize];
    }
    drop(rowids);
    let by_slot = |mut entries: Vec<(Hash128, u32)>| {
        for (_, user) in &mut entries {
            *user = slot_by_ordinal[*user as usize];
        }
        FrozenMap::new(entries)
    };
    let (values, fingerprints) = rayon::join(
        || values.into_par_iter().map(by_slot).collect::<Vec<_>>(),
        || by_slot(fingerprints),
    );
    let value_slots = if fingerprints.is_empty() {
        vec![Vec::new(); fields.len()]
    } else {
        values
            .iter()
            .map(|values| value_slots(values, keys.len()))
            .collect()
    };
    Ok(Indexes {
        fingerprints,
        keys,
        values,
        value_slots,
    })
}

/// The ordinal of the user read `n`th, which a [`FrozenMap`] entry holds in 32 bits.
fn ordinal(n: usize) -> u32 {
    u32::try_from(n).expect("a FrozenMap holds under 2^32 entries")
}

/// Stored users indexed together, on a helper thread.
const SCAN_BATCH: usize = 4096;

/// Batches indexed at a time beside the thread reading the users.
const SCAN_HELPERS: usize = 2;

/// Stored users read for the index and not yet indexed.
#[derive(Default)]
struct Batch {
    /// Each user's key and record hash (hex), then either the JSON text of each wanted
    /// field's value (empty when the record has none), found by the record's field places,
    /// or the whole record (JSON, or nothing) to parse: one part after the other, as SQLite
    /// holds them (UTF-8 unchecked).
    text: Vec<u8>,
    /// Where each part ends in `text`, user after user.
    ends: Vec<usize>,
    /// Each user's ordinal, and whether its parts are the wanted values (else its record).
    users: Vec<(u32, bool)>,
}

/// The index entries of a [`Batch`], in its order, naming users by their ordinals.
struct Indexed {
    keys: Vec<(Hash128, (u64, i64))>,
    values: Vec<Vec<(Hash128, u32)>>,
}

impl Batch {
    fn push(
        &mut self,
        key: &[u8],
        record_hash: &[u8],
        (record, places): (&[u8], Option<&[u8]>),
        fields: &[&str],
        ordinal: u32,
    ) {
        self.part(key);
        self.part(record_hash);
        let (text_mark, ends_mark) = (self.text.len(), self.ends.len());
        let placed = places
            .and_then(|places| Placed::new(record, places))
            .is_some_and(|placed| {
                fields.iter().all(|field| match placed.value(field) {
                    Some(value) => {
                        self.part(value.unwrap_or_default());
                        true
                    }
                    None => false,
                })
            });
        if !placed {
            // Places that do not fit: the record goes whole, instead of the values found.
            self.text.truncate(text_mark);
            self.ends.truncate(ends_mark);
            self.part(record);
        }
        self.users.push((ordinal, placed));
    }

    fn part(&mut self, part: &[u8]) {
        self.text.extend_from_slice(part);
        self.ends.push(self.text.len());
    }

    /// Each user's key by hash (see [`Indexes::keys`]), and for each of `fields` the values
    /// the records hold ([`unique_text`]) by hash, with their holders' ordinals.
    fn index(&self, fields: &[&str]) -> Result<Indexed> {
        let mut keys = Vec::with_capacity(self.users.len());
        let mut values = vec![Vec::new(); fields.len()];
        let mut ends = self.ends.iter();
        let mut start = 0;
        let mut next_part = || {
            let end = *ends.next().expect("a batch holds every user's parts");
            let part = &self.text[start..end];
            start = end;
            part
        };
        for &(ordinal, placed) in &self.users {
            // A key is hashed as its bytes, as `Hash128::of` its text.
            let key_text = next_part();
            let key = Hash128::from(xxh3_128(key_text));
            let hash = std::str::from_utf8(next_part())
                .ok()
                .and_then(|hex| u128::from_str_radix(hex, 16).ok())
                .unwrap_or(0);
            keys.push((key, (hash as u64, i64::from(ordinal))));
            if placed {
                for found in &mut values {
                    let value = next_part();
                    if value.is_empty() {
                        continue;
                    }
                    let hash = value_hash(value).map_err(|e| damaged(lossy(key_text), e))?;
                    if let Some(hash) = hash {
                        found.push((hash, ordinal));
                    }
                }
                continue;
            }
            let record = next_part();
            if record.is_empty() {
                continue;
            }
            let wanted = Only(fields)
                .read(record)
                .map_err(|e| damaged(lossy(key_text), e))?;
            for (name, value) in wanted {
                let Some(n) = fields.iter().position(|f| *f == name) else {
                    continue;
                };
                if let Some(text) = unique_text(&value) {
                    values[n].push((Hash128::of(&text), ordinal));
                }
            }
        }
        Ok(Indexed { keys, values })
    }
}

/// The hash of the [`unique_text`] of a value given as JSON text (`None` for `null`): a
/// string without escapes is hashed as it stands, anything else parsed first.
fn value_hash(json: &[u8]) -> serde_json::Result<Option<Hash128>> {
    if let [b'"', inner @ .., b'"'] = json {
        if !inner.iter().any(|b| matches!(b, b'"' | b'\\')) {
            if let Ok(text) = std::str::from_utf8(inner) {
                return Ok(Some(Hash128::of(text)));
            }
        }
    }
    let value: serde_json::Value = serde_json::from_slice(json)?;
    Ok(unique_text(&value).map(|text| Hash128::of(&text)))
}

/// A key read as bytes, for a message.
fn lossy(key: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(key)
}

/// By user slot (among `users`): the slot of the value it holds in `values` (whose entries
/// hold their holders' slots), which is that of the value's first entry (as
/// [`FrozenMap::slot`] finds it), so two users holding one value name the same slot.
fn value_slots(values: &FrozenMap<u32>, users: usize) -> Vec<u32> {
    let mut by_user = vec![NO_SLOT; users];
    let mut first = 0;
    for (slot, holder) in values.values().enumerate() {
        if slot == 0 || values.key_at(slot) != values.key_at(slot - 1) {
            first = slot as u32;
        }
        by_user[*holder as usize] = first;
    }
    by_user
}

/// The tenant's user stored at `rowid`, or `None`: a plan that knows where a user is reads it
/// without looking its key up in the index.
pub fn user_at(conn: &Connection, tenant: &str, rowid: i64) -> Result<Option<StoredUser>> {
    let row = conn
        .prepare_cached(
            "SELECT external_id, record, platform_ids FROM users WHERE rowid = ?1 AND tenant = ?2",
        )?
        .query_row(params![rowid, tenant], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .optional()?;
    row.map(|(key, record, ids)| decode_user(&key, &record, ids.as_deref()))
        .transpose()
}

/// The key of the user stored at `rowid`, and the `fields` its record has: the rest of the
/// record is skipped unread.
pub fn fields_at(
    conn: &Connection,
    rowid: i64,
    fields: &[&str],
) -> Result<Option<(String, Record)>> {
    let row = conn
        .prepare_cached("SELECT external_id, record FROM users WHERE rowid = ?1")?
        .query_row([rowid], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    row.map(|(key, record)| match Only(fields).read(record.as_bytes()) {
        Ok(only) => Ok((key, only)),
        Err(e) => Err(damaged(&key, e)),
    })
    .transpose()
}

/// Reads the named keys of a JSON object, and skips the others.
#[derive(Clone, Copy)]
struct Only<'f>(&'f [&'f str]);

impl Only<'_> {
    /// The named keys of the JSON object `record`.
    fn read(self, record: &[u8]) -> serde_json::Result<Record> {
        let mut json = serde_json::Deserializer::from_slice(record);
        let only = serde::Deserializer::deserialize_map(&mut json, self)?;
        json.end()?;
        Ok(only)
    }
}

/// The error of a user's stored record that does not decode.
fn damaged(key: impl std::fmt::Display, error: serde_json::Error) -> Error {
    db::damaged(
        "users",
        format_args!("external_id `{key}`"),
        "record",
        error,
    )
}

impl<'de> Visitor<'de> for Only<'_> {
    type Value = Record;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Record, A::Error> {
        let mut record = Record::new();
        while let Some(wanted) = map.next_key_seed(self)? {
            match wanted {
                Some(n) => {
                    record.insert(self.0[n].to_string(), map.next_value()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(record)
    }
}

/// A key: the index of the name it is, if it is one of them.
impl<'de> DeserializeSeed<'de> for Only<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Option<usize>, D::Error> {
        struct Name<'f>(&'f [&'f str]);
        impl Visitor<'_> for Name<'_> {
            type Value = Option<usize>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }

            fn visit_str<E: serde::de::Error>(
                self,
                key: &str,
            ) -> std::result::Result<Option<usize>, E> {
                Ok(self.0.iter().position(|name| *name == key))
            }
        }
        deserializer.deserialize_str(Name(self.0))
    }
}

/// The key of the user stored at `rowid` (from [`Indexes`]).
pub fn key_at(conn: &Connection, rowid: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT external_id FROM users WHERE rowid = ?1")?
        .query_row([rowid], |r| r.get(0))
        .optional()?)
}

/// Calls `visit` with every stored user of the tenant, in key order.
pub fn for_each(
    conn: &Connection,
    tenant: &str,
    mut visit: impl FnMut(&str, StoredUser) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT external_id, record, platform_ids FROM users WHERE tenant = ?1 ORDER BY external_id",
    )?;
    let mut rows = stmt.query([tenant])?;
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let record: String = row.get(1)?;
        let ids: Option<String> = row.get(2)?;
        let user = decode_user(&key, &record, ids.as_deref())?;
        visit(&key, user)?;
    }
    Ok(())
}

/// Calls `visit` with every stored user of the tenant, in key order, as stored: its key,
/// record and platform ids as JSON text.
pub fn for_each_text(
    conn: &Connection,
    tenant: &str,
    mut visit: impl FnMut(&str, &str, Option<&str>) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT external_id, record, platform_ids FROM users WHERE tenant = ?1 ORDER BY external_id",
    )?;
    let mut rows = stmt.query([tenant])?;
    while let Some(row) = rows.next()? {
        visit(
            text_at(row, 0)?.unwrap_or_default(),
            text_at(row, 1)?.unwrap_or_default(),
            text_at(row, 2)?,
        )?;
    }
    Ok(())
}

/// The text in a column of `row`, borrowed; `None` when it holds no text.
fn text_at<'r>(row: &'r rusqlite::Row, column: usize) -> Result<Option<&'r str>> {
    Ok(match row.get_ref(column)? {
        rusqlite::types::ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    })
}

/// Writes to the state inside one transaction, keeping the tenant's digest and count current.
pub struct StateWriter<'c> {
    conn: &'c Connection,
    tenant: String,
    digest: u128,
    count: i64,
    now: String,
    /// The statement of [`StateWriter::put`], prepared at its first call and kept: users
    /// are put one after the other by the thousand.
    upsert: Option<rusqlite::CachedStatement<'c>>,
}

impl<'c> StateWriter<'c> {
    /// Starts writing the tenant's state (`conn` must be inside a transaction).
    pub fn new(conn: &'c Connection, tenant: &str) -> Result<StateWriter<'c>> {
        let (digest, count) = summary(conn, tenant)?;
        Ok(StateWriter {
            conn,
            tenant: tenant.to_string(),
            digest,
            count: count as i64,
            now: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            upsert: None,
        })
    }

    /// Inserts or replaces a user; `before` is the record it replaces (for the digest),
    /// `after` the record with its field places when known (see
    /// [`crate::store::field_places`]), and `fingerprint` that of the source row that made
    /// it (see [`Indexes::fingerprints`]).
    pub fn put(
        &mut self,
        key: &str,
        before: Option<&str>,
        (after, places): (&str, Option<&[u8]>),
        ids: Option<&str>,
        fingerprint: Option<&[u8]>,
    ) -> Result<()> {
        let hash = user_hash(key, after);
        let upsert = match &mut self.upsert {
            Some(upsert) => upsert,
            None => self.upsert.insert(self.conn.prepare_cached(
                "INSERT INTO users (tenant, external_id, record, record_hash, platform_ids, updated_at, source_fingerprint, field_places)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (tenant, external_id) DO UPDATE SET
                   record = excluded.record, record_hash = excluded.record_hash,
                   platform_ids = excluded.platform_ids, updated_at = excluded.updated_at,
                   source_fingerprint = excluded.source_fingerprint,
                   field_places = excluded.field_places",
            )?),
        };
        upsert.execute(params![
            self.tenant,
            key,
            after,
            digest_hex(hash),
            ids,
            self.now,
            fingerprint,
            places
        ])?;
        match before {
            Some(before) => self.digest ^= user_hash(key, before),
            None => self.count += 1,
        }
        self.digest ^= hash;
        Ok(())
    }

    /// Applies every change of a stored plan inside SQLite, in one pass over its changes:
    /// an `INSERT … SELECT` puts the creates and updates, while the pass tallies the counts
    /// and what the changes do to the digest and keeps the keys to delete, which go next.
    /// The records go in as the plan stored them, never re-serialised, and must hash to the
    /// digest the plan wrote of them (a plan without one has each record parsed instead).
    /// Returns the users created, updated and deleted.
    pub fn put_plan_changes(&mut self, plan_id: i64) -> Result<[u64; 3]> {
        let puts_digest: Option<String> = self
            .conn
            .prepare_cached("SELECT puts_digest FROM plans WHERE id = ?1")?
            .query_row([plan_id], |r| r.get(0))?;
        let records = match puts_digest {
            Some(_) => Records::Hashed,
            None => Records::Parsed,
        };
        let tallying = sql_functions::tallying(self.conn, records)?;
        let put = self
            .conn
            .prepare_cached(
                "INSERT INTO users (tenant, external_id, record, record_hash, platform_ids, updated_at, source_fingerprint, field_places)
                 SELECT ?1, external_id, after, roster_put_hash(external_id, after), platform_ids,
                        ?3, source_fingerprint, after_field_places
                 FROM plan_changes
                 WHERE plan_id = ?2 AND roster_tally(action, external_id, before, after)
                 ORDER BY seq
                 ON CONFLICT (tenant, external_id) DO UPDATE SET
                   record = excluded.record, record_hash = excluded.record_hash,
                   platform_ids = excluded.platform_ids, updated_at = excluded.updated_at,
                   source_fingerprint = excluded.source_fingerprint,
                   field_places = excluded.field_places",
            )?
            .execute(params![self.tenant, plan_id, self.now]);
        let tally = tallying.into_tally();
        if let Some(key) = tally.damaged {
            return Err(Error::Damaged {
                table: "plan_changes",
                row: format!("plan {plan_id}, external_id `{key}`"),
                column: "after",
                reason: "not the JSON roster wrote".to_string(),
            });
        }
        put?;
        if let Some(expected) = puts_digest {
            if expected != digest_hex(tally.puts) {
                return Err(self.altered_records(plan_id));
            }
        }
        if tally.hashed != tally.created + tally.updated {
            // Each put record is hashed once into the digest, or the digest is wrong.
            let message = format!(
                "plan {plan_id}: {} records hashed for {} put",
                tally.hashed,
                tally.created + tally.updated
            );
            return Err(rusqlite::Error::UserFunctionError(message.into()).into());
        }
        let mut delete = self
            .conn
            .prepare_cached("DELETE FROM users WHERE tenant = ?1 AND external_id = ?2")?;
        for key in &tally.deletes {
            delete.execute(params![self.tenant, key])?;
        }
        self.digest ^= tally.digest;
        self.count += tally.added - tally.deleted;
        Ok([tally.created, tally.updated, tally.deleted].map(|n| n as u64))
    }

    /// Why the records of plan `plan_id` do not hash to its digest: the first that is not
    /// JSON, or else that they were edited since the plan was made.
    fn altered_records(&self, plan_id: i64) -> Error {
        let first_not_json = self
            .conn
            .query_row(
                "SELECT external_id FROM plan_changes
                 WHERE plan_id = ?1 AND action IN ('create', 'update') AND NOT json_valid(after)
                 ORDER BY seq LIMIT 1",
                [plan_id],
                |r| r.get::<_, String>(0),
            )
            .optional();
        let (row, reason) = match first_not_json {
            Ok(Some(key)) => (
                format!("plan {plan_id}, external_id `{key}`"),
                "not the JSON roster wrote",
            ),
            Ok(None) => (
                format!("plan {plan_id}"),
                "the records are not those the plan wrote (edited since)",
            ),
            Err(error) => return error.into(),
        };
        Error::Damaged {
            table: "plan_changes",
            row,
            column: "after",
            reason: reason.to_string(),
        }
    }

    /// Deletes a user whose record was `before`.
    pub fn delete(&mut self, key: &str, before: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM users WHERE tenant = ?1 AND external_id = ?2")?
            .execute(params![self.tenant, key])?;
        self.digest ^= user_hash(key, before);
        self.count -= 1;
        Ok(())
    }

    /// Records the tenant's new digest and count.
    pub fn finish(self) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO tenants (name, state_digest, user_count) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET state_digest = excluded.state_digest,
                   user_count = excluded.user_count",
            )?
            .execute(params![self.tenant, digest_hex(self.digest), self.count])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::field_places;

    /// Users at rowids 7, 3 and 12, keyed `a`, `b` and `c`.
    fn keys() -> FrozenMap<(u64, i64)> {
        FrozenMap::new(vec![
            (Hash128::of("a"), (0, 7)),
            (Hash128::of("b"), (0, 3)),
            (Hash128::of("c"), (0, 12)),
        ])
    }

    fn slot_of(keys: &FrozenMap<(u64, i64)>, key: &str) -> u32 {
        keys.slot(&Hash128::of(key)).unwrap() as u32
    }

    /// The one pass of an apply puts the creates and updates, deletes the deletes, and
    /// leaves the digest, count and record hashes that the users it holds give afresh.
    #[test]
    fn a_plan_put_in_one_pass_leaves_the_digest_of_the_users_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut workspace = db::Workspace::open(&dir.path().join("w.db")).unwrap();
        let tx = workspace.write().unwrap();
        let mut writer = StateWriter::new(&tx, "t").unwrap();
        for key in ["a", "b", "d"] {
            let record = format!(r#"{{"external_id":"{key}"}}"#);
            writer.put(key, None, (&record, None), None, None).unwrap();
        }
        writer.finish().unwrap();
        tx.execute_batch(
            r#"INSERT INTO plans (id, tenant, created_at, kind, inputs, rules_digest, state_digest, sync, summary)
               VALUES (1, 't', '', 'plan', '[]', '', '', 0, '{}');
               INSERT INTO plan_changes (plan_id, seq, action, external_id, before, after) VALUES
                 (1, 1, 'update', 'a', '{"external_id":"a"}', '{"external_id":"a","email":"x@y"}'),
                 (1, 2, 'delete', 'b', '{"external_id":"b"}', NULL),
                 (1, 3, 'create', 'c', NULL, '{"external_id":"c"}'),
                 (1, 4, 'delete', 'd', '{"external_id":"d"}', NULL);"#,
        )
        .unwrap();
        let mut writer = StateWriter::new(&tx, "t").unwrap();
        assert_eq!(writer.put_plan_changes(1).unwrap(), [1, 1, 2]);
        writer.finish().unwrap();
        let mut stmt = tx
            .prepare("SELECT external_id, record, record_hash FROM users WHERE tenant = 't'")
            .unwrap();
        let users: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let keys: Vec<&str> = users.iter().map(|(key, _, _)| key.as_str()).collect();
        assert_eq!(keys, ["a", "c"]);
        let mut digest = 0;
        for (key, record, hash) in &users {
            assert_eq!(*hash, digest_hex(user_hash(key, record)));
            digest ^= user_hash(key, record);
        }
        assert_eq!(summary(&tx, "t").unwrap(), (digest, 2));
    }

    /// A planned record that is not JSON stops the apply, named, before the state moves.
    #[test]
    fn a_damaged_planned_record_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut workspace = db::Workspace::open(&dir.path().join("w.db")).unwrap();
        let tx = workspace.write().unwrap();
        tx.execute_batch(
            r#"INSERT INTO plans (id, tenant, created_at, kind, inputs, rules_digest, state_digest, sync, summary)
               VALUES (1, 't', '', 'plan', '[]', '', '', 0, '{}');
               INSERT INTO plan_changes (plan_id, seq, action, external_id, before, after) VALUES
                 (1, 1, 'create', 'a', NULL, '{"external_id":"a"}'),
                 (1, 2, 'create', 'b', NULL, '{"external_id":');"#,
        )
        .unwrap();
        let mut writer = StateWriter::new(&tx, "t").unwrap();
        let error = writer.put_plan_changes(1).unwrap_err().to_string();
        assert!(error.contains("row plan 1, external_id `b`"), "{error}");
    }

    /// A plan that carries the digest of its records is applied only with those records:
    /// one changed into other JSON stops the apply; the records as planned go in.
    #[test]
    fn a_planned_record_that_is_not_the_one_digested_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut workspace = db::Workspace::open(&dir.path().join("w.db")).unwrap();
        let tx = workspace.write().unwrap();
        let planned = [
            ("a", r#"{"external_id":"a"}"#),
            ("b", r#"{"external_id":"b"}"#),
        ];
        let digest = planned
            .iter()
            .fold(0, |digest, (key, record)| digest ^ user_hash(key, record));
        tx.execute(
            "INSERT INTO plans (id, tenant, created_at, kind, inputs, rules_digest, state_digest, sync, summary, puts_digest)
             VALUES (1, 't', '', 'plan', '[]', '', '', 0, '{}', ?1)",
            [digest_hex(digest)],
        )
        .unwrap();
        for (seq, (key, record)) in planned.iter().enumerate() {
            tx.execute(
                "INSERT INTO plan_changes (plan_id, seq, action, external_id, after) VALUES (1, ?1, 'create', ?2, ?3)",
                params![seq, key, record],
            )
            .unwrap();
        }
        tx.execute("SAVEPOINT edited", []).unwrap();
        tx.execute(
            r#"UPDATE plan_changes SET after = '{"external_id":"b","email":"x@y"}' WHERE external_id = 'b'"#,
            [],
        )
        .unwrap();
        let mut writer = StateWriter::new(&tx, "t").unwrap();
        let error = writer.put_plan_changes(1).unwrap_err().to_string();
        assert!(
            error.contains("row plan 1, column `after`: the records are not those the plan wrote"),
            "{error}"
        );
        tx.execute("ROLLBACK TO edited", []).unwrap();
        let mut writer = StateWriter::new(&tx, "t").unwrap();
        assert_eq!(writer.put_plan_changes(1).unwrap(), [2, 0, 0]);
    }

    /// Each tenant of a workspace is indexed alone, its values named by their own holders'
    /// slots (another tenant's user holding the same value is not one of them).
    #[test]
    fn a_tenant_is_indexed_alone_its_values_named_by_their_holders() {
        let dir = tempfile::tempdir().unwrap();
        let mut workspace = db::Workspace::open(&dir.path().join("w.db")).unwrap();
        let tx = workspace.write().unwrap();
        let users = [
            ("big", "b1", "one@x"),
            ("small", "s1", "one@x"),
            ("big", "b2", "two@x"),
            ("big", "b3", "three@x"),
        ];
        for (tenant, key, email) in users {
            let mut writer = StateWriter::new(&tx, tenant).unwrap();
            let record = format!(r#"{{"external_id":"{key}","email":"{email}"}}"#);
            writer.put(key, None, (&record, None), None, None).unwrap();
            writer.finish().unwrap();
        }
        for tenant in ["big", "small"] {
            let indexes = indexes(&tx, tenant, &["email"]).unwrap();
            let held: Vec<_> = users.iter().filter(|(t, _, _)| *t == tenant).collect();
            assert_eq!(indexes.keys.len(), held.len(), "{tenant}");
            assert_eq!(indexes.values[0].len(), held.len(), "{tenant}");
            for (_, key, email) in held {
                let holder = *indexes.values[0].get(&Hash128::of(email)).unwrap() as usize;
                assert_eq!(
                    indexes.keys.key_at(holder),
                    Hash128::of(key),
                    "{tenant} {email}"
                );
                let (_, rowid) = *indexes.keys.value_at(holder);
                assert_eq!(key_at(&tx, rowid).unwrap().as_deref(), Some(*key));
            }
        }
    }

    /// Values read by the records' field places are those parsing the records gives, for
    /// every kind of value, and a record whose places no longer fit it is parsed.
    #[test]
    fn values_read_by_their_places_are_the_parsed_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut workspace = db::Workspace::open(&dir.path().join("w.db")).unwrap();
        let tx = workspace.write().unwrap();
        let records = [
            serde_json::json!({"external_id": "a", "email": "a@x", "username": "Zoë \"z\""}),
            serde_json::json!({"external_id": "b", "email": null, "username": 7}),
            serde_json::json!({"external_id": "c", "username": ["x", "y"]}),
            serde_json::json!({"attributes": {"email": "nested@x"}, "external_id": "d"}),
            serde_json::json!({"email": "e@x", "external_id": "e", "username": "e"}),
            serde_json::json!({"email": "f@x", "external_id": "f", "username": "f"}),
        ];
        for tenant in ["placed", "parsed"] {
            let mut writer = StateWriter::new(&tx, tenant).unwrap();
            for record in &records {
                let record = record.as_object().unwrap();
                let (text, places) = field_places::to_json_with_places(record);
                let places = (tenant == "placed").then_some(places.as_slice());
                let key = record["external_id"].as_str().unwrap();
                writer.put(key, None, (&text, places), None, None).unwrap();
            }
            writer.finish().unwrap();
        }
        // `e` edited by hand to a text of the same length: its places no longer fit. So
        // with `f`, after its first field: its e-mail is found, its username's place not.
        tx.execute_batch(
            r#"UPDATE users SET record = '{"username":"e","email":"e@x","external_id":"e"}'
               WHERE tenant = 'placed' AND external_id = 'e';
               UPDATE users SET record = '{"email":"f@x","external_id":"ff","username":""}'
               WHERE external_id = 'f';"#,
        )
        .unwrap();
        let held = |tenant| {
            let indexes = indexes(&tx, tenant, &["email", "username"]).unwrap();
            let held: Vec<Vec<_>> = indexes
                .values
                .iter()
                .map(|values| {
                    let mut held: Vec<_> = (0..values.len())
                        .zip(values.values())
                        .map(|(slot, holder)| {
                            (values.key_at(slot), indexes.keys.key_at(*holder as usize))
                        })
                        .collect();
                    held.sort();
                    held
                })
                .collect();
            held
        };
        let placed = held("placed");
        assert_eq!(placed, held("parsed"));
        let emails: Vec<_> = ["a@x", "e@x", "f@x"]
            .iter()
            .map(|e| Hash128::of(e))
            .collect();
        let mut found: Vec<_> = placed[0].iter().map(|(value, _)| *value).collect();
        found.sort();
        let mut expected = emails.clone();
        expected.sort();
        assert_eq!(found, expected, "no null, no nested e-mail");
        assert_eq!(placed[1].len(), 5, "Zoë, 7, the list, e and the empty name");
        assert!(placed[1].iter().any(|(value, _)| *value == Hash128::of("")));
        assert!(placed[1]
            .iter()
            .any(|(value, _)| *value == Hash128::of("Zoë \"z\"")));
    }

    #[test]
    fn users_holding_one_value_name_the_same_value_slot() {
        let keys = keys();
        // `a` and `c` hold one e-mail, `b` another.
        let values = FrozenMap::new(vec![
            (Hash128::of("x@example"), slot_of(&keys, "a")),
            (Hash128::of("y@example"), slot_of(&keys, "b")),
            (Hash128::of("x@example"), slot_of(&keys, "c")),
        ]);
        let by_user = value_slots(&values, keys.len());
        let value_of = |key| by_user[slot_of(&keys, key) as usize];
        let x = values.slot(&Hash128::of("x@example")).unwrap() as u32;
        let y = values.slot(&Hash128::of("y@example")).unwrap() as u32;
        assert_eq!((value_of("a"), value_of("b"), value_of("c")), (x, y, x));
    }
}
