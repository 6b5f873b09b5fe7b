//! Login, tokens and sessions.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use folio::auth::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, on_each_backend, spawn_app_with, spawn_empty};

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.send(Method::GET, "/api/v1/me", Some(token), None, None)
        .await
        .status
}

fn claims(user_id: i64, exp_offset: i64, audience: &str) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": user_id.to_string(), "role": "admin", "iat": now - 1000, "exp": now + exp_offset, "iss": "folio", "aud": audience})
}

#[actix_web::test]
async fn unknown_email_and_wrong_password_get_the_same_401() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let user = app.user(Role::Author).await;

        let wrong_password = app.login(&user.email, "not the password at all").await;
        let unknown_email = app
            .login("nobody@example.com", "not the password at all")
            .await;
        let other_case = app.login(&user.email.to_uppercase(), &user.password).await;

        assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown_email.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong_password.body["detail"], unknown_email.body["detail"]);
        assert_eq!(wrong_password.header("www-authenticate"), Some("Bearer"));
        assert_eq!(
            other_case.status,
            StatusCode::OK,
            "emails are case-insensitive"
        );
        assert_eq!(other_case.body["token_type"], "Bearer");
        assert_eq!(other_case.body["expires_in"], 900);
        assert_eq!(other_case.body["user"]["role"], "author");
    })
    .await;
}

#[actix_web::test]
async fn expired_foreign_unsigned_and_misaddressed_tokens_are_refused() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let user = app.user(Role::Admin).await;
        let secret = app.stored_secret();
        let sign = |claims: &serde_json::Value, key: &[u8]| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                claims,
                &EncodingKey::from_secret(key),
            )
            .unwrap()
        };
        let valid = sign(&claims(user.id, 600, "folio"), &secret);
        let expired = sign(&claims(user.id, -120, "folio"), &secret);
        let foreign = sign(
            &claims(user.id, 600, "folio"),
            b"another key that is also 32 bytes long!",
        );
        let elsewhere = sign(&claims(user.id, 600, "some-other-api"), &secret);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims(user.id, 600, "folio").to_string());
        let unsigned = format!("{header}.{payload}.");

        assert_eq!(
            me_status(&app, &valid).await,
            StatusCode::OK,
            "a correctly made token works"
        );
        for (name, token) in [
            ("expired", expired),
            ("foreign", foreign),
            ("audience", elsewhere),
            ("alg none", unsigned),
            ("garbage", "abc".into()),
        ] {
            let reply = app
                .send(Method::GET, "/api/v1/me", Some(&token), None, None)
                .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{name}");
        }
        let bad_on_public = app
            .send(Method::GET, "/api/v1/articles", Some("abc"), None, None)
            .await;
        assert_eq!(
            bad_on_public.status,
            StatusCode::UNAUTHORIZED,
            "a bad token is never silently ignored"
        );
    })
    .await;
}

#[actix_web::test]
async fn a_disabled_users_tokens_stop_working_at_once() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let admin = app.user(Role::Admin).await;
        let user = app.user(Role::Editor).await;
        assert_eq!(me_status(&app, &user.token).await, StatusCode::OK);

        let disabled = app
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{}", user.id),
                Some(&admin.token),
                Some(json!({"disabled": true})),
                None,
            )
            .await;

        assert_eq!(disabled.status, StatusCode::OK);
        assert_eq!(me_status(&app, &user.token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.login(&user.email, &user.password).await.status,
            StatusCode::UNAUTHORIZED
        );
        let refresh = app
            .send(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": user.refresh_token})),
                None,
            )
            .await;
        assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_reusing_one_revokes_the_whole_family() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let user = app.user(Role::Author).await;
        let refresh = |token: String| {
            let app = &app;
            async move {
                app.send(
                    Method::POST,
                    "/api/v1/auth/refresh",
                    None,
                    Some(json!({"refresh_token": token})),
                    None,
                )
                .await
            }
        };

        let first = refresh(user.refresh_token.clone()).await;
        assert_eq!(first.status, StatusCode::OK);
        let second_token = first.body["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(second_token, user.refresh_token);
        assert_eq!(
            me_status(&app, first.body["access_token"].as_str().unwrap()).await,
            StatusCode::OK
        );

        let reuse = refresh(user.refresh_token.clone()).await;
        let after_reuse = refresh(second_token).await;

        assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            after_reuse.status,
            StatusCode::UNAUTHORIZED,
            "the rotated token was revoked with the family"
        );
    })
    .await;
}

#[actix_web::test]
async fn logout_revokes_the_refresh_token() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let user = app.user(Role::Author).await;

        let logout = app
            .send(
                Method::POST,
                "/api/v1/auth/logout",
                None,
                Some(json!({"refresh_token": user.refresh_token})),
                None,
            )
            .await;
        let refresh = app
            .send(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": user.refresh_token})),
                None,
            )
            .await;

        assert_eq!(logout.status, StatusCode::NO_CONTENT);
        assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[actix_web::test]
