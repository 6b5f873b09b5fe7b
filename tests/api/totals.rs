//! List totals and `article_count`s come from counters kept by the writes; they must always
//! equal a full count, and totals that are counted stop at the configured limit.

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use folio::auth::Role;
use folio::db::schema::{article_counts, article_tags, articles, count_watermark};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::corpus::{self, Row};
use crate::helpers::{
    TestApp, TestUser, on_each_backend, spawn_app_with, spawn_seeded, statements_run,
    uncached_lists,
};

/// What a reader sees now, counted from the rows: overall, per tag slug, per author slug.
fn visible_counts(rows: &[Row]) -> (i64, HashMap<String, i64>, HashMap<String, i64>) {
    let now = folio::db::now();
    let (mut tags, mut authors) = (HashMap::new(), HashMap::new());
    let mut all = 0;
    for row in rows.iter().filter(|r| r.is_public(now)) {
        all += 1;
        *authors.entry(row.author.clone()).or_insert(0) += 1;
        for tag in &row.tags {
            *tags.entry(tag.clone()).or_insert(0) += 1;
        }
    }
    (all, tags, authors)
}

/// Every total and count the API gives, against a full count of the rows.
async fn assert_api_counts_match_rows(app: &TestApp, when: &str) {
    let rows = corpus::load(&mut app.connect());
    let (all, by_tag, by_author) = visible_counts(&rows);
    let list = app
        .get_json("/api/v1/articles?limit=1", StatusCode::OK)
        .await;
    assert_eq!(list["meta"]["total"], all, "{when}: all");
    let tags = app.get_json("/api/v1/tags?limit=100", StatusCode::OK).await;
    for tag in tags["data"].as_array().unwrap() {
        let slug = tag["slug"].as_str().unwrap();
        let expected = by_tag.get(slug).copied().unwrap_or(0);
        assert_eq!(tag["article_count"], expected, "{when}: tag {slug}");
        let listed = app
            .get_json(
                &format!("/api/v1/articles?tag={slug}&limit=1"),
                StatusCode::OK,
            )
            .await;
        assert_eq!(listed["meta"]["total"], expected, "{when}: tag list {slug}");
        assert_eq!(listed["meta"]["total_exact"], true);
        // The page itself comes from the tag's timeline, which the writes must keep too.
        let newest = corpus::expected(&rows, "-published_at", |r| r.has_tag(slug));
        assert_eq!(
            listed["data"][0]["id"].as_i64(),
            newest.first().copied(),
            "{when}: newest of tag {slug}"
        );
    }
    let authors = app
        .get_json("/api/v1/authors?limit=100", StatusCode::OK)
        .await;
    let listed: HashMap<String, i64> = authors["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["slug"].as_str().unwrap().to_owned(),
                a["article_count"].as_i64().unwrap(),
            )
        })
        .collect();
    for (slug, count) in &listed {
        assert_eq!(by_author.get(slug), Some(count), "{when}: author {slug}");
        let page = app
            .get_json(
                &format!("/api/v1/articles?author={slug}&limit=1"),
                StatusCode::OK,
            )
            .await;
        assert_eq!(page["meta"]["total"], *count, "{when}: author list {slug}");
    }
}

/// Every list leaving out one tag totals all published articles but that tag's. Asked once
/// no scheduled article is about to come due: any article going live between reading the
/// rows and a request would change every one of these totals.
async fn assert_exclusion_totals_match_rows(app: &TestApp, when: &str) {
    let rows = corpus::load(&mut app.connect());
    let (all, by_tag, _) = visible_counts(&rows);
    let tags = app.get_json("/api/v1/tags?limit=100", StatusCode::OK).await;
    for tag in tags["data"].as_array().unwrap() {
        let slug = tag["slug"].as_str().unwrap();
        let others = app
            .get_json(
                &format!("/api/v1/articles?exclude_tag={slug}&limit=1"),
                StatusCode::OK,
            )
            .await;
        let tagged = by_tag.get(slug).copied().unwrap_or(0);
        assert_eq!(
            others["meta"]["total"],
            all - tagged,
            "{when}: all but {slug}"
        );
        assert_eq!(others["meta"]["total_exact"], true);
    }
}

