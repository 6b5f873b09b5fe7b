//! Watches the read replicas: every `CHECK`, how far the primary's log reaches and how far
//! each replica has replayed it. A replica that answers, is a replica, and lags no more than
//! `FOLIO_REPLICA_MAX_LAG_MS` takes anonymous reads; one that does not is skipped until a
//! later check finds it well again.
//!
//! Lag is measured without writing anything: the thread keeps the primary's recent log
//! positions with the time it saw each, and a replica lags by the age of the newest of them
//! it has replayed (zero when it has replayed the latest). An idle primary's log does not
//! move, so a replica that replayed it all does not lag, however long ago that was.

use std::collections::VecDeque;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::db::replicas::{self, ReplicaState, Replicas};
use crate::db::{DbConn, Pool};
use crate::error::AppError;

/// How often the replicas are checked: a replica is skipped within about this long of falling
/// behind or going down (reads that find it down meanwhile go to the primary at once).
pub const CHECK: Duration = Duration::from_millis(250);

/// The running watcher; dropping it stops the thread within `CHECK`.
pub struct ReplicaWatch {
    _stop: mpsc::Sender<()>,
}

impl ReplicaWatch {
    /// Starts watching; `None` when no replica is configured.
    pub fn start(
        primary: Pool,
        replicas: Replicas,
        max_lag: Duration,
    ) -> std::io::Result<Option<Self>> {
        if replicas.all().is_empty() {
            return Ok(None);
        }
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("folio-replicas".into())
            .spawn(move || {
                let mut history = History::default();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECK) {
                    // Without the primary's position, lag cannot be told: keep the last verdicts.
                    let Ok(position) = primary.run_blocking(|conn| Ok(replicas::primary_position(conn)?))
                    else {
                        continue;
                    };
                    history.record(position, max_lag);
                    for replica in replicas.all() {
                        let (state, lag) = match replica.pool.run_blocking(replayed) {
                            Ok(Some(replayed)) => {
                                let lag = history.lag(replayed);
                                let state = if lag <= max_lag {
                                    ReplicaState::Healthy
                                } else {
                                    ReplicaState::Lagging
                                };
                                (state, lag)
                            }
                            Ok(None) | Err(_) => (ReplicaState::Down, Duration::ZERO),
                        };
                        let before = replica.set(state, lag.as_millis() as u64);
                        if before != state {
                            tracing::warn!(
                                replica = %replica.name,
                                from = before.as_str(),
                                to = state.as_str(),
                                lag_ms = lag.as_millis() as u64,
                                "read replica changed state"
                            );
                        }
                        metrics::gauge!("folio_replica_healthy", "replica" => replica.name.clone())
                            .set(f64::from(u8::from(state == ReplicaState::Healthy)));
                        metrics::gauge!("folio_replica_lag_seconds", "replica" => replica.name.clone())
                            .set(lag.as_secs_f64());
                    }
                }
            })?;
        Ok(Some(Self { _stop: stop }))
    }
}

fn replayed(conn: &mut DbConn) -> Result<Option<i64>, AppError> {
    Ok(replicas::replayed_position(conn)?)
}

/// The primary's log positions as seen over the last while, oldest first.
#[derive(Default)]
struct History(VecDeque<(Instant, i64)>);

impl History {
    fn record(&mut self, position: i64, max_lag: Duration) {
        let now = Instant::now();
        // Only a position that moved is news: the first time it was seen is what counts.
        if self.0.back().is_none_or(|&(_, last)| last != position) {
            self.0.push_back((now, position));
        }
        // Enough to tell "lags more than allowed", and no more.
        let keep = max_lag + CHECK * 4;
        while self.0.len() > 1 && self.0.front().is_some_and(|&(at, _)| now - at > keep) {
            self.0.pop_front();
        }
    }

    /// How far behind a replica is that has replayed up to `replayed`: since when the primary
    /// has had log the replica lacks (zero when it has it all).
    fn lag(&self, replayed: i64) -> Duration {
        // The first position seen that the replica has not reached.
        match self.0.iter().find(|&&(_, position)| position > replayed) {
            None => Duration::ZERO,
            Some(&(since, _)) => since.elapsed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_that_replayed_everything_does_not_lag() {
        let mut history = History::default();
        history.record(100, Duration::from_secs(1));
        history.record(200, Duration::from_secs(1));
        assert_eq!(history.lag(200), Duration::ZERO);
        assert_eq!(history.lag(250), Duration::ZERO);
    }

    #[test]
    fn a_replica_lags_by_the_age_of_the_first_log_it_lacks() {
        let mut history = History::default();
        history.record(100, Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(30));
        history.record(200, Duration::from_secs(1));
        assert!(history.lag(50) >= Duration::from_millis(30));
        assert!(history.lag(150) < Duration::from_millis(30));
    }
}
