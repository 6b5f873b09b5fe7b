//! Listing articles: who sees which, in what order, from where, and how the total is counted.
//!
//! A page costs at most three statements: the rows with their authors, their tags, and the
//! total. The total comes from the published-article counters when they answer the filter
//! (nothing, one tag or one author), otherwise from a count that stops at `count_limit`.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{ArticleSummary, Parts, summaries};
use crate::auth::Caller;
use crate::cache::CountCache;
use crate::db::articles::{
    self as rows, ArticleFilter, ArticleOrder, ArticleSummaryRow, SortKey, StatusFilter, Window,
};
use crate::db::counters::{self, Counted};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::service::pagination::Cursor;
use crate::service::policy::{self, Action};
use crate::service::{PageRequest, utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMatch {
    Any,
    All,
}

/// Where in the list to start.
#[derive(Debug, Clone)]
pub enum Position {
    Page(i64),
    After(Cursor),
}

/// How the total of a list is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountMode {
    /// From the counters, or counted up to the configured limit.
    Bounded,
    /// Counted whatever it costs (within the statement timeout).
    Exact,
    /// Not counted: no total, cursor paging.
    Skip,
}

/// A validated `GET /articles` request.
#[derive(Debug, Clone)]
pub struct ArticleQuery {
    pub status: StatusFilter,
    pub tags: Vec<String>,
    pub tag_match: TagMatch,
    pub exclude_tags: Vec<String>,
    pub authors: Vec<String>,
    pub text: Option<String>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
    pub order: ArticleOrder,
    pub limit: i64,
    pub position: Position,
    pub count: CountMode,
    pub parts: Parts,
}

/// A list total: exact, or a floor (`exact` false) when counting stopped at the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub value: i64,
    pub exact: bool,
}

/// A page of summaries, numbered (`page` set) or reached by cursor.
#[derive(Debug, Clone)]
pub struct ArticlePage {
    pub items: Vec<ArticleSummary>,
    /// `None` when the caller asked not to count.
    pub total: Option<Total>,
    pub limit: i64,
    pub page: Option<i64>,
    pub pages: Option<i64>,
    pub next_cursor: Option<String>,
    /// When what this page shows last changed (see `list`).
    pub last_modified: Option<DateTime<Utc>>,
}

/// Lists articles. Everyone sees published ones; signed-in callers may ask for drafts and
/// scheduled ones, and see their own, or everyone's from editor up.
/// Unknown tag or author slugs match nothing rather than failing.
pub fn list(
    conn: &mut DbConn,
    counts: &CountCache,
    count_limit: i64,
    viewer: Option<&Caller>,
    query: &ArticleQuery,
) -> Result<ArticlePage, AppError> {
    let now = db::now();
    let unpublished_of = match (query.status, viewer) {
        (StatusFilter::Published, _) => None,
        (_, None) => return Err(AppError::Unauthenticated),
        (_, Some(caller)) if policy::allows(caller.role, Action::ReadUnpublished, false) => None,
        (_, Some(caller)) => Some(caller.user_id),
    };
    let mut filter = filter_of(query, now, unpublished_of);
    let counted = match query.count {
        CountMode::Skip => None,
        CountMode::Exact => {
            let (value, changed) = cached(counts, &filter, "exact", || {
                rows::count(conn, &filter, None)
            })?;
            Some((Total { value, exact: true }, changed))
        }
        CountMode::Bounded => {
            let (total, changed, one_tag) = bounded_total(conn, counts, &filter, count_limit)?;
            filter.rare_tags = one_tag && total.value <= RARE_TAG_ARTICLES;
            Some((total, changed))
        }
    };
    let window = match &query.position {
        Position::Page(page) => Window::Offset(
            PageRequest {
                page: *page,
                limit: query.limit,
            }
            .offset(),
        ),
        Position::After(cursor) => Window::After {
            key: cursor.key.clone(),
            id: cursor.id,
        },
    };
    // One row past the page tells whether there is a next one.
    let mut rows = rows::list_page(conn, &filter, query.order, &window, query.limit + 1)?;
    let has_more = rows.len() as i64 > query.limit;
    rows.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    let total = counted.map(|(total, _)| total);
    // A page changes when any article, tag or author it could show changes (the content
    // clock), and when a scheduled article on it comes due, which no write marks. Uncounted
    // pages have no clock to read, so no Last-Modified (their ETag still validates).
    let last_modified = counted.map(|(_, changed)| {
        rows.iter()
            .filter_map(|(row, _)| row.published_at)
            .chain(changed)
            .max()
            .map(utc)
    });
    let next_cursor = match rows.last() {
        Some((last, _)) if has_more => Some(cursor_after(query.order, last).encode()),
        _ => None,
    };
    let (page, pages) = match query.position {
        Position::Page(page) => (
            Some(page),
            total.map(|t| {
                PageRequest {
                    page,
                    limit: query.limit,
                }
                .pages(t.value)
            }),
        ),
        Position::After(_) => (None, None),
    };
    Ok(ArticlePage {
        items: summaries(conn, rows, now, query.parts)?,
        last_modified: last_modified.flatten(),
        total,
        limit: query.limit,
        page,
        pages,
        next_cursor,
    })
}

