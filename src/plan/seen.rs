//! Where a text (a key, a `Unique` value) was first seen, in 8 bytes a text.

use std::sync::Arc;

use crate::hash::{Hash128, HashedMap};
use crate::model::position::Position;

/// Texts (keys, unique values) by hash, with the place of the first row that carried each.
/// A place is a file number and a line packed in 8 bytes (see [`pack_place`]), not a
/// `Position` and a copy of the text. A text the state knows has a slot in its index (see
/// [`FrozenMap::slot`]), and its place sits at that slot in a vector: 8 bytes a text. Other
/// texts are in a hash table, at about 40.
#[derive(Default)]
pub(super) struct FirstSeen {
    /// By slot: the place, or 0 (no place is 0: lines start at 1).
    known: Vec<u64>,
    first: HashedMap<u64>,
    files: Vec<Arc<str>>,
}

/// Bits of a packed place that hold the line: files up to 2^24, lines up to 2^40.
const LINE_BITS: u32 = 40;

/// Never 0, which [`FirstSeen`] reads as "not seen".
fn pack_place(file: usize, line: u64) -> u64 {
    ((file as u64) << LINE_BITS) | line.clamp(1, (1 << LINE_BITS) - 1)
}

impl FirstSeen {
    /// For texts of which `slots` have a slot in an index.
    pub(super) fn with_slots(slots: usize) -> FirstSeen {
        FirstSeen {
            known: vec![0; slots],
            ..FirstSeen::default()
        }
    }

    /// The place of the first row that carried the text of `hash` (at `slot` in the index
    /// when it has one), or `None` (and `position` is recorded).
    pub(super) fn first(
        &mut self,
        hash: Hash128,
        slot: Option<usize>,
        position: &Position,
    ) -> Option<String> {
        let seen = match slot {
            Some(slot) => Some(self.known[slot]).filter(|place| *place != 0),
            None => self.first.get(&hash).copied(),
        };
        if let Some(place) = seen {
            let (file, line) = (place >> LINE_BITS, place & ((1 << LINE_BITS) - 1));
            return Some(format!("{}:{line}", self.files[file as usize]));
        }
        if self.files.last() != Some(&position.file) {
            self.files.push(position.file.clone());
        }
        let place = pack_place(self.files.len() - 1, position.line);
        match slot {
            Some(slot) => self.known[slot] = place,
            None => {
                self.first.insert(hash, place);
            }
        }
        None
    }

    /// Brings the place of the text at `slot` towards the CPU (see [`crate::hash::prefetch`]).
    pub(super) fn prefetch(&self, slot: usize) {
        if let Some(place) = self.known.get(slot) {
            crate::hash::prefetch(place);
        }
    }

    /// Whether a row carried the text at `slot` in the index.
    pub(super) fn contains_slot(&self, slot: usize) -> bool {
        self.known[slot] != 0
    }
}
