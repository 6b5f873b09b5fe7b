//! The background runner that `folio serve` starts: timed work, on its own thread, off the
//! HTTP workers. Work that must happen once per cluster runs only while this instance is the
//! leader (`leader`): counting scheduled articles as their time comes, pruning what
//! nothing reads again, and merging the segments of SQLite's search index.
//!
//! The runner stops when its `Runner` is dropped (with the server that owns it).

mod leader;
mod listener;
mod replicas;
mod webhooks;

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::cache::Generation;
use crate::db::health::BreakerState;
use crate::db::{self, DatabaseUrl, Pool};
use crate::service;

pub use leader::Leadership;
pub use listener::CacheListener;
pub use replicas::{CHECK as REPLICA_CHECK, ReplicaWatch};
pub use webhooks::WebhookSender;

/// How often the timed work runs. Scheduled articles are counted within about this long of
/// their time (they are visible to readers at their time exactly, whatever the runner does).
const TICK: Duration = Duration::from_secs(1);

/// A running runner; dropping it stops the thread at its next tick.
pub struct Runner {
    _stop: mpsc::Sender<()>,
}

impl Runner {
    /// Starts the runner's thread.
    pub fn start(
        pool: Pool,
        url: &DatabaseUrl,
        generation: Generation,
        keep_delivered: chrono::Duration,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let mut leadership = Leadership::new(url);
        let mut last_housekeeping = None;
        // Only SQLite's index is merged by hand (`db::search::tidy_index`).
        let merges_search_index = url.backend == db::Backend::Sqlite;
        std::thread::Builder::new()
            .name("folio-jobs".into())
            .spawn(move || {
                // Ends when the `Runner` (the sender) is dropped.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    // Until the database is ready, and while the breaker keeps requests off it,
                    // there is nothing to do, nor to log.
                    let usable = pool.health.not_ready().is_none()
                        && pool.health.state() == BreakerState::Closed;
                    if usable && leadership.is_leader() {
                        run_leader_jobs(
                            &pool,
                            &generation,
                            keep_delivered,
                            &mut last_housekeeping,
                            merges_search_index,
                        );
                    }
                }
                leadership.resign();
            })?;
        Ok(Self { _stop: stop })
    }
}

/// How often the leader forgets what nothing reads again: spent login budgets, expired
/// refresh tokens, and webhook deliveries delivered longer ago than `keep_delivered`.
const HOUSEKEEPING: Duration = Duration::from_secs(60);

/// Work done once per cluster. Failures are logged and retried at the next tick.
fn run_leader_jobs(
    pool: &Pool,
    generation: &Generation,
    keep_delivered: chrono::Duration,
    last_housekeeping: &mut Option<Instant>,
    merges_search_index: bool,
) {
    if last_housekeeping.is_none_or(|at| at.elapsed() >= HOUSEKEEPING) {
        *last_housekeeping = Some(Instant::now());
        let pruned = pool.run_blocking(|conn| {
            let budgets = db::login_limits::prune(conn)?;
            let tokens = db::tokens::prune_expired(conn, db::now(), 10_000)?;
            let deliveries =
                db::webhooks::prune_delivered(conn, db::now() - keep_delivered, 10_000)?;
            Ok((budgets, tokens, deliveries))
        });
        match pruned {
            Ok((0, 0, 0)) => {}
            Ok((budgets, tokens, deliveries)) => {
                tracing::info!(
                    login_budgets = budgets,
                    refresh_tokens = tokens,
                    webhook_deliveries = deliveries,
                    "pruned"
                );
            }
            Err(e) => tracing::warn!(error = %e, "pruning failed; retrying"),
        }
    }
    match pool.run_blocking(service::changes::count_due_articles) {
        Ok(0) => {}
        Ok(n) => {
            // Cached lists and counts show them now (other instances hear it: `listener`).
            generation.bump();
            tracing::info!(articles = n, "scheduled articles came due");
        }
        Err(e) => tracing::warn!(error = %e, "counting due articles failed; retrying"),
    }
    // A step at a time, in the writers' lane, so a long merge after a bulk of writes never
    // holds a writer up for long; until it is done, searches read one more segment per write.
    if merges_search_index
        && let Err(e) = pool.write_blocking(|conn| Ok(db::search::tidy_index(conn)?))
    {
        tracing::warn!(error = %e, "merging the search index failed; retrying");
    }
}
