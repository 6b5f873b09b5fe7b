//! `/site`: the site's description and the URL templates of its frontend.

use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get, patch};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{IfMatch, JsonBody, is_anonymous};
use super::problem::Problem;
use super::read_cache::{Cached, ReadCache};
use super::validate::nullable;
use super::written;
use crate::auth::Caller;
use crate::error::AppError;
use crate::service::site::{self, Site, SitePatch};
use crate::state::AppState;

/// The site the content is published on.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "title": "Folio", "description": "Notes on databases", "url": "https://blog.example",
    "locale": "en", "logo": null, "article_url": "{url}/articles/{slug}",
    "tag_url": "{url}/tags/{slug}", "author_url": "{url}/authors/{slug}",
    "updated_at": "2026-11-30T09:00:00Z"
}))]
pub struct SiteResponse {
    pub title: String,
    pub description: String,
    /// The frontend's base URL (never the API's).
    pub url: String,
    /// A BCP 47 language tag.
    pub locale: String,
    pub logo: Option<String>,
    /// Where the frontend shows an article: `{url}` is `url`, `{slug}` the article's slug.
    pub article_url: String,
    pub tag_url: String,
    pub author_url: String,
    pub updated_at: DateTime<Utc>,
}

impl From<Site> for SiteResponse {
    fn from(site: Site) -> Self {
        Self {
            title: site.title,
            description: site.description,
            url: site.url,
            locale: site.locale,
            logo: site.logo,
            article_url: site.article_url,
            tag_url: site.tag_url,
            author_url: site.author_url,
            updated_at: site.updated_at,
        }
    }
}

/// Changes to the site; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Notes", "url": "https://blog.example", "article_url": "{url}/posts/{slug}"}))]
pub struct UpdateSiteRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// An absolute http(s) URL.
    #[schema(max_length = 2000, pattern = r"^https?://[^/?#\s]+\S*$")]
    pub url: Option<String>,
    #[schema(pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    pub locale: Option<String>,
    /// `null` removes the logo.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000, pattern = r"^https?://[^/?#\s]+\S*$")]
    pub logo: Option<Option<String>>,
    /// Must contain `{slug}`; with `{url}` filled in, an absolute http(s) URL.
    #[schema(
        max_length = 2000,
        pattern = r"^(\{url\}|https?://(?=[^/?#\s]))\S*\{slug\}\S*$"
    )]
    pub article_url: Option<String>,
    #[schema(
        max_length = 2000,
        pattern = r"^(\{url\}|https?://(?=[^/?#\s]))\S*\{slug\}\S*$"
    )]
    pub tag_url: Option<String>,
    #[schema(
        max_length = 2000,
        pattern = r"^(\{url\}|https?://(?=[^/?#\s]))\S*\{slug\}\S*$"
    )]
    pub author_url: Option<String>,
}

/// The site's description and the URL templates of its frontend, which feeds, the sitemap
/// and preview links use.
#[utoipa::path(
    tag = "site",
    operation_id = "get_site",
    security(()),
    responses(
        (status = 200, description = "The site", body = SiteResponse, headers(("ETag" = String, description = "Send back in If-Match to change the site"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
    )
)]
#[get("/site")]
pub async fn get_site(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
) -> Result<HttpResponse, AppError> {
    let site = state.read(is_anonymous(&req), site::get);
    cache
        .serve(&req, async {
            let site = site.await?;
            Ok(Cached {
                version: Some(site.version),
                last_modified: Some(site.updated_at),
                value: SiteResponse::from(site),
            })
        })
        .await
}

/// Change the site (admin). `If-Match` must carry its current ETag: without it 428, with a
/// stale one 412, and nothing is written.
#[utoipa::path(
    tag = "site",
    operation_id = "update_site",
    params(("If-Match" = String, Header, description = "The site's current ETag")),
    request_body = UpdateSiteRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed site", body = SiteResponse, headers(("ETag" = String, description = "The new ETag"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins change the site", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The site changed since that ETag; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (one entry each)", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/site")]
pub async fn update_site(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<UpdateSiteRequest>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let r = body.0;
    let patch = SitePatch {
        title: r.title,
        description: r.description,
        url: r.url,
        locale: r.locale,
        logo: r.logo,
        article_url: r.article_url,
        tag_url: r.tag_url,
        author_url: r.author_url,
    };
    let site = state
        .write(move |conn| site::update(conn, &caller, if_match.0, patch))
        .await?;
    let version = site.version;
    written(
        StatusCode::OK,
        &SiteResponse::from(site),
        Some(version),
        None,
    )
}
