//! Writing articles: the publishing workflow, the role table, slugs, tags and versions.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

use super::{Article, edit_action, full_article, seen_by_editor};
use crate::auth::Caller;
use crate::db::articles::{self as rows, ArticleChanges, ArticleRow, NewArticle};
use crate::db::{self, DbConn, counters};
use crate::error::{AppError, FieldError};
use crate::service::changes::{self, ArticleShape, Change, ChangeSet};
use crate::service::policy::{self, Action};
use crate::service::revisions::Edit;
use crate::service::{markdown, slugs, tags};

/// The status a writer asks for. "Scheduled" is stored as published with a future time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedStatus {
    Draft,
    Published,
    Scheduled,
}

/// A new article, already checked for shape (lengths, formats) by the API layer.
#[derive(Debug, Clone)]
pub struct ArticleInput {
    pub title: String,
    pub slug: Option<String>,
    pub excerpt: Option<String>,
    pub body_markdown: String,
    pub feature_image: Option<String>,
    pub feature_image_id: Option<i64>,
    pub status: RequestedStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub author_id: Option<i64>,
}

/// Changes to an article: `None` keeps a field; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct ArticlePatch {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub excerpt: Option<Option<String>>,
    pub body_markdown: Option<String>,
    pub feature_image: Option<Option<String>>,
    pub feature_image_id: Option<Option<i64>>,
    pub status: Option<RequestedStatus>,
    pub published_at: Option<Option<DateTime<Utc>>>,
    pub tags: Option<Vec<String>>,
    pub author_id: Option<i64>,
}

const EXCERPT_CHARS: usize = 200;

/// The stored (status, published_at) for a request. Drafts have no time; publishing
/// defaults to now; scheduling needs a time in the future.
fn stored_status(
    status: RequestedStatus,
    published_at: Option<DateTime<Utc>>,
    now: NaiveDateTime,
) -> Result<(&'static str, Option<NaiveDateTime>), AppError> {
    // Microseconds, as stored by PostgreSQL and as cursors carry them: a finer client time
    // (RFC 3339 allows nanoseconds) would not match its own cursor on SQLite.
    let at = published_at.map(|t| t.naive_utc().trunc_subsecs(6));
    match status {
        RequestedStatus::Draft => Ok(("draft", None)),
        RequestedStatus::Published => match at {
            Some(at) if at > now => Err(invalid(
                "published_at",
                "is in the future: use status \"scheduled\" to publish later",
            )),
            Some(at) => Ok(("published", Some(at))),
            None => Ok(("published", Some(now))),
        },
        RequestedStatus::Scheduled => match at {
            Some(at) if at > now => Ok(("published", Some(at))),
            Some(_) => Err(invalid(
                "published_at",
                "must be in the future for a scheduled article",
            )),
            None => Err(invalid(
                "published_at",
                "is required for a scheduled article",
            )),
        },
    }
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::Invalid(vec![FieldError::new(field, message)])
}

/// The author of a new or reassigned article: the caller, or someone else for editors. The
/// author's row is locked until the article is saved, so deleting them waits for it (and then
/// gives this article to their heir with the others).
fn check_author(conn: &mut DbConn, caller: &Caller, author_id: i64) -> Result<(), AppError> {
    if author_id != caller.user_id {
        policy::require(caller, Action::Reassign, None)?;
    }
    match db::users::lock_existing(conn, author_id)? {
        true => Ok(()),
        false if author_id == caller.user_id => Err(AppError::Unauthenticated),
        false => Err(invalid("author_id", "no user has this id")),
    }
}

/// What rendering a body produces; done before the transaction, which it would only lengthen.
struct Rendered {
    html: String,
    reading_time: i32,
}

fn render(markdown_text: &str) -> Rendered {
    Rendered {
        html: markdown::render(markdown_text),
        reading_time: markdown::reading_time(markdown_text),
    }
}

