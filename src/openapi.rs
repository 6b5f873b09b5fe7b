//! The OpenAPI document: the metadata here, the paths and schemas collected from the routes
//! in `api::configure`.

use actix_web::App;
use serde_json::{Map, Value, json};
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
    modifiers(&BearerScheme, &WebhookEvents),
    components(schemas(crate::api::webhooks::WebhookEventPayload)),
    tags(
        (name = "articles", description = "Articles: public reads, and writes by role"),
        (name = "tags", description = "Tags and their published article counts; managed by editors"),
        (name = "authors", description = "Public author profiles"),
        (name = "auth", description = "Sign in, refresh and sign out"),
        (name = "users", description = "User management (admin)"),
        (name = "me", description = "Your own profile"),
        (name = "site", description = "The site: its description and its frontend's URL templates"),
        (name = "feeds", description = "RSS, Atom and JSON Feed of the newest articles, and the sitemap"),
        (name = "webhooks", description = "Signed HTTP callbacks on content changes, with retries, a circuit breaker per endpoint and a delivery log (admin)"),
        (name = "media", description = "The media library: image uploads with their responsive variants, and local storage's objects"),
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
            .description(Some(
                "An access token from POST /api/v1/auth/login, or a personal access token \
                 (folio_pat_…) from POST /api/v1/me/tokens, limited to its scopes",
            ))
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

/// What Folio sends to a webhook endpoint (OpenAPI 3.1 `webhooks`), so clients generated from
/// the document can type their receivers.
struct WebhookEvents;

impl utoipa::Modify for WebhookEvents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
        use utoipa::openapi::request_body::RequestBodyBuilder;
        use utoipa::openapi::{ContentBuilder, PathsBuilder, Ref, Required, ResponseBuilder};
        let event = OperationBuilder::new()
            .tag("webhooks")
            .summary(Some(
                "A content change, sent to each endpoint that listens to it",
            ))
            .description(Some(
                "POSTed to a registered webhook's URL, signed per Standard Webhooks \
                 (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Any 2xx within the \
                 timeout is delivered; anything else is retried with growing waits for 24 hours.",
            ))
            .operation_id(Some("webhook_event"))
            // Folio signs the request; the receiver asks for no credential.
            .security(utoipa::openapi::security::SecurityRequirement::default())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("WebhookEventPayload")))
                            .build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            ))
            .response(
                "2XX",
                ResponseBuilder::new().description("Delivered").build(),
            )
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description("Not delivered: retried later")
                    .build(),
            )
            .build();
        openapi.webhooks = Some(
            PathsBuilder::new()
                .path("contentChanged", PathItem::new(HttpMethod::Post, event))
                .build(),
        );
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
pub fn document_value() -> Value {
    let mut json = serde_json::to_value(document()).unwrap_or_default();
    // PATCH /me needs `current_password` whenever it sets `password`.
    if let Some(schema) = json
        .pointer_mut("/components/schemas/UpdateMeRequest")
        .and_then(|s| s.as_object_mut())
    {
        schema.insert(
            "if".into(),
            json!({"required": ["password"], "properties": {"password": {"type": "string"}}}),
        );
        schema.insert(
            "then".into(),
            json!({"required": ["current_password"], "properties": {"current_password": {"type": "string"}}}),
        );
    }
    refuse_nul_in_requests(&mut json);
    describe_field_selections(&mut json);
    json
}

/// The document as this server serves it: with single sign-on configured, the provider is
/// an `openIdConnect` scheme that every operation taking a bearer also takes, so Swagger UI's
/// Authorize offers the provider's sign-in (a code flow with PKCE) beside the bearer field.
pub fn served_document(issuer: Option<&str>) -> Value {
    let mut json = document_value();
    let Some(issuer) = issuer else {
        return json;
    };
    if let Some(schemes) = json
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
    {
        schemes.insert(
            "oidc".into(),
            json!({
                "type": "openIdConnect",
                "openIdConnectUrl": format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')),
                "description": "Sign in at the identity provider: its token is accepted as a bearer",
            }),
        );
    }
    let operations = json
        .pointer_mut("/paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        if let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut)
            && security.iter().any(|s| s.get("bearer").is_some())
        {
            security.push(json!({"oidc": ["openid"]}));
        }
    }
    json
}

