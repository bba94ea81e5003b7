//! `Unique` checks against earlier rows and stored users.

use crate::error::Result;
use crate::hash::{FrozenMap, Hash128};
use crate::model::position::Position;
use crate::model::record::unique_text;
use crate::model::user::{Field, User};
use crate::plan::seen::FirstSeen;
use crate::plan::stored::{StoredState, NO_SLOT};

/// `Unique` checks: the first row carrying a value keeps it; later rows and values held by
/// another stored user are errors.
pub(super) struct UniqueIndex {
    fields: Vec<Field>,
    /// Per field: the values rows carried.
    taken: Vec<FirstSeen>,
    /// Per field: value hash → the slot of the stored user holding it in the key index (see
    /// [`crate::plan::stored::Indexes`]).
    stored: Vec<FrozenMap<u32>>,
    /// Per field, by key slot: the slot of a fingerprinted user's value in `stored`.
    value_slots: Vec<Vec<u32>>,
}

impl UniqueIndex {
    /// Checks `fields`, whose stored values and fingerprinted users' value slots are
    /// `stored` and `value_slots` (in the same order; see [`crate::plan::stored::Indexes`]).
    /// The key is left to the duplicate-key check, which names the first row too.
    pub(super) fn new(
        fields: &[Field],
        stored: Vec<FrozenMap<u32>>,
        value_slots: Vec<Vec<u32>>,
    ) -> UniqueIndex {
        let mut index = UniqueIndex {
            fields: Vec::new(),
            taken: Vec::new(),
            stored: Vec::new(),
            value_slots: Vec::new(),
        };
        for ((field, stored), slots) in fields.iter().zip(stored).zip(value_slots) {
            if *field != Field::ExternalId {
                index.fields.push(*field);
                index.taken.push(FirstSeen::with_slots(stored.len()));
                index.stored.push(stored);
                index.value_slots.push(slots);
            }
        }
        index
    }

    /// The problems of a row's user: `(field, message)` for each value another row or stored
    /// user has; `own` is the slot of the row's key in `keys`, the stored users' key index
    /// (none for a new key).
    pub(super) fn check(
        &mut self,
        state: &dyn StoredState,
        keys: &FrozenMap<(u64, i64)>,
        user: &User,
        own: Option<usize>,
        position: &Position,
    ) -> Result<Vec<(Field, String)>> {
        let mut problems = Vec::new();
        for n in 0..self.fields.len() {
            let Some(value) = user.get(self.fields[n]).and_then(unique_text) else {
                continue;
            };
            let hash = Hash128::of(&value);
            let slot = self.stored[n].slot(&hash);
            if let Some(taken) = self.take(n, hash, slot, own, position) {
                let value = value.into_owned();
                problems.push((self.fields[n], self.describe(state, keys, n, taken, value)?));
            }
        }
        Ok(problems)
    }

    /// [`UniqueIndex::check`] for the stored user at `slot` of `keys`, by the hashes of its
    /// values; a value is read only to name it in a problem.
    pub(super) fn check_known(
        &mut self,
        state: &dyn StoredState,
        keys: &FrozenMap<(u64, i64)>,
        slot: usize,
        position: &Position,
    ) -> Result<Vec<(Field, String)>> {
        let mut problems = Vec::new();
        for n in 0..self.fields.len() {
            let value_slot = self.value_slots[n].get(slot).copied().unwrap_or(NO_SLOT);
            if value_slot == NO_SLOT {
                continue;
            }
            let value_slot = value_slot as usize;
            let hash = self.stored[n].key_at(value_slot);
            if let Some(taken) = self.take(n, hash, Some(value_slot), Some(slot), position) {
                let field = self.fields[n].name();
                let (_, rowid) = *keys.value_at(slot);
                let (_, record) = state.fields_at(rowid, &[field])?.unwrap_or_default();
                let value = record.get(field).and_then(unique_text);
                let value = value.unwrap_or_default().into_owned();
                problems.push((self.fields[n], self.describe(state, keys, n, taken, value)?));
            }
        }
        Ok(problems)
    }

    /// Brings what [`UniqueIndex::check_known`] reads first of the stored user at `slot`
    /// towards the CPU: where its values sit.
    pub(super) fn prefetch_slots(&self, slot: usize) {
        for slots in &self.value_slots {
            if let Some(value_slot) = slots.get(slot) {
                crate::hash::prefetch(value_slot);
            }
        }
    }

    /// Brings what [`UniqueIndex::check_known`] reads next of the stored user at `slot`
    /// towards the CPU: its values' entries and first places (after
    /// [`UniqueIndex::prefetch_slots`], so that where they sit is at hand).
    pub(super) fn prefetch_values(&self, slot: usize) {
        for n in 0..self.fields.len() {
            let value_slot = self.value_slots[n].get(slot).copied().unwrap_or(NO_SLOT);
            if value_slot != NO_SLOT {
                self.stored[n].prefetch(value_slot as usize);
                self.taken[n].prefetch(value_slot as usize);
            }
        }
    }

    /// Records the value of field `n` with `hash` (at `slot` in its stored index) for the row
    /// at `position`, and says who has it already, if anyone: an earlier row, or a stored user
    /// other than the one at `own` in the key index.
    fn take(
        &mut self,
        n: usize,
        hash: Hash128,
        slot: Option<usize>,
        own: Option<usize>,
        position: &Position,
    ) -> Option<Taken> {
        let others = |holder: &&u32| Some(**holder as usize) != own;
        let holder = match slot {
            Some(slot) => self.stored[n].get_all_at(slot).find(others),
            None => self.stored[n].get_all(hash).find(others),
        };
        match (self.taken[n].first(hash, slot, position), holder) {
            (Some(first), _) => Some(Taken::ByRow(first)),
            (None, Some(holder)) => Some(Taken::ByStoredUser(*holder as usize)),
            (None, None) => None,
        }
    }

    /// Why `value` of field `n` is not the row's to have.
    fn describe(
        &self,
        state: &dyn StoredState,
        keys: &FrozenMap<(u64, i64)>,
        n: usize,
        taken: Taken,
        value: String,
    ) -> Result<String> {
        let shown = match self.fields[n].is_secret() {
            true => crate::secret::MASK.to_string(),
            false => value,
        };
        Ok(match taken {
            Taken::ByRow(first) => format!("`{shown}` is already used by the row at {first}"),
            Taken::ByStoredUser(slot) => {
                let (_, rowid) = *keys.value_at(slot);
                let holder = state.key_at(rowid)?.unwrap_or_default();
                format!("`{shown}` is already held by stored user `{holder}`")
            }
        })
    }
}

/// Who has a `Unique` value already.
enum Taken {
    /// The row at this place.
    ByRow(String),
    /// The stored user at this slot of the key index.
    ByStoredUser(usize),
}
