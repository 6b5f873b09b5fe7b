//! Queries on `articles`: the filtered, ordered pages behind `GET /articles`, their counts and
//! single-article lookups.

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::schema::{article_tags, articles};
use super::{DbConn, MultiBackend};

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
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub reading_time: i32,
    pub author_id: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = articles)]
pub struct NewArticle<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub excerpt: &'a str,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
    pub feature_image: Option<&'a str>,
    pub status: &'a str,
    pub published_at: Option<NaiveDateTime>,
    pub author_id: i64,
    pub reading_time: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Which articles by publication state. "Scheduled" is a published article whose time has
/// not come yet, so both depend on `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Published,
    Scheduled,
    Draft,
    All,
}

/// Everything `GET /articles` can filter on, with slugs already resolved to ids.
#[derive(Debug, Clone)]
pub struct ArticleFilter {
    pub status: StatusFilter,
    pub now: NaiveDateTime,
    /// Articles carrying at least one of these tags.
    pub any_tags: Option<Vec<i64>>,
    /// Articles carrying every one of these tags.
    pub all_tags: Vec<i64>,
    pub exclude_tags: Vec<i64>,
    pub authors: Option<Vec<i64>>,
    /// Lower-cased search text, matched inside title or excerpt.
    pub text: Option<String>,
    pub published_after: Option<NaiveDateTime>,
    pub published_before: Option<NaiveDateTime>,
}

/// A list order. Each one is a key the indexes hold, with `id` breaking ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleOrder {
    PublishedDesc,
    PublishedAsc,
    UpdatedDesc,
    TitleAsc,
}

/// The sort key of the last row of a page: where a keyset page continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Time(NaiveDateTime),
    Title(String),
}

/// Which slice of the ordered list to read.
#[derive(Debug, Clone)]
pub enum Window {
    Offset(i64),
    After { key: SortKey, id: i64 },
}

type Predicate = Box<dyn BoxableExpression<articles::table, MultiBackend, SqlType = Bool>>;

diesel::define_sql_function!(fn lower(x: Text) -> Text);

fn tagged_with_any(tag_ids: Vec<i64>) -> Predicate {
    Box::new(exists(
        article_tags::table
            .filter(article_tags::article_id.eq(articles::id))
            .filter(article_tags::tag_id.eq_any(tag_ids)),
    ))
}

fn tagged_with(tag_id: i64) -> Predicate {
    Box::new(exists(
        article_tags::table
            .filter(article_tags::article_id.eq(articles::id))
            .filter(article_tags::tag_id.eq(tag_id)),
    ))
}

/// The WHERE clause of a filter, shared by the page and the count so they always agree.
fn filtered(filter: &ArticleFilter) -> articles::BoxedQuery<'static, MultiBackend> {
    let now = filter.now;
    let mut query = articles::table.into_boxed();
    query = match filter.status {
        StatusFilter::Published => query
            .filter(articles::status.eq("published"))
            .filter(articles::published_at.le(now)),
        StatusFilter::Scheduled => query
            .filter(articles::status.eq("published"))
            .filter(articles::published_at.gt(now)),
        StatusFilter::Draft => query.filter(articles::status.eq("draft")),
        StatusFilter::All => query,
    };
    if let Some(tag_ids) = &filter.any_tags {
        query = query.filter(tagged_with_any(tag_ids.clone()));
    }
    for &tag_id in &filter.all_tags {
        query = query.filter(tagged_with(tag_id));
    }
    if !filter.exclude_tags.is_empty() {
        query = query.filter(not(tagged_with_any(filter.exclude_tags.clone())));
    }
    if let Some(author_ids) = &filter.authors {
        query = query.filter(articles::author_id.eq_any(author_ids.clone()));
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", escape_like(text));
        query = query.filter(
            lower(articles::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(articles::excerpt).like(pattern).escape('\\')),
        );
    }
    if let Some(after) = filter.published_after {
        query = query.filter(articles::published_at.gt(after));
    }
    if let Some(before) = filter.published_before {
        query = query.filter(articles::published_at.lt(before));
    }
    query
}

/// `%` and `_` typed by a reader are literal characters, not wildcards.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `(key, id) <op> (?, ?)` as a row-value comparison, which both backends answer from the
/// (status, key, id) indexes; the same condition written with OR is not always indexed.
fn keyset(order: ArticleOrder, key: &SortKey, id: i64) -> Predicate {
    let (columns, op) = match order {
        ArticleOrder::PublishedDesc => ("(articles.published_at, articles.id)", "<"),
        ArticleOrder::PublishedAsc => ("(articles.published_at, articles.id)", ">"),
        ArticleOrder::UpdatedDesc => ("(articles.updated_at, articles.id)", "<"),
        ArticleOrder::TitleAsc => ("(articles.title, articles.id)", ">"),
    };
    let head = sql::<Bool>(&format!("{columns} {op} ("));
    match key {
        SortKey::Time(t) => Box::new(
            head.bind::<Timestamp, _>(*t)
                .sql(", ")
                .bind::<BigInt, _>(id)
                .sql(")"),
        ),
        SortKey::Title(title) => Box::new(
            head.bind::<Text, _>(title.clone())
                .sql(", ")
                .bind::<BigInt, _>(id)
                .sql(")"),
        ),
    }
}

/// One ordered page of summaries.
pub fn list_page(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    order: ArticleOrder,
    window: &Window,
    limit: i64,
) -> QueryResult<Vec<ArticleSummaryRow>> {
    let mut query = filtered(filter)
        .select(ArticleSummaryRow::as_select())
        .limit(limit);
    query = match order {
        ArticleOrder::PublishedDesc => {
            query.order((articles::published_at.desc(), articles::id.desc()))
        }
        ArticleOrder::PublishedAsc => {
            query.order((articles::published_at.asc(), articles::id.asc()))
        }
        ArticleOrder::UpdatedDesc => {
            query.order((articles::updated_at.desc(), articles::id.desc()))
        }
        ArticleOrder::TitleAsc => query.order((articles::title.asc(), articles::id.asc())),
    };
    query = match window {
        Window::Offset(offset) => query.offset(*offset),
        Window::After { key, id } => query.filter(keyset(order, key, *id)),
    };
    query.load(conn)
}

/// How many articles match the filter.
pub fn count(conn: &mut DbConn, filter: &ArticleFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<ArticleRow>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()
}
