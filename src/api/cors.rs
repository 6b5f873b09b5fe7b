//! CORS, so that browser apps on other origins can read the API and write to it.
//!
//! Folio authenticates with bearer tokens, never cookies: no request carries credentials a
//! browser adds on its own, so allowing every origin (`*`, the default) exposes nothing
//! that a script outside a browser could not read anyway. `Access-Control-Allow-Credentials`
//! is never sent.

use actix_cors::{Cors, CorsError};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;

use crate::config::CorsOrigins;
use crate::error::AppError;

/// Request headers a browser app may send beyond the CORS-safelisted ones.
const ALLOWED_HEADERS: [header::HeaderName; 7] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::CACHE_CONTROL,
    header::HeaderName::from_static("x-request-id"),
];

/// Response headers a browser app may read beyond the safelisted ones: validators, where a
/// new resource lives, the request id to quote, and when to retry.
const EXPOSED_HEADERS: [&str; 10] = [
    "etag",
    "last-modified",
    "location",
    "x-request-id",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "age",
    "cache-status",
    "content-disposition",
];

/// The CORS middleware for `FOLIO_CORS_ORIGINS`.
pub fn policy(origins: &CorsOrigins) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers(ALLOWED_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(86_400);
    match origins {
        // The same answer for every origin: nothing to vary on, so shared caches keep one
        // copy instead of one per origin.
        CorsOrigins::Any => cors
            .allow_any_origin()
            .send_wildcard()
            .disable_vary_header(),
        CorsOrigins::Only(list) => list
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin)),
    }
}

/// A refused preflight as a problem (actix-cors answers in plain text).
pub async fn refusals_as_problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let response = next.call(req).await?;
    let refusal = response
        .response()
        .error()
        .and_then(|error| error.as_error::<CorsError>())
        .map(|error| {
            let reason = error.to_string();
            let mut chars = reason.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_lowercase().chain(chars).collect::<String>()
            })
        });
    Ok(match refusal {
        Some(reason) => {
            let (req, _) = response.into_parts();
            let problem: actix_web::Error = AppError::CrossOriginRefused(reason).into();
            ServiceResponse::from_err(problem, req).map_into_right_body()
        }
        None => response.map_into_left_body(),
    })
}
