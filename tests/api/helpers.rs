//! Test plumbing: a fresh database per test on each backend, a running server on a free
//! port, and an HTTP client with a few generic helpers.

use std::future::Future;
use std::sync::LazyLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use folio::Config;
use folio::db::{Backend, DatabaseUrl};
use folio::seed::SeedOptions;
use reqwest::StatusCode;
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
    pub client: TestClient,
    /// The server's local media directory, removed with the app.
    _media: tempfile::TempDir,
}

/// Words of database errors (driver, engine, constraint and SQL vocabulary) that must never
/// reach a client: problem details are Folio's own words.
const DATABASE_WORDS: &[&str] = &[
    "constraint",
    "duplicate key",
    "violates",
    "sqlstate",
    "sqlite",
    "postgres",
    "diesel",
    "relation \"",
    "_key\"",
    "syntax error",
    "deadlock",
    "foreign key",
];

/// Fails the test if a problem body quotes the database.
pub fn assert_no_database_text(status: StatusCode, content_type: Option<&str>, body: &[u8]) {
    if !content_type.is_some_and(|t| t.starts_with("application/problem+json")) {
        return;
    }
    let text = String::from_utf8_lossy(body).to_lowercase();
    for word in DATABASE_WORDS {
        assert!(
            !text.contains(word),
            "a {status} problem quotes the database ({word:?}): {text}"
        );
    }
}

/// reqwest, with every response checked by `assert_no_database_text`: the whole suite
/// asserts that no database text reaches a client.
#[derive(Clone)]
pub struct TestClient(reqwest::Client);

impl Default for TestClient {
    /// Idle connections are dropped well before the server's keep-alive (5 s) ends them, so a
    /// request never goes out on a connection the server is closing at that moment (which
    /// fails the request, under load, as a connection reset).
    fn default() -> Self {
        Self(
            reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("an HTTP client"),
        )
    }
}

pub struct TestRequest(reqwest::RequestBuilder);

/// A response read whole (and checked).
pub struct Checked {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    bytes: actix_web::web::Bytes,
}

impl TestClient {
    pub fn request(&self, method: reqwest::Method, url: impl reqwest::IntoUrl) -> TestRequest {
        TestRequest(self.0.request(method, url))
    }

    pub fn get(&self, url: impl reqwest::IntoUrl) -> TestRequest {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: impl reqwest::IntoUrl) -> TestRequest {
        self.request(reqwest::Method::POST, url)
    }

    pub fn delete(&self, url: impl reqwest::IntoUrl) -> TestRequest {
        self.request(reqwest::Method::DELETE, url)
    }
}

impl TestRequest {
    pub fn header(self, name: &str, value: impl AsRef<str>) -> Self {
        Self(self.0.header(name, value.as_ref()))
    }

    pub fn bearer_auth(self, token: impl std::fmt::Display) -> Self {
        Self(self.0.bearer_auth(token))
    }

    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self(self.0.body(body))
    }

    pub fn json(self, body: &Value) -> Self {
        Self(self.0.json(body))
    }

    pub async fn send(self) -> reqwest::Result<Checked> {
        let response = self.0.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        assert_no_database_text(status, content_type, &bytes);
        Ok(Checked {
            status,
            headers,
            bytes,
        })
    }
}

impl Checked {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    pub async fn bytes(self) -> reqwest::Result<actix_web::web::Bytes> {
        Ok(self.bytes)
    }

    pub async fn text(self) -> reqwest::Result<String> {
        Ok(String::from_utf8_lossy(&self.bytes).into_owned())
    }

    pub async fn json<T: serde::de::DeserializeOwned>(self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.bytes)
    }
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
    let media = tempfile::tempdir().expect("a media directory");
    let mut settings = Config::for_tests(&db.url);
    settings.media_dir = media.path().to_path_buf();
    config(&mut settings);
    let base = start(settings).await;
    TestApp {
        base,
        backend,
        db,
        client: TestClient::default(),
        _media: media,
    }
}

