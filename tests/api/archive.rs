//! Moving a site: `folio export` then `folio import` into an empty database of either backend
//! gives the same site (same answers, same logins), and a broken archive or a non-empty target
//! is refused with nothing written. Runs the real binary, as an operator would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use folio::auth::Role;
use folio::db::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, backends, on_each_backend, spawn_app_with, spawn_seeded};

fn folio(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("--database-url")
        .arg(url)
        .args(["--log", "warn"])
        .args(args)
        .env_remove("FOLIO_DATABASE_URL")
        .output()
        .expect("folio runs")
}

fn succeeds(output: Output) -> String {
    assert!(
        output.status.success(),
        "folio failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Runs `folio import` expecting a refusal; returns what it said.
fn refused(url: &str, archive: &Path) -> String {
    let output = folio(url, &["import", archive.to_str().unwrap()]);
    assert!(
        !output.status.success(),
        "importing {} succeeded",
        archive.display()
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn export(url: &str, to: &Path) {
    succeeds(folio(url, &["export", to.to_str().unwrap()]));
}

/// The archive's lines, without the header (whose export time differs between runs).
fn records(archive: &Path) -> Vec<Value> {
    use std::io::BufRead;
    let file = std::fs::File::open(archive).unwrap();
    let text: Box<dyn BufRead> = if archive.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    text.lines()
        .skip(1)
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn plain_lines(archive: &Path) -> Vec<String> {
    std::fs::read_to_string(archive)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Users, tags and articles in a database, counted through its own connection.
fn content_counts(db: &TestDb) -> (i64, i64, i64) {
    let mut conn = folio::db::connect(&db.parsed()).unwrap();
    folio::db::archive::content_counts(&mut conn).unwrap()
}

/// A site with something of everything: seeded articles, a draft, a scheduled article, tags,
/// an image in the media library shown by an article, a renamed site, and a person whose
/// password we know.
async fn varied_site(backend: Backend) -> (TestApp, String, String) {
    let app = spawn_seeded(backend, 45).await;
    let admin = app.user(Role::Admin).await;
    let author = app.user(Role::Author).await;
    let (draft, etag, _) = app
        .create_article(
            &author.token,
            json!({"title": "Crème brûlée, a draft", "body_markdown": "Sugar *and* fire.",
                   "status": "draft", "tags": ["Desserts", "Fire"]}),
        )
        .await;
    // A history to carry: a second revision with other words and one tag fewer.
    let edited = app
        .send(
            Method::PATCH,
            &format!("/api/v1/articles/{draft}"),
            Some(&author.token),
            Some(json!({"body_markdown": "Sugar, fire and patience.", "tags": ["Desserts"]})),
            Some(&etag),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    let image = crate::media::upload_image(&app, &author.token, &crate::media::jpeg(800, 600, 3))
        .await
        .body;
    app.create_article(
        &author.token,
        json!({"title": "Pictured", "body_markdown": "See above.", "status": "published",
               "feature_image_id": image["id"], "tags": ["Desserts"]}),
    )
    .await;
    let soon = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    app.create_article(
        &author.token,
        json!({"title": "Scheduled for later", "body_markdown": "Later.",
               "status": "scheduled", "published_at": soon, "tags": ["Desserts"]}),
    )
    .await;
    let site = app
        .send(Method::GET, "/api/v1/site", Some(&admin.token), None, None)
        .await;
    let etag = site.header("etag").unwrap().to_owned();
    let patched = app
        .send(
            Method::PATCH,
            "/api/v1/site",
            Some(&admin.token),
            Some(json!({"title": "Moved Site", "url": "https://moved.example"})),
            Some(&etag),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    // The author also signs in through an identity provider.
    folio::db::sso::insert_identity(
        &mut app.connect(),
        author.id,
        "https://id.example",
        "author-at-the-provider",
        folio::db::now(),
    )
    .unwrap();
    (app, author.email, author.password)
}

/// What readers and writers see: the answers compared between the original and a copy.
const PATHS: &[&str] = &[
    "/api/v1/articles?limit=100",
    "/api/v1/articles?limit=7&sort=title",
    "/api/v1/articles?tag=desserts",
    "/api/v1/articles?q=creme",
    "/api/v1/tags?limit=100",
    "/api/v1/authors?limit=100",
    "/api/v1/site",
];

async fn answers(app: &TestApp, token: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in PATHS {
        seen.push(app.get_json(path, StatusCode::OK).await);
        let authed = app.send(Method::GET, path, Some(token), None, None).await;
        seen.push(authed.body);
    }
    let list = app
        .get_json("/api/v1/articles?limit=3", StatusCode::OK)
        .await;
    for article in list["data"].as_array().unwrap() {
        let slug = article["slug"].as_str().unwrap();
        seen.push(
            app.get_json(&format!("/api/v1/articles/slug/{slug}"), StatusCode::OK)
                .await,
        );
        let id = article["id"].as_i64().unwrap();
        seen.push(
            app.send(
                Method::GET,
                &format!("/api/v1/articles/{id}"),
                Some(token),
                None,
                None,
            )
            .await
            .body,
        );
    }
    // The media library, which only signed-in callers see.
    let library = app
        .send(
            Method::GET,
            "/api/v1/media?limit=100",
            Some(token),
            None,
            None,
        )
        .await;
    assert_eq!(library.status, StatusCode::OK, "{}", library.body);
    assert_eq!(library.body["data"].as_array().unwrap().len(), 1);
    seen.push(library.body);
    // The author's drafts with their histories.
    let drafts = app
        .send(
            Method::GET,
            "/api/v1/articles?status=draft",
            Some(token),
            None,
            None,
        )
        .await;
    for id in crate::helpers::ids(&drafts.body) {
        for path in [
            format!("/api/v1/articles/{id}/revisions"),
            format!("/api/v1/articles/{id}/revisions/1"),
            format!("/api/v1/articles/{id}/revisions/2/diff"),
        ] {
            let reply = app.send(Method::GET, &path, Some(token), None, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
            seen.push(reply.body);
        }
    }
    seen
}

/// A server on a new database of `backend`, loaded from `archive` by `folio import`.
async fn imported(backend: Backend, archive: &Path) -> TestApp {
    spawn_app_with(
        backend,
        |_| {},
        |db| {
            let said = succeeds(folio(&db.url, &["import", archive.to_str().unwrap()]));
            assert!(said.starts_with("imported "), "{said}");
        },
    )
    .await
}

async fn token_of(app: &TestApp, email: &str, password: &str) -> String {
    let login = app.login(email, password).await;
    assert_eq!(login.status, StatusCode::OK, "login: {:?}", login.body);
    login.body["access_token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_site_moves_between_backends_and_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (original, email, password) = varied_site(Backend::Sqlite).await;
    let first = dir.path().join("first.jsonl.gz");
    export(&original.db.url, &first);

    // SQLite → PostgreSQL (when configured) → SQLite.
    let middle_backend = *backends().last().unwrap();
    let middle = imported(middle_backend, &first).await;
    let second = dir.path().join("second.jsonl");
    export(&middle.db.url, &second);
    let last = imported(Backend::Sqlite, &second).await;
    let third = dir.path().join("third.jsonl.gz");
    export(&last.db.url, &third);

    let exported = records(&first);
    assert!(
        exported.len() > 50,
        "the archive holds the site: {}",
        exported.len()
    );
    let identities: Vec<&Value> = exported
        .iter()
        .filter(|r| r["type"] == "identity")
        .collect();
    assert_eq!(identities.len(), 1, "{identities:?}");
    assert_eq!(identities[0]["subject"], "author-at-the-provider");
    assert_eq!(
        records(&second),
        exported,
        "SQLite → {middle_backend:?} changed the site"
    );
    assert_eq!(
        records(&third),
        exported,
        "{middle_backend:?} → SQLite changed the site"
    );

    // The same answers to readers and to the author, who signs in with the old password.
    let expected = answers(&original, &token_of(&original, &email, &password).await).await;
    for copy in [&middle, &last] {
        let token = token_of(copy, &email, &password).await;
        assert_eq!(
            answers(copy, &token).await,
            expected,
            "{:?} answers differently",
            copy.backend
        );
        // New content continues after the imported ids, on every backend.
        let (id, _, created) = copy
            .create_article(
                &token,
                json!({"title": "After the move", "body_markdown": "x"}),
            )
            .await;
        assert_eq!(created["slug"], "after-the-move");
        let highest = exported
            .iter()
            .filter(|r| r["type"] == "article")
            .filter_map(|r| r["id"].as_i64())
            .max()
            .unwrap();
        assert!(id > highest, "{created}");
    }
}

/// A well-formed archive of a small site, as plain JSON Lines, and the server it came from.
async fn small_archive(backend: Backend, dir: &Path) -> (TestApp, PathBuf) {
    let app = spawn_seeded(backend, 12).await;
    let archive = dir.join("site.jsonl");
    export(&app.db.url, &archive);
    (app, archive)
}

#[actix_web::test]
async fn a_broken_archive_or_a_full_target_is_refused_with_nothing_written() {
    on_each_backend(|backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let (source, archive) = small_archive(backend, dir.path()).await;
        let lines = plain_lines(&archive);
        let article_line = lines
            .iter()
            .position(|l| l.starts_with(r#"{"type":"article""#))
            .unwrap();

        let truncated = dir.path().join("truncated.jsonl");
        write_lines(&truncated, &lines[..lines.len() - 3]);
        let corrupt = dir.path().join("corrupt.jsonl");
        let mut corrupt_lines = lines.clone();
        corrupt_lines[article_line + 2] = r#"{"type":"article","id":"#.to_owned();
        write_lines(&corrupt, &corrupt_lines);
        let dangling = dir.path().join("dangling.jsonl");
        let mut dangling_lines = lines.clone();
        let mut article: Value = serde_json::from_str(&lines[article_line + 4]).unwrap();
        article["author_id"] = json!(987_654);
        dangling_lines[article_line + 4] = article.to_string();
        write_lines(&dangling, &dangling_lines);
        let user_line = lines
            .iter()
            .position(|l| l.starts_with(r#"{"type":"user""#))
            .unwrap();
        let stranger = dir.path().join("stranger.jsonl");
        let mut stranger_lines = lines.clone();
        stranger_lines.insert(
            user_line + 1,
            json!({"type": "identity", "user_id": 987_654, "issuer": "https://id.example",
                   "subject": "s", "created_at": "2026-01-01T00:00:00Z"})
            .to_string(),
        );
        write_lines(&stranger, &stranger_lines);

        let cases = [
            (&truncated, format!("line {}", lines.len() - 3), "truncated"),
            (
                &corrupt,
                format!("line {}", article_line + 3),
                "not a valid archive record",
            ),
            (
                &dangling,
                format!("line {}", article_line + 5),
                "author 987654",
            ),
            (
                &stranger,
                format!("line {}", user_line + 2),
                "user 987654, who is not in the archive",
            ),
        ];
        for (broken, line, why) in &cases {
            let target = TestDb::fresh(backend);
            let said = refused(&target.url, broken);
            assert!(said.contains(line.as_str()) && said.contains(why), "{said}");
            assert_eq!(content_counts(&target), (0, 0, 0), "{said}");
            let checked = folio(
                &target.url,
                &["import", "--check", broken.to_str().unwrap()],
            );
            assert!(!checked.status.success());
            assert!(String::from_utf8_lossy(&checked.stderr).contains(line.as_str()));
        }

        // The archive is fine; the target is not empty.
        let before = content_counts(&source.db);
        let said = refused(&source.db.url, &archive);
        assert!(said.contains("not empty"), "{said}");
        assert_eq!(content_counts(&source.db), before);

        let checked = succeeds(folio(
            &source.db.url,
            &["import", "--check", archive.to_str().unwrap()],
        ));
        assert!(
            checked.contains(
                "complete archive of 5 users, 12 tags, 0 images and 12 articles with 0 revisions"
            ),
            "{checked}"
        );
    })
    .await;
}
