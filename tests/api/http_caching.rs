//! What caches and CDNs rely on: `Vary`, a validator per content coding, `Last-Modified`,
//! `Cache-Control` on every kind of response, and HEAD.

use std::time::Duration;

use folio::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Checked, TestApp, on_each_backend, spawn_seeded};

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Checked {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a Checked, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn vary_names(response: &Checked) -> Vec<String> {
    header(response, "vary")
        .unwrap_or_default()
        .split(',')
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

#[actix_web::test]
async fn every_coding_says_vary_and_has_its_own_etag_and_any_of_them_revalidates() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 30).await;
        for (path, by_authorization) in [
            ("/api/v1/articles?limit=10", true),
            ("/api/v1/tags", false),
            ("/api-docs/openapi.json", false),
        ] {
            let identity = get_with(&app, path, &[]).await;
            let gzip = get_with(&app, path, &[("accept-encoding", "gzip")]).await;
            let br = get_with(&app, path, &[("accept-encoding", "br, gzip")]).await;

            assert_eq!(header(&identity, "content-encoding"), None, "{path}");
            assert_eq!(header(&gzip, "content-encoding"), Some("gzip"), "{path}");
            assert_eq!(header(&br, "content-encoding"), Some("br"), "{path}");
            for response in [&identity, &gzip, &br] {
                let vary = vary_names(response);
                assert!(
                    vary.contains(&"accept-encoding".to_owned()),
                    "{path}: {vary:?}"
                );
                assert_eq!(
                    vary.contains(&"authorization".to_owned()),
                    by_authorization,
                    "{path}"
                );
            }
            let tags: Vec<&str> = [&identity, &gzip, &br]
                .iter()
                .map(|r| header(r, "etag").unwrap())
                .collect();
            assert!(tags.iter().all(|t| t.starts_with('"')), "strong: {tags:?}");
            assert!(
                tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
                "{tags:?}"
            );

            // A cache holding any coding revalidates with its tag, whatever it asks for now.
            for (held, asked) in [(tags[1], ""), (tags[0], "gzip"), (tags[2], "gzip")] {
                let again = get_with(
                    &app,
                    path,
                    &[("if-none-match", held), ("accept-encoding", asked)],
                )
                .await;
                assert_eq!(
                    again.status(),
                    StatusCode::NOT_MODIFIED,
                    "{path}: {held} for {asked:?}"
                );
                let expected = if asked.is_empty() { tags[0] } else { tags[1] };
                assert_eq!(header(&again, "etag"), Some(expected), "{path}");
                assert!(vary_names(&again).contains(&"accept-encoding".to_owned()));
            }
            let body = gzip.bytes().await.unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text)
                .unwrap();
            assert_eq!(
                text.as_bytes(),
                &identity.bytes().await.unwrap()[..],
                "{path}"
            );
        }
    })
    .await;
}

#[actix_web::test]
async fn small_bodies_are_sent_as_they_are_and_do_not_vary() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 3).await;
        for path in ["/healthz", "/api/v1/nope", "/api/v1/articles?limit=0"] {
            let response = get_with(&app, path, &[("accept-encoding", "gzip, br")]).await;
            assert_eq!(header(&response, "content-encoding"), None, "{path}");
            assert!(vary_names(&response).is_empty(), "{path}");
        }
    })
    .await;
}

