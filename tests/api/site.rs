//! `/site`: what a frontend reads first, and what only admins change, with the same
//! optimistic locking as articles.

use folio::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{on_each_backend, spawn_empty};

#[actix_web::test]
async fn anyone_reads_the_site_and_only_an_admin_changes_it_with_its_etag() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let site = app
            .send(Method::GET, "/api/v1/site", None, None, None)
            .await;
        assert_eq!(site.status, StatusCode::OK);
        for field in [
            "title",
            "description",
            "url",
            "locale",
            "article_url",
            "tag_url",
            "author_url",
        ] {
            assert!(site.body[field].is_string(), "{field}: {}", site.body);
        }
        assert!(site.body["logo"].is_null());
        assert_eq!(site.body["article_url"], "{url}/articles/{slug}");
        assert_eq!(site.body["tag_url"], "{url}/tags/{slug}");
        assert_eq!(site.body["author_url"], "{url}/authors/{slug}");
        let etag = site.header("etag").unwrap().to_owned();
        let change = json!({"title": "Field Notes", "url": "https://notes.example",
                            "logo": "https://notes.example/logo.svg"});

        let anonymous = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                None,
                Some(change.clone()),
                Some(&etag),
            )
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        for role in [Role::Contributor, Role::Author, Role::Editor] {
            let user = app.user(role).await;
            let denied = app
                .send(
                    Method::PATCH,
                    "/api/v1/site",
                    Some(&user.token),
                    Some(change.clone()),
                    Some(&etag),
                )
                .await;
            assert_eq!(denied.status, StatusCode::FORBIDDEN, "{role}");
        }
        let admin = app.user(Role::Admin).await;
        let unconditional = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(change.clone()),
                None,
            )
            .await;
        assert_eq!(unconditional.status, StatusCode::PRECONDITION_REQUIRED);

        let changed = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(change.clone()),
                Some(&etag),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(changed.body["title"], "Field Notes");
        assert_eq!(
            changed.body["description"], site.body["description"],
            "absent fields stay"
        );
        let new_etag = changed.header("etag").unwrap().to_owned();
        assert_ne!(new_etag, etag);

        // The old ETag is stale now: nothing is written.
        let stale = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(json!({"title": "Lost update"})),
                Some(&etag),
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        let read = app
            .send(Method::GET, "/api/v1/site", None, None, None)
            .await;
        assert_eq!(read.body["title"], "Field Notes");
        assert_eq!(read.body["logo"], "https://notes.example/logo.svg");
        assert_eq!(read.header("etag"), Some(new_etag.as_str()));

        // null removes the logo.
        let cleared = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(json!({"logo": null})),
                Some(&new_etag),
            )
            .await;
        assert_eq!(cleared.status, StatusCode::OK);
        assert!(cleared.body["logo"].is_null());
    })
    .await;
}

#[actix_web::test]
async fn each_bad_field_gets_its_own_error_and_nothing_is_written() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let admin = app.user(Role::Admin).await;
        let site = app
            .send(Method::GET, "/api/v1/site", None, None, None)
            .await;
        let etag = site.header("etag").unwrap().to_owned();
        let reply = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(json!({
                    "title": "  ",
                    "url": "/relative",
                    "locale": "english please",
                    "logo": "javascript:alert(1)",
                    "article_url": "{url}/articles/",
                    "tag_url": "ftp://files.example/{slug}",
                    "author_url": "{slug}",
                })),
                Some(&etag),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        let fields: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for field in [
            "title",
            "url",
            "locale",
            "logo",
            "article_url",
            "tag_url",
            "author_url",
        ] {
            assert!(fields.contains(&field), "{field} not reported: {fields:?}");
        }
        let unchanged = app
            .send(Method::GET, "/api/v1/site", None, None, None)
            .await;
        assert_eq!(unchanged.body, site.body);

        // A template is checked against the URL it will be filled with.
        let with_url = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(json!({"url": "not a url", "title": "T\u{0}"})),
                Some(&etag),
            )
            .await;
        assert_eq!(with_url.status, StatusCode::UNPROCESSABLE_ENTITY);
        let unknown = app
            .send(
                Method::PATCH,
                "/api/v1/site",
                Some(&admin.token),
                Some(json!({"theme": "dark"})),
                Some(&etag),
            )
            .await;
        assert_eq!(
            unknown.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            unknown.body
        );
    })
    .await;
}
