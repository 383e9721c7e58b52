//! Rows read often and changed rarely, kept in memory for a short while.
//!
//! Every activity from another server names its actor, and verifying its
//! signature needs that actor's stored copy (its key); each one sent to a
//! group's inbox names the group. A busy group hears from the same few
//! dozen people many times a second, so reading the same rows for each
//! activity was two statements in fourteen on the inbox path.
//!
//! What is kept here is never the last word on a rule:
//!
//! - **Actors of other servers** change only through
//!   [`crate::App::remember_actor`], which replaces the entry as it writes.
//!   Another process sharing the database may refresh an actor meanwhile
//!   (PostgreSQL); this process then serves its older copy for at most
//!   [`FRESH_FOR`]: its name or inbox may lag that long. What trust rests
//!   on is the key, and there an older copy fails safe: a signature made
//!   with a rotated key does not verify against it, and the inbox then
//!   fetches the actor again from its own server.
//! - **Group names** answer only whether a group's inbox exists. What an
//!   activity may do in the group is decided by the commands, which read
//!   the group in their own transaction.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a value read from the database is served without reading it
/// again.
pub const FRESH_FOR: Duration = Duration::from_secs(60);

/// How many values one cache keeps. Past the bound, values older than
/// [`FRESH_FOR`] are dropped first, then an arbitrary one.
const KEPT: usize = 4096;

/// Values by key, each served for [`FRESH_FOR`] after it was put.
pub(crate) struct Recent<V> {
    values: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V> Default for Recent<V> {
    fn default() -> Self {
        Self {
            values: Mutex::default(),
        }
    }
}

impl<V> std::fmt::Debug for Recent<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent")
            .field(
                "values",
                &self.values.lock().map(|v| v.len()).unwrap_or_default(),
            )
            .finish()
    }
}

impl<V: Clone> Recent<V> {
    /// The value of `key` put less than [`FRESH_FOR`] ago.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    fn get_at(&self, key: &str, now: Instant) -> Option<V> {
        self.lock()
            .get(key)
            .filter(|(_, kept)| now.saturating_duration_since(*kept) < FRESH_FOR)
            .map(|(value, _)| value.clone())
    }

    /// Keep `value` as just read from (or written to) the database.
    pub(crate) fn put(&self, key: &str, value: V) {
        self.put_at(key, value, Instant::now());
    }

    fn put_at(&self, key: &str, value: V, now: Instant) {
        let mut values = self.lock();
        if values.len() >= KEPT && !values.contains_key(key) {
            values.retain(|_, (_, kept)| now.saturating_duration_since(*kept) < FRESH_FOR);
            if values.len() >= KEPT
                && let Some(evicted) = values.keys().next().cloned()
            {
                values.remove(&evicted);
            }
        }
        values.insert(key.to_owned(), (value, now));
    }

    /// Forget `key`: what the database holds has changed.
    pub(crate) fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    /// The map, even if a thread panicked holding it: values are only
    /// ever inserted whole.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, (V, Instant)>> {
        self.values.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_served_only_while_fresh() {
        let cache = Recent::default();
        let start = Instant::now();
        cache.put_at("actor", "old key", start);
        assert_eq!(
            cache.get_at("actor", start + Duration::from_secs(59)),
            Some("old key")
        );
        assert_eq!(cache.get_at("actor", start + FRESH_FOR), None);
        assert_eq!(cache.get_at("another", start), None);
    }

    #[test]
    fn a_write_replaces_the_value() {
        let cache = Recent::default();
        let start = Instant::now();
        cache.put_at("actor", "old key", start);
        cache.put_at("actor", "rotated key", start);
        assert_eq!(cache.get_at("actor", start), Some("rotated key"));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = Recent::default();
        let start = Instant::now();
        for n in 0..KEPT {
            cache.put_at(&n.to_string(), n, start);
        }
        let later = start + FRESH_FOR;
        cache.put_at("new", 0, later);
        // Every stale value went to make room.
        assert_eq!(cache.lock().len(), 1);
        for n in 0..=KEPT {
            cache.put_at(&format!("later {n}"), n, later);
        }
        assert_eq!(cache.lock().len(), KEPT);
    }
}
