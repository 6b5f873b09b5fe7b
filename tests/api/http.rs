//! HTTP behaviour around the content: validators, cache headers, request ids, probes.

use reqwest::StatusCode;

use crate::helpers::{on_each_backend, spawn_app_with, spawn_seeded};

#[actix_web::test]
async fn anonymous_reads_carry_a_strong_etag_and_a_matching_if_none_match_gets_304() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 20).await;
        for path in [
            "/api/v1/articles?tag=rust",
            "/api/v1/articles/1",
            "/api/v1/tags",
            "/api/v1/authors",
        ] {
            let first = app.get(path).await;
            let status = first.status();
            if status == StatusCode::NOT_FOUND {
                continue; // article 1 may be a draft in this seed
            }
            assert_eq!(status, StatusCode::OK, "{path}");
            let etag = first.headers()["etag"].to_str().unwrap().to_owned();
            assert!(
                etag.starts_with('"') && !etag.starts_with("W/"),
                "strong ETag on {path}: {etag}"
            );
            assert!(
                first.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .starts_with("max-age=")
            );
            let body = first.bytes().await.unwrap();

            let again = app
                .client
                .get(app.url(path))
                .header("if-none-match", &etag)
                .send()
                .await
                .unwrap();
            let other = app
                .client
                .get(app.url(path))
                .header("if-none-match", "\"something-else\"")
                .send()
                .await
                .unwrap();

            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
            assert!(again.bytes().await.unwrap().is_empty());
            assert_eq!(other.status(), StatusCode::OK);
            assert_eq!(
                other.bytes().await.unwrap(),
                body,
                "same content, same bytes"
            );
        }
    })
    .await;
}

#[actix_web::test]
async fn every_response_carries_a_request_id_and_a_sane_client_id_is_echoed() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 3).await;
        let generated = app.get("/api/v1/nope").await;
        let echoed = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "trace-42.abc")
            .send()
            .await
            .unwrap();
        let replaced = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "bad id with spaces")
            .send()
            .await
            .unwrap();

        assert!(generated.headers()["x-request-id"].to_str().unwrap().len() >= 32);
        assert_eq!(echoed.headers()["x-request-id"], "trace-42.abc");
        assert_ne!(replaced.headers()["x-request-id"], "bad id with spaces");
    })
    .await;
}

#[actix_web::test]
async fn health_and_readiness_probes_answer() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 1).await;
        assert_eq!(
            app.get_json("/healthz", StatusCode::OK).await["status"],
            "ok"
        );
        assert_eq!(
            app.get_json("/readyz", StatusCode::OK).await["status"],
            "ready"
        );
    })
    .await;
}

#[actix_web::test]
async fn responses_are_gzipped_when_the_client_asks() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 20).await;
        let response = app
            .client
            .get(app.url("/api/v1/articles"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], "gzip");
    })
    .await;
}

#[actix_web::test]
async fn the_in_memory_cache_serves_repeated_anonymous_reads_identically() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(
            backend,
            |config| {
                config.read_cache_ttl_ms = 60_000;
                config.read_cache_entries = 100;
            },
            |db| {
                folio::seed::run(
                    &db.parsed(),
                    &folio::seed::SeedOptions {
                        articles: 20,
                        tags: 4,
                        authors: 2,
                        seed: 1,
                    },
                    false,
                )
                .unwrap()
            },
        )
        .await;
        let first = app.get("/api/v1/articles?limit=5").await;
        let etag = first.headers()["etag"].clone();
        let first = first.bytes().await.unwrap();
        let second = app.get("/api/v1/articles?limit=5").await;

        assert_eq!(second.headers()["etag"], etag);
        assert_eq!(second.bytes().await.unwrap(), first);
    })
    .await;
}

#[actix_web::test]
async fn an_admin_renaming_an_author_is_seen_at_once_despite_the_cache() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(
            backend,
            |config| {
                config.read_cache_ttl_ms = 60_000;
                config.read_cache_entries = 100;
            },
            |_| {},
        )
        .await;
        let admin = app.user(folio::auth::Role::Admin).await;
        let author = app.user(folio::auth::Role::Author).await;
        app.create_article(
            &author.token,
            serde_json::json!({"title": "Live", "status": "published"}),
        )
        .await;
        let path = format!("/api/v1/authors/{}", author.id);
        assert_eq!(
            app.get_json(&path, StatusCode::OK).await["name"],
            "Test author"
        );

        let renamed = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/v1/users/{}", author.id),
                Some(&admin.token),
                Some(serde_json::json!({"name": "Renamed Author"})),
                None,
            )
            .await;

        assert_eq!(renamed.status, StatusCode::OK);
        assert_eq!(
            app.get_json(&path, StatusCode::OK).await["name"],
            "Renamed Author"
        );
    })
    .await;
}

#[actix_web::test]
async fn every_response_tells_browsers_not_to_sniff_frame_or_run_it() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(backend, |config| config.hsts = true, |_| {}).await;
        let author = app.user(folio::auth::Role::Author).await;
        let write = app
            .send(
                reqwest::Method::POST,
                "/api/v1/articles",
                Some(&author.token),
                Some(serde_json::json!({"title": "Headers", "body_markdown": "x"})),
                None,
            )
            .await;
        assert_eq!(write.status, StatusCode::CREATED, "{:?}", write.body);
        let mut seen = vec![("a write", write.headers)];
        for (what, path) in [
            ("a read", "/api/v1/articles"),
            ("a problem", "/api/v1/articles/987654"),
            ("a probe", "/healthz"),
            ("Swagger UI", "/swagger-ui/"),
        ] {
            seen.push((what, app.get(path).await.headers().clone()));
        }
        for (what, headers) in &seen {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            assert_eq!(header("x-content-type-options"), Some("nosniff"), "{what}");
            assert_eq!(header("referrer-policy"), Some("no-referrer"), "{what}");
            assert_eq!(
                header("strict-transport-security"),
                Some("max-age=63072000; includeSubDomains"),
                "{what}"
            );
            assert_eq!(header("server"), None, "{what} names no server");
            let policy = header("content-security-policy").unwrap_or_default();
            assert!(
                policy.contains("frame-ancestors 'none'"),
                "{what}: {policy}"
            );
            if *what == "Swagger UI" {
                // Its own scripts may run; nothing from elsewhere.
                assert!(policy.starts_with("default-src 'self'"), "{policy}");
            } else {
                assert!(policy.starts_with("default-src 'none'"), "{what}: {policy}");
            }
        }

        // Without FOLIO_HSTS (plain HTTP), no HSTS.
        let plain = spawn_app_with(backend, |_| {}, |_| {}).await;
        let headers = plain.get("/healthz").await.headers().clone();
        assert!(headers.get("strict-transport-security").is_none());
    })
    .await;
}
