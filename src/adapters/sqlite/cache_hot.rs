//! The cache adapter's in-memory read layer: recently read entries, kept coherent with `cache.db` by invalidation.
//!
//! Writers change the database first and then invalidate (`forget`), which bumps the shard's version. A reader that
//! missed notes the version before reading the database and only remembers what it read if no write to that shard
//! finished meanwhile, so a stale value can never be put back after a write.

use crate::ports::CacheValue;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

const SHARDS: usize = 16;
/// Entries kept per shard; a full shard is emptied before it takes more.
const PER_SHARD: usize = 8_192;

#[derive(Clone)]
struct Entry {
    value: Arc<CacheValue>,
    expires_ms: Option<i64>,
}

#[derive(Default)]
struct Shard {
    version: u64,
    entries: HashMap<String, Entry>,
}

/// What a reader must hand back to `remember` after reading the database.
#[derive(Debug)]
pub struct Ticket {
    shard: usize,
    version: u64,
}

pub struct HotEntries {
    shards: Vec<Mutex<Shard>>,
}

/// The map key of a tenant's store entry (NUL cannot occur in any of the three parts).
pub fn entry_key(host: &str, store: &str, key: &str) -> String {
    let mut k = String::with_capacity(host.len() + store.len() + key.len() + 2);
    k.push_str(host);
    k.push('\0');
    k.push_str(store);
    k.push('\0');
    k.push_str(key);
    k
}

impl Default for HotEntries {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

impl HotEntries {
    fn shard_of(key: &str) -> usize {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() as usize) % SHARDS
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A live remembered value, or a ticket to read the database with.
    pub fn lookup(&self, key: &str, now_ms: i64) -> Result<Arc<CacheValue>, Ticket> {
        let i = Self::shard_of(key);
        let shard = self.lock(i);
        match shard.entries.get(key) {
            Some(e) if e.expires_ms.is_none_or(|at| at > now_ms) => Ok(e.value.clone()),
            _ => Err(Ticket {
                shard: i,
                version: shard.version,
            }),
        }
    }

    /// Remembers what the database gave for `key`, unless a write to its shard finished since the ticket.
    pub fn remember(
        &self,
        ticket: Ticket,
        key: String,
        value: Arc<CacheValue>,
        expires_ms: Option<i64>,
    ) {
        let mut shard = self.lock(ticket.shard);
        if shard.version != ticket.version {
            return;
        }
        if shard.entries.len() >= PER_SHARD {
            shard.entries.clear();
        }
        shard.entries.insert(key, Entry { value, expires_ms });
    }

    /// Drops `key` after a write to it.
    pub fn forget(&self, key: &str) {
        let mut shard = self.lock(Self::shard_of(key));
        shard.version += 1;
        shard.entries.remove(key);
    }

    /// Drops every entry whose key starts with `prefix` (a whole store, after it is deleted).
    pub fn forget_prefix(&self, prefix: &str) {
        for i in 0..SHARDS {
            let mut shard = self.lock(i);
            shard.version += 1;
            shard.entries.retain(|k, _| !k.starts_with(prefix));
        }
    }

    /// Drops expired entries (the background purge calls this).
    pub fn purge(&self, now_ms: i64) {
        for i in 0..SHARDS {
            self.lock(i)
                .entries
                .retain(|_, e| e.expires_ms.is_none_or(|at| at > now_ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: i64) -> Arc<CacheValue> {
        let mut m = CacheValue::new();
        m.insert("n".into(), n.into());
        Arc::new(m)
    }

    #[test]
    fn a_write_during_a_read_keeps_the_stale_value_out() {
        let hot = HotEntries::default();
        let k = entry_key("t", "s", "k");
        let ticket = hot.lookup(&k, 0).unwrap_err();
        hot.forget(&k); // a write finished while the reader was at the database
        hot.remember(ticket, k.clone(), v(1), None);
        assert!(hot.lookup(&k, 0).is_err());
        let ticket = hot.lookup(&k, 0).unwrap_err();
        hot.remember(ticket, k.clone(), v(2), None);
        assert_eq!(hot.lookup(&k, 0).unwrap(), v(2));
    }

    #[test]
    fn expired_and_forgotten_entries_are_misses() {
        let hot = HotEntries::default();
        let k = entry_key("t", "s", "k");
        let ticket = hot.lookup(&k, 0).unwrap_err();
        hot.remember(ticket, k.clone(), v(1), Some(100));
        assert!(hot.lookup(&k, 99).is_ok());
        assert!(hot.lookup(&k, 100).is_err());
        hot.purge(100);
        let ticket = hot.lookup(&k, 0).unwrap_err();
        hot.remember(ticket, k.clone(), v(1), None);
        hot.forget_prefix(&entry_key("t", "s", ""));
        assert!(hot.lookup(&k, 0).is_err());
    }
}