/// Every tag's timeline (`article_tags.published_at`) against its article: the article's
/// time while it is published, none otherwise.
fn assert_timelines_match_rows(app: &TestApp, when: &str) {
    type Time = Option<chrono::NaiveDateTime>;
    let mut conn = app.connect();
    let stored: Vec<(i64, i64, Time, String, Time)> = article_tags::table
        .inner_join(articles::table)
        .select((
            article_tags::article_id,
            article_tags::tag_id,
            article_tags::published_at,
            articles::status,
            articles::published_at,
        ))
        .load(&mut conn)
        .unwrap();
    assert!(!stored.is_empty());
    for (article, tag, timeline, status, published_at) in stored {
        let expected = published_at.filter(|_| status == "published");
        assert_eq!(timeline, expected, "{when}: article {article}, tag {tag}");
    }
}

/// The stored counters against a full count, once the job has counted every due article.
fn assert_counters_match_rows(app: &TestApp) {
    let mut conn = app.connect();
    let rows = corpus::load(&mut conn);
    let (all, by_tag, by_author) = visible_counts(&rows);
    let stored: Vec<(String, i64, i64)> = article_counts::table
        .select((
            article_counts::scope,
            article_counts::ref_id,
            article_counts::published,
        ))
        .load(&mut conn)
        .unwrap();
    let slug_of = |table: &str, id: i64| -> String {
        let query = format!("SELECT slug FROM {table} WHERE id = {id}");
        #[derive(QueryableByName)]
        struct Slug {
            #[diesel(sql_type = diesel::sql_types::Text)]
            slug: String,
        }
        diesel::sql_query(query)
            .get_result::<Slug>(&mut app.connect())
            .map(|s| s.slug)
            .unwrap_or_default()
    };
    let mut stored_tags = HashMap::new();
    let mut stored_authors = HashMap::new();
    for (scope, id, published) in stored {
        match scope.as_str() {
            "all" => assert_eq!(published, all, "stored overall counter"),
            "tag" if published != 0 => {
                stored_tags.insert(slug_of("tags", id), published);
            }
            "author" if published != 0 => {
                stored_authors.insert(slug_of("users", id), published);
            }
            _ => {}
        }
    }
    assert_eq!(stored_tags, by_tag, "stored tag counters");
    assert_eq!(stored_authors, by_author, "stored author counters");
}

