//! Single sign-on through an OpenID Connect provider (the test provider in `idp.rs`): the
//! authorization code flow with PKCE as a browser app meets it, the provider's own tokens as
//! bearers, key rotation, and what is refused.

use std::collections::HashMap;

use folio::Config;
use folio::config::CommaList;
use folio::db::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, spawn_app_with};
use crate::idp::{Account, Idp, SigningKey};

const APP: &str = "http://app.example/signed-in";
const CLIENT_ID: &str = "folio";

async fn spawn_with_sso(backend: Backend, idp: &Idp, config: impl FnOnce(&mut Config)) -> TestApp {
    let issuer = idp.issuer.clone();
    spawn_app_with(
        backend,
        |c| {
            c.oidc.issuer = Some(issuer);
            c.oidc.client_id = Some(CLIENT_ID.into());
            c.oidc.client_secret = Some("folio-secret".into());
            c.oidc.role_map = "writers:author, folio-admins:admin".into();
            c.oidc.redirect_uris = CommaList(vec![APP.into()]);
            config(c);
        },
        |_| {},
    )
    .await
}

fn login_url(app: &TestApp, redirect_uri: &str) -> url::Url {
    let mut url = url::Url::parse(&app.url("/api/v1/auth/oidc/login")).unwrap();
    url.query_pairs_mut()
        .append_pair("redirect_uri", redirect_uri);
    url
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> url::Url {
    let location = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {}", response.status()))
        .to_str()
        .unwrap();
    url::Url::parse(location).unwrap()
}

fn query(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

fn fragment(url: &url::Url) -> HashMap<String, String> {
    form_urlencoded::parse(url.fragment().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The cookie a login response sets to tie the sign-in to this browser, as `name=value`.
fn browser_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("folio_sign_in="))
        .expect("the login sets folio_sign_in")
        .to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/api/v1/auth/oidc",
        "Max-Age=600",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

/// Folio's login, then the provider (which approves at once): the provider's redirect to the
/// callback, and the browser's cookie.
async fn through_the_provider(app: &TestApp) -> (url::Url, String) {
    let browser = browser();
    let login = browser.get(login_url(app, APP)).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let cookie = browser_cookie(&login);
    let authorize = location(&login);
    let asked = query(&authorize);
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["client_id"], CLIENT_ID);
    assert!(
        asked["scope"].split(' ').any(|s| s == "openid"),
        "{asked:?}"
    );
    for needed in ["state", "nonce", "code_challenge"] {
        assert!(
            asked[needed].len() >= 16,
            "{needed} missing or short: {asked:?}"
        );
    }
    let approved = browser.get(authorize).send().await.unwrap();
    assert_eq!(approved.status(), StatusCode::FOUND);
    let callback = location(&approved);
    assert!(
        callback
            .as_str()
            .starts_with(&app.url("/api/v1/auth/oidc/callback"))
    );
    (callback, cookie)
}

/// The browser's way through a sign-in: Folio's login, the provider, Folio's callback.
/// Returns the provider's redirect to the callback, the cookie, and where the callback sends
/// the browser.
async fn sign_in(app: &TestApp) -> (url::Url, String, url::Url) {
    let (callback, cookie) = through_the_provider(app).await;
    let back = follow_callback(&callback, &cookie).await;
    (callback, cookie, back)
}

async fn callback(callback: &url::Url, cookie: Option<&str>) -> reqwest::Response {
    let mut request = browser().get(callback.clone());
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

async fn follow_callback(to: &url::Url, cookie: &str) -> url::Url {
    let back = callback(to, Some(cookie)).await;
    assert_eq!(
        back.status(),
        StatusCode::FOUND,
        "callback: {}",
        back.text().await.unwrap()
    );
    assert_eq!(back.headers()["cache-control"], "no-store");
    location(&back)
}

async fn refresh(app: &TestApp, refresh_token: &str) -> crate::helpers::Reply {
    let body = json!({ "refresh_token": refresh_token });
    app.send(
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(body),
        None,
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let reply = app
        .send(reqwest::Method::GET, "/api/v1/me", Some(token), None, None)
        .await;
    (reply.status, reply.body)
}

#[actix_web::test]
async fn the_code_flow_signs_a_user_in_with_the_role_their_claims_map_to() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        let account = Account::new(&["staff", "writers"]);
        idp.sign_in_as(&account);

        let (_, _, back) = sign_in(&app).await;
        assert!(back.as_str().starts_with(APP), "{back}");
        let tokens = fragment(&back);
        assert_eq!(tokens["token_type"], "Bearer");
        assert!(tokens.contains_key("refresh_token"));
        let (status, user) = me(&app, &tokens["access_token"]).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["email"], account.email.as_str());
        assert_eq!(user["name"], "Sam Sso");
        assert_eq!(user["role"], "author");

        // Folio's refresh token works as after a password sign-in.
        let refreshed = refresh(&app, &tokens["refresh_token"]).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);

        // The role follows the claim at every sign-in, for the same user.
        idp.sign_in_as(&Account {
            groups: vec!["folio-admins".into(), "writers".into()],
            ..account.clone()
        });
        let (_, _, back) = sign_in(&app).await;
        let admin_session = fragment(&back);
        let (_, promoted) = me(&app, &admin_session["access_token"]).await;
        assert_eq!(promoted["id"], user["id"]);
        assert_eq!(promoted["role"], "admin");

        // An access token without the groups claim (many providers keep it to ID tokens) says
        // nothing about the role: it is kept.
        let mut no_groups = idp.claims(&account, CLIENT_ID);
        no_groups.as_object_mut().unwrap().remove("groups");
        let (status, same) = me(&app, &idp.sign(&no_groups)).await;
        assert_eq!(status, StatusCode::OK, "{same}");
        assert_eq!(same["role"], "admin");

        // No mapped group and no default role: refused, back at the app with the reason.
        idp.sign_in_as(&Account {
            groups: vec!["staff".into()],
            ..account.clone()
        });
        let (_, _, back) = sign_in(&app).await;
        let refused = fragment(&back);
        assert_eq!(refused["error"], "access_denied", "{refused:?}");
        assert!(refused["error_description"].contains("role"), "{refused:?}");
        assert!(!refused.contains_key("access_token"));
        // ...and the sessions the account had end with it.
        let ended = refresh(&app, &admin_session["refresh_token"]).await;
        assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "{}", ended.body);
    })
    .await;
}

