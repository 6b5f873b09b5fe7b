//! Through database trouble: starting without the database, serving the last good copy of
//! anonymous reads while it is away, and the limits and metrics that show what happens.
//! (Outages of a real PostgreSQL server, with load, are in `.ci/faults.sh`.)

use std::net::IpAddr;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use folio::db::Backend;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, on_each_backend, spawn_app_with, spawn_seeded};

#[actix_web::test]
async fn folio_starts_without_its_database_and_becomes_ready_when_it_appears() {
    // SQLite: a file in a directory that does not exist yet, created later.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("later");
    let mut config = folio::Config::for_tests(&format!("sqlite://{}/folio.db", missing.display()));
    config.db_acquire_timeout_ms = 200;
    let app = folio::Application::build(config).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    let read = client
        .get(format!("{base}/api/v1/articles"))
        .send()
        .await
        .unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.headers()["content-type"], "application/problem+json");
    assert!(ready.headers().contains_key("retry-after"));
    let why: Value = ready.json().await.unwrap();
    assert!(
        why["detail"].as_str().unwrap().contains("not ready"),
        "{why}"
    );
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);

    std::fs::create_dir(&missing).unwrap();
    crate::helpers::wait_until_ready(&base).await;
    let read = client
        .get(format!("{base}/api/v1/articles"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK, "ready with no restart");
}

#[actix_web::test]
async fn an_unreachable_postgresql_is_a_fast_503_while_health_stays_up() {
    // Nothing listens on port 1: connections are refused at once.
    let mut config = folio::Config::for_tests("postgres://postgres@127.0.0.1:1/folio");
    config.db_acquire_timeout_ms = 200;
    let app = folio::Application::build(config).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let read = client
            .get(format!("{base}/api/v1/tags"))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(read.headers().contains_key("retry-after"));
    }
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// Makes the test's PostgreSQL database unusable for the app, and usable again when dropped:
/// no new connections are allowed, and the app's are ended.
struct Outage {
    admin: String,
    name: String,
}

impl Outage {
    fn start(app: &TestApp) -> Self {
        let admin = std::env::var("FOLIO_TEST_POSTGRES_URL").unwrap();
        let name = app.db.url.rsplit('/').next().unwrap().to_owned();
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        conn.batch_execute(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        ))
        .unwrap();
        Self { admin, name }
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin) {
            let _ = conn.batch_execute(&format!(
                "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true",
                self.name
            ));
        }
    }
}

