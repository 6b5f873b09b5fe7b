//! Single reads, visibility, and the tag and author listings with their counts.

use std::collections::HashMap;

use reqwest::StatusCode;

use crate::corpus;
use crate::helpers::{ids, on_each_backend, spawn_seeded};

#[actix_web::test]
async fn anonymous_readers_never_see_drafts_or_scheduled_articles() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 200).await;
        let rows = corpus::load(&mut app.connect());
        let now = folio::db::now();
        let hidden: Vec<&corpus::Row> = rows.iter().filter(|r| !r.is_public(now)).collect();
        assert!(
            hidden.iter().any(|r| r.status == "draft"),
            "the seed has drafts"
        );
        assert!(
            hidden.iter().any(|r| r.status == "published"),
            "the seed has scheduled articles"
        );

        let listed = ids(&app
            .get_json("/api/v1/articles?limit=100&sort=title", StatusCode::OK)
            .await);
        for row in &hidden {
            assert!(!listed.contains(&row.id));
            let body = app
                .get_json(
                    &format!("/api/v1/articles/{}", row.id),
                    StatusCode::NOT_FOUND,
                )
                .await;
            assert_eq!(body["status"], 404);
        }
        let slugs: HashMap<i64, String> = {
            use diesel::prelude::*;
            use folio::db::schema::articles;
            articles::table
                .select((articles::id, articles::slug))
                .load(&mut app.connect())
                .expect("slugs")
                .into_iter()
                .collect()
        };
        let hidden_slug = &slugs[&hidden[0].id];
        app.get_json(
            &format!("/api/v1/articles/slug/{hidden_slug}"),
            StatusCode::NOT_FOUND,
        )
        .await;
    })
    .await;
}

#[actix_web::test]
async fn a_single_article_has_its_body_tags_author_and_version() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 40).await;
        let list = app
            .get_json("/api/v1/articles?limit=1", StatusCode::OK)
            .await;
        let summary = &list["data"][0];
        assert!(
            summary.get("body_markdown").is_none(),
            "lists carry summaries only"
        );

        let by_id = app
            .get_json(
                &format!("/api/v1/articles/{}", summary["id"]),
                StatusCode::OK,
            )
            .await;
        let by_slug = app
            .get_json(
                &format!(
                    "/api/v1/articles/slug/{}",
                    summary["slug"].as_str().unwrap()
                ),
                StatusCode::OK,
            )
            .await;

        assert_eq!(by_id, by_slug);
        assert_eq!(by_id["title"], summary["title"]);
        assert_eq!(by_id["tags"], summary["tags"]);
        assert_eq!(by_id["author"], summary["author"]);
        assert_eq!(by_id["version"], 1);
        assert!(by_id["body_html"].as_str().unwrap().contains("<h2>"));
        assert!(by_id["body_markdown"].as_str().unwrap().contains("## "));
        assert!(!by_id["tags"].as_array().unwrap().is_empty());
    })
    .await;
}

#[actix_web::test]
async fn tags_and_authors_count_only_published_articles() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 150).await;
        let rows = corpus::load(&mut app.connect());
        let now = folio::db::now();
        let mut tag_counts: HashMap<String, i64> = HashMap::new();
        let mut author_counts: HashMap<String, i64> = HashMap::new();
        for row in rows.iter().filter(|r| r.is_public(now)) {
            for tag in &row.tags {
                *tag_counts.entry(tag.clone()).or_default() += 1;
            }
            *author_counts.entry(row.author.clone()).or_default() += 1;
        }

        let tags = app.get_json("/api/v1/tags?limit=100", StatusCode::OK).await;
        let authors = app
            .get_json("/api/v1/authors?limit=100", StatusCode::OK)
            .await;

        assert_eq!(tags["meta"]["total"], 12);
        let names: Vec<&str> = tags["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "tags are listed by name");
        for tag in tags["data"].as_array().unwrap() {
            let slug = tag["slug"].as_str().unwrap();
            assert_eq!(
                tag["article_count"].as_i64().unwrap(),
                tag_counts.get(slug).copied().unwrap_or(0),
                "{slug}"
            );
            let one = app
                .get_json(&format!("/api/v1/tags/slug/{slug}"), StatusCode::OK)
                .await;
            assert_eq!(&one, tag);
            assert_eq!(
                &app.get_json(&format!("/api/v1/tags/{}", tag["id"]), StatusCode::OK)
                    .await,
                tag
            );
        }
        assert_eq!(
            authors["meta"]["total"].as_i64().unwrap(),
            author_counts.len() as i64
        );
        for author in authors["data"].as_array().unwrap() {
            let slug = author["slug"].as_str().unwrap();
            assert_eq!(
                author["article_count"].as_i64().unwrap(),
                author_counts[slug],
                "{slug}"
            );
            assert!(author.get("email").is_none(), "emails stay private");
            assert_eq!(
                &app.get_json(&format!("/api/v1/authors/slug/{slug}"), StatusCode::OK)
                    .await,
                author
            );
            assert_eq!(
                &app.get_json(&format!("/api/v1/authors/{}", author["id"]), StatusCode::OK)
                    .await,
                author
            );
        }
        let page2 = app
            .get_json("/api/v1/tags?limit=5&page=2", StatusCode::OK)
            .await;
        assert_eq!(page2["data"][0]["name"], names[5]);
        assert_eq!(page2["meta"]["pages"], 3);
    })
    .await;
}