/// Creates an article. Contributors write drafts only; publishing or scheduling needs
/// author and up (design.md, Roles). A slug derived from the title never conflicts: a
/// concurrent article taking it first moves this one to the next free `-n`.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    input: ArticleInput,
    keep_revisions: u32,
) -> Result<Article, AppError> {
    policy::require(caller, Action::CreateDraft, None)?;
    let rendered = render(&input.body_markdown);
    let excerpt = input
        .excerpt
        .clone()
        .unwrap_or_else(|| markdown::excerpt(&input.body_markdown, EXCERPT_CHARS));
    db::write_transaction(conn, |conn| {
        let now = db::now();
        let author_id = input.author_id.unwrap_or(caller.user_id);
        check_author(conn, caller, author_id)?;
        let (status, published_at) = stored_status(input.status, input.published_at, now)?;
        if status == "published" {
            policy::require(caller, Action::Publish, Some(author_id))?;
        }
        crate::service::media::item::check_feature_image(conn, input.feature_image_id)?;
        let mut recorded = ChangeSet::default();
        let tag_ids = tags::resolve_for_article(conn, caller, &input.tags, &mut recorded)?;
        let template = NewArticle {
            slug: "",
            title: &input.title,
            excerpt: &excerpt,
            body_html: &rendered.html,
            reading_time: rendered.reading_time,
            body_markdown: &input.body_markdown,
            feature_image: input.feature_image.as_deref(),
            feature_image_id: input.feature_image_id,
            status,
            published_at,
            author_id,
            created_at: now,
            updated_at: now,
            search_tags: "",
            search_author: "",
        };
        let id = match &input.slug {
            Some(slug) if rows::slug_taken(conn, slug, None)? => {
                return Err(AppError::conflict("slug", "is already taken"));
            }
            Some(slug) => rows::insert_unless_slug_taken(conn, &NewArticle { slug, ..template })?
                .ok_or_else(|| AppError::conflict("slug", "is already taken"))?,
            None => slugs::insert_with_free_slug(
                conn,
                &slugs::slugify(&input.title, "article"),
                rows::slugs_like,
                |conn, slug| {
                    Ok(rows::insert_unless_slug_taken(
                        conn,
                        &NewArticle { slug, ..template },
                    )?)
                },
            )?,
        };
        rows::set_tags(conn, id, &tag_ids)?;
        let row = rows::find(conn, id)?.ok_or(AppError::NotFound("article"))?;
        let after = ArticleShape {
            id,
            slug: row.slug.clone(),
            author_id,
            tag_ids,
            counted: changes::counted(status, published_at, now, now),
        };
        recorded.push(Change::Article {
            before: None,
            after: Some(after),
        });
        recorded.push(Change::ArticleEdited(Box::new(Edit {
            article_id: id,
            editor_id: caller.user_id,
            restored_from: None,
            keep: keep_revisions,
            before: None,
        })));
        let article = full_article(conn, row, now)?;
        recorded.apply(conn)?;
        Ok(article)
    })
}

/// What the consumers of changes know of a stored article (`changes::ArticleShape`).
fn shape_of(
    conn: &mut DbConn,
    row: &ArticleRow,
    watermark: NaiveDateTime,
) -> Result<ArticleShape, AppError> {
    Ok(ArticleShape {
        id: row.id,
        slug: row.slug.clone(),
        author_id: row.author_id,
        tag_ids: db::tags::ids_for_articles(conn, &[row.id])?
            .remove(&row.id)
            .unwrap_or_default(),
        counted: changes::counted(&row.status, row.published_at, row.updated_at, watermark),
    })
}

/// Loads an article for a change and checks the caller may make it. Someone who may not see
/// the article gets 404; someone who sees it but may not change it gets 403. On PostgreSQL the
/// row stays locked until the change is committed, so of a change and a deletion racing, the
/// second sees the first's outcome (a new version: 412; gone: 404).
fn editable(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    now: NaiveDateTime,
) -> Result<ArticleRow, AppError> {
    let current = rows::find_for_update(conn, id)?
        .filter(|r| seen_by_editor(r, caller, now))
        .ok_or(AppError::NotFound("article"))?;
    let action = edit_action(&current);
    policy::require(caller, action, Some(current.author_id))?;
    Ok(current)
}

/// Applies a change if the article is still at `expected` (its ETag's version); otherwise
/// nothing is written and the caller gets 412.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
    patch: ArticlePatch,
    keep_revisions: u32,
) -> Result<Article, AppError> {
    update_restoring(conn, caller, id, expected, patch, keep_revisions, None)
}

