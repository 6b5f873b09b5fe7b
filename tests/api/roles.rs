//! The role table of design.md, walked cell by cell: every row, for anonymous, contributor,
//! author, editor and admin, on their own and on others' articles.

use folio::auth::Role;
use reqwest::Method;
use reqwest::StatusCode as S;
use serde_json::json;

use crate::helpers::{TestApp, TestUser, on_each_backend, spawn_empty};

/// Who is calling in a cell: nobody, or a user of a role.
const CALLERS: [Option<Role>; 5] = [
    None,
    Some(Role::Contributor),
    Some(Role::Author),
    Some(Role::Editor),
    Some(Role::Admin),
];

fn future() -> String {
    (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339()
}

struct Cell<'a> {
    app: &'a TestApp,
    caller: Option<&'a TestUser>,
    role: Option<Role>,
}

impl Cell<'_> {
    fn token(&self) -> Option<&str> {
        self.caller.map(|u| u.token.as_str())
    }

    /// Asserts the status of one cell: `allowed` or the denial the design calls for.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per part of a cell keeps each cell on one line"
    )]
    async fn expect(
        &self,
        row: &str,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        etag: Option<&str>,
        allowed: bool,
        ok: S,
        denied: S,
    ) {
        let reply = self.app.send(method, path, self.token(), body, etag).await;
        let expected = if allowed { ok } else { denied };
        assert_eq!(
            reply.status, expected,
            "{row}: {:?} got {} {}",
            self.role, reply.status, reply.body
        );
    }
}

/// An article by `owner` with the given status (written by `boss`, an admin, when the owner
/// could not write it themselves); returns (id, etag).
async fn article_of(app: &TestApp, boss: &TestUser, owner: i64, status: &str) -> (i64, String) {
    let mut body = json!({"title": format!("{status} by {owner}"), "body_markdown": "Text.", "status": status, "author_id": owner});
    if status == "scheduled" {
        body["published_at"] = json!(future());
    }
    let (id, etag, _) = app.create_article(&boss.token, body).await;
    (id, etag)
}

