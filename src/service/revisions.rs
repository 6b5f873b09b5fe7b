//! Article history. Every create, change and restore of an article records a revision: its
//! content as it then was, under the version it then had, with who made it. The revision is
//! written by the change set (`changes::Change::ArticleEdited`), in the write's transaction.
//! Who may read an article's history, compare and restore it is who may edit the article.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use similar::TextDiff;

use super::articles::{self, Article, ArticlePatch, ArticleStatus, AuthorRef, RequestedStatus};
use super::utc;
use crate::auth::Caller;
use crate::db::articles::{self as article_rows, ArticleRow};
use crate::db::revisions::{self as rows, RevisionRow};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::service::policy;

/// What a write tells the history: the article, who wrote it, and what it was before.
#[derive(Debug, Clone)]
pub struct Edit {
    pub article_id: i64,
    pub editor_id: i64,
    /// The version this write restored, if it was a restore.
    pub restored_from: Option<i32>,
    /// Revisions kept per article (`FOLIO_REVISIONS_KEEP`; 0 keeps all).
    pub keep: u32,
    /// The article before a change, with its tag ids: recorded first if the history does not
    /// hold it yet (an article written before revisions existed).
    pub before: Option<(ArticleRow, Vec<i64>)>,
}

/// A tag as an article carried it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagSnapshot {
    pub id: i64,
    pub name: String,
}

/// The fields a revision holds, in the order a diff lists them.
pub const FIELDS: [&str; 9] = [
    "title",
    "slug",
    "excerpt",
    "body_markdown",
    "feature_image",
    "status",
    "published_at",
    "author_id",
    "tags",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub title: String,
    pub slug: String,
    pub excerpt: String,
    pub body_markdown: String,
    pub feature_image: Option<String>,
    /// As stored: `draft` or `published` (scheduled is published with a future time).
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub author_id: i64,
    pub tags: Vec<TagSnapshot>,
}

impl Content {
    fn of_article(row: &ArticleRow, tags: Vec<TagSnapshot>) -> Self {
        Self {
            title: row.title.clone(),
            slug: row.slug.clone(),
            excerpt: row.excerpt.clone(),
            body_markdown: row.body_markdown.clone(),
            feature_image: row.feature_image.clone(),
            status: row.status.clone(),
            published_at: row.published_at,
            author_id: row.author_id,
            tags,
        }
    }

    fn of_revision(row: &RevisionRow) -> Result<Self, AppError> {
        let tags = serde_json::from_str(&row.tags).map_err(|e| {
            anyhow::anyhow!(
                "revision {} of article {} has unreadable tags: {e}",
                row.version,
                row.article_id
            )
        })?;
        Ok(Self {
            title: row.title.clone(),
            slug: row.slug.clone(),
            excerpt: row.excerpt.clone(),
            body_markdown: row.body_markdown.clone(),
            feature_image: row.feature_image.clone(),
            status: row.status.clone(),
            published_at: row.published_at,
            author_id: row.author_id,
            tags,
        })
    }

    /// The status as readers would see this content now: a scheduled version whose time has
    /// passed is published.
    pub fn status_now(&self, now: NaiveDateTime) -> ArticleStatus {
        ArticleStatus::of(&self.status, self.published_at.map(utc), utc(now))
    }

    /// One field's value as a diff shows it.
    fn value(&self, field: &str, now: NaiveDateTime) -> Value {
        match field {
            "title" => json!(self.title),
            "slug" => json!(self.slug),
            "excerpt" => json!(self.excerpt),
            "body_markdown" => json!(self.body_markdown),
            "feature_image" => json!(self.feature_image),
            "status" => json!(self.status_now(now).as_str()),
            "published_at" => json!(self.published_at.map(|t| t.and_utc())),
            "author_id" => json!(self.author_id),
            _ => json!(self.tags.iter().map(|t| &t.name).collect::<Vec<_>>()),
        }
    }

