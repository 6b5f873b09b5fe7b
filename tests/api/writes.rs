//! Writing articles: versions and If-Match, slugs, markdown, validation, scheduling.

use folio::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{on_each_backend, spawn_empty};

#[actix_web::test]
async fn of_two_concurrent_patches_with_the_same_etag_exactly_one_wins() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let editor = app.user(Role::Editor).await;
        let (id, etag, _) = app
            .create_article(&editor.token, json!({"title": "Contested"}))
            .await;
        let path = format!("/api/v1/articles/{id}");

        let (a, b) = futures_util::future::join(
            app.send(
                Method::PATCH,
                &path,
                Some(&editor.token),
                Some(json!({"title": "Version A"})),
                Some(&etag),
            ),
            app.send(
                Method::PATCH,
                &path,
                Some(&editor.token),
                Some(json!({"title": "Version B"})),
                Some(&etag),
            ),
        )
        .await;

        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::PRECONDITION_FAILED],
            "{} / {}",
            a.body,
            b.body
        );
        let winner = if a.status == StatusCode::OK { &a } else { &b };
        let now = app
            .send(Method::GET, &path, Some(&editor.token), None, None)
            .await;
        assert_eq!(now.body["title"], winner.body["title"]);
        assert_eq!(now.body["version"], 2);
    })
    .await;
}

#[actix_web::test]
async fn a_missing_if_match_is_428_and_a_stale_one_412_with_nothing_written() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let (id, first_etag, _) = app
            .create_article(&author.token, json!({"title": "One"}))
            .await;
        let path = format!("/api/v1/articles/{id}");
        let edit = |title: &str, etag: Option<String>| {
            let (app, path, token) = (&app, path.clone(), author.token.clone());
            let body = json!({"title": title});
            async move {
                app.send(
                    Method::PATCH,
                    &path,
                    Some(&token),
                    Some(body),
                    etag.as_deref(),
                )
                .await
            }
        };

        let missing = edit("Two", None).await;
        let first = edit("Two", Some(first_etag.clone())).await;
        let stale = edit("Three", Some(first_etag.clone())).await;
        let stale_delete = app
            .send(
                Method::DELETE,
                &path,
                Some(&author.token),
                None,
                Some(&first_etag),
            )
            .await;

        assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(first.status, StatusCode::OK);
        assert_ne!(first.header("etag"), Some(first_etag.as_str()));
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(stale_delete.status, StatusCode::PRECONDITION_FAILED);
        let now = app
            .send(Method::GET, &path, Some(&author.token), None, None)
            .await;
        assert_eq!(now.body["title"], "Two");
        let current = now.header("etag").unwrap().to_owned();
        let deleted = app
            .send(
                Method::DELETE,
                &path,
                Some(&author.token),
                None,
                Some(&current),
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.send(Method::GET, &path, Some(&author.token), None, None)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    })
    .await;
}

#[actix_web::test]
async fn scripts_event_handlers_and_javascript_urls_never_reach_body_html() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let markdown = "# Safe?\n\n<script>alert('x')</script>\n\n<img src=\"a.png\" onerror=\"alert(1)\">\n\n\
                        <a href=\"javascript:alert(2)\" onclick=\"alert(3)\">link</a> and [md](javascript:alert(4)) **bold**";

        let (_, _, article) = app.create_article(&author.token, json!({"title": "XSS", "body_markdown": markdown})).await;

        let html = article["body_html"].as_str().unwrap();
        for forbidden in ["<script", "alert('x')", "onerror", "onclick", "javascript:"] {
            assert!(!html.contains(forbidden), "{forbidden} in {html}");
        }
        assert!(html.contains("<strong>bold</strong>") && html.contains("<h1>Safe?</h1>"), "{html}");
        assert_eq!(article["body_markdown"], markdown, "the source is kept as written");
    })
    .await;
}

