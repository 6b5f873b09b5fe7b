//! Articles: who may see which (here), how a filtered list is paged and counted (`list`), and
//! how they are written (`write`).

mod list;
mod write;

pub use list::{
    ArticleLists, ArticlePage, ArticleQuery, CountMode, Position, TagMatch, Total, list,
};
pub use write::{
    ArticleInput, ArticlePatch, RequestedStatus, create, delete, update, update_restoring,
};

use std::collections::HashMap;
use std::ops::Range;

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::db::articles::{self as rows, ArticleRow, ArticleSummaryRow};
use crate::db::tags::TagRow;
use crate::db::users::AuthorRow;
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::service::media::item::MediaItem;
use crate::service::policy::{self, Action};
use crate::service::utc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleStatus {
    Draft,
    Published,
    Scheduled,
}

impl ArticleStatus {
    /// "Scheduled" is not stored: it is a published article whose time has not come.
    pub(crate) fn of(
        stored: &str,
        published_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        match (stored, published_at) {
            ("published", Some(at)) if at > now => Self::Scheduled,
            ("published", _) => Self::Published,
            _ => Self::Draft,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Scheduled => "scheduled",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthorRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub avatar: Option<String>,
}

impl From<AuthorRow> for AuthorRef {
    fn from(a: AuthorRow) -> Self {
        Self {
            id: a.id,
            slug: a.slug,
            name: a.name,
            avatar: a.avatar,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TagRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct ArticleSummary {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub feature_image: Option<String>,
    /// The media item shown as the feature image, with its variants.
    pub feature_image_media: Option<MediaItem>,
    pub status: ArticleStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub reading_time: i32,
    pub author: AuthorRef,
    pub tags: Vec<TagRef>,
    /// Only when a list asks for bodies (`Parts::bodies`).
    pub body_html: Option<String>,
    /// Only in a search (`q`): how well it matched, and where.
    pub search: Option<SearchHit>,
    /// When what readers see of the article last changed: the article, its author's or a
    /// tag's name, or its status turning from scheduled to published.
    pub last_modified: DateTime<Utc>,
}

/// Why an article is in a search's results.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// Where it matched (`service::search::Tier`): 3 the title, 2 the excerpt, 1 elsewhere.
    pub rank: u8,
    /// Where the title and the excerpt hold the query's words (`Marked::marks`).
    pub title_marks: Vec<Range<usize>>,
    pub excerpt_marks: Vec<Range<usize>>,
}

#[derive(Debug, Clone)]
pub struct Article {
    pub summary: ArticleSummary,
    pub body_markdown: String,
    pub body_html: String,
    pub created_at: DateTime<Utc>,
    pub version: i32,
}

/// What a list loads besides the rows and their authors: bodies cost one statement, tags
/// none while the tags held in memory are current (`service::tags::catalog`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub tags: bool,
    pub bodies: bool,
}

impl Parts {
    pub const SUMMARIES: Self = Self {
        tags: true,
        bodies: false,
    };
}

/// Summaries of a page of rows (with their authors and `tag_rows`, their tags as
/// `db::tags::for_articles` orders them), with bodies and feature images in one statement
/// each, whatever the page size.
fn summaries(
    conn: &mut DbConn,
    rows: Vec<(ArticleSummaryRow, AuthorRow)>,
    tag_rows: Vec<(i64, TagRow)>,
    now: chrono::NaiveDateTime,
    parts: Parts,
) -> Result<Vec<ArticleSummary>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
    let mut tags: HashMap<i64, Vec<TagRef>> = HashMap::new();
    let mut tags_changed: HashMap<i64, chrono::NaiveDateTime> = HashMap::new();
    let mut bodies: HashMap<i64, String> = if parts.bodies {
        db::articles::bodies(conn, &ids)?.into_iter().collect()
    } else {
        HashMap::new()
    };
    let media_ids: Vec<i64> = rows
        .iter()
        .filter_map(|(r, _)| r.feature_image_id)
        .collect();
    let media: HashMap<i64, MediaItem> = crate::service::media::item::by_ids(conn, &media_ids)?
        .into_iter()
        .map(|item| (item.row.id, item))
        .collect();
    for (article_id, tag) in tag_rows {
        let changed = tags_changed.entry(article_id).or_insert(tag.updated_at);
        *changed = (*changed).max(tag.updated_at);
        tags.entry(article_id).or_default().push(TagRef {
            id: tag.id,
            slug: tag.slug,
            name: tag.name,
        });
    }
    Ok(rows
        .into_iter()
        .map(|(row, author)| {
            let published_at = row.published_at.map(utc);
            let feature_image_media = row.feature_image_id.and_then(|id| media.get(&id).cloned());
            let last_modified = [
                Some(row.updated_at),
                feature_image_media.as_ref().map(|m| m.row.updated_at),
                Some(author.updated_at),
                tags_changed.get(&row.id).copied(),
                row.published_at.filter(|at| *at <= now),
            ]
            .into_iter()
            .flatten()
            .max()
            .map_or(utc(row.updated_at), utc);
            ArticleSummary {
                last_modified,
                status: ArticleStatus::of(&row.status, published_at, utc(now)),
                id: row.id,
                slug: row.slug,
                title: row.title,
                excerpt: row.excerpt,
                feature_image: row.feature_image,
                feature_image_media,
                published_at,
                updated_at: utc(row.updated_at),
                reading_time: row.reading_time,
                tags: tags.remove(&row.id).unwrap_or_default(),
                body_html: bodies.remove(&row.id),
                search: None,
                author: author.into(),
            }
        })
        .collect())
}

/// How a single article is looked up.
#[derive(Debug, Clone)]
pub enum ArticleKey {
    Id(i64),
    Slug(String),
}

/// Whether `viewer` may see this article. A draft or a not-yet-due scheduled article that
/// the caller may not see is "not found", so its existence is not revealed.
fn visible(row: &ArticleRow, viewer: Option<&Caller>, now: chrono::NaiveDateTime) -> bool {
    let public = row.status == "published" && row.published_at.is_some_and(|at| at <= now);
    public
        || viewer.is_some_and(|caller| {
            policy::permits(
                caller,
                Action::ReadUnpublished,
                row.author_id == caller.user_id,
            )
        })
}

/// Whether `caller` can see this article in order to change it: it is public, their own, or
/// their role (and token) may read unpublished articles. What they may then do with it is
/// `edit_action`'s question.
pub(crate) fn seen_by_editor(
    row: &ArticleRow,
    caller: &Caller,
    now: chrono::NaiveDateTime,
) -> bool {
    // One's own drafts are always one's to edit (a token that may write but not read drafts
    // still edits its own); someone else's unpublished article needs the role and, for a
    // token, `content:read`, so a write-only token learns nothing of others' drafts.
    visible(row, None, now)
        || row.author_id == caller.user_id
        || policy::permits(caller, Action::ReadUnpublished, false)
}

/// What changing (or deleting) this article takes.
pub(crate) fn edit_action(row: &ArticleRow) -> Action {
    if row.status == "draft" {
        Action::EditDraft
    } else {
        Action::EditPublished
    }
}

/// One article as `viewer` (or an anonymous reader) may see it.
pub fn get(
    conn: &mut DbConn,
    viewer: Option<&Caller>,
    key: &ArticleKey,
) -> Result<Article, AppError> {
    let now = db::now();
    let row = match key {
        ArticleKey::Id(id) => rows::find(conn, *id)?,
        ArticleKey::Slug(slug) => rows::find_by_slug(conn, slug)?,
    };
    let row = row
        .filter(|r| visible(r, viewer, now))
        .ok_or(AppError::NotFound("article"))?;
    full_article(conn, row, now)
}

pub fn full_article(
    conn: &mut DbConn,
    row: ArticleRow,
    now: chrono::NaiveDateTime,
) -> Result<Article, AppError> {
    let ArticleRow {
        id,
        slug,
        title,
        excerpt,
        body_markdown,
        body_html,
        feature_image,
        feature_image_id,
        status,
        published_at,
        author_id,
        reading_time,
        version,
        created_at,
        updated_at,
    } = row;
    let summary_row = ArticleSummaryRow {
        id,
        slug,
        title,
        excerpt,
        feature_image,
        feature_image_id,
        status,
        published_at,
        updated_at,
        reading_time,
        author_id,
        tag_ids: None,
        tags_version: None,
    };
    let author = db::users::authors_by_ids(conn, &[author_id])?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("article {id} has no author row"))?;
    let tag_rows = db::tags::for_articles(conn, &[id])?;
    let summary = summaries(
        conn,
        vec![(summary_row, author)],
        tag_rows,
        now,
        Parts::SUMMARIES,
    )?
    .pop()
    .ok_or_else(|| anyhow::anyhow!("article {id} vanished while loading"))?;
    Ok(Article {
        summary,
        body_markdown,
        body_html,
        created_at: utc(created_at),
        version,
    })
}
