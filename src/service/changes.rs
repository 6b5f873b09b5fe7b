//! What a write changed, recorded by the service that made it, inside its transaction, and
//! handed from here to every consumer in that same transaction: the published-article
//! counters, the search index's names, the articles' revisions, the webhook outbox, the
//! content clock and the
//! announcement to other
//! instances (PostgreSQL NOTIFY, delivered on commit). So a rolled-back write changes
//! nothing anywhere, and a committed one changes everything. After the commit,
//! `AppState::write` drops this instance's caches.
//!
//! Consumers never hook into handlers or services: they read `Change` values here.

use std::collections::HashSet;

use crate::db::counters::{self, Deltas, Scope};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::service::revisions::{self, Edit};
use crate::service::webhooks;
use crate::service::webhooks::events::{EventType, Subject};

/// The facts about an article that its consumers depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleShape {
    pub id: i64,
    /// For the `article.deleted` event, which can no longer read it.
    pub slug: String,
    pub author_id: i64,
    pub tag_ids: Vec<i64>,
    /// Counted as published (see `db::counters`): published, and its time had come when it
    /// was last written or the due-articles job has reached its time. It turns true when
    /// readers start to see the article, and false when they stop.
    pub counted: bool,
}

/// One thing a write changed.
#[derive(Debug, Clone)]
pub enum Change {
    /// An article was created (`before` is `None`), changed, came due (counted without a
    /// write), or deleted (`after` is `None`).
    Article {
        before: Option<ArticleShape>,
        after: Option<ArticleShape>,
    },
    /// Someone wrote an article's content (created, changed or restored it): its history
    /// gets a revision. Beside the `Article` change of the same write.
    ArticleEdited(Box<Edit>),
    TagCreated {
        id: i64,
    },
    TagUpdated {
        id: i64,
    },
    TagDeleted {
        id: i64,
        slug: String,
        /// The articles that carried it.
        tagged: Vec<i64>,
    },
    /// What readers see of a user (name, bio, avatar) changed.
    AuthorUpdated {
        id: i64,
    },
    /// The site's description or URL templates changed (feeds and the sitemap with them).
    SiteUpdated,
    /// A user was deleted; their articles went to `heir`.
    AuthorDeleted {
        id: i64,
        heir: i64,
    },
    /// The media item these articles show as their feature image changed (its alt text or
    /// caption) or was taken off them.
    FeatureImageChanged {
        articles: Vec<i64>,
    },
}

/// The changes of one write transaction. The write collects them as it goes and hands them
/// to the consumers together when it is done (`apply`, its last statements), so every
/// transaction takes the consumers' locks in one order (counters by key, then the content
/// clock) and holds them only until its commit.
#[derive(Debug, Default)]
#[must_use = "a change set does nothing until it is applied"]
pub struct ChangeSet(Vec<Change>);

impl ChangeSet {
    pub fn push(&mut self, change: Change) {
        self.0.push(change);
    }

    /// Hands every change to every consumer, inside the caller's transaction.
    pub fn apply(self, conn: &mut DbConn) -> Result<(), AppError> {
        if self.0.is_empty() {
            return Ok(());
        }
        count(conn, &self.0)?;
        index_names(conn, &self.0)?;
        for change in &self.0 {
            if let Change::ArticleEdited(edit) = change {
                revisions::record(conn, edit)?;
            }
        }
        webhooks::events::enqueue(conn, webhook_events(&self.0))?;
        counters::touch_content_clock(conn, db::now())?;
        db::notify::announce_content_change(conn)?;
        Ok(())
    }
}

/// Keeps `article_counts` in step with the changes.
fn count(conn: &mut DbConn, changes: &[Change]) -> Result<(), AppError> {
    let mut deltas = Deltas::new();
    let mut forgotten = Vec::new();
    for change in changes {
        match change {
            Change::Article { before, after } => {
                for (shape, sign) in [(before, -1), (after, 1)] {
                    if let Some(shape) = shape.as_ref().filter(|s| s.counted) {
                        *deltas.entry((Scope::All, 0)).or_default() += sign;
                        *deltas.entry((Scope::Author, shape.author_id)).or_default() += sign;
                        for &tag_id in &shape.tag_ids {
                            *deltas.entry((Scope::Tag, tag_id)).or_default() += sign;
                        }
                    }
                }
            }
            Change::TagDeleted { id, .. } => forgotten.push((Scope::Tag, *id)),
            Change::AuthorDeleted { id, heir } => {
                let moved = counters::get(conn, Scope::Author, *id)?;
                *deltas.entry((Scope::Author, *heir)).or_default() += moved;
                forgotten.push((Scope::Author, *id));
            }
            Change::TagCreated { .. }
            | Change::TagUpdated { .. }
            | Change::AuthorUpdated { .. }
            | Change::ArticleEdited(_)
            | Change::FeatureImageChanged { .. }
            | Change::SiteUpdated => {}
        }
    }
    counters::add(conn, &deltas)?;
    for (scope, id) in forgotten {
        counters::forget(conn, scope, id)?;
    }
    Ok(())
}

