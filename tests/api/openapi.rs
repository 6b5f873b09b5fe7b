//! The committed OpenAPI document must be what the code generates.

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = folio::openapi::document_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: regenerate it with `UPDATE_OPENAPI=1 cargo test --test api openapi` \
         (or `cargo run -- openapi > openapi/openapi.json`)"
    );
}

#[test]
fn the_document_describes_every_read_endpoint() {
    let doc: serde_json::Value = serde_json::from_str(&folio::openapi::document_json()).unwrap();
    for path in [
        "/api/v1/articles",
        "/api/v1/articles/{id}",
        "/api/v1/articles/slug/{slug}",
        "/api/v1/tags",
        "/api/v1/tags/{id}",
        "/api/v1/tags/slug/{slug}",
        "/api/v1/authors",
        "/api/v1/authors/{id}",
        "/api/v1/authors/slug/{slug}",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            doc["paths"][path]["get"]["operationId"].is_string(),
            "{path}"
        );
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/articles"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "tag",
        "tag_match",
        "exclude_tag",
        "author",
        "q",
        "status",
        "published_after",
        "published_before",
        "sort",
        "limit",
        "page",
        "cursor",
    ] {
        assert!(params.contains(&name), "{name} is documented");
    }
}

#[test]
fn every_operation_documents_503_and_every_limited_one_429_with_their_headers() {
    let doc: serde_json::Value = serde_json::from_str(&folio::openapi::document_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            let unavailable = &responses["503"];
            assert!(
                unavailable["headers"]["Retry-After"].is_object(),
                "{method} {path}"
            );
            if ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
                continue;
            }
            for header in ["Retry-After", "RateLimit", "RateLimit-Policy"] {
                assert!(
                    responses["429"]["headers"][header].is_object(),
                    "{method} {path}: {header}"
                );
            }
        }
    }
}
