//! The filtered, ordered pages behind `GET /articles` and their counts.
//!
//! Every statement here is built from diesel's DSL (no SQL literals), so the drivers keep it
//! prepared and reuse the plan whenever the same shape comes again: slugs are matched inside
//! the statements (no lookups first) and a single slug binds one value.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use super::ArticleSummaryRow;
use crate::db::counters::{self, Scope};
use crate::db::schema::{article_counts, article_tags, articles, content_clock, tags, users};
use crate::db::search::{TextMatch, through_text_index};
use crate::db::users::AuthorRow;
use crate::db::{
    DbConn, MultiBackend, count_of, in_subquery, is_true, limit_written, matches, or_zero,
    row_after,
};

diesel::define_sql_function!(fn coalesce(x: Nullable<Timestamp>, y: Timestamp) -> Timestamp);

// Another article's tags, probed from a tag's timeline row (`timeline_ids`).
diesel::alias!(article_tags as also_tagged: AlsoTagged);

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
    /// A full-text query (`db::search`).
    pub search: Option<TextMatch>,
    /// Only these articles (full-text matches read from the index, or a page's).
    pub only_ids: Option<Vec<i64>>,
    /// Only articles with a greater id (a window of the newest, for a search's tier).
    pub ids_above: Option<i64>,
    pub published_after: Option<NaiveDateTime>,
    pub published_before: Option<NaiveDateTime>,
    /// Limits drafts and scheduled articles to this author's own (callers below editor).
    pub unpublished_of: Option<i64>,
    /// The tag filter matches few articles (the counters said so): a page then starts from
    /// the tag's rows instead of probing articles in order (see `TagForm`).
    pub rare_tags: bool,
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
            search,
            only_ids,
            ids_above,
            published_after,
            published_before,
            unpublished_of,
            rare_tags: _,
        } = self;
        let search = search.as_ref().map(|s| &s.fts5);
        format!(
            "{status:?}|{any_tags:?}|{all_tags:?}|{exclude_tags:?}|{authors:?}|{search:?}|{only_ids:?}|{ids_above:?}|{published_after:?}|{published_before:?}|{unpublished_of:?}"
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
    /// Best search matches first: the service reads each relevance tier (`service::search`)
    /// in this order, newest created first (`id` descending), which is the order of the
    /// full-text index too.
    Relevance,
}

/// The sort key of the last row of a page: where a keyset page continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Time(NaiveDateTime),
    Title(String),
    /// A search match's relevance tier (`service::search::Tier`); `id` orders within it.
    Tier(u8),
}

/// Which slice of the ordered list to read.
#[derive(Debug, Clone)]
pub enum Window {
    Offset(i64),
    After { key: SortKey, id: i64 },
}

type Predicate = Box<dyn BoxableExpression<articles::table, MultiBackend, SqlType = Bool>>;
type Query = articles::BoxedQuery<'static, MultiBackend>;

/// How a tag condition is written.
///
/// - `Probe`: a page (or a count up to a limit) reads articles in index order and stops at
///   `limit` matches, probing each one's tags (one primary-key lookup per article read). It
///   is a correlated scalar subquery rather than EXISTS, which PostgreSQL would turn into a
///   join of every tagged article, sorted (287 ms for a page of two common tags at a million
///   articles, against 4 ms probing).
/// - `In`: starts from the tags' rows in `article_tags`. A full count must visit every match
///   anyway, and a page of a rare tag would probe most of the index before finding `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagForm {
    Probe,
    In,
}

/// The id of the tag with this slug, as a scalar subquery: both planners treat it as one known
/// value (an index probe), where an IN list of one makes PostgreSQL join.
#[diesel::dsl::auto_type(no_type_alias)]
fn tag_id_of(slug: String) -> _ {
    tags::table
        .filter(tags::slug.eq(slug))
        .select(tags::id)
        .single_value()
        .assume_not_null()
}

