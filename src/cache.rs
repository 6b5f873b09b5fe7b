//! In-memory caches with bounded staleness. Nothing here is needed for correctness: every
//! entry expires after its TTL (so writes on other instances and scheduled articles going
//! live show within it), and this instance's own writes drop everything at once by bumping
//! the shared generation.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bumped by every content write on this instance.
#[derive(Debug, Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

struct Stamped<V> {
    value: V,
    stored: Instant,
    generation: u64,
}

/// A bounded map whose entries expire after `ttl` or at the next write.
#[derive(Clone)]
pub struct TtlCache<K: Eq + Hash, V> {
    entries: Option<Arc<quick_cache::sync::Cache<K, Arc<Stamped<V>>>>>,
    ttl: Duration,
    generation: Generation,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A zero `capacity` or `ttl` makes a cache that never holds anything.
    pub fn new(capacity: usize, ttl: Duration, generation: Generation) -> Self {
        let entries = (capacity > 0 && !ttl.is_zero())
            .then(|| Arc::new(quick_cache::sync::Cache::new(capacity)));
        Self {
            entries,
            ttl,
            generation,
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entry = self.entries.as_ref()?.get(key)?;
        let fresh =
            entry.stored.elapsed() < self.ttl && entry.generation == self.generation.current();
        fresh.then(|| entry.value.clone())
    }

    /// Stores a value computed when the generation was `generation`: if a write happened
    /// meanwhile, the entry is already stale and will not be served.
    pub fn insert(&self, key: K, value: V, generation: u64) {
        if let Some(entries) = &self.entries {
            entries.insert(
                key,
                Arc::new(Stamped {
                    value,
                    stored: Instant::now(),
                    generation,
                }),
            );
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.current()
    }
}

/// Totals of article lists by filter, shared by every page and cursor of that filter, so
/// paging through a list counts it once per TTL instead of once per page.
pub type CountCache = TtlCache<String, i64>;