/// Keeps the tag and author names the search index reads (`db::search::refresh_names`) in
/// step with the articles, tags and users the changes touched; rows whose names are the same
/// are left alone.
fn index_names(conn: &mut DbConn, changes: &[Change]) -> Result<(), AppError> {
    let mut ids = Vec::new();
    for change in changes {
        match change {
            Change::Article {
                after: Some(after), ..
            } => ids.push(after.id),
            Change::TagUpdated { id } => ids.extend(db::search::articles_with_tag(conn, *id)?),
            Change::TagDeleted { tagged, .. } => ids.extend_from_slice(tagged),
            Change::AuthorUpdated { id } => ids.extend(db::search::articles_by(conn, *id)?),
            Change::AuthorDeleted { heir, .. } => {
                ids.extend(db::search::articles_by(conn, *heir)?);
            }
            Change::Article { after: None, .. }
            | Change::ArticleEdited(_)
            | Change::TagCreated { .. }
            | Change::FeatureImageChanged { .. }
            | Change::SiteUpdated => {}
        }
    }
    ids.sort_unstable();
    ids.dedup();
    // In slices, so that a tag on half a million articles is not one statement's worth of ids.
    for slice in ids.chunks(10_000) {
        db::search::refresh_names(conn, slice)?;
    }
    Ok(())
}

/// The events a transaction's changes make. An article is `updated` when someone wrote it,
/// `published` when readers start to see it (at once, or when its scheduled time comes) and
/// `unpublished` when they stop.
fn webhook_events(changes: &[Change]) -> Vec<(EventType, Subject)> {
    let edited: HashSet<i64> = changes
        .iter()
        .filter_map(|c| match c {
            Change::ArticleEdited(edit) => Some(edit.article_id),
            _ => None,
        })
        .collect();
    let mut events = Vec::new();
    for change in changes {
        match change {
            Change::Article { before, after } => match (before, after) {
                (None, Some(after)) => {
                    events.push((EventType::ArticleCreated, Subject::Article(after.id)));
                    if after.counted {
                        events.push((EventType::ArticlePublished, Subject::Article(after.id)));
                    }
                }
                (Some(before), Some(after)) => {
                    if edited.contains(&after.id) {
                        events.push((EventType::ArticleUpdated, Subject::Article(after.id)));
                    }
                    match (before.counted, after.counted) {
                        (false, true) => {
                            events.push((EventType::ArticlePublished, Subject::Article(after.id)));
                        }
                        (true, false) => {
                            events.push((EventType::ArticleUnpublished, Subject::Article(after.id)))
                        }
                        _ => {}
                    }
                }
                (Some(before), None) => events.push((
                    EventType::ArticleDeleted,
                    Subject::Gone {
                        id: before.id,
                        slug: before.slug.clone(),
                    },
                )),
                (None, None) => {}
            },
            Change::TagCreated { id } => events.push((EventType::TagCreated, Subject::Tag(*id))),
            Change::TagUpdated { id } => events.push((EventType::TagUpdated, Subject::Tag(*id))),
            Change::TagDeleted { id, slug, .. } => events.push((
                EventType::TagDeleted,
                Subject::Gone {
                    id: *id,
                    slug: slug.clone(),
                },
            )),
            Change::FeatureImageChanged { articles } => events.extend(
                articles
                    .iter()
                    .map(|&id| (EventType::ArticleUpdated, Subject::Article(id))),
            ),
            Change::ArticleEdited(_)
            | Change::AuthorUpdated { .. }
            | Change::AuthorDeleted { .. }
            | Change::SiteUpdated => {}
        }
    }
    events
}

/// Whether a stored article counts as published (see `ArticleShape::counted`), given the
/// watermark of the due-articles job.
pub fn counted(
    status: &str,
    published_at: Option<chrono::NaiveDateTime>,
    updated_at: chrono::NaiveDateTime,
    watermark: chrono::NaiveDateTime,
) -> bool {
    status == "published" && published_at.is_some_and(|at| at <= updated_at || at <= watermark)
}

/// Counts the scheduled articles whose time has come since the job last ran, and moves the
/// watermark to now. Safe to run on several instances at once: the watermark row is locked,
/// so a second run finds nothing left to count.
pub fn count_due_articles(conn: &mut DbConn) -> Result<usize, AppError> {
    db::write_transaction(conn, |conn| {
        let now = db::now();
        let watermark = counters::lock_watermark(conn)?;
        if now <= watermark {
            return Ok(0);
        }
        let due = counters::came_due(conn, watermark, now)?;
        let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
        let mut tags = db::tags::ids_for_articles(conn, &ids)?;
        let mut changes = ChangeSet::default();
        for article in &due {
            let after = ArticleShape {
                id: article.id,
                slug: article.slug.clone(),
                author_id: article.author_id,
                tag_ids: tags.remove(&article.id).unwrap_or_default(),
                counted: true,
            };
            let before = ArticleShape {
                counted: false,
                ..after.clone()
            };
            changes.push(Change::Article {
                before: Some(before),
                after: Some(after),
            });
        }
        changes.apply(conn)?;
        counters::set_watermark(conn, now)?;
        Ok(due.len())
    })
}