#[actix_web::test]
async fn last_modified_answers_if_modified_since_and_if_none_match_comes_first() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 0).await;
        let editor = app.user(Role::Editor).await;
        let (id, etag, _) = app
            .create_article(
                &editor.token,
                json!({"title": "Dated", "status": "published", "tags": ["Rust"]}),
            )
            .await;
        app.create_article(
            &editor.token,
            json!({"title": "Other", "status": "published"}),
        )
        .await;
        let single = format!("/api/v1/articles/{id}");
        for path in [
            single.as_str(),
            "/api/v1/articles",
            "/api/v1/tags",
            "/api/v1/authors",
        ] {
            let first = app.get(path).await;
            let modified = header(&first, "last-modified").expect(path).to_owned();
            let current = header(&first, "etag").unwrap().to_owned();

            let since = get_with(&app, path, &[("if-modified-since", &modified)]).await;
            let before = get_with(
                &app,
                path,
                &[("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT")],
            )
            .await;
            let tag_wins = get_with(
                &app,
                path,
                &[
                    ("if-modified-since", &modified),
                    ("if-none-match", "\"other\""),
                ],
            )
            .await;
            let tag_matches = get_with(
                &app,
                path,
                &[
                    ("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT"),
                    ("if-none-match", &current),
                ],
            )
            .await;

            assert_eq!(since.status(), StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(before.status(), StatusCode::OK, "{path}");
            assert_eq!(
                tag_wins.status(),
                StatusCode::OK,
                "{path}: If-None-Match takes precedence"
            );
            assert_eq!(tag_matches.status(), StatusCode::NOT_MODIFIED, "{path}");
        }

        // Deleting an article makes no remaining row newer; the list still says it changed.
        let list = app.get("/api/v1/articles").await;
        let modified = header(&list, "last-modified").unwrap().to_owned();
        actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
        let deleted = app
            .send(
                Method::DELETE,
                &single,
                Some(&editor.token),
                None,
                Some(&etag),
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let after = get_with(
            &app,
            "/api/v1/articles",
            &[("if-modified-since", &modified)],
        )
        .await;
        assert_eq!(after.status(), StatusCode::OK, "the deletion is a change");
        let body: Value = after.json().await.unwrap();
        assert_eq!(body["meta"]["total"], 1);
    })
    .await;
}

#[actix_web::test]
async fn each_kind_of_response_says_how_long_caches_may_keep_it() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 5).await;
        let list = app.get("/api/v1/articles").await;
        let cache_control = header(&list, "cache-control").unwrap();
        for directive in [
            "max-age=",
            "s-maxage=",
            "stale-while-revalidate=",
            "stale-if-error=",
        ] {
            assert!(cache_control.contains(directive), "{cache_control}");
        }
        assert!(!cache_control.contains("public"), "{cache_control}");
        for probe in ["/healthz", "/readyz"] {
            assert_eq!(
                header(&app.get(probe).await, "cache-control"),
                Some("no-store")
            );
        }
        let document = app.get("/api-docs/openapi.json").await;
        assert!(
            header(&document, "cache-control")
                .unwrap()
                .starts_with("max-age=")
        );
        let tag = header(&document, "etag").unwrap().to_owned();
        let again = get_with(&app, "/api-docs/openapi.json", &[("if-none-match", &tag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let bundle = app.get("/swagger-ui/swagger-ui-bundle.js").await;
        assert_eq!(bundle.status(), StatusCode::OK);
        assert!(
            header(&bundle, "cache-control")
                .unwrap()
                .contains("immutable")
        );
        assert!(header(&bundle, "etag").is_some());
        let user = app.user(Role::Author).await;
        let private = app
            .client
            .get(app.url("/api/v1/articles"))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        assert!(
            header(&private, "cache-control")
                .unwrap()
                .starts_with("private")
        );
    })
    .await;
}

