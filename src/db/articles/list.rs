//! The filtered, ordered pages behind `GET /articles` and their counts.
//!
//! Every statement here is built from diesel's DSL (no SQL literals), so the drivers keep it
//! prepared and reuse the plan whenever the same shape comes again: slugs are matched inside
//! the statements (no lookups first) and a single slug binds one value.

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Timestamp};

use super::ArticleSummaryRow;
use crate::db::schema::{article_tags, articles, content_clock, tags, users};
use crate::db::users::AuthorRow;
use crate::db::{DbConn, MultiBackend, in_subquery, lower, row_after};

diesel::define_sql_function!(fn coalesce(x: Nullable<Timestamp>, y: Timestamp) -> Timestamp);

/// Which articles by publication state. "Scheduled" is a published article whose time has
/// not come yet, so both depend on `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Published,
    Scheduled,
    Draft,
    All,
}

/// Everything `GET /articles` can filter on. Tags and authors are slugs; an unknown one
/// matches nothing.
#[derive(Debug, Clone)]
pub struct ArticleFilter {
    pub status: StatusFilter,
    pub now: NaiveDateTime,
    /// Articles carrying at least one of these tags.
    pub any_tags: Vec<String>,
    /// Articles carrying every one of these tags.
    pub all_tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    pub authors: Vec<String>,
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
type Query = articles::BoxedQuery<'static, MultiBackend>;

/// How a tag condition is written. A page reads rows in index order and stops after
/// `limit` matches, so a correlated EXISTS (one primary-key probe per row read) is cheapest.
/// A count must visit every match, so it starts from the tag's rows in `article_tags`
/// (`id IN (subquery)`) instead of probing once per published article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagForm {
    Exists,
    In,
}

/// Articles carrying one of the tags with these slugs. One slug is a scalar subquery, which
/// both planners treat as a single known value (an index probe on (article_id, tag_id));
/// several are an IN list.
fn tagged_with_any(slugs: &[String], form: TagForm) -> Predicate {
    let one = |slug: &String| {
        tags::table
            .filter(tags::slug.eq(slug.clone()))
            .select(tags::id)
            .single_value()
            .assume_not_null()
    };
    let many = || {
        tags::table
            .filter(tags::slug.eq_any(slugs.to_vec()))
            .select(tags::id)
    };
    match (slugs, form) {
        ([slug], TagForm::Exists) => Box::new(exists(
            article_tags::table
                .filter(article_tags::article_id.eq(articles::id))
                .filter(article_tags::tag_id.eq(one(slug))),
        )),
        ([slug], TagForm::In) => Box::new(
            articles::id.eq_any(
                article_tags::table
                    .filter(article_tags::tag_id.eq(one(slug)))
                    .select(article_tags::article_id),
            ),
        ),
        (_, TagForm::Exists) => Box::new(exists(
            article_tags::table
                .filter(article_tags::article_id.eq(articles::id))
                .filter(article_tags::tag_id.eq_any(many())),
        )),
        (_, TagForm::In) => Box::new(
            articles::id.eq_any(
                article_tags::table
                    .filter(article_tags::tag_id.eq_any(many()))
                    .select(article_tags::article_id),
            ),
        ),
    }
}

