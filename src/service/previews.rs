//! Draft previews: a link an editor hands to anyone (a reviewer, a client) that shows an
//! article as it is now, draft or scheduled, in the real frontend. The token is signed, so
//! any instance can check it, and expires; deleting the article ends it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::articles::{self, Article, ArticleKey};
use super::site;
use crate::auth::Caller;
use crate::auth::token::TokenKeys;
use crate::db::{self, DbConn};
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct Preview {
    pub token: String,
    /// The frontend's article URL with `preview=<token>` added.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A preview of an article the caller may read (others get 404, as for reading it).
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    keys: &TokenKeys,
    ttl: Duration,
) -> Result<Preview, AppError> {
    let article = articles::get(conn, Some(caller), &ArticleKey::Id(id))?;
    let site = site::get(conn)?;
    let (token, expires_at) = keys.issue_preview(article.summary.id, ttl)?;
    let link = site.article_link(&article.summary.slug);
    let separator = if link.contains('?') { '&' } else { '?' };
    Ok(Preview {
        url: format!("{link}{separator}preview={token}"),
        token,
        expires_at,
    })
}

/// The article behind a preview token, as it is now. A bad, expired or tampered token, or a
/// deleted article, is "not found".
pub fn open(conn: &mut DbConn, keys: &TokenKeys, token: &str) -> Result<Article, AppError> {
    let id = keys
        .verify_preview(token)
        .ok_or(AppError::NotFound("preview"))?;
    let row = db::articles::find(conn, id)?.ok_or(AppError::NotFound("preview"))?;
    articles::full_article(conn, row, db::now())
}
