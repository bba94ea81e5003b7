//! Maps keyed by hashes roster has already computed (xxh3-128 of keys and values).
//!
//! The planner holds one entry per stored user and per input row in such maps, so entries
//! are kept small: a 128-bit hash is two words (8-byte aligned, where a `u128` would pad every
//! entry to 16), and a key that is already a uniform hash is not hashed a second time.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use xxhash_rust::xxh3::xxh3_128;

/// A 128-bit hash, kept as two words. A million of them collide about as often as never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hash128([u64; 2]);

impl Hash128 {
    /// The xxh3-128 hash of a text.
    pub fn of(text: &str) -> Hash128 {
        Hash128::from(xxh3_128(text.as_bytes()))
    }

    /// The low 64 bits: enough to tell whether a known pair matches (not to index by).
    pub fn short(self) -> u64 {
        self.0[0]
    }
}

impl From<u128> for Hash128 {
    fn from(hash: u128) -> Hash128 {
        Hash128([hash as u64, (hash >> 64) as u64])
    }
}

impl Hash for Hash128 {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
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

/// A map from [`Hash128`] keys.
pub type HashedMap<V> = HashMap<Hash128, V, BuildHasherDefault<PassThrough>>;

/// An empty [`HashedMap`] with room for `capacity` entries.
pub fn hashed_map<V>(capacity: usize) -> HashedMap<V> {
    HashedMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_keeps_its_128_bits_and_indexes_by_its_low_word() {
        let full = xxh3_128(b"u-1");
        let hash = Hash128::of("u-1");
        assert_eq!(hash, Hash128::from(full));
        assert_eq!(hash.short(), full as u64);
        assert_ne!(Hash128::of("u-1"), Hash128::of("u-2"));
        // Same low word, different high word: still different keys.
        assert_ne!(Hash128::from(1u128), Hash128::from(1u128 | (1 << 64)));

        let mut map = hashed_map(2);
        map.insert(Hash128::from(1u128), "a");
        map.insert(Hash128::from(1u128 | (1 << 64)), "b");
        assert_eq!(map.len(), 2);
        assert_eq!(map[&Hash128::from(1u128 | (1 << 64))], "b");
        assert_eq!(std::mem::size_of::<(Hash128, u64)>(), 24);
    }
}
