//! Many writers at once: what Folio derives (slugs, tags) never makes a valid request fail,
//! and each race of a newsroom has one defined answer on both backends.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use folio::auth::Role;
use futures_util::future::{join, join_all};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, on_each_backend, spawn_app_with, spawn_empty};

/// One writer's outcome: the articles it was told were created, and every request that failed.
#[derive(Default)]
struct Outcome {
    created: Vec<(i64, String)>,
    failures: Vec<String>,
}

impl Outcome {
    fn expect(&mut self, what: &str, reply: &Reply, expected: StatusCode) {
        if reply.status != expected {
            self.failures
                .push(format!("{what}: {} {}", reply.status, reply.body));
        }
    }
}

async fn one_writer(app: &TestApp, n: usize, token: &str, admin: &str, until: Instant) -> Outcome {
    let mut outcome = Outcome::default();
    let mut round = 0;
    while Instant::now() < until {
        round += 1;
        if n % 8 == 7 && round % 4 == 1 {
            // Users whose names (and so derived slugs) collide, with emails of their own.
            let email = format!("sam-{n}-{round}@example.com");
            let body = json!({"email": email, "name": "Sam Writer", "role": "author", "password": "a long enough password"});
            let reply = app
                .send(Method::POST, "/api/v1/users", Some(admin), Some(body), None)
                .await;
            outcome.expect("create user", &reply, StatusCode::CREATED);
            continue;
        }
        let tags = json!(["Launch", format!("Sprint {}", round % 3), "release notes"]);
        let body = json!({"title": "Release notes", "status": "published", "tags": tags, "body_markdown": "Shipped."});
        let reply = app
            .send(
                Method::POST,
                "/api/v1/articles",
                Some(token),
                Some(body),
                None,
            )
            .await;
        outcome.expect("create article", &reply, StatusCode::CREATED);
        if reply.status != StatusCode::CREATED {
            continue;
        }
        let id = reply.body["id"].as_i64().unwrap();
        outcome
            .created
            .push((id, reply.body["slug"].as_str().unwrap().to_owned()));
        if round % 3 == 0 {
            let etag = reply.header("etag").unwrap().to_owned();
            let edit =
                json!({"excerpt": "Edited", "tags": ["Launch", format!("Hotfix {}", round % 2)]});
            let edited = app
                .send(
                    Method::PATCH,
                    &format!("/api/v1/articles/{id}"),
                    Some(token),
                    Some(edit),
                    Some(&etag),
                )
                .await;
            outcome.expect("edit article", &edited, StatusCode::OK);
        }
    }
    outcome
}

#[actix_web::test]
async fn parallel_publishers_sharing_titles_and_new_tags_never_fail() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(backend, |c| c.db_pool_size = 8, |_| {}).await;
        let admin = app.user(Role::Admin).await;
        let mut authors = Vec::new();
        for _ in 0..4 {
            authors.push(app.user(Role::Author).await);
        }
        let until = Instant::now() + Duration::from_secs(3);

        let outcomes = join_all((0..24).map(|n| {
            one_writer(
                &app,
                n,
                &authors[n % authors.len()].token,
                &admin.token,
                until,
            )
        }))
        .await;

        let failures: Vec<&String> = outcomes.iter().flat_map(|o| &o.failures).collect();
        assert!(
            failures.is_empty(),
            "{} failed: {failures:?}",
            failures.len()
        );
        let created: Vec<&(i64, String)> = outcomes.iter().flat_map(|o| &o.created).collect();
        assert!(
            created.len() > 24,
            "only {} articles were written",
            created.len()
        );
        let slugs: HashSet<&str> = created.iter().map(|(_, slug)| slug.as_str()).collect();
        assert_eq!(
            slugs.len(),
            created.len(),
            "every article has a slug of its own"
        );
        for (id, slug) in &created {
            let article = app
                .get_json(&format!("/api/v1/articles/slug/{slug}"), StatusCode::OK)
                .await;
            assert_eq!(article["id"], *id);
        }
        let tags = app.get_json("/api/v1/tags?limit=100", StatusCode::OK).await;
        let names: Vec<String> = tags["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_lowercase())
            .collect();
        let distinct: HashSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "one tag per name: {names:?}");
        assert!(names.contains(&"launch".to_owned()));
        let users = app
            .send(
                Method::GET,
                "/api/v1/users?limit=100",
                Some(&admin.token),
                None,
                None,
            )
            .await;
        let user_slugs: Vec<&str> = users.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["slug"].as_str().unwrap())
            .collect();
        let distinct: HashSet<&&str> = user_slugs.iter().collect();
        assert_eq!(distinct.len(), user_slugs.len());
    })
    .await;
}

/// Runs two requests at the same instant.
async fn race(app: &TestApp, a: Req<'_>, b: Req<'_>) -> (Reply, Reply) {
    join(
        app.send(a.0, &a.1, Some(a.2), a.3, a.4.as_deref()),
        app.send(b.0, &b.1, Some(b.2), b.3, b.4.as_deref()),
    )
    .await
}