/// Starts a server and waits until it is ready (the database is prepared in the background);
/// returns its base URL.
pub async fn start(settings: Config) -> String {
    let app = folio::Application::build(settings).expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    wait_until_ready(&base).await;
    base
}

pub async fn wait_until_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let ready = client.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{base} never became ready");
}

/// A server on a database seeded with `articles` deterministic demo articles.
pub async fn spawn_seeded(backend: Backend, articles: usize) -> TestApp {
    spawn_seeded_with(backend, articles, |_| {}).await
}

/// As `spawn_seeded`, with settings changed by `config`.
pub async fn spawn_seeded_with(
    backend: Backend,
    articles: usize,
    config: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_app_with(backend, config, |db| {
        let options = SeedOptions {
            articles,
            tags: 12,
            authors: 5,
            seed: 7,
        };
        folio::seed::run(&db.parsed(), &options, false).expect("seed");
    })
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

    pub async fn get(&self, path: &str) -> Checked {
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

/// A signed-in test user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// Creates a user straight in the database and signs them in through the API.
    pub async fn user(&self, role: folio::auth::Role) -> TestUser {
        let email = format!("{}-{}@example.com", role, uuid::Uuid::new_v4().simple());
        let password = "a long enough password".to_owned();
        let created = folio::bootstrap::create_user(
            &mut self.connect(),
            &email,
            &format!("Test {role}"),
            role,
            &password,
        )
        .expect("create user");
        let login = self.login(&email, &password).await;
        assert_eq!(login.status, StatusCode::OK, "login: {:?}", login.body);
        TestUser {
            id: created.id,
            email,
            password,
            token: login.body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: login.body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"email": email, "password": password})),
            None,
        )
        .await
    }

    /// Any request: optional bearer token, JSON body and If-Match.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Creates an article as `token`, asserting 201; returns (id, etag, body).
    pub async fn create_article(&self, token: &str, body: Value) -> (i64, String, Value) {
        let reply = self
            .send(
                reqwest::Method::POST,
                "/api/v1/articles",
                Some(token),
                Some(body),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "create: {}", reply.body);
        let etag = reply.header("etag").expect("etag").to_owned();
        (reply.body["id"].as_i64().unwrap(), etag, reply.body)
    }

    /// The current ETag of an article, read as someone who may see it.
    pub async fn etag_of(&self, id: i64, token: &str) -> String {
        let reply = self
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/articles/{id}"),
                Some(token),
                None,
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.header("etag").unwrap().to_owned()
    }

    /// The signing secret the server generated and stored.
    pub fn stored_secret(&self) -> Vec<u8> {
        use base64::Engine;
        use folio::db::schema::settings;
        let value: String = settings::table
            .find("jwt_secret")
            .select(settings::value)
            .first(&mut self.connect())
            .expect("stored secret");
        base64::engine::general_purpose::STANDARD
            .decode(value)
            .unwrap()
    }
}

/// A server on a fresh database with no content.
pub async fn spawn_empty(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}, |_| {}).await
}

/// The statements a connection runs while `work` runs on it, as sent.
pub fn statements_run(
    conn: &mut folio::db::DbConn,
    work: impl FnOnce(&mut folio::db::DbConn),
) -> Vec<String> {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use std::sync::{Arc, Mutex};
    struct Recorder(Arc<Mutex<Vec<String>>>);
    impl Instrumentation for Recorder {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                self.0.lock().unwrap().push(query.to_string());
            }
        }
    }
    let sql = Arc::new(Mutex::new(Vec::new()));
    conn.set_instrumentation(Recorder(sql.clone()));
    work(conn);
    std::mem::take(&mut *sql.lock().unwrap())
}

/// What list requests share, with no count cache: each page counts afresh.
pub fn uncached_lists() -> folio::service::articles::ArticleLists {
    folio::service::articles::ArticleLists {
        counts: folio::cache::CountCache::new(0, std::time::Duration::ZERO, Default::default()),
        count_limit: 10_000,
        tags: Default::default(),
    }
}
