//! The key-value store: string keys to string values, each with an optional deadline.
//!
//! ```text
//!  key ──fx hash──▶ one of SHARDS shards, each a std Mutex over
//!                     map:      key → Entry { value, expires_at }
//!                     expiries: (deadline, key), ordered: the active expiry pops its front
//! ```
//!
//! Critical sections are short (one hash lookup and a copy) and never cross an `.await`, so a
//! blocking `std::sync::Mutex` is the right lock, as in tokio's mini-redis; sharding keeps
//! threads off each other's locks. An expired key is removed when it is next touched (lazy
//! expiry) or by [`Db::purge_expired`], which the server calls from a timer (active expiry), so
//! keys nobody reads again still free their memory.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Number of shards (a power of two).
pub const SHARDS: usize = 64;

/// How many expired keys one shard drops per lock hold in [`Db::purge_expired`]: the lock is
/// released between batches so clients are not held up behind a mass expiry.
const PURGE_BATCH: usize = 256;

/// A stored value.
pub struct Entry {
    /// The bytes.
    pub value: Vec<u8>,
    /// When the key stops existing, if ever.
    pub expires_at: Option<Instant>,
}

/// One shard: the map and the index of its deadlines.
#[derive(Default)]
pub struct Shard {
    map: HashMap<Vec<u8>, Entry>,
    expiries: BTreeSet<(Instant, Vec<u8>)>,
}

/// The whole store.
pub struct Db {
    shards: Box<[Mutex<Shard>]>,
}

impl Default for Db {
    fn default() -> Self {
        Db { shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect() }
    }
}

/// FxHash over the key's bytes: cheap, and only used to pick a shard (the maps hash with
/// std's keyed SipHash, so a client cannot flood one bucket).
pub fn shard_index(key: &[u8]) -> usize {
    let mut hash: u64 = 0;
    for chunk in key.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word))
            .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    (hash >> 32) as usize & (SHARDS - 1)
}

impl Db {
    /// Locks the shard that holds `key`.
    pub fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        self.lock(shard_index(key))
    }

    /// Locks shard `i`. A panic while a shard was locked cannot leave it half-updated (every
    /// update is one map operation), so a poisoned lock is taken over.
    pub fn lock(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the shards of all `keys` in index order (so two callers cannot deadlock), for
    /// commands that touch several keys at once (MSET, MGET): returns the guards by index.
    pub fn lock_many<'a>(
        &self,
        keys: impl Iterator<Item = &'a [u8]>,
    ) -> Vec<(usize, MutexGuard<'_, Shard>)> {
        let mut wanted = [false; SHARDS];
        for key in keys {
            wanted[shard_index(key)] = true;
        }
        (0..SHARDS).filter(|&i| wanted[i]).map(|i| (i, self.lock(i))).collect()
    }

    /// Number of keys, counting expired keys not yet removed (as redis's DBSIZE does), and
    /// how many of them have a deadline.
    pub fn len(&self) -> (usize, usize) {
        (0..SHARDS).fold((0, 0), |(keys, expires), i| {
            let shard = self.lock(i);
            (keys + shard.map.len(), expires + shard.expiries.len())
        })
    }

    /// Removes every key.
    pub fn clear(&self) {
        for i in 0..SHARDS {
            // Drop the old maps after unlocking: freeing a large map takes a while.
            let old = std::mem::take(&mut *self.lock(i));
            drop(old);
        }
    }

    /// Removes the keys whose deadline has passed (active expiry); returns how many.
    pub fn purge_expired(&self, now: Instant) -> usize {
        let mut purged = 0;
        for i in 0..SHARDS {
            loop {
                let mut shard = self.lock(i);
                let n = shard.purge(now, PURGE_BATCH);
                purged += n;
                if n < PURGE_BATCH {
                    break;
                }
            }
        }
        purged
    }

    /// Calls `f` with every live key (for KEYS), one shard locked at a time.
    pub fn for_each_key(&self, mut f: impl FnMut(&[u8])) {
        for i in 0..SHARDS {
            let shard = self.lock(i);
            let now = Instant::now();
            for (key, entry) in &shard.map {
                if !entry.expires_at.is_some_and(|at| at <= now) {
                    f(key);
                }
            }
        }
    }
}

impl Shard {
    /// The live entry of `key`; an expired one is removed first (lazy expiry). `Instant::now`
    /// is only read for keys that have a deadline.
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let expired = match self.map.get(key)?.expires_at {
            Some(at) => at <= Instant::now(),
            None => false,
        };
        if expired {
            self.remove(key);
            return None;
        }
        self.map.get_mut(key)
    }

    /// Sets `key` to `value`; `expires_at: None` with `keep_ttl` keeps the old deadline, else
    /// the deadline becomes `expires_at`. An existing value's buffer is reused.
    pub fn set(&mut self, key: &[u8], value: &[u8], expires_at: Option<Instant>, keep_ttl: bool) {
        let deadline =
            if keep_ttl { self.get(key).and_then(|entry| entry.expires_at) } else { expires_at };
        match self.map.get_mut(key) {
            Some(entry) => {
                entry.value.clear();
                entry.value.extend_from_slice(value);
                let old = std::mem::replace(&mut entry.expires_at, deadline);
                if old != deadline {
                    if let Some(old) = old {
                        self.expiries.remove(&(old, key.to_vec()));
                    }
                    if let Some(new) = deadline {
                        self.expiries.insert((new, key.to_vec()));
                    }
                }
            }
            None => {
                self.map
                    .insert(key.to_vec(), Entry { value: value.to_vec(), expires_at: deadline });
                if let Some(at) = deadline {
                    self.expiries.insert((at, key.to_vec()));
                }
            }
        }
    }

    /// Changes the deadline of an existing live key; false if there is none.
    pub fn set_expiry(&mut self, key: &[u8], expires_at: Option<Instant>) -> bool {
        let Some(entry) = self.get(key) else { return false };
        let old = std::mem::replace(&mut entry.expires_at, expires_at);
        if let Some(old) = old {
            self.expiries.remove(&(old, key.to_vec()));
        }
        if let Some(new) = expires_at {
            self.expiries.insert((new, key.to_vec()));
        }
        true
    }

    /// Removes `key`; true if it existed (and had not expired).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        match self.map.remove(key) {
            Some(entry) => match entry.expires_at {
                Some(at) => {
                    self.expiries.remove(&(at, key.to_vec()));
                    at > Instant::now()
                }
                None => true,
            },
            None => false,
        }
    }

    /// Removes up to `max` keys whose deadline is at or before `now`.
    fn purge(&mut self, now: Instant, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            match self.expiries.first() {
                Some((at, _)) if *at <= now => {}
                _ => break,
            }
            if let Some((_, key)) = self.expiries.pop_first() {
                self.map.remove(&key);
                n += 1;
            }
        }
        n
    }
}
