//! Public author profiles: users with at least one published article, and how many.

use chrono::{DateTime, Utc};

use super::{Dated, Page, PageRequest, utc};
use crate::db::counters::Scope;
use crate::db::users::AuthorRow;
use crate::db::{self, DbConn};
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct Author {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub avatar: Option<String>,
    pub article_count: i64,
}

/// A numbered page of authors, by name, with their counts from the published-article
/// counters. Staff who have published nothing are not listed, so the public list does not
/// expose the whole user table.
pub fn list(conn: &mut DbConn, page: PageRequest) -> Result<Page<Author>, AppError> {
    let total = db::users::count_authors(conn)?;
    let rows = db::users::list_authors(conn, page.limit, page.offset())?;
    let (items, last_modified) = with_due(conn, rows)?;
    Ok(Page {
        items,
        last_modified: Some(last_modified),
        total,
        page: page.page,
        pages: page.pages(total),
        limit: page.limit,
    })
}

#[derive(Debug, Clone)]
pub enum AuthorKey {
    Id(i64),
    Slug(String),
}

/// One author, and when their profile or count last changed.
pub fn get(conn: &mut DbConn, key: &AuthorKey) -> Result<Dated<Author>, AppError> {
    let row = match key {
        AuthorKey::Id(id) => db::users::find_author(conn, *id)?,
        AuthorKey::Slug(slug) => db::users::find_author_by_slug(conn, slug)?,
    };
    let row = row.ok_or(AppError::NotFound("author"))?;
    let (mut authors, last_modified) = with_due(conn, vec![row])?;
    let author = authors.pop().ok_or(AppError::NotFound("author"))?;
    Ok(Dated {
        value: author,
        last_modified: Some(last_modified),
    })
}

/// Authors with their counts, plus the scheduled articles that came due since the counters
/// last caught up (see `db::counters::visible`); and when any of that last changed.
fn with_due(
    conn: &mut DbConn,
    rows: Vec<(AuthorRow, i64)>,
) -> Result<(Vec<Author>, DateTime<Utc>), AppError> {
    let ids: Vec<i64> = rows.iter().map(|(a, _)| a.id).collect();
    let due = db::counters::due_since_counted(conn, Scope::Author, &ids, db::now())?;
    let changed = db::counters::content_changed_at(conn)?;
    let last_modified = utc(due.latest.map_or(changed, |due| due.max(changed)));
    let authors = rows
        .into_iter()
        .map(|(row, count)| {
            let due = due.by_id.get(&row.id).copied().unwrap_or(0);
            author((row, count + due))
        })
        .collect();
    Ok((authors, last_modified))
}

fn author((row, article_count): (AuthorRow, i64)) -> Author {
    Author {
        article_count,
        id: row.id,
        slug: row.slug,
        name: row.name,
        bio: row.bio,
        avatar: row.avatar,
    }
}
