//! Instances that agree: with a read cache TTL of minutes, what readers see follows the writes of
//! every instance on the database (PostgreSQL LISTEN/NOTIFY) and scheduled articles coming due;
//! the tags each instance holds in memory for list pages follow every tag write at once.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use folio::auth::Role;
use folio::db::{Backend, DbConn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, on_each_backend, spawn_app_with, start};

/// Minutes: long enough that anything seen sooner was invalidated, not expired.
const LONG_TTL_MS: u64 = 600_000;

/// How long a test waits for a change to show before failing (a bound on liveness; the
/// latency itself is measured by `benches/instances.sh`).
const PATIENCE: Duration = Duration::from_secs(5);

fn long_cache(config: &mut folio::Config) {
    config.read_cache_entries = 1000;
    config.read_cache_ttl_ms = LONG_TTL_MS;
    config.count_cache_ttl_ms = LONG_TTL_MS;
}

async fn long_cache_app(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        |config| {
            long_cache(config);
        },
        |_| {},
    )
    .await
}

/// Polls `path` on `base` (anonymously, so through the read cache) until `seen` holds.
async fn until_seen(base: &str, path: &str, seen: impl Fn(&Value) -> bool) -> Duration {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let body: Value = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON");
        if seen(&body) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{base}{path} still shows {body} after {PATIENCE:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
}

fn titles(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn a_scheduled_article_shows_in_cached_lists_when_its_time_comes() {
    on_each_backend(|backend| async move {
        let app = long_cache_app(backend).await;
        let author = app.user(Role::Author).await;
        let at = chrono::Utc::now() + chrono::Duration::seconds(2);
        app.create_article(
            &author.token,
            json!({"title": "Comes due soon", "body_markdown": "Soon.", "tags": ["later"],
                   "status": "scheduled", "published_at": at.to_rfc3339()}),
        )
        .await;
        // Cached while it is still scheduled: the list, its total, the tag's list.
        let before = app.get_json("/api/v1/articles", StatusCode::OK).await;
        assert!(titles(&before).is_empty(), "{before}");
        let tagged = app
            .get_json("/api/v1/articles?tag=later", StatusCode::OK)
            .await;
        assert_eq!(tagged["meta"]["total"], 0);

        until_seen(&app.base, "/api/v1/articles", |body| {
            titles(body) == ["Comes due soon"] && body["meta"]["total"] == 1
        })
        .await;
        until_seen(&app.base, "/api/v1/articles?tag=later", |body| {
            body["meta"]["total"] == 1
        })
        .await;
    })
    .await;
}

/// The listening connections of this test's database.
fn listeners(conn: &mut DbConn) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Postgres(conn) = conn else {
        return 0;
    };
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind::<diesel::sql_types::Text, _>(folio::db::notify::LISTENER_APPLICATION_NAME)
    .get_result::<Count>(conn)
    .map(|c| c.n)
    .expect("pg_stat_activity")
}

fn kill_listeners(conn: &mut DbConn) {
    let DbConn::Postgres(conn) = conn else {
        return;
    };
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind::<diesel::sql_types::Text, _>(folio::db::notify::LISTENER_APPLICATION_NAME)
    .execute(conn)
    .expect("terminate the listeners");
}

/// Two instances on one PostgreSQL database (SQLite is one instance by design: nothing to
/// agree with, so this runs on PostgreSQL only).
#[actix_web::test]
async fn a_write_through_one_instance_is_read_through_the_other() {
    let Some(backend) = crate::helpers::backends()
        .into_iter()
        .find(|b| *b == Backend::Postgres)
    else {
        eprintln!("PostgreSQL not configured (FOLIO_TEST_POSTGRES_URL): one instance only");
        return;
    };
    let a = long_cache_app(backend).await;
    let mut settings = folio::Config::for_tests(&a.db.url);
    long_cache(&mut settings);
    let b = start(settings).await;
    let editor = a.user(Role::Editor).await;

    // Warm B's caches: lists with totals, a tag list, the author list.
    let list = "/api/v1/articles?tag=shared";
    let empty = a.client.get(format!("{b}{list}")).send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    for path in ["/api/v1/tags", "/api/v1/authors"] {
        let _warm = reqwest::get(format!("{b}{path}")).await.unwrap();
    }

    // An article: B's cached list and total follow.
    let (id, etag, created) = a
        .create_article(
            &editor.token,
            json!({"title": "First through A", "body_markdown": "Hello.", "tags": ["shared"],
                   "status": "published"}),
        )
        .await;
    until_seen(&b, list, |body| {
        titles(body) == ["First through A"] && body["meta"]["total"] == 1
    })
    .await;
    let slug = created["slug"].as_str().unwrap().to_owned();
    let single = format!("/api/v1/articles/slug/{slug}");
    let _warm = reqwest::get(format!("{b}{single}")).await.unwrap();

    // An edit: B's cached single read follows.
    let edited = a
        .send(
            Method::PATCH,
            &format!("/api/v1/articles/{id}"),
            Some(&editor.token),
            Some(json!({"title": "Edited through A"})),
            Some(&etag),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    until_seen(&b, &single, |body| body["title"] == "Edited through A").await;

    // A tag rename and an author's new name: B's cached tag and author lists follow.
    let tag_id = created["tags"][0]["id"].as_i64().unwrap();
    rename_tag(&a, &editor.token, tag_id, "Shared by all").await;
    until_seen(&b, "/api/v1/tags", |body| {
        body["data"][0]["name"] == "Shared by all"
    })
    .await;
    let me = a
        .send(
            Method::PATCH,
            "/api/v1/me",
            Some(&editor.token),
            Some(json!({"name": "Renamed Editor"})),
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    until_seen(&b, "/api/v1/authors", |body| {
        body["data"]
            .as_array()
            .is_some_and(|authors| authors.iter().any(|x| x["name"] == "Renamed Editor"))
    })
    .await;

    // The listening connections die: writes still show (the caches fall back to a short
    // life), and the listeners come back.
    let mut conn = a.connect();
    assert_eq!(listeners(&mut conn), 2, "one listener per instance");
    kill_listeners(&mut conn);
    a.create_article(
        &editor.token,
        json!({"title": "Second through A", "body_markdown": "Again.", "tags": ["shared"],
               "status": "published"}),
    )
    .await;
    until_seen(&b, list, |body| body["meta"]["total"] == 2).await;
    let started = Instant::now();
    while listeners(&mut conn) < 2 {
        assert!(
            started.elapsed() < PATIENCE,
            "the listeners did not come back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    a.create_article(
        &editor.token,
        json!({"title": "Third through A", "body_markdown": "Once more.", "tags": ["shared"],
               "status": "published"}),
    )
    .await;
    until_seen(&b, list, |body| {
        body["meta"]["total"] == 3 && titles(body).first().is_some_and(|t| t == "Third through A")
    })
    .await;
}

/// Failed logins through instance A, then B (SQLite: A alone), spend one budget.
#[actix_web::test]
async fn login_attempts_spread_over_instances_are_limited_as_one() {
    on_each_backend(|backend| async move {
        let limited = |config: &mut folio::Config| {
            config.login_limit_per_account = 4;
            config.login_limit_per_address = 0;
        };
        let a = spawn_app_with(backend, limited, |_| {}).await;
        let b = match backend {
            Backend::Postgres => {
                let mut settings = folio::Config::for_tests(&a.db.url);
                limited(&mut settings);
                start(settings).await
            }
            Backend::Sqlite => a.base.clone(),
        };
        let victim = a.user(Role::Author).await;
        let attempt = |base: String, email: String| async move {
            reqwest::Client::new()
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"email": email, "password": "not the password"}))
                .send()
                .await
                .expect("request sent")
        };
        let mut statuses = Vec::new();
        for base in [&a.base, &b, &a.base, &b] {
            statuses.push(attempt(base.clone(), victim.email.clone()).await.status());
        }
        assert_eq!(
            statuses,
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS
            ],
            "four attempts in all (signing up took one), whichever instance takes them"
        );
        let refused = attempt(b.clone(), victim.email.clone()).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=15).contains(&retry_after),
            "one attempt comes back every 15 s: {retry_after}"
        );
        // Another account has its own budget.
        let other = a.user(Role::Author).await;
        let fine = attempt(b.clone(), other.email.clone()).await;
        assert_eq!(fine.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

/// Renames a tag through `app`, as an editor would (with the tag's ETag).
async fn rename_tag(app: &TestApp, token: &str, tag_id: i64, name: &str) {
    let path = format!("/api/v1/tags/{tag_id}");
    let current = app.send(Method::GET, &path, None, None, None).await;
    let renamed = app
        .send(
            Method::PATCH,
            &path,
            Some(token),
            Some(json!({"name": name})),
            current.header("etag"),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
}

/// The names of the first listed article's tags, in the order shown.
fn first_article_tags(body: &Value) -> Vec<String> {
    body["data"][0]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|tag| tag["name"].as_str().expect("a name").to_owned())
        .collect()
}

/// A statement straight to the database, as an import or another process would write.
fn execute(conn: &mut DbConn, sql: &str) {
    let written = match conn {
        DbConn::Postgres(c) => diesel::sql_query(sql).execute(c),
        DbConn::Sqlite(c) => diesel::sql_query(sql).execute(c),
    };
    written.expect(sql);
}

/// Each instance holds the tags in memory for its list pages; a page read right after a tag
/// is renamed, added or deleted elsewhere shows the change, with no wait and no cache to
/// expire. Elsewhere is the database itself on both backends, and a second instance on
/// PostgreSQL.
#[actix_web::test]
async fn list_pages_show_tag_changes_made_elsewhere_at_once() {
    on_each_backend(|backend| async move {
        let a = spawn_app_with(backend, |_| {}, |_| {}).await;
        let editor = a.user(Role::Editor).await;
        let (id, _, _) = a
            .create_article(
                &editor.token,
                json!({"title": "Tagged", "body_markdown": "Text.", "tags": ["Alpha", "Beta"],
                       "status": "published"}),
            )
            .await;
        let list = "/api/v1/articles";
        let page = a.get_json(list, StatusCode::OK).await;
        assert_eq!(first_article_tags(&page), ["Alpha", "Beta"]);

        // Renamed in the database: the next page has the name, and orders by it.
        execute(
            &mut a.connect(),
            "UPDATE tags SET name = 'Aardvark' WHERE slug = 'beta'",
        );
        let page = a.get_json(list, StatusCode::OK).await;
        assert_eq!(first_article_tags(&page), ["Aardvark", "Alpha"]);

        if backend != Backend::Postgres {
            return;
        }
        let b = start(folio::Config::for_tests(&a.db.url)).await;
        let read_b = || async {
            let body: Value = reqwest::get(format!("{b}{list}"))
                .await
                .expect("request sent")
                .json()
                .await
                .expect("JSON");
            first_article_tags(&body)
        };
        assert_eq!(read_b().await, ["Aardvark", "Alpha"]);

        // Renamed through A.
        let tags = a.get_json("/api/v1/tags", StatusCode::OK).await;
        let alpha = tags["data"]
            .as_array()
            .and_then(|tags| tags.iter().find(|tag| tag["slug"] == "alpha"))
            .and_then(|tag| tag["id"].as_i64())
            .expect("alpha's id");
        rename_tag(&a, &editor.token, alpha, "Zebra").await;
        assert_eq!(read_b().await, ["Aardvark", "Zebra"]);

        // A tag B has never seen, added through A.
        let etag = a.etag_of(id, &editor.token).await;
        let retagged = a
            .send(
                Method::PATCH,
                &format!("/api/v1/articles/{id}"),
                Some(&editor.token),
                Some(json!({"tags": ["Aardvark", "Zebra", "Middle"]})),
                Some(&etag),
            )
            .await;
        assert_eq!(retagged.status, StatusCode::OK, "{}", retagged.body);
        assert_eq!(read_b().await, ["Aardvark", "Middle", "Zebra"]);

        // Deleted through A.
        let deleted = a
            .send(
                Method::DELETE,
                &format!("/api/v1/tags/{alpha}"),
                Some(&editor.token),
                None,
                None,
            )
            .await;
        assert!(deleted.status.is_success(), "{}", deleted.body);
        assert_eq!(read_b().await, ["Aardvark", "Middle"]);
    })
    .await;
}
