//! Article history: every write makes a revision; editors list, read, compare and restore
//! them; who may edit an article is who may see its history; retention and deletion.

use folio::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, on_each_backend, spawn_app_with, spawn_empty, spawn_seeded};

async fn get(app: &TestApp, token: &str, path: &str) -> Reply {
    app.send(Method::GET, path, Some(token), None, None).await
}

async fn patch(app: &TestApp, token: &str, id: i64, etag: &str, body: Value) -> String {
    let reply = app
        .send(
            Method::PATCH,
            &format!("/api/v1/articles/{id}"),
            Some(token),
            Some(body),
            Some(etag),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "patch: {}", reply.body);
    reply.header("etag").unwrap().to_owned()
}

async fn restore(app: &TestApp, token: &str, id: i64, version: i64, etag: Option<&str>) -> Reply {
    app.send(
        Method::POST,
        &format!("/api/v1/articles/{id}/revisions/{version}/restore"),
        Some(token),
        None,
        etag,
    )
    .await
}

fn versions(list: &Value) -> Vec<i64> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_i64().unwrap())
        .collect()
}

fn changed(revision: &Value) -> Vec<&str> {
    revision["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect()
}

/// Three versions of one article: created, retitled, then a new body and tags.
async fn three_versions(app: &TestApp, token: &str) -> (i64, String) {
    let (id, etag, _) = app
        .create_article(
            token,
            json!({"title": "First title", "body_markdown": "Line one.\n\nLine two.\n",
                   "tags": ["Cooking"], "status": "published"}),
        )
        .await;
    let etag = patch(app, token, id, &etag, json!({"title": "Second title"})).await;
    let etag = patch(
        app,
        token,
        id,
        &etag,
        json!({"body_markdown": "Line one.\n\nLine 2, rewritten.\n", "tags": ["Cooking", "Bread"]}),
    )
    .await;
    (id, etag)
}

#[actix_web::test]
async fn every_write_is_a_revision_listed_newest_first_with_what_changed() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let (id, _) = three_versions(&app, &author.token).await;

        let list = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions"),
        )
        .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(versions(&list.body), [3, 2, 1]);
        let [third, second, first] = list.body["data"].as_array().unwrap().as_slice() else {
            panic!("three revisions: {}", list.body);
        };
        assert_eq!(third["editor"]["id"], author.id);
        // A derived excerpt follows its body.
        assert_eq!(changed(third), ["excerpt", "body_markdown", "tags"]);
        assert_eq!(changed(second), ["title"]);
        assert!(changed(first).contains(&"title") && changed(first).len() == 9);
        assert_eq!(list.header("cache-control"), Some("private, no-cache"));

        // Cursor paging visits each once.
        let page = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions?limit=2"),
        )
        .await;
        assert_eq!(versions(&page.body), [3, 2]);
        let cursor = page.body["meta"]["next_cursor"].as_str().unwrap();
        let rest = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions?limit=2&cursor={cursor}"),
        )
        .await;
        assert_eq!(versions(&rest.body), [1]);
        assert_eq!(rest.body["meta"]["next_cursor"], Value::Null);
        let bad = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions?cursor=zz"),
        )
        .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(
            bad.body["detail"].as_str().unwrap().contains("cursor"),
            "{}",
            bad.body
        );

        // One revision, whole, as it was.
        let one = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions/1"),
        )
        .await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.body);
        assert_eq!(one.body["title"], "First title");
        assert_eq!(one.body["body_markdown"], "Line one.\n\nLine two.\n");
        assert_eq!(one.body["tags"], json!(["Cooking"]));
        assert_eq!(one.body["status"], "published");
        let missing = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions/9"),
        )
        .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[actix_web::test]
