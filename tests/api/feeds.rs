//! Feeds and the sitemap as a feed reader and a crawler read them: parsed back by parsers
//! Folio did not write them with, compared with what `GET /articles` says.

use std::collections::BTreeSet;

use folio::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, on_each_backend, spawn_app_with, spawn_seeded, spawn_seeded_with,
};

const FRONTEND: &str = "https://blog.example";

/// Points the site's links at a frontend with its own URL scheme.
async fn configure_site(app: &TestApp, admin: &TestUser) {
    let current = app
        .send(Method::GET, "/api/v1/site", None, None, None)
        .await;
    let etag = current.header("etag").unwrap().to_owned();
    let changed = app
        .send(
            Method::PATCH,
            "/api/v1/site",
            Some(&admin.token),
            Some(json!({
                "title": "Notes & <Queries>",
                "description": "Databases, in depth",
                "url": FRONTEND,
                "locale": "en-GB",
                "article_url": "{url}/posts/{slug}",
                "tag_url": "{url}/topics/{slug}",
                "author_url": "{url}/people/{slug}",
            })),
            Some(&etag),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
}

async fn feed(app: &TestApp, format: &str, query: &str) -> feed_rs::model::Feed {
    let response = app
        .get(&format!("/api/v1/feeds/articles.{format}?{query}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{format}?{query}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected = match format {
        "rss" => "application/rss+xml",
        "atom" => "application/atom+xml",
        _ => "application/feed+json",
    };
    assert_eq!(content_type, expected);
    let bytes = response.bytes().await.unwrap();
    feed_rs::parser::parse(&bytes[..])
        .unwrap_or_else(|e| panic!("{format}?{query} does not parse: {e}"))
}

fn text(value: Option<&feed_rs::model::Text>) -> String {
    value.map(|t| t.content.clone()).unwrap_or_default()
}

#[actix_web::test]
async fn each_feed_carries_the_articles_the_list_shows_for_the_same_filters() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 60).await;
        let admin = app.user(Role::Admin).await;
        configure_site(&app, &admin).await;
        let tags = app.get_json("/api/v1/tags?limit=3", StatusCode::OK).await;
        let (first_tag, second_tag) = (
            tags["data"][0]["slug"].as_str().unwrap().to_owned(),
            tags["data"][1]["slug"].as_str().unwrap().to_owned(),
        );
        let authors = app
            .get_json("/api/v1/authors?limit=1", StatusCode::OK)
            .await;
        let author = authors["data"][0]["slug"].as_str().unwrap().to_owned();
        let filters = [
            String::new(),
            format!("tag={first_tag}"),
            format!("tag={first_tag},{second_tag}&tag_match=all"),
            format!("author={author}&limit=5"),
            format!("exclude_tag={first_tag}&limit=100"),
        ];
        for filter in &filters {
            let list = app
                .get_json(
                    &format!("/api/v1/articles?{filter}&include=body_html"),
                    StatusCode::OK,
                )
                .await;
            let articles = list["data"].as_array().unwrap();
            for format in ["rss", "atom", "json"] {
                let feed = feed(&app, format, filter).await;
                assert_eq!(text(feed.title.as_ref()), "Notes & <Queries>", "{format}");
                let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
                let expected: Vec<String> = articles
                    .iter()
                    .map(|a| format!("urn:folio:article:{}", a["id"]))
                    .collect();
                assert_eq!(ids, expected, "{format}?{filter}");
                for (entry, article) in feed.entries.iter().zip(articles) {
                    let slug = article["slug"].as_str().unwrap();
                    assert_eq!(
                        text(entry.title.as_ref()),
                        article["title"].as_str().unwrap()
                    );
                    assert_eq!(entry.links[0].href, format!("{FRONTEND}/posts/{slug}"));
                    let published: chrono::DateTime<chrono::Utc> =
                        serde_json::from_value(article["published_at"].clone()).unwrap();
                    assert_eq!(
                        entry.published.map(|p| p.timestamp()),
                        Some(published.timestamp()),
                        "{format}"
                    );
                    assert_eq!(
                        entry.authors[0].name.as_deref(),
                        article["author"]["name"].as_str(),
                        "{format}"
                    );
                    let categories: BTreeSet<String> = entry
                        .categories
                        .iter()
                        .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
                        .collect();
                    let tag_names: BTreeSet<String> = article["tags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["name"].as_str().unwrap().to_owned())
                        .collect();
                    assert_eq!(categories, tag_names, "{format}");
                    assert_eq!(
                        text(entry.summary.as_ref()),
                        article["excerpt"].as_str().unwrap(),
                        "{format}"
                    );
                    // Readers trim the content's surrounding whitespace.
                    let content = entry.content.as_ref().and_then(|c| c.body.clone());
                    assert_eq!(
                        content.as_deref().map(str::trim),
                        article["body_html"].as_str().map(str::trim),
                        "{format}: the content is the sanitized body"
                    );
                }
            }
        }
    })
    .await;
}

