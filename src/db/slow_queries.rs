//! The slow-query log: every statement that takes at least `FOLIO_SLOW_QUERY_MS` is logged
//! (target `folio::db::slow_queries`, level warn) with its SQL and time, on both backends.
//! Bound values (password hashes, emails, drafts) are left out unless
//! `FOLIO_SLOW_QUERY_BINDS=true`, which `benches/plans.sh` sets to explain the statements.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// The threshold in microseconds; `u64::MAX` while the log is off.
static THRESHOLD_MICROS: AtomicU64 = AtomicU64::new(u64::MAX);
static WITH_BINDS: AtomicBool = AtomicBool::new(false);

/// Turns the log on for connections opened from now on (`None`: off).
pub fn enable(threshold: Option<Duration>, with_binds: bool) -> diesel::QueryResult<()> {
    let Some(threshold) = threshold else {
        return Ok(());
    };
    WITH_BINDS.store(with_binds, Ordering::Relaxed);
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
                    let logged = query.to_string();
                    let sql = if WITH_BINDS.load(Ordering::Relaxed) {
                        logged.as_str()
                    } else {
                        logged.split(" -- binds: ").next().unwrap_or_default()
                    };
                    tracing::warn!(
                        target: "folio::db::slow_queries",
                        ms = took.as_secs_f64() * 1000.0,
                        failed = error.is_some(),
                        sql,
                        "slow query"
                    );
                }
            }
            _ => {}
        }
    }
}
