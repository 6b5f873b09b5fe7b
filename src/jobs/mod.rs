//! The background runner that `folio serve` starts: timed work, on its own thread, off the
//! HTTP workers. Work that must happen once per cluster runs only while this instance is the
//! leader (`leader`): counting scheduled articles as their time comes.
//!
//! The runner stops when its `Runner` is dropped (with the server that owns it).

mod leader;

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::db::health::BreakerState;
use crate::db::{DatabaseUrl, Pool};
use crate::service;

pub use leader::Leadership;

/// How often the timed work runs. Scheduled articles are counted within about this long of
/// their time (they are visible to readers at their time exactly, whatever the runner does).
const TICK: Duration = Duration::from_secs(1);

/// A running runner; dropping it stops the thread at its next tick.
pub struct Runner {
    _stop: mpsc::Sender<()>,
}

impl Runner {
    /// Starts the runner's thread.
    pub fn start(pool: Pool, url: &DatabaseUrl) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let mut leadership = Leadership::new(url);
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
                        run_leader_jobs(&pool);
                    }
                }
                leadership.resign();
            })?;
        Ok(Self { _stop: stop })
    }
}

/// Work done once per cluster. Failures are logged and retried at the next tick.
fn run_leader_jobs(pool: &Pool) {
    match pool.run_blocking(service::changes::count_due_articles) {
        Ok(0) => {}
        Ok(n) => tracing::info!(articles = n, "scheduled articles came due"),
        Err(e) => tracing::warn!(error = %e, "counting due articles failed; retrying"),
    }
}
