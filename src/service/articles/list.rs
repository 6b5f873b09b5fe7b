//! Listing articles: who sees which, in what order, from where, and how the total is counted.
//!
//! A page costs two statements: the rows with their authors and tag ids (the tags' names are
//! held in memory: `service::tags::catalog`), and the total. The total comes from the
//! published-article counters when they answer the filter (nothing, one tag, one author or
//! one tag left out), otherwise from a count that stops at `count_limit`.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{ArticleSummary, Parts, SearchHit, summaries};
use crate::auth::Caller;
use crate::cache::CountCache;
use crate::db::articles::{
    self as rows, ArticleFilter, ArticleOrder, ArticleSummaryRow, PlacedMatch, SortKey,
    StatusFilter, Window,
};
use crate::db::counters::{self, Counted};
use crate::db::search::{IndexBatch, Scope, TextMatch};
use crate::db::users::AuthorRow;
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::service::pagination::Cursor;
use crate::service::policy::{self, Action};
use crate::service::search::{Highlighter, SearchQuery, Tier};
use crate::service::tags::TagCatalog;
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
    pub search: Option<SearchQuery>,
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

/// What every list request shares: the totals counted lately, the bound on counting, and the
/// tags held in memory. Cloning shares them.
#[derive(Clone)]
pub struct ArticleLists {
    pub counts: CountCache,
    pub count_limit: i64,
    pub tags: TagCatalog,
}