/// Articles carrying one of the tags with these slugs (or, with `carrying` false, none of
/// them). One slug is a scalar subquery, which both planners treat as one known value (an
/// index probe on (article_id, tag_id)); several are an IN list.
fn tagged_with_any(slugs: &[String], form: TagForm, carrying: bool) -> Predicate {
    let one = |slug: &String| tag_id_of(slug.clone());
    let many = || {
        tags::table
            .filter(tags::slug.eq_any(slugs.to_vec()))
            .select(tags::id)
    };
    let of_this_article = article_tags::table
        .filter(article_tags::article_id.eq(articles::id))
        .select(article_tags::tag_id)
        .limit(1);
    match (slugs, form, carrying) {
        ([slug], TagForm::Probe, true) => Box::new(
            of_this_article
                .filter(article_tags::tag_id.eq(one(slug)))
                .single_value()
                .is_not_null(),
        ),
        ([slug], TagForm::Probe, false) => Box::new(
            of_this_article
                .filter(article_tags::tag_id.eq(one(slug)))
                .single_value()
                .is_null(),
        ),
        (_, TagForm::Probe, true) => Box::new(
            of_this_article
                .filter(article_tags::tag_id.eq_any(many()))
                .single_value()
                .is_not_null(),
        ),
        (_, TagForm::Probe, false) => Box::new(
            of_this_article
                .filter(article_tags::tag_id.eq_any(many()))
                .single_value()
                .is_null(),
        ),
        ([slug], TagForm::In, _) => Box::new(
            articles::id.eq_any(
                article_tags::table
                    .filter(article_tags::tag_id.eq(one(slug)))
                    .select(article_tags::article_id),
            ),
        ),
        (_, TagForm::In, _) => Box::new(
            articles::id.eq_any(
                article_tags::table
                    .filter(article_tags::tag_id.eq_any(many()))
                    .select(article_tags::article_id),
            ),
        ),
    }
}

/// The WHERE clause of a filter, shared by the page and the count so they always agree.
/// A bound on `published_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bound {
    at: NaiveDateTime,
    inclusive: bool,
}

impl Bound {
    fn before(self, other: Self) -> bool {
        self.at < other.at || (self.at == other.at && !self.inclusive && other.inclusive)
    }
}

/// The bounds on `published_at`, merged so that each side has at most one. SQLite 3.53
/// meets two upper bounds on the column (`<= now` and a cursor's `< t`) by skip-scanning the
/// author index and sorting everything in range: 367 ms for a cursor page at a million
/// articles, against 0.3 ms with one bound. `cursor` is a page's position in a
/// publication-time order (its time, and whether the order is newest first), which bounds
/// that side itself.
fn published_bounds(
    filter: &ArticleFilter,
    cursor: Option<(NaiveDateTime, bool)>,
) -> (Option<Bound>, Option<Bound>) {
    let now = filter.now;
    let (mut lower, mut upper) = match filter.status {
        StatusFilter::Published => (
            None,
            Some(Bound {
                at: now,
                inclusive: true,
            }),
        ),
        StatusFilter::Scheduled => (
            Some(Bound {
                at: now,
                inclusive: false,
            }),
            None,
        ),
        StatusFilter::Draft | StatusFilter::All => (None, None),
    };
    if let Some(after) = filter.published_after {
        let after = Bound {
            at: after,
            inclusive: false,
        };
        lower = Some(match lower {
            Some(current) if after.before(current) => current,
            _ => after,
        });
    }
    if let Some(before) = filter.published_before {
        let before = Bound {
            at: before,
            inclusive: false,
        };
        upper = Some(match upper {
            Some(current) if current.before(before) => current,
            _ => before,
        });
    }
    match cursor {
        Some((at, true)) if upper.is_none_or(|u| at <= u.at) => upper = None,
        Some((at, false)) if lower.is_none_or(|l| at >= l.at) => lower = None,
        _ => {}
    }
    (lower, upper)
}

