//! Queries on `tags` and `article_tags`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{article_tags, tags, tags_version};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct TagRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tags)]
pub struct NewTag<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The order of a tag list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagOrder {
    Name,
    Slug,
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<TagRow>> {
    tags::table
        .find(id)
        .select(TagRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<TagRow>> {
    tags::table
        .filter(tags::slug.eq(slug))
        .select(TagRow::as_select())
        .first(conn)
        .optional()
}

/// Serializes, until the transaction ends, the transactions that may create tags of these
/// names (ignoring case), so two of them cannot both find a name missing and both create it.
/// Locks are taken in one order, so two writers naming the same new tags cannot deadlock.
/// SQLite write transactions are serialized already.
pub fn lock_names(conn: &mut DbConn, names: &[&str]) -> QueryResult<()> {
    let DbConn::Postgres(c) = conn else {
        return Ok(());
    };
    let mut keys: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        // The two-key form keeps these locks apart from any other advisory lock.
        diesel::sql_query("SELECT pg_advisory_xact_lock(1952541769, hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(c)?;
    }
    Ok(())
}

/// The tag with this name, ignoring case as SQL's `lower()` does on both sides.
pub fn find_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<TagRow>> {
    tags::table
        .filter(super::lower(tags::name).eq(super::lower(name)))
        .order(tags::id)
        .select(TagRow::as_select())
        .first(conn)
        .optional()
}

/// Whether the tag exists, locking it on PostgreSQL like a foreign key check, so that a
/// concurrent deletion waits until the article about to carry it is saved.
pub fn lock_existing(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    match conn {
        DbConn::Postgres(c) => tags::table
            .find(id)
            .select(tags::id)
            .for_key_share()
            .first::<i64>(c)
            .optional()
            .map(|row| row.is_some()),
        DbConn::Sqlite(_) => find(conn, id).map(|row| row.is_some()),
    }
}

/// Inserts a tag unless its slug is taken (then `None`). On PostgreSQL a concurrent insert
/// of the same slug is waited for, so `None` means it is there to be read.
pub fn insert_if_absent(conn: &mut DbConn, tag: &NewTag<'_>) -> QueryResult<Option<i64>> {
    // ON CONFLICT is not available through MultiConnection; each backend runs its own.
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(tags::table)
            .values(tag)
            .on_conflict_do_nothing()
            .returning(tags::id)
            .get_result(c)
            .optional(),
        DbConn::Sqlite(c) => diesel::insert_into(tags::table)
            .values(tag)
            .on_conflict_do_nothing()
            .returning(tags::id)
            .get_result(c)
            .optional(),
    }
}

/// Slugs equal to `base` or starting with `base-`.
pub fn slugs_like(conn: &mut DbConn, base: &str) -> QueryResult<Vec<String>> {
    // Slugs are [a-z0-9-] only, so `base` holds no LIKE wildcards.
    tags::table
        .filter(tags::slug.eq(base).or(tags::slug.like(format!("{base}-%"))))
        .select(tags::slug)
        .load(conn)
}

/// Ids of the tags with these slugs; unknown slugs are simply absent.
pub fn ids_by_slugs(conn: &mut DbConn, slugs: &[String]) -> QueryResult<Vec<i64>> {
    tags::table
        .filter(tags::slug.eq_any(slugs))
        .select(tags::id)
        .load(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    tags::table.count().get_result(conn)
}

pub fn list(
    conn: &mut DbConn,
    order: TagOrder,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<TagRow>> {
    let query = tags::table
        .select(TagRow::as_select())
        .limit(limit)
        .offset(offset)
        .into_boxed();
    let query = match order {
        TagOrder::Name => query.order((tags::name.asc(), tags::id.asc())),
        TagOrder::Slug => query.order((tags::slug.asc(), tags::id.asc())),
    };
    query.load(conn)
}

/// The tag ids of each of these articles.
pub fn ids_for_articles(
    conn: &mut DbConn,
    article_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<i64>>> {
    let links: Vec<(i64, i64)> = article_tags::table
        .filter(article_tags::article_id.eq_any(article_ids))
        .select((article_tags::article_id, article_tags::tag_id))
        .load(conn)?;
    let mut by_article: HashMap<i64, Vec<i64>> = HashMap::new();
    for (article_id, tag_id) in links {
        by_article.entry(article_id).or_default().push(tag_id);
    }
    Ok(by_article)
}

/// The (id, name) of each of these tags, ordered by name.
pub fn names_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    tags::table
        .filter(tags::id.eq_any(ids))
        .order((tags::name, tags::id))
        .select((tags::id, tags::name))
        .load(conn)
}

/// The tags of each of these articles, in one query, ordered by tag name.
pub fn for_articles(conn: &mut DbConn, article_ids: &[i64]) -> QueryResult<Vec<(i64, TagRow)>> {
    article_tags::table
        .inner_join(tags::table)
        .filter(super::id_in(article_tags::article_id, article_ids))
        .order((article_tags::article_id, tags::name, tags::id))
        .select((article_tags::article_id, TagRow::as_select()))
        .load(conn)
}

/// Every tag, in the order `for_articles` gives an article's tags, with a tags version
/// (`tags_version`) they are at least as new as: it is read first, so a tag written in between
/// makes the list newer than its version says, never older.
pub fn catalog(conn: &mut DbConn) -> QueryResult<(i64, Vec<TagRow>)> {
    let version = tags_version::table
        .find(1)
        .select(tags_version::version)
        .first(conn)?;
    let rows = tags::table
        .order((tags::name, tags::id))
        .select(TagRow::as_select())
        .load(conn)?;
    Ok((version, rows))
}

pub fn insert(conn: &mut DbConn, tag: &NewTag<'_>) -> QueryResult<i64> {
    diesel::insert_into(tags::table)
        .values(tag)
        .returning(tags::id)
        .get_result(conn)
}

/// Whether another tag than `except` has this slug.
pub fn slug_taken(conn: &mut DbConn, slug: &str, except: Option<i64>) -> QueryResult<bool> {
    let holders: Vec<i64> = tags::table
        .filter(tags::slug.eq(slug))
        .select(tags::id)
        .load(conn)?;
    Ok(holders.into_iter().any(|id| Some(id) != except))
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = tags)]
pub struct TagChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update(conn: &mut DbConn, id: i64, changes: &TagChanges) -> QueryResult<usize> {
    diesel::update(tags::table.find(id))
        .set(changes)
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(tags::table.find(id)).execute(conn)
}
