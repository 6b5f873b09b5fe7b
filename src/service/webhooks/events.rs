//! Webhook events into the outbox: `changes::ChangeSet` says which events a write made, and
//! their delivery rows are written here, in the transaction of the write itself.

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{Value, json};

use super::outcome::RETRY_WINDOW;
use crate::db::webhooks::{self as rows, NewDelivery};
use crate::db::{self, DbConn};
use crate::error::AppError;
use crate::service::articles::{self, Article, ArticleSummary};
use crate::service::tags::{self, TagKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ArticleCreated,
    ArticleUpdated,
    ArticlePublished,
    ArticleUnpublished,
    ArticleDeleted,
    TagCreated,
    TagUpdated,
    TagDeleted,
    Ping,
}

impl EventType {
    pub const ALL: [Self; 9] = [
        Self::ArticleCreated,
        Self::ArticleUpdated,
        Self::ArticlePublished,
        Self::ArticleUnpublished,
        Self::ArticleDeleted,
        Self::TagCreated,
        Self::TagUpdated,
        Self::TagDeleted,
        Self::Ping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArticleCreated => "article.created",
            Self::ArticleUpdated => "article.updated",
            Self::ArticlePublished => "article.published",
            Self::ArticleUnpublished => "article.unpublished",
            Self::ArticleDeleted => "article.deleted",
            Self::TagCreated => "tag.created",
            Self::TagUpdated => "tag.updated",
            Self::TagDeleted => "tag.deleted",
            Self::Ping => "ping",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// What an event is about: resolved to its payload's `data` only if someone listens.
#[derive(Debug, Clone)]
pub enum Subject {
    Article(i64),
    Tag(i64),
    /// Deleted: all that is left to say of it.
    Gone {
        id: i64,
        slug: String,
    },
}

/// Writes a delivery for every active endpoint that listens to each of these events.
pub fn enqueue(conn: &mut DbConn, events: Vec<(EventType, Subject)>) -> Result<(), AppError> {
    if events.is_empty() {
        return Ok(());
    }
    let subscribers = rows::subscribers(conn)?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let now = db::now();
    for (event, subject) in events {
        let listeners: Vec<i64> = subscribers
            .iter()
            .filter(|(_, names)| names.split_whitespace().any(|n| n == event.as_str()))
            .map(|(id, _)| *id)
            .collect();
        if listeners.is_empty() {
            continue;
        }
        let data = match subject {
            Subject::Article(id) => {
                let row =
                    crate::db::articles::find(conn, id)?.ok_or(AppError::NotFound("article"))?;
                article_data(&articles::full_article(conn, row, now)?)
            }
            Subject::Tag(id) => tag_data(conn, id)?,
            Subject::Gone { id, slug } => json!({"id": id, "slug": slug}),
        };
        insert(conn, &listeners, event, &data, now)?;
    }
    Ok(())
}

/// Queues one event to one endpoint; returns its message id.
pub fn enqueue_one(
    conn: &mut DbConn,
    webhook_id: i64,
    event: EventType,
    data: Value,
) -> Result<String, AppError> {
    let ids = insert(conn, &[webhook_id], event, &data, db::now())?;
    Ok(ids.into_iter().next().unwrap_or_default())
}

fn insert(
    conn: &mut DbConn,
    webhooks: &[i64],
    event: EventType,
    data: &Value,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let payload = json!({
        "type": event.as_str(),
        "timestamp": now.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true),
        "data": data,
    })
    .to_string();
    let message_ids = webhooks
        .iter()
        .map(|_| message_id())
        .collect::<Result<Vec<_>, _>>()?;
    let deliveries: Vec<NewDelivery<'_>> = webhooks
        .iter()
        .zip(&message_ids)
        .map(|(&webhook_id, message_id)| NewDelivery {
            webhook_id,
            message_id,
            event_type: event.as_str(),
            payload: &payload,
            created_at: now,
            status: "pending",
            attempts: 0,
            next_attempt_at: now,
            give_up_at: now + RETRY_WINDOW,
        })
        .collect();
    rows::insert_deliveries(conn, &deliveries)?;
    Ok(message_ids)
}

/// `msg_` and 128 random bits: the webhook-id header, the same on every attempt.
fn message_id() -> Result<String, AppError> {
    use base64::Engine;
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!(
        "msg_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

fn time(t: chrono::DateTime<chrono::Utc>) -> Value {
    json!(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The article as `GET /articles/{id}` returns it to an admin (`api::articles::ArticleResponse`;
/// a test holds the two equal).
fn article_data(article: &Article) -> Value {
    let s: &ArticleSummary = &article.summary;
    json!({
        "id": s.id,
        "slug": s.slug,
        "title": s.title,
        "excerpt": s.excerpt,
        "feature_image": s.feature_image,
        "feature_image_id": s.feature_image_media.as_ref().map(|m| m.row.id),
        "feature_image_media": s.feature_image_media.as_ref().map(|m| json!({
            "id": m.row.id,
            "url": m.row.url,
            "width": m.row.width,
            "height": m.row.height,
            "mime_type": m.row.mime_type,
            "alt": m.row.alt,
            "caption": m.row.caption,
            "variants": m.variants,
        })),
        "status": s.status.as_str(),
        "published_at": s.published_at.map(time),
        "updated_at": time(s.updated_at),
        "reading_time": s.reading_time,
        "author": {
            "id": s.author.id,
            "slug": s.author.slug,
            "name": s.author.name,
            "avatar": s.author.avatar,
        },
        "tags": s.tags.iter().map(|t| json!({"id": t.id, "slug": t.slug, "name": t.name})).collect::<Vec<_>>(),
        "body_markdown": article.body_markdown,
        "body_html": article.body_html,
        "created_at": time(article.created_at),
        "version": article.version,
    })
}

/// The tag as `GET /tags/{id}` returns it.
fn tag_data(conn: &mut DbConn, id: i64) -> Result<Value, AppError> {
    let tag = tags::get(conn, &TagKey::Id(id))?.value;
    Ok(json!({
        "id": tag.id,
        "slug": tag.slug,
        "name": tag.name,
        "description": tag.description,
        "article_count": tag.article_count,
        "created_at": time(tag.created_at),
        "updated_at": time(tag.updated_at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_parses_back() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::parse("article.exploded"), None);
    }
}