/// As `update`; the revision it records names the version it restored, if any.
pub fn update_restoring(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
    patch: ArticlePatch,
    keep_revisions: u32,
    restored_from: Option<i32>,
) -> Result<Article, AppError> {
    let rendered = patch.body_markdown.as_deref().map(render);
    db::write_transaction(conn, |conn| {
        let now = db::now();
        let current = editable(conn, caller, id, now)?;
        let expected = expected
            .filter(|&v| v == current.version)
            .ok_or(AppError::PreconditionFailed)?;
        let author_id = patch.author_id.unwrap_or(current.author_id);
        if author_id != current.author_id {
            check_author(conn, caller, author_id)?;
        }
        let watermark = counters::watermark_for_write(conn)?;
        let before = shape_of(conn, &current, watermark)?;
        let mut recorded = ChangeSet::default();

        let mut columns = ArticleChanges {
            updated_at: Some(now),
            ..ArticleChanges::default()
        };
        if patch.status.is_some() || patch.published_at.is_some() {
            let requested =
                patch
                    .status
                    .unwrap_or(match (current.status.as_str(), current.published_at) {
                        ("published", Some(at)) if at > now => RequestedStatus::Scheduled,
                        ("published", _) => RequestedStatus::Published,
                        _ => RequestedStatus::Draft,
                    });
            let published_at = match patch.published_at {
                Some(at) => at,
                // Publishing a scheduled article without a time means now.
                None if requested == RequestedStatus::Published
                    && current.published_at.is_some_and(|at| at > now) =>
                {
                    None
                }
                // Re-publishing keeps the original time; a new publication gets now.
                None if current.status == "published" => current.published_at.map(|t| t.and_utc()),
                None => None,
            };
            let (status, at) = stored_status(requested, published_at, now)?;
            let goes_public = status == "published"
                && (current.status != "published" || current.published_at != at);
            if goes_public {
                policy::require(caller, Action::Publish, Some(author_id))?;
            }
            columns.status = Some(status.to_owned());
            columns.published_at = Some(at);
        }
        columns.title.clone_from(&patch.title);
        if let Some(slug) = patch.slug.as_ref().filter(|s| **s != current.slug) {
            if rows::slug_taken(conn, slug, Some(id))? {
                return Err(AppError::conflict("slug", "is already taken"));
            }
            columns.slug = Some(slug.clone());
        }
        let body = patch
            .body_markdown
            .as_deref()
            .unwrap_or(&current.body_markdown);
        if let Some(rendered) = &rendered {
            columns.body_html = Some(rendered.html.clone());
            columns.reading_time = Some(rendered.reading_time);
        }
        match &patch.excerpt {
            Some(Some(excerpt)) => columns.excerpt = Some(excerpt.clone()),
            // Cleared, or the body changed under a derived excerpt: derive it again.
            Some(None) => columns.excerpt = Some(markdown::excerpt(body, EXCERPT_CHARS)),
            None if patch.body_markdown.is_some()
                && current.excerpt == markdown::excerpt(&current.body_markdown, EXCERPT_CHARS) =>
            {
                columns.excerpt = Some(markdown::excerpt(body, EXCERPT_CHARS));
            }
            None => {}
        }
        columns.body_markdown = patch.body_markdown.clone();
        columns.feature_image.clone_from(&patch.feature_image);
        if let Some(media) = patch.feature_image_id {
            crate::service::media::item::check_feature_image(conn, media)?;
            columns.feature_image_id = Some(media);
        }
        if author_id != current.author_id {
            columns.author_id = Some(author_id);
        }
        // The version check first: of two concurrent editors, the loser writes nothing at all.
        if !rows::update_if_version(conn, id, expected, &columns)? {
            return Err(AppError::PreconditionFailed);
        }
        if let Some(names) = &patch.tags {
            let tag_ids = tags::resolve_for_article(conn, caller, names, &mut recorded)?;
            rows::set_tags(conn, id, &tag_ids)?;
        }
        let row = rows::find(conn, id)?.ok_or(AppError::NotFound("article"))?;
        let after = shape_of(conn, &row, watermark)?;
        let before_tags = before.tag_ids.clone();
        recorded.push(Change::Article {
            before: Some(before),
            after: Some(after),
        });
        recorded.push(Change::ArticleEdited(Box::new(Edit {
            article_id: id,
            editor_id: caller.user_id,
            restored_from,
            keep: keep_revisions,
            before: Some((current, before_tags)),
        })));
        let article = full_article(conn, row, now)?;
        recorded.apply(conn)?;
        Ok(article)
    })
}

/// Deletes an article if it is still at `expected`.
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
) -> Result<(), AppError> {
    db::write_transaction(conn, |conn| {
        let current = editable(conn, caller, id, db::now())?;
        let expected = expected
            .filter(|&v| v == current.version)
            .ok_or(AppError::PreconditionFailed)?;
        let watermark = counters::watermark_for_write(conn)?;
        let before = shape_of(conn, &current, watermark)?;
        if !rows::delete_if_version(conn, id, expected)? {
            return Err(AppError::PreconditionFailed);
        }
        let mut recorded = ChangeSet::default();
        recorded.push(Change::Article {
            before: Some(before),
            after: None,
        });
        recorded.apply(conn)
    })
}
