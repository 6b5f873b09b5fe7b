//! Metrics in the Prometheus text format, named after OpenTelemetry's semantic conventions
//! where they have a name (`http_server_request_duration_seconds`, `db_client_connection_*`).
//! The recorder is global to the process, so it is installed once (`recorder`); each part of
//! Folio records its own metrics where they happen, and the gauges that are states rather
//! than events (the pool, the breaker) are read when `/metrics` is rendered.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::db::Pool;
use crate::db::health::BreakerState;

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Request durations from 1 ms to 10 s.
const DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Installs the process-wide recorder the first time; `None` if another one was installed
/// first (then Folio records into that one).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_server_request_duration_seconds".into()),
                    &DURATION_BUCKETS,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "http_server_request_duration_seconds",
        Unit::Seconds,
        "Duration of HTTP requests, by method, route template and status code"
    );
    describe_gauge!("http_server_active_requests", "HTTP requests being served");
    describe_gauge!(
        "db_client_connection_count",
        "Database connections in the pool, by state (idle, used)"
    );
    describe_gauge!(
        "db_client_connection_pending_requests",
        "Requests waiting for a database connection"
    );
    describe_counter!(
        "folio_db_errors_total",
        "Database work that failed, by kind (unavailable, busy, timeout, connection_lost, contended, internal)"
    );
    describe_gauge!(
        "folio_cache_listener_connected",
        "1 while this instance hears other instances' writes (PostgreSQL LISTEN), else 0"
    );
    describe_counter!(
        "folio_cache_invalidations_total",
        "Writes announced by any instance that dropped this instance's caches"
    );
    describe_gauge!(
        "folio_db_circuit_breaker_state",
        "1 for the database circuit breaker's current state (closed, open, half_open)"
    );
    describe_counter!(
        "folio_read_cache_requests_total",
        "Anonymous reads by read cache result (hit, miss, stale)"
    );
    describe_counter!(
        "folio_rate_limited_requests_total",
        "Requests refused with 429, by limit class (anonymous, authenticated, writes)"
    );
    describe_counter!(
        "folio_logins_total",
        "Password logins by outcome (success, refused, limited)"
    );
}

/// The metrics now, in the Prometheus text format.
pub fn render(pool: &Pool) -> String {
    let stats = pool.stats();
    let used = stats.connections.saturating_sub(stats.idle);
    metrics::gauge!("db_client_connection_count", "state" => "idle").set(f64::from(stats.idle));
    metrics::gauge!("db_client_connection_count", "state" => "used").set(f64::from(used));
    metrics::gauge!("db_client_connection_pending_requests").set(stats.waiting as f64);
    let current = pool.health.state();
    for state in [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ] {
        let value = if state == current { 1.0 } else { 0.0 };
        metrics::gauge!("folio_db_circuit_breaker_state", "state" => state.as_str()).set(value);
    }
    recorder().map(PrometheusHandle::render).unwrap_or_default()
}
