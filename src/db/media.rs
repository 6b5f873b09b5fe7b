//! The media library (`media`) and the articles that show an item as their feature image.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{articles, media, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = media)]
pub struct MediaRow {
    pub id: i64,
    pub object_key: String,
    pub url: String,
    pub mime_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub variants: String,
    pub alt: String,
    pub caption: String,
    pub uploader_id: Option<i64>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The uploader's name and slug, when the account still exists.
pub type Uploader = Option<(i64, String, String)>;

#[derive(Debug, Insertable)]
#[diesel(table_name = media)]
pub struct NewMedia<'a> {
    pub object_key: &'a str,
    pub url: &'a str,
    pub mime_type: &'a str,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub variants: &'a str,
    pub alt: &'a str,
    pub caption: &'a str,
    pub uploader_id: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = media)]
pub struct MediaChanges {
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

type Joined = (MediaRow, Option<(i64, String, String)>);

fn uploader_columns() -> (users::id, users::name, users::slug) {
    (users::id, users::name, users::slug)
}

pub fn insert(conn: &mut DbConn, item: &NewMedia<'_>) -> QueryResult<i64> {
    // RETURNING is not available through MultiConnection; each backend runs its own.
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(media::table)
            .values(item)
            .returning(media::id)
            .get_result(c),
        DbConn::Sqlite(c) => diesel::insert_into(media::table)
            .values(item)
            .returning(media::id)
            .get_result(c),
    }
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Joined>> {
    media::table
        .left_join(users::table)
        .filter(media::id.eq(id))
        .select((MediaRow::as_select(), uploader_columns().nullable()))
        .first(conn)
        .optional()
}

/// One page, newest first, below `before` (an id), by one uploader if given.
pub fn page(
    conn: &mut DbConn,
    uploader: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Joined>> {
    let mut query = media::table
        .left_join(users::table)
        .select((MediaRow::as_select(), uploader_columns().nullable()))
        .order(media::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(uploader) = uploader {
        query = query.filter(media::uploader_id.eq(uploader));
    }
    if let Some(before) = before {
        query = query.filter(media::id.lt(before));
    }
    query.load(conn)
}

/// These media items (the feature images of a page of articles).
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<MediaRow>> {
    media::table
        .filter(super::id_in(media::id, ids))
        .select(MediaRow::as_select())
        .load(conn)
}

pub fn exists(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(media::table.find(id))).get_result(conn)
}

pub fn update_if_version(
    conn: &mut DbConn,
    id: i64,
    expected: i32,
    changes: &MediaChanges,
) -> QueryResult<bool> {
    let updated = diesel::update(media::table.find(id).filter(media::version.eq(expected)))
        .set((changes, media::version.eq(media::version + 1)))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete_if_version(conn: &mut DbConn, id: i64, expected: i32) -> QueryResult<bool> {
    let deleted =
        diesel::delete(media::table.find(id).filter(media::version.eq(expected))).execute(conn)?;
    Ok(deleted == 1)
}

/// How many media rows store their original under `key`.
pub fn sharing_key(conn: &mut DbConn, key: &str) -> QueryResult<i64> {
    media::table
        .filter(media::object_key.eq(key))
        .count()
        .get_result(conn)
}

/// The articles (id, slug) that show this media item as their feature image.
pub fn articles_using(conn: &mut DbConn, id: i64) -> QueryResult<Vec<(i64, String)>> {
    articles::table
        .filter(articles::feature_image_id.eq(id))
        .order(articles::id)
        .select((articles::id, articles::slug))
        .load(conn)
}

/// Takes the media item off the articles that show it, as a change to each (a new version).
pub fn clear_feature_image(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(articles::table.filter(articles::feature_image_id.eq(id)))
        .set((
            articles::feature_image_id.eq(None::<i64>),
            articles::version.eq(articles::version + 1),
            articles::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Every stored object's key with its variants (JSON), for the garbage collector.
pub fn all_keys(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    media::table
        .select((media::object_key, media::variants))
        .load(conn)
}
