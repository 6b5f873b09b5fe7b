//! Business rules: who sees what, how lists are filtered and paged, how content is derived.
//! Functions here are synchronous, take `&mut DbConn`, and never see actix types.

pub mod api_tokens;
pub mod articles;
pub mod authors;
pub mod changes;
pub mod feeds;
pub mod markdown;
pub mod media;
pub mod pagination;
pub mod policy;
pub mod previews;
pub mod revisions;
pub mod search;
pub mod sessions;
pub mod site;
pub mod sitemap;
pub mod slugs;
pub mod sso;
pub mod tags;
pub mod users;
pub mod webhooks;

use chrono::{DateTime, NaiveDateTime, Utc};

/// Stored times are naive UTC; everything above the `db` layer speaks `DateTime<Utc>`.
pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Page arithmetic shared by every numbered list.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// 1-based.
    pub page: i64,
    pub limit: i64,
}

impl PageRequest {
    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.limit)
    }

    pub fn pages(self, total: i64) -> i64 {
        (total + self.limit - 1) / self.limit
    }
}

/// Cuts rows read with one past the page (`limit + 1`) to the page; true if there is a next.
pub fn trim_to_page<T>(rows: &mut Vec<T>, limit: i64) -> bool {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    more
}

/// One page of a numbered list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub limit: i64,
    /// When what the page shows last changed, where that is known for sure.
    pub last_modified: Option<DateTime<Utc>>,
}

/// A value and when it last changed.
#[derive(Debug, Clone)]
pub struct Dated<T> {
    pub value: T,
    pub last_modified: Option<DateTime<Utc>>,
}