/// Request texts never contain U+0000: PostgreSQL cannot store it, so Folio refuses it on
/// every backend (422). Said once here for every string a request body carries (but files,
/// whose bytes are anything).
fn refuse_nul_in_requests(doc: &mut Value) {
    fn is_string(schema: &Value) -> bool {
        // Files' bytes are anything; a pattern that says it already needs no `not`.
        if schema["format"] == "binary"
            || schema["pattern"]
                .as_str()
                .is_some_and(|p| p.contains("\\u0000"))
        {
            return false;
        }
        match &schema["type"] {
            Value::String(kind) => kind == "string",
            Value::Array(kinds) => kinds.iter().any(|k| k == "string"),
            _ => false,
        }
    }
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    // Request properties, and the named schemas they use (such as `TagName`).
    let mut texts: Vec<(String, Option<String>)> = Vec::new();
    for (name, schema) in schemas.iter().filter(|(name, _)| name.ends_with("Request")) {
        for (property, value) in schema["properties"].as_object().into_iter().flatten() {
            texts.push((name.clone(), Some(property.clone())));
            for used in [value, &value["items"]].into_iter().filter_map(schema_name) {
                texts.push((used, None));
            }
        }
    }
    for (name, property) in texts {
        let Some(schema) = schemas.get_mut(&name) else {
            continue;
        };
        let schema = match property {
            Some(property) => schema
                .get_mut("properties")
                .and_then(|properties| properties.get_mut(&property)),
            None => Some(schema),
        };
        let Some(schema) = schema else {
            continue;
        };
        let text = if is_string(schema) {
            schema.as_object_mut()
        } else {
            schema
                .get_mut("items")
                .filter(|items| is_string(items))
                .and_then(Value::as_object_mut)
        };
        if let Some(text) = text {
            text.insert(
                "not".into(),
                json!({"type": "string", "pattern": "\\u0000"}),
            );
        }
    }
}

/// With `fields`, a response has only the fields asked for (and `id`): each operation that
/// takes it answers `anyOf` the whole schema and a `…Selection` of it, whose properties are
/// the same but optional.
fn describe_field_selections(doc: &mut Value) {
    let mut selections: Vec<(String, Value)> = Vec::new();
    let snapshot = doc.clone();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(|item| item.get_mut("get"))
        .filter(|op| {
            op["parameters"]
                .as_array()
                .is_some_and(|params| params.iter().any(|p| p["name"] == "fields"))
        })
    {
        let Some(schema) = operation.pointer_mut("/responses/200/content/application~1json/schema")
        else {
            continue;
        };
        let Some(whole) = schema_name(schema) else {
            continue;
        };
        let selection = format!("{whole}Selection");
        let whole_schema = snapshot
            .pointer(&format!("/components/schemas/{whole}"))
            .cloned()
            .unwrap_or_default();
        let selected = match whole_schema
            .pointer("/properties/data/items")
            .and_then(schema_name)
        {
            // A list: `meta` as it is, each item a selection.
            Some(item) => {
                let item_selection = format!("{item}Selection");
                selections.push((item_selection.clone(), partial(&snapshot, &item)));
                let mut list = whole_schema.clone();
                if let Some(items) = list.pointer_mut("/properties/data/items") {
                    *items = reference(&item_selection);
                }
                if let Some(list) = list.as_object_mut() {
                    let description = format!(
                        "{} With `fields`: each item has only the fields named, and `id`.",
                        whole_schema
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    );
                    list.insert("description".into(), json!(description));
                }
                list
            }
            None => partial(&snapshot, &whole),
        };
        selections.push((selection.clone(), selected));
        *schema = json!({"anyOf": [reference(&whole), reference(&selection)]});
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.extend(selections);
    }
}

fn schema_name(schema: &Value) -> Option<String> {
    schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `name`'s properties (through `allOf`), all optional but `id`.
fn partial(doc: &Value, name: &str) -> Value {
    fn collect(doc: &Value, schema: &Value, into: &mut Map<String, Value>) {
        if let Some(name) = schema_name(schema) {
            if let Some(named) = doc.pointer(&format!("/components/schemas/{name}")) {
                collect(doc, named, into);
            }
            return;
        }
        for part in schema["allOf"].as_array().into_iter().flatten() {
            collect(doc, part, into);
        }
        if let Some(properties) = schema["properties"].as_object() {
            into.extend(properties.clone());
        }
    }
    let mut properties = Map::new();
    collect(doc, &reference(name), &mut properties);
    json!({
        "type": "object",
        "description": format!("{name} with only the fields named in `fields`, and `id`."),
        "required": ["id"],
        "properties": properties,
        "additionalProperties": false,
    })
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = serde_json::to_string_pretty(&document_value()).unwrap_or_default();
    json.push('\n');
    json
}