#[actix_web::test]
async fn a_default_role_admits_users_whose_claims_map_to_none() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |c| {
            c.oidc.default_role = Some("contributor".into());
        })
        .await;
        idp.sign_in_as(&Account::new(&[]));
        let (_, _, back) = sign_in(&app).await;
        let (status, user) = me(&app, &fragment(&back)["access_token"]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(user["role"], "contributor");
    })
    .await;
}

#[actix_web::test]
async fn a_state_works_once_in_the_browser_that_started_it_and_only_a_state_folio_issued() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;

        let forged = app
            .get("/api/v1/auth/oidc/callback?code=abc&state=not-one-of-ours")
            .await;
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        let problem: Value = forged.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "state", "{problem}");

        // A replayed callback (the same code, state and cookie) finds its state used.
        let (first, cookie, back) = sign_in(&app).await;
        assert!(fragment(&back).contains_key("access_token"));
        let replayed = callback(&first, Some(&cookie)).await;
        assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);

        // Login CSRF: a sign-in the attacker started, finished by a victim's browser (which
        // has no cookie, or its own), signs nobody in.
        let (_, victims_cookie) = through_the_provider(&app).await;
        for cookie in [None, Some(victims_cookie.as_str())] {
            let (attackers, _) = through_the_provider(&app).await;
            let finished = callback(&attackers, cookie).await;
            assert_eq!(
                finished.status(),
                StatusCode::BAD_REQUEST,
                "cookie {cookie:?}"
            );
            let problem: Value = finished.json().await.unwrap();
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("another browser"),
                "{problem}"
            );
        }

        // The used code under a fresh state: the provider refuses it, and the app is told.
        let (fresh, fresh_cookie) = through_the_provider(&app).await;
        let mut replay = fresh.clone();
        let fresh_state = query(&fresh)["state"].clone();
        let used_code = query(&first)["code"].clone();
        replay
            .query_pairs_mut()
            .clear()
            .append_pair("code", &used_code)
            .append_pair("state", &fresh_state);
        let back = follow_callback(&replay, &fresh_cookie).await;
        let refused = fragment(&back);
        assert_eq!(refused["error"], "access_denied", "{refused:?}");
        assert!(!refused.contains_key("access_token"));

        // The provider's own refusal reaches the app too.
        let login = browser().get(login_url(&app, APP)).send().await.unwrap();
        let cookie = browser_cookie(&login);
        let state = query(&location(&login))["state"].clone();
        let mut denied = url::Url::parse(&app.url("/api/v1/auth/oidc/callback")).unwrap();
        denied
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "the user said no")
            .append_pair("state", &state);
        let back = follow_callback(&denied, &cookie).await;
        assert_eq!(fragment(&back)["error_description"], "the user said no");
    })
    .await;
}

