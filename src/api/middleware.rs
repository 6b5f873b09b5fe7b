//! The request context: an `X-Request-Id` on every response (the client's, if it sent a
//! sane one), a tracing span carrying it, one log line per request, and HEAD answered as GET.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request being served on this task, for problem bodies, which are built
/// where the request is out of reach.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// A client-sent id is kept only if it is short and plain, so it is safe to log and echo.
fn accepted_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    (!text.is_empty() && text.len() <= 128 && text.chars().all(plain)).then(|| text.to_owned())
}

pub async fn request_context(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    // HEAD is GET without the body (RFC 9110 9.3.2): routed as GET, with the same status and
    // headers. The connection knows the request was HEAD and sends no body.
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(accepted_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let path = req.path().to_owned();
    let span = tracing::info_span!("request", request.id = %request_id);
    let active = metrics::gauge!("http_server_active_requests");
    active.increment(1.0);

    let result = CURRENT_REQUEST_ID
        .scope(request_id.clone(), next.call(req).instrument(span.clone()))
        .await;
    active.decrement(1.0);
    let mut response = result?;
    let status = response.status().as_u16();
    // The route template (`/api/v1/articles/{id}`), never the raw path: one series per route.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    metrics::histogram!(
        "http_server_request_duration_seconds",
        "http_request_method" => method.as_str().to_owned(),
        "http_route" => route,
        "http_response_status_code" => status.to_string(),
    )
    .record(started.elapsed().as_secs_f64());

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    tracing::info!(
        parent: &span,
        http.method = %method,
        http.path = %path,
        http.status = status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(response)
}