/// The WHERE clause of a filter, shared by the page and the count so they always agree.
fn filtered(filter: &ArticleFilter, form: TagForm) -> Query {
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
    if !filter.any_tags.is_empty() {
        query = query.filter(tagged_with_any(&filter.any_tags, form));
    }
    for slug in &filter.all_tags {
        query = query.filter(tagged_with_any(std::slice::from_ref(slug), form));
    }
    if !filter.exclude_tags.is_empty() {
        query = query.filter(not(tagged_with_any(&filter.exclude_tags, TagForm::Exists)));
    }
    match filter.authors.as_slice() {
        [] => {}
        // A scalar subquery, so the (author_id, status, published_at) index serves the
        // order, as for a known author id (an IN subquery makes PostgreSQL join instead).
        [slug] => {
            query = query.filter(
                articles::author_id.eq(users::table
                    .filter(users::slug.eq(slug.clone()))
                    .select(users::id)
                    .single_value()
                    .assume_not_null()),
            );
        }
        slugs => {
            query = query.filter(
                articles::author_id.eq_any(
                    users::table
                        .filter(users::slug.eq_any(slugs.to_vec()))
                        .select(users::id),
                ),
            );
        }
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

/// Whether drafts can be in the list. Then a publication-time order maps them to
/// `UNPUBLISHED_SORTS_AS` (the backends disagree on where NULLs sort); otherwise it uses the
/// plain column, so the (status, published_at, id) index serves the order.
fn with_drafts(filter: &ArticleFilter) -> bool {
    matches!(filter.status, StatusFilter::Draft | StatusFilter::All)
}

/// `ORDER BY` for an order, ties broken by id.
fn ordered(query: Query, filter: &ArticleFilter, order: ArticleOrder) -> Query {
    let published = coalesce(articles::published_at, UNPUBLISHED_SORTS_AS);
    match (order, with_drafts(filter)) {
        (ArticleOrder::PublishedDesc, false) => {
            query.order((articles::published_at.desc(), articles::id.desc()))
        }
        (ArticleOrder::PublishedDesc, true) => query.order((published.desc(), articles::id.desc())),
        (ArticleOrder::PublishedAsc, false) => {
            query.order((articles::published_at.asc(), articles::id.asc()))
        }
        (ArticleOrder::PublishedAsc, true) => query.order((published.asc(), articles::id.asc())),
        (ArticleOrder::UpdatedDesc, _) => {
            query.order((articles::updated_at.desc(), articles::id.desc()))
        }
        (ArticleOrder::TitleAsc, _) => query.order((articles::title.asc(), articles::id.asc())),
    }
}

/// Rows after the last one of the previous page, in `order`.
fn keyset(filter: &ArticleFilter, order: ArticleOrder, key: &SortKey, id: i64) -> Predicate {
    let published = coalesce(articles::published_at, UNPUBLISHED_SORTS_AS);
    let descending = matches!(
        order,
        ArticleOrder::PublishedDesc | ArticleOrder::UpdatedDesc
    );
    match (order, key, with_drafts(filter)) {
        (ArticleOrder::TitleAsc, SortKey::Title(title), _) => Box::new(row_after::<_, _, Text, _>(
            articles::title,
            articles::id,
            title.clone(),
            id,
            false,
        )),
        (ArticleOrder::UpdatedDesc, SortKey::Time(t), _) => Box::new(
            row_after::<_, _, Timestamp, _>(articles::updated_at, articles::id, *t, id, descending),
        ),
        (_, SortKey::Time(t), false) => Box::new(row_after::<_, _, Timestamp, _>(
            articles::published_at,
            articles::id,
            *t,
            id,
            descending,
        )),
        (_, SortKey::Time(t), true) => Box::new(row_after::<_, _, Timestamp, _>(
            published,
            articles::id,
            *t,
            id,
            descending,
        )),
        // A cursor is checked against its order when decoded; a mismatch reads nothing.
        (_, SortKey::Title(_), _) => Box::new(false.into_sql::<Bool>()),
    }
}

/// One ordered page of summaries, each with its author, in one statement.
pub fn list_page(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    order: ArticleOrder,
    window: &Window,
    limit: i64,
) -> QueryResult<Vec<(ArticleSummaryRow, AuthorRow)>> {
    let page = match window {
        Window::After { key, id } => ordered(
            filtered(filter, TagForm::Exists).filter(keyset(filter, order, key, *id)),
            filter,
            order,
        )
        .limit(limit),
        Window::Offset(0) => ordered(filtered(filter, TagForm::Exists), filter, order).limit(limit),
        // A deep numbered page skips rows from the index alone (a "deferred join"), then
        // reads only the rows it shows; skipping whole rows would read every one of them.
        Window::Offset(offset) => {
            let ids = ordered(filtered(filter, TagForm::Exists), filter, order)
                .select(articles::id)
                .limit(limit)
                .offset(*offset);
            ordered(
                articles::table
                    .filter(in_subquery(articles::id, ids))
                    .into_boxed(),
                filter,
                order,
            )
        }
    };
    page.inner_join(users::table)
        .select((ArticleSummaryRow::as_select(), AuthorRow::as_select()))
        .load(conn)
}

/// How many articles match the filter, counting at most `limit + 1` when a limit is given
/// (beyond it the answer only says "more", and costs what reading `limit` ids costs); and
/// when the content last changed, in the same statement.
pub fn count(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    limit: Option<i64>,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let ids = filtered(filter, TagForm::In).select(articles::id);
    let ids = match limit {
        Some(limit) => ids.limit(limit + 1),
        None => ids,
    };
    let changed = content_clock::table
        .select(content_clock::changed_at)
        .single_value();
    diesel::select((
        articles::table
            .filter(in_subquery(articles::id, ids))
            .count()
            .single_value(),
        changed,
    ))
    .get_result::<(Option<i64>, Option<NaiveDateTime>)>(conn)
    .map(|(n, changed)| (n.unwrap_or(0), changed))
}
