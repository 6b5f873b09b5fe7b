//! Feeds: the newest published articles (never drafts or scheduled ones), with their bodies,
//! for the site the frontend shows. `api::feeds` writes them as RSS, Atom and JSON Feed.

use chrono::{DateTime, Utc};

use super::articles::{
    self, ArticleLists, ArticleQuery, ArticleSummary, CountMode, Parts, Position,
};
use super::site::{self, Site};
use super::utc;
use crate::db::articles::{ArticleOrder, StatusFilter};
use crate::db::{self, DbConn};
use crate::error::AppError;

pub struct Feed {
    pub site: Site,
    /// Newest first, each with its tags and `body_html`.
    pub articles: Vec<ArticleSummary>,
    /// When the feed's content last changed: the content clock (any write, the site's
    /// settings), or the newest article going live, if later.
    pub last_modified: DateTime<Utc>,
}

/// The newest published articles matching `query`'s tag and author filters, at most
/// `query.limit`. Status, order and position are the feed's own.
pub fn newest(
    conn: &mut DbConn,
    lists: &ArticleLists,
    query: &ArticleQuery,
) -> Result<Feed, AppError> {
    let query = ArticleQuery {
        status: StatusFilter::Published,
        order: ArticleOrder::PublishedDesc,
        position: Position::Page(1),
        count: CountMode::Skip,
        parts: Parts {
            tags: true,
            bodies: true,
        },
        ..query.clone()
    };
    let page = articles::list(conn, lists, None, &query)?;
    let site = site::get(conn)?;
    let changed = utc(db::counters::content_changed_at(conn)?);
    let last_modified = page
        .items
        .iter()
        .filter_map(|article| article.published_at)
        .fold(changed, DateTime::max);
    Ok(Feed {
        site,
        articles: page.items,
        last_modified,
    })
}
