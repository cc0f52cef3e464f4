//! The keys this warm instance has found a webhook for. A call on such a key reads the webhook,
//! the member and any idempotency record in one concurrent round trip (an execution is then one
//! read round trip and one transaction); a key never found here is read alone first, so a call
//! to an unknown key costs exactly one read (docs/reference/security.md#refused-calls-are-cheap).
//! Only digests are kept, never a key; the set is bounded and starts over when full.

use std::collections::HashSet;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Most digests kept before the set starts over (32 bytes each: about 320 KiB).
const MAX_KEYS: usize = 10_000;

/// Digests of the incoming keys a webhook was found for.
#[derive(Default)]
pub(crate) struct KnownKeys(Mutex<HashSet<[u8; 32]>>);

impl std::fmt::Debug for KnownKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownKeys").finish_non_exhaustive()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl KnownKeys {
    pub fn contains(&self, key: &str) -> bool {
        self.0.lock().is_ok_and(|s| s.contains(&digest(key)))
    }

    /// Remembers a key a webhook was found for.
    pub fn insert(&self, key: &str) {
        if let Ok(mut s) = self.0.lock() {
            if s.len() >= MAX_KEYS {
                s.clear();
            }
            s.insert(digest(key));
        }
    }

    /// Forgets a key whose webhook is gone (deleted, or its key rotated).
    pub fn forget(&self, key: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(&digest(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let k = KnownKeys::default();
        assert!(!k.contains("a"));
        k.insert("a");
        assert!(k.contains("a"));
        k.forget("a");
        assert!(!k.contains("a"));
        for i in 0..MAX_KEYS + 1 {
            k.insert(&i.to_string());
        }
        assert!(k.0.lock().unwrap().len() <= MAX_KEYS);
        assert!(!format!("{k:?}").contains('['));
    }
}
