//! `fields=` and `include=body_html`: lean responses, with the cache and validators still
//! telling different selections apart, and the OpenAPI enums matching the real responses.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, ids, on_each_backend, spawn_seeded_with};

fn keys(item: &Value) -> BTreeSet<String> {
    item.as_object()
        .unwrap_or_else(|| panic!("not an object: {item}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// A seeded server whose read cache is on, as in production.
async fn spawn_cached(backend: folio::db::Backend) -> TestApp {
    spawn_seeded_with(backend, 30, |config| {
        config.read_cache_ttl_ms = 60_000;
        config.read_cache_entries = 1_000;
    })
    .await
}

#[actix_web::test]
async fn lists_and_single_reads_answer_with_the_fields_asked_for_and_the_id() {
    on_each_backend(|backend| async move {
        let app = spawn_cached(backend).await;
        let full = app
            .get_json("/api/v1/articles?limit=5", StatusCode::OK)
            .await;
        let lean = app
            .get_json("/api/v1/articles?limit=5&fields=slug,title", StatusCode::OK)
            .await;
        assert_eq!(ids(&lean), ids(&full));
        assert_eq!(lean["meta"], full["meta"], "meta is unchanged");
        for (item, whole) in lean["data"]
            .as_array()
            .unwrap()
            .iter()
            .zip(full["data"].as_array().unwrap())
        {
            assert_eq!(keys(item), set(&["id", "slug", "title"]));
            assert_eq!(item["title"], whole["title"]);
        }

        let first = &full["data"][0];
        let (id, slug) = (
            first["id"].clone(),
            first["slug"].as_str().unwrap().to_owned(),
        );
        for path in [
            format!("/api/v1/articles/{id}?fields=title,reading_time,body_html"),
            format!("/api/v1/articles/slug/{slug}?fields=title,reading_time,body_html"),
        ] {
            let article = app.get_json(&path, StatusCode::OK).await;
            assert_eq!(
                keys(&article),
                set(&["id", "title", "reading_time", "body_html"]),
                "{path}"
            );
            assert_eq!(article["title"], first["title"]);
        }

        let tags = app
            .get_json("/api/v1/tags?fields=name&limit=3", StatusCode::OK)
            .await;
        let tag = &tags["data"][0];
        assert_eq!(keys(tag), set(&["id", "name"]));
        assert_eq!(tags["meta"]["limit"], 3);
        let by_slug = app
            .get_json("/api/v1/tags?fields=slug&limit=1", StatusCode::OK)
            .await;
        let tag_slug = by_slug["data"][0]["slug"].as_str().unwrap().to_owned();
        for path in [
            format!("/api/v1/tags/{}?fields=article_count", tag["id"]),
            format!("/api/v1/tags/slug/{tag_slug}?fields=article_count"),
        ] {
            let one = app.get_json(&path, StatusCode::OK).await;
            assert_eq!(keys(&one), set(&["id", "article_count"]), "{path}");
        }

        let authors = app
            .get_json("/api/v1/authors?fields=name,bio", StatusCode::OK)
            .await;
        let author = &authors["data"][0];
        assert_eq!(keys(author), set(&["id", "name", "bio"]));
        let one = app
            .get_json(
                &format!("/api/v1/authors/{}?fields=avatar", author["id"]),
                StatusCode::OK,
            )
            .await;
        assert_eq!(keys(&one), set(&["id", "avatar"]));
    })
    .await;
}

#[actix_web::test]
async fn an_unknown_field_is_a_bad_request_naming_it() {
    on_each_backend(|backend| async move {
        let app = spawn_cached(backend).await;
        for path in [
            "/api/v1/articles?fields=title,password_hash",
            "/api/v1/articles/1?fields=password_hash",
            "/api/v1/articles/slug/anything?fields=password_hash",
            "/api/v1/tags?fields=password_hash",
            "/api/v1/tags/1?fields=password_hash",
            "/api/v1/authors?fields=password_hash",
            "/api/v1/authors/slug/anyone?fields=password_hash",
            // The body is not a field of a list item unless asked for by name.
            "/api/v1/articles?fields=body_markdown",
        ] {
            let problem = app.get_json(path, StatusCode::BAD_REQUEST).await;
            assert_eq!(problem["errors"][0]["field"], "fields", "{path}");
            let detail = problem["detail"].as_str().unwrap();
            let bad = path.rsplit('=').next().unwrap().rsplit(',').next().unwrap();
            assert!(detail.contains(&format!("`{bad}`")), "{path}: {detail}");
        }
        let problem = app
            .get_json(
                "/api/v1/articles?include=body_markdown",
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], "include");
    })
    .await;
}

#[actix_web::test]
async fn two_selections_never_share_a_cached_copy_or_a_validator() {
    on_each_backend(|backend| async move {
        let app = spawn_cached(backend).await;
        let titles = app.get("/api/v1/articles?limit=3&fields=title").await;
        let titles_etag = titles.headers()["etag"].to_str().unwrap().to_owned();
        let titles_body: Value = titles.json().await.unwrap();
        let slugs = app.get("/api/v1/articles?limit=3&fields=slug").await;
        let slugs_etag = slugs.headers()["etag"].to_str().unwrap().to_owned();
        let slugs_body: Value = slugs.json().await.unwrap();
        assert_ne!(titles_etag, slugs_etag);
        assert_eq!(keys(&titles_body["data"][0]), set(&["id", "title"]));
        assert_eq!(keys(&slugs_body["data"][0]), set(&["id", "slug"]));

        // The titles' ETag does not validate the slugs: the client gets the slugs.
        let crossed = app
            .client
            .get(app.url("/api/v1/articles?limit=3&fields=slug"))
            .header("if-none-match", &titles_etag)
            .send()
            .await
            .unwrap();
        assert_eq!(crossed.status(), StatusCode::OK);
        let same = app
            .client
            .get(app.url("/api/v1/articles?limit=3&fields=slug"))
            .header("if-none-match", &slugs_etag)
            .send()
            .await
            .unwrap();
        assert_eq!(same.status(), StatusCode::NOT_MODIFIED);

        // A single article: the selection changes the ETag, the version still leads it.
        let whole = app.get("/api/v1/articles/1").await;
        let cut = app.get("/api/v1/articles/1?fields=title").await;
        let (whole_etag, cut_etag) = (
            whole.headers()["etag"].to_str().unwrap().to_owned(),
            cut.headers()["etag"].to_str().unwrap().to_owned(),
        );
        assert_ne!(whole_etag, cut_etag);
        let version = |etag: &str| etag.trim_matches('"').split('-').next().unwrap().to_owned();
        assert_eq!(version(&whole_etag), version(&cut_etag));
    })
    .await;
}

#[actix_web::test]
async fn a_static_build_gets_every_body_in_cursor_pages_of_a_hundred() {
    on_each_backend(|backend| async move {
        let app = spawn_cached(backend).await;
        let mut cursor: Option<String> = None;
        let mut seen = 0;
        loop {
            let path = match &cursor {
                Some(c) => {
                    format!("/api/v1/articles?limit=100&include=body_html&count=none&cursor={c}")
                }
                None => "/api/v1/articles?limit=100&include=body_html&count=none".to_owned(),
            };
            let page = app.get_json(&path, StatusCode::OK).await;
            for item in page["data"].as_array().unwrap() {
                let one = app
                    .get_json(&format!("/api/v1/articles/{}", item["id"]), StatusCode::OK)
                    .await;
                assert_eq!(item["body_html"], one["body_html"]);
                assert!(item.get("body_markdown").is_none());
                seen += 1;
            }
            match page["meta"]["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let total = app
            .get_json("/api/v1/articles?count=exact", StatusCode::OK)
            .await;
        assert_eq!(seen, total["meta"]["total"].as_i64().unwrap());

        // Without the include, lists stay lean; with a selection, include adds to it.
        let plain = app
            .get_json("/api/v1/articles?limit=1", StatusCode::OK)
            .await;
        assert!(plain["data"][0].get("body_html").is_none());
        let both = app
            .get_json(
                "/api/v1/articles?limit=1&fields=title&include=body_html",
                StatusCode::OK,
            )
            .await;
        assert_eq!(keys(&both["data"][0]), set(&["id", "title", "body_html"]));
    })
    .await;
}

/// The names a `fields` parameter documents, from the served OpenAPI document.
fn documented_fields(doc: &Value, operation: &str) -> BTreeSet<String> {
    let op = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .find(|op| op["operationId"] == operation)
        .unwrap_or_else(|| panic!("no operation {operation}"));
    let param = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "fields")
        .unwrap_or_else(|| panic!("{operation} has no fields parameter"));
    assert_eq!(param["style"], "form", "{operation}");
    assert_eq!(param["explode"], false, "{operation}");
    let items = &param["schema"]["items"];
    let schema = match items.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            doc["components"]["schemas"][name].clone()
        }
        None => items.clone(),
    };
    schema["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{operation}: no enum in {schema}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_documented_field_names_are_the_keys_responses_have() {
    on_each_backend(|backend| async move {
        let app = spawn_cached(backend).await;
        let doc = app.get_json("/api-docs/openapi.json", StatusCode::OK).await;
        // A search with bodies: every optional field of a list item present.
        let list = app
            .get_json(
                "/api/v1/articles?limit=1&include=body_html&q=the",
                StatusCode::OK,
            )
            .await;
        let article = app.get_json("/api/v1/articles/1", StatusCode::OK).await;
        let tags = app.get_json("/api/v1/tags?limit=1", StatusCode::OK).await;
        let tag = app
            .get_json(
                &format!("/api/v1/tags/{}", tags["data"][0]["id"]),
                StatusCode::OK,
            )
            .await;
        let authors = app
            .get_json("/api/v1/authors?limit=1", StatusCode::OK)
            .await;
        let author = app
            .get_json(
                &format!("/api/v1/authors/{}", authors["data"][0]["id"]),
                StatusCode::OK,
            )
            .await;
        for (operation, response) in [
            ("list_articles", &list["data"][0]),
            ("get_article", &article),
            ("get_article_by_slug", &article),
            ("list_tags", &tags["data"][0]),
            ("get_tag", &tag),
            ("get_tag_by_slug", &tag),
            ("list_authors", &authors["data"][0]),
            ("get_author", &author),
            ("get_author_by_slug", &author),
        ] {
            assert_eq!(
                documented_fields(&doc, operation),
                keys(response),
                "{operation}"
            );
        }
    })
    .await;
}
