//! Queries on `users`, who are also the public authors.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{article_counts, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub avatar: Option<String>,
    pub role: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub slug: &'a str,
    pub name: &'a str,
    pub bio: &'a str,
    pub avatar: Option<&'a str>,
    pub role: &'a str,
    pub password_hash: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The public face of a user: what readers see as the author.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct AuthorRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub avatar: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// Public authors are the users with at least one counted published article
/// (`db::counters`), each with that count.
#[diesel::dsl::auto_type(no_type_alias)]
fn public_authors() -> _ {
    let counted = article_counts::ref_id
        .eq(users::id)
        .and(article_counts::scope.eq("author"));
    users::table
        .inner_join(article_counts::table.on(counted))
        .filter(article_counts::published.gt(0_i64))
}

pub fn find_author(conn: &mut DbConn, id: i64) -> QueryResult<Option<(AuthorRow, i64)>> {
    public_authors()
        .filter(users::id.eq(id))
        .select((AuthorRow::as_select(), article_counts::published))
        .first(conn)
        .optional()
}

pub fn find_author_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<(AuthorRow, i64)>> {
    public_authors()
        .filter(users::slug.eq(slug))
        .select((AuthorRow::as_select(), article_counts::published))
        .first(conn)
        .optional()
}

pub fn count_authors(conn: &mut DbConn) -> QueryResult<i64> {
    public_authors().count().get_result(conn)
}

pub fn list_authors(
    conn: &mut DbConn,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<(AuthorRow, i64)>> {
    public_authors()
        .order((users::name.asc(), users::id.asc()))
        .limit(limit)
        .offset(offset)
        .select((AuthorRow::as_select(), article_counts::published))
        .load(conn)
}

/// Ids of the users with these slugs; unknown slugs are simply absent.
pub fn ids_by_slugs(conn: &mut DbConn, slugs: &[String]) -> QueryResult<Vec<i64>> {
    users::table
        .filter(users::slug.eq_any(slugs))
        .select(users::id)
        .load(conn)
}

/// Author profiles for these ids, in one query.
pub fn authors_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<AuthorRow>> {
    users::table
        .filter(super::id_in(users::id, ids))
        .select(AuthorRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Emails are stored lower-cased, so this is a case-insensitive lookup.
pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Slugs equal to `base` or starting with `base-`.
pub fn slugs_like(conn: &mut DbConn, base: &str) -> QueryResult<Vec<String>> {
    // Slugs are [a-z0-9-] only, so `base` holds no LIKE wildcards.
    users::table
        .filter(
            users::slug
                .eq(base)
                .or(users::slug.like(format!("{base}-%"))),
        )
        .select(users::slug)
        .load(conn)
}

/// Inserts a user; `None` when the email or the slug is taken (on PostgreSQL, after waiting
/// for a concurrent insert of the same value to commit or roll back).
pub fn insert_unless_taken(conn: &mut DbConn, user: &NewUser<'_>) -> QueryResult<Option<i64>> {
    // ON CONFLICT is not available through MultiConnection; each backend runs its own.
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(users::table)
            .values(user)
            .on_conflict_do_nothing()
            .returning(users::id)
            .get_result(c)
            .optional(),
        DbConn::Sqlite(c) => diesel::insert_into(users::table)
            .values(user)
            .on_conflict_do_nothing()
            .returning(users::id)
            .get_result(c)
            .optional(),
    }
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn list(conn: &mut DbConn, limit: i64, offset: i64) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::id.asc())
        .limit(limit)
        .offset(offset)
        .select(UserRow::as_select())
        .load(conn)
}

/// Whether the user exists, locking the row on PostgreSQL (as a foreign key check does) so
/// that it cannot be deleted before this transaction, which is about to refer to it, ends.
pub fn lock_existing(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    match conn {
        DbConn::Postgres(c) => users::table
            .find(id)
            .select(users::id)
            .for_key_share()
            .first::<i64>(c)
            .optional()
            .map(|row| row.is_some()),
        DbConn::Sqlite(_) => find(conn, id).map(|row| row.is_some()),
    }
}

/// Locks a user about to be deleted, so that a transaction giving them an article finishes
/// first (and its article is then reassigned with the others) or sees them gone.
pub fn lock_for_delete(conn: &mut DbConn, id: i64) -> QueryResult<Option<UserRow>> {
    match conn {
        DbConn::Postgres(c) => users::table
            .find(id)
            .select(UserRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => find(conn, id),
    }
}

/// Locks the admin rows until the transaction ends, so two admins removing each other at
/// once cannot both see "another admin is left". (SQLite write transactions are already
/// serialized by `BEGIN IMMEDIATE`.)
pub fn lock_admins(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Postgres(c) = conn {
        users::table
            .filter(users::role.eq("admin"))
            .select(users::id)
            .for_update()
            .load::<i64>(c)?;
    }
    Ok(())
}

/// Admins who can still sign in.
pub fn count_active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq("admin"))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub name: Option<String>,
    pub bio: Option<String>,
    pub avatar: Option<Option<String>>,
    pub role: Option<String>,
    pub password_hash: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update(conn: &mut DbConn, id: i64, changes: &UserChanges) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(users::table.find(id)).execute(conn)
}
