//! Small in-memory caches bounded by the memory their values hold: the rendered HTML of page
//! texts and the comparisons of revisions, which many readers ask for and which cost much more
//! to make than to keep.
use std::{hash::Hash, sync::Mutex};

use lru::LruCache;

/// Least recently used entries leave first once the values weigh more than the budget.
pub struct Bounded<K: Hash + Eq, V: Clone> {
    inner: Mutex<Inner<K, V>>,
    budget: usize,
}

struct Inner<K: Hash + Eq, V> {
    entries: LruCache<K, (V, usize)>,
    weight: usize,
}

impl<K: Hash + Eq, V: Clone> Bounded<K, V> {
    /// A cache holding at most `budget` bytes (as weighed by the callers of `insert`).
    pub fn new(budget: usize) -> Self {
        Self { inner: Mutex::new(Inner { entries: LruCache::unbounded(), weight: 0 }), budget }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.get(key).map(|(v, _)| v.clone())
    }

    /// Keeps `value`, weighing `weight` bytes; a value heavier than the whole budget is not kept.
    pub fn insert(&self, key: K, value: V, weight: usize) {
        if weight > self.budget {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, old)) = inner.entries.put(key, (value, weight)) {
            inner.weight -= old;
        }
        inner.weight += weight;
        while inner.weight > self.budget {
            match inner.entries.pop_lru() {
                Some((_, (_, w))) => inner.weight -= w,
                None => break,
            }
        }
    }

    /// How many bytes the kept values weigh.
    pub fn weight(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).weight
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The SHA-256 of a text: cache keys by content, so a cached value can only be the one made
/// from that very text (never another page's, whatever ids are reused).
pub fn digest(text: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_leave_first_within_the_budget() {
        let cache: Bounded<u32, &str> = Bounded::new(10);
        cache.insert(1, "a", 4);
        cache.insert(2, "b", 4);
        assert_eq!(cache.get(&1), Some("a"));
        cache.insert(3, "c", 4);
        assert_eq!(cache.get(&2), None, "the least recently used left");
        assert_eq!(cache.get(&1), Some("a"));
        assert_eq!(cache.weight(), 8);
        cache.insert(4, "too heavy", 11);
        assert_eq!(cache.get(&4), None);
        assert_eq!(cache.len(), 2);
    }
}
