//! Published-article counters (`article_counts`): overall, per tag and per author. Write
//! transactions keep them (`service::changes`), and so does the job that counts scheduled
//! articles once their time has come, so list totals and `article_count` never count rows.
//!
//! An article is counted when it is published and either its time had come when it was last
//! written (`published_at <= updated_at`) or the job has counted up to its time
//! (`published_at <= count_watermark.counted_until`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::schema::{
    article_counts, article_tags, articles, content_clock, count_watermark, tags, users,
};
use super::{DbConn, or_zero};

/// What a counter counts the published articles of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    All,
    Tag,
    Author,
}

impl Scope {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Tag => "tag",
            Self::Author => "author",
        }
    }
}

/// Changes to counters, by (scope, id); `Scope::All` uses id 0.
pub type Deltas = BTreeMap<(Scope, i64), i64>;

/// The time up to which scheduled articles have been counted. On PostgreSQL the row is
/// locked for share: the job cannot move the watermark (and count rows by it) until this
/// transaction, which decides by it whether an article was counted, has committed.
pub fn watermark_for_write(conn: &mut DbConn) -> QueryResult<NaiveDateTime> {
    let query = count_watermark::table
        .find(1)
        .select(count_watermark::counted_until);
    match conn {
        DbConn::Postgres(c) => query.for_share().first(c),
        DbConn::Sqlite(c) => query.first(c),
    }
}

/// The watermark, locked until the transaction ends (the job's side of the lock above).
pub fn lock_watermark(conn: &mut DbConn) -> QueryResult<NaiveDateTime> {
    let query = count_watermark::table
        .find(1)
        .select(count_watermark::counted_until);
    match conn {
        DbConn::Postgres(c) => query.for_update().first(c),
        DbConn::Sqlite(c) => query.first(c),
    }
}

pub fn set_watermark(conn: &mut DbConn, counted_until: NaiveDateTime) -> QueryResult<()> {
    diesel::update(count_watermark::table.find(1))
        .set(count_watermark::counted_until.eq(counted_until))
        .execute(conn)
        .map(drop)
}

/// Applies `deltas`, in key order, so concurrent writers lock counter rows in one order.
pub fn add(conn: &mut DbConn, deltas: &Deltas) -> QueryResult<()> {
    for (&(scope, ref_id), &delta) in deltas.iter().filter(|(_, d)| **d != 0) {
        let row = (
            article_counts::scope.eq(scope.as_str()),
            article_counts::ref_id.eq(ref_id),
            article_counts::published.eq(delta),
        );
        let sum = article_counts::published
            .eq(article_counts::published + excluded(article_counts::published));
        // ON CONFLICT is not available through MultiConnection; each backend runs its own.
        match conn {
            DbConn::Postgres(c) => diesel::insert_into(article_counts::table)
                .values(row)
                .on_conflict((article_counts::scope, article_counts::ref_id))
                .do_update()
                .set(sum)
                .execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_into(article_counts::table)
                .values(row)
                .on_conflict((article_counts::scope, article_counts::ref_id))
                .do_update()
                .set(sum)
                .execute(c)?,
        };
    }
    Ok(())
}

/// Drops a counter (its tag or author is gone).
pub fn forget(conn: &mut DbConn, scope: Scope, ref_id: i64) -> QueryResult<()> {
    diesel::delete(article_counts::table.find((scope.as_str(), ref_id)))
        .execute(conn)
        .map(drop)
}