#[actix_web::test]
async fn slugs_come_from_titles_and_collide_into_numbered_ones() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let create = |body: serde_json::Value| {
            app.send(
                Method::POST,
                "/api/v1/articles",
                Some(&author.token),
                Some(body),
                None,
            )
        };

        let first = create(json!({"title": "Crème Brûlée, Ünïcode & You"})).await;
        let second = create(json!({"title": "Crème brûlée: ünïcode you"})).await;
        let taken = create(json!({"title": "Anything", "slug": "creme-brulee-unicode-you"})).await;
        let custom = create(json!({"title": "Anything", "slug": "my-own-slug"})).await;

        assert_eq!(first.body["slug"], "creme-brulee-unicode-you");
        assert_eq!(second.body["slug"], "creme-brulee-unicode-you-2");
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert_eq!(custom.body["slug"], "my-own-slug");
        assert_eq!(
            first.header("location"),
            Some(format!("/api/v1/articles/{}", first.body["id"]).as_str())
        );
        assert!(first.header("etag").unwrap().starts_with("\"1-"));
        assert_eq!(
            first.body["status"], "draft",
            "nothing goes live by accident"
        );
        assert!(!first.body["excerpt"].is_null() && first.body["reading_time"].as_i64() == Some(1));
    })
    .await;
}

#[actix_web::test]
async fn bad_bodies_get_422_per_field_400_413_or_415() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let post = |body: reqwest::Body, content_type: &str| {
            app.client
                .post(app.url("/api/v1/articles"))
                .bearer_auth(&author.token)
                .header("content-type", content_type)
                .body(body)
                .send()
        };

        let invalid = app.send(Method::POST, "/api/v1/articles", Some(&author.token), Some(json!({"title": " ", "slug": "Not A Slug", "feature_image": "ftp://x", "tags": ["ok", ""]})), None).await;
        let mistyped = app.send(Method::POST, "/api/v1/articles", Some(&author.token), Some(json!({"title": 5})), None).await;
        let unknown = app.send(Method::POST, "/api/v1/articles", Some(&author.token), Some(json!({"title": "x", "colour": "red"})), None).await;
        let malformed = post("{\"title\": ".into(), "application/json").await.unwrap();
        let wrong_type = post("title=x".into(), "application/x-www-form-urlencoded").await.unwrap();
        let huge = post(format!("{{\"title\": \"x\", \"body_markdown\": \"{}\"}}", "a".repeat(2 * 1024 * 1024)).into(), "application/json").await.unwrap();
        let scheduled_past = app.send(Method::POST, "/api/v1/articles", Some(&author.token), Some(json!({"title": "x", "status": "scheduled", "published_at": "2020-01-01T00:00:00Z"})), None).await;

        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut fields: Vec<&str> = invalid.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["feature_image", "slug", "tags", "title"]);
        assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(mistyped.body["errors"][0]["field"], "title");
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(unknown.body["errors"][0]["field"], "colour");
        for (response, status) in [(malformed, 400), (wrong_type, 415), (huge, 413)] {
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()["content-type"], "application/problem+json");
        }
        assert_eq!(scheduled_past.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(scheduled_past.body["errors"][0]["field"], "published_at");
        let count = app.send(Method::GET, "/api/v1/articles?status=all", Some(&author.token), None, None).await;
        assert_eq!(count.body["meta"]["total"], 0, "nothing was written");
    })
    .await;
}

#[actix_web::test]
async fn a_scheduled_article_goes_live_when_its_time_comes_with_nothing_to_run() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
        let (id, _, created) = app.create_article(&author.token, json!({"title": "Soon", "status": "scheduled", "published_at": at.to_rfc3339(), "tags": ["Launch"]})).await;
        assert_eq!(created["status"], "scheduled");

        app.get_json(&format!("/api/v1/articles/{id}"), StatusCode::NOT_FOUND).await;
        assert_eq!(app.get_json("/api/v1/articles?tag=launch", StatusCode::OK).await["meta"]["total"], 0);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(1700)).await;

        let live = app.get_json(&format!("/api/v1/articles/{id}"), StatusCode::OK).await;
        assert_eq!(live["status"], "published");
        assert_eq!(app.get_json("/api/v1/articles?tag=launch", StatusCode::OK).await["meta"]["total"], 1);
    })
    .await;
}