#[actix_web::test]
async fn an_id_token_with_another_nonce_is_refused() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        idp.force_nonce("a-nonce-from-another-sign-in");
        let (_, _, back) = sign_in(&app).await;
        let refused = fragment(&back);
        assert_eq!(refused["error"], "access_denied", "{refused:?}");
        assert!(!refused.contains_key("access_token"));
    })
    .await;
}

#[actix_web::test]
async fn only_allowed_redirect_uris_receive_tokens() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        for elsewhere in [
            "https://evil.example/steal",
            "http://app.example/signed-in/../x",
            "",
        ] {
            let login = browser()
                .get(login_url(&app, elsewhere))
                .send()
                .await
                .unwrap();
            assert_eq!(login.status(), StatusCode::BAD_REQUEST, "{elsewhere}");
            let problem: Value = login.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], "redirect_uri", "{problem}");
        }
        let missing = app.get("/api/v1/auth/oidc/login").await;
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    })
    .await;
}

#[actix_web::test]
async fn the_providers_tokens_are_accepted_as_bearers_for_the_right_audience_only() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        let account = Account::new(&["writers"]);

        // A service holding a company token needs no Folio sign-in.
        let token = idp.sign(&idp.claims(&account, CLIENT_ID));
        let (status, user) = me(&app, &token).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        assert_eq!(user["email"], account.email.as_str());
        assert_eq!(user["role"], "author");
        // The same identity is the same user, by either way in.
        idp.sign_in_as(&account);
        let (_, _, back) = sign_in(&app).await;
        let (_, signed_in) = me(&app, &fragment(&back)["access_token"]).await;
        assert_eq!(signed_in["id"], user["id"]);

        // ES256 and EdDSA keys work as well as RSA ones.
        for key in [
            SigningKey::ec("e1", "ec-1.der"),
            SigningKey::ed("d1", "ed-1.der"),
        ] {
            let (status, body) = me(&app, &key.sign(&idp.claims(&account, CLIENT_ID), None)).await;
            assert_eq!(status, StatusCode::OK, "{}: {body}", key.kid);
        }

        let mut other_audience = idp.claims(&account, "another-app");
        let mut other_issuer = idp.claims(&account, CLIENT_ID);
        other_issuer["iss"] = json!("http://127.0.0.1:9/elsewhere");
        let mut expired = idp.claims(&account, CLIENT_ID);
        expired["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        let mut tampered = idp.sign(&idp.claims(&account, CLIENT_ID));
        tampered.insert(tampered.len() - 3, 'x');
        other_audience["aud"] = json!(["another-app"]);
        let unsigned = {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let claims = b64.encode(idp.claims(&account, CLIENT_ID).to_string());
            format!("{header}.{claims}.")
        };
        // HMAC with a key the attacker knows (the classic confusion attack uses the
        // provider's public key as the secret): HS256 is Folio's own and fails its check;
        // HS384 and HS512 reach the provider's verifier, which allows no HMAC at all.
        let hmac = |alg| {
            let key = jsonwebtoken::EncodingKey::from_secret(b"the provider's public key");
            let mut header = jsonwebtoken::Header::new(alg);
            header.kid = Some("k1".into());
            jsonwebtoken::encode(&header, &idp.claims(&account, CLIENT_ID), &key).unwrap()
        };
        for (what, token) in [
            ("another audience", idp.sign(&other_audience)),
            ("another issuer", idp.sign(&other_issuer)),
            ("expired", idp.sign(&expired)),
            ("tampered", tampered),
            ("alg none", unsigned),
            ("HS256", hmac(jsonwebtoken::Algorithm::HS256)),
            ("HS384", hmac(jsonwebtoken::Algorithm::HS384)),
            ("HS512", hmac(jsonwebtoken::Algorithm::HS512)),
            ("not a JWT", "not.a.jwt".to_owned()),
        ] {
            let (status, body) = me(&app, &token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        }

        // A provider token of an account with no mapped role is refused, saying why.
        let unmapped = idp.sign(&idp.claims(&Account::new(&["staff"]), CLIENT_ID));
        let (status, body) = me(&app, &unmapped).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    })
    .await;
}