fn filtered(filter: &ArticleFilter, form: TagForm, cursor: Option<(NaiveDateTime, bool)>) -> Query {
    filtered_with(filter, form, cursor, Visibility::Indexed)
}

/// Whether a statement may find rows through their publication state and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    /// Written plainly, so the (status, published_at) and author indexes serve them.
    Indexed,
    /// Written so no index serves them (`IsTrue`): each row found otherwise is then checked
    /// on its own (see `count_from_text_index`). An author filter stays indexed: an author's
    /// articles are few enough to test one by one.
    Unindexed,
}

fn filtered_with(
    filter: &ArticleFilter,
    form: TagForm,
    cursor: Option<(NaiveDateTime, bool)>,
    visibility: Visibility,
) -> Query {
    let now = filter.now;
    let mut query = articles::table.into_boxed();
    let visible = |condition: Predicate| -> Predicate {
        match visibility {
            Visibility::Indexed => condition,
            Visibility::Unindexed => Box::new(is_true(condition)),
        }
    };
    // Typed as NOT NULL so each condition boxes as a `Bool` predicate; the SQL is the plain
    // column's, and a NULL fails these comparisons all the same.
    let published = articles::published_at.assume_not_null();
    let mine = filter.unpublished_of;
    let (from, until) = published_bounds(filter, cursor);
    match from {
        Some(Bound {
            at,
            inclusive: true,
        }) => query = query.filter(visible(Box::new(published.ge(at)))),
        Some(Bound {
            at,
            inclusive: false,
        }) => query = query.filter(visible(Box::new(published.gt(at)))),
        None => {}
    }
    match until {
        Some(Bound {
            at,
            inclusive: true,
        }) => query = query.filter(visible(Box::new(published.le(at)))),
        Some(Bound {
            at,
            inclusive: false,
        }) => query = query.filter(visible(Box::new(published.lt(at)))),
        None => {}
    }
    query = match (filter.status, mine) {
        (StatusFilter::Published | StatusFilter::Scheduled, _) => {
            query.filter(visible(Box::new(articles::status.eq("published"))))
        }
        (StatusFilter::Draft, _) => query.filter(visible(Box::new(articles::status.eq("draft")))),
        (StatusFilter::All, Some(me)) => query.filter(visible(Box::new(
            articles::status
                .eq("published")
                .and(published.le(now))
                .or(articles::author_id.eq(me)),
        ))),
        (StatusFilter::All, None) => query,
    };
    if let (StatusFilter::Scheduled | StatusFilter::Draft, Some(me)) = (filter.status, mine) {
        query = query.filter(visible(Box::new(articles::author_id.eq(me))));
    }
    if !filter.any_tags.is_empty() {
        query = query.filter(tagged_with_any(&filter.any_tags, form, true));
    }
    for slug in &filter.all_tags {
        query = query.filter(tagged_with_any(std::slice::from_ref(slug), form, true));
    }
    if !filter.exclude_tags.is_empty() {
        query = query.filter(tagged_with_any(&filter.exclude_tags, TagForm::Probe, false));
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
    if let Some(text) = &filter.search {
        query = query.filter(matches(text));
    }
    if let Some(ids) = &filter.only_ids {
        query = query.filter(crate::db::id_in(articles::id, ids));
    }
    if let Some(lowest) = filter.ids_above {
        query = query.filter(articles::id.gt(lowest));
    }
    query
}

/// A match of a search, with where else its wanted terms are: read to rank it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct PlacedMatch {
    pub id: i64,
    pub in_title: bool,
    pub in_excerpt: bool,
}

