//! The OpenAPI document and Swagger UI, as HTTP caches should see them: each file with a
//! strong ETag (its content hash), a freshness lifetime, the codings of `api::encoding`, and
//! 304s. They change only with Folio's version, so each is read, hashed and encoded once per
//! process.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;

use super::read_cache::Representation;

const DOCUMENTATION: [&str; 2] = ["/api-docs/", "/swagger-ui/"];

/// Files that hold this server's settings (the document's URL): they may change with a
/// restart, so caches revalidate them after five minutes.
const CONFIGURED: [&str; 3] = [
    "/api-docs/openapi.json",
    "/swagger-ui/",
    "/swagger-ui/swagger-initializer.js",
];

/// Swagger UI's own files never change within one version of Folio.
const STATIC: &str = "max-age=604800, immutable";
const CONFIGURED_CACHE: &str = "max-age=300";

/// The documentation files served so far, by path.
#[derive(Default)]
pub struct DocsCache(Mutex<HashMap<String, Representation>>);

pub async fn serve_documentation(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path().to_owned();
    let cache = req.app_data::<Data<DocsCache>>().cloned();
    let Some(cache) = cache.filter(|_| DOCUMENTATION.iter().any(|p| path.starts_with(p))) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let cache_control = HeaderValue::from_static(if CONFIGURED.contains(&path.as_str()) {
        CONFIGURED_CACHE
    } else {
        STATIC
    });
    let known = cache
        .0
        .lock()
        .ok()
        .and_then(|files| files.get(&path).cloned());
    if let Some(file) = known {
        let response = file.respond(req.request(), cache_control, &[]);
        return Ok(req.into_response(response));
    }
    let res = next.call(req).await?;
    if res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let (req, res) = res.into_parts();
    let body = actix_web::body::to_bytes(res.into_body())
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    let file = Representation::of_bytes(body, content_type, None);
    if let Ok(mut files) = cache.0.lock() {
        files.insert(path, file.clone());
    }
    let response = file.respond(&req, cache_control, &[]);
    Ok(ServiceResponse::new(req, response))
}
