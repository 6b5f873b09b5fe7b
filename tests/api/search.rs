//! Full-text search as a reader meets it: a hand-written corpus with known answers, on each
//! backend's own engine.

use std::collections::BTreeSet;

use folio::auth::Role;
use folio::db::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, ids, on_each_backend, spawn_empty, spawn_seeded_with, statements_run,
    uncached_lists,
};

/// The corpus: (title, excerpt, body, tags). Each query below names what it must find.
const CORPUS: &[(&str, &str, &str, &[&str])] = &[
    (
        "Crème brûlée for engineers",
        "A dessert, measured.",
        "Caramelise the sugar.",
        &["food"],
    ),
    (
        "Une école à Paris",
        "Apprendre le français.",
        "Les élèves arrivent.",
        &["travel"],
    ),
    (
        "Ωμέγα σημειώσεις",
        "Σημειώσεις για το Ωμέγα.",
        "Κείμενο.",
        &["greek"],
    ),
    (
        "Привет, мир",
        "Первая заметка.",
        "Текст заметки.",
        &["russian"],
    ),
    (
        "Indexing strategies",
        "How databases find rows.",
        "B-trees and hashes.",
        &["databases"],
    ),
    (
        "Notes on storage",
        "Pages and blocks.",
        "Most indexes are B-trees.",
        &["databases"],
    ),
    (
        "Honest schemas win",
        "Types that tell the truth.",
        "Plain text.",
        &["design"],
    ),
    (
        "Why schemas are rarely honest",
        "A rant.",
        "Plain text.",
        &["design"],
    ),
    (
        "Database internals",
        "Inside the engine.",
        "Pages, WAL, and locks.",
        &["databases"],
    ),
    (
        "Zebra crossings",
        "Stripes on roads.",
        "Nothing else here.",
        &["roads"],
    ),
    (
        "Road markings",
        "Paint on asphalt.",
        "The zebra is a pattern. Zebra, zebra, zebra.",
        &["roads"],
    ),
    (
        "<script>alert(1)</script> quokka & friends",
        "Escaped <b>bold</b> quokka.",
        "Body.",
        &["xss"],
    ),
    (
        "Drafts we publish",
        "About drafts.",
        "Drafts and more drafts.",
        &["writing"],
    ),
];

struct Corpus {
    app: TestApp,
    author: TestUser,
    /// Article ids by title.
    ids: Vec<(String, i64)>,
}

impl Corpus {
    async fn new(backend: folio::db::Backend) -> Self {
        let app = spawn_empty(backend).await;
        let author = app.user(Role::Author).await;
        let mut ids = Vec::new();
        for (title, excerpt, body, tags) in CORPUS {
            let (id, _, _) = app
                .create_article(
                    &author.token,
                    json!({"title": title, "excerpt": excerpt, "body_markdown": body,
                           "tags": tags, "status": "published"}),
                )
                .await;
            ids.push(((*title).to_owned(), id));
        }
        Self { app, author, ids }
    }

    fn id(&self, title: &str) -> i64 {
        self.ids
            .iter()
            .find(|(t, _)| t == title)
            .unwrap_or_else(|| panic!("no article {title}"))
            .1
    }

    async fn search(&self, q: &str) -> Value {
        self.search_with(q, "").await
    }

    async fn search_with(&self, q: &str, more: &str) -> Value {
        let q = urlencode(q);
        self.app
            .get_json(
                &format!("/api/v1/articles?q={q}&limit=100{more}"),
                StatusCode::OK,
            )
            .await
    }

    /// The titles a query finds, as a set.
    async fn found(&self, q: &str) -> BTreeSet<String> {
        titles(&self.search(q).await)
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn titles(body: &Value) -> BTreeSet<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_owned())
        .collect()
}

fn set(titles: &[&str]) -> BTreeSet<String> {
    titles.iter().map(|t| (*t).to_owned()).collect()
}

