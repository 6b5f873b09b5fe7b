//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpResponse, get};
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
    uncacheable(HealthResponse { status: "ok" })
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
    Ok(uncacheable(HealthResponse { status: "ready" }))
}
