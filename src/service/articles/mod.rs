//! Articles: who may see which, how a filtered list is paged (here), and how they are
//! written (`write`).

mod write;

pub use write::{ArticleInput, ArticlePatch, RequestedStatus, create, delete, update};

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::cache::CountCache;
use crate::db::articles::{
    self as rows, ArticleFilter, ArticleOrder, ArticleRow, ArticleSummaryRow, StatusFilter, Window,
};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::service::pagination::Cursor;
use crate::service::policy::{self, Action};
use crate::service::{PageRequest, utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleStatus {
    Draft,
    Published,
    Scheduled,
}

impl ArticleStatus {
    /// "Scheduled" is not stored: it is a published article whose time has not come.
    fn of(stored: &str, published_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match (stored, published_at) {
            ("published", Some(at)) if at > now => Self::Scheduled,
            ("published", _) => Self::Published,
            _ => Self::Draft,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthorRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub avatar: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TagRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct ArticleSummary {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub feature_image: Option<String>,
    pub status: ArticleStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub reading_time: i32,
    pub author: AuthorRef,
    pub tags: Vec<TagRef>,
}

#[derive(Debug, Clone)]
pub struct Article {
    pub summary: ArticleSummary,
    pub body_markdown: String,
    pub body_html: String,
    pub created_at: DateTime<Utc>,
    pub version: i32,
}

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
}

/// A page of summaries, numbered (`page` set) or reached by cursor.
#[derive(Debug, Clone)]
pub struct ArticlePage {
    pub items: Vec<ArticleSummary>,
    pub total: i64,
    pub limit: i64,
    pub page: Option<i64>,
    pub pages: Option<i64>,
    pub next_cursor: Option<String>,
}

/// Lists articles. Everyone sees published ones; signed-in callers may ask for drafts and
/// scheduled ones, and see their own, or everyone's from editor up.
/// Unknown tag or author slugs match nothing rather than failing.
pub fn list(
    conn: &mut DbConn,
    counts: &CountCache,
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
    let Some(mut filter) = resolve_filter(conn, query, query.status, now)? else {
        return Ok(empty_page(query));
    };
    filter.unpublished_of = unpublished_of;
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
    let total = count(conn, counts, &filter)?;
    let next_cursor = match rows.last() {
        Some(last) if has_more => Some(cursor_after(query.order, last).encode()),
        _ => None,
    };
    let (page, pages) = match query.position {
        Position::Page(page) => (
            Some(page),
            Some(
                PageRequest {
                    page,
                    limit: query.limit,
                }
                .pages(total),
            ),
        ),
        Position::After(_) => (None, None),
    };
    Ok(ArticlePage {
        items: summaries(conn, rows, now)?,
        total,
        limit: query.limit,
        page,
        pages,
        next_cursor,
    })
}

/// The filter's total, reused across its pages for the count cache's TTL.
fn count(conn: &mut DbConn, counts: &CountCache, filter: &ArticleFilter) -> Result<i64, AppError> {
    // Others counting the same filter wait this long for the first one's answer.
    let wait = std::time::Duration::from_secs(5);
    counts.get_or_compute_blocking(filter.cache_key(), wait, || {
        rows::count(conn, filter).map_err(AppError::from)
    })
}

fn empty_page(query: &ArticleQuery) -> ArticlePage {
    let page = match query.position {
        Position::Page(page) => Some(page),
        Position::After(_) => None,
    };
    ArticlePage {
        items: Vec::new(),
        total: 0,
        limit: query.limit,
        page,
        pages: page.map(|_| 0),
        next_cursor: None,
    }
}

/// Turns slugs into ids. `None` when the filter can match nothing (an unknown slug in a
/// `tag`, `tag_match=all` or `author` filter), which saves the queries.
fn resolve_filter(
    conn: &mut DbConn,
    query: &ArticleQuery,
    status: StatusFilter,
    now: chrono::NaiveDateTime,
) -> Result<Option<ArticleFilter>, AppError> {
    let mut filter = ArticleFilter {
        status,
        now,
        any_tags: None,
        all_tags: Vec::new(),
        exclude_tags: Vec::new(),
        authors: None,
        text: query.text.as_ref().map(|t| t.to_lowercase()),
        published_after: query.published_after.map(|t| t.naive_utc()),
        published_before: query.published_before.map(|t| t.naive_utc()),
        unpublished_of: None,
    };
    if !query.tags.is_empty() {
        let ids = db::tags::ids_by_slugs(conn, &query.tags)?;
        match query.tag_match {
            TagMatch::Any if ids.is_empty() => return Ok(None),
            TagMatch::Any => filter.any_tags = Some(ids),
            TagMatch::All if ids.len() < distinct_count(&query.tags) => return Ok(None),
            TagMatch::All => filter.all_tags = ids,
        }
    }
    if !query.exclude_tags.is_empty() {
        filter.exclude_tags = db::tags::ids_by_slugs(conn, &query.exclude_tags)?;
    }
    if !query.authors.is_empty() {
        let ids = db::users::ids_by_slugs(conn, &query.authors)?;
        if ids.is_empty() {
            return Ok(None);
        }
        filter.authors = Some(ids);
    }
    Ok(Some(filter))
}

fn distinct_count(slugs: &[String]) -> usize {
    let mut sorted: Vec<&String> = slugs.iter().collect();
    sorted.sort();
    sorted.dedup();
    sorted.len()
}

fn cursor_after(order: ArticleOrder, last: &ArticleSummaryRow) -> Cursor {
    use crate::db::articles::SortKey;
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

/// Attaches authors and tags to a page of rows in two queries, whatever the page size.
fn summaries(
    conn: &mut DbConn,
    rows: Vec<ArticleSummaryRow>,
    now: chrono::NaiveDateTime,
) -> Result<Vec<ArticleSummary>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut author_ids: Vec<i64> = rows.iter().map(|r| r.author_id).collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let authors: HashMap<i64, AuthorRef> = db::users::authors_by_ids(conn, &author_ids)?
        .into_iter()
        .map(|a| {
            (
                a.id,
                AuthorRef {
                    id: a.id,
                    slug: a.slug,
                    name: a.name,
                    avatar: a.avatar,
                },
            )
        })
        .collect();
    let mut tags: HashMap<i64, Vec<TagRef>> = HashMap::new();
    for (article_id, tag) in db::tags::for_articles(conn, &ids)? {
        tags.entry(article_id).or_default().push(TagRef {
            id: tag.id,
            slug: tag.slug,
            name: tag.name,
        });
    }
    rows.into_iter()
        .map(|row| {
            let author = authors
                .get(&row.author_id)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("article {} has no author row", row.id))?;
            let published_at = row.published_at.map(utc);
            Ok(ArticleSummary {
                status: ArticleStatus::of(&row.status, published_at, utc(now)),
                id: row.id,
                slug: row.slug,
                title: row.title,
                excerpt: row.excerpt,
                feature_image: row.feature_image,
                published_at,
                updated_at: utc(row.updated_at),
                reading_time: row.reading_time,
                tags: tags.remove(&row.id).unwrap_or_default(),
                author,
            })
        })
        .collect()
}

/// How a single article is looked up.
#[derive(Debug, Clone)]
pub enum ArticleKey {
    Id(i64),
    Slug(String),
}

/// Whether `viewer` may see this article. A draft or a not-yet-due scheduled article that
/// the caller may not see is "not found", so its existence is not revealed.
fn visible(row: &ArticleRow, viewer: Option<&Caller>, now: chrono::NaiveDateTime) -> bool {
    let public = row.status == "published" && row.published_at.is_some_and(|at| at <= now);
    public
        || viewer.is_some_and(|caller| {
            policy::allows(
                caller.role,
                Action::ReadUnpublished,
                row.author_id == caller.user_id,
            )
        })
}

/// One article as `viewer` (or an anonymous reader) may see it.
pub fn get(
    conn: &mut DbConn,
    viewer: Option<&Caller>,
    key: &ArticleKey,
) -> Result<Article, AppError> {
    let now = db::now();
    let row = match key {
        ArticleKey::Id(id) => rows::find(conn, *id)?,
        ArticleKey::Slug(slug) => rows::find_by_slug(conn, slug)?,
    };
    let row = row
        .filter(|r| visible(r, viewer, now))
        .ok_or(AppError::NotFound("article"))?;
    full_article(conn, row, now)
}

pub(crate) fn full_article(
    conn: &mut DbConn,
    row: ArticleRow,
    now: chrono::NaiveDateTime,
) -> Result<Article, AppError> {
    let ArticleRow {
        id,
        slug,
        title,
        excerpt,
        body_markdown,
        body_html,
        feature_image,
        status,
        published_at,
        author_id,
        reading_time,
        version,
        created_at,
        updated_at,
    } = row;
    let summary_row = ArticleSummaryRow {
        id,
        slug,
        title,
        excerpt,
        feature_image,
        status,
        published_at,
        updated_at,
        reading_time,
        author_id,
    };
    let summary = summaries(conn, vec![summary_row], now)?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("article {id} vanished while loading"))?;
    Ok(Article {
        summary,
        body_markdown,
        body_html,
        created_at: utc(created_at),
        version,
    })
}
