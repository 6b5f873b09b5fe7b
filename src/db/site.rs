//! The one row of `site`: the site's own description and its URL templates.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::site;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = site)]
pub struct SiteRow {
    pub title: String,
    pub description: String,
    pub url: String,
    pub locale: String,
    pub logo: Option<String>,
    pub article_url: String,
    pub tag_url: String,
    pub author_url: String,
    pub version: i32,
    pub updated_at: NaiveDateTime,
}

/// The columns a PATCH may change; `None` leaves a column as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = site)]
pub struct SiteChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub locale: Option<String>,
    pub logo: Option<Option<String>>,
    pub article_url: Option<String>,
    pub tag_url: Option<String>,
    pub author_url: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn get(conn: &mut DbConn) -> QueryResult<SiteRow> {
    site::table.find(1).select(SiteRow::as_select()).first(conn)
}

/// Applies `changes` and bumps the version only if the row is still at `expected`.
pub fn update_if_version(
    conn: &mut DbConn,
    expected: i32,
    changes: &SiteChanges,
) -> QueryResult<bool> {
    let updated = diesel::update(site::table.find(1).filter(site::version.eq(expected)))
        .set((changes, site::version.eq(site::version + 1)))
        .execute(conn)?;
    Ok(updated == 1)
}
