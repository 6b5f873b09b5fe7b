//! Draft previews: who may make a link, what the link shows, and when it stops working.

use folio::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Reply, TestApp, on_each_backend, spawn_app_with, spawn_empty};

async fn make_preview(app: &TestApp, id: i64, token: Option<&str>) -> Reply {
    app.send(
        Method::POST,
        &format!("/api/v1/articles/{id}/preview"),
        token,
        None,
        None,
    )
    .await
}

async fn open(app: &TestApp, token: &str) -> Reply {
    app.send(
        Method::GET,
        &format!("/api/v1/preview/{token}"),
        None,
        None,
        None,
    )
    .await
}

#[actix_web::test]
async fn whoever_may_read_a_draft_may_share_it_and_the_link_shows_it_as_it_is_now() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let writer = app.user(Role::Contributor).await;
        let (draft, etag, _) = app
            .create_article(
                &writer.token,
                json!({"title": "Work in progress", "body_markdown": "First *draft*."}),
            )
            .await;
        assert_eq!(
            app.send(
                Method::GET,
                &format!("/api/v1/articles/{draft}"),
                None,
                None,
                None
            )
            .await
            .status,
            StatusCode::NOT_FOUND,
            "the draft is not public"
        );

        // Per the role table: the writer and editors up may read the draft, so they may
        // share it; other contributors and authors may not, and see no such article.
        let other_contributor = app.user(Role::Contributor).await;
        let other_author = app.user(Role::Author).await;
        let editor = app.user(Role::Editor).await;
        let admin = app.user(Role::Admin).await;
        for (who, token, expected) in [
            ("anonymous", None, StatusCode::UNAUTHORIZED),
            (
                "another contributor",
                Some(&other_contributor.token),
                StatusCode::NOT_FOUND,
            ),
            (
                "another author",
                Some(&other_author.token),
                StatusCode::NOT_FOUND,
            ),
            ("the writer", Some(&writer.token), StatusCode::OK),
            ("an editor", Some(&editor.token), StatusCode::OK),
            ("an admin", Some(&admin.token), StatusCode::OK),
        ] {
            let reply = make_preview(&app, draft, token.map(String::as_str)).await;
            assert_eq!(reply.status, expected, "{who}: {}", reply.body);
        }

        let preview = make_preview(&app, draft, Some(&writer.token)).await;
        let token = preview.body["token"].as_str().unwrap().to_owned();
        assert!(token.len() >= 40, "unguessable: {token}");
        let site = app
            .send(Method::GET, "/api/v1/site", None, None, None)
            .await;
        let page = site.body["article_url"]
            .as_str()
            .unwrap()
            .replace(
                "{url}",
                site.body["url"].as_str().unwrap().trim_end_matches('/'),
            )
            .replace("{slug}", "work-in-progress");
        assert_eq!(preview.body["url"], format!("{page}?preview={token}"));
        let expires: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(preview.body["expires_at"].clone()).unwrap();
        let in_a_day = chrono::Utc::now() + chrono::Duration::days(1);
        assert!((expires - in_a_day).num_seconds().abs() < 60, "{expires}");

        let shown = open(&app, &token).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert_eq!(shown.body["status"], "draft");
        assert_eq!(shown.body["body_html"], "<p>First <em>draft</em>.</p>\n");
        assert_eq!(shown.header("cache-control"), Some("private, no-store"));
        assert_eq!(shown.header("x-robots-tag"), Some("noindex"));

        // The same link shows the latest saved version.
        let edited = app
            .send(
                Method::PATCH,
                &format!("/api/v1/articles/{draft}"),
                Some(&writer.token),
                Some(json!({"body_markdown": "Second draft."})),
                Some(&etag),
            )
            .await;
        assert_eq!(edited.status, StatusCode::OK);
        let shown = open(&app, &token).await;
        assert_eq!(shown.body["body_html"], "<p>Second draft.</p>\n");

        // A template with a query of its own gets `&preview=`.
        let site_etag = site.header("etag").unwrap().to_owned();
        let patched = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(
                    json!({"url": "https://blog.example", "article_url": "{url}/read?slug={slug}"}),
                ),
                Some(&site_etag),
            )
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        let again = make_preview(&app, draft, Some(&editor.token)).await;
        let again_token = again.body["token"].as_str().unwrap();
        assert_eq!(
            again.body["url"],
            format!("https://blog.example/read?slug=work-in-progress&preview={again_token}")
        );

        // Scheduled articles preview the same way.
        let author = app.user(Role::Author).await;
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let (scheduled, _, _) = app
            .create_article(
                &author.token,
                json!({"title": "Coming soon", "body_markdown": "x", "status": "scheduled",
                       "published_at": tomorrow}),
            )
            .await;
        let link = make_preview(&app, scheduled, Some(&author.token)).await;
        let shown = open(&app, link.body["token"].as_str().unwrap()).await;
        assert_eq!(shown.body["status"], "scheduled");
    })
    .await;
}

#[actix_web::test]
async fn a_bad_tampered_expired_or_orphaned_token_is_not_found() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(backend, |config| config.preview_ttl_secs = 2, |_| {}).await;
        let author = app.user(Role::Author).await;
        let (id, _, _) = app
            .create_article(
                &author.token,
                json!({"title": "Short-lived", "body_markdown": "x"}),
            )
            .await;
        let (other, _, _) = app
            .create_article(
                &author.token,
                json!({"title": "Other", "body_markdown": "y"}),
            )
            .await;
        let token = make_preview(&app, id, Some(&author.token)).await.body["token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(open(&app, &token).await.status, StatusCode::OK);

        // Change one character of the payload (the article id) or the signature.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let payload = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1])
                .unwrap(),
        )
        .unwrap()
        .replace(
            &format!("\"sub\":\"{id}\""),
            &format!("\"sub\":\"{other}\""),
        );
        parts[1] =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload);
        let tampered = parts.join(".");
        let mut resigned = token.clone();
        resigned.pop();
        resigned.push(if token.ends_with('A') { 'B' } else { 'A' });
        // An access token is signed with the same key but is not a preview.
        for bad in [
            "nonsense",
            tampered.as_str(),
            resigned.as_str(),
            author.token.as_str(),
        ] {
            let reply = open(&app, bad).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{bad}");
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json")
            );
        }

        // Deleting the article ends its previews.
        let (doomed, doomed_etag, _) = app
            .create_article(
                &author.token,
                json!({"title": "Doomed", "body_markdown": "z"}),
            )
            .await;
        let doomed_token = make_preview(&app, doomed, Some(&author.token)).await.body["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let deleted = app
            .send(
                Method::DELETE,
                &format!("/api/v1/articles/{doomed}"),
                Some(&author.token),
                None,
                Some(&doomed_etag),
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(
            open(&app, &doomed_token).await.status,
            StatusCode::NOT_FOUND
        );

        // Past FOLIO_PREVIEW_TTL_SECS the link is dead.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(3_100)).await;
        assert_eq!(open(&app, &token).await.status, StatusCode::NOT_FOUND);
    })
    .await;
}
