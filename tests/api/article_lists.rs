//! `GET /articles`: every filter, sort, page and cursor, checked against the reference
//! computed from the seeded rows.

use chrono::SecondsFormat;
use reqwest::StatusCode;

use crate::corpus::{self, Row};
use crate::helpers::{TestApp, ids, on_each_backend, spawn_seeded};

/// Every page by number; also checks `total`, `page` and `pages` on the way.
async fn walk_pages(app: &TestApp, query: &str, limit: usize) -> (Vec<i64>, i64) {
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let body = app
            .get_json(
                &format!("/api/v1/articles?{query}&limit={limit}&page={page}"),
                StatusCode::OK,
            )
            .await;
        let meta = &body["meta"];
        assert_eq!(meta["page"], page, "{query}");
        let total = meta["total"].as_i64().expect("total");
        assert_eq!(
            meta["pages"].as_i64(),
            Some((total + limit as i64 - 1) / limit as i64),
            "{query}"
        );
        let batch = ids(&body);
        seen.extend(&batch);
        if batch.len() < limit || seen.len() as i64 == total {
            assert!(
                meta["next_cursor"].is_null() || (seen.len() as i64) < total,
                "{query}"
            );
            return (seen, total);
        }
        page += 1;
    }
}

/// Every page by cursor, starting from the first page.
async fn walk_cursor(app: &TestApp, query: &str, limit: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/articles?{query}&limit={limit}");
    loop {
        let body = app.get_json(&path, StatusCode::OK).await;
        seen.extend(ids(&body));
        match body["meta"]["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(
                    body["meta"]["page"].is_null() || seen.len() == limit,
                    "{query}"
                );
                path = format!("/api/v1/articles?{query}&limit={limit}&cursor={cursor}");
            }
            None => return seen,
        }
    }
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[actix_web::test]
async fn every_filter_sort_page_and_cursor_returns_exactly_the_reference_articles() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 300).await;
        let rows = corpus::load(&mut app.connect());
        let (a, b) = corpus::two_common_tags(&rows);
        let now = folio::db::now();
        let mut public_times: Vec<_> = rows
            .iter()
            .filter(|r| r.is_public(now))
            .filter_map(|r| r.published_at)
            .collect();
        public_times.sort();
        let (t1, t2) = (
            public_times[public_times.len() / 4],
            public_times[public_times.len() * 3 / 4],
        );
        let author = rows
            .iter()
            .find(|r| r.is_public(now))
            .expect("a public article")
            .author
            .clone();
        let other_author = rows
            .iter()
            .find(|r| r.is_public(now) && r.author != author)
            .expect("another author")
            .author
            .clone();
        let (after, before) = (rfc3339(t1), rfc3339(t2));
        // A third tag to exclude, and the seed's retired tag, on its oldest articles only.
        let c = rows
            .iter()
            .flat_map(|r| r.tags.iter())
            .find(|t| **t != a && **t != b)
            .expect("a third tag")
            .clone();
        let newest_with = |tag: &str| rows.iter().filter(|r| r.has_tag(tag)).map(|r| r.id).max();
        let retired = rows
            .iter()
            .flat_map(|r| r.tags.iter())
            .min_by_key(|t| newest_with(t))
            .expect("a tag")
            .clone();
        assert!(
            newest_with(&retired) < Some(rows.len() as i64 / 5),
            "an old tag"
        );

        type Keep = Box<dyn Fn(&Row) -> bool>;
        let cases: Vec<(String, &str, Keep)> = vec![
            (String::new(), "-published_at", Box::new(|_| true)),
            (format!("tag={a}"), "-published_at", {
                let a = a.clone();
                Box::new(move |r| r.has_tag(&a))
            }),
            (format!("tag={a},{b}"), "-published_at", {
                let (a, b) = (a.clone(), b.clone());
                Box::new(move |r| r.has_tag(&a) || r.has_tag(&b))
            }),
            (format!("tag={a},{b}&tag_match=all"), "-published_at", {
                let (a, b) = (a.clone(), b.clone());
                Box::new(move |r| r.has_tag(&a) && r.has_tag(&b))
            }),
            (format!("exclude_tag={a}"), "-published_at", {
                let a = a.clone();
                Box::new(move |r| !r.has_tag(&a))
            }),
            (format!("tag={b}&exclude_tag={a}"), "title", {
                let (a, b) = (a.clone(), b.clone());
                Box::new(move |r| r.has_tag(&b) && !r.has_tag(&a))
            }),
            (format!("author={author}"), "published_at", {
                let au = author.clone();
                Box::new(move |r| r.author == au)
            }),
            (
                format!("author={author},{other_author}&tag={a}"),
                "-updated_at",
                {
                    let (au, ou, a) = (author.clone(), other_author.clone(), a.clone());
                    Box::new(move |r| (r.author == au || r.author == ou) && r.has_tag(&a))
                },
            ),
            (
                format!("published_after={after}&published_before={before}"),
                "-published_at",
                Box::new(move |r| r.published_at.is_some_and(|t| t > t1 && t < t2)),
            ),
            (
                format!(
                    "tag={a},{b}&tag_match=all&exclude_tag=no-such-tag&published_after={after}"
                ),
                "title",
                {
                    let (a, b) = (a.clone(), b.clone());
                    Box::new(move |r| {
                        r.has_tag(&a) && r.has_tag(&b) && r.published_at.is_some_and(|t| t > t1)
                    })
                },
            ),
            // Read from the tags' timelines: in both date orders, with exclusions and dates.
            (
                format!("tag={a}&published_after={after}"),
                "published_at",
                {
                    let a = a.clone();
                    Box::new(move |r| r.has_tag(&a) && r.published_at.is_some_and(|t| t > t1))
                },
            ),
            (
                format!("tag={a},{b}&tag_match=all&exclude_tag={c}&published_before={before}"),
                "-published_at",
                {
                    let (a, b, c) = (a.clone(), b.clone(), c.clone());
                    Box::new(move |r| {
                        r.has_tag(&a)
                            && r.has_tag(&b)
                            && !r.has_tag(&c)
                            && r.published_at.is_some_and(|t| t < t2)
                    })
                },
            ),
            (format!("tag={retired}"), "-published_at", {
                let retired = retired.clone();
                Box::new(move |r| r.has_tag(&retired))
            }),
            (
                "q=LESSONS".to_owned(),
                "-published_at",
                Box::new(|r| {
                    r.title.to_lowercase().contains("lessons")
                        || r.excerpt.to_lowercase().contains("lessons")
                }),
            ),
            (format!("tag={a},no-such-tag"), "published_at", {
                let a = a.clone();
                Box::new(move |r| r.has_tag(&a))
            }),
            (
                format!("tag={a},no-such-tag&tag_match=all"),
                "-published_at",
                Box::new(|_| false),
            ),
            (
                "tag=no-such-tag".to_owned(),
                "-published_at",
                Box::new(|_| false),
            ),
            (
                "author=no-such-author".to_owned(),
                "-published_at",
                Box::new(|_| false),
            ),
        ];
        for (filter, sort, keep) in &cases {
            let expected = corpus::expected(&rows, sort, keep);
            let query = format!("{filter}&sort={sort}");
            let limit = if filter.is_empty() { 7 } else { 25 };

            let (by_page, total) = walk_pages(&app, &query, limit).await;
            let by_cursor = walk_cursor(&app, &query, limit).await;

            assert_eq!(by_page, expected, "pages of {query} on {backend:?}");
            assert_eq!(
                total,
                expected.len() as i64,
                "total of {query} on {backend:?}"
            );
            assert_eq!(by_cursor, expected, "cursor walk of {query} on {backend:?}");
        }
        assert!(cases.len() > 10);
    })
    .await;
}

