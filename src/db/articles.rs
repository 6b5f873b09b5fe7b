//! Queries on `articles`: the filtered, ordered pages behind `GET /articles`, their counts and
//! single-article lookups.

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use super::schema::{article_tags, articles};
use super::{DbConn, MultiBackend, lower};

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

#[derive(Debug, Clone, Copy, Insertable)]
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
    /// Limits drafts and scheduled articles to this author's own (callers below editor).
    pub unpublished_of: Option<i64>,
}

impl ArticleFilter {
    /// Identifies what the filter selects, leaving out `now`, which changes every call.
    pub fn cache_key(&self) -> String {
        let Self {
            status,
            now: _,
            any_tags,
            all_tags,
            exclude_tags,
            authors,
            text,
            published_after,
            published_before,
            unpublished_of,
        } = self;
        format!(
            "{status:?}|{any_tags:?}|{all_tags:?}|{exclude_tags:?}|{authors:?}|{text:?}|{published_after:?}|{published_before:?}|{unpublished_of:?}"
        )
    }
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

/// How a tag condition is written. A page reads rows in index order and stops after
/// `limit` matches, so a correlated EXISTS (one primary-key probe per row read) is cheapest.
/// A count must visit every match, so it starts from the tag's rows in `article_tags`
/// (`id IN (subquery)`) instead of probing once per published article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagForm {
    Exists,
    In,
}

fn tagged_with_any(tag_ids: Vec<i64>, form: TagForm) -> Predicate {
    match form {
        TagForm::Exists => Box::new(exists(
            article_tags::table
                .filter(article_tags::article_id.eq(articles::id))
                .filter(article_tags::tag_id.eq_any(tag_ids)),
        )),
        TagForm::In => Box::new(
            articles::id.eq_any(
                article_tags::table
                    .filter(article_tags::tag_id.eq_any(tag_ids))
                    .select(article_tags::article_id),
            ),
        ),
    }
}

/// The WHERE clause of a filter, shared by the page and the count so they always agree.
fn filtered(filter: &ArticleFilter, form: TagForm) -> articles::BoxedQuery<'static, MultiBackend> {
    let now = filter.now;
    let mut query = articles::table.into_boxed();
    let mine = filter.unpublished_of;
    query = match (filter.status, mine) {
        (StatusFilter::Published, _) => query
            .filter(articles::status.eq("published"))
            .filter(articles::published_at.le(now)),
        (StatusFilter::Scheduled, _) => query
            .filter(articles::status.eq("published"))
            .filter(articles::published_at.gt(now)),
        (StatusFilter::Draft, _) => query.filter(articles::status.eq("draft")),
        (StatusFilter::All, Some(me)) => query.filter(
            articles::status
                .eq("published")
                .and(articles::published_at.le(now))
                .or(articles::author_id.eq(me)),
        ),
        (StatusFilter::All, None) => query,
    };
    if let (StatusFilter::Scheduled | StatusFilter::Draft, Some(me)) = (filter.status, mine) {
        query = query.filter(articles::author_id.eq(me));
    }
    if let Some(tag_ids) = &filter.any_tags {
        query = query.filter(tagged_with_any(tag_ids.clone(), form));
    }
    for &tag_id in &filter.all_tags {
        query = query.filter(tagged_with_any(vec![tag_id], form));
    }
    if !filter.exclude_tags.is_empty() {
        query = query.filter(not(tagged_with_any(
            filter.exclude_tags.clone(),
            TagForm::Exists,
        )));
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

/// Where a draft (no `published_at`) sorts in a publication-time order: after everything,
/// like a publication still to come. Both backends compare it with stored times correctly.
pub const UNPUBLISHED_SORTS_AS: NaiveDateTime = match chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
{
    Some(day) => day.and_time(chrono::NaiveTime::MIN),
    None => NaiveDateTime::MIN,
};

/// The publication-time sort expression: the plain column when drafts cannot be in the
/// list (so the index serves the order), otherwise with drafts mapped to
/// `UNPUBLISHED_SORTS_AS`, since the backends disagree on where NULLs sort.
fn published_key(filter: &ArticleFilter) -> &'static str {
    match filter.status {
        StatusFilter::Published | StatusFilter::Scheduled => "articles.published_at",
        StatusFilter::Draft | StatusFilter::All => {
            "COALESCE(articles.published_at, '9999-12-31 00:00:00')"
        }
    }
}

/// `(key, id) <op> (?, ?)` as a row-value comparison, which both backends answer from the
/// (status, key, id) indexes; the same condition written with OR is not always indexed.
fn keyset(filter: &ArticleFilter, order: ArticleOrder, key: &SortKey, id: i64) -> Predicate {
    let (column, op) = match order {
        ArticleOrder::PublishedDesc => (published_key(filter), "<"),
        ArticleOrder::PublishedAsc => (published_key(filter), ">"),
        ArticleOrder::UpdatedDesc => ("articles.updated_at", "<"),
        ArticleOrder::TitleAsc => ("articles.title", ">"),
    };
    let head = sql::<Bool>(&format!("({column}, articles.id) {op} ("));
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

/// `ORDER BY` for an order, ties broken by id.
fn order_clause(filter: &ArticleFilter, order: ArticleOrder) -> String {
    let published = published_key(filter);
    match order {
        ArticleOrder::PublishedDesc => format!("{published} DESC, articles.id DESC"),
        ArticleOrder::PublishedAsc => format!("{published} ASC, articles.id ASC"),
        ArticleOrder::UpdatedDesc => "articles.updated_at DESC, articles.id DESC".to_owned(),
        ArticleOrder::TitleAsc => "articles.title ASC, articles.id ASC".to_owned(),
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
    let ordering = sql::<Timestamp>(&order_clause(filter, order));
    match window {
        Window::After { key, id } => filtered(filter, TagForm::Exists)
            .filter(keyset(filter, order, key, *id))
            .order(ordering)
            .limit(limit)
            .select(ArticleSummaryRow::as_select())
            .load(conn),
        Window::Offset(0) => filtered(filter, TagForm::Exists)
            .order(ordering)
            .limit(limit)
            .select(ArticleSummaryRow::as_select())
            .load(conn),
        // A deep numbered page skips rows from the index alone (a "deferred join"), then
        // fetches only the rows it shows; skipping whole rows would read every one of them.
        Window::Offset(offset) => {
            let ids: Vec<i64> = filtered(filter, TagForm::Exists)
                .order(ordering)
                .limit(limit)
                .offset(*offset)
                .select(articles::id)
                .load(conn)?;
            let mut rows: Vec<ArticleSummaryRow> = articles::table
                .filter(articles::id.eq_any(&ids))
                .select(ArticleSummaryRow::as_select())
                .load(conn)?;
            rows.sort_by_key(|row| ids.iter().position(|&id| id == row.id));
            Ok(rows)
        }
    }
}

/// How many articles match the filter.
pub fn count(conn: &mut DbConn, filter: &ArticleFilter) -> QueryResult<i64> {
    filtered(filter, TagForm::In).count().get_result(conn)
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