#[actix_web::test]
async fn a_rotated_key_is_fetched_once_and_made_up_key_ids_do_not_hammer_the_provider() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        let account = Account::new(&["writers"]);
        let (status, _) = me(&app, &idp.sign(&idp.claims(&account, CLIENT_ID))).await;
        assert_eq!(status, StatusCode::OK);
        let fetched = idp.jwks_fetches();

        idp.rotate_to(SigningKey::rsa("k2", "rsa-2.der"));
        // Folio goes back for keys at most once per MIN_JWKS_REFETCH.
        actix_web::rt::time::sleep(folio::auth::oidc::MIN_JWKS_REFETCH).await;
        let (status, body) = me(&app, &idp.sign(&idp.claims(&account, CLIENT_ID))).await;
        assert_eq!(status, StatusCode::OK, "a token of the new key: {body}");
        assert_eq!(idp.jwks_fetches(), fetched + 1);

        // Garbage key ids: refused, with no fetch, as the keys are fresh.
        let k2 = SigningKey::rsa("k2", "rsa-2.der");
        for n in 0..25 {
            let token = k2.sign(
                &idp.claims(&account, CLIENT_ID),
                Some(&format!("made-up-{n}")),
            );
            let (status, _) = me(&app, &token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            idp.jwks_fetches(),
            fetched + 1,
            "made-up kids made Folio refetch"
        );
        // The retired key is no longer trusted once the new set is in.
        let k1 = SigningKey::rsa("k1", "rsa-1.der");
        let (status, _) = me(&app, &k1.sign(&idp.claims(&account, CLIENT_ID), None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // A provider in trouble is not asked on every request either: with its JWKS endpoint
        // failing, a burst of unknown kids costs it one request, and known keys still work.
        idp.fail_jwks();
        actix_web::rt::time::sleep(folio::auth::oidc::MIN_JWKS_REFETCH).await;
        let before = idp.jwks_fetches();
        for n in 0..10 {
            let token = k2.sign(
                &idp.claims(&account, CLIENT_ID),
                Some(&format!("burst-{n}")),
            );
            let (status, _) = me(&app, &token).await;
            assert!(
                [StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
                "{status}"
            );
        }
        assert_eq!(idp.jwks_fetches(), before + 1);
        let (status, _) = me(&app, &idp.sign(&idp.claims(&account, CLIENT_ID))).await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

#[actix_web::test]
async fn an_existing_account_is_never_taken_over_by_email_and_an_admin_links_it() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        let existing = app.user(folio::auth::Role::Contributor).await;

        // Folio never verified the email its user typed (any user may set theirs to someone
        // else's): a provider account with the same address, verified there or not, does not
        // reach this account.
        let same_email = Account {
            email: existing.email.clone(),
            ..Account::new(&["folio-admins"])
        };
        let (status, body) = me(&app, &idp.sign(&idp.claims(&same_email, CLIENT_ID))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("link-identity"),
            "{body}"
        );
        idp.sign_in_as(&same_email);
        let (_, _, back) = sign_in(&app).await;
        assert_eq!(fragment(&back)["error"], "access_denied");
        let (_, still) = me(&app, &existing.token).await;
        assert_eq!(still["role"], "contributor");

        // An admin links it; from then on the provider's sign-in reaches it, with the role
        // the claims give.
        let linked = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
            .args([
                "--database-url",
                &app.db.url,
                "--log",
                "warn",
                "--oidc-issuer",
                &idp.issuer,
            ])
            .args([
                "user",
                "link-identity",
                "--email",
                &existing.email,
                "--subject",
            ])
            .arg(&same_email.subject)
            .env_remove("FOLIO_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            linked.status.success(),
            "{}",
            String::from_utf8_lossy(&linked.stderr)
        );
        let (_, _, back) = sign_in(&app).await;
        let (status, user) = me(&app, &fragment(&back)["access_token"]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(user["id"], existing.id);
        assert_eq!(user["role"], "admin");
    })
    .await;
}

#[actix_web::test]
async fn each_provider_token_has_its_own_rate_limit_budget() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |c| {
            c.rate_limit_anonymous = 100;
            c.rate_limit_authenticated = 3;
        })
        .await;
        let greedy = idp.sign(&idp.claims(&Account::new(&["writers"]), CLIENT_ID));
        let other = idp.sign(&idp.claims(&Account::new(&["writers"]), CLIENT_ID));
        // The first request verifies the token (and counts against the address).
        let (status, _) = me(&app, &greedy).await;
        assert_eq!(status, StatusCode::OK);
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let reply = app
                .send(
                    reqwest::Method::GET,
                    "/api/v1/me",
                    Some(&greedy),
                    None,
                    None,
                )
                .await;
            assert!(
                reply.header("ratelimit-policy").unwrap().contains("q=3"),
                "{:?}",
                reply.headers
            );
            statuses.push(reply.status);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
        // Another token from the same address has a budget of its own.
        for _ in 0..2 {
            let (status, _) = me(&app, &other).await;
            assert_eq!(status, StatusCode::OK);
        }
    })
    .await;
}

