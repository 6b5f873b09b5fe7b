//! Creating, changing and deleting articles.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, delete, patch, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ArticleResponse;
use crate::api::extract::{IfMatch, JsonBody};
use crate::api::problem::Problem;
use crate::api::validate::{Checks, nullable};
use crate::api::{API_PREFIX, written};
use crate::auth::Caller;
use crate::error::AppError;
use crate::service::articles::{self, ArticleInput, ArticlePatch, RequestedStatus};
use crate::service::slugs;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriteStatus {
    /// Not visible to readers (the default: nothing goes live by accident).
    Draft,
    /// Live now, or at a past `published_at`.
    Published,
    /// Live when `published_at`, which must be in the future, passes.
    Scheduled,
}

impl From<WriteStatus> for RequestedStatus {
    fn from(s: WriteStatus) -> Self {
        match s {
            WriteStatus::Draft => Self::Draft,
            WriteStatus::Published => Self::Published,
            WriteStatus::Scheduled => Self::Scheduled,
        }
    }
}

/// A tag's name or slug, as given on an article.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(
    min_length = 1,
    max_length = 50,
    pattern = r"\S",
    example = "Data Engineering"
)]
pub struct TagName(pub String);

fn tag_names(tags: Vec<TagName>) -> Vec<String> {
    tags.into_iter().map(|t| t.0).collect()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Hello, Folio", "body_markdown": "# Hello\n\nFirst post.", "status": "published", "tags": ["News"]}))]
pub struct CreateArticleRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    /// Lower-case letters, digits and hyphens; made from the title when absent.
    #[schema(max_length = 120, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// Derived from the body when absent.
    #[schema(max_length = 500)]
    pub excerpt: Option<String>,
    #[serde(default)]
    #[schema(max_length = 200000)]
    pub body_markdown: String,
    #[schema(max_length = 2000, pattern = r"^https?://\S*$")]
    pub feature_image: Option<String>,
    /// A media library item to show as the feature image; the response then carries it with
    /// its variants in `feature_image_media`.
    pub feature_image_id: Option<i64>,
    pub status: Option<WriteStatus>,
    /// When the article went or goes live (RFC 3339).
    pub published_at: Option<DateTime<Utc>>,
    /// Tag names or slugs; unknown ones are created (author and up).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<TagName>,
    /// Another author for the article (editor and up).
    pub author_id: Option<i64>,
}

