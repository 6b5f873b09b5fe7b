//! Test plumbing: a fresh database per test on each backend, a running server on a free
//! port, and an HTTP client with a few generic helpers.

use std::future::Future;
use std::sync::LazyLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use folio::Config;
use folio::db::{Backend, DatabaseUrl};
use folio::seed::SeedOptions;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// Silent unless TEST_LOG=1.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        folio::telemetry::init("info", "text");
    }
});

/// The backends this run covers: SQLite always, PostgreSQL when FOLIO_TEST_POSTGRES_URL
/// is set (CI sets it).
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if postgres_admin_url().is_some() {
        backends.push(Backend::Postgres);
    }
    backends
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("FOLIO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database that exists for one test and is removed when dropped.
pub struct TestDb {
    pub url: String,
    dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn fresh(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("folio.db").display());
                Self {
                    url,
                    dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url().expect("FOLIO_TEST_POSTGRES_URL");
                let name = format!("folio_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin).expect("PostgreSQL reachable");
                conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .expect("create test database");
                let (base, query) = match admin.split_once('?') {
                    Some((base, query)) => (base, format!("?{query}")),
                    None => (admin.as_str(), String::new()),
                };
                let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
                let url = format!("{server}/{name}{query}");
                Self {
                    url,
                    dir: None,
                    postgres: Some((admin, name)),
                }
            }
        }
    }

    pub fn parsed(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url).expect("test database URL")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            // Best effort: a leftover database is harmless and named for its test.
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
        drop(self.dir.take());
    }
}

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub db: TestDb,
    pub client: reqwest::Client,
}

/// Starts a server on a fresh database; `prepare` runs on the database first (e.g. seeding).
pub async fn spawn_app_with(
    backend: Backend,
    config: impl FnOnce(&mut Config),
    prepare: impl FnOnce(&TestDb),
) -> TestApp {
    LazyLock::force(&TRACING);
    let db = TestDb::fresh(backend);
    prepare(&db);
    let mut settings = Config::for_tests(&db.url);
    config(&mut settings);
    let app = folio::Application::build(settings).expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        base,
        backend,
        db,
        client: reqwest::Client::new(),
    }
}

/// A server on a database seeded with `articles` deterministic demo articles.
pub async fn spawn_seeded(backend: Backend, articles: usize) -> TestApp {
    spawn_app_with(
        backend,
        |_| {},
        |db| {
            let options = SeedOptions {
                articles,
                tags: 12,
                authors: 5,
                seed: 7,
            };
            folio::seed::run(&db.parsed(), &options, false).expect("seed");
        },
    )
    .await
}

/// Runs `test` on SQLite, then on PostgreSQL if FOLIO_TEST_POSTGRES_URL is set.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("backend: {backend:?}");
        test(backend).await;
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// GET, asserting the status, returning the JSON body.
    pub async fn get_json(&self, path: &str, expected: StatusCode) -> Value {
        let response = self.get(path).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "GET {path} on {:?}: {body}", self.backend);
        body
    }

    /// A direct connection to the test database, for checking what the API should return.
    pub fn connect(&self) -> folio::db::DbConn {
        folio::db::connect(&self.db.parsed()).expect("connect to test database")
    }
}

/// Ids of a list response, in order.
pub fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect()
}