/// Up to `limit` articles the filter allows that match its search (PostgreSQL), each with
/// whether `in_title` and `in_excerpt` match it too: one statement, from the GIN index or the
/// filter's `only_ids`, for a relevance page of a query with few matches (the caller ranks
/// and slices them; reading each tier apart took a statement per tier).
pub fn placed_matches(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    in_title: &TextMatch,
    in_excerpt: &TextMatch,
    limit: i64,
) -> QueryResult<Vec<PlacedMatch>> {
    let found = filtered_with(filter, TagForm::Probe, None, Visibility::Unindexed)
        .select((articles::id, matches(in_title), matches(in_excerpt)))
        .limit(limit);
    through_text_index(conn, |conn| found.load(conn))
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
        (ArticleOrder::Relevance, _) => query.order(articles::id.desc()),
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
        (ArticleOrder::Relevance, _, _) => Box::new(articles::id.lt(id)),
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
        (_, SortKey::Title(_) | SortKey::Tier(_), _) => Box::new(false.into_sql::<Bool>()),
    }
}

/// How a page finds its tagged articles: probing in index order, unless the caller knows the
/// tag is rare (`ArticleFilter::rare_tags`).
fn page_form(filter: &ArticleFilter) -> TagForm {
    if filter.rare_tags {
        TagForm::In
    } else {
        TagForm::Probe
    }
}

/// Where a cursor in a publication-time order bounds `published_at` (see `published_bounds`).
fn cursor_bound(
    filter: &ArticleFilter,
    order: ArticleOrder,
    key: &SortKey,
) -> Option<(NaiveDateTime, bool)> {
    match (order, key) {
        _ if with_drafts(filter) => None,
        (ArticleOrder::PublishedDesc, SortKey::Time(at)) => Some((*at, true)),
        (ArticleOrder::PublishedAsc, SortKey::Time(at)) => Some((*at, false)),
        _ => None,
    }
}

type TimelinePredicate =
    Box<dyn BoxableExpression<article_tags::table, MultiBackend, SqlType = Bool>>;
type Timeline = article_tags::BoxedQuery<'static, MultiBackend, BigInt>;
type TagId = Box<dyn BoxableExpression<article_tags::table, MultiBackend, SqlType = BigInt>>;

/// The tag whose timeline (`article_tags` by `(tag_id, published_at, article_id)`, migration
/// `tag_timeline`) a list reads, when it lists published articles filtered by tags and dates
/// alone: its one tag, or of all-of tags the one with the fewest published articles by the
/// counters (so the fewest rows are read; the others are probed per row). A page then reads
/// the tag's own articles, newest first, and stops at its limit, whether they are new or all
/// old: read in the articles' own date order instead, an old tag's page probed every newer
/// article first. Other filters (any of several tags, an author, a search) keep that order.
fn timeline_tag(filter: &ArticleFilter) -> Option<TagId> {
    let plain = filter.status == StatusFilter::Published
        && filter.authors.is_empty()
        && filter.search.is_none()
        && filter.only_ids.is_none()
        && filter.ids_above.is_none();
    if !plain {
        return None;
    }
    let mut any = filter.any_tags.clone();
    any.sort();
    any.dedup();
    match (any.as_slice(), filter.all_tags.as_slice()) {
        ([slug], []) | ([], [slug]) => Some(Box::new(tag_id_of(slug.clone()))),
        ([], slugs @ [_, _, ..]) => {
            // A tag no counter row names has no published article counted yet: it sorts
            // first, as a count of 0.
            let rarest = tags::table
                .left_join(
                    article_counts::table.on(article_counts::scope
                        .eq("tag")
                        .and(article_counts::ref_id.eq(tags::id))),
                )
                .filter(tags::slug.eq_any(slugs.to_vec()))
                .order((
                    or_zero(article_counts::published.nullable(), 0_i64),
                    tags::id,
                ))
                .select(tags::id)
                .limit(1)
                .single_value()
                .assume_not_null();
            Some(Box::new(rarest))
        }
        _ => None,
    }
}

