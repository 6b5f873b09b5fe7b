//! Personal access tokens as a script uses them: made once, sent as a bearer token, allowed
//! what the user's role and the token's scopes both allow, and stopped at once by revocation,
//! expiry, demotion, disabling or deletion of the user.

use folio::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestUser, on_each_backend, spawn_app_with, spawn_empty};

async fn make_token(app: &TestApp, bearer: &str, scopes: &[&str]) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/me/tokens",
        Some(bearer),
        Some(json!({"name": format!("script {}", scopes.join("+")), "scopes": scopes})),
        None,
    )
    .await
}

async fn token(app: &TestApp, user: &TestUser, scopes: &[&str]) -> String {
    let made = make_token(app, &user.token, scopes).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let token = made.body["token"].as_str().unwrap().to_owned();
    assert!(
        token.starts_with("folio_pat_") && token.len() >= 10 + 43,
        "{token}"
    );
    assert!(token.starts_with(made.body["prefix"].as_str().unwrap()));
    token
}

fn missing_scope(reply: &Reply, scope: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert_eq!(
        reply.body["errors"][0]["field"], "scope",
        "{:?}",
        reply.body
    );
    assert_eq!(
        reply.body["errors"][0]["message"],
        format!("{scope} is required"),
        "{:?}",
        reply.body
    );
}

async fn post_article(app: &TestApp, bearer: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/articles",
        Some(bearer),
        Some(body),
        None,
    )
    .await
}

async fn drafts(app: &TestApp, bearer: &str) -> Reply {
    app.send(
        Method::GET,
        "/api/v1/articles?status=draft",
        Some(bearer),
        None,
        None,
    )
    .await
}

