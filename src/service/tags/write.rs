//! Creating, changing and deleting tags, and the tags an article names.

use super::{Tag, TagKey, get};
use crate::auth::Caller;
use crate::db::tags::{NewTag, TagChanges};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::service::changes::{Change, ChangeSet};
use crate::service::policy::{self, Action};
use crate::service::slugs;

/// Tag ids for the names or slugs given on an article, in order and without repeats.
/// Unknown ones are created for authors and up; for a contributor they are a 422.
pub fn resolve_for_article(
    conn: &mut DbConn,
    caller: &Caller,
    names: &[String],
    recorded: &mut ChangeSet,
) -> Result<Vec<i64>, AppError> {
    let names: Vec<&str> = names.iter().map(|n| n.trim()).collect();
    let mut found = Vec::with_capacity(names.len());
    for name in &names {
        found.push(existing(conn, name)?);
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&found)
        .filter_map(|(name, id)| id.is_none().then_some(*name))
        .collect();
    if !missing.is_empty() && policy::allows(caller.role, Action::CreateTagInline, false) {
        policy::require_scope(caller, Action::CreateTagInline.scope())?;
    }
    if !missing.is_empty() && !policy::allows(caller.role, Action::CreateTagInline, false) {
        return Err(AppError::Invalid(
            missing
                .iter()
                .map(|name| {
                    FieldError::new(
                        "tags",
                        format!(
                            "no tag {name:?} exists, and only authors and above may create one"
                        ),
                    )
                })
                .collect(),
        ));
    }
    db::tags::lock_names(conn, &missing)?;
    let mut ids = Vec::with_capacity(names.len());
    for (name, id) in names.iter().zip(found) {
        let id = match id {
            Some(id) => id,
            None => match find_or_insert(conn, name, "", recorded)? {
                Found::Existing(id) | Found::Created(id) => id,
            },
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The tag an article names, by name or, when the entry is one, by slug ("C#" must not
/// become the "C" tag just because both would slugify alike). The tag is locked until the
/// transaction ends, so a concurrent deletion waits for the article to be saved.
fn existing(conn: &mut DbConn, name: &str) -> Result<Option<i64>, AppError> {
    let found = match db::tags::find_by_name(conn, name)? {
        Some(tag) => Some(tag),
        None if slugs::is_slug(name) => db::tags::find_by_slug(conn, name)?,
        None => None,
    };
    match found {
        // Deleted between the lookup and the lock: as if it had never been found.
        Some(tag) if db::tags::lock_existing(conn, tag.id)? => Ok(Some(tag.id)),
        _ => Ok(None),
    }
}

/// Whether a tag was found under that name or made.
enum Found {
    Existing(i64),
    Created(i64),
}

/// Tries a new tag's slug gets before giving up with a 503.
const TAG_ATTEMPTS: usize = 16;

/// The tag named `name`, created if there is none. The caller holds `db::tags::lock_names`
/// for it, so two writers naming the same new tag at once end up with one tag: the second
/// waits for the first to commit and then finds its tag. A slug taken by a tag of another
/// name moves on to `-2`, `-3`…
fn find_or_insert(
    conn: &mut DbConn,
    name: &str,
    description: &str,
    recorded: &mut ChangeSet,
) -> Result<Found, AppError> {
    let base = slugs::tag_slug(name);
    if let Some(id) = existing(conn, name)? {
        return Ok(Found::Existing(id));
    }
    for _ in 0..TAG_ATTEMPTS {
        let slug = slugs::free_slug(&base, &db::tags::slugs_like(conn, &base)?);
        let now = db::now();
        let inserted = db::tags::insert_if_absent(
            conn,
            &NewTag {
                slug: &slug,
                name,
                description,
                created_at: now,
                updated_at: now,
            },
        )?;
        if let Some(id) = inserted {
            recorded.push(Change::TagCreated { id });
            return Ok(Found::Created(id));
        }
    }
    Err(AppError::Contended)
}

/// A new tag or changes to one, checked for shape by the API layer.
#[derive(Debug, Clone, Default)]
pub struct TagInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
}

/// Creates a tag (editor and up). Its slug comes from the name unless given; a name that
/// another tag has already (ignoring case) is a 409, as is a slug the client chose that is taken.
pub fn create(conn: &mut DbConn, caller: &Caller, input: TagInput) -> Result<Tag, AppError> {
    policy::require(caller, Action::ManageTags, None)?;
    let name = input
        .name
        .clone()
        .ok_or_else(|| AppError::Invalid(vec![FieldError::new("name", "is required")]))?;
    let description = input.description.clone().unwrap_or_default();
    db::write_transaction(conn, |conn| {
        let mut recorded = ChangeSet::default();
        let id = match &input.slug {
            Some(slug) => {
                if db::tags::find_by_name(conn, &name)?.is_some() {
                    return Err(name_taken());
                }
                if db::tags::slug_taken(conn, slug, None)? {
                    return Err(AppError::conflict("slug", "is already taken"));
                }
                let now = db::now();
                let id = db::tags::insert(
                    conn,
                    &NewTag {
                        slug,
                        name: &name,
                        description: &description,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                recorded.push(Change::TagCreated { id });
                id
            }
            None => {
                db::tags::lock_names(conn, &[&name])?;
                match find_or_insert(conn, &name, &description, &mut recorded)? {
                    Found::Created(id) => id,
                    Found::Existing(_) => return Err(name_taken()),
                }
            }
        };
        let tag = get(conn, &TagKey::Id(id))?.value;
        recorded.apply(conn)?;
        Ok(tag)
    })
}

fn name_taken() -> AppError {
    AppError::conflict("name", "a tag with this name exists")
}

/// Changes a tag (editor and up). Of two editors changing one tag at once, the later
/// change wins whole; a name or a slug that another tag has is a 409.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    input: TagInput,
) -> Result<Tag, AppError> {
    policy::require(caller, Action::ManageTags, None)?;
    db::write_transaction(conn, |conn| {
        db::tags::find(conn, id)?.ok_or(AppError::NotFound("tag"))?;
        if let Some(name) = &input.name
            && db::tags::find_by_name(conn, name)?.is_some_and(|other| other.id != id)
        {
            return Err(name_taken());
        }
        if let Some(slug) = &input.slug
            && db::tags::slug_taken(conn, slug, Some(id))?
        {
            return Err(AppError::conflict("slug", "is already taken"));
        }
        let changes = TagChanges {
            slug: input.slug.clone(),
            name: input.name.clone(),
            description: input.description.clone(),
            updated_at: Some(db::now()),
        };
        db::tags::update(conn, id, &changes)?;
        let tag = get(conn, &TagKey::Id(id))?.value;
        let mut recorded = ChangeSet::default();
        recorded.push(Change::TagUpdated { id });
        recorded.apply(conn)?;
        Ok(tag)
    })
}

/// Deletes a tag (editor and up); articles simply lose it.
pub fn delete(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<(), AppError> {
    policy::require(caller, Action::ManageTags, None)?;
    db::write_transaction(conn, |conn| {
        // Read before the delete takes the links with it.
        let tag = db::tags::find(conn, id)?.ok_or(AppError::NotFound("tag"))?;
        let tagged = db::search::articles_with_tag(conn, id)?;
        match db::tags::delete(conn, id)? {
            0 => Err(AppError::NotFound("tag")),
            _ => {
                let mut recorded = ChangeSet::default();
                recorded.push(Change::TagDeleted {
                    id,
                    slug: tag.slug,
                    tagged,
                });
                recorded.apply(conn)
            }
        }
    })
}