async fn wait_until_counted(app: &TestApp, until: chrono::NaiveDateTime) {
    for _ in 0..100 {
        let counted: chrono::NaiveDateTime = count_watermark::table
            .select(count_watermark::counted_until)
            .first(&mut app.connect())
            .unwrap();
        if counted >= until {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the due-articles job never counted up to {until}");
}

/// A random but repeatable mix of the writes that move counters.
async fn random_writes(app: &TestApp, editor: &TestUser, admin: &TestUser, authors: &[TestUser]) {
    let mut rng = fastrand::Rng::with_seed(11);
    let tag_pool = ["Rust", "Databases", "Fresh One", "Fresh Two", "Web"];
    let mut mine: Vec<(i64, String)> = Vec::new();
    for round in 0..40 {
        let pick_tags = |rng: &mut fastrand::Rng| -> Value {
            let n = rng.usize(0..=3);
            json!(
                (0..n)
                    .map(|_| tag_pool[rng.usize(0..tag_pool.len())])
                    .collect::<Vec<_>>()
            )
        };
        let op = rng.u32(0..10);
        if op < 4 || mine.is_empty() {
            let status = ["draft", "published", "scheduled"][rng.usize(0..3)];
            let mut body = json!({"title": format!("Mix {round}"), "status": status, "tags": pick_tags(&mut rng)});
            if status == "scheduled" {
                let at = chrono::Utc::now() + chrono::Duration::milliseconds(rng.i64(800..2000));
                body["published_at"] = json!(at.to_rfc3339());
            }
            let (id, etag, _) = app.create_article(&editor.token, body).await;
            mine.push((id, etag));
            continue;
        }
        let index = rng.usize(0..mine.len());
        let (id, etag) = mine[index].clone();
        let path = format!("/api/v1/articles/{id}");
        let reply = match op {
            4 => {
                app.send(
                    Method::PATCH,
                    &path,
                    Some(&editor.token),
                    Some(json!({"status": "published"})),
                    Some(&etag),
                )
                .await
            }
            5 => {
                app.send(
                    Method::PATCH,
                    &path,
                    Some(&editor.token),
                    Some(json!({"status": "draft"})),
                    Some(&etag),
                )
                .await
            }
            6 => {
                app.send(
                    Method::PATCH,
                    &path,
                    Some(&editor.token),
                    Some(json!({"tags": pick_tags(&mut rng)})),
                    Some(&etag),
                )
                .await
            }
            7 => {
                let author = &authors[rng.usize(0..authors.len())];
                app.send(
                    Method::PATCH,
                    &path,
                    Some(&editor.token),
                    Some(json!({"author_id": author.id})),
                    Some(&etag),
                )
                .await
            }
            _ => {
                let reply = app
                    .send(
                        Method::DELETE,
                        &path,
                        Some(&editor.token),
                        None,
                        Some(&etag),
                    )
                    .await;
                assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
                mine.remove(index);
                continue;
            }
        };
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        mine[index].1 = reply.header("etag").unwrap().to_owned();
    }
    // A tag deleted, and an author deleted with their articles going to another.
    let web = app.get_json("/api/v1/tags/slug/web", StatusCode::OK).await;
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v1/tags/{}", web["id"]),
            Some(&editor.token),
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let leaving = &authors[0];
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v1/users/{}?reassign_to={}", leaving.id, authors[1].id),
            Some(&admin.token),
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
}

#[actix_web::test]
async fn counters_always_equal_a_full_count_through_a_random_mix_of_writes() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 60).await;
        let admin = app.user(Role::Admin).await;
        let editor = app.user(Role::Editor).await;
        let mut authors = Vec::new();
        for _ in 0..3 {
            authors.push(app.user(Role::Author).await);
        }

        random_writes(&app, &editor, &admin, &authors).await;

        assert_timelines_match_rows(&app, "right after the writes");
        assert_api_counts_match_rows(&app, "right after the writes").await;
        // Scheduled articles come due: visible at once, counted by the job within a second.
        actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
        assert_api_counts_match_rows(&app, "as scheduled articles come due").await;
        assert_exclusion_totals_match_rows(&app, "as scheduled articles come due").await;
        wait_until_counted(&app, folio::db::now()).await;
        assert_api_counts_match_rows(&app, "after the job counted them").await;
        assert_counters_match_rows(&app);
    })
    .await;
}

