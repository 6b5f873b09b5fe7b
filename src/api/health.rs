//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::get;
use actix_web::web::{Data, Json};
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
pub async fn get_health() -> Json<HealthResponse> {
    Json(HealthResponse { status: "ok" })
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
pub async fn get_readiness(state: Data<AppState>) -> Result<Json<HealthResponse>, AppError> {
    state
        .db
        .run(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|_| AppError::Unavailable)
        })
        .await?;
    Ok(Json(HealthResponse { status: "ready" }))
}