#[actix_web::test]
async fn a_token_may_do_what_both_its_scopes_and_its_users_role_allow() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let editor = app.user(Role::Editor).await;
        app.send(
            Method::POST,
            "/api/v1/tags",
            Some(&editor.token),
            Some(json!({"name": "Known"})),
            None,
        )
        .await;
        let author = app.user(Role::Author).await;

        let reader = token(&app, &author, &["content:read"]).await;
        missing_scope(
            &post_article(&app, &reader, json!({"title": "No", "body_markdown": "x"})).await,
            "content:write",
        );
        assert_eq!(drafts(&app, &reader).await.status, StatusCode::OK);
        missing_scope(&make_token(&app, &reader, &["content:read"]).await, "tokens:manage");

        let writer = token(&app, &author, &["content:write"]).await;
        let created = post_article(
            &app,
            &writer,
            json!({"title": "From CI", "body_markdown": "x", "status": "published", "tags": ["Known"]}),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        assert_eq!(created.body["author"]["id"], author.id);
        missing_scope(
            &post_article(&app, &writer, json!({"title": "New tag", "body_markdown": "x", "tags": ["Brand new"]}))
                .await,
            "tags:write",
        );
        missing_scope(&drafts(&app, &writer).await, "content:read");

        let tagger = token(&app, &author, &["content:write", "tags:write"]).await;
        let with_new_tag = post_article(
            &app,
            &tagger,
            json!({"title": "New tag", "body_markdown": "x", "tags": ["Brand new"]}),
        )
        .await;
        assert_eq!(with_new_tag.status, StatusCode::CREATED, "{:?}", with_new_tag.body);
        // The role still rules: an author's token cannot manage tags directly.
        let rename = app
            .send(
                Method::POST,
                "/api/v1/tags",
                Some(&tagger),
                Some(json!({"name": "Editors only"})),
                None,
            )
            .await;
        assert_eq!(rename.status, StatusCode::FORBIDDEN, "{:?}", rename.body);

        // No scope beyond the role; a token makes tokens only with tokens:manage, and no wider.
        let beyond = make_token(&app, &author.token, &["users:admin"]).await;
        assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", beyond.body);
        assert_eq!(beyond.body["errors"][0]["field"], "scopes");
        let unknown = make_token(&app, &author.token, &["content:write", "root"]).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        let manager = token(&app, &author, &["tokens:manage", "content:read"]).await;
        assert_eq!(
            make_token(&app, &manager, &["content:read"]).await.status,
            StatusCode::CREATED
        );
        let soon = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let expiring = app
            .send(
                Method::POST,
                "/api/v1/me/tokens",
                Some(&author.token),
                Some(json!({"name": "expiring manager", "scopes": ["tokens:manage"], "expires_at": soon})),
                None,
            )
            .await;
        let expiring = expiring.body["token"].as_str().unwrap().to_owned();
        let outliving = app
            .send(
                Method::POST,
                "/api/v1/me/tokens",
                Some(&expiring),
                Some(json!({"name": "outliving", "scopes": ["tokens:manage"], "expires_at": later})),
                None,
            )
            .await;
        assert_eq!(outliving.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", outliving.body);
        assert_eq!(outliving.body["errors"][0]["field"], "expires_at");
        let wider = make_token(&app, &manager, &["content:write"]).await;
        assert_eq!(wider.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", wider.body);

        // A token does not change who its user is.
        let profile = app
            .send(Method::PATCH, "/api/v1/me", Some(&writer), Some(json!({"name": "Renamed"})), None)
            .await;
        assert_eq!(profile.status, StatusCode::FORBIDDEN, "{:?}", profile.body);

        // An editor's write-only token cannot reach someone else's draft, not even by editing it.
        let (draft, etag, _) = app
            .create_article(&author.token, json!({"title": "Private draft", "body_markdown": "x"}))
            .await;
        let editors_writer = token(&app, &editor, &["content:write"]).await;
        let blind = app
            .send(
                Method::PATCH,
                &format!("/api/v1/articles/{draft}"),
                Some(&editors_writer),
                Some(json!({"title": "Seen"})),
                Some(&etag),
            )
            .await;
        assert_eq!(blind.status, StatusCode::NOT_FOUND, "{:?}", blind.body);

        // Listed by prefix, never the token itself.
        let listed = app
            .send(Method::GET, "/api/v1/me/tokens", Some(&author.token), None, None)
            .await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 6);
        let text = listed.body.to_string();
        for secret in [&reader, &writer, &tagger, &manager] {
            assert!(!text.contains(secret.as_str()), "a listing shows a token");
        }
        assert!(listed.body["data"].as_array().unwrap().iter().all(|t| t.get("token").is_none()));
        // Used ones say when.
        let used = listed.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| reader.starts_with(t["prefix"].as_str().unwrap()))
            .unwrap()
            .clone();
        assert!(used["last_used_at"].is_string(), "{used}");
    })
    .await;
}