/// Whether the article of a timeline row carries one of these tags (or, with `carrying`
/// false, none of them): a probe of its (article_id, tag_id) key.
fn timeline_row_tagged(slugs: &[String], carrying: bool) -> TimelinePredicate {
    let article = also_tagged.field(article_tags::article_id);
    let tag = also_tagged.field(article_tags::tag_id);
    let of_this_article = also_tagged
        .filter(article.eq(article_tags::article_id))
        .select(tag)
        .limit(1);
    match slugs {
        [slug] => {
            let probe = of_this_article
                .filter(tag.eq(tag_id_of(slug.clone())))
                .single_value();
            if carrying {
                Box::new(probe.is_not_null())
            } else {
                Box::new(probe.is_null())
            }
        }
        _ => {
            let probe = of_this_article
                .filter(
                    tag.eq_any(
                        tags::table
                            .filter(tags::slug.eq_any(slugs.to_vec()))
                            .select(tags::id),
                    ),
                )
                .single_value();
            if carrying {
                Box::new(probe.is_not_null())
            } else {
                Box::new(probe.is_null())
            }
        }
    }
}

/// The ids of a timeline's articles passing the filter (see `timeline_tag`), in `order`
/// (which must be by publication time) from `cursor` on, or unordered for a count.
fn timeline_ids(
    filter: &ArticleFilter,
    tag: TagId,
    order: Option<ArticleOrder>,
    cursor: Option<(&SortKey, i64)>,
) -> Timeline {
    let mut ids = article_tags::table
        .filter(article_tags::tag_id.eq(tag))
        .select(article_tags::article_id)
        .into_boxed();
    let descending = order == Some(ArticleOrder::PublishedDesc);
    let cursor_time = match cursor {
        Some((SortKey::Time(at), _)) => Some((*at, descending)),
        _ => None,
    };
    // The published articles are the rows with a time: `status` lives in the articles.
    let (from, until) = published_bounds(filter, cursor_time);
    ids = match from {
        Some(Bound {
            at,
            inclusive: true,
        }) => ids.filter(article_tags::published_at.ge(at)),
        Some(Bound {
            at,
            inclusive: false,
        }) => ids.filter(article_tags::published_at.gt(at)),
        None => ids.filter(article_tags::published_at.is_not_null()),
    };
    ids = match until {
        Some(Bound {
            at,
            inclusive: true,
        }) => ids.filter(article_tags::published_at.le(at)),
        Some(Bound {
            at,
            inclusive: false,
        }) => ids.filter(article_tags::published_at.lt(at)),
        None => ids,
    };
    // One all-of tag is the timeline itself; of several, each is probed, the timeline's own
    // too (which one it is, the statement decides), a lookup in pages the others just read.
    if let [_, _, ..] = filter.all_tags.as_slice() {
        for slug in &filter.all_tags {
            ids = ids.filter(timeline_row_tagged(std::slice::from_ref(slug), true));
        }
    }
    if !filter.exclude_tags.is_empty() {
        ids = ids.filter(timeline_row_tagged(&filter.exclude_tags, false));
    }
    match cursor {
        Some((SortKey::Time(at), id)) => {
            ids = ids.filter(row_after::<_, _, Timestamp, _>(
                article_tags::published_at,
                article_tags::article_id,
                *at,
                id,
                descending,
            ));
        }
        // A cursor is checked against its order when decoded; a mismatch reads nothing.
        Some(_) => ids = ids.filter(false.into_sql::<Bool>()),
        None => {}
    }
    match order {
        Some(ArticleOrder::PublishedDesc) => ids.order((
            article_tags::published_at.desc(),
            article_tags::article_id.desc(),
        )),
        Some(_) => ids.order((
            article_tags::published_at.asc(),
            article_tags::article_id.asc(),
        )),
        None => ids,
    }
}

