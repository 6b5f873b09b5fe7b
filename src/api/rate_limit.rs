//! Rate limits on every route (the gateway's job, built in): each request counts against
//! its client's budget for its class, says where that budget stands in `RateLimit-Policy`
//! and `RateLimit` (draft-ietf-httpapi-ratelimit-headers), and over budget gets a 429.
//! Probes, metrics and the documentation are not limited.

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::web::Data;

use super::client::rate_key;
use crate::error::AppError;
use crate::limits::{Budget, RateKey, RouteClass};
use crate::state::AppState;

const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const STATUS: HeaderName = HeaderName::from_static("ratelimit");

/// Paths outside every limit: load balancers and monitors poll them.
fn unlimited(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/swagger-ui")
        || path.starts_with("/api-docs/")
}

fn set_headers(headers: &mut HeaderMap, class: RouteClass, quota: u32, state: Option<(u32, u64)>) {
    let name = class.name();
    if let Ok(policy) = HeaderValue::from_str(&format!("\"{name}\";q={quota};w=60")) {
        headers.insert(POLICY, policy);
    }
    let (remaining, reset) = state.unwrap_or((0, 60));
    if let Ok(status) = HeaderValue::from_str(&format!("\"{name}\";r={remaining};t={reset}")) {
        headers.insert(STATUS, status);
    }
}

pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<Data<AppState>>().cloned();
    let checked = state.filter(|_| !unlimited(req.path())).and_then(|state| {
        let key = rate_key(req.request(), &state)?;
        let class = match (req.method(), &key) {
            (&Method::GET | &Method::HEAD, RateKey::User(_) | RateKey::Token(_)) => {
                RouteClass::AuthenticatedRead
            }
            (&Method::GET | &Method::HEAD, _) => RouteClass::AnonymousRead,
            _ => RouteClass::Write,
        };
        state.limits.routes.check(class, &key)
    });
    match checked {
        None => Ok(next.call(req).await?.map_into_left_body()),
        Some(Ok(Budget {
            class,
            quota,
            remaining,
            reset_secs,
        })) => {
            let mut res = next.call(req).await?;
            set_headers(
                res.headers_mut(),
                class,
                quota,
                Some((remaining, reset_secs)),
            );
            Ok(res.map_into_left_body())
        }
        Some(Err(over)) => {
            metrics::counter!("folio_rate_limited_requests_total", "class" => over.class.name())
                .increment(1);
            let mut response = AppError::TooManyRequests {
                retry_after_secs: over.retry_after_secs,
            }
            .error_response();
            let headers = response.headers_mut();
            set_headers(
                headers,
                over.class,
                over.quota,
                Some((0, over.retry_after_secs)),
            );
            if let Ok(value) = HeaderValue::from_str(&over.retry_after_secs.to_string()) {
                headers.insert(RETRY_AFTER, value);
            }
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}