#[actix_web::test]
async fn accents_case_and_stems_fold_both_ways() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        assert_eq!(
            corpus.found("creme brulee").await,
            set(&["Crème brûlée for engineers"])
        );
        assert_eq!(
            corpus.found("CRÈME").await,
            set(&["Crème brûlée for engineers"])
        );
        assert_eq!(corpus.found("ÉCOLE").await, set(&["Une école à Paris"]));
        assert_eq!(corpus.found("ecole").await, set(&["Une école à Paris"]));
        assert_eq!(corpus.found("ΩΜΈΓΑ ").await, set(&["Ωμέγα σημειώσεις"]));
        assert_eq!(corpus.found("ПРИВЕТ ").await, set(&["Привет, мир"]));
        // index, indexes, indexing: one stem.
        let index = set(&["Indexing strategies", "Notes on storage"]);
        for q in ["index ", "indexes ", "indexing ", "INDEXED "] {
            assert_eq!(corpus.found(q).await, index, "{q:?}");
        }
    })
    .await;
}

#[actix_web::test]
async fn phrases_exclusions_and_the_prefix_being_typed() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        assert_eq!(
            corpus.found("\"honest schemas\"").await,
            set(&["Honest schemas win"])
        );
        assert_eq!(
            corpus.found("honest schemas ").await,
            set(&["Honest schemas win", "Why schemas are rarely honest"]),
            "without quotes, any order"
        );
        assert_eq!(
            corpus.found("schemas -rant").await,
            set(&["Honest schemas win"])
        );
        // The title, an excerpt ("databases") and the tag "databases" all start with it.
        assert_eq!(
            corpus.found("datab").await,
            set(&[
                "Database internals",
                "Indexing strategies",
                "Notes on storage"
            ])
        );
        assert_eq!(
            corpus.found("datab ").await,
            BTreeSet::new(),
            "a finished word is not a prefix"
        );
        // Tag and author names are searched too.
        let by_tag = corpus.found("roads ").await;
        assert!(by_tag.contains("Zebra crossings") && by_tag.contains("Road markings"));
        let by_author = corpus.found("Test author").await;
        assert_eq!(by_author.len(), CORPUS.len());
    })
    .await;
}

#[actix_web::test]
async fn operator_characters_are_text_and_nothing_searchable_is_a_400() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        for q in [
            "*",
            "zebra*",
            "title:zebra",
            "^zebra",
            "(zebra",
            "zebra)",
            "NEAR(zebra road)",
            "zebra NEAR road",
            "zebra & road",
            "zebra | road",
            "!zebra",
            "zebra <-> road",
            "\"zebra",
            "zebra\"",
            "-",
            "zebra -",
            "AND",
            "OR NOT",
            "zebra:*",
            "'zebra'",
            "\\zebra",
            "{zebra}",
            "zebra\u{0}",
            "%zebra_",
        ] {
            let response = corpus
                .app
                .get(&format!("/api/v1/articles?q={}", urlencode(q)))
                .await;
            let status = response.status();
            assert!(
                status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                "{q:?}: {status}"
            );
            if status == StatusCode::BAD_REQUEST {
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["errors"][0]["field"], "q", "{q:?}: {problem}");
            }
        }
        // Punctuation inside a token joins its words into a phrase, as in "real-time": no
        // column filter, no grouping.
        assert!(corpus.found("title:zebra").await.is_empty());
        assert_eq!(
            corpus.found("(zebra)").await,
            set(&["Zebra crossings", "Road markings"])
        );
        assert!(corpus.found("zebra & road").await.contains("Road markings"));
        for q in ["", "   ", "*** !!", "-", "\"\"", "-zebra"] {
            let problem = corpus
                .app
                .get_json(
                    &format!("/api/v1/articles?q={}", urlencode(q)),
                    StatusCode::BAD_REQUEST,
                )
                .await;
            assert_eq!(problem["errors"][0]["field"], "q", "{q:?}");
        }
        let long = "a".repeat(201);
        let problem = corpus
            .app
            .get_json(
                &format!("/api/v1/articles?q={long}"),
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], "q");
        let problem = corpus
            .app
            .get_json("/api/v1/articles?sort=relevance", StatusCode::BAD_REQUEST)
            .await;
        assert_eq!(problem["errors"][0]["field"], "sort");
    })
    .await;
}