#[actix_web::test]
/// PostgreSQL only: SQLite is a file inside the process, with no outage to survive (its
/// connections keep the file open whatever happens to its path); `.ci/faults.sh` stops a real
/// PostgreSQL server under load.
async fn while_the_database_is_away_anonymous_reads_seen_before_are_served_stale_and_the_rest_get_503()
 {
    if !crate::helpers::backends().contains(&Backend::Postgres) {
        eprintln!("needs FOLIO_TEST_POSTGRES_URL: skipped");
        return;
    }
    let run = |backend: Backend| async move {
        let app = spawn_app_with(
            backend,
            |config| {
                config.sqlite_busy_timeout_ms = 100;
                config.db_acquire_timeout_ms = 300;
            },
            |db| {
                let options = folio::seed::SeedOptions {
                    articles: 10,
                    tags: 3,
                    authors: 2,
                    seed: 5,
                };
                folio::seed::run(&db.parsed(), &options, false).unwrap();
            },
        )
        .await;
        let user = app.user(folio::auth::Role::Author).await;
        let fresh = app.get("/api/v1/articles?limit=3").await;
        assert_eq!(fresh.status(), StatusCode::OK);
        let fresh_body = fresh.bytes().await.unwrap();

        let outage = Outage::start(&app);
        let stale = app.get("/api/v1/articles?limit=3").await;
        let never_seen = app.get("/api/v1/articles?limit=4").await;
        let signed_in = app
            .client
            .get(app.url("/api/v1/articles?limit=3"))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();

        assert_eq!(stale.status(), StatusCode::OK);
        let cache_status = stale.headers()["cache-status"].to_str().unwrap().to_owned();
        assert!(cache_status.contains("stale-if-error"), "{cache_status}");
        assert!(stale.headers().contains_key("age"));
        assert_eq!(stale.bytes().await.unwrap(), fresh_body);
        assert_eq!(never_seen.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(never_seen.headers().contains_key("retry-after"));
        assert_eq!(
            signed_in.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "a signed-in read is never answered from a stale copy"
        );

        drop(outage);
        let mut recovered = StatusCode::SERVICE_UNAVAILABLE;
        for _ in 0..100 {
            recovered = app.get("/api/v1/articles?limit=4").await.status();
            if recovered == StatusCode::OK {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(recovered, StatusCode::OK, "back by itself after the outage");
    };
    run(Backend::Postgres).await;
}

/// A client bound to one loopback address (the server sees each as another client).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[actix_web::test]
async fn each_client_has_its_own_budget_and_forwarding_headers_count_only_from_trusted_proxies() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(
            backend,
            |config| {
                config.rate_limit_anonymous = 5;
                config.trusted_proxies = "127.0.0.3".parse().unwrap();
            },
            |_| {},
        )
        .await;
        let url = app.url("/api/v1/tags");
        let greedy = client_from("127.0.0.1");
        let other = client_from("127.0.0.2");
        let proxy = client_from("127.0.0.3");

        let mut statuses = Vec::new();
        for n in 0..6 {
            // The greedy client pretends to be someone else each time: it is not a proxy.
            let response = greedy
                .get(&url)
                .header("x-forwarded-for", format!("198.51.100.{n}"))
                .send()
                .await
                .unwrap();
            statuses.push(response.status());
            if n == 0 {
                assert_eq!(
                    response.headers()["ratelimit-policy"],
                    "\"anonymous\";q=5;w=60"
                );
                assert_eq!(
                    response.headers()["ratelimit"]
                        .to_str()
                        .unwrap()
                        .split(';')
                        .nth(1),
                    Some("r=4")
                );
            }
            if n == 5 {
                assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(
                    response.headers()["content-type"],
                    "application/problem+json"
                );
                assert!(
                    response.headers()["retry-after"]
                        .to_str()
                        .unwrap()
                        .parse::<u64>()
                        .unwrap()
                        >= 1
                );
                assert!(
                    response.headers()["ratelimit"]
                        .to_str()
                        .unwrap()
                        .contains("r=0")
                );
                assert!(response.headers().contains_key("ratelimit-policy"));
            }
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            5,
            "{statuses:?}"
        );
        assert_eq!(
            other.get(&url).send().await.unwrap().status(),
            StatusCode::OK,
            "others are unaffected"
        );
        // Behind a trusted proxy, each forwarded client has its own budget.
        for n in 0..6 {
            let forwarded = proxy
                .get(&url)
                .header("x-forwarded-for", format!("203.0.113.{n}, 127.0.0.3"))
                .send()
                .await
                .unwrap();
            assert_eq!(forwarded.status(), StatusCode::OK, "client {n}");
        }
        assert_eq!(
            app.get("/healthz").await.status(),
            StatusCode::OK,
            "probes are not limited"
        );
    })
    .await;
}

#[actix_web::test]
async fn metrics_are_off_by_default_guarded_by_a_token_and_name_routes_by_their_template() {
    on_each_backend(|backend| async move {
        let closed = spawn_seeded(backend, 3).await;
        assert_eq!(closed.get("/metrics").await.status(), StatusCode::NOT_FOUND);

        let app = spawn_app_with(
            backend,
            |config| {
                config.metrics_token = Some("metrics secret".into());
                config.read_cache_ttl_ms = 60_000;
                config.read_cache_entries = 100;
            },
            |_| {},
        )
        .await;
        let user = app.user(folio::auth::Role::Author).await;
        app.login(&user.email, "wrong password!").await;
        for _ in 0..2 {
            app.get("/api/v1/tags").await;
        }
        app.get("/api/v1/articles/12345").await;
        let refused = app.get("/metrics").await;
        let text = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth("metrics secret")
            .send()
            .await
            .unwrap();

        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(text.status(), StatusCode::OK);
        assert!(
            text.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let body = text.text().await.unwrap();
        // The exposition format is parsed with Prometheus' own parser (prometheus_client) in
        // .ci/faults.sh; here, the series a user would look for.
        let series = |name: &str, labels: &[&str]| {
            body.lines().any(|line| {
                line.starts_with(&format!("{name}{{")) && labels.iter().all(|l| line.contains(l))
            })
        };
        assert!(
            series(
                "http_server_request_duration_seconds_count",
                &[
                    "http_route=\"/api/v1/articles/{id}\"",
                    "http_response_status_code=\"404\"",
                    "http_request_method=\"GET\"",
                ]
            ),
            "{body}"
        );
        // The raw path, not the bare number: a histogram's sum or a byte count may hold
        // those digits by chance.
        assert!(
            !body.contains("articles/12345"),
            "route templates, never raw paths: {body}"
        );
        assert!(body.contains("\nhttp_server_active_requests "));
        assert!(series("db_client_connection_count", &["state=\"idle\""]));
        assert!(body.contains("\ndb_client_connection_pending_requests "));
        assert!(series(
            "folio_db_circuit_breaker_state",
            &["state=\"closed\"", "} 1"]
        ));
        assert!(series(
            "folio_read_cache_requests_total",
            &["result=\"hit\""]
        ));
        assert!(series("folio_logins_total", &["outcome=\"refused\""]));
    })
    .await;
}
