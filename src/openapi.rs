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
    servers((url = "/", description = "This server")),
    modifiers(&BearerScheme),
    tags(
        (name = "articles", description = "Articles: public reads, and writes by role"),
        (name = "tags", description = "Tags and their published article counts; managed by editors"),
        (name = "authors", description = "Public author profiles"),
        (name = "auth", description = "Sign in, refresh and sign out"),
        (name = "users", description = "User management (admin)"),
        (name = "me", description = "Your own profile"),
        (name = "health", description = "Liveness and readiness probes"),
    )
)]
struct ApiDoc;

/// `Authorization: Bearer <access token>`, so Swagger UI's "Authorize" fills it in.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some("An access token from POST /api/v1/auth/login"))
            .build();
        let metrics = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("The server's FOLIO_METRICS_TOKEN, for GET /metrics"))
            .build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        components.add_security_scheme("metrics_token", SecurityScheme::Http(metrics));
    }
}

/// The document as utoipa builds it from the code (the route table reads its paths).
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    add_operational_responses(&mut doc);
    doc
}

/// Paths that rate limits leave alone (`api::rate_limit`).
const UNLIMITED: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Every operation can answer 503 (the database unavailable, with `Retry-After`), and every
/// limited one 429 (over the rate limit, with `Retry-After`, `RateLimit` and
/// `RateLimit-Policy`): added here to all of them, so no handler can forget.
fn add_operational_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, Type};

    let header = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new().schema_type(Type::String),
            ))
            .description(Some(description))
            .build()
    };
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    let unavailable = ResponseBuilder::new()
        .description(
            "The database is unavailable or not ready (a fast answer while the circuit breaker \
             is open); retry after Retry-After",
        )
        .content("application/problem+json", problem())
        .header("Retry-After", header("Seconds to wait before retrying"))
        .build();
    let limited = ResponseBuilder::new()
        .description("Over this client's rate limit; retry after Retry-After")
        .content("application/problem+json", problem())
        .header("Retry-After", header("Seconds to wait before retrying"))
        .header(
            "RateLimit",
            header("The budget left: `\"<policy>\";r=<remaining>;t=<seconds to reset>`"),
        )
        .header(
            "RateLimit-Policy",
            header("The quota: `\"<policy>\";q=<requests>;w=<window seconds>`"),
        )
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            responses.insert("503".into(), unavailable.clone().into());
            if !UNLIMITED.contains(&path.as_str()) {
                responses.insert("429".into(), limited.clone().into());
            }
        }
    }
}

/// The document as served and committed: utoipa's, plus the rules it cannot express.
pub fn document_value() -> serde_json::Value {
    let mut json = serde_json::to_value(document()).unwrap_or_default();
    // PATCH /me needs `current_password` whenever it sets `password`.
    if let Some(schema) = json
        .pointer_mut("/components/schemas/UpdateMeRequest")
        .and_then(|s| s.as_object_mut())
    {
        schema.insert(
            "if".into(),
            serde_json::json!({"required": ["password"], "properties": {"password": {"type": "string"}}}),
        );
        schema.insert(
            "then".into(),
            serde_json::json!({"required": ["current_password"], "properties": {"current_password": {"type": "string"}}}),
        );
    }
    json
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document_value()).unwrap_or_default();
    json.push('\n');
    json
}