#[actix_web::test]
async fn title_matches_rank_first_and_highlights_are_escaped() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        let found = corpus.search("zebra").await;
        assert_eq!(
            ids(&found),
            [corpus.id("Zebra crossings"), corpus.id("Road markings")],
            "the title match first, though the body says zebra four times"
        );
        let (first, second) = (&found["data"][0]["search"], &found["data"][1]["search"]);
        assert_eq!(
            (first["rank"].as_u64(), second["rank"].as_u64()),
            (Some(3), Some(1)),
            "title, then body"
        );
        assert_eq!(first["highlights"]["title"], "<mark>Zebra</mark> crossings");
        assert_eq!(second["highlights"]["title"], "Road markings");

        let hit = &corpus.search("quokka").await["data"][0]["search"]["highlights"];
        assert_eq!(
            hit["title"],
            "&lt;script&gt;alert(1)&lt;/script&gt; <mark>quokka</mark> &amp; friends"
        );
        assert_eq!(
            hit["excerpt"],
            "Escaped &lt;b&gt;bold&lt;/b&gt; <mark>quokka</mark>."
        );

        // Another order keeps `search`; `fields` may leave it out.
        let by_title = corpus.search_with("zebra", "&sort=title").await;
        assert_eq!(
            ids(&by_title),
            [corpus.id("Road markings"), corpus.id("Zebra crossings")]
        );
        assert!(by_title["data"][0]["search"]["rank"].is_number());
        let lean = corpus.search_with("zebra", "&fields=title").await;
        assert!(lean["data"][0].get("search").is_none());
        let with = corpus.search_with("zebra", "&fields=title,search").await;
        assert!(with["data"][0]["search"]["highlights"].is_object());
        // Without q, no item carries `search`.
        let plain = corpus
            .app
            .get_json("/api/v1/articles", StatusCode::OK)
            .await;
        assert!(plain["data"][0].get("search").is_none());
    })
    .await;
}

#[actix_web::test]
async fn drafts_stay_invisible_to_who_may_not_see_them() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        let (draft, _, _) = corpus
            .app
            .create_article(
                &corpus.author.token,
                json!({"title": "Secret unicorn", "body_markdown": "unicorn"}),
            )
            .await;
        let in_a_day = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let (scheduled, _, _) = corpus
            .app
            .create_article(
                &corpus.author.token,
                json!({"title": "Unicorn tomorrow", "body_markdown": "unicorn",
                       "status": "scheduled", "published_at": in_a_day}),
            )
            .await;
        // Counted exactly, and to the limit (PostgreSQL: from the index's matches, each row
        // then checked for its state and time).
        for count in ["&count=exact", ""] {
            let anonymous = corpus.search_with("unicorn", count).await;
            assert_eq!(anonymous["meta"]["total"], 0, "{count}");
            assert!(anonymous["data"].as_array().unwrap().is_empty());
        }
        let other = corpus.app.user(Role::Author).await;
        for count in ["&count=exact", ""] {
            let theirs = corpus
                .app
                .send(
                    Method::GET,
                    &format!("/api/v1/articles?q=unicorn&status=all{count}"),
                    Some(&other.token),
                    None,
                    None,
                )
                .await;
            assert_eq!(
                theirs.body["meta"]["total"], 0,
                "another author's draft and scheduled article, {count}"
            );
        }
        let mine = corpus
            .app
            .send(
                Method::GET,
                "/api/v1/articles?q=unicorn&status=all",
                Some(&corpus.author.token),
                None,
                None,
            )
            .await;
        assert_eq!(ids(&mine.body), [scheduled, draft]);
        assert_eq!(
            mine.body["meta"]["total"], 2,
            "their draft and scheduled article"
        );
        assert_eq!(
            mine.body["data"][1]["search"]["highlights"]["title"],
            "Secret <mark>unicorn</mark>"
        );
    })
    .await;
}