/// A page read from a tag's timeline, when the filter and order allow (`timeline_tag`): the
/// page's ids from the index alone, then only their rows.
fn timeline_page(
    filter: &ArticleFilter,
    order: ArticleOrder,
    window: &Window,
    limit: i64,
) -> Option<Query> {
    if !matches!(
        order,
        ArticleOrder::PublishedDesc | ArticleOrder::PublishedAsc
    ) {
        return None;
    }
    let tag = timeline_tag(filter)?;
    let ids = match window {
        Window::Offset(offset) => {
            limit_written(timeline_ids(filter, tag, Some(order), None), limit, *offset)
        }
        Window::After { key, id } => limit_written(
            timeline_ids(filter, tag, Some(order), Some((key, *id))),
            limit,
            0,
        ),
    };
    Some(ordered(
        articles::table
            .filter(in_subquery(articles::id, ids))
            .into_boxed(),
        filter,
        order,
    ))
}

/// One ordered page of summaries, each with its author, in one statement.
pub fn list_page(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    order: ArticleOrder,
    window: &Window,
    limit: i64,
) -> QueryResult<Vec<(ArticleSummaryRow, AuthorRow)>> {
    // The page's own LIMIT is written into the statement on SQLite (`LimitWritten`) where
    // the page reads rows in order; a page read by ids (timeline, deep page) limits its
    // subquery. Rows read past `limit` (`written_limit`) are dropped below.
    let read = written_limit(limit);
    let (page, limit_of_rows) = match window {
        _ if let Some(page) = timeline_page(filter, order, window, read) => (page, None),
        Window::After { key, id } => (
            ordered(
                filtered(filter, page_form(filter), cursor_bound(filter, order, key))
                    .filter(keyset(filter, order, key, *id)),
                filter,
                order,
            ),
            Some(read),
        ),
        Window::Offset(0) => (
            ordered(filtered(filter, page_form(filter), None), filter, order),
            Some(read),
        ),
        // A deep numbered page skips rows from the index alone (a "deferred join"), then
        // reads only the rows it shows; skipping whole rows would read every one of them.
        Window::Offset(offset) => {
            let ids = ordered(filtered(filter, page_form(filter), None), filter, order)
                .select(articles::id);
            let ids = limit_written(ids, read, *offset).bound_on_postgres();
            let page = ordered(
                articles::table
                    .filter(in_subquery(articles::id, ids))
                    .into_boxed(),
                filter,
                order,
            );
            (page, None)
        }
    };
    // `author_id + 0` keeps SQLite from starting the join at the (few) users and reaching
    // their articles through the author index: then it must sort every match, and SQLite 3.53
    // chose that for a tag page, 400 ms instead of 2 at a million articles. Read in index
    // order, the page stops at `limit`.
    let statement = page
        .inner_join(users::table.on(users::id.eq(articles::author_id + 0_i64)))
        .select((ArticleSummaryRow::as_select(), AuthorRow::as_select()));
    let mut rows = match limit_of_rows {
        Some(read) => limit_written(statement, read, 0)
            .bound_on_postgres()
            .load(conn)?,
        None => statement.load(conn)?,
    };
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(rows)
}

/// The LIMIT a page statement writes for `limit` rows: as it is up to a page of 100 and the
/// row that tells whether another follows (with room to spare), rounded up to a power of two
/// beyond (a relevance tier past skipped pages), so the statements SQLite keeps prepared,
/// one per LIMIT written, stay few.
fn written_limit(limit: i64) -> i64 {
    const MAX_EXACT: i64 = 128;
    if limit <= MAX_EXACT {
        return limit;
    }
    u64::try_from(limit)
        .ok()
        .and_then(u64::checked_next_power_of_two)
        .and_then(|rounded| i64::try_from(rounded).ok())
        .unwrap_or(limit)
}