#[actix_web::test]
async fn drafts_and_scheduled_articles_stay_out_and_edits_keep_the_id() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 5).await;
        let author = app.user(Role::Author).await;
        let (draft, _, _) = app
            .create_article(
                &author.token,
                json!({"title": "Unfinished", "body_markdown": "x", "tags": ["feedtest"]}),
            )
            .await;
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let (scheduled, _, _) = app
            .create_article(
                &author.token,
                json!({"title": "Tomorrow", "body_markdown": "x", "tags": ["feedtest"],
                       "status": "scheduled", "published_at": tomorrow}),
            )
            .await;
        let (live, etag, _) = app
            .create_article(
                &author.token,
                json!({"title": "Live", "body_markdown": "x", "tags": ["feedtest"],
                       "status": "published"}),
            )
            .await;
        for format in ["rss", "atom", "json"] {
            let ids: Vec<String> = feed(&app, format, "tag=feedtest")
                .await
                .entries
                .into_iter()
                .map(|e| e.id)
                .collect();
            assert_eq!(ids, vec![format!("urn:folio:article:{live}")], "{format}");
            assert!(!ids.iter().any(|id| id.ends_with(&format!(":{draft}"))));
            assert!(!ids.iter().any(|id| id.ends_with(&format!(":{scheduled}"))));
        }

        // A new title and slug: the same item for a reader, shown with its new title.
        let edited = app
            .send(
                Method::PATCH,
                &format!("/api/v1/articles/{live}"),
                Some(&author.token),
                Some(json!({"title": "Live, edited", "slug": "live-edited"})),
                Some(&etag),
            )
            .await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
        let entry = feed(&app, "atom", "tag=feedtest").await.entries.remove(0);
        assert_eq!(entry.id, format!("urn:folio:article:{live}"));
        assert_eq!(text(entry.title.as_ref()), "Live, edited");
        assert!(entry.links[0].href.ends_with("/live-edited"));
    })
    .await;
}

#[actix_web::test]
async fn a_title_full_of_xml_specials_keeps_every_feed_well_formed() {
    on_each_backend(|backend| async move {
        let app = spawn_app_with(backend, |_| {}, |_| {}).await;
        let author = app.user(Role::Author).await;
        let title = "Tom & Jerry <b>bold</b> ]]> \"quoted\" 'single' \u{1}\u{1b}[0m end";
        let body = "Some <script>alert(1)</script> ]]> & <![CDATA[ x ]]> \u{7} text";
        app.create_article(
            &author.token,
            json!({"title": title, "body_markdown": body, "excerpt": "a ]]> b & c <d>",
                   "status": "published"}),
        )
        .await;
        // What XML 1.0 can carry: the control characters go, everything else stays.
        let readable = "Tom & Jerry <b>bold</b> ]]> \"quoted\" 'single' [0m end";
        for format in ["rss", "atom", "json"] {
            let feed = feed(&app, format, "").await;
            let entry = &feed.entries[0];
            let shown = text(entry.title.as_ref());
            if format == "json" {
                assert_eq!(shown, title, "JSON carries any character");
            } else {
                assert_eq!(shown, readable, "{format}");
            }
            assert_eq!(text(entry.summary.as_ref()), "a ]]> b & c <d>", "{format}");
            let content = entry.content.as_ref().and_then(|c| c.body.clone()).unwrap();
            assert!(!content.contains("<script>"), "{format}: {content}");
            assert!(
                content.contains("]]&gt;") || content.contains("]]>"),
                "{format}"
            );
        }
    })
    .await;
}

#[actix_web::test]
async fn feeds_refuse_what_the_list_refuses_and_revalidate() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 10).await;
        let many = (0..21)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(",");
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("tag_match=some", "tag_match"),
            (&*format!("tag={many}"), "tag"),
            (&*format!("exclude_tag={many}"), "exclude_tag"),
        ] {
            let list = app
                .get_json(
                    &format!("/api/v1/articles?{query}"),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            for format in ["rss", "atom", "json"] {
                let problem = app
                    .get_json(
                        &format!("/api/v1/feeds/articles.{format}?{query}"),
                        StatusCode::BAD_REQUEST,
                    )
                    .await;
                assert_eq!(problem["errors"][0]["field"], field, "{format}?{query}");
                assert_eq!(problem["detail"], list["detail"], "{format}?{query}");
            }
        }
        // A feed is the newest published articles: no status, order or position to choose.
        for query in [
            "status=draft",
            "cursor=abc",
            "page=2",
            "sort=title",
            "fields=id",
        ] {
            let problem = app
                .get_json(
                    &format!("/api/v1/feeds/articles.rss?{query}"),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            let name = query.split('=').next().unwrap();
            assert_eq!(problem["errors"][0]["field"], name, "{query}");
        }

        let first = app.get("/api/v1/feeds/articles.rss").await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let cache_control = first.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cache_control.contains("max-age="), "{cache_control}");
        assert!(first.headers().contains_key("last-modified"));
        let again = app
            .client
            .get(app.url("/api/v1/feeds/articles.rss"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    })
    .await;
}