async fn a_diff_lists_the_changed_fields_and_the_body_as_a_unified_diff() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let (id, _) = three_versions(&app, &author.token).await;

        let diff = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions/3/diff?against=1"),
        )
        .await;
        assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
        assert_eq!(
            (diff.body["from"].as_i64(), diff.body["to"].as_i64()),
            (Some(1), Some(3))
        );
        let changes = diff.body["changes"].as_array().unwrap();
        let fields: Vec<&str> = changes
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["title", "excerpt", "body_markdown", "tags"]);
        assert_eq!(changes[0]["before"], "First title");
        assert_eq!(changes[0]["after"], "Second title");
        assert_eq!(changes[3]["before"], json!(["Cooking"]));
        assert_eq!(changes[3]["after"], json!(["Bread", "Cooking"]));
        let unified = changes[2]["unified_diff"].as_str().unwrap();
        assert!(unified.contains("-Line two.\n"), "{unified}");
        assert!(unified.contains("+Line 2, rewritten.\n"), "{unified}");
        assert!(unified.contains(" Line one.\n"), "{unified}");

        // By default, against the revision before.
        let previous = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions/2/diff"),
        )
        .await;
        assert_eq!(previous.body["from"], 1);
        assert_eq!(previous.body["changes"].as_array().unwrap().len(), 1);
        let unknown = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions/2/diff?against=7"),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[actix_web::test]
async fn restoring_makes_a_new_version_with_the_old_content_and_needs_the_current_etag() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let (id, etag) = three_versions(&app, &author.token).await;

        let no_etag = restore(&app, &author.token, id, 1, None).await;
        assert_eq!(no_etag.status, StatusCode::PRECONDITION_REQUIRED);

        let restored = restore(&app, &author.token, id, 1, Some(&etag)).await;
        assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
        assert_eq!(restored.body["version"], 4);
        assert_eq!(restored.body["title"], "First title");
        assert_eq!(restored.body["body_markdown"], "Line one.\n\nLine two.\n");
        let tags: Vec<&str> = restored.body["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["Cooking"]);
        assert_eq!(
            restored.header("etag"),
            Some(app.etag_of(id, &author.token).await.as_str())
        );
        // The version-3 ETag is stale now: a second restore with it writes nothing.
        let stale = restore(&app, &author.token, id, 2, Some(&etag)).await;
        assert_eq!(
            stale.status,
            StatusCode::PRECONDITION_FAILED,
            "{}",
            stale.body
        );

        // Nothing was rewritten: four revisions, the newest a restore equal to the first.
        let list = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions"),
        )
        .await;
        assert_eq!(versions(&list.body), [4, 3, 2, 1]);
        assert_eq!(list.body["data"][0]["restored_from"], 1);
        let same = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions/4/diff?against=1"),
        )
        .await;
        assert_eq!(same.body["changes"], json!([]), "{}", same.body);

        // The stale restore wrote nothing: still version 4 after it.
        let after = app
            .get_json(&format!("/api/v1/articles/{id}"), StatusCode::OK)
            .await;
        assert_eq!(after["version"], 4);
    })
    .await;
}

