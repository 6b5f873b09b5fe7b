//! Reading tags, each with the number of published articles that carry it.

use chrono::{DateTime, Utc};

use super::{Page, PageRequest, utc};
use crate::db::tags::{TagOrder, TagRow};
use crate::db::{self, DbConn};
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct Tag {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub article_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A numbered page of tags in `order`.
pub fn list(conn: &mut DbConn, order: TagOrder, page: PageRequest) -> Result<Page<Tag>, AppError> {
    let total = db::tags::count(conn)?;
    let rows = db::tags::list(conn, order, page.limit, page.offset())?;
    Ok(Page {
        items: with_counts(conn, rows)?,
        total,
        page: page.page,
        pages: page.pages(total),
        limit: page.limit,
    })
}

#[derive(Debug, Clone)]
pub enum TagKey {
    Id(i64),
    Slug(String),
}

pub fn get(conn: &mut DbConn, key: &TagKey) -> Result<Tag, AppError> {
    let row = match key {
        TagKey::Id(id) => db::tags::find(conn, *id)?,
        TagKey::Slug(slug) => db::tags::find_by_slug(conn, slug)?,
    };
    let row = row.ok_or(AppError::NotFound("tag"))?;
    with_counts(conn, vec![row])?
        .pop()
        .ok_or(AppError::NotFound("tag"))
}

fn with_counts(conn: &mut DbConn, rows: Vec<TagRow>) -> Result<Vec<Tag>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let counts = db::tags::published_counts(conn, &ids, db::now())?;
    Ok(rows
        .into_iter()
        .map(|t| Tag {
            article_count: counts.get(&t.id).copied().unwrap_or(0),
            id: t.id,
            slug: t.slug,
            name: t.name,
            description: t.description,
            created_at: utc(t.created_at),
            updated_at: utc(t.updated_at),
        })
        .collect())
}
