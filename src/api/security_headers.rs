//! Headers that tell browsers to treat every response as what it says it is, and nothing more:
//! no MIME sniffing, no referrer, no framing, no scripts or styles from an API response (a JSON
//! body opened as a page runs nothing), and HSTS when Folio is served over HTTPS
//! (`FOLIO_HSTS=true`). Swagger UI gets a policy under which it works: its own scripts and
//! styles, the inline styles it sets, its data: icons, and calls to this origin.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;

use crate::state::AppState;

const API_POLICY: HeaderValue =
    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
const SWAGGER_UI_POLICY: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
);
/// With single sign-on, Swagger UI also fetches the provider's discovery document and calls its
/// token endpoint.
fn swagger_ui_policy(issuer: Option<&str>) -> HeaderValue {
    let provider = issuer
        .and_then(|issuer| url::Url::parse(issuer).ok())
        .map(|issuer| issuer.origin().ascii_serialization());
    match provider {
        Some(origin) => HeaderValue::from_str(&format!(
            "{}; connect-src 'self' {origin}",
            SWAGGER_UI_POLICY.to_str().unwrap_or_default()
        ))
        .unwrap_or(SWAGGER_UI_POLICY),
        None => SWAGGER_UI_POLICY,
    }
}

/// Two years, subdomains included: the value hstspreload.org asks for.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=63072000; includeSubDomains");

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<Data<AppState>>();
    let swagger_ui = req
        .path()
        .starts_with("/swagger-ui")
        .then(|| swagger_ui_policy(state.and_then(|s| s.config.oidc.issuer.as_deref())));
    let hsts = state.is_some_and(|state| state.config.hsts);
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        swagger_ui.unwrap_or(API_POLICY),
    );
    if hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    Ok(response)
}