    /// The fields that differ from `earlier` (all of them when there is none).
    fn changed_since(&self, earlier: Option<&Self>) -> Vec<&'static str> {
        let Some(earlier) = earlier else {
            return FIELDS.to_vec();
        };
        let tag_ids = |c: &Self| {
            let mut ids: Vec<i64> = c.tags.iter().map(|t| t.id).collect();
            ids.sort_unstable();
            ids
        };
        let differs = [
            self.title != earlier.title,
            self.slug != earlier.slug,
            self.excerpt != earlier.excerpt,
            self.body_markdown != earlier.body_markdown,
            self.feature_image != earlier.feature_image,
            self.status != earlier.status,
            self.published_at != earlier.published_at,
            self.author_id != earlier.author_id,
            tag_ids(self) != tag_ids(earlier),
        ];
        FIELDS
            .into_iter()
            .zip(differs)
            .filter_map(|(field, differs)| differs.then_some(field))
            .collect()
    }
}

fn new_row(
    article_id: i64,
    version: i32,
    editor_id: Option<i64>,
    created_at: NaiveDateTime,
    restored_from: Option<i32>,
    changed: &[&str],
    content: Content,
) -> Result<RevisionRow, AppError> {
    Ok(RevisionRow {
        article_id,
        version,
        editor_id,
        created_at,
        restored_from,
        changed: changed.join(" "),
        tags: serde_json::to_string(&content.tags).map_err(anyhow::Error::from)?,
        title: content.title,
        slug: content.slug,
        excerpt: content.excerpt,
        body_markdown: content.body_markdown,
        feature_image: content.feature_image,
        status: content.status,
        published_at: content.published_at,
        author_id: content.author_id,
    })
}

fn snapshots(pairs: Vec<(i64, String)>) -> Vec<TagSnapshot> {
    pairs
        .into_iter()
        .map(|(id, name)| TagSnapshot { id, name })
        .collect()
}

/// Records the revision for one write (a consumer of the change set: runs in its transaction).
pub fn record(conn: &mut DbConn, edit: &Edit) -> Result<(), AppError> {
    // A new article has no history to compare with.
    let mut previous = match edit.before {
        Some(_) => rows::latest_before(conn, edit.article_id, None)?,
        None => None,
    };
    if let Some((before, tag_ids)) = &edit.before
        && previous
            .as_ref()
            .is_none_or(|p| p.version != before.version)
    {
        let earlier = previous.as_ref().map(Content::of_revision).transpose()?;
        let content =
            Content::of_article(before, snapshots(db::tags::names_by_ids(conn, tag_ids)?));
        let changed = content.changed_since(earlier.as_ref());
        let baseline = new_row(
            edit.article_id,
            before.version,
            None,
            before.updated_at,
            None,
            &changed,
            content,
        )?;
        rows::insert(conn, &baseline)?;
        previous = Some(baseline);
    }
    let row = article_rows::find(conn, edit.article_id)?.ok_or(AppError::NotFound("article"))?;
    let tags = db::tags::for_articles(conn, &[row.id])?
        .into_iter()
        .map(|(_, tag)| (tag.id, tag.name))
        .collect();
    let content = Content::of_article(&row, snapshots(tags));
    let earlier = previous.as_ref().map(Content::of_revision).transpose()?;
    let changed = content.changed_since(earlier.as_ref());
    let revision = new_row(
        row.id,
        row.version,
        Some(edit.editor_id),
        row.updated_at,
        edit.restored_from,
        &changed,
        content,
    )?;
    rows::insert(conn, &revision)?;
    // Versions only grow, one per revision at most: until the version passes `keep`, there
    // cannot be more than `keep` revisions.
    if edit.keep > 0 && i64::from(row.version) > i64::from(edit.keep) {
        rows::prune(conn, row.id, i64::from(edit.keep))?;
    }
    Ok(())
}

/// One entry of an article's history.
#[derive(Debug, Clone)]
pub struct RevisionSummary {
    pub version: i32,
    /// Who made it; `None` once they are deleted, or for the content an article had before
    /// revisions were kept.
    pub editor: Option<AuthorRef>,
    pub created_at: NaiveDateTime,
    pub restored_from: Option<i32>,
    pub changed: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub summary: RevisionSummary,
    pub content: Content,
    /// The content's status as of now (`Content::status_now`).
    pub status: ArticleStatus,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub revisions: Vec<RevisionSummary>,
    /// The version to continue below, if there are older revisions.
    pub next_before: Option<i32>,
}