#[actix_web::test]
async fn who_may_edit_an_article_is_who_may_see_and_restore_its_history() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let writer = app.user(Role::Contributor).await;
        let other = app.user(Role::Contributor).await;
        let author = app.user(Role::Author).await;
        let editor = app.user(Role::Editor).await;
        let (id, etag, _) = app
            .create_article(&writer.token, json!({"title": "A contributor's draft"}))
            .await;
        let path = format!("/api/v1/articles/{id}/revisions");

        for (who, expected) in [
            (&writer, StatusCode::OK),
            (&editor, StatusCode::OK),
            (&other, StatusCode::NOT_FOUND),
            (&author, StatusCode::NOT_FOUND),
        ] {
            let reply = get(&app, &who.token, &path).await;
            assert_eq!(reply.status, expected, "{}: {}", who.email, reply.body);
        }
        // Nor any single revision, diff or restore of it.
        for outsider in [&other, &author] {
            for (method, sub) in [
                (Method::GET, "/1"),
                (Method::GET, "/1/diff"),
                (Method::POST, "/1/restore"),
            ] {
                let reply = app
                    .send(
                        method,
                        &format!("{path}{sub}"),
                        Some(&outsider.token),
                        None,
                        Some(&etag),
                    )
                    .await;
                assert_eq!(reply.status, StatusCode::NOT_FOUND, "{sub}: {}", reply.body);
            }
        }
        let anonymous = app.send(Method::GET, &path, None, None, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

        // The editor publishes it (v2) and takes it back to a draft (v3).
        let etag = patch(
            &app,
            &editor.token,
            id,
            &etag,
            json!({"status": "published"}),
        )
        .await;
        let etag = patch(&app, &editor.token, id, &etag, json!({"status": "draft"})).await;
        // The contributor may bring back the first draft, not the published version.
        let publish = restore(&app, &writer.token, id, 2, Some(&etag)).await;
        assert_eq!(publish.status, StatusCode::FORBIDDEN, "{}", publish.body);
        let draft = restore(&app, &writer.token, id, 1, Some(&etag)).await;
        assert_eq!(draft.status, StatusCode::OK, "{}", draft.body);
        assert_eq!(draft.body["status"], "draft");
        let list = get(&app, &writer.token, &path).await;
        assert_eq!(list.body["data"][0]["editor"]["id"], writer.id);
        assert_eq!(list.body["data"][1]["editor"]["id"], editor.id);

        // Published, it is no longer the contributor's to edit, nor its history theirs to see.
        let etag = draft.header("etag").unwrap().to_owned();
        patch(
            &app,
            &editor.token,
            id,
            &etag,
            json!({"status": "published"}),
        )
        .await;
        let hidden = get(&app, &writer.token, &path).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[actix_web::test]
async fn only_the_newest_revisions_are_kept_and_deleting_the_article_deletes_them() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(backend, |c| c.revisions_keep = 3, |_| {}).await;
        let author = app.user(Role::Author).await;
        let (id, mut etag, _) = app
            .create_article(&author.token, json!({"title": "Edition 1"}))
            .await;
        for n in 2..=5 {
            etag = patch(
                &app,
                &author.token,
                id,
                &etag,
                json!({"title": format!("Edition {n}")}),
            )
            .await;
        }
        let list = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions"),
        )
        .await;
        assert_eq!(versions(&list.body), [5, 4, 3]);
        let pruned = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions/2"),
        )
        .await;
        assert_eq!(pruned.status, StatusCode::NOT_FOUND);

        let deleted = app
            .send(
                Method::DELETE,
                &format!("/api/v1/articles/{id}"),
                Some(&author.token),
                None,
                Some(&etag),
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let left: i64 = {
            use diesel::prelude::*;
            use folio::db::schema::article_revisions;
            article_revisions::table
                .filter(article_revisions::article_id.eq(id))
                .count()
                .get_result(&mut app.connect())
                .unwrap()
        };
        assert_eq!(left, 0);
        let gone = get(
            &app,
            &author.token,
            &format!("/api/v1/articles/{id}/revisions"),
        )
        .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[actix_web::test]
async fn an_article_older_than_revisions_keeps_its_content_as_the_first_revision() {
    on_each_backend(|backend| async move {
        // Seeded articles are written straight to the database, as before revisions existed.
        let app = spawn_seeded(backend, 3).await;
        let editor = app.user(Role::Editor).await;
        let list = app
            .get_json("/api/v1/articles?limit=1", StatusCode::OK)
            .await;
        let id = list["data"][0]["id"].as_i64().unwrap();
        let original = app
            .get_json(&format!("/api/v1/articles/{id}"), StatusCode::OK)
            .await;
        let history = get(
            &app,
            &editor.token,
            &format!("/api/v1/articles/{id}/revisions"),
        )
        .await;
        assert_eq!(history.body["data"], json!([]));

        let etag = app.etag_of(id, &editor.token).await;
        let etag = patch(&app, &editor.token, id, &etag, json!({"title": "Retitled"})).await;
        let history = get(
            &app,
            &editor.token,
            &format!("/api/v1/articles/{id}/revisions"),
        )
        .await;
        assert_eq!(versions(&history.body), [2, 1]);
        assert_eq!(history.body["data"][1]["editor"], Value::Null);
        assert_eq!(changed(&history.body["data"][0]), ["title"]);

        let restored = restore(&app, &editor.token, id, 1, Some(&etag)).await;
        assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
        for field in [
            "title",
            "slug",
            "body_markdown",
            "excerpt",
            "published_at",
            "tags",
        ] {
            assert_eq!(restored.body[field], original[field], "{field}");
        }
    })
    .await;
}
