//! Where the stored users come from: the seam between planning and the workspace. `store`
//! implements [`StoredState`] over a tenant's users; a check plans against [`NothingStored`].

use crate::error::Result;
use crate::hash::{FrozenMap, Hash128};
use crate::model::record::{Record, StoredUser};

/// The stored users a plan is made against.
pub trait StoredState {
    /// The [`Indexes`] of the users, with the values of `fields`.
    fn indexes(&self, fields: &[&str]) -> Result<Indexes>;

    /// The user with `key`, if any.
    fn get(&self, key: &str) -> Result<Option<StoredUser>>;

    /// The user at `rowid` (one of [`Indexes`]), read without a lookup by key.
    fn user_at(&self, rowid: i64) -> Result<Option<StoredUser>>;

    /// The key of the user at `rowid`.
    fn key_at(&self, rowid: i64) -> Result<Option<String>>;

    /// The key and the `fields` of the user at `rowid` (only those fields are read).
    fn fields_at(&self, rowid: i64, fields: &[&str]) -> Result<Option<(String, Record)>>;

    /// The remembered rejections of rows the rules rejected on their own, as JSON texts by
    /// fingerprint (see [`crate::plan::rejection`]).
    fn rejections(&self) -> Result<Vec<(Hash128, Box<str>)>>;
}

/// No stored user: what `rules check --data` plans against.
pub struct NothingStored;

impl StoredState for NothingStored {
    fn indexes(&self, fields: &[&str]) -> Result<Indexes> {
        Ok(Indexes {
            keys: FrozenMap::new(Vec::new()),
            fingerprints: FrozenMap::new(Vec::new()),
            values: fields.iter().map(|_| FrozenMap::new(Vec::new())).collect(),
            value_slots: fields.iter().map(|_| Vec::new()).collect(),
        })
    }

    fn get(&self, _key: &str) -> Result<Option<StoredUser>> {
        Ok(None)
    }

    fn user_at(&self, _rowid: i64) -> Result<Option<StoredUser>> {
        Ok(None)
    }

    fn key_at(&self, _rowid: i64) -> Result<Option<String>> {
        Ok(None)
    }

    fn fields_at(&self, _rowid: i64, _fields: &[&str]) -> Result<Option<(String, Record)>> {
        Ok(None)
    }

    fn rejections(&self) -> Result<Vec<(Hash128, Box<str>)>> {
        Ok(Vec::new())
    }
}

/// What a plan needs to know of the stored users, read in one pass over them. No key text is
/// held: a million of them would cost tens of megabytes; a rowid finds one
/// ([`StoredState::key_at`]).
pub struct Indexes {
    /// Every key by [`Hash128`], with the low word of its record hash
    /// (enough to tell an unchanged user: a changed one matches it once in 2^64) and its
    /// rowid.
    pub keys: FrozenMap<(u64, i64)>,
    /// The source-row fingerprints of the users that have one, with their slots in `keys`:
    /// a row with one of these fingerprints makes exactly that user's record.
    pub fingerprints: FrozenMap<u32>,
    /// For each field asked for: the stored values
    /// ([`unique_text`](crate::model::record::unique_text)) by hash, each with its holder's
    /// slot in `keys`.
    pub values: Vec<FrozenMap<u32>>,
    /// For each field asked for, by the slot of a user with a fingerprint in `keys`: the slot
    /// of its value in `values` ([`NO_SLOT`] for none), so a row recognised by its
    /// fingerprint is checked without reading the user.
    pub value_slots: Vec<Vec<u32>>,
}

/// No slot (see [`Indexes::value_slots`]).
pub const NO_SLOT: u32 = u32::MAX;