#[actix_web::test]
async fn a_token_stops_at_once_when_revoked_expired_or_its_user_changes() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let admin = app.user(Role::Admin).await;
        let author = app.user(Role::Author).await;
        let me = |bearer: String| {
            let app = &app;
            async move {
                app.send(Method::GET, "/api/v1/me", Some(&bearer), None, None)
                    .await
                    .status
            }
        };

        // Revoked by its owner, and by an admin.
        let own = token(&app, &author, &["content:read"]).await;
        let listed = app
            .send(
                Method::GET,
                "/api/v1/me/tokens",
                Some(&author.token),
                None,
                None,
            )
            .await;
        let id = listed.body["data"][0]["id"].as_i64().unwrap();
        assert_eq!(me(own.clone()).await, StatusCode::OK);
        let revoked = app
            .send(
                Method::DELETE,
                &format!("/api/v1/me/tokens/{id}"),
                Some(&author.token),
                None,
                None,
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        assert_eq!(me(own).await, StatusCode::UNAUTHORIZED);

        let other = token(&app, &author, &["content:read"]).await;
        let path = format!("/api/v1/users/{}/tokens", author.id);
        let seen = app
            .send(Method::GET, &path, Some(&admin.token), None, None)
            .await;
        assert_eq!(seen.status, StatusCode::OK);
        let id = seen.body["data"][0]["id"].as_i64().unwrap();
        let admins = format!("/api/v1/users/{}/tokens", admin.id);
        assert_eq!(
            app.send(Method::GET, &admins, Some(&author.token), None, None)
                .await
                .status,
            StatusCode::FORBIDDEN,
            "only admins see others' tokens"
        );
        let gone = app
            .send(
                Method::DELETE,
                &format!("{path}/{id}"),
                Some(&admin.token),
                None,
                None,
            )
            .await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        assert_eq!(me(other).await, StatusCode::UNAUTHORIZED);

        // Expired.
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
        let expiring = app
            .send(
                Method::POST,
                "/api/v1/me/tokens",
                Some(&author.token),
                Some(json!({"name": "short", "scopes": ["content:read"], "expires_at": soon})),
                None,
            )
            .await;
        assert_eq!(expiring.status, StatusCode::CREATED, "{:?}", expiring.body);
        let expiring = expiring.body["token"].as_str().unwrap().to_owned();
        assert_eq!(me(expiring.clone()).await, StatusCode::OK);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(me(expiring).await, StatusCode::UNAUTHORIZED);

        // Demoted: the role applies at once (a contributor cannot publish).
        let writer = token(&app, &author, &["content:write"]).await;
        let user_path = format!("/api/v1/users/{}", author.id);
        let etag = |reply: &Reply| reply.header("etag").unwrap().to_owned();
        let current = app
            .send(Method::GET, &user_path, Some(&admin.token), None, None)
            .await;
        let demoted = app
            .send(
                Method::PATCH,
                &user_path,
                Some(&admin.token),
                Some(json!({"role": "contributor"})),
                Some(&etag(&current)),
            )
            .await;
        assert_eq!(demoted.status, StatusCode::OK, "{:?}", demoted.body);
        let publish = post_article(
            &app,
            &writer,
            json!({"title": "After demotion", "body_markdown": "x", "status": "published"}),
        )
        .await;
        assert_eq!(publish.status, StatusCode::FORBIDDEN, "{:?}", publish.body);

        // Disabled, then deleted: refused at once.
        let current = app
            .send(Method::GET, &user_path, Some(&admin.token), None, None)
            .await;
        let disabled = app
            .send(
                Method::PATCH,
                &user_path,
                Some(&admin.token),
                Some(json!({"disabled": true})),
                Some(&etag(&current)),
            )
            .await;
        assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
        assert_eq!(me(writer.clone()).await, StatusCode::UNAUTHORIZED);
        let deleted = app
            .send(Method::DELETE, &user_path, Some(&admin.token), None, None)
            .await;
        assert!(deleted.status.is_success(), "{:?}", deleted.body);
        assert_eq!(me(writer).await, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[actix_web::test]
async fn folio_token_create_prints_a_token_a_script_can_use_as_is() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(backend, |_| {}, |_| {}).await;
        let author = app.user(Role::Author).await;
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
            .args([
                "--database-url",
                &app.db.url,
                "--log",
                "warn",
                "token",
                "create",
            ])
            .args(["--email", &author.email, "--name", "docs CI"])
            .args([
                "--scopes",
                "content:read,content:write",
                "--expires-in-days",
                "30",
            ])
            .env_remove("FOLIO_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let token = stdout.trim_end_matches('\n');
        assert_eq!(stdout.lines().count(), 1, "only the token: {stdout:?}");
        let created = post_article(
            &app,
            token,
            json!({"title": "From the CLI token", "body_markdown": "x"}),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

        let beyond = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
            .args([
                "--database-url",
                &app.db.url,
                "--log",
                "warn",
                "token",
                "create",
            ])
            .args([
                "--email",
                &author.email,
                "--name",
                "x",
                "--scopes",
                "users:admin",
            ])
            .env_remove("FOLIO_DATABASE_URL")
            .output()
            .unwrap();
        assert!(!beyond.status.success());
        assert!(beyond.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&beyond.stderr)
                .contains("users:admin is beyond the author role")
        );
    })
    .await;
}