/// Lists articles. Everyone sees published ones; signed-in callers may ask for drafts and
/// scheduled ones, and see their own, or everyone's from editor up.
/// Unknown tag or author slugs match nothing rather than failing.
pub fn list(
    conn: &mut DbConn,
    lists: &ArticleLists,
    viewer: Option<&Caller>,
    query: &ArticleQuery,
) -> Result<ArticlePage, AppError> {
    let now = db::now();
    let unpublished_of = match (query.status, viewer) {
        (StatusFilter::Published, _) => None,
        (_, None) => return Err(AppError::Unauthenticated),
        (_, Some(caller)) if !caller.has_scope(Action::ReadUnpublished.scope()) => {
            return Err(AppError::MissingScope(
                Action::ReadUnpublished.scope().as_str(),
            ));
        }
        (_, Some(caller)) if policy::allows(caller.role, Action::ReadUnpublished, false) => None,
        (_, Some(caller)) => Some(caller.user_id),
    };
    let mut filter = filter_of(query, now, unpublished_of);
    if let Some(search) = &query.search {
        // Only pages in another order than relevance read the search through `Matches`.
        if query.order != ArticleOrder::Relevance
            && let Some(text) = filter.search.as_mut()
        {
            text.selective =
                db::search::matches_up_to(conn, &search.fts5_words(), SELECTIVE_MATCHES + 1)?
                    <= SELECTIVE_MATCHES;
        }
        // A search within a small tag reads the tag's articles and probes the index for
        // each; otherwise it reads matches from the index and keeps the tagged ones.
        if let Some(tag) = single_tag(&filter) {
            filter.rare_tags = tag_is_small(conn, lists, &tag, now)?;
        }
    }
    let limit = match query.count {
        CountMode::Skip => None,
        CountMode::Exact => Some(None),
        CountMode::Bounded => Some(Some(lists.count_limit)),
    };
    let counted = match limit {
        Some(limit) => {
            let (total, changed, small_tag) = total(conn, &lists.counts, &filter, limit)?;
            filter.rare_tags |= small_tag;
            Some((total, changed))
        }
        None => None,
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
    let (rows, tiers, has_more) = match (&query.search, query.order) {
        (Some(search), ArticleOrder::Relevance) => {
            let total = counted.map(|(total, _)| total);
            let (found, has_more) = relevance_page(conn, lists, &filter, search, query, total)?;
            let (rows, tiers) = found.into_iter().unzip();
            (rows, tiers, has_more)
        }
        _ => {
            // One row past the page tells whether there is a next one.
            let mut rows = rows::list_page(conn, &filter, query.order, &window, query.limit + 1)?;
            let has_more = crate::service::trim_to_page(&mut rows, query.limit);
            (rows, Vec::new(), has_more)
        }
    };
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
        Some((last, _)) if has_more => Some(cursor_after(query.order, last, tiers.last()).encode()),
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
    let tag_rows = if query.parts.tags {
        let listed: Vec<&ArticleSummaryRow> = rows.iter().map(|(row, _)| row).collect();
        lists.tags.tags_of(conn, &listed)?
    } else {
        Vec::new()
    };
    let mut items = summaries(conn, rows, tag_rows, now, query.parts)?;
    if let Some(search) = &query.search {
        let mut highlighter = Highlighter::new(search);
        // A relevance page knows each item's tier from the engine; another order reads it
        // from where the whole query is.
        let mut known_tiers = tiers.into_iter();
        for item in &mut items {
            let title = highlighter.mark(&item.title);
            let excerpt = highlighter.mark(&item.excerpt);
            let tier = known_tiers.next().unwrap_or(if title.has_all_terms {
                Tier::Title
            } else if excerpt.has_all_terms {
                Tier::Excerpt
            } else {
                Tier::Elsewhere
            });
            item.search = Some(SearchHit {
                rank: tier.number(),
                title_marks: title.marks,
                excerpt_marks: excerpt.marks,
            });
        }
    }
    Ok(ArticlePage {
        items,
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
        only_ids: None,
        search: query.search.as_ref().map(|q| text_match(q, None)),
        published_after: query.published_after.map(|t| t.naive_utc()),
        published_before: query.published_before.map(|t| t.naive_utc()),
        unpublished_of,
        ids_above: None,
        rare_tags: false,
    }
}

/// A query (or one relevance tier of it) as the engines read it.
fn text_match(search: &SearchQuery, tier: Option<Tier>) -> TextMatch {
    let (fts5, scope) = match tier {
        None => (search.fts5(), Scope::Anywhere),
        Some(tier) => (
            search.fts5_tier(tier),
            match tier {
                Tier::Title => Scope::Title,
                Tier::Excerpt => Scope::Excerpt,
                Tier::Elsewhere => Scope::Elsewhere,
            },
        ),
    };
    TextMatch {
        fts5,
        tsquery: search.tsquery(),
        tsquery_wanted: search.tsquery_wanted(),
        excludes: search.excludes(),
        scope,
        selective: false,
        batch: None,
        row_by_row: false,
    }
}

fn distinct(slugs: &[String]) -> Vec<String> {
    let mut sorted = slugs.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
}

/// Up to this many matches in the index, a search starts from its matches; above, it reads
/// articles in order and probes the index for each (see `fragments::Matches`).
const SELECTIVE_MATCHES: i64 = 5_000;

/// A page in relevance order: tier by tier, best first (`service::search::Tier`), newest
/// created first within a tier. Returns the rows with their tiers, and whether more follow.
fn relevance_page(
    conn: &mut DbConn,
    lists: &ArticleLists,
    filter: &ArticleFilter,
    search: &SearchQuery,
    query: &ArticleQuery,
    total: Option<Total>,
) -> Result<(Vec<(SummaryRow, Tier)>, bool), AppError> {
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let (skip, first_tier, mut after) = match &query.position {
        Position::Page(page) => (
            usize::try_from((page - 1) * query.limit).unwrap_or(usize::MAX),
            Tier::Title,
            None,
        ),
        Position::After(cursor) => {
            let tier = match cursor.key {
                SortKey::Tier(number) => Tier::from_number(number),
                _ => None,
            };
            let tier = tier.ok_or_else(|| AppError::bad_param("cursor", "is not a search's"))?;
            (0, tier, Some(cursor.id))
        }
    };
    // One row past the page tells whether there is a next one.
    let wanted = skip.saturating_add(limit).saturating_add(1);
    let postgres = matches!(conn, DbConn::Postgres(_));
    // PostgreSQL, a query the total says matches few articles: all of them from the GIN
    // index once, with where each is, ranked here; then the page's rows by id. Reading the
    // newest articles in order (`postgres_tier_rows`) would test thousands for a rare word,
    // three times. Not for a phrase: the index finds every article with its words, each then
    // read for their order (24 ms for a phrase of two common words at ten thousand articles).
    // A filter that narrows may have left few of a common word's matches, while the index
    // yields all of the word's, each then read: there the word's own matches come first, up
    // to the bound, as they did before ranking here.
    if postgres
        && !search.has_phrase()
        && total.is_some_and(|total| total.exact && total.value <= FEW_MATCHES)
    {
        let mut few = filter.clone();
        if narrows(filter) {
            let text = text_match(search, None);
            few.only_ids = Some(db::search::matching_ids(
                conn,
                &text,
                i64::MAX,
                FEW_MATCHES + 1,
            )?);
        }
        let place = |tier| TextMatch {
            excludes: false,
            ..text_match(search, Some(tier))
        };
        let found = match &few.only_ids {
            Some(ids) if i64::try_from(ids.len()).unwrap_or(i64::MAX) > FEW_MATCHES => None,
            _ => Some(rows::placed_matches(
                conn,
                &few,
                &place(Tier::Title),
                &place(Tier::Excerpt),
                FEW_MATCHES + 1,
            )?),
        };
        // More than the total said (a count read before a burst of writes, or a common word
        // the filter narrowed): read in order.
        if let Some(found) =
            found.filter(|found| i64::try_from(found.len()).unwrap_or(i64::MAX) <= FEW_MATCHES)
        {
            let ranked = rank_after(found, first_tier, after);
            let mut page: Vec<(Tier, i64)> =
                ranked.into_iter().skip(skip).take(limit + 1).collect();
            let has_more = page.len() > limit;
            page.truncate(limit);
            return Ok((rows_in_order(conn, filter, &page)?, has_more));
        }
    }
    // The window of recent articles a PostgreSQL tier reads in order ends at the cursor in
    // the cursor's tier, and at the newest article in the tiers after it.
    let newest = if postgres && !filter.rare_tags {
        newest_id(conn, lists)?
    } else {
        None
    };
    let mut found: Vec<(SummaryRow, Tier)> = Vec::new();
    for tier in Tier::BEST_FIRST.into_iter().filter(|t| *t <= first_tier) {
        let rows = tier_rows(
            conn,
            filter,
            search,
            tier,
            after.take(),
            newest,
            wanted - found.len(),
        )?;
        found.extend(rows.into_iter().map(|row| (row, tier)));
        if found.len() >= wanted {
            break;
        }
    }
    let has_more = found.len() >= wanted;
    let page = found.into_iter().skip(skip).take(limit).collect();
    Ok((page, has_more))
}

/// Matches in relevance order (best tier first, newest first within one), from the cursor's
/// tier and id on when there is one.
fn rank_after(found: Vec<PlacedMatch>, tier: Tier, after: Option<i64>) -> Vec<(Tier, i64)> {
    let mut ranked: Vec<(Tier, i64)> = found
        .into_iter()
        .map(|m| {
            let place = if m.in_title {
                Tier::Title
            } else if m.in_excerpt {
                Tier::Excerpt
            } else {
                Tier::Elsewhere
            };
            (place, m.id)
        })
        .filter(|&(place, id)| place < tier || (place == tier && after.is_none_or(|a| id < a)))
        .collect();
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    ranked
}

/// The rows of these articles, in this order (one statement, by id).
fn rows_in_order(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    ranked: &[(Tier, i64)],
) -> Result<Vec<(SummaryRow, Tier)>, AppError> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let mut filter = filter.clone();
    filter.search = None;
    filter.only_ids = Some(ranked.iter().map(|&(_, id)| id).collect());
    let limit = i64::try_from(ranked.len()).unwrap_or(i64::MAX);
    let mut rows: std::collections::HashMap<i64, SummaryRow> = rows::list_page(
        conn,
        &filter,
        ArticleOrder::Relevance,
        &Window::Offset(0),
        limit,
    )?
    .into_iter()
    .map(|row| (row.0.id, row))
    .collect();
    // An article deleted, unpublished or retagged since it was matched is left out, as a
    // moment later it would not have matched.
    Ok(ranked
        .iter()
        .filter_map(|&(tier, id)| rows.remove(&id).map(|row| (row, tier)))
        .collect())
}

/// The newest article's id, as read within the count cache's lifetime: it only sizes the
/// window of recent articles a search reads in order (any window is correct), so one read
/// serves every search until the next write. Kept as a count, 0 when there are none.
fn newest_id(conn: &mut DbConn, lists: &ArticleLists) -> Result<Option<i64>, AppError> {
    let (newest, _) = cached_as(&lists.counts, "newest id".to_owned(), || {
        Ok((rows::newest_id(conn)?.unwrap_or(0), None))
    })?;
    Ok((newest > 0).then_some(newest))
}

/// Whether a tag is small (`is_small_tag`), as counted within the count cache's lifetime:
/// it only picks how a search within the tag reads its matches (both ways find the same), so
/// one count serves every search in the tag until the next write. Counted each time, it was
/// a twentieth of a search page's work on SQLite.
fn tag_is_small(
    conn: &mut DbConn,
    lists: &ArticleLists,
    slug: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let (small, _) = cached_as(&lists.counts, format!("small tag|{slug}"), || {
        let tagged = counters::visible(conn, Counted::TagSlug(slug), now)?;
        Ok((
            i64::from(is_small_tag(tagged.count, tagged.all_counted)),
            None,
        ))
    })?;
    Ok(small == 1)
}

type SummaryRow = (ArticleSummaryRow, AuthorRow);

/// Up to `wanted` rows of one relevance tier passing the filter, newest first, below `after`.
fn tier_rows(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    search: &SearchQuery,
    tier: Tier,
    after: Option<i64>,
    newest: Option<i64>,
    wanted: usize,
) -> Result<Vec<SummaryRow>, AppError> {
    let limit = i64::try_from(wanted).unwrap_or(i64::MAX);
    let window = match after {
        Some(id) => Window::After {
            key: SortKey::Tier(tier.number()),
            id,
        },
        None => Window::Offset(0),
    };
    let mut filter = filter.clone();
    if matches!(conn, DbConn::Postgres(_)) && !filter.rare_tags {
        return postgres_tier_rows(conn, filter, search, tier, after, newest, wanted);
    }
    // A tier's query is planned over the index itself when the articles a tag allows are
    // few: the tag's rows, each probed in the index.
    if filter.rare_tags {
        filter.search = Some(text_match(search, Some(tier)));
        return Ok(rows::list_page(
            conn,
            &filter,
            ArticleOrder::Relevance,
            &window,
            limit,
        )?);
    }
    // SQLite otherwise reads the tier's matches from the index in batches, newest first, and
    // keeps those the filter allows: it stops at `wanted` however many articles match, where
    // probing articles in order for a tier few of them are in would read them all.
    let fts5 = search.fts5_tier(tier);
    // Each match read costs a row read: start with what the page needs (most matches of
    // a plain search are visible), or four times that when the filter narrows (a word with
    // one of 40 tags needed a second round after 21), then read more at a time. Powers of
    // two, so the first batch's statement comes in few shapes (`IndexBatch`).
    let first_batch = if narrows(&filter) {
        limit.saturating_mul(4)
    } else {
        limit
    };
    let first_batch = u64::try_from(first_batch.clamp(16, MAX_BATCH))
        .ok()
        .and_then(u64::checked_next_power_of_two)
        .and_then(|batch| i64::try_from(batch).ok())
        .unwrap_or(MAX_BATCH);
    // One snapshot for every statement below: the first batch is read twice when it does not
    // fill the page, and a write between the two would repeat or skip a match.
    db::read_snapshot(conn, |conn| {
        // The first batch's rows come in one statement with the batch itself: for the tier
        // that fills the page, the page's only statement.
        filter.search = Some(TextMatch {
            batch: Some(IndexBatch {
                below: after.unwrap_or(i64::MAX),
                limit: first_batch,
            }),
            ..text_match(search, Some(tier))
        });
        let mut found = rows::list_page(
            conn,
            &filter,
            ArticleOrder::Relevance,
            &Window::Offset(0),
            limit,
        )?;
        filter.search = None;
        // Short of the page: the batch held all the tier's matches, or the filter left some
        // out. Which, and where the next batch starts, the batch's ids tell; its rows are
        // already read.
        let (mut before, mut batch, mut first) = (after, first_batch, true);
        while found.len() < wanted {
            let ids = db::search::matching_ids_desc(conn, &fts5, before, batch)?;
            let Some(&oldest) = ids.last() else { break };
            let last_batch = usize::try_from(batch).is_ok_and(|batch| ids.len() < batch);
            if !first {
                let still_wanted = i64::try_from(wanted - found.len()).unwrap_or(i64::MAX);
                found.extend(newest_among(conn, &mut filter, ids, still_wanted)?);
            }
            if last_batch {
                break;
            }
            (before, batch, first) = (Some(oldest), (batch * 4).min(MAX_BATCH), false);
        }
        Ok(found)
    })
}

/// Whether a filter may leave out most articles: a tag, an author, dates, or drafts or
/// scheduled articles alone.
fn narrows(filter: &ArticleFilter) -> bool {
    !(filter.any_tags.is_empty()
        && filter.all_tags.is_empty()
        && filter.authors.is_empty()
        && filter.published_after.is_none()
        && filter.published_before.is_none())
        || matches!(filter.status, StatusFilter::Draft | StatusFilter::Scheduled)
}

/// Up to this many matches (PostgreSQL), a relevance page reads them by id.
const FEW_MATCHES: i64 = 2048;

/// How many of the newest ids a PostgreSQL tier reads in order before it asks the index
/// for older matches: a word in more than about 1% of articles fills a page within them.
const RECENT_WINDOW: i64 = 2048;
/// The most older matches read from the index for one page; more means the word is common
/// after all (a filter kept the newest out), and the page reads articles in order instead.
const MAX_INDEX_IDS: i64 = 20_000;

/// A tier on PostgreSQL, in two bounded steps, so no plan hangs on the planner's guess of how
/// common a word is. It guesses a prefix it has no statistics for (the word being typed) at
/// about 0.5% of the rows and then prefers walking the primary key, testing each row, over
/// the GIN index: for a word in twelve articles of a million, that walk read the whole table
/// (7 s). So: first the articles among the `RECENT_WINDOW` ids below the cursor (in the
/// cursor's tier) or the newest article (in the tiers after it), in order
/// (a common word fills the page here, stopping early); then, only if the page is not full,
/// the older matches from the index (few, since the word was rare among the newest), newest
/// first.
fn postgres_tier_rows(
    conn: &mut DbConn,
    mut filter: ArticleFilter,
    search: &SearchQuery,
    tier: Tier,
    after: Option<i64>,
    newest: Option<i64>,
    wanted: usize,
) -> Result<Vec<SummaryRow>, AppError> {
    let limit = i64::try_from(wanted).unwrap_or(i64::MAX);
    let below = |id: Option<i64>| match id {
        Some(id) => Window::After {
            key: SortKey::Tier(tier.number()),
            id,
        },
        None => Window::Offset(0),
    };
    let text = text_match(search, Some(tier));
    filter.search = Some(TextMatch {
        row_by_row: true,
        ..text.clone()
    });
    let window_floor = window_floor(after.or(newest.map(|id| id.saturating_add(1))));
    filter.ids_above = window_floor.map(|floor| floor - 1);
    let mut found = rows::list_page(conn, &filter, ArticleOrder::Relevance, &below(after), limit)?;
    let Some(floor) = window_floor else {
        // The window reaches the first article: this was all of them.
        return Ok(found);
    };
    if found.len() >= wanted {
        return Ok(found);
    }
    filter.ids_above = None;
    let still_wanted = i64::try_from(wanted - found.len()).unwrap_or(i64::MAX);
    let older = db::search::matching_ids(conn, &text, floor, MAX_INDEX_IDS + 1)?;
    if i64::try_from(older.len()).unwrap_or(i64::MAX) > MAX_INDEX_IDS {
        found.extend(rows::list_page(
            conn,
            &filter,
            ArticleOrder::Relevance,
            &below(Some(floor)),
            still_wanted,
        )?);
    } else if !older.is_empty() {
        found.extend(newest_among(conn, &mut filter, older, still_wanted)?);
    }
    Ok(found)
}

/// Up to `limit` rows of these articles that pass the filter, newest first.
fn newest_among(
    conn: &mut DbConn,
    filter: &mut ArticleFilter,
    ids: Vec<i64>,
    limit: i64,
) -> Result<Vec<SummaryRow>, AppError> {
    filter.only_ids = Some(ids);
    Ok(rows::list_page(
        conn,
        filter,
        ArticleOrder::Relevance,
        &Window::Offset(0),
        limit,
    )?)
}

/// The lowest id of the window of `RECENT_WINDOW` ids below `top` (the cursor, or past the
/// newest article), or `None` when that window reaches the first article.
///
/// Ids are handed out in order, so the window holds the newest articles below `top`:
/// `RECENT_WINDOW` of them, or fewer where some were deleted. Any window is correct (what it
/// misses is read from the index), only its size matters: so `top` may come from a newest id
/// read a while ago, and articles added since widen the window a little.
fn window_floor(top: Option<i64>) -> Option<i64> {
    top.map(|top| top.saturating_sub(RECENT_WINDOW))
        .filter(|floor| *floor > 1)
}

/// Whether a tag of `tagged` articles is small enough that a page starts from its rows
/// (reading and sorting all T of them) rather than reading articles in order and probing each
/// (about page × N / T probes, each about half a row's cost). The two cost alike near
/// T = √(10 N): 320 articles of 10,000, 3,200 of a million.
fn is_small_tag(tagged: i64, all: i64) -> bool {
    tagged.saturating_mul(tagged) <= all.saturating_mul(10)
}

/// The total from the counters when they answer the filter exactly (published articles,
/// filtered by nothing, by one tag, by one author or by one tag left out), else counted, up
/// to `limit` if there is one; with the content clock, and whether the filter is one small
/// tag alone (`is_small_tag`).
fn total(
    conn: &mut DbConn,
    counts: &CountCache,
    filter: &ArticleFilter,
    limit: Option<i64>,
) -> Result<(Total, Option<NaiveDateTime>, bool), AppError> {
    let plain = filter.status == StatusFilter::Published
        && filter.unpublished_of.is_none()
        && filter.search.is_none()
        && filter.published_after.is_none()
        && filter.published_before.is_none();
    let no_tags = filter.any_tags.is_empty() && filter.all_tags.is_empty();
    let one_tag = single_tag(filter);
    let excluded = distinct(&filter.exclude_tags);
    let counted = match (
        plain,
        no_tags,
        &one_tag,
        excluded.as_slice(),
        filter.authors.as_slice(),
    ) {
        (true, true, _, [], []) => Some(Counted::All),
        (true, _, Some(tag), [], []) => Some(Counted::TagSlug(tag)),
        (true, true, _, [], [author]) => Some(Counted::AuthorSlug(author)),
        (true, true, _, [tag], []) => Some(Counted::AllButTagSlug(tag)),
        _ => None,
    };
    if let Some(counted) = counted {
        let visible = counters::visible(conn, counted, filter.now)?;
        let small_tag = matches!(counted, Counted::TagSlug(_))
            && is_small_tag(visible.count, visible.all_counted);
        let total = Total {
            value: visible.count,
            exact: true,
        };
        return Ok((total, visible.changed, small_tag));
    }
    let kind = limit.map_or_else(|| "exact".to_owned(), |limit| format!("up to {limit}"));
    let (found, changed) = cached(counts, filter, &kind, || count_matches(conn, filter, limit))?;
    let total = Total {
        value: limit.map_or(found, |limit| found.min(limit)),
        exact: limit.is_none_or(|limit| found <= limit),
    };
    Ok((total, changed, false))
}

/// The tag of a filter by exactly one tag.
fn single_tag(filter: &ArticleFilter) -> Option<String> {
    match (
        distinct(&filter.any_tags).as_slice(),
        filter.all_tags.as_slice(),
    ) {
        ([slug], []) | ([], [slug]) => Some(slug.clone()),
        _ => None,
    }
}

/// `rows::count`, but a search on SQLite counts from the index (unless a small tag's articles
/// are fewer than its matches): matches read in batches, newest first, each batch's
/// articles counted through the filter, until past `limit`. Probing articles in order
/// instead costs 35 µs each, 350 ms to reach 10,000 at a million articles.
fn count_matches(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    limit: Option<i64>,
) -> diesel::QueryResult<(i64, Option<NaiveDateTime>)> {
    let from_index = matches!(conn, DbConn::Sqlite(_)) && !filter.rare_tags;
    let Some(text) = filter.search.as_ref().filter(|_| from_index) else {
        return rows::count(conn, filter, limit);
    };
    let mut batch_filter = filter.clone();
    batch_filter.search = None;
    let (mut found, mut changed) = (0, None);
    let mut before = None;
    loop {
        let ids = db::search::matching_ids_desc(conn, &text.fts5, before, COUNT_BATCH)?;
        let Some(&oldest) = ids.last() else { break };
        let last_batch = (ids.len() as i64) < COUNT_BATCH;
        batch_filter.only_ids = Some(ids);
        let (in_batch, clock) = rows::count(conn, &batch_filter, None)?;
        found += in_batch;
        changed = clock;
        if last_batch || limit.is_some_and(|limit| found > limit) {
            break;
        }
        before = Some(oldest);
    }
    if found == 0 {
        // Nothing matched: the content clock alone.
        batch_filter.only_ids = Some(Vec::new());
        changed = rows::count(conn, &batch_filter, None)?.1;
    }
    Ok((found, changed))
}

/// Matches read from the index at a time when counting, and at most when paging.
const COUNT_BATCH: i64 = 4096;
const MAX_BATCH: i64 = COUNT_BATCH;

/// A count (and the content clock read with it), reused across the pages of its filter for
/// the count cache's TTL.
fn cached(
    counts: &CountCache,
    filter: &ArticleFilter,
    kind: &str,
    count: impl FnOnce() -> diesel::QueryResult<(i64, Option<NaiveDateTime>)>,
) -> Result<(i64, Option<NaiveDateTime>), AppError> {
    cached_as(counts, format!("{kind}|{}", filter.cache_key()), count)
}

/// A value read with the counts, under its own key.
fn cached_as(
    counts: &CountCache,
    key: String,
    read: impl FnOnce() -> diesel::QueryResult<(i64, Option<NaiveDateTime>)>,
) -> Result<(i64, Option<NaiveDateTime>), AppError> {
    // Others reading the same key wait this long for the first one's answer.
    let wait = std::time::Duration::from_secs(5);
    counts.get_or_compute_blocking(key, wait, || read().map_err(AppError::from))
}

/// Where the next page starts; `tier` is the last row's in a relevance order.
fn cursor_after(order: ArticleOrder, last: &ArticleSummaryRow, tier: Option<&Tier>) -> Cursor {
    let published = last.published_at.unwrap_or(rows::UNPUBLISHED_SORTS_AS);
    let key = match (order, tier) {
        (ArticleOrder::Relevance, Some(tier)) => SortKey::Tier(tier.number()),
        (ArticleOrder::PublishedDesc | ArticleOrder::PublishedAsc | ArticleOrder::Relevance, _) => {
            SortKey::Time(published)
        }
        (ArticleOrder::UpdatedDesc, _) => SortKey::Time(last.updated_at),
        (ArticleOrder::TitleAsc, _) => SortKey::Title(last.title.clone()),
    };
    Cursor {
        order,
        key,
        id: last.id,
    }
}