/// How many articles match the filter, counting at most `limit + 1` when a limit is given
/// (beyond it the answer only says "more", and costs what reading `limit` ids costs); and
/// when the content last changed, in the same statement.
pub fn count(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    limit: Option<i64>,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let changed = || {
        content_clock::table
            .select(content_clock::changed_at)
            .single_value()
    };
    let Some(limit) = limit else {
        // A full count starts from the tags' rows (IN), or a tag's timeline.
        let counted: QueryResult<(Option<i64>, Option<NaiveDateTime>)> = match timeline_tag(filter)
        {
            Some(tag) => diesel::select((
                timeline_ids(filter, tag, None, None).count().single_value(),
                changed(),
            ))
            .get_result(conn),
            None => diesel::select((
                articles::table
                    .filter(in_subquery(
                        articles::id,
                        filtered(filter, TagForm::In, None).select(articles::id),
                    ))
                    .count()
                    .single_value(),
                changed(),
            ))
            .get_result(conn),
        };
        return counted.map(|(n, changed)| (n.unwrap_or(0), changed));
    };
    // Not for a phrase: the index finds every article with its words, and each must then be
    // read to check their order.
    let words_alone = filter
        .search
        .as_ref()
        .is_some_and(|text| !text.tsquery.contains("<->"));
    if words_alone
        && !filter.rare_tags
        && matches!(conn, DbConn::Postgres(_))
        && counters::get(conn, Scope::All, 0)?
            <= limit.saturating_mul(INDEX_COUNTS_UP_TO_TIMES_LIMIT)
    {
        return count_from_text_index(conn, filter, limit);
    }
    // Counting to a limit reads ids until past it: a tag's timeline on its own rows, never
    // the articles' (counting to 10,000 through the articles read 10,000 of their rows, 2.1 s
    // on a million-article SQLite file); otherwise the published articles in index order,
    // each probed.
    let ids: Box<dyn QueryFragment<MultiBackend>> = match timeline_tag(filter) {
        Some(tag) => Box::new(timeline_ids(filter, tag, None, None).limit(limit + 1)),
        None => Box::new(
            filtered(filter, page_form(filter), None)
                .select(articles::id)
                .limit(limit + 1),
        ),
    };
    diesel::select((count_of(ids), changed())).get_result(conn)
}

/// Up to this many published articles per match counted to, a search on PostgreSQL is counted
/// from the GIN index (`count_from_text_index`) whatever its words. The index's bitmap costs
/// about 0.3 µs per matching article; reading articles in order costs 5–10 µs each (their
/// whole-text vectors are read from TOAST) but stops once `limit` match. For a word in a
/// share `f` of `n` articles the index is cheaper while `f² · n` is under about 23 times
/// `limit`: for every word up to 200,000 articles with the default limit of 10,000; at a
/// million articles only for words in fewer than half of them, so larger sites leave the
/// choice to the planner (a word in 92% of a million articles: 114 ms read in order, 163 ms
/// from the index).
const INDEX_COUNTS_UP_TO_TIMES_LIMIT: i64 = 20;

/// A search counted to a limit on PostgreSQL: the GIN index's matches, each checked for its
/// state and time on its row. Left to itself, the planner counted a common word by reading
/// articles in order and testing each one's whole-text vector, which lives apart (TOAST):
/// 31,752 buffers and 40–94 ms at ten thousand articles. Read from the index, the rows' own
/// pages are enough: 1,674 buffers and 10 ms. The planner does not count what reading those
/// vectors costs, so the statement leaves it no other way: its state and time conditions
/// serve no index (`Visibility::Unindexed`), and it runs `through_text_index`.
fn count_from_text_index(
    conn: &mut DbConn,
    filter: &ArticleFilter,
    limit: i64,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let changed = content_clock::table
        .select(content_clock::changed_at)
        .single_value();
    let ids = filtered_with(filter, TagForm::Probe, None, Visibility::Unindexed)
        .select(articles::id)
        .limit(limit + 1);
    through_text_index(conn, |conn| {
        diesel::select((count_of(ids), changed)).get_result(conn)
    })
}
