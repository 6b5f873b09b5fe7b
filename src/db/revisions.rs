//! `article_revisions`: each article's history, one row per version it had.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::DbConn;
use super::schema::article_revisions;

/// A revision as stored, and as an archive carries it (`db::archive`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = article_revisions)]
#[serde(deny_unknown_fields)]
pub struct RevisionRow {
    pub article_id: i64,
    pub version: i32,
    pub editor_id: Option<i64>,
    #[serde(with = "super::archive::utc")]
    pub created_at: NaiveDateTime,
    pub restored_from: Option<i32>,
    /// Space-separated field names.
    pub changed: String,
    pub title: String,
    pub slug: String,
    pub excerpt: String,
    pub body_markdown: String,
    pub feature_image: Option<String>,
    pub status: String,
    #[serde(with = "super::archive::utc_option")]
    pub published_at: Option<NaiveDateTime>,
    pub author_id: i64,
    /// JSON: `[{"id": …, "name": …}]` (in an archive, the array itself).
    #[serde(with = "super::archive::json_text")]
    pub tags: String,
}

/// What a history list shows of a revision: no content.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = article_revisions)]
pub struct RevisionSummaryRow {
    pub version: i32,
    pub editor_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub restored_from: Option<i32>,
    pub changed: String,
}

pub fn insert(conn: &mut DbConn, revision: &RevisionRow) -> QueryResult<()> {
    diesel::insert_into(article_revisions::table)
        .values(revision)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, article_id: i64, version: i32) -> QueryResult<Option<RevisionRow>> {
    article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .filter(article_revisions::version.eq(version))
        .select(RevisionRow::as_select())
        .first(conn)
        .optional()
}

/// The newest revision older than `version` (any, when `None`).
pub fn latest_before(
    conn: &mut DbConn,
    article_id: i64,
    version: Option<i32>,
) -> QueryResult<Option<RevisionRow>> {
    let mut query = article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .select(RevisionRow::as_select())
        .order(article_revisions::version.desc())
        .into_boxed();
    if let Some(version) = version {
        query = query.filter(article_revisions::version.lt(version));
    }
    query.first(conn).optional()
}

/// One page of an article's history, newest first, starting below `before`.
pub fn page(
    conn: &mut DbConn,
    article_id: i64,
    before: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<RevisionSummaryRow>> {
    let mut query = article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .select(RevisionSummaryRow::as_select())
        .order(article_revisions::version.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(article_revisions::version.lt(before));
    }
    query.load(conn)
}

/// Deletes all but the newest `keep` revisions of an article.
pub fn prune(conn: &mut DbConn, article_id: i64, keep: i64) -> QueryResult<usize> {
    // The oldest kept version; nothing to prune while there are fewer than `keep`.
    let oldest_kept: Option<i32> = article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .select(article_revisions::version)
        .order(article_revisions::version.desc())
        .offset(keep - 1)
        .first(conn)
        .optional()?;
    let Some(oldest_kept) = oldest_kept else {
        return Ok(0);
    };
    diesel::delete(
        article_revisions::table
            .filter(article_revisions::article_id.eq(article_id))
            .filter(article_revisions::version.lt(oldest_kept)),
    )
    .execute(conn)
}