#[actix_web::test]
async fn the_index_follows_edits_deletes_and_renames() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        let app = &corpus.app;
        let token = corpus.author.token.clone();
        let id = corpus.id("Zebra crossings");
        let etag = app.etag_of(id, &token).await;
        let edited = app
            .send(
                Method::PATCH,
                &format!("/api/v1/articles/{id}"),
                Some(&token),
                Some(json!({"title": "Pelican crossings"})),
                Some(&etag),
            )
            .await;
        assert_eq!(edited.status, StatusCode::OK);
        assert_eq!(corpus.found("pelican").await, set(&["Pelican crossings"]));
        assert_eq!(corpus.found("zebra").await, set(&["Road markings"]));

        let gone = corpus.id("Road markings");
        let etag = app.etag_of(gone, &token).await;
        let deleted = app
            .send(
                Method::DELETE,
                &format!("/api/v1/articles/{gone}"),
                Some(&token),
                None,
                Some(&etag),
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(corpus.found("zebra").await, BTreeSet::new());

        // A tag renamed: its articles are found by the new name, not the old.
        let editor = app.user(Role::Editor).await;
        let tag = app
            .get_json("/api/v1/tags/slug/databases", StatusCode::OK)
            .await;
        let renamed = app
            .send(
                Method::PATCH,
                &format!("/api/v1/tags/{}", tag["id"]),
                Some(&editor.token),
                Some(json!({"name": "Datastores"})),
                None,
            )
            .await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
        assert_eq!(
            corpus.found("datastores").await,
            set(&[
                "Indexing strategies",
                "Notes on storage",
                "Database internals"
            ])
        );
        // A tag deleted: its name finds nothing.
        let doomed = app
            .get_json("/api/v1/tags/slug/travel", StatusCode::OK)
            .await;
        let deleted = app
            .send(
                Method::DELETE,
                &format!("/api/v1/tags/{}", doomed["id"]),
                Some(&editor.token),
                None,
                None,
            )
            .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        assert_eq!(corpus.found("travel").await, BTreeSet::new());

        // The author renamed: found by the new name.
        let renamed = app
            .send(
                Method::PATCH,
                "/api/v1/me",
                Some(&token),
                Some(json!({"name": "Ottoline Quill"})),
                None,
            )
            .await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
        assert_eq!(corpus.found("ottoline").await.len(), CORPUS.len() - 1);
        assert!(corpus.found("\"test author\"").await.is_empty());

        // The writes above left segments in the SQLite index; merged (as the server does in
        // the background), the index answers as before: edits, deletes and renames included,
        // nothing deleted found again.
        let mut conn = app.connect();
        let mut steps = 0;
        while folio::db::search::tidy_index(&mut conn).unwrap() {
            steps += 1;
            assert!(steps < 1_000, "merging never ends");
        }
        assert_eq!(corpus.found("pelican").await, set(&["Pelican crossings"]));
        assert_eq!(corpus.found("zebra").await, BTreeSet::new());
        assert_eq!(corpus.found("datastores").await.len(), 3);
        assert_eq!(corpus.found("travel").await, BTreeSet::new());
        assert_eq!(corpus.found("ottoline").await.len(), CORPUS.len() - 1);
    })
    .await;
}