fn filter_of(
    query: &ArticleQuery,
    now: chrono::NaiveDateTime,
    unpublished_of: Option<i64>,
) -> ArticleFilter {
    let (any_tags, all_tags) = match query.tag_match {
        TagMatch::Any => (query.tags.clone(), Vec::new()),
        TagMatch::All => (Vec::new(), distinct(&query.tags)),
    };
    ArticleFilter {
        status: query.status,
        now,
        any_tags,
        all_tags,
        exclude_tags: query.exclude_tags.clone(),
        authors: query.authors.clone(),
        text: query.text.as_ref().map(|t| t.to_lowercase()),
        published_after: query.published_after.map(|t| t.naive_utc()),
        published_before: query.published_before.map(|t| t.naive_utc()),
        unpublished_of,
        rare_tags: false,
    }
}

fn distinct(slugs: &[String]) -> Vec<String> {
    let mut sorted = slugs.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
}

/// Up to this many articles, a tag's page starts from the tag's rows; above, it reads articles
/// in order and probes their tags. Each way costs about 5,000 rows at the crossing.
const RARE_TAG_ARTICLES: i64 = 5_000;

/// The total from the counters when they answer the filter exactly (published articles,
/// filtered by nothing, by one tag or by one author), else counted up to `limit`; with the
/// content clock, and whether the filter is one tag alone (then the total is that tag's).
fn bounded_total(
    conn: &mut DbConn,
    counts: &CountCache,
    filter: &ArticleFilter,
    limit: i64,
) -> Result<(Total, Option<NaiveDateTime>, bool), AppError> {
    let plain = filter.status == StatusFilter::Published
        && filter.unpublished_of.is_none()
        && filter.text.is_none()
        && filter.published_after.is_none()
        && filter.published_before.is_none()
        && filter.exclude_tags.is_empty();
    let one_tag = match (
        distinct(&filter.any_tags).as_slice(),
        filter.all_tags.as_slice(),
    ) {
        ([], []) => None,
        ([slug], []) | ([], [slug]) => Some(Some(slug.clone())),
        _ => Some(None),
    };
    let counted = match (plain, &one_tag, filter.authors.as_slice()) {
        (true, None, []) => Some(Counted::All),
        (true, Some(Some(tag)), []) => Some(Counted::TagSlug(tag)),
        (true, None, [author]) => Some(Counted::AuthorSlug(author)),
        _ => None,
    };
    if let Some(counted) = counted {
        let (value, changed) = counters::visible(conn, counted, filter.now)?;
        let one_tag = matches!(counted, Counted::TagSlug(_));
        return Ok((Total { value, exact: true }, changed, one_tag));
    }
    let (found, changed) = cached(counts, filter, &format!("up to {limit}"), || {
        rows::count(conn, filter, Some(limit))
    })?;
    let total = Total {
        value: found.min(limit),
        exact: found <= limit,
    };
    Ok((total, changed, false))
}

/// A count (and the content clock read with it), reused across the pages of its filter for
/// the count cache's TTL.
fn cached(
    counts: &CountCache,
    filter: &ArticleFilter,
    kind: &str,
    count: impl FnOnce() -> diesel::QueryResult<(i64, Option<NaiveDateTime>)>,
) -> Result<(i64, Option<NaiveDateTime>), AppError> {
    // Others counting the same filter wait this long for the first one's answer.
    let wait = std::time::Duration::from_secs(5);
    counts.get_or_compute_blocking(format!("{kind}|{}", filter.cache_key()), wait, || {
        count().map_err(AppError::from)
    })
}

fn cursor_after(order: ArticleOrder, last: &ArticleSummaryRow) -> Cursor {
    let key = match order {
        ArticleOrder::PublishedDesc | ArticleOrder::PublishedAsc => {
            SortKey::Time(last.published_at.unwrap_or(rows::UNPUBLISHED_SORTS_AS))
        }
        ArticleOrder::UpdatedDesc => SortKey::Time(last.updated_at),
        ArticleOrder::TitleAsc => SortKey::Title(last.title.clone()),
    };
    Cursor {
        order,
        key,
        id: last.id,
    }
}
