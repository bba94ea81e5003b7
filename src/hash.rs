//! Maps keyed by hashes roster has already computed (xxh3-128 of keys and values).
//!
//! The planner holds one entry per stored user and per input row in such maps, so entries
//! are kept small: a 128-bit hash is four 32-bit words (4-byte aligned, so a hash and a `u32`
//! take 20 bytes, where a `u128` would pad every entry to 32), and a key that is already a
//! uniform hash is not hashed a second time. Maps built once and only read ([`FrozenMap`])
//! have no empty slots at all.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use xxhash_rust::xxh3::xxh3_128;

/// A 128-bit hash, kept as four 32-bit words, lowest first. A million of them collide about
/// as often as never. Ordered by its low 64 bits first (what [`FrozenMap`] indexes by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hash128([u32; 4]);

impl Hash128 {
    /// The xxh3-128 hash of a text.
    pub fn of(text: &str) -> Hash128 {
        Hash128::from(xxh3_128(text.as_bytes()))
    }

    /// The low 64 bits: enough to tell whether a known pair matches (not to index by).
    pub fn short(self) -> u64 {
        u64::from(self.0[0]) | u64::from(self.0[1]) << 32
    }

    /// The high 64 bits.
    fn high(self) -> u64 {
        u64::from(self.0[2]) | u64::from(self.0[3]) << 32
    }

    /// The 16 bytes it is stored as.
    pub fn to_bytes(self) -> [u8; 16] {
        (u128::from(self.high()) << 64 | u128::from(self.short())).to_le_bytes()
    }

    /// The hash stored as `bytes`, when they are 16.
    pub fn from_bytes(bytes: &[u8]) -> Option<Hash128> {
        let bytes: [u8; 16] = bytes.try_into().ok()?;
        Some(Hash128::from(u128::from_le_bytes(bytes)))
    }
}

impl From<u128> for Hash128 {
    fn from(hash: u128) -> Hash128 {
        Hash128([0, 32, 64, 96].map(|shift| (hash >> shift) as u32))
    }
}

impl Ord for Hash128 {
    fn cmp(&self, other: &Hash128) -> Ordering {
        (self.short(), self.high()).cmp(&(other.short(), other.high()))
    }
}

impl PartialOrd for Hash128 {
    fn partial_cmp(&self, other: &Hash128) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Hash128 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.short());
    }
}

/// A hasher for keys that are uniform hashes already: it passes their first word through.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Hash128`; anything else is still mixed in (FNV-1a).
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Asks the CPU to bring the cache line holding `item` in, without waiting for it: a loop
/// that will read an entry of a large table a few steps later does not stall on it then.
/// A hint only (nothing off x86-64).
#[inline]
pub fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing the program sees and never faults; SSE, which
        // it needs, is part of every x86-64 CPU.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

/// A map from [`Hash128`] keys.
pub type HashedMap<V> = HashMap<Hash128, V, BuildHasherDefault<PassThrough>>;

/// A read-only map from [`Hash128`] keys, built once from all its entries: they sit sorted by
/// hash in one vector, with no empty slots (20 bytes an entry for a `u32` value, where a hash
/// table at its usual load needs about twice that), and a directory of where each run of
/// hashes with the same top bits starts finds a key in two memory reads.
pub struct FrozenMap<V> {
    entries: Vec<(Hash128, V)>,
    /// `starts[b]` is the first entry whose hash has `b` as its top bits; then the length.
    starts: Vec<u32>,
    /// 64 minus the number of top bits the directory is indexed by.
    shift: u32,
}

impl<V> FrozenMap<V> {
    /// The map of `entries`; a key given twice keeps both (see [`FrozenMap::get_all`]).
    pub fn new(mut entries: Vec<(Hash128, V)>) -> FrozenMap<V> {
        assert!(
            entries.len() < u32::MAX as usize,
            "a FrozenMap holds under 2^32 entries"
        );
        entries.sort_unstable_by_key(|(hash, _)| *hash);
        entries.shrink_to_fit();
        // About four entries to a directory slot: a directory of a byte per entry.
        let bits = (entries.len() / 4).max(2).ilog2().min(32);
        let shift = 64 - bits;
        let mut starts = Vec::with_capacity((1 << bits) + 1);
        let mut next = 0;
        for slot in 0..1u64 << bits {
            while next < entries.len() && entries[next].0.short() >> shift < slot {
                next += 1;
            }
            starts.push(next as u32);
        }
        starts.push(entries.len() as u32);
        FrozenMap {
            entries,
            starts,
            shift,
        }
    }

