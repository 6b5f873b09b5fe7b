//! In-memory caches with bounded staleness. Nothing here is needed for correctness:
//!
//! - an entry is fresh for its TTL, longer for values that are slow to compute (about
//!   `COST_FACTOR` times what it took, up to `MAX_TTLS` TTLs), so recomputing a heavy list
//!   total takes a small share of the machine; for up to `GRACE` TTLs more it is served
//!   stale while one caller refreshes it, so an expiry costs one request, not a stampede;
//! - a key that is missing is computed by one caller while the others wait for its result;
//! - every write makes every entry unusable at once (the shared generation): this
//!   instance's own right after its commit, so a writer reads their write; other instances'
//!   when their announcement arrives (`jobs::listener`, PostgreSQL); scheduled articles
//!   going live when the jobs runner counts them (`jobs`).

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::GuardResult;

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

/// How many TTLs past expiry an entry may still be served while it is being refreshed.
const GRACE: u32 = 10;
/// A value is kept at least this many times as long as it took to compute...
const COST_FACTOR: u32 = 20;
/// ...but never more than this many TTLs.
const MAX_TTLS: u32 = 30;

struct Stamped<V> {
    value: V,
    stored: Instant,
    ttl: Duration,
    generation: u64,
    refreshing: AtomicBool,
}

enum Freshness {
    Fresh,
    Stale,
    Unusable,
}

/// A bounded map of values that expire; see the module documentation.
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

    fn freshness(&self, entry: &Stamped<V>) -> Freshness {
        let age = entry.stored.elapsed();
        if entry.generation != self.generation.current() || age >= entry.ttl + self.ttl * GRACE {
            Freshness::Unusable
        } else if age < entry.ttl {
            Freshness::Fresh
        } else {
            Freshness::Stale
        }
    }

    /// Stamps a value computed since `started`, when the generation was `generation`.
    fn stamp(&self, value: V, generation: u64, started: Instant) -> Arc<Stamped<V>> {
        let ttl = (started.elapsed() * COST_FACTOR).clamp(self.ttl, self.ttl * MAX_TTLS);
        Arc::new(Stamped {
            value,
            stored: Instant::now(),
            ttl,
            generation,
            refreshing: AtomicBool::new(false),
        })
    }

    /// What a lookup found: a value to serve, or that this caller must compute.
    fn lookup(&self, entries: &quick_cache::sync::Cache<K, Arc<Stamped<V>>>, key: &K) -> Option<V> {
        let entry = entries.get(key)?;
        match self.freshness(&entry) {
            Freshness::Fresh => Some(entry.value.clone()),
            // Someone else is refreshing it: serve the stale copy meanwhile.
            Freshness::Stale if entry.refreshing.swap(true, Ordering::AcqRel) => {
                Some(entry.value.clone())
            }
            Freshness::Stale => None,
            Freshness::Unusable => {
                entries.remove(key);
                None
            }
        }
    }

    /// The cached value for `key`, or the result of `compute`, which is then cached.
    pub async fn get_or_compute<E, Fut>(
        &self,
        key: K,
        compute: impl FnOnce() -> Fut,
    ) -> Result<V, E>
    where
        Fut: Future<Output = Result<V, E>>,
    {
        let Some(entries) = &self.entries else {
            return compute().await;
        };
        // Read before computing: a write that lands meanwhile makes the result stale at once.
        let generation = self.generation.current();
        let started = Instant::now();
        if let Some(value) = self.lookup(entries, &key) {
            return Ok(value);
        }
        if entries.peek(&key).is_some() {
            // A stale entry this caller refreshes; the others keep being served it.
            let value = compute().await?;
            entries.insert(key, self.stamp(value.clone(), generation, started));
            return Ok(value);
        }
        match entries.get_value_or_guard_async(&key).await {
            Ok(entry) => match self.freshness(&entry) {
                Freshness::Fresh | Freshness::Stale => Ok(entry.value.clone()),
                Freshness::Unusable => compute().await,
            },
            Err(guard) => {
                let value = compute().await?;
                let _already_filled = guard.insert(self.stamp(value.clone(), generation, started));
                Ok(value)
            }
        }
    }

    /// As `get_or_compute`, for blocking code: waiters block, at most `wait`, then compute.
    pub fn get_or_compute_blocking<E>(
        &self,
        key: K,
        wait: Duration,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let Some(entries) = &self.entries else {
            return compute();
        };
        let generation = self.generation.current();
        let started = Instant::now();
        if let Some(value) = self.lookup(entries, &key) {
            return Ok(value);
        }
        if entries.peek(&key).is_some() {
            let value = compute()?;
            entries.insert(key, self.stamp(value.clone(), generation, started));
            return Ok(value);
        }
        match entries.get_value_or_guard(&key, Some(wait)) {
            GuardResult::Value(entry) if !matches!(self.freshness(&entry), Freshness::Unusable) => {
                Ok(entry.value.clone())
            }
            GuardResult::Guard(guard) => {
                let value = compute()?;
                let _already_filled = guard.insert(self.stamp(value.clone(), generation, started));
                Ok(value)
            }
            GuardResult::Value(_) | GuardResult::Timeout => compute(),
        }
    }
}

/// Totals of article lists by filter (with the content clock read alongside), shared by every
/// page and cursor of that filter, so paging through a list counts it once per TTL instead
/// of once per page.
pub type CountCache = TtlCache<String, (i64, Option<chrono::NaiveDateTime>)>;

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(ttl_ms: u64) -> (TtlCache<&'static str, u32>, Generation) {
        let generation = Generation::default();
        (
            TtlCache::new(10, Duration::from_millis(ttl_ms), generation.clone()),
            generation,
        )
    }

    fn get(cache: &TtlCache<&'static str, u32>, value: u32) -> u32 {
        cache
            .get_or_compute_blocking("k", Duration::from_secs(1), || Ok::<_, ()>(value))
            .unwrap()
    }

    #[test]
    fn a_fresh_value_is_reused_and_a_write_drops_it() {
        let (cache, generation) = cache(60_000);
        assert_eq!(get(&cache, 1), 1);
        assert_eq!(get(&cache, 2), 1);
        generation.bump();
        assert_eq!(get(&cache, 3), 3);
    }

    #[test]
    fn an_expired_value_is_refreshed_by_one_caller_while_others_get_the_stale_one() {
        let (cache, _) = cache(20);
        assert_eq!(get(&cache, 1), 1);
        std::thread::sleep(Duration::from_millis(30));

        // The first caller after expiry refreshes; a caller arriving meanwhile gets the old value.
        let refreshed = cache
            .get_or_compute_blocking("k", Duration::from_secs(1), || {
                Ok::<_, ()>(get(&cache, 9) * 10 + 2)
            })
            .unwrap();

        assert_eq!(
            refreshed, 12,
            "the concurrent caller was served the stale 1"
        );
        assert_eq!(get(&cache, 3), 12, "the refreshed value is fresh again");
    }
}
