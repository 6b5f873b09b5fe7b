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

use utoipa_swagger_ui::SwaggerUi;

use super::read_cache::Representation;
use crate::config::OidcConfig;

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

/// Where Swagger UI's sign-in at the identity provider comes back to. A placeholder in the
/// settings utoipa writes into `swagger-initializer.js`: the provider needs an absolute URL,
/// which only the page knows (Folio may be behind any proxy), so `serve_documentation` turns
/// it into one computed from the page's own address.
const OAUTH2_REDIRECT: &str = "/swagger-ui/oauth2-redirect.html";
const OAUTH2_REDIRECT_FROM_PAGE: &str =
    "new URL(\"/swagger-ui/oauth2-redirect.html\", window.location.href).href";

/// Swagger UI over the served document: no online validator; with single sign-on, the
/// provider's sign-in as Folio's client with PKCE.
pub fn swagger_ui(document: serde_json::Value, sso: &OidcConfig) -> SwaggerUi {
    let config = utoipa_swagger_ui::Config::default().validator_url("none");
    let ui = SwaggerUi::new("/swagger-ui/{_:.*}")
        .external_url_unchecked("/api-docs/openapi.json", document);
    let (Some(_), Some(client_id)) = (&sso.issuer, &sso.client_id) else {
        return ui.config(config);
    };
    ui.config(config.oauth2_redirect_url(OAUTH2_REDIRECT))
        .oauth(
            utoipa_swagger_ui::oauth::Config::new()
                .client_id(client_id)
                .scopes(sso.scopes.split_whitespace().map(str::to_owned).collect())
                .use_pkce_with_authorization_code_grant(true),
        )
}

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
    let body = if path.ends_with("/swagger-initializer.js") {
        let script = String::from_utf8_lossy(&body)
            .replace(&format!("\"{OAUTH2_REDIRECT}\""), OAUTH2_REDIRECT_FROM_PAGE);
        actix_web::web::Bytes::from(script)
    } else {
        body
    };
    let file = Representation::of_bytes(body, content_type, None);
    if let Ok(mut files) = cache.0.lock() {
        files.insert(path, file.clone());
    }
    let response = file.respond(&req, cache_control, &[]);
    Ok(ServiceResponse::new(req, response))
}
