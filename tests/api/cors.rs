//! CORS as a browser meets it: preflights, actual requests and errors, for an allowed origin,
//! an origin that is not allowed, and the default wildcard.

use folio::config::CorsOrigins;
use reqwest::{Method, StatusCode};

use crate::helpers::{Checked, TestApp, on_each_backend, spawn_app_with};

const FRONTEND: &str = "https://blog.example";
const STRANGER: &str = "https://evil.example";

async fn spawn_allowing(backend: folio::db::Backend, origins: &str) -> TestApp {
    let origins: CorsOrigins = origins.parse().unwrap();
    spawn_app_with(backend, |config| config.cors_origins = origins, |_| {}).await
}

async fn preflight(
    app: &TestApp,
    path: &str,
    origin: &str,
    method: &str,
    headers: &str,
) -> Checked {
    let mut request = app
        .client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method);
    if !headers.is_empty() {
        request = request.header("access-control-request-headers", headers);
    }
    request.send().await.unwrap()
}

async fn get_from(app: &TestApp, path: &str, origin: &str) -> Checked {
    app.client
        .get(app.url(path))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a Checked, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn listed(response: &Checked, name: &str) -> Vec<String> {
    header(response, name)
        .unwrap_or_default()
        .split(',')
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

fn assert_lists(response: &Checked, name: &str, expected: &[&str]) {
    let values = listed(response, name);
    for value in expected {
        assert!(
            values.contains(&(*value).to_owned()),
            "{name}: {values:?} lacks {value}"
        );
    }
}

#[actix_web::test]
async fn an_allowed_origin_may_preflight_every_route_and_read_what_it_needs() {
    on_each_backend(|backend| async move {
        let app = spawn_allowing(backend, &format!("{FRONTEND},http://localhost:5173")).await;

        // Every documented /api/v1 route and method answers a preflight.
        let doc: serde_json::Value = app.get_json("/api-docs/openapi.json", StatusCode::OK).await;
        let paths = doc["paths"].as_object().unwrap();
        let mut checked = 0;
        for (path, item) in paths.iter().filter(|(p, _)| p.starts_with("/api/v1")) {
            let concrete = path
                .replace("{id}", "1")
                .replace("{slug}", "some-slug")
                .replace("{token}", "t")
                .replace("{number}", "1");
            for method in item.as_object().unwrap().keys() {
                let method = method.to_uppercase();
                let response = preflight(
                    &app,
                    &concrete,
                    FRONTEND,
                    &method,
                    "authorization,content-type,if-match,if-none-match",
                )
                .await;
                assert!(
                    response.status().is_success(),
                    "{method} {path}: {}",
                    response.status()
                );
                assert_eq!(
                    header(&response, "access-control-allow-origin"),
                    Some(FRONTEND)
                );
                assert_lists(
                    &response,
                    "access-control-allow-methods",
                    &[&method.to_lowercase()],
                );
                assert_lists(
                    &response,
                    "access-control-allow-headers",
                    &["authorization", "content-type", "if-match", "if-none-match"],
                );
                assert_eq!(header(&response, "access-control-max-age"), Some("86400"));
                assert_eq!(header(&response, "access-control-allow-credentials"), None);
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} operations preflighted");

        // The actual request: the origin echoed, the answer marked as depending on it, and
        // the headers a client needs exposed.
        let response = get_from(&app, "/api/v1/articles", FRONTEND).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(FRONTEND)
        );
        assert_lists(&response, "vary", &["origin"]);
        assert_lists(
            &response,
            "access-control-expose-headers",
            &[
                "etag",
                "x-request-id",
                "location",
                "retry-after",
                "ratelimit",
                "ratelimit-policy",
            ],
        );
        assert_eq!(header(&response, "access-control-allow-credentials"), None);

        // The second configured origin is echoed as itself.
        let other = get_from(&app, "/api/v1/tags", "http://localhost:5173").await;
        assert_eq!(
            header(&other, "access-control-allow-origin"),
            Some("http://localhost:5173")
        );
    })
    .await;
}

#[actix_web::test]
async fn an_origin_that_is_not_allowed_gets_no_grant_but_a_normal_answer() {
    on_each_backend(|backend| async move {
        let app = spawn_allowing(backend, FRONTEND).await;

        let refused = preflight(&app, "/api/v1/articles", STRANGER, "POST", "authorization").await;
        assert!(!refused.status().is_success(), "{}", refused.status());
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
        assert_eq!(
            header(&refused, "content-type"),
            Some("application/problem+json")
        );

        // A plain request is served as if no Origin had been sent; the browser withholds it.
        let response = get_from(&app, "/api/v1/articles", STRANGER).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "access-control-allow-origin"), None);
        assert_lists(&response, "vary", &["origin"]);
        let without_origin = app.get("/api/v1/articles").await;
        assert_eq!(
            response.bytes().await.unwrap(),
            without_origin.bytes().await.unwrap()
        );

        // A method or header outside the policy is refused even for the allowed origin.
        let odd_header = preflight(&app, "/api/v1/articles", FRONTEND, "GET", "x-secret").await;
        assert!(!odd_header.status().is_success());
        assert_eq!(header(&odd_header, "access-control-allow-origin"), None);
    })
    .await;
}

#[actix_web::test]
async fn by_default_any_origin_may_call_and_errors_are_readable_too() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(
            backend,
            |config| assert_eq!(config.cors_origins, CorsOrigins::Any, "the default"),
            |_| {},
        )
        .await;

        let preflighted =
            preflight(&app, "/api/v1/articles/1", STRANGER, "PATCH", "if-match").await;
        assert!(preflighted.status().is_success());
        assert_eq!(
            header(&preflighted, "access-control-allow-origin"),
            Some("*")
        );

        let response = get_from(&app, "/api/v1/tags", STRANGER).await;
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&response, "access-control-allow-credentials"), None);
        // One answer for every origin: shared caches need not keep a copy per origin.
        assert!(!listed(&response, "vary").contains(&"origin".to_owned()));

        // Problems carry the grant, so a browser app can show what went wrong.
        let missing = get_from(&app, "/api/v1/articles/999999", STRANGER).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(header(&missing, "access-control-allow-origin"), Some("*"));
        let bad = get_from(&app, "/api/v1/articles?limit=0", STRANGER).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(header(&bad, "access-control-allow-origin"), Some("*"));
        let denied = app
            .client
            .get(app.url("/api/v1/users"))
            .header("origin", STRANGER)
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&denied, "access-control-allow-origin"), Some("*"));

        // Past the rate limit: the 429 is readable, and so are its Retry-After and RateLimit;
        // preflights do not count against the limit.
        let limited_app =
            spawn_app_with(backend, |config| config.rate_limit_anonymous = 1, |_| {}).await;
        for _ in 0..3 {
            let preflighted = preflight(
                &limited_app,
                "/api/v1/tags",
                STRANGER,
                "GET",
                "if-none-match",
            )
            .await;
            assert!(preflighted.status().is_success());
        }
        let first = get_from(&limited_app, "/api/v1/tags", STRANGER).await;
        assert_eq!(first.status(), StatusCode::OK);
        let limited = get_from(&limited_app, "/api/v1/tags", STRANGER).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&limited, "access-control-allow-origin"), Some("*"));
        assert_lists(
            &limited,
            "access-control-expose-headers",
            &["retry-after", "ratelimit"],
        );
    })
    .await;
}