#[actix_web::test]
async fn counted_totals_stop_at_the_limit_and_count_modes_change_that() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(
            backend,
            |config| config.count_limit = 5,
            |db| {
                let options = folio::seed::SeedOptions {
                    articles: 40,
                    tags: 3,
                    authors: 2,
                    seed: 3,
                };
                folio::seed::run(&db.parsed(), &options, false).unwrap();
            },
        )
        .await;
        let rows = corpus::load(&mut app.connect());
        let now = folio::db::now();
        let public = rows.iter().filter(|r| r.is_public(now));
        let not_first_tag = public.filter(|r| !r.tags.is_empty()).count() as i64;
        assert!(not_first_tag > 5);
        let tags = app.get_json("/api/v1/tags", StatusCode::OK).await;
        let slugs: Vec<&str> = tags["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap())
            .collect();
        let several = format!("/api/v1/articles?tag={}&limit=2", slugs.join(","));
        let expected = rows
            .iter()
            .filter(|r| r.is_public(now) && slugs.iter().any(|s| r.has_tag(s)))
            .count() as i64;

        let bounded = app.get_json(&several, StatusCode::OK).await;
        let exact = app
            .get_json(&format!("{several}&count=exact"), StatusCode::OK)
            .await;
        let none = app
            .get_json(&format!("{several}&count=none"), StatusCode::OK)
            .await;
        let counter = app
            .get_json("/api/v1/articles?limit=2", StatusCode::OK)
            .await;

        assert_eq!(bounded["meta"]["total"], 5);
        assert_eq!(bounded["meta"]["total_exact"], false);
        assert_eq!(bounded["meta"]["pages"], 3);
        assert_eq!(exact["meta"]["total"], expected);
        assert_eq!(exact["meta"]["total_exact"], true);
        for gone in ["total", "total_exact", "pages"] {
            assert!(
                none["meta"].get(gone).is_none(),
                "count=none leaves out {gone}"
            );
        }
        assert_eq!(none["meta"]["page"], 1);
        assert!(none["meta"]["next_cursor"].is_string());
        assert_eq!(none["data"], bounded["data"], "the page is the same");
        // A tag's timeline counted to the limit: one tag with a date, all of two tags.
        let since = "2000-01-01T00:00:00Z";
        let since_naive = chrono::DateTime::parse_from_rfc3339(since)
            .unwrap()
            .naive_utc();
        let timelines = [
            (
                format!("/api/v1/articles?tag={}&published_after={since}", slugs[0]),
                rows.iter()
                    .filter(|r| r.is_public(now) && r.has_tag(slugs[0]))
                    .filter(|r| r.published_at.is_some_and(|at| at > since_naive))
                    .count() as i64,
            ),
            (
                format!(
                    "/api/v1/articles?tag={},{}&tag_match=all",
                    slugs[0], slugs[1]
                ),
                rows.iter()
                    .filter(|r| r.is_public(now) && r.has_tag(slugs[0]) && r.has_tag(slugs[1]))
                    .count() as i64,
            ),
        ];
        assert!(
            timelines[0].1 > 5,
            "one tag's timeline is counted past the limit"
        );
        for (path, expected) in timelines {
            let bounded = app.get_json(&path, StatusCode::OK).await;
            let exact = app
                .get_json(&format!("{path}&count=exact"), StatusCode::OK)
                .await;
            assert_eq!(bounded["meta"]["total"], expected.min(5), "{path}");
            assert_eq!(bounded["meta"]["total_exact"], expected <= 5, "{path}");
            assert_eq!(exact["meta"]["total"], expected, "{path}");
        }
        // Lists the counters answer are exact beyond the limit.
        let all = rows.iter().filter(|r| r.is_public(now)).count() as i64;
        assert_eq!(counter["meta"]["total"], all);
        assert_eq!(counter["meta"]["total_exact"], true);
    })
    .await;
}

#[actix_web::test]
async fn numbered_pages_past_the_maximum_offset_are_400_pointing_to_the_cursor() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(backend, |config| config.max_offset = 40, |_| {}).await;

        let last = app.get("/api/v1/articles?limit=20&page=2").await;
        let beyond = app.get("/api/v1/articles?limit=20&page=3").await;

        assert_eq!(last.status(), StatusCode::OK);
        assert_eq!(beyond.status(), StatusCode::BAD_REQUEST);
        let problem: Value = beyond.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "page");
        assert!(problem["detail"].as_str().unwrap().contains("cursor"));
    })
    .await;
}

/// A list page is its rows, with their tags' ids, and its total: the tags' names come from
/// memory once read.
#[actix_web::test]
async fn a_list_page_takes_at_most_two_statements() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 50).await;
        let rows = corpus::load(&mut app.connect());
        let (a, b) = corpus::two_common_tags(&rows);
        let author = rows[0].author.clone();
        let lists = uncached_lists();
        let list = |conn: &mut folio::db::DbConn, query: &str| {
            let list: folio::api::articles::ArticleListQuery =
                folio::api::extract::parse_query(query).unwrap();
            let (query, _) = list
                .into_query(&folio::Config::for_tests("sqlite://unused"))
                .unwrap();
            let page = folio::service::articles::list(conn, &lists, None, &query).unwrap();
            assert!(!page.items.is_empty(), "{query:?} lists something");
            assert!(
                page.items.iter().any(|item| !item.tags.is_empty()),
                "{query:?} lists tags"
            );
        };
        // The first page reads the tags into memory (two statements more), once.
        list(&mut app.connect(), "");
        for query in [
            String::new(),
            format!("tag={a}"),
            format!("tag={a},{b}&tag_match=all"),
            format!("exclude_tag={a}"),
            format!("author={author}"),
            "published_after=2020-01-01T00:00:00Z".to_owned(),
            format!("tag={a}&page=2&limit=5"),
        ] {
            let mut conn = app.connect();
            let n = statements_run(&mut conn, |conn| list(conn, &query)).len();
            assert_eq!(n, 2, "{query}: the page and its total");
        }
    })
    .await;
}