/// One counter; 0 when it has never been set.
pub fn get(conn: &mut DbConn, scope: Scope, ref_id: i64) -> QueryResult<i64> {
    Ok(article_counts::table
        .find((scope.as_str(), ref_id))
        .select(article_counts::published)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// What a list total counts, when the counters can answer it.
#[derive(Debug, Clone, Copy)]
pub enum Counted<'a> {
    All,
    TagSlug(&'a str),
    AuthorSlug(&'a str),
    /// Every published article but those with this tag.
    AllButTagSlug(&'a str),
}

/// What `visible` counted.
#[derive(Debug, Clone, Copy)]
pub struct Visible {
    pub count: i64,
    /// All published articles as last counted (without the correction): for judging how big
    /// a part of the whole `count` is.
    pub all_counted: i64,
    /// When the content last changed.
    pub changed: Option<NaiveDateTime>,
}

/// Published articles visible at `now`, in one statement: the counter, plus the scheduled
/// articles whose time came after the job last counted (a window of about a second, so a
/// short range of the (status, published_at) index); and when the content last changed.
pub fn visible(
    conn: &mut DbConn,
    counted: Counted<'_>,
    now: NaiveDateTime,
) -> QueryResult<Visible> {
    let changed = content_clock::table
        .select(content_clock::changed_at)
        .single_value();
    let watermark = count_watermark::table
        .select(count_watermark::counted_until)
        .single_value();
    let due = articles::table
        .filter(articles::status.eq("published"))
        .filter(articles::published_at.gt(watermark))
        .filter(articles::published_at.le(now))
        .filter(articles::published_at.gt(articles::updated_at.nullable()));
    let counter = |scope: Scope| {
        article_counts::table
            .filter(article_counts::scope.eq(scope.as_str()))
            .select(article_counts::published)
    };
    let all_counted = or_zero(
        counter(Scope::All)
            .filter(article_counts::ref_id.eq(0_i64))
            .single_value(),
        0_i64,
    );
    let all = or_zero(
        counter(Scope::All)
            .filter(article_counts::ref_id.eq(0_i64))
            .single_value(),
        0_i64,
    ) + or_zero(due.count().single_value(), 0_i64);
    let tagged = |slug: &str| {
        let tag = tags::table
            .filter(tags::slug.eq(slug.to_owned()))
            .select(tags::id);
        let has_tag = article_tags::table
            .filter(article_tags::article_id.eq(articles::id))
            .filter(article_tags::tag_id.eq_any(tag.clone()));
        or_zero(
            counter(Scope::Tag)
                .filter(article_counts::ref_id.eq_any(tag))
                .single_value(),
            0_i64,
        ) + or_zero(
            due.filter(diesel::dsl::exists(has_tag))
                .count()
                .single_value(),
            0_i64,
        )
    };
    let (count, all_counted, changed) = match counted {
        Counted::All => diesel::select((all, all_counted, changed)).get_result(conn)?,
        Counted::TagSlug(slug) => {
            diesel::select((tagged(slug), all_counted, changed)).get_result(conn)?
        }
        Counted::AllButTagSlug(slug) => {
            diesel::select((all - tagged(slug), all_counted, changed)).get_result(conn)?
        }
        Counted::AuthorSlug(slug) => {
            let author = users::table.filter(users::slug.eq(slug)).select(users::id);
            diesel::select((
                or_zero(
                    counter(Scope::Author)
                        .filter(article_counts::ref_id.eq_any(author))
                        .single_value(),
                    0_i64,
                ) + or_zero(
                    due.filter(articles::author_id.eq_any(author))
                        .count()
                        .single_value(),
                    0_i64,
                ),
                all_counted,
                changed,
            ))
            .get_result(conn)?
        }
    };
    Ok(Visible {
        count,
        all_counted,
        changed,
    })
}

/// Scheduled articles that came due after the job last counted, and are not in the counters
/// yet (the same correction as in `visible`).
#[derive(Debug, Default)]
pub struct DueNotCounted {
    /// Per tag or author id asked for: how many.
    pub by_id: HashMap<i64, i64>,
    /// The latest time one of them went live.
    pub latest: Option<NaiveDateTime>,
}

pub fn due_since_counted(
    conn: &mut DbConn,
    scope: Scope,
    ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<DueNotCounted> {
    use diesel::dsl::count_star;
    let watermark = lock_free_watermark(conn)?;
    let due = came_due(conn, watermark, now)?;
    let latest = due.iter().filter_map(|d| d.published_at).max();
    let by_id = match scope {
        _ if due.is_empty() => HashMap::new(),
        Scope::Tag => {
            let due_ids: Vec<i64> = due.iter().map(|d| d.id).collect();
            let rows: Vec<(i64, i64)> = article_tags::table
                .filter(article_tags::article_id.eq_any(due_ids))
                .filter(article_tags::tag_id.eq_any(ids))
                .group_by(article_tags::tag_id)
                .select((article_tags::tag_id, count_star()))
                .load(conn)?;
            rows.into_iter().collect()
        }
        Scope::Author | Scope::All => {
            let mut by_author: HashMap<i64, i64> = HashMap::new();
            for d in due.iter().filter(|d| ids.contains(&d.author_id)) {
                *by_author.entry(d.author_id).or_default() += 1;
            }
            by_author
        }
    };
    Ok(DueNotCounted { by_id, latest })
}

fn lock_free_watermark(conn: &mut DbConn) -> QueryResult<NaiveDateTime> {
    count_watermark::table
        .find(1)
        .select(count_watermark::counted_until)
        .first(conn)
}

/// Counters of these tags or authors; absent ones are 0.
pub fn for_ids(conn: &mut DbConn, scope: Scope, ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = article_counts::table
        .filter(article_counts::scope.eq(scope.as_str()))
        .filter(super::id_in(article_counts::ref_id, ids))
        .select((article_counts::ref_id, article_counts::published))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// An article whose scheduled time has come.
#[derive(Debug, Clone, Queryable)]
pub struct Due {
    pub id: i64,
    pub slug: String,
    pub author_id: i64,
    pub published_at: Option<NaiveDateTime>,
}

/// Articles published, scheduled when they were last written, whose time came in
/// `(after, until]`: what the job counts when it moves the watermark to `until`.
pub fn came_due(
    conn: &mut DbConn,
    after: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<Due>> {
    articles::table
        .filter(articles::status.eq("published"))
        .filter(articles::published_at.gt(after))
        .filter(articles::published_at.le(until))
        .filter(articles::published_at.gt(articles::updated_at.nullable()))
        .select((
            articles::id,
            articles::slug,
            articles::author_id,
            articles::published_at,
        ))
        .load(conn)
}

/// Counts everything again from the articles, with the watermark at `now` (after a bulk
/// load such as `folio seed`, which bypasses the write transactions).
pub fn rebuild(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
    conn.transaction(|conn| recount(conn, now))
}

fn recount(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
    use diesel::dsl::count_star;

    diesel::delete(article_counts::table).execute(conn)?;
    set_watermark(conn, now)?;
    let published = articles::status
        .eq("published")
        .and(articles::published_at.le(now));
    let all: i64 = articles::table.filter(published).count().get_result(conn)?;
    let mut deltas = Deltas::new();
    deltas.insert((Scope::All, 0), all);
    let by_author: Vec<(i64, i64)> = articles::table
        .filter(published)
        .group_by(articles::author_id)
        .select((articles::author_id, count_star()))
        .load(conn)?;
    deltas.extend(
        by_author
            .into_iter()
            .map(|(id, n)| ((Scope::Author, id), n)),
    );
    let by_tag: Vec<(i64, i64)> = article_tags::table
        .inner_join(articles::table)
        .filter(published)
        .group_by(article_tags::tag_id)
        .select((article_tags::tag_id, count_star()))
        .load(conn)?;
    deltas.extend(by_tag.into_iter().map(|(id, n)| ((Scope::Tag, id), n)));
    // The overall counter exists even at zero, so "no articles" is a counted answer.
    if all == 0 {
        diesel::insert_into(article_counts::table)
            .values((
                article_counts::scope.eq(Scope::All.as_str()),
                article_counts::ref_id.eq(0),
                article_counts::published.eq(0),
            ))
            .execute(conn)?;
    }
    add(conn, &deltas)
}

/// Marks the published content as changed now (see the `content_clock` table).
pub fn touch_content_clock(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(content_clock::table.find(1))
        .set(content_clock::changed_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// When the published content last changed.
pub fn content_changed_at(conn: &mut DbConn) -> QueryResult<NaiveDateTime> {
    content_clock::table
        .find(1)
        .select(content_clock::changed_at)
        .first(conn)
}
