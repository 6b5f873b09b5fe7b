//! What a write changed, recorded once by the service that made it, inside its transaction,
//! and handed from here to every consumer in that same transaction: today the published-article
//! counters. So a rolled-back write changes nothing anywhere, and a committed one changes
//! everything. After the commit, `AppState::write` drops this instance's caches.
//!
//! Consumers never hook into handlers or services: they read `Change` values here.

use crate::db::counters::{self, Deltas, Scope};
use crate::db::{self, DbConn};
use crate::error::AppError;

/// The facts about an article that its consumers depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleShape {
    pub id: i64,
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
    TagDeleted {
        id: i64,
    },
    /// A user was deleted; their articles went to `heir`.
    AuthorDeleted {
        id: i64,
        heir: i64,
    },
}

/// Hands `change` to every consumer, inside the caller's transaction.
pub fn record(conn: &mut DbConn, change: &Change) -> Result<(), AppError> {
    count(conn, change)?;
    Ok(())
}

/// Keeps `article_counts` in step with the change.
fn count(conn: &mut DbConn, change: &Change) -> Result<(), AppError> {
    match change {
        Change::Article { before, after } => {
            let mut deltas = Deltas::new();
            for (shape, sign) in [(before, -1), (after, 1)] {
                if let Some(shape) = shape.as_ref().filter(|s| s.counted) {
                    *deltas.entry((Scope::All, 0)).or_default() += sign;
                    *deltas.entry((Scope::Author, shape.author_id)).or_default() += sign;
                    for &tag_id in &shape.tag_ids {
                        *deltas.entry((Scope::Tag, tag_id)).or_default() += sign;
                    }
                }
            }
            counters::add(conn, &deltas)?;
        }
        Change::TagDeleted { id } => counters::forget(conn, Scope::Tag, *id)?,
        Change::AuthorDeleted { id, heir } => {
            let moved = counters::get(conn, Scope::Author, *id)?;
            counters::forget(conn, Scope::Author, *id)?;
            counters::add(conn, &Deltas::from([((Scope::Author, *heir), moved)]))?;
        }
    }
    Ok(())
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
        let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
        let mut tags = db::tags::ids_for_articles(conn, &ids)?;
        for (id, author_id) in &due {
            let after = ArticleShape {
                id: *id,
                author_id: *author_id,
                tag_ids: tags.remove(id).unwrap_or_default(),
                counted: true,
            };
            let before = ArticleShape {
                counted: false,
                ..after.clone()
            };
            record(
                conn,
                &Change::Article {
                    before: Some(before),
                    after: Some(after),
                },
            )?;
        }
        counters::set_watermark(conn, now)?;
        Ok(due.len())
    })
}
