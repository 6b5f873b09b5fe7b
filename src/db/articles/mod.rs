//! Queries on `articles`: single-article lookups and writes (here), and the filtered, ordered
//! pages behind `GET /articles` with their counts (`list`).

mod list;

pub use list::{
    ArticleFilter, ArticleOrder, PlacedMatch, SortKey, StatusFilter, UNPUBLISHED_SORTS_AS, Window,
    count, list_page, placed_matches,
};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{article_tags, articles, tags_version};
use super::{DbConn, TagIdsOfArticle};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub body_markdown: String,
    pub body_html: String,
    pub feature_image: Option<String>,
    pub feature_image_id: Option<i64>,
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub author_id: i64,
    pub reading_time: i32,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The columns a list needs: no bodies.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleSummaryRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub feature_image: Option<String>,
    pub feature_image_id: Option<i64>,
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub reading_time: i32,
    pub author_id: i64,
    /// The article's tag ids, comma-separated, and the tags version they were read at
    /// (`tags_version`), for the tags held in memory (`service::tags::catalog`).
    #[diesel(
        select_expression = TagIdsOfArticle,
        select_expression_type = TagIdsOfArticle
    )]
    pub tag_ids: Option<String>,
    #[diesel(
        select_expression = tags_version_now(),
        select_expression_type = tags_version_now
    )]
    pub tags_version: Option<i64>,
}

impl ArticleSummaryRow {
    /// The tag ids the page statement read, or `None` when they cannot be told (never the
    /// case for a row it read).
    pub fn parsed_tag_ids(&self) -> Option<Vec<i64>> {
        match &self.tag_ids {
            None => Some(Vec::new()),
            Some(ids) => ids.split(',').map(|id| id.parse().ok()).collect(),
        }
    }
}

/// The tags version as the statement reading it sees it (a single row, read once).
#[diesel::dsl::auto_type]
fn tags_version_now() -> _ {
    tags_version::table
        .select(tags_version::version)
        .single_value()
}

#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = articles)]
pub struct NewArticle<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub excerpt: &'a str,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
    pub feature_image: Option<&'a str>,
    pub feature_image_id: Option<i64>,
    pub status: &'a str,
    pub published_at: Option<NaiveDateTime>,
    pub author_id: i64,
    pub reading_time: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The names the search index reads; the write path fills them in afterwards
    /// (`db::search::refresh_names`), the seed at once.
    pub search_tags: &'a str,
    pub search_author: &'a str,
}

/// The rendered bodies of these articles, in one statement.
pub fn bodies(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    articles::table
        .filter(super::id_in(articles::id, ids))
        .select((articles::id, articles::body_html))
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()
}

/// As `find`, and on PostgreSQL locks the row until the transaction ends, so a concurrent
/// change or deletion of the same article waits for this one instead of interleaving.
pub fn find_for_update(conn: &mut DbConn, id: i64) -> QueryResult<Option<ArticleRow>> {
    match conn {
        DbConn::Postgres(c) => articles::table
            .find(id)
            .select(ArticleRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => find(conn, id),
    }
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()
}

/// An article's slug and the ones already taken that start with `base-`.
pub fn slugs_like(conn: &mut DbConn, base: &str) -> QueryResult<Vec<String>> {
    // Slugs are [a-z0-9-] only, so `base` holds no LIKE wildcards.
    articles::table
        .filter(
            articles::slug
                .eq(base)
                .or(articles::slug.like(format!("{base}-%"))),
        )
        .select(articles::slug)
        .load(conn)
}

/// Whether another article than `except` has this slug.
pub fn slug_taken(conn: &mut DbConn, slug: &str, except: Option<i64>) -> QueryResult<bool> {
    let holders: Vec<i64> = articles::table
        .filter(articles::slug.eq(slug))
        .select(articles::id)
        .load(conn)?;
    Ok(holders.into_iter().any(|id| Some(id) != except))
}

/// Inserts an article; `None` when its slug is taken (on PostgreSQL, after waiting for a
/// concurrent insert of the same slug to commit or roll back).
pub fn insert_unless_slug_taken(
    conn: &mut DbConn,
    article: &NewArticle<'_>,
) -> QueryResult<Option<i64>> {
    // ON CONFLICT is not available through MultiConnection; each backend runs its own.
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(articles::table)
            .values(article)
            .on_conflict(articles::slug)
            .do_nothing()
            .returning(articles::id)
            .get_result(c)
            .optional(),
        DbConn::Sqlite(c) => diesel::insert_into(articles::table)
            .values(article)
            .on_conflict(articles::slug)
            .do_nothing()
            .returning(articles::id)
            .get_result(c)
            .optional(),
    }
}

/// The columns a PATCH may change; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = articles)]
pub struct ArticleChanges {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub excerpt: Option<String>,
    pub body_markdown: Option<String>,
    pub body_html: Option<String>,
    pub feature_image: Option<Option<String>>,
    pub feature_image_id: Option<Option<i64>>,
    pub status: Option<String>,
    pub published_at: Option<Option<NaiveDateTime>>,
    pub author_id: Option<i64>,
    pub reading_time: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Applies `changes` and bumps the version only if the article is still at `expected`.
/// The version test is inside the UPDATE, so of two concurrent editors only one wins.
pub fn update_if_version(
    conn: &mut DbConn,
    id: i64,
    expected: i32,
    changes: &ArticleChanges,
) -> QueryResult<bool> {
    let updated = diesel::update(
        articles::table
            .find(id)
            .filter(articles::version.eq(expected)),
    )
    .set((changes, articles::version.eq(articles::version + 1)))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete_if_version(conn: &mut DbConn, id: i64, expected: i32) -> QueryResult<bool> {
    let deleted = diesel::delete(
        articles::table
            .find(id)
            .filter(articles::version.eq(expected)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// Replaces an article's tags.
pub fn set_tags(conn: &mut DbConn, article_id: i64, tag_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article_id)))
        .execute(conn)?;
    if tag_ids.is_empty() {
        return Ok(());
    }
    let links: Vec<_> = tag_ids
        .iter()
        .map(|&tag_id| {
            (
                article_tags::article_id.eq(article_id),
                article_tags::tag_id.eq(tag_id),
            )
        })
        .collect();
    // Multi-row inserts are not available through MultiConnection; each backend runs its own.
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(article_tags::table)
            .values(&links)
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(article_tags::table)
            .values(&links)
            .execute(c)?,
    };
    Ok(())
}

/// Gives every article of one author to another.
pub fn reassign_author(conn: &mut DbConn, from: i64, to: i64) -> QueryResult<usize> {
    diesel::update(articles::table.filter(articles::author_id.eq(from)))
        .set(articles::author_id.eq(to))
        .execute(conn)
}

/// The newest article's id (`None` when there are none).
pub fn newest_id(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    articles::table
        .select(diesel::dsl::max(articles::id))
        .first(conn)
}
