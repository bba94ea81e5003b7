//! Passwords: kept only as salted SHA-256 hashes, enough to tell that a password changed.
//!
//! A stored password looks like `$sha256$<salt hex>$<hash hex>`. The plain text never reaches
//! the state, the history, a table or a log; see docs/safety.md.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every output shows instead of a password.
pub const MASK: &str = "(sensitive)";

const PREFIX: &str = "$sha256$";

/// Hashes a password with a fresh random salt.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the operating system's random source is available");
    hash_with_salt(password, &salt)
}

fn hash_with_salt(password: &str, salt: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(password.as_bytes());
    format!(
        "{PREFIX}{}${}",
        hex::encode(salt),
        hex::encode(hasher.finalize())
    )
}

/// Whether `password` is the one behind `stored` (a hash made by [`hash`]).
pub fn matches(stored: &str, password: &str) -> bool {
    let Some((salt, _)) = stored
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('$'))
    else {
        return false;
    };
    match hex::decode(salt) {
        // Compared in constant time, so the time taken says nothing about the stored hash.
        Ok(salt) => bool::from(
            hash_with_salt(password, &salt)
                .as_bytes()
                .ct_eq(stored.as_bytes()),
        ),
        Err(_) => false,
    }
}

/// Whether a stored value is a password hash (and not, by mistake, plain text).
pub fn is_hash(value: &str) -> bool {
    value.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_its_password_only() {
        let stored = hash("s3cret!");
        assert!(is_hash(&stored));
        assert!(!stored.contains("s3cret!"));
        assert!(matches(&stored, "s3cret!"));
        assert!(!matches(&stored, "s3cret"));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(hash("pw"), hash("pw"));
    }
}