#[actix_web::test]
async fn a_separate_audience_applies_to_bearers_and_sign_ins_keep_the_client_id() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |c| {
            c.oidc.audience = Some("api://folio".into());
        })
        .await;
        let account = Account::new(&["writers"]);
        let (status, _) = me(&app, &idp.sign(&idp.claims(&account, "api://folio"))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = me(&app, &idp.sign(&idp.claims(&account, CLIENT_ID))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // The ID token of a sign-in is for the client.
        idp.sign_in_as(&account);
        let (_, _, back) = sign_in(&app).await;
        assert!(fragment(&back).contains_key("access_token"), "{back}");
    })
    .await;
}

#[actix_web::test]
async fn an_issuer_that_ends_in_a_slash_is_matched_exactly() {
    on_each_backend(|backend| async move {
        let idp = Idp::start_with_trailing_slash().await;
        assert!(idp.issuer.ends_with('/'));
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        let account = Account::new(&["writers"]);
        let (status, body) = me(&app, &idp.sign(&idp.claims(&account, CLIENT_ID))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, _, back) = sign_in(&app).await;
        assert!(fragment(&back).contains_key("access_token"), "{back}");
    })
    .await;
}

#[actix_web::test]
async fn password_sign_in_can_be_turned_off_beside_sso() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        let user = app.user(folio::auth::Role::Author).await;
        let closed = spawn_with_sso(backend, &idp, |c| c.password_login = false).await;
        let refused = closed.login(&user.email, &user.password).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("single sign-on")
        );
        // Still open beside SSO where it is on.
        assert_eq!(
            app.login(&user.email, &user.password).await.status,
            StatusCode::OK
        );
    })
    .await;
}

#[actix_web::test]
async fn swagger_ui_offers_the_providers_sign_in() {
    on_each_backend(|backend| async move {
        let idp = Idp::start().await;
        let app = spawn_with_sso(backend, &idp, |_| {}).await;
        let doc = app.get_json("/api-docs/openapi.json", StatusCode::OK).await;
        assert_eq!(
            doc["components"]["securitySchemes"]["oidc"],
            json!({
                "type": "openIdConnect",
                "openIdConnectUrl": format!("{}/.well-known/openid-configuration", idp.issuer),
                "description": "Sign in at the identity provider: its token is accepted as a bearer",
            })
        );
        let me = &doc["paths"]["/api/v1/me"]["get"]["security"];
        assert!(me.as_array().unwrap().contains(&json!({"oidc": ["openid"]})), "{me}");

        let ui = app.get("/swagger-ui/swagger-initializer.js").await;
        let csp = ui.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains(&format!("connect-src 'self' {}", idp.issuer)), "{csp}");
        let script = ui.text().await.unwrap();
        assert!(script.contains(r#""clientId": "folio""#), "{script}");
        assert!(script.contains("usePkceWithAuthorizationCodeGrant"), "{script}");
        assert!(
            script.contains(r#"new URL("/swagger-ui/oauth2-redirect.html", window.location.href).href"#),
            "{script}"
        );

        // Without SSO there is no such scheme, and the endpoints say so.
        let plain = crate::helpers::spawn_app_with(backend, |_| {}, |_| {}).await;
        let doc = plain.get_json("/api-docs/openapi.json", StatusCode::OK).await;
        assert!(doc["components"]["securitySchemes"].get("oidc").is_none());
        let login = plain
            .get(&format!("/api/v1/auth/oidc/login?redirect_uri={APP}"))
            .await;
        assert_eq!(login.status(), StatusCode::NOT_FOUND);
    })
    .await;
}