    /// Every value stored under `key`.
    pub fn get_all(&self, key: Hash128) -> impl Iterator<Item = &V> + '_ {
        let slot = (key.short() >> self.shift) as usize;
        let run = &self.entries[self.starts[slot] as usize..self.starts[slot + 1] as usize];
        run.iter()
            .filter(move |(hash, _)| *hash == key)
            .map(|(_, value)| value)
    }

    /// Every value stored under the key at `slot`, which must be the key's first entry (as
    /// [`FrozenMap::slot`] gives it): what [`FrozenMap::get_all`] finds, without the search.
    pub fn get_all_at(&self, slot: usize) -> impl Iterator<Item = &V> + '_ {
        let key = self.entries[slot].0;
        self.entries[slot..]
            .iter()
            .take_while(move |(hash, _)| *hash == key)
            .map(|(_, value)| value)
    }

    /// A value stored under `key`.
    pub fn get(&self, key: &Hash128) -> Option<&V> {
        self.get_all(*key).next()
    }

    /// Where `key`'s first entry sits, from 0 to [`FrozenMap::len`]: a place for what a
    /// caller keeps about a key in a vector of its own, at 8 bytes for a `u64`.
    pub fn slot(&self, key: &Hash128) -> Option<usize> {
        let slot = (key.short() >> self.shift) as usize;
        let start = self.starts[slot] as usize;
        let run = &self.entries[start..self.starts[slot + 1] as usize];
        run.iter()
            .position(|(hash, _)| hash == key)
            .map(|i| start + i)
    }

    /// Brings the entry at `slot` towards the CPU (see [`prefetch`]); a slot past the end
    /// is ignored.
    pub fn prefetch(&self, slot: usize) {
        if let Some(entry) = self.entries.get(slot) {
            prefetch(entry);
        }
    }

    /// The key at `slot` (see [`FrozenMap::slot`]).
    pub fn key_at(&self, slot: usize) -> Hash128 {
        self.entries[slot].0
    }

    /// The value at `slot` (see [`FrozenMap::slot`]).
    pub fn value_at(&self, slot: usize) -> &V {
        &self.entries[slot].1
    }

    /// The values in slot order, to change in place (see [`FrozenMap::slot`]).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.entries.iter_mut().map(|(_, value)| value)
    }

    /// The values in slot order (see [`FrozenMap::slot`]).
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.entries.iter().map(|(_, value)| value)
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_slot_below_the_length() {
        let keys: Vec<Hash128> = (0..1000).map(|i| Hash128::of(&format!("k{i}"))).collect();
        let mut entries: Vec<(Hash128, usize)> = keys.iter().copied().zip(0..).collect();
        entries.push((keys[7], 1000));
        let map = FrozenMap::new(entries);
        assert_eq!(map.len(), 1001);
        let mut slots: Vec<usize> = keys.iter().map(|k| map.slot(k).unwrap()).collect();
        assert!(slots.iter().all(|s| *s < map.len()));
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), keys.len(), "a key given twice has one slot");
        assert_eq!(map.slot(&Hash128::of("absent")), None);
    }

    #[test]
    fn a_hash_round_trips_through_its_bytes() {
        let hash = Hash128::of("U0000042");
        assert_eq!(Hash128::from_bytes(&hash.to_bytes()), Some(hash));
        assert_eq!(Hash128::from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn a_hash_keeps_its_128_bits_and_indexes_by_its_low_word() {
        let full = xxh3_128(b"u-1");
        let hash = Hash128::of("u-1");
        assert_eq!(hash, Hash128::from(full));
        assert_eq!(hash.short(), full as u64);
        assert_ne!(Hash128::of("u-1"), Hash128::of("u-2"));
        // Same low word, different high word: still different keys.
        assert_ne!(Hash128::from(1u128), Hash128::from(1u128 | (1 << 64)));

        let mut map = HashedMap::default();
        map.insert(Hash128::from(1u128), "a");
        map.insert(Hash128::from(1u128 | (1 << 64)), "b");
        assert_eq!(map.len(), 2);
        assert_eq!(map[&Hash128::from(1u128 | (1 << 64))], "b");
        assert_eq!(std::mem::size_of::<(Hash128, u64)>(), 24);
        assert_eq!(std::mem::size_of::<(Hash128, u32)>(), 20);
    }

    #[test]
    fn a_frozen_map_finds_every_key_it_was_given_and_no_other() {
        for n in [0usize, 1, 3, 12, 1000, 50_000] {
            let entries: Vec<(Hash128, usize)> =
                (0..n).map(|i| (Hash128::of(&format!("k{i}")), i)).collect();
            let map = FrozenMap::new(entries);
            for i in 0..n {
                assert_eq!(
                    map.get(&Hash128::of(&format!("k{i}"))),
                    Some(&i),
                    "n={n} i={i}"
                );
            }
            for i in n..n + 100 {
                assert_eq!(map.get(&Hash128::of(&format!("k{i}"))), None, "n={n} i={i}");
            }
        }
        // Keys at the edges of the hash space, and a key given twice.
        let edges = [
            0u128,
            1,
            u64::MAX as u128,
            u128::MAX,
            1 << 64,
            u128::MAX - 1,
        ];
        let mut entries: Vec<(Hash128, u32)> = edges
            .iter()
            .enumerate()
            .map(|(i, &h)| (Hash128::from(h), i as u32))
            .collect();
        entries.push((Hash128::from(u128::MAX), 99));
        let map = FrozenMap::new(entries);
        for (i, &h) in edges.iter().enumerate().filter(|(i, _)| *i != 3) {
            assert_eq!(map.get(&Hash128::from(h)), Some(&(i as u32)));
        }
        let mut both: Vec<u32> = map.get_all(Hash128::from(u128::MAX)).copied().collect();
        both.sort();
        assert_eq!(both, [3, 99]);
        assert_eq!(map.get(&Hash128::from(2u128)), None);
    }

    #[test]
    fn from_a_keys_slot_every_value_of_the_key_is_found_as_by_searching() {
        // Keys given up to four times, some in one directory run.
        let entries: Vec<(Hash128, usize)> = (0..2000)
            .map(|i| (Hash128::of(&format!("k{}", i % 700 + i % 3)), i))
            .collect();
        let map = FrozenMap::new(entries.clone());
        for (key, _) in &entries {
            let slot = map.slot(key).expect("every key has a slot");
            let mut at: Vec<usize> = map.get_all_at(slot).copied().collect();
            let mut searched: Vec<usize> = map.get_all(*key).copied().collect();
            at.sort();
            searched.sort();
            assert!(!at.is_empty());
            assert_eq!(at, searched);
        }
    }
}