#[actix_web::test]
async fn head_answers_every_get_route_with_its_status_and_headers_and_no_body() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 10).await;
        let admin = app.user(Role::Admin).await;
        let article = app
            .get_json("/api/v1/articles?limit=1", StatusCode::OK)
            .await["data"][0]
            .clone();
        let tag = app.get_json("/api/v1/tags?limit=1", StatusCode::OK).await["data"][0].clone();
        let author = app
            .get_json("/api/v1/authors?limit=1", StatusCode::OK)
            .await["data"][0]
            .clone();
        let doc: Value = app.get_json("/api-docs/openapi.json", StatusCode::OK).await;
        let mut paths: Vec<String> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, item)| item.get("get").is_some())
            .map(|(path, _)| path.clone())
            .collect();
        paths.extend([
            "/api-docs/openapi.json".to_owned(),
            "/swagger-ui/".to_owned(),
        ]);
        let preview = app
            .send(
                Method::POST,
                &format!("/api/v1/articles/{}/preview", article["id"]),
                Some(&admin.token),
                None,
                None,
            )
            .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        let preview_token = preview.body["token"].as_str().unwrap().to_owned();
        for template in paths {
            let path = template
                .replace("/preview/{token}", &format!("/preview/{preview_token}"))
                .replace("/sitemaps/{number}", "/sitemaps/1")
                .replace("/revisions/{version}", "/revisions/1")
                .replace("/webhooks/{id}", "/webhooks/1")
                .replace("/media/{id}", "/media/1")
                .replace("/media/{key}", &format!("/media/{}.jpg", "0".repeat(64)))
                .replace("/articles/{id}", &format!("/articles/{}", article["id"]))
                .replace(
                    "/articles/slug/{slug}",
                    &format!("/articles/slug/{}", article["slug"].as_str().unwrap()),
                )
                .replace("/tags/{id}", &format!("/tags/{}", tag["id"]))
                .replace(
                    "/tags/slug/{slug}",
                    &format!("/tags/slug/{}", tag["slug"].as_str().unwrap()),
                )
                .replace("/authors/{id}", &format!("/authors/{}", author["id"]))
                .replace(
                    "/authors/slug/{slug}",
                    &format!("/authors/slug/{}", author["slug"].as_str().unwrap()),
                )
                .replace("/users/{id}", &format!("/users/{}", admin.id));
            assert!(!path.contains('{'), "no value for {path}");
            let get = app
                .client
                .get(app.url(&path))
                .bearer_auth(&admin.token)
                .send()
                .await
                .unwrap();
            let head = app
                .client
                .request(Method::HEAD, app.url(&path))
                .bearer_auth(&admin.token)
                .send()
                .await
                .unwrap();
            assert_eq!(head.status(), get.status(), "HEAD {path}");
            assert_ne!(head.status(), StatusCode::METHOD_NOT_ALLOWED, "HEAD {path}");
            for name in ["content-type", "content-length", "cache-control", "vary"] {
                assert_eq!(
                    header(&head, name),
                    header(&get, name),
                    "HEAD {path}: {name}"
                );
            }
            assert_eq!(
                header(&head, "etag").is_some(),
                header(&get, "etag").is_some(),
                "HEAD {path}"
            );
            assert!(
                head.bytes().await.unwrap().is_empty(),
                "HEAD {path} has no body"
            );
        }
    })
    .await;
}

#[actix_web::test]
async fn tags_named_with_symbols_get_readable_slugs_of_their_own() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 0).await;
        let editor = app.user(Role::Editor).await;
        for (name, slug) in [
            ("C", "c"),
            ("C++", "c-plus-plus"),
            ("C#", "c-sharp"),
            ("F#", "f-sharp"),
            (".NET", "dotnet"),
            ("Node.js", "node-js"),
        ] {
            let created = app
                .send(
                    Method::POST,
                    "/api/v1/tags",
                    Some(&editor.token),
                    Some(json!({"name": name})),
                    None,
                )
                .await;
            assert_eq!(
                created.status,
                StatusCode::CREATED,
                "{name}: {}",
                created.body
            );
            assert_eq!(created.body["slug"], slug, "{name}");
        }
        let (_, _, article) = app
            .create_article(
                &editor.token,
                json!({"title": "Systems", "tags": ["C++", "c-sharp", "Go#"]}),
            )
            .await;
        let slugs: Vec<&str> = article["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs.len(), 3);
        for slug in ["c-plus-plus", "c-sharp", "go-sharp"] {
            assert!(slugs.contains(&slug), "{slugs:?}");
        }
    })
    .await;
}
