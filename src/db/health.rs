//! The database's health, in one place: whether it is ready (migrated, with the signing
//! secret read), and a circuit breaker that stops requests from waiting on a database that
//! does not answer. `Pool` consults it around every piece of work; readiness and metrics read
//! it from here.
//!
//! The breaker opens after `FAILURES_TO_OPEN` consecutive failures (connections that cannot
//! be had, connections that break, statements that time out; not ordinary query errors).
//! While open, work is refused at once. After a cool-down one probe goes through (half-open):
//! success closes the breaker, failure opens it again with twice the cool-down, up to a cap (4 s), so recovery is never more than a few seconds behind the database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Consecutive failures that open the breaker.
const FAILURES_TO_OPEN: u32 = 5;
const FIRST_COOL_DOWN: Duration = Duration::from_secs(1);
const MAX_COOL_DOWN: Duration = Duration::from_secs(4);

/// The breaker's state, as `/readyz` and the metrics report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, cool_down: Duration },
    HalfOpen { cool_down: Duration },
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// Why the database is not ready yet (`None` once it is).
    not_ready: Option<String>,
}

impl Inner {
    /// Refused, or let through: as the probe (with the cool-down it ends) once an open
    /// breaker's cool-down has run out.
    fn verdict(&self) -> Result<Option<Duration>, Refusal> {
        if let Some(reason) = &self.not_ready {
            return Err(Refusal::NotReady(reason.clone()));
        }
        let now = Instant::now();
        match self.state {
            State::Closed { .. } => Ok(None),
            State::Open { until, cool_down } if now >= until => Ok(Some(cool_down)),
            State::Open { until, .. } => Err(Refusal::Open {
                retry_after: until - now,
            }),
            State::HalfOpen { cool_down } => Err(Refusal::Open {
                retry_after: cool_down,
            }),
        }
    }
}

/// Readiness and the circuit breaker of one database.
#[derive(Debug)]
pub struct Health(Mutex<Inner>);

/// Why work was refused without trying: the database is not ready, or the breaker is open
/// for about this long.
#[derive(Debug, Clone)]
pub enum Refusal {
    NotReady(String),
    Open { retry_after: Duration },
}

/// Leave to try the database once; report how it went with `Health::record`.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    probe: bool,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    pub fn new() -> Self {
        Self(Mutex::new(Inner {
            state: State::Closed { failures: 0 },
            not_ready: Some("starting: migrations not applied yet".into()),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state stays consistent whatever panicked while holding the lock.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks the database ready, or not ready and why.
    pub fn set_ready(&self, not_ready: Option<String>) {
        self.lock().not_ready = not_ready;
    }

    pub fn not_ready(&self) -> Option<String> {
        self.lock().not_ready.clone()
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until, .. } if Instant::now() < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Whether work may go to the database now. In the half-open state only one attempt (the
    /// probe) is let through at a time.
    pub fn admit(&self) -> Result<Attempt, Refusal> {
        let mut inner = self.lock();
        match inner.verdict()? {
            Some(cool_down) => {
                inner.state = State::HalfOpen { cool_down };
                Ok(Attempt { probe: true })
            }
            None => Ok(Attempt { probe: false }),
        }
    }

    /// Whether work would be refused now, without taking the half-open probe: for a request
    /// about to queue for a connection, which should not queue for a database known down.
    pub fn check(&self) -> Result<(), Refusal> {
        self.lock().verdict().map(|_| ())
    }

    /// A request waited its whole acquire timeout for a connection while no work finished:
    /// the database holds every connection and answers none. A failure while the breaker is
    /// closed; never the probe's.
    pub fn record_stalled_wait(&self) {
        self.record(Attempt { probe: false }, false);
    }

    /// An attempt that says nothing of the database's health (a pooled connection that broke
    /// before the database came back, say): the breaker stays as it was, and a half-open
    /// breaker lets the next probe through at once.
    pub fn release(&self, attempt: Attempt) {
        let mut inner = self.lock();
        if let (true, State::HalfOpen { cool_down }) = (attempt.probe, &inner.state) {
            inner.state = State::Open {
                until: Instant::now(),
                cool_down: *cool_down,
            };
        }
    }

    /// How an attempt went: `reachable` is false when the database could not be reached or
    /// did not answer in time.
    pub fn record(&self, attempt: Attempt, reachable: bool) {
        let mut inner = self.lock();
        let next = match (&inner.state, reachable) {
            (_, true) => State::Closed { failures: 0 },
            (State::HalfOpen { cool_down }, false) if attempt.probe => {
                let cool_down = (*cool_down * 2).min(MAX_COOL_DOWN);
                tracing::warn!(
                    cool_down_ms = cool_down.as_millis() as u64,
                    "database still unreachable; circuit breaker stays open"
                );
                State::Open {
                    until: Instant::now() + cool_down,
                    cool_down,
                }
            }
            (State::Closed { failures }, false) if failures + 1 >= FAILURES_TO_OPEN => {
                tracing::warn!(
                    failures = failures + 1,
                    "database unreachable; circuit breaker open"
                );
                State::Open {
                    until: Instant::now() + FIRST_COOL_DOWN,
                    cool_down: FIRST_COOL_DOWN,
                }
            }
            (State::Closed { failures }, false) => State::Closed {
                failures: failures + 1,
            },
            // A failure reported late, after another attempt moved the state on.
            (State::Open { until, cool_down }, false) => State::Open {
                until: *until,
                cool_down: *cool_down,
            },
            (State::HalfOpen { cool_down }, false) => State::HalfOpen {
                cool_down: *cool_down,
            },
        };
        if reachable && !matches!(inner.state, State::Closed { .. }) {
            tracing::info!("database reachable again; circuit breaker closed");
        }
        inner.state = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Health {
        let health = Health::new();
        health.set_ready(None);
        health
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_a_probe_closes_it() {
        let health = ready();
        for _ in 0..FAILURES_TO_OPEN {
            let attempt = health.admit().unwrap();
            health.record(attempt, false);
        }
        assert_eq!(health.state(), BreakerState::Open);
        assert!(matches!(health.admit(), Err(Refusal::Open { .. })));

        std::thread::sleep(FIRST_COOL_DOWN);
        let probe = health.admit().unwrap();
        assert!(health.admit().is_err(), "one probe at a time");
        health.record(probe, true);

        assert_eq!(health.state(), BreakerState::Closed);
        assert!(health.admit().is_ok());
    }

    #[test]
    fn successes_between_failures_keep_it_closed_and_not_ready_refuses() {
        let health = ready();
        for _ in 0..10 {
            let failure = health.admit().unwrap();
            health.record(failure, false);
            let success = health.admit().unwrap();
            health.record(success, true);
        }
        assert_eq!(health.state(), BreakerState::Closed);
        health.set_ready(Some("migrating".into()));
        assert!(matches!(health.admit(), Err(Refusal::NotReady(_))));
    }
}