#[actix_web::test]
async fn a_relevance_cursor_walk_visits_every_match_once_across_the_tiers() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded_with(backend, 60, |_| {}).await;
        let newest = app
            .get_json("/api/v1/articles?limit=1", StatusCode::OK)
            .await;
        // An author's articles are a few of every batch of matches read from the index: a
        // page reads several batches, and a walk crosses from batch to batch.
        let by_author = format!(
            "&author={}",
            newest["data"][0]["author"]["slug"].as_str().unwrap()
        );
        let mut tiers_crossed = 0;
        for (q, filter) in [
            ("the ", ""),
            ("cache query", ""),
            ("sche", ""),
            ("the ", by_author.as_str()),
        ] {
            let q_and_filter = format!("{}{filter}", urlencode(q));
            let all = app
                .get_json(
                    &format!("/api/v1/articles?q={q_and_filter}&count=exact&limit=1"),
                    StatusCode::OK,
                )
                .await;
            let total = all["meta"]["total"].as_i64().unwrap();
            assert!(total > 7, "{q_and_filter:?} matches only {total}");
            // Uncounted, the walk reads the tiers without knowing how few the matches are
            // (on PostgreSQL, the newest articles in order); counted, it knows (their ids).
            let mut walks = Vec::new();
            for count in ["&count=none", ""] {
                let mut seen = Vec::new();
                let mut ranks = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let path = match &cursor {
                        Some(c) => {
                            format!("/api/v1/articles?q={q_and_filter}&limit=7{count}&cursor={c}")
                        }
                        None => format!("/api/v1/articles?q={q_and_filter}&limit=7{count}"),
                    };
                    let page = app.get_json(&path, StatusCode::OK).await;
                    for item in page["data"].as_array().unwrap() {
                        seen.push(item["id"].as_i64().unwrap());
                        ranks.push(item["search"]["rank"].as_u64().unwrap());
                    }
                    match page["meta"]["next_cursor"].as_str() {
                        Some(next) => cursor = Some(next.to_owned()),
                        None => break,
                    }
                }
                walks.push((seen, ranks));
            }
            let (seen, ranks) = walks.swap_remove(0);
            assert_eq!(
                walks[0],
                (seen.clone(), ranks.clone()),
                "{q_and_filter:?}: counted walk"
            );
            let unique: BTreeSet<i64> = seen.iter().copied().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{q_and_filter:?}: a match came twice"
            );
            assert_eq!(
                seen.len() as i64,
                total,
                "{q_and_filter:?}: every match once"
            );
            // Best tier first, newest first within a tier.
            let ranked: Vec<(u64, i64)> = ranks.iter().copied().zip(seen.iter().copied()).collect();
            assert!(
                ranked.windows(2).all(|w| w[0] > w[1]),
                "{q_and_filter:?}: {ranked:?}"
            );
            if ranks.first() != ranks.last() {
                tiers_crossed += 1;
            }
            // Pages by number agree with the cursor walk.
            let mut by_page = Vec::new();
            for page in 1.. {
                let body = app
                    .get_json(
                        &format!("/api/v1/articles?q={q_and_filter}&limit=7&page={page}"),
                        StatusCode::OK,
                    )
                    .await;
                let found = ids(&body);
                if found.is_empty() {
                    break;
                }
                by_page.extend(found);
            }
            assert_eq!(by_page, seen, "{q_and_filter:?}");
        }
        assert!(
            tiers_crossed > 0,
            "no walk crossed from one tier to the next"
        );
    })
    .await;
}

#[actix_web::test]
async fn search_composes_with_the_other_filters() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        let found = corpus.search_with("pages", "&tag=databases").await;
        assert_eq!(
            titles(&found),
            set(&["Notes on storage", "Database internals"])
        );
        let found = corpus.search_with("pages", "&exclude_tag=databases").await;
        assert!(titles(&found).is_empty());
        let counted = corpus.search_with("schemas", "&count=exact").await;
        assert_eq!(counted["meta"]["total"], 2);
    })
    .await;
}

