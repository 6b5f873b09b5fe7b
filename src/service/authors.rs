//! Public author profiles: users with at least one published article, and how many.

use super::{Page, PageRequest};
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

/// A numbered page of authors, by name. Staff who have published nothing are not listed,
/// so the public list does not expose the whole user table.
pub fn list(conn: &mut DbConn, page: PageRequest) -> Result<Page<Author>, AppError> {
    let now = db::now();
    let total = db::users::count_authors(conn, now)?;
    let rows = db::users::list_authors(conn, now, page.limit, page.offset())?;
    Ok(Page {
        items: with_counts(conn, rows)?,
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

pub fn get(conn: &mut DbConn, key: &AuthorKey) -> Result<Author, AppError> {
    let now = db::now();
    let row = match key {
        AuthorKey::Id(id) => db::users::find_author(conn, *id, now)?,
        AuthorKey::Slug(slug) => db::users::find_author_by_slug(conn, slug, now)?,
    };
    let row = row.ok_or(AppError::NotFound("author"))?;
    with_counts(conn, vec![row])?
        .pop()
        .ok_or(AppError::NotFound("author"))
}

fn with_counts(conn: &mut DbConn, rows: Vec<AuthorRow>) -> Result<Vec<Author>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let counts = db::users::published_counts(conn, &ids, db::now())?;
    Ok(rows
        .into_iter()
        .map(|a| Author {
            article_count: counts.get(&a.id).copied().unwrap_or(0),
            id: a.id,
            slug: a.slug,
            name: a.name,
            bio: a.bio,
            avatar: a.avatar,
        })
        .collect())
}