/// Changes to an article; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "published"}))]
pub struct UpdateArticleRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[schema(max_length = 120, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// `null` derives the excerpt from the body again.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 500)]
    pub excerpt: Option<Option<String>>,
    #[schema(max_length = 200000)]
    pub body_markdown: Option<String>,
    /// `null` removes the image.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000, pattern = r"^https?://\S*$")]
    pub feature_image: Option<Option<String>>,
    /// `null` removes the media library image.
    #[serde(default, deserialize_with = "nullable")]
    pub feature_image_id: Option<Option<i64>>,
    pub status: Option<WriteStatus>,
    #[serde(default, deserialize_with = "nullable")]
    pub published_at: Option<Option<DateTime<Utc>>>,
    /// Replaces the article's tags.
    #[schema(max_items = 20)]
    pub tags: Option<Vec<TagName>>,
    pub author_id: Option<i64>,
}

fn check_content(
    checks: &mut Checks,
    title: Option<&str>,
    slug: Option<&str>,
    excerpt: Option<&str>,
    body: Option<&str>,
    feature_image: Option<&str>,
    tags: Option<&[String]>,
) {
    if let Some(title) = title {
        checks.text("title", title, 1, 200);
    }
    if let Some(slug) = slug {
        checks.require(
            slugs::is_slug(slug),
            "slug",
            "must be lower-case letters, digits and single hyphens, at most 120",
        );
    }
    if let Some(excerpt) = excerpt {
        checks.text("excerpt", excerpt, 0, 500);
    }
    if let Some(body) = body {
        checks.require(
            body.chars().count() <= 200_000,
            "body_markdown",
            "must be at most 200000 characters",
        );
    }
    if let Some(url) = feature_image {
        checks.url("feature_image", url);
    }
    if let Some(tags) = tags {
        checks.require(tags.len() <= 20, "tags", "at most 20 tags");
        for tag in tags {
            checks.text("tags", tag, 1, 50);
        }
    }
}

/// Create an article; a draft unless `status` says otherwise.
///
/// Contributors write drafts only; authors and up publish and schedule their own.
#[utoipa::path(
    tag = "articles",
    operation_id = "create_article",
    request_body = CreateArticleRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ArticleResponse, headers(("Location" = String, description = "The new article's URL"), ("ETag" = String, description = "Send back in If-Match to change it"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not publish, or may not set the author", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (one entry each)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/articles")]
pub async fn create_article(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateArticleRequest>,
) -> Result<HttpResponse, AppError> {
    let r = body.0;
    let tags = tag_names(r.tags);
    let mut checks = Checks::default();
    check_content(
        &mut checks,
        Some(&r.title),
        r.slug.as_deref(),
        r.excerpt.as_deref(),
        Some(&r.body_markdown),
        r.feature_image.as_deref(),
        Some(&tags),
    );
    checks.finish()?;
    let input = ArticleInput {
        title: r.title.trim().to_owned(),
        slug: r.slug,
        excerpt: r.excerpt,
        body_markdown: r.body_markdown,
        feature_image: r.feature_image,
        feature_image_id: r.feature_image_id,
        status: r.status.map_or(RequestedStatus::Draft, Into::into),
        published_at: r.published_at,
        tags,
        author_id: r.author_id,
    };
    let keep = state.config.revisions_keep;
    let article = state
        .write(move |conn| articles::create(conn, &caller, input, keep))
        .await?;
    let location = format!("{API_PREFIX}/articles/{}", article.summary.id);
    let version = article.version;
    written(
        StatusCode::CREATED,
        &ArticleResponse::from(article),
        Some(version),
        Some(location),
    )
}

/// Change an article. `If-Match` must carry its current ETag: without it 428, with a stale
/// one 412, and nothing is written.
#[utoipa::path(
    tag = "articles",
    operation_id = "update_article",
    params(("id" = i64, Path, description = "Article id"), ("If-Match" = String, Header, description = "The article's current ETag")),
    request_body = UpdateArticleRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed article", body = ArticleResponse, headers(("ETag" = String, description = "The new ETag"))),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not make this change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The article changed since that ETag; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (one entry each)", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/articles/{id}")]
pub async fn update_article(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    // Before If-Match: a request without a usable body is a 400 whatever its headers.
    body: JsonBody<UpdateArticleRequest>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let r = body.0;
    let tags = r.tags.map(tag_names);
    let mut checks = Checks::default();
    let feature_image = r.feature_image.clone().flatten();
    check_content(
        &mut checks,
        r.title.as_deref(),
        r.slug.as_deref(),
        r.excerpt.clone().flatten().as_deref(),
        r.body_markdown.as_deref(),
        feature_image.as_deref(),
        tags.as_deref(),
    );
    checks.finish()?;
    let patch = ArticlePatch {
        title: r.title.map(|t| t.trim().to_owned()),
        slug: r.slug,
        excerpt: r.excerpt,
        body_markdown: r.body_markdown,
        feature_image: r.feature_image,
        feature_image_id: r.feature_image_id,
        status: r.status.map(Into::into),
        published_at: r.published_at,
        tags,
        author_id: r.author_id,
    };
    let id = id.into_inner();
    let keep = state.config.revisions_keep;
    let article = state
        .write(move |conn| articles::update(conn, &caller, id, if_match.0, patch, keep))
        .await?;
    let version = article.version;
    written(
        StatusCode::OK,
        &ArticleResponse::from(article),
        Some(version),
        None,
    )
}

/// Delete an article. Needs `If-Match` like a change.
#[utoipa::path(
    tag = "articles",
    operation_id = "delete_article",
    params(("id" = i64, Path, description = "Article id"), ("If-Match" = String, Header, description = "The article's current ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not delete it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The article changed since that ETag; nothing was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/articles/{id}")]
pub async fn delete_article(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    state
        .write(move |conn| articles::delete(conn, &caller, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
