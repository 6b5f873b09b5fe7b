//! The slow-query log: every statement that takes at least `FOLIO_SLOW_QUERY_MS` is logged
//! (target `folio::db::slow_queries`, level warn) with its SQL, bound values and time, on both
//! backends. `0` logs every statement, which is how `benches/plans.sh` finds the statements
//! whose plans it shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// The threshold in microseconds; `u64::MAX` while the log is off.
static THRESHOLD_MICROS: AtomicU64 = AtomicU64::new(u64::MAX);

/// Turns the log on for connections opened from now on (`None`: off).
pub fn enable(threshold: Option<Duration>) -> diesel::QueryResult<()> {
    let Some(threshold) = threshold else {
        return Ok(());
    };
    THRESHOLD_MICROS.store(
        u64::try_from(threshold.as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    diesel::connection::set_default_instrumentation(|| Some(Box::new(SlowQueries::default())))
}

/// One connection's timer: its statements run one after another.
#[derive(Default)]
struct SlowQueries {
    started: Option<Instant>,
}

impl Instrumentation for SlowQueries {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                let Some(started) = self.started.take() else {
                    return;
                };
                let took = started.elapsed();
                if took.as_micros() >= u128::from(THRESHOLD_MICROS.load(Ordering::Relaxed)) {
                    tracing::warn!(
                        target: "folio::db::slow_queries",
                        ms = took.as_secs_f64() * 1000.0,
                        failed = error.is_some(),
                        sql = %query,
                        "slow query"
                    );
                }
            }
            _ => {}
        }
    }
}
