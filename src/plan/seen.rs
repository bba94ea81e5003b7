//! Where a text (a key, a `Unique` value) was first seen, in 4 bytes a text the state knows.

use std::sync::Arc;

use crate::hash::{prefetch, Hash128, HashedMap};
use crate::model::position::Position;

/// Texts (keys, unique values) by hash, with the place of the first row that carried each.
/// A place is a file number and a line packed in one word (see [`pack_place`]), not a
/// `Position` and a copy of the text. A text the state knows has a slot in its index (see
/// [`FrozenMap::slot`](crate::hash::FrozenMap::slot)), and its place sits at that slot in a
/// vector ([`Places`]): 4 bytes a text. Other texts are in a hash table, at about 40.
#[derive(Default)]
pub(super) struct FirstSeen {
    known: Places,
    first: HashedMap<u64>,
    files: Vec<Arc<str>>,
}

/// Bits of a packed place that hold the line: files up to 2^24, lines up to 2^40.
const LINE_BITS: u32 = 40;

/// Never 0, which [`FirstSeen`] reads as "not seen".
fn pack_place(file: usize, line: u64) -> u64 {
    ((file as u64) << LINE_BITS) | line.clamp(1, (1 << LINE_BITS) - 1)
}

/// The places of the texts with a slot, by slot, or 0. A place of the first 16 files and
/// below line 2^28 (every place of most plans) is kept in 32 bits; the first place that is
/// not turns them all to 64.
enum Places {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

/// Bits of a narrow place that hold the line.
const NARROW_LINE_BITS: u32 = 28;

impl Default for Places {
    fn default() -> Places {
        Places::Narrow(Vec::new())
    }
}

impl Places {
    /// The place at `slot`, packed as [`pack_place`] packs it.
    fn get(&self, slot: usize) -> u64 {
        match self {
            Places::Narrow(places) => widen(places[slot]),
            Places::Wide(places) => places[slot],
        }
    }

    fn set(&mut self, slot: usize, place: u64) {
        if let Places::Narrow(places) = self {
            match narrow(place) {
                Some(narrow) => return places[slot] = narrow,
                None => *self = Places::Wide(places.iter().map(|p| widen(*p)).collect()),
            }
        }
        if let Places::Wide(places) = self {
            places[slot] = place;
        }
    }

    fn prefetch(&self, slot: usize) {
        match self {
            Places::Narrow(places) => places.get(slot).into_iter().for_each(prefetch),
            Places::Wide(places) => places.get(slot).into_iter().for_each(prefetch),
        }
    }
}

/// A packed place in 32 bits, when it fits.
fn narrow(place: u64) -> Option<u32> {
    let (file, line) = (place >> LINE_BITS, place & ((1 << LINE_BITS) - 1));
    (file < 1 << (32 - NARROW_LINE_BITS) && line < 1 << NARROW_LINE_BITS)
        .then_some((file << NARROW_LINE_BITS | line) as u32)
}

/// A place kept in 32 bits, packed as [`pack_place`] packs it (0 stays 0).
fn widen(narrow: u32) -> u64 {
    let narrow = u64::from(narrow);
    (narrow >> NARROW_LINE_BITS) << LINE_BITS | (narrow & ((1 << NARROW_LINE_BITS) - 1))
}

impl FirstSeen {
    /// For texts of which `slots` have a slot in an index.
    pub(super) fn with_slots(slots: usize) -> FirstSeen {
        FirstSeen {
            known: Places::Narrow(vec![0; slots]),
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
            Some(slot) => Some(self.known.get(slot)).filter(|place| *place != 0),
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
            Some(slot) => self.known.set(slot, place),
            None => {
                self.first.insert(hash, place);
            }
        }
        None
    }

    /// Brings the place of the text at `slot` towards the CPU (see [`prefetch`]).
    pub(super) fn prefetch(&self, slot: usize) {
        self.known.prefetch(slot);
    }

    /// Whether a row carried the text at `slot` in the index.
    pub(super) fn contains_slot(&self, slot: usize) -> bool {
        self.known.get(slot) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, line: u64) -> Position {
        Position {
            file: Arc::from(file),
            line,
            index: 0,
        }
    }

    #[test]
    fn a_place_too_far_for_32_bits_keeps_every_place_before_it() {
        let mut seen = FirstSeen::with_slots(3);
        let hash = Hash128::of("unused: the texts below have slots");
        assert_eq!(seen.first(hash, Some(0), &at("a.csv", 7)), None);
        assert_eq!(seen.first(hash, Some(1), &at("a.csv", 1 << 30)), None);
        assert!(matches!(seen.known, Places::Wide(_)));
        assert_eq!(
            seen.first(hash, Some(0), &at("b.csv", 2)),
            Some("a.csv:7".into())
        );
        let far = format!("a.csv:{}", 1u64 << 30);
        assert_eq!(seen.first(hash, Some(1), &at("b.csv", 3)), Some(far));
        assert!(!seen.contains_slot(2));
    }

    #[test]
    fn places_of_the_first_files_stay_narrow() {
        let mut seen = FirstSeen::with_slots(20);
        for file in 0..16 {
            let position = at(&format!("f{file}.csv"), (1 << NARROW_LINE_BITS) - 1);
            assert_eq!(seen.first(Hash128::of("x"), Some(file), &position), None);
        }
        assert!(matches!(seen.known, Places::Narrow(_)));
        let last = format!("f15.csv:{}", (1u64 << NARROW_LINE_BITS) - 1);
        assert_eq!(
            seen.first(Hash128::of("x"), Some(15), &at("g.csv", 1)),
            Some(last)
        );
        seen.first(Hash128::of("x"), Some(16), &at("f16.csv", 1));
        assert!(matches!(seen.known, Places::Wide(_)));
    }
}
