//! What the sitemap lists: published articles, and tags and authors with at least one, read
//! by id ranges so that any part of a sitemap of millions costs one range of the primary key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::counters::Scope;
use super::schema::{article_counts, articles, tags, users};

/// How far each kind of id reaches: sitemap files cut each kind into id ranges.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdExtent {
    pub articles: i64,
    pub tags: i64,
    pub authors: i64,
}

pub fn id_extent(conn: &mut DbConn) -> QueryResult<IdExtent> {
    use diesel::dsl::max;
    let (articles, tags, authors) = diesel::select((
        articles::table.select(max(articles::id)).single_value(),
        tags::table.select(max(tags::id)).single_value(),
        users::table.select(max(users::id)).single_value(),
    ))
    .get_result::<(Option<i64>, Option<i64>, Option<i64>)>(conn)?;
    Ok(IdExtent {
        articles: articles.unwrap_or(0),
        tags: tags.unwrap_or(0),
        authors: authors.unwrap_or(0),
    })
}

/// Tags, then authors, with a published article (by their counters).
pub fn counted_with_articles(conn: &mut DbConn) -> QueryResult<(i64, i64)> {
    let with_articles = |scope: &'static str| {
        article_counts::table
            .filter(article_counts::scope.eq(scope))
            .filter(article_counts::published.gt(0_i64))
            .count()
            .single_value()
    };
    let (tags, authors) = diesel::select((with_articles("tag"), with_articles("author")))
        .get_result::<(Option<i64>, Option<i64>)>(conn)?;
    Ok((tags.unwrap_or(0), authors.unwrap_or(0)))
}

/// Published articles (visible at `now`) with `after < id <= until`, by id, at most `limit`:
/// id, slug and when each last changed.
pub fn articles_between(
    conn: &mut DbConn,
    after: i64,
    until: i64,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(i64, String, NaiveDateTime)>> {
    articles::table
        .filter(articles::id.gt(after).and(articles::id.le(until)))
        .filter(articles::status.eq("published"))
        .filter(articles::published_at.le(now))
        .order(articles::id)
        .limit(limit)
        .select((articles::id, articles::slug, articles::updated_at))
        .load(conn)
}

/// Tags with `after < id <= until` and a published article, by id, at most `limit`.
pub fn tags_between(
    conn: &mut DbConn,
    after: i64,
    until: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, String)>> {
    let counted = article_counts::table
        .filter(article_counts::scope.eq(Scope::Tag.as_str()))
        .filter(article_counts::published.gt(0_i64))
        .select(article_counts::ref_id);
    tags::table
        .filter(tags::id.gt(after).and(tags::id.le(until)))
        .filter(tags::id.eq_any(counted))
        .order(tags::id)
        .limit(limit)
        .select((tags::id, tags::slug))
        .load(conn)
}

/// Authors with `after < id <= until` and a published article, by id, at most `limit`.
pub fn authors_between(
    conn: &mut DbConn,
    after: i64,
    until: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, String)>> {
    let counted = article_counts::table
        .filter(article_counts::scope.eq(Scope::Author.as_str()))
        .filter(article_counts::published.gt(0_i64))
        .select(article_counts::ref_id);
    users::table
        .filter(users::id.gt(after).and(users::id.le(until)))
        .filter(users::id.eq_any(counted))
        .order(users::id)
        .limit(limit)
        .select((users::id, users::slug))
        .load(conn)
}