/// The article whose history `caller` asks for. Someone who may not edit it gets 404, as if
/// it had no history; a token whose role may edit it but whose scopes do not cover it, 403.
fn article_for_history(
    conn: &mut DbConn,
    caller: &Caller,
    article_id: i64,
) -> Result<ArticleRow, AppError> {
    let now = db::now();
    let row = article_rows::find(conn, article_id)?
        .filter(|row| {
            articles::seen_by_editor(row, caller, now)
                && policy::allows(
                    caller.role,
                    articles::edit_action(row),
                    row.author_id == caller.user_id,
                )
        })
        .ok_or(AppError::NotFound("article"))?;
    policy::require_scope(caller, articles::edit_action(&row).scope())?;
    Ok(row)
}

fn editors(
    conn: &mut DbConn,
    ids: impl IntoIterator<Item = Option<i64>>,
) -> Result<HashMap<i64, AuthorRef>, AppError> {
    let mut ids: Vec<i64> = ids.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(db::users::authors_by_ids(conn, &ids)?
        .into_iter()
        .map(|a| (a.id, AuthorRef::from(a)))
        .collect())
}

fn changed_names(changed: &str) -> Vec<String> {
    changed.split_whitespace().map(str::to_owned).collect()
}

/// A page of an article's history, newest first.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    article_id: i64,
    before: Option<i32>,
    limit: i64,
) -> Result<HistoryPage, AppError> {
    article_for_history(conn, caller, article_id)?;
    let mut page = rows::page(conn, article_id, before, limit + 1)?;
    let more = super::trim_to_page(&mut page, limit);
    let editors = editors(conn, page.iter().map(|r| r.editor_id))?;
    let next_before = page.last().map(|r| r.version).filter(|_| more);
    let revisions = page
        .into_iter()
        .map(|r| RevisionSummary {
            version: r.version,
            editor: r.editor_id.and_then(|id| editors.get(&id).cloned()),
            created_at: r.created_at,
            restored_from: r.restored_from,
            changed: changed_names(&r.changed),
        })
        .collect();
    Ok(HistoryPage {
        revisions,
        next_before,
    })
}

fn load(conn: &mut DbConn, article_id: i64, version: i32) -> Result<Revision, AppError> {
    let row = rows::find(conn, article_id, version)?.ok_or(AppError::NotFound("revision"))?;
    let content = Content::of_revision(&row)?;
    let editor = match row.editor_id {
        Some(id) => editors(conn, [Some(id)])?.remove(&id),
        None => None,
    };
    Ok(Revision {
        summary: RevisionSummary {
            version: row.version,
            editor,
            created_at: row.created_at,
            restored_from: row.restored_from,
            changed: changed_names(&row.changed),
        },
        status: content.status_now(db::now()),
        content,
    })
}

/// One revision, whole.
pub fn get(
    conn: &mut DbConn,
    caller: &Caller,
    article_id: i64,
    version: i32,
) -> Result<Revision, AppError> {
    article_for_history(conn, caller, article_id)?;
    load(conn, article_id, version)
}

