//! Tags, each with the number of published articles that carry it; managed by editors.

use chrono::{DateTime, Utc};

use super::policy::{self, Action};
use super::slugs;
use super::{Page, PageRequest, utc};
use crate::auth::Caller;
use crate::db::tags::{NewTag, TagChanges, TagOrder, TagRow};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};

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

/// Tag ids for the names or slugs given on an article, in order and without repeats.
/// Unknown ones are created for authors and up; for a contributor they are a 422.
pub fn resolve_for_article(
    conn: &mut DbConn,
    caller: &Caller,
    names: &[String],
) -> Result<Vec<i64>, AppError> {
    let mut ids = Vec::with_capacity(names.len());
    let mut unknown = Vec::new();
    for name in names {
        let name = name.trim();
        // By name, or by slug when the entry is one; "C#" must not become the "C" tag just
        // because both slugify to `c`.
        let existing = match db::tags::find_by_name(conn, name)? {
            Some(tag) => Some(tag),
            None if slugs::is_slug(name) => db::tags::find_by_slug(conn, name)?,
            None => None,
        };
        let id = match existing {
            Some(tag) => tag.id,
            None if policy::allows(caller.role, Action::CreateTagInline, false) => {
                let now = db::now();
                let slug = slugs::free_slug(
                    &slugs::tag_slug(name),
                    &db::tags::slugs_like(conn, &slugs::tag_slug(name))?,
                );
                db::tags::insert(
                    conn,
                    &NewTag {
                        slug: &slug,
                        name,
                        description: "",
                        created_at: now,
                        updated_at: now,
                    },
                )?
            }
            None => {
                unknown.push(FieldError::new(
                    "tags",
                    format!("no tag {name:?} exists, and only authors and above may create one"),
                ));
                continue;
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(AppError::Invalid(unknown))
    }
}

/// A new tag or changes to one, checked for shape by the API layer.
#[derive(Debug, Clone, Default)]
pub struct TagInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
}

/// Creates a tag (editor and up). Its slug comes from the name unless given.
pub fn create(conn: &mut DbConn, caller: &Caller, input: TagInput) -> Result<Tag, AppError> {
    policy::require(caller, Action::ManageTags, None)?;
    let name = input
        .name
        .ok_or_else(|| AppError::Invalid(vec![FieldError::new("name", "is required")]))?;
    db::write_transaction(conn, |conn| {
        let slug = input.slug.unwrap_or_else(|| slugs::tag_slug(&name));
        if db::tags::slug_taken(conn, &slug, None)? {
            return Err(AppError::Conflict(format!(
                "the tag slug {slug:?} is taken"
            )));
        }
        let now = db::now();
        let description = input.description.unwrap_or_default();
        let id = db::tags::insert(
            conn,
            &NewTag {
                slug: &slug,
                name: &name,
                description: &description,
                created_at: now,
                updated_at: now,
            },
        )?;
        get(conn, &TagKey::Id(id))
    })
}

/// Changes a tag (editor and up).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    input: TagInput,
) -> Result<Tag, AppError> {
    policy::require(caller, Action::ManageTags, None)?;
    db::write_transaction(conn, |conn| {
        db::tags::find(conn, id)?.ok_or(AppError::NotFound("tag"))?;
        if let Some(slug) = &input.slug
            && db::tags::slug_taken(conn, slug, Some(id))?
        {
            return Err(AppError::Conflict(format!(
                "the tag slug {slug:?} is taken"
            )));
        }
        let changes = TagChanges {
            slug: input.slug,
            name: input.name,
            description: input.description,
            updated_at: Some(db::now()),
        };
        db::tags::update(conn, id, &changes)?;
        get(conn, &TagKey::Id(id))
    })
}

/// Deletes a tag (editor and up); articles simply lose it.
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<(), AppError> {
    policy::require(caller, Action::ManageTags, None)?;
    db::write_transaction(conn, |conn| match db::tags::delete(conn, id)? {
        0 => Err(AppError::NotFound("tag")),
        _ => Ok(()),
    })
}