#[actix_web::test]
async fn the_role_table_is_enforced_cell_by_cell() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let boss = app.user(Role::Admin).await;
        let other = app.user(Role::Author).await;
        let users = [
            None,
            Some(app.user(Role::Contributor).await),
            Some(app.user(Role::Author).await),
            Some(app.user(Role::Editor).await),
            Some(app.user(Role::Admin).await),
        ];
        let (others_published, _) = article_of(&app, &boss, other.id, "published").await;

        for (role, user) in CALLERS.into_iter().zip(users.iter()) {
            let cell = Cell { app: &app, caller: user.as_ref(), role };
            let at_least = |min: Role| role.is_some_and(|r| r >= min);
            let signed_in = role.is_some();
            let denied_write = if signed_in { S::FORBIDDEN } else { S::UNAUTHORIZED };

            // read published
            cell.expect("read published", Method::GET, &format!("/api/v1/articles/{others_published}"), None, None, true, S::OK, S::NOT_FOUND).await;

            // read others' drafts / scheduled: hidden as 404 from those who may not see them
            let (others_draft, others_draft_etag) = article_of(&app, &boss, other.id, "draft").await;
            let (others_scheduled, _) = article_of(&app, &boss, other.id, "scheduled").await;
            for id in [others_draft, others_scheduled] {
                cell.expect("read others' unpublished", Method::GET, &format!("/api/v1/articles/{id}"), None, None, at_least(Role::Editor), S::OK, S::NOT_FOUND).await;
            }

            // edit, publish, delete others'
            let (others_live, others_live_etag) = article_of(&app, &boss, other.id, "published").await;
            cell.expect("edit others' published", Method::PATCH, &format!("/api/v1/articles/{others_live}"), Some(json!({"title": "Edited"})), Some(&others_live_etag), at_least(Role::Editor), S::OK, denied_write).await;
            let hidden = if signed_in { S::NOT_FOUND } else { S::UNAUTHORIZED };
            cell.expect("publish others' draft", Method::PATCH, &format!("/api/v1/articles/{others_draft}"), Some(json!({"status": "published"})), Some(&others_draft_etag), at_least(Role::Editor), S::OK, hidden).await;
            let (others_gone, others_gone_etag) = article_of(&app, &boss, other.id, "published").await;
            cell.expect("delete others' published", Method::DELETE, &format!("/api/v1/articles/{others_gone}"), None, Some(&others_gone_etag), at_least(Role::Editor), S::NO_CONTENT, denied_write).await;

            // manage tags
            let tag = format!("managed-{}", role.map_or("anon", Role::as_str));
            cell.expect("manage tags: create", Method::POST, "/api/v1/tags", Some(json!({"name": tag})), None, at_least(Role::Editor), S::CREATED, denied_write).await;
            let existing = app.send(Method::POST, "/api/v1/tags", Some(&boss.token), Some(json!({"name": format!("{tag} victim")})), None).await;
            let existing_id = existing.body["id"].as_i64().unwrap();
            cell.expect("manage tags: rename", Method::PATCH, &format!("/api/v1/tags/{existing_id}"), Some(json!({"description": "new"})), None, at_least(Role::Editor), S::OK, denied_write).await;
            cell.expect("manage tags: delete", Method::DELETE, &format!("/api/v1/tags/{existing_id}"), None, None, at_least(Role::Editor), S::NO_CONTENT, denied_write).await;

            // manage users and roles
            cell.expect("manage users: list", Method::GET, "/api/v1/users", None, None, at_least(Role::Admin), S::OK, denied_write).await;
            let email = format!("new-{}@example.com", role.map_or("anon", Role::as_str));
            cell.expect("manage users: create", Method::POST, "/api/v1/users", Some(json!({"email": email, "name": "New", "role": "author", "password": "a long enough password"})), None, at_least(Role::Admin), S::CREATED, denied_write).await;
            cell.expect("manage users: change role", Method::PATCH, &format!("/api/v1/users/{}", other.id), Some(json!({"role": "author"})), None, at_least(Role::Admin), S::OK, denied_write).await;

            let Some(me) = user.as_ref() else {
                // Anonymous callers own nothing and may write nothing.
                cell.expect("create a draft", Method::POST, "/api/v1/articles", Some(json!({"title": "Anon"})), None, false, S::CREATED, S::UNAUTHORIZED).await;
                continue;
            };

            // create a draft
            cell.expect("create a draft", Method::POST, "/api/v1/articles", Some(json!({"title": "Mine"})), None, true, S::CREATED, S::FORBIDDEN).await;
            cell.expect("create published", Method::POST, "/api/v1/articles", Some(json!({"title": "Mine, live", "status": "published"})), None, at_least(Role::Author), S::CREATED, S::FORBIDDEN).await;

            // read own drafts / scheduled
            let (own_draft, own_draft_etag) = article_of(&app, &boss, me.id, "draft").await;
            let (own_scheduled, _) = article_of(&app, &boss, me.id, "scheduled").await;
            for id in [own_draft, own_scheduled] {
                cell.expect("read own unpublished", Method::GET, &format!("/api/v1/articles/{id}"), None, None, true, S::OK, S::NOT_FOUND).await;
            }

            // edit or delete own draft
            cell.expect("edit own draft", Method::PATCH, &format!("/api/v1/articles/{own_draft}"), Some(json!({"title": "Better"})), Some(&own_draft_etag), true, S::OK, S::FORBIDDEN).await;
            let (own_scrap, own_scrap_etag) = article_of(&app, &boss, me.id, "draft").await;
            cell.expect("delete own draft", Method::DELETE, &format!("/api/v1/articles/{own_scrap}"), None, Some(&own_scrap_etag), true, S::NO_CONTENT, S::FORBIDDEN).await;

            // publish or schedule own
            let etag = app.etag_of(own_draft, &me.token).await;
            cell.expect("publish own", Method::PATCH, &format!("/api/v1/articles/{own_draft}"), Some(json!({"status": "published"})), Some(&etag), at_least(Role::Author), S::OK, S::FORBIDDEN).await;
            let (to_schedule, to_schedule_etag) = article_of(&app, &boss, me.id, "draft").await;
            cell.expect("schedule own", Method::PATCH, &format!("/api/v1/articles/{to_schedule}"), Some(json!({"status": "scheduled", "published_at": future()})), Some(&to_schedule_etag), at_least(Role::Author), S::OK, S::FORBIDDEN).await;

            // edit or delete own published
            let (own_live, own_live_etag) = article_of(&app, &boss, me.id, "published").await;
            cell.expect("edit own published", Method::PATCH, &format!("/api/v1/articles/{own_live}"), Some(json!({"title": "Fixed"})), Some(&own_live_etag), at_least(Role::Author), S::OK, S::FORBIDDEN).await;
            let etag = app.etag_of(own_live, &me.token).await;
            cell.expect("delete own published", Method::DELETE, &format!("/api/v1/articles/{own_live}"), None, Some(&etag), at_least(Role::Author), S::NO_CONTENT, S::FORBIDDEN).await;

            // create tags through an article
            let new_tag = format!("fresh-{}", me.id);
            cell.expect("create a tag inline", Method::POST, "/api/v1/articles", Some(json!({"title": "Tagged", "tags": [new_tag]})), None, at_least(Role::Author), S::CREATED, S::UNPROCESSABLE_ENTITY).await;
        }
    })
    .await;
}

