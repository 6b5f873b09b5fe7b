//! The OpenAPI document: the metadata here, the paths and schemas collected from the routes
//! in `api::configure`.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Folio",
        description = "A headless content API: articles, tags and authors as JSON over REST. \
            Errors are `application/problem+json` (RFC 9457).",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "articles", description = "Articles: public reads"),
        (name = "tags", description = "Tags and their published article counts"),
        (name = "authors", description = "Public author profiles"),
        (name = "health", description = "Liveness and readiness probes"),
    )
)]
struct ApiDoc;

/// Builds the complete document from the code.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
