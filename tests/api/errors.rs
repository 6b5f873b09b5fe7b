//! Bad input gets a problem+json answer with the right status and names what was wrong.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, on_each_backend, spawn_seeded};

async fn problem(app: &TestApp, method: reqwest::Method, path: &str, status: StatusCode) -> Value {
    let response = app
        .client
        .request(method, app.url(path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), status, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{path}"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{path}");
    assert_eq!(body["request_id"], request_id.as_str(), "{path}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{path}"
    );
    body
}

#[actix_web::test]
async fn bad_query_parameters_are_400s_that_name_the_parameter() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 30).await;
        let cursor = app
            .get_json("/api/v1/articles?limit=2", StatusCode::OK)
            .await["meta"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
        let cases = [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=ten", "limit"),
            ("page=0", "page"),
            ("page=x", "page"),
            ("sort=newest", "sort"),
            ("tag_match=some", "tag_match"),
            ("colour=blue", "colour"),
            ("limit=1&limit=2", "limit"),
            ("published_after=yesterday", "published_after"),
            (
                "published_after=2030-01-01T00:00:00Z&published_before=2020-01-01T00:00:00Z",
                "published_before",
            ),
            ("cursor=not-a-cursor", "cursor"),
            (&format!("cursor={cursor}&page=2"), "cursor"),
            (&format!("cursor={cursor}&sort=title"), "cursor"),
            (&format!("q={}", "x".repeat(201)), "q"),
            (&format!("tag={}", vec!["t"; 21].join(",")), "tag"),
        ];
        for (query, field) in cases {
            let body = problem(
                &app,
                reqwest::Method::GET,
                &format!("/api/v1/articles?{query}"),
                StatusCode::BAD_REQUEST,
            )
            .await;
            assert_eq!(body["errors"][0]["field"], field, "{query}");
            assert!(
                body["detail"].as_str().unwrap().contains(field),
                "{query}: {body}"
            );
        }
        let body = problem(
            &app,
            reqwest::Method::GET,
            "/api/v1/tags?limit=500",
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "limit");
    })
    .await;
}

#[actix_web::test]
async fn unknown_routes_ids_and_slugs_are_404_and_wrong_methods_405() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 5).await;
        for path in [
            "/nope",
            "/api/v1/nope",
            "/api/v1/articles/999999",
            "/api/v1/articles/slug/no-such-article",
            "/api/v1/tags/999999",
            "/api/v1/tags/slug/nope",
            "/api/v1/authors/999999",
            "/api/v1/authors/slug/nope",
        ] {
            problem(&app, reqwest::Method::GET, path, StatusCode::NOT_FOUND).await;
        }
        problem(
            &app,
            reqwest::Method::GET,
            "/api/v1/articles/abc",
            StatusCode::BAD_REQUEST,
        )
        .await;

        let response = app
            .client
            .delete(app.url("/api/v1/articles/slug/x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        problem(
            &app,
            reqwest::Method::PUT,
            "/api/v1/tags",
            StatusCode::METHOD_NOT_ALLOWED,
        )
        .await;
    })
    .await;
}

#[actix_web::test]
async fn asking_for_unpublished_work_without_signing_in_is_401() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 5).await;
        for status in ["draft", "scheduled", "all"] {
            let response = app.get(&format!("/api/v1/articles?status={status}")).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
        }
        app.get_json("/api/v1/articles?status=published", StatusCode::OK)
            .await;
    })
    .await;
}

#[actix_web::test]
async fn text_with_a_nul_character_is_refused_on_both_backends_alike() {
    // PostgreSQL's client library would cut the text at U+0000 and store the rest: a 422
    // on every backend, rather than a different article on each.
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 1).await;
        let author = app.user(folio::auth::Role::Author).await;
        let reply = app
            .send(
                reqwest::Method::POST,
                "/api/v1/articles",
                Some(&author.token),
                Some(serde_json::json!({
                    "title": "Tom\u{0}Jerry",
                    "body_markdown": "a\u{0}b",
                    "excerpt": "ok",
                    "tags": ["x\u{0}y"],
                })),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        let mut fields: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, ["body_markdown", "tags[0]", "title"]);
        let listed = app.get_json("/api/v1/articles?q=Tom", StatusCode::OK).await;
        assert_eq!(
            listed["data"].as_array().unwrap().len(),
            0,
            "nothing written"
        );
    })
    .await;
}