#[actix_web::test]
async fn unpublished_lists_show_what_each_role_may_see() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let boss = app.user(Role::Admin).await;
        let writer = app.user(Role::Contributor).await;
        let other = app.user(Role::Author).await;
        let editor = app.user(Role::Editor).await;
        let (mine, _) = article_of(&app, &boss, writer.id, "draft").await;
        let (theirs, _) = article_of(&app, &boss, other.id, "draft").await;
        let (scheduled, _) = article_of(&app, &boss, other.id, "scheduled").await;
        let (live, _) = article_of(&app, &boss, other.id, "published").await;
        let ids = |body: &serde_json::Value| -> Vec<i64> { crate::helpers::ids(body) };

        let own = app
            .send(
                Method::GET,
                "/api/v1/articles?status=draft",
                Some(&writer.token),
                None,
                None,
            )
            .await;
        let all_for_writer = app
            .send(
                Method::GET,
                "/api/v1/articles?status=all&sort=title",
                Some(&writer.token),
                None,
                None,
            )
            .await;
        let all_for_editor = app
            .send(
                Method::GET,
                "/api/v1/articles?status=all&sort=title",
                Some(&editor.token),
                None,
                None,
            )
            .await;
        let scheduled_for_editor = app
            .send(
                Method::GET,
                "/api/v1/articles?status=scheduled",
                Some(&editor.token),
                None,
                None,
            )
            .await;
        let anonymous = app
            .send(
                Method::GET,
                "/api/v1/articles?status=draft",
                None,
                None,
                None,
            )
            .await;

        assert_eq!(ids(&own.body), vec![mine]);
        assert_eq!(own.header("cache-control"), Some("private, no-cache"));
        let mut writer_sees = ids(&all_for_writer.body);
        writer_sees.sort_unstable();
        assert_eq!(writer_sees, vec![mine, live]);
        let mut editor_sees = ids(&all_for_editor.body);
        editor_sees.sort_unstable();
        assert_eq!(editor_sees, vec![mine, theirs, scheduled, live]);
        assert_eq!(ids(&scheduled_for_editor.body), vec![scheduled]);
        assert_eq!(anonymous.status, S::UNAUTHORIZED);
    })
    .await;
}
