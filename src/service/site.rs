//! The site Folio publishes to: its name and description for feeds, and the URL templates
//! that turn a slug into a link to the frontend (`{url}/articles/{slug}` by default), so feeds,
//! the sitemap and preview links point at the frontend, never at the API. Admins change it.

use chrono::{DateTime, Utc};

use super::changes::{Change, ChangeSet};
use super::policy::{self, Action};
use super::utc;
use crate::auth::Caller;
use crate::db::site::{SiteChanges, SiteRow};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};

#[derive(Debug, Clone)]
pub struct Site {
    pub title: String,
    pub description: String,
    /// The frontend's base URL.
    pub url: String,
    pub locale: String,
    pub logo: Option<String>,
    pub article_url: String,
    pub tag_url: String,
    pub author_url: String,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl From<SiteRow> for Site {
    fn from(row: SiteRow) -> Self {
        Self {
            title: row.title,
            description: row.description,
            url: row.url,
            locale: row.locale,
            logo: row.logo,
            article_url: row.article_url,
            tag_url: row.tag_url,
            author_url: row.author_url,
            version: row.version,
            updated_at: utc(row.updated_at),
        }
    }
}

/// Fills a URL template: `{url}` is the site's URL (without a trailing slash), `{slug}` the
/// slug.
fn fill(template: &str, url: &str, slug: &str) -> String {
    template
        .replace("{url}", url.trim_end_matches('/'))
        .replace("{slug}", slug)
}

impl Site {
    pub fn article_link(&self, slug: &str) -> String {
        fill(&self.article_url, &self.url, slug)
    }

    pub fn tag_link(&self, slug: &str) -> String {
        fill(&self.tag_url, &self.url, slug)
    }

    pub fn author_link(&self, slug: &str) -> String {
        fill(&self.author_url, &self.url, slug)
    }
}

pub fn get(conn: &mut DbConn) -> Result<Site, AppError> {
    Ok(db::site::get(conn)?.into())
}

/// Changes to the site: `None` keeps a field; `Some(None)` clears the logo.
#[derive(Debug, Clone, Default)]
pub struct SitePatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub locale: Option<String>,
    pub logo: Option<Option<String>>,
    pub article_url: Option<String>,
    pub tag_url: Option<String>,
    pub author_url: Option<String>,
}

fn http_url(text: &str) -> bool {
    text.chars().count() <= 2000 && http_shape(text)
}

/// An absolute http(s) URL with a host and no whitespace, however long.
fn http_shape(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !text.chars().any(char::is_whitespace)
    })
}

/// `en`, `en-GB`, `zh-Hant-TW`: a BCP 47 tag's shape.
fn locale(text: &str) -> bool {
    let mut parts = text.split('-');
    parts.next().is_some_and(|language| {
        (2..=3).contains(&language.len()) && language.chars().all(|c| c.is_ascii_alphabetic())
    }) && parts.all(|part| {
        (2..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// Every field of the site as it would be after `patch`, checked: one error per bad field.
fn check(current: &Site, patch: &SitePatch) -> Result<(), AppError> {
    let mut errors = Vec::new();
    let url = patch.url.as_deref().unwrap_or(&current.url);
    if let Some(title) = &patch.title
        && !(1..=200).contains(&title.trim().chars().count())
    {
        errors.push(FieldError::new("title", "must be 1 to 200 characters"));
    }
    if patch
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        errors.push(FieldError::new(
            "description",
            "must be at most 1000 characters",
        ));
    }
    if !http_url(url) {
        errors.push(FieldError::new("url", "must be an absolute http(s) URL"));
    }
    if patch.locale.as_deref().is_some_and(|l| !locale(l)) {
        errors.push(FieldError::new(
            "locale",
            "must be a language tag such as en or en-GB",
        ));
    }
    if let Some(Some(logo)) = &patch.logo
        && !http_url(logo)
    {
        errors.push(FieldError::new(
            "logo",
            "must be an absolute http(s) URL or null",
        ));
    }
    for (field, template) in [
        (
            "article_url",
            patch.article_url.as_deref().unwrap_or(&current.article_url),
        ),
        (
            "tag_url",
            patch.tag_url.as_deref().unwrap_or(&current.tag_url),
        ),
        (
            "author_url",
            patch.author_url.as_deref().unwrap_or(&current.author_url),
        ),
    ] {
        // Filled in, a template may be longer than either part's limit.
        if !template.contains("{slug}") || !http_shape(&fill(template, url, "a-slug")) {
            errors.push(FieldError::new(
                field,
                "must contain {slug} and make an absolute http(s) URL ({url} is the site's URL)",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Changes the site (admin), if it is still at `expected` (its ETag's version).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    expected: Option<i32>,
    patch: SitePatch,
) -> Result<Site, AppError> {
    policy::require(caller, Action::ManageSite, None)?;
    db::write_transaction(conn, |conn| {
        let current = get(conn)?;
        check(&current, &patch)?;
        let expected = expected
            .filter(|&v| v == current.version)
            .ok_or(AppError::PreconditionFailed)?;
        let changes = SiteChanges {
            title: patch.title.as_ref().map(|t| t.trim().to_owned()),
            description: patch.description.clone(),
            url: patch.url.clone(),
            locale: patch.locale.clone(),
            logo: patch.logo.clone(),
            article_url: patch.article_url.clone(),
            tag_url: patch.tag_url.clone(),
            author_url: patch.author_url.clone(),
            updated_at: Some(db::now()),
        };
        if !db::site::update_if_version(conn, expected, &changes)? {
            return Err(AppError::PreconditionFailed);
        }
        let site = get(conn)?;
        let mut recorded = ChangeSet::default();
        recorded.push(Change::SiteUpdated);
        recorded.apply(conn)?;
        Ok(site)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_make_frontend_links() {
        assert_eq!(
            fill("{url}/articles/{slug}", "https://blog.example/", "hi"),
            "https://blog.example/articles/hi"
        );
        assert!(http_url("https://blog.example/articles/x"));
        assert!(
            !http_url("javascript:alert(1)") && !http_url("https:///x") && !http_url("ftp://x")
        );
        assert!(locale("en") && locale("en-GB") && locale("zh-Hant-TW"));
        assert!(!locale("english") && !locale("") && !locale("en_GB"));
    }
}