#[actix_web::test]
async fn walking_every_cursor_page_visits_every_published_article_exactly_once() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 230).await;
        let rows = corpus::load(&mut app.connect());
        let now = folio::db::now();
        let mut public: Vec<i64> = rows
            .iter()
            .filter(|r| r.is_public(now))
            .map(|r| r.id)
            .collect();
        public.sort_unstable();
        assert!(
            rows.len() > public.len(),
            "the seed has drafts or scheduled articles"
        );

        for sort in ["-published_at", "published_at", "-updated_at", "title"] {
            let mut seen = walk_cursor(&app, &format!("sort={sort}"), 100).await;
            let visited = seen.len();
            seen.sort_unstable();
            seen.dedup();

            assert_eq!(
                visited,
                seen.len(),
                "an article came twice with sort={sort}"
            );
            assert_eq!(seen, public, "sort={sort} on {backend:?}");
        }
    })
    .await;
}

#[actix_web::test]
async fn a_cursor_continues_after_its_page_even_when_newer_articles_are_counted() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 60).await;
        let first = app
            .get_json("/api/v1/articles?limit=10", StatusCode::OK)
            .await;
        let cursor = first["meta"]["next_cursor"]
            .as_str()
            .expect("a next cursor")
            .to_owned();

        let second = app
            .get_json(
                &format!("/api/v1/articles?limit=10&cursor={cursor}"),
                StatusCode::OK,
            )
            .await;
        let by_page = app
            .get_json("/api/v1/articles?limit=10&page=2", StatusCode::OK)
            .await;

        assert_eq!(ids(&second), ids(&by_page));
        assert!(second["meta"]["page"].is_null() && second["meta"]["pages"].is_null());
        assert_eq!(second["meta"]["total"], first["meta"]["total"]);
    })
    .await;
}