/// The `<loc>`s of a sitemap document, and whether it is an index.
fn locs(xml: &str) -> (bool, Vec<String>) {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let mut reader = Reader::from_str(xml);
    let mut in_loc = false;
    let mut index = None;
    let mut locs = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(element) => {
                let name = element.name();
                if index.is_none() {
                    index = Some(name.as_ref() == b"sitemapindex");
                    let namespace = element
                        .try_get_attribute("xmlns")
                        .unwrap()
                        .map(|a| a.value.into_owned());
                    assert_eq!(
                        namespace.as_deref(),
                        Some(&b"http://www.sitemaps.org/schemas/sitemap/0.9"[..])
                    );
                }
                in_loc = name.as_ref() == b"loc";
            }
            Event::Text(text) if in_loc => {
                locs.push(text.xml10_content().unwrap().into_owned());
            }
            Event::End(_) => in_loc = false,
            Event::Eof => break,
            _ => {}
        }
    }
    (index.expect("a root element"), locs)
}

/// The frontend URLs the sitemap should list, from the API's own lists.
async fn expected_locs(app: &TestApp) -> BTreeSet<String> {
    let mut expected = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/articles?limit=100&count=none&cursor={cursor}"),
            None => "/api/v1/articles?limit=100&count=none".to_owned(),
        };
        let page = app.get_json(&path, StatusCode::OK).await;
        for article in page["data"].as_array().unwrap() {
            expected.insert(format!(
                "{FRONTEND}/posts/{}",
                article["slug"].as_str().unwrap()
            ));
        }
        match page["meta"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    for (list, prefix) in [("tags", "topics"), ("authors", "people")] {
        let all = app
            .get_json(&format!("/api/v1/{list}?limit=100"), StatusCode::OK)
            .await;
        for item in all["data"].as_array().unwrap() {
            if item["article_count"].as_i64().unwrap() > 0 {
                expected.insert(format!(
                    "{FRONTEND}/{prefix}/{}",
                    item["slug"].as_str().unwrap()
                ));
            }
        }
    }
    expected
}

#[actix_web::test]
async fn the_sitemap_lists_every_published_page_of_the_frontend() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded(backend, 40).await;
        let admin = app.user(Role::Admin).await;
        configure_site(&app, &admin).await;
        let (_draft, _, _) = app
            .create_article(
                &admin.token,
                json!({"title": "Secret draft", "body_markdown": "x", "tags": ["only-drafts"]}),
            )
            .await;

        let response = app.get("/api/v1/sitemap.xml").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/xml");
        let (index, locs) = locs(&response.text().await.unwrap());
        assert!(!index, "40 articles fit in one file");
        let listed: BTreeSet<String> = locs.iter().cloned().collect();
        assert_eq!(listed.len(), locs.len(), "no URL twice");
        assert_eq!(listed, expected_locs(&app).await);
        assert!(
            !listed
                .iter()
                .any(|l| l.contains("secret-draft") || l.contains("only-drafts"))
        );
    })
    .await;
}

#[actix_web::test]
async fn past_the_limit_the_sitemap_is_an_index_of_files_within_the_limit() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded_with(backend, 40, |config| config.sitemap_limit = 7).await;
        let admin = app.user(Role::Admin).await;
        configure_site(&app, &admin).await;

        let root = app
            .client
            .get(app.url("/api/v1/sitemap.xml"))
            .header("host", "api.blog.example")
            .send()
            .await
            .unwrap();
        let (index, files) = locs(&root.text().await.unwrap());
        assert!(index, "more than 7 URLs make an index");
        let mut listed = Vec::new();
        for file in &files {
            let path = file
                .strip_prefix("http://api.blog.example")
                .unwrap_or_else(|| panic!("{file} is not on the host asked"));
            assert!(path.starts_with("/api/v1/sitemaps/"), "{path}");
            let response = app.get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let (index, locs) = locs(&response.text().await.unwrap());
            assert!(!index);
            assert!(locs.len() <= 7, "{path} has {} URLs", locs.len());
            listed.extend(locs);
        }
        let unique: BTreeSet<String> = listed.iter().cloned().collect();
        assert_eq!(unique.len(), listed.len(), "no URL in two files");
        assert_eq!(unique, expected_locs(&app).await);

        let past = app
            .get_json(
                &format!("/api/v1/sitemaps/{}.xml", files.len() + 1),
                StatusCode::NOT_FOUND,
            )
            .await;
        assert_eq!(past["status"], 404);
        app.get_json("/api/v1/sitemaps/0.xml", StatusCode::NOT_FOUND)
            .await;
        let _: Value = app
            .get_json("/api/v1/sitemaps/x.xml", StatusCode::BAD_REQUEST)
            .await;
    })
    .await;
}