async fn tokens_survive_a_restart_without_a_configured_secret() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let user = app.user(Role::Author).await;

        let base = crate::helpers::start(folio::Config::for_tests(&app.db.url)).await;
        let reply = app
            .client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();

        assert_eq!(reply.status(), StatusCode::OK);
    })
    .await;
}

#[actix_web::test]
async fn a_configured_secret_shorter_than_32_bytes_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        folio::Config::for_tests(&format!("sqlite://{}", dir.path().join("f.db").display()));
    config.jwt_secret = Some("too short".into());

    let error = folio::Application::build(config)
        .err()
        .expect("start-up fails");

    assert!(error.to_string().contains("at least 32 bytes"), "{error}");
}

#[actix_web::test]
async fn logins_are_rate_limited_per_account_with_retry_after() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let user = app.user(Role::Author).await;
        let mut statuses = Vec::new();
        for _ in 0..12 {
            statuses.push(app.login(&user.email, "wrong password, again").await);
        }
        let last = statuses.last().unwrap();
        assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(last.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        assert!(
            statuses
                .iter()
                .take(9)
                .all(|r| r.status == StatusCode::UNAUTHORIZED)
        );
    })
    .await;
}

#[actix_web::test]
async fn changing_a_password_needs_the_current_one_and_ends_other_sessions() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let user = app.user(Role::Author).await;
        let change = |body: serde_json::Value| app.send(Method::PATCH, "/api/v1/me", Some(&user.token), Some(body), None);

        let without_current = change(json!({"password": "a brand new password"})).await;
        let wrong_current = change(json!({"password": "a brand new password", "current_password": "not it at all"})).await;
        let too_short = change(json!({"password": "short", "current_password": user.password})).await;
        let ok = change(json!({"password": "a brand new password", "current_password": user.password, "name": "Renamed"})).await;

        assert_eq!(without_current.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(without_current.body["errors"][0]["field"], "current_password");
        assert_eq!(wrong_current.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(too_short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(too_short.body["errors"][0]["field"], "password");
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.body["name"], "Renamed");
        let refresh = app.send(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": user.refresh_token})), None).await;
        assert_eq!(refresh.status, StatusCode::UNAUTHORIZED, "old sessions end");
        assert_eq!(app.login(&user.email, &user.password).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.login(&user.email, "a brand new password").await.status, StatusCode::OK);
    })
    .await;
}

#[actix_web::test]
async fn the_last_admin_cannot_be_demoted_disabled_or_deleted() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let admin = app.user(Role::Admin).await;
        let path = format!("/api/v1/users/{}", admin.id);

        let demote = app
            .send(
                Method::PATCH,
                &path,
                Some(&admin.token),
                Some(json!({"role": "editor"})),
                None,
            )
            .await;
        let disable = app
            .send(
                Method::PATCH,
                &path,
                Some(&admin.token),
                Some(json!({"disabled": true})),
                None,
            )
            .await;
        let delete = app
            .send(Method::DELETE, &path, Some(&admin.token), None, None)
            .await;

        for reply in [&demote, &disable, &delete] {
            assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
        }
        let second = app.user(Role::Admin).await;
        let demote_now = app
            .send(
                Method::PATCH,
                &path,
                Some(&second.token),
                Some(json!({"role": "editor"})),
                None,
            )
            .await;
        assert_eq!(
            demote_now.status,
            StatusCode::OK,
            "with another admin it is allowed"
        );
    })
    .await;
}

#[actix_web::test]
async fn deleting_a_user_gives_their_articles_to_someone_else() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let admin = app.user(Role::Admin).await;
        let leaver = app.user(Role::Author).await;
        let heir = app.user(Role::Author).await;
        let (article, _, _) = app
            .create_article(
                &leaver.token,
                json!({"title": "Legacy", "status": "published"}),
            )
            .await;

        let deleted = app
            .send(
                Method::DELETE,
                &format!("/api/v1/users/{}?reassign_to={}", leaver.id, heir.id),
                Some(&admin.token),
                None,
                None,
            )
            .await;

        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let now = app
            .get_json(&format!("/api/v1/articles/{article}"), StatusCode::OK)
            .await;
        assert_eq!(now["author"]["id"], heir.id);
        assert_eq!(
            me_status(&app, &leaver.token).await,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[actix_web::test]
async fn the_first_admin_comes_from_the_environment_on_an_empty_database() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(
            backend,
            |config| {
                config.admin_email = Some("Boss@Example.com".into());
                config.admin_password = Some("the boss's long password".into());
            },
            |_| {},
        )
        .await;

        let login = app
            .login("boss@example.com", "the boss's long password")
            .await;

        assert_eq!(login.status, StatusCode::OK);
        assert_eq!(login.body["user"]["role"], "admin");
    })
    .await;
}
