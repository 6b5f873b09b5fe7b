//! Liveness and readiness probes for load balancers and orchestrators, and the metrics.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::Problem;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The read replicas, when configured (readiness only): reads go to the healthy ones,
    /// and to the primary when none is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaHealth>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplicaHealth {
    /// Its place in `FOLIO_DATABASE_REPLICA_URLS` (`replica-1`, …): the probe is public,
    /// so it does not name hosts (the logs and metrics do).
    #[schema(example = "replica-1")]
    pub name: String,
    /// `healthy` (takes reads), `lagging` (behind by more than allowed), `down` (does not
    /// answer, or is not a replica), `unknown` (not checked yet).
    #[schema(example = "healthy")]
    pub state: &'static str,
    /// How far behind the primary it was at the last check, in milliseconds.
    #[schema(example = 3)]
    pub lag_ms: u64,
}

/// The process is up and serving HTTP.
#[utoipa::path(
    tag = "health",
    operation_id = "get_health",
    security(()),
    responses((status = 200, description = "Alive", body = HealthResponse))
)]
#[get("/healthz")]
pub async fn get_health() -> HttpResponse {
    uncacheable(HealthResponse {
        status: "ok",
        replicas: Vec::new(),
    })
}

/// A probe's answer is about this moment: no cache may keep it.
fn uncacheable(body: HealthResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// The database answers, so requests can be served.
#[utoipa::path(
    tag = "health",
    operation_id = "get_readiness",
    security(()),
    responses(
        (status = 200, description = "Ready", body = HealthResponse),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn get_readiness(state: Data<AppState>) -> Result<HttpResponse, AppError> {
    state
        .db
        .run(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|_| AppError::unavailable("the database did not answer"))
        })
        .await?;
    let replicas = state
        .replicas
        .all()
        .iter()
        .enumerate()
        .map(|(index, replica)| ReplicaHealth {
            name: format!("replica-{}", index + 1),
            state: replica.state().as_str(),
            lag_ms: replica.lag_ms(),
        })
        .collect();
    Ok(uncacheable(HealthResponse {
        status: "ready",
        replicas,
    }))
}

/// Metrics in the Prometheus text format: HTTP requests by route, the database pool and
/// circuit breaker, the read cache, rate limits, logins.
///
/// Off unless the server runs with `FOLIO_METRICS=true` (open to all) or
/// `FOLIO_METRICS_TOKEN` (then send it as a bearer token).
#[utoipa::path(
    tag = "health",
    operation_id = "get_metrics",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "The metrics token is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Metrics are off on this server", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn get_metrics(
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let config = &state.config;
    match &config.metrics_token {
        Some(token) => {
            let presented = crate::api::caller::bearer_token(&req)
                .and_then(Result::ok)
                .unwrap_or_default();
            // Compared in constant time, as a password would be.
            let matches: bool =
                subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.expose().as_bytes())
                    .into();
            if !matches {
                return Err(AppError::Unauthenticated);
            }
        }
        None if config.metrics => {}
        None => return Err(AppError::NotFound("route")),
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render(&state.db)))
}