/// Method, path, token, body, If-Match.
type Req<'a> = (Method, String, &'a str, Option<Value>, Option<String>);

const ROUNDS: usize = 6;

#[actix_web::test]
async fn two_editors_renaming_one_tag_both_succeed_and_one_name_wins_whole() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let (one, two) = (app.user(Role::Editor).await, app.user(Role::Editor).await);
        for round in 0..ROUNDS {
            let tag = app
                .send(
                    Method::POST,
                    "/api/v1/tags",
                    Some(&one.token),
                    Some(json!({"name": format!("Topic {round}")})),
                    None,
                )
                .await;
            let path = format!("/api/v1/tags/{}", tag.body["id"]);
            let alpha = json!({"name": format!("Alpha {round}"), "description": "by one"});
            let beta = json!({"name": format!("Beta {round}"), "description": "by two"});

            let (a, b) = race(
                &app,
                (Method::PATCH, path.clone(), &one.token, Some(alpha), None),
                (Method::PATCH, path.clone(), &two.token, Some(beta), None),
            )
            .await;

            assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
            let now = app.get_json(&path, StatusCode::OK).await;
            let pair = (
                now["name"].as_str().unwrap(),
                now["description"].as_str().unwrap(),
            );
            let (alpha, beta) = (format!("Alpha {round}"), format!("Beta {round}"));
            assert!(
                pair == (alpha.as_str(), "by one") || pair == (beta.as_str(), "by two"),
                "one change wins whole, never a mix: {pair:?}"
            );
        }
    })
    .await;
}

#[actix_web::test]
async fn a_tag_deleted_while_an_article_naming_it_is_saved_leaves_them_consistent() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let editor = app.user(Role::Editor).await;
        for round in 0..ROUNDS {
            let name = format!("Ephemeral {round}");
            let tag = app
                .send(
                    Method::POST,
                    "/api/v1/tags",
                    Some(&editor.token),
                    Some(json!({"name": name})),
                    None,
                )
                .await;
            let (id, etag, _) = app
                .create_article(&editor.token, json!({"title": format!("Story {round}")}))
                .await;

            let (saved, deleted) = race(
                &app,
                (
                    Method::PATCH,
                    format!("/api/v1/articles/{id}"),
                    &editor.token,
                    Some(json!({"tags": [name]})),
                    Some(etag),
                ),
                (
                    Method::DELETE,
                    format!("/api/v1/tags/{}", tag.body["id"]),
                    &editor.token,
                    None,
                    None,
                ),
            )
            .await;

            assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
            assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
            // Either the article was saved first and the deletion took the tag off it, or the
            // deletion came first and saving the article (by an editor) made the tag anew.
            let tag_now = app
                .get(&format!("/api/v1/tags/slug/ephemeral-{round}"))
                .await
                .status();
            let article = app
                .send(
                    Method::GET,
                    &format!("/api/v1/articles/{id}"),
                    Some(&editor.token),
                    None,
                    None,
                )
                .await;
            let carries = article.body["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["name"] == name.as_str());
            assert_eq!(carries, tag_now == StatusCode::OK, "round {round}");
        }
    })
    .await;
}

#[actix_web::test]
async fn an_article_deleted_while_it_is_patched_is_either_412_for_the_delete_or_404_for_the_patch()
{
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        for round in 0..ROUNDS {
            let (id, etag, _) = app
                .create_article(&author.token, json!({"title": format!("Doomed {round}")}))
                .await;
            let path = format!("/api/v1/articles/{id}");

            let (patched, deleted) = race(
                &app,
                (
                    Method::PATCH,
                    path.clone(),
                    &author.token,
                    Some(json!({"title": "Saved?"})),
                    Some(etag.clone()),
                ),
                (
                    Method::DELETE,
                    path.clone(),
                    &author.token,
                    None,
                    Some(etag),
                ),
            )
            .await;

            let outcome = (patched.status, deleted.status);
            assert!(
                outcome == (StatusCode::OK, StatusCode::PRECONDITION_FAILED)
                    || outcome == (StatusCode::NOT_FOUND, StatusCode::NO_CONTENT),
                "round {round}: {outcome:?} {} {}",
                patched.body,
                deleted.body
            );
            let exists = app
                .send(Method::GET, &path, Some(&author.token), None, None)
                .await
                .status;
            assert_eq!(exists == StatusCode::OK, patched.status == StatusCode::OK);
        }
    })
    .await;
}