#[actix_web::test]
async fn publishing_makes_an_article_public_and_tags_are_created_by_name() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let contributor = app.user(Role::Contributor).await;
        let (id, etag, draft) = app.create_article(&author.token, json!({"title": "Going live", "tags": ["Data Engineering", "data-engineering", "Rust"]})).await;
        let tags: Vec<&str> = draft["tags"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
        assert_eq!(tags.len(), 2, "a name and its slug are the same tag: {tags:?}");

        let published = app.send(Method::PATCH, &format!("/api/v1/articles/{id}"), Some(&author.token), Some(json!({"status": "published"})), Some(&etag)).await;
        let by_contributor = app.send(Method::POST, "/api/v1/articles", Some(&contributor.token), Some(json!({"title": "Uses tags", "tags": ["rust", "Brand New"]})), None).await;
        let with_existing = app.send(Method::POST, "/api/v1/articles", Some(&contributor.token), Some(json!({"title": "Uses tags", "tags": ["rust"]})), None).await;

        assert_eq!(published.status, StatusCode::OK);
        assert!(published.body["published_at"].is_string());
        let public = app.get_json("/api/v1/articles?tag=data-engineering", StatusCode::OK).await;
        assert_eq!(crate::helpers::ids(&public), vec![id]);
        assert_eq!(by_contributor.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(by_contributor.body["errors"][0]["field"], "tags");
        assert_eq!(with_existing.status, StatusCode::CREATED);
    })
    .await;
}

#[actix_web::test]
async fn publishing_a_scheduled_article_without_a_time_publishes_it_now() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let (id, etag, _) = app
            .create_article(
                &author.token,
                json!({"title": "Later", "status": "scheduled", "published_at": later}),
            )
            .await;

        let now = app
            .send(
                Method::PATCH,
                &format!("/api/v1/articles/{id}"),
                Some(&author.token),
                Some(json!({"status": "published"})),
                Some(&etag),
            )
            .await;

        assert_eq!(now.status, StatusCode::OK, "{}", now.body);
        assert_eq!(now.body["status"], "published");
        app.get_json(&format!("/api/v1/articles/{id}"), StatusCode::OK)
            .await;
    })
    .await;
}

#[actix_web::test]
async fn nanosecond_publication_times_still_page_correctly_by_cursor() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let mut ids = Vec::new();
        for (i, at) in ["2024-01-01T00:00:00.123456789Z", "2024-01-01T00:00:00.123456789Z", "2024-01-02T00:00:00.000000001Z"].iter().enumerate() {
            let (id, _, _) = app.create_article(&author.token, json!({"title": format!("Nano {i}"), "status": "published", "published_at": at})).await;
            ids.push(id);
        }

        let mut seen = Vec::new();
        let mut path = "/api/v1/articles?sort=published_at&limit=1".to_owned();
        for _ in 0..10 {
            let page = app.get_json(&path, StatusCode::OK).await;
            seen.extend(crate::helpers::ids(&page));
            match page["meta"]["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/articles?sort=published_at&limit=1&cursor={cursor}"),
                None => break,
            }
        }

        assert_eq!(seen, ids);
    })
    .await;
}

#[actix_web::test]
async fn tags_that_slugify_alike_stay_distinct_but_a_name_and_its_slug_are_one() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let (_, _, first) = app.create_article(&author.token, json!({"title": "Langs", "tags": ["C", "C#", "C++"]})).await;
        let (_, _, second) = app.create_article(&author.token, json!({"title": "More", "tags": ["c#", "Data Engineering", "data-engineering", "+"]})).await;

        let names = |article: &serde_json::Value| -> Vec<(String, String)> {
            article["tags"].as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap().to_owned(), t["slug"].as_str().unwrap().to_owned())).collect()
        };
        let first = names(&first);
        assert_eq!(first.len(), 3, "{first:?}");
        let slugs: std::collections::HashSet<&String> = first.iter().map(|(_, s)| s).collect();
        assert_eq!(slugs.len(), 3, "each has its own slug: {first:?}");
        let second = names(&second);
        assert_eq!(second.len(), 3, "{second:?}");
        assert!(second.iter().any(|(name, _)| name == "C#"), "c# is the existing C# tag: {second:?}");
    })
    .await;
}