/// One field that differs between two revisions.
#[derive(Debug, Clone)]
pub struct FieldChange {
    pub field: &'static str,
    /// The values (not for `body_markdown`, whose change is `unified_diff`).
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// For `body_markdown`: a line diff in unified format.
    pub unified_diff: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RevisionDiff {
    /// The earlier side; `None` when `version` is the oldest kept and none was named.
    pub from: Option<i32>,
    pub to: i32,
    pub changes: Vec<FieldChange>,
}

/// The two sides of a diff: `version`, and `against` (by default the revision before; none
/// when `version` is the oldest kept).
pub struct DiffSides {
    from: Option<Revision>,
    to: Revision,
}

/// Loads what `compare` compares; the comparison itself needs no connection.
pub fn diff_sides(
    conn: &mut DbConn,
    caller: &Caller,
    article_id: i64,
    version: i32,
    against: Option<i32>,
) -> Result<DiffSides, AppError> {
    article_for_history(conn, caller, article_id)?;
    let to = load(conn, article_id, version)?;
    let from = match against {
        Some(against) => Some(load(conn, article_id, against)?),
        None => rows::latest_before(conn, article_id, Some(version))?
            .map(|row| load(conn, article_id, row.version))
            .transpose()?,
    };
    Ok(DiffSides { from, to })
}

/// The longest a body's line diff may compute: two long, wholly different bodies would
/// otherwise take the diff algorithm a long time. Past it, the diff is correct but coarser.
const LINE_DIFF_BUDGET: std::time::Duration = std::time::Duration::from_millis(200);

/// What changed from one side to the other, field by field.
pub fn compare(sides: DiffSides) -> RevisionDiff {
    let DiffSides { from, to } = sides;
    let version = to.summary.version;
    let now = db::now();
    let earlier = from.as_ref().map(|r| &r.content);
    let changes = to
        .content
        .changed_since(earlier)
        .into_iter()
        .map(|field| {
            if field == "body_markdown" {
                let old = earlier.map_or("", |c| c.body_markdown.as_str());
                let from_name = from.as_ref().map_or_else(
                    || "empty".to_owned(),
                    |r| format!("version {}", r.summary.version),
                );
                let unified = TextDiff::configure()
                    .timeout(LINE_DIFF_BUDGET)
                    .diff_lines(old, to.content.body_markdown.as_str())
                    .unified_diff()
                    .context_radius(3)
                    .header(&from_name, &format!("version {}", to.summary.version))
                    .to_string();
                FieldChange {
                    field,
                    before: None,
                    after: None,
                    unified_diff: Some(unified),
                }
            } else {
                FieldChange {
                    field,
                    before: Some(earlier.map_or(Value::Null, |c| c.value(field, now))),
                    after: Some(to.content.value(field, now)),
                    unified_diff: None,
                }
            }
        })
        .collect();
    RevisionDiff {
        from: from.map(|r| r.summary.version),
        to: version,
        changes,
    }
}

/// Makes a new version of the article whose content is that of revision `version`, if the
/// article is still at `expected`; under the rules of any change (a contributor cannot bring
/// a published version back into publication, only an editor can give it to another author).
pub fn restore(
    conn: &mut DbConn,
    caller: &Caller,
    article_id: i64,
    version: i32,
    expected: Option<i32>,
    keep: u32,
) -> Result<Article, AppError> {
    article_for_history(conn, caller, article_id)?;
    let revision = load(conn, article_id, version)?;
    let content = revision.content;
    let now = db::now();
    let status = match content.status_now(now) {
        ArticleStatus::Scheduled => RequestedStatus::Scheduled,
        ArticleStatus::Published => RequestedStatus::Published,
        ArticleStatus::Draft => RequestedStatus::Draft,
    };
    let published_at = content
        .published_at
        .filter(|_| status != RequestedStatus::Draft);
    // Tags by their current names (one may have been renamed since); a tag deleted since
    // comes back by its old name, created again as naming a new tag on any change would.
    let ids: Vec<i64> = content.tags.iter().map(|t| t.id).collect();
    let current: HashMap<i64, String> = db::tags::names_by_ids(conn, &ids)?.into_iter().collect();
    let tags = content
        .tags
        .into_iter()
        .map(|t| current.get(&t.id).cloned().unwrap_or(t.name))
        .collect();
    // An author deleted since is not brought back: the article stays with their heir.
    let author_id = db::users::find(conn, content.author_id)?.map(|u| u.id);
    let patch = ArticlePatch {
        title: Some(content.title),
        slug: Some(content.slug),
        excerpt: Some(Some(content.excerpt)),
        body_markdown: Some(content.body_markdown),
        feature_image: Some(content.feature_image),
        // Revisions keep the plain URL only; the media library image stays as it is.
        feature_image_id: None,
        status: Some(status),
        published_at: Some(published_at.map(|t| t.and_utc())),
        tags: Some(tags),
        author_id,
    };
    articles::update_restoring(
        conn,
        caller,
        article_id,
        expected,
        patch,
        keep,
        Some(version),
    )
}