#[actix_web::test]
async fn a_user_deleted_while_an_article_is_given_to_them_leaves_it_with_the_heir_or_refuses() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let admin = app.user(Role::Admin).await;
        let editor = app.user(Role::Editor).await;
        for round in 0..ROUNDS {
            let leaving = app.user(Role::Author).await;
            let (id, etag, _) = app
                .create_article(&editor.token, json!({"title": format!("Handover {round}")}))
                .await;

            let (given, deleted) = race(
                &app,
                (
                    Method::PATCH,
                    format!("/api/v1/articles/{id}"),
                    &editor.token,
                    Some(json!({"author_id": leaving.id})),
                    Some(etag),
                ),
                (
                    Method::DELETE,
                    format!("/api/v1/users/{}?reassign_to={}", leaving.id, admin.id),
                    &admin.token,
                    None,
                    None,
                ),
            )
            .await;

            assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
            let author_now = app
                .send(
                    Method::GET,
                    &format!("/api/v1/articles/{id}"),
                    Some(&editor.token),
                    None,
                    None,
                )
                .await
                .body["author"]["id"]
                .as_i64()
                .unwrap();
            match given.status {
                // Given first: the deletion then passed the article on to the heir.
                StatusCode::OK => assert_eq!(author_now, admin.id, "round {round}"),
                // Deleted first: there was nobody to give it to.
                StatusCode::UNPROCESSABLE_ENTITY => {
                    assert_eq!(given.body["errors"][0]["field"], "author_id");
                    assert_eq!(author_now, editor.id, "round {round}");
                }
                other => panic!("round {round}: {other} {}", given.body),
            }
        }
    })
    .await;
}

#[actix_web::test]
async fn two_publishes_of_one_draft_are_one_200_and_one_412() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let (one, two) = (app.user(Role::Editor).await, app.user(Role::Editor).await);
        for round in 0..ROUNDS {
            let (id, etag, _) = app
                .create_article(&one.token, json!({"title": format!("Draft {round}")}))
                .await;
            let path = format!("/api/v1/articles/{id}");
            let publish = json!({"status": "published"});

            let (a, b) = race(
                &app,
                (
                    Method::PATCH,
                    path.clone(),
                    &one.token,
                    Some(publish.clone()),
                    Some(etag.clone()),
                ),
                (
                    Method::PATCH,
                    path.clone(),
                    &two.token,
                    Some(publish),
                    Some(etag),
                ),
            )
            .await;

            let mut statuses = [a.status, b.status];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
            assert_eq!(app.get_json(&path, StatusCode::OK).await["version"], 2);
        }
    })
    .await;
}

#[actix_web::test]
async fn conflicts_the_client_chose_are_409s_naming_the_field_in_folios_words() {
    on_each_backend(|backend| async move {
        let app = spawn_empty(backend).await;
        let admin = app.user(Role::Admin).await;
        let editor = app.user(Role::Editor).await;
        let (first, _, _) = app
            .create_article(&editor.token, json!({"title": "First", "slug": "taken"}))
            .await;
        let (second, second_etag, _) = app
            .create_article(&editor.token, json!({"title": "Second"}))
            .await;
        let tag = app
            .send(Method::POST, "/api/v1/tags", Some(&editor.token), Some(json!({"name": "Rust", "slug": "rust"})), None)
            .await;
        let other_tag = app
            .send(Method::POST, "/api/v1/tags", Some(&editor.token), Some(json!({"name": "Go"})), None)
            .await;
        assert_eq!((tag.status, other_tag.status), (StatusCode::CREATED, StatusCode::CREATED));
        let me = format!("/api/v1/users/{}", editor.id);
        let cases: Vec<(Method, String, Value, Option<String>, &str)> = vec![
            (Method::POST, "/api/v1/articles".into(), json!({"title": "Again", "slug": "taken"}), None, "slug"),
            (Method::PATCH, format!("/api/v1/articles/{second}"), json!({"slug": "taken"}), Some(second_etag), "slug"),
            (Method::POST, "/api/v1/tags".into(), json!({"name": "rust"}), None, "name"),
            (Method::POST, "/api/v1/tags".into(), json!({"name": "Rust Lang", "slug": "rust"}), None, "slug"),
            (Method::PATCH, format!("/api/v1/tags/{}", other_tag.body["id"]), json!({"slug": "rust"}), None, "slug"),
            (Method::POST, "/api/v1/users".into(), json!({"email": admin.email, "name": "Twin", "role": "author", "password": "a long enough password"}), None, "email"),
            (Method::PATCH, me, json!({"email": admin.email}), None, "email"),
        ];
        for (method, path, body, if_match, field) in cases {
            let reply = app
                .send(method.clone(), &path, Some(&admin.token), Some(body), if_match.as_deref())
                .await;
            assert_eq!(reply.status, StatusCode::CONFLICT, "{method} {path}: {}", reply.body);
            assert_eq!(reply.body["errors"][0]["field"], field, "{method} {path}");
        }
        assert!(first > 0);

        // Two admins creating the same email at the same instant: the unique index decides.
        let body = json!({"email": "twin@example.com", "name": "Twin", "role": "author", "password": "a long enough password"});
        let (a, b) = race(
            &app,
            (Method::POST, "/api/v1/users".into(), &admin.token, Some(body.clone()), None),
            (Method::POST, "/api/v1/users".into(), &admin.token, Some(body), None),
        )
        .await;
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
        let loser = if a.status == StatusCode::CONFLICT { &a } else { &b };
        assert_eq!(loser.body["errors"][0]["field"], "email");
    })
    .await;
}
