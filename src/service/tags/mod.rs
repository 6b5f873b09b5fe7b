//! Tags, each with the number of published articles that carry it (here), managed by
//! editors (`write`).

mod catalog;
mod write;

pub use catalog::TagCatalog;
pub use write::{TagInput, create, delete, resolve_for_article, update};

use chrono::{DateTime, Utc};

use super::{Dated, Page, PageRequest, utc};
use crate::db::counters::Scope;
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
    let (items, last_modified) = with_counts(conn, rows)?;
    Ok(Page {
        items,
        total,
        page: page.page,
        pages: page.pages(total),
        limit: page.limit,
        last_modified: Some(last_modified),
    })
}

#[derive(Debug, Clone)]
pub enum TagKey {
    Id(i64),
    Slug(String),
}

/// One tag, and when it (or its count) last changed.
pub fn get(conn: &mut DbConn, key: &TagKey) -> Result<Dated<Tag>, AppError> {
    let row = match key {
        TagKey::Id(id) => db::tags::find(conn, *id)?,
        TagKey::Slug(slug) => db::tags::find_by_slug(conn, slug)?,
    };
    let row = row.ok_or(AppError::NotFound("tag"))?;
    let (mut tags, last_modified) = with_counts(conn, vec![row])?;
    let tag = tags.pop().ok_or(AppError::NotFound("tag"))?;
    Ok(Dated {
        value: tag,
        last_modified: Some(last_modified),
    })
}

/// Tags with their counts, and when any of that last changed: the content clock, or a
/// scheduled article coming due since (which changes a count without a write).
fn with_counts(
    conn: &mut DbConn,
    rows: Vec<TagRow>,
) -> Result<(Vec<Tag>, DateTime<Utc>), AppError> {
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let counts = db::counters::for_ids(conn, Scope::Tag, &ids)?;
    let due = db::counters::due_since_counted(conn, Scope::Tag, &ids, db::now())?;
    let changed = db::counters::content_changed_at(conn)?;
    let last_modified = utc(due.latest.map_or(changed, |due| due.max(changed)));
    let tags = rows
        .into_iter()
        .map(|t| Tag {
            article_count: counts.get(&t.id).copied().unwrap_or(0)
                + due.by_id.get(&t.id).copied().unwrap_or(0),
            id: t.id,
            slug: t.slug,
            name: t.name,
            description: t.description,
            created_at: utc(t.created_at),
            updated_at: utc(t.updated_at),
        })
        .collect();
    Ok((tags, last_modified))
}
