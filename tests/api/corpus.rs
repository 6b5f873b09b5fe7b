//! The seeded rows read straight from the database, and the reference answers to list
//! queries computed from them in plain Rust, independent of the SQL under test.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use folio::db::schema::{article_tags, articles, tags, users};

#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub title: String,
    pub excerpt: String,
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub author: String,
    pub tags: Vec<String>,
}

impl Row {
    pub fn is_public(&self, now: NaiveDateTime) -> bool {
        self.status == "published" && self.published_at.is_some_and(|at| at <= now)
    }

    pub fn has_tag(&self, slug: &str) -> bool {
        self.tags.iter().any(|t| t == slug)
    }
}

pub fn load(conn: &mut folio::db::DbConn) -> Vec<Row> {
    let links: Vec<(i64, String)> = article_tags::table
        .inner_join(tags::table)
        .select((article_tags::article_id, tags::slug))
        .load(conn)
        .expect("article tags");
    let mut tags_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (article, tag) in links {
        tags_of.entry(article).or_default().push(tag);
    }
    articles::table
        .inner_join(users::table)
        .select((
            articles::id,
            articles::title,
            articles::excerpt,
            articles::status,
            articles::published_at,
            articles::updated_at,
            users::slug,
        ))
        .load::<(
            i64,
            String,
            String,
            String,
            Option<NaiveDateTime>,
            NaiveDateTime,
            String,
        )>(conn)
        .expect("articles")
        .into_iter()
        .map(
            |(id, title, excerpt, status, published_at, updated_at, author)| Row {
                tags: tags_of.remove(&id).unwrap_or_default(),
                id,
                title,
                excerpt,
                status,
                published_at,
                updated_at,
                author,
            },
        )
        .collect()
}

/// Public rows passing `keep`, in the order of `sort` (ties broken by id, as documented).
pub fn expected(rows: &[Row], sort: &str, keep: impl Fn(&Row) -> bool) -> Vec<i64> {
    let now = folio::db::now();
    let mut selected: Vec<&Row> = rows
        .iter()
        .filter(|r| r.is_public(now) && keep(r))
        .collect();
    match sort {
        "-published_at" => selected.sort_by_key(|r| std::cmp::Reverse((r.published_at, r.id))),
        "published_at" => selected.sort_by_key(|r| (r.published_at, r.id)),
        "-updated_at" => selected.sort_by_key(|r| std::cmp::Reverse((r.updated_at, r.id))),
        "title" => {
            selected.sort_by(|a, b| (a.title.as_bytes(), a.id).cmp(&(b.title.as_bytes(), b.id)))
        }
        other => panic!("no reference order for {other}"),
    }
    selected.iter().map(|r| r.id).collect()
}

/// The tag carried by the most public articles, and a second, different one.
pub fn two_common_tags(rows: &[Row]) -> (String, String) {
    let now = folio::db::now();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for row in rows.iter().filter(|r| r.is_public(now)) {
        for tag in &row.tags {
            *counts.entry(tag).or_default() += 1;
        }
    }
    let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let first = by_count.first().expect("a tag").0.to_owned();
    let second = by_count.get(1).expect("a second tag").0.to_owned();
    (first, second)
}