#[actix_web::test]
async fn a_cursor_keeps_its_order_when_the_next_request_leaves_sort_out() {
    on_each_backend(|backend| async move {
        let corpus = Corpus::new(backend).await;
        let get = |query: String, status: StatusCode| {
            let app = &corpus.app;
            async move {
                app.get_json(&format!("/api/v1/articles?{query}"), status)
                    .await
            }
        };
        let first = get("q=pages&sort=title&limit=1".into(), StatusCode::OK).await;
        let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_owned();
        // Without `sort`, a search would be ranked; the cursor says title order.
        let next = get(format!("q=pages&limit=100&cursor={cursor}"), StatusCode::OK).await;
        let all = get("q=pages&sort=title&limit=100".into(), StatusCode::OK).await;
        let mut expected = ids(&all);
        expected.remove(0);
        assert!(!expected.is_empty());
        assert_eq!(ids(&next), expected);
        // A `sort` that disagrees with the cursor is a 400 naming `cursor`.
        let clash = get(
            format!("q=pages&sort=-published_at&cursor={cursor}"),
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(clash["errors"][0]["field"], "cursor");
        // A search's cursor without the search is a 400 too.
        let ranked = get("q=pages&limit=1".into(), StatusCode::OK).await;
        let ranked_cursor = ranked["meta"]["next_cursor"].as_str().unwrap();
        let lost = get(format!("cursor={ranked_cursor}"), StatusCode::BAD_REQUEST).await;
        assert_eq!(lost["errors"][0]["field"], "cursor");
    })
    .await;
}

/// A word only in old articles, behind more than two thousand newer ones: found whole and in
/// order, as typed (a prefix) or complete, page after page (on PostgreSQL this is the read
/// from the index after the window of newest articles; a walk would read the whole table).
#[actix_web::test]
async fn a_rare_word_in_old_articles_is_found_behind_thousands_of_newer_ones() {
    on_each_backend(|backend| async move {
        let app = spawn_seeded_with(backend, 2_200, |_| {}).await;
        let editor = app.user(Role::Editor).await;
        // The word in five titles, two excerpts and one body: every tier, all far behind
        // the newest articles.
        let plant = |id: i64, field: &'static str| {
            let (app, token) = (&app, editor.token.clone());
            // A body of its own keeps its excerpt, which would otherwise follow it.
            let mut patch = json!({"excerpt": format!("Notes {id}")});
            patch[field] = json!(format!("Zymurgy notes {id}"));
            async move {
                let etag = app.etag_of(id, &token).await;
                let patched = app
                    .send(
                        Method::PATCH,
                        &format!("/api/v1/articles/{id}"),
                        Some(&token),
                        Some(patch),
                        Some(&etag),
                    )
                    .await;
                assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
            }
        };
        for id in [3_i64, 5, 8, 13, 21] {
            plant(id, "title").await;
        }
        for id in [2_i64, 4] {
            plant(id, "excerpt").await;
        }
        plant(6, "body_markdown").await;
        let best_first = [21_i64, 13, 8, 5, 3, 4, 2, 6];
        // Counted (few matches, ranked from one read of the index), not counted (the newest
        // articles first, then the index for older ones, tier by tier), and each page
        // the other way from the one before, so cursors pass between the two.
        let modes: [[&str; 2]; 3] = [
            ["", ""],
            ["&count=none", "&count=none"],
            ["", "&count=none"],
        ];
        for q in ["zymurgy", "zymurg"] {
            for modes in modes {
                let mut seen = Vec::new();
                let mut cursor: Option<String> = None;
                for count in modes.iter().cycle() {
                    let path = match &cursor {
                        Some(c) => {
                            format!("/api/v1/articles?q={q}&limit=2&status=all{count}&cursor={c}")
                        }
                        None => format!("/api/v1/articles?q={q}&limit=2&status=all{count}"),
                    };
                    let page = app
                        .send(Method::GET, &path, Some(&editor.token), None, None)
                        .await;
                    assert_eq!(page.status, StatusCode::OK, "{q}: {:?}", page.body);
                    seen.extend(ids(&page.body));
                    match page.body["meta"]["next_cursor"].as_str() {
                        Some(next) => cursor = Some(next.to_owned()),
                        None => break,
                    }
                }
                assert_eq!(seen, best_first, "{q} {modes:?}");
            }
        }
        if backend == Backend::Postgres {
            // Each tier read row by row stays within the newest articles, also past a
            // cursor: a tier reached from a cursor once tested every article. (A walk not
            // counted: a counted one ranks these few matches from the index.)
            let lists = uncached_lists();
            let mut walked = Vec::new();
            let sql = statements_run(&mut app.connect(), |conn| {
                let mut cursor = String::new();
                loop {
                    let query: folio::api::articles::ArticleListQuery =
                        folio::api::extract::parse_query(&format!(
                            "q=zymurgy&limit=2&count=none{cursor}"
                        ))
                        .unwrap();
                    let (query, _) = query
                        .into_query(&folio::Config::for_tests("sqlite://unused"))
                        .unwrap();
                    let page = folio::service::articles::list(conn, &lists, None, &query).unwrap();
                    walked.extend(page.items.iter().map(|item| item.id));
                    match page.next_cursor {
                        Some(next) => cursor = format!("&cursor={next}"),
                        None => break,
                    }
                }
            });
            let published: Vec<i64> = app
                .send(
                    Method::GET,
                    "/api/v1/articles?q=zymurgy&limit=20",
                    None,
                    None,
                    None,
                )
                .await
                .body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_i64().unwrap())
                .collect();
            assert_eq!(walked, published, "the published ones");
            assert!(published.len() >= 6);
            let row_by_row: Vec<&String> =
                sql.iter().filter(|s| s.contains("ts_match_vq")).collect();
            assert!(!row_by_row.is_empty());
            // Within the window, below a cursor near the first article, or among older
            // matches the index named.
            for statement in row_by_row {
                assert!(
                    [
                        "\"articles\".\"id\" >",
                        "\"articles\".\"id\" <",
                        "\"articles\".\"id\" ="
                    ]
                    .iter()
                    .any(|bound| statement.contains(bound)),
                    "{statement}"
                );
            }
        }
    })
    .await;
}
