//! `/tags`: tags with the number of published articles carrying each.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::QueryParams;
use super::problem::Problem;
use super::{PageMeta, PageQuery, no_version};
use crate::db::tags::TagOrder;
use crate::error::AppError;
use crate::service::Page;
use crate::service::tags::{self as tags, Tag, TagKey};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TagResponse {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Published articles carrying this tag.
    pub article_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Tag> for TagResponse {
    fn from(t: Tag) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            description: t.description,
            article_count: t.article_count,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A page of tags.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagListResponse {
    pub data: Vec<TagResponse>,
    pub meta: PageMeta,
}

impl From<Page<Tag>> for TagListResponse {
    fn from(p: Page<Tag>) -> Self {
        Self {
            meta: PageMeta::of(&p),
            data: p.items.into_iter().map(Into::into).collect(),
        }
    }
}

/// List tags by name.
#[utoipa::path(
    tag = "tags",
    operation_id = "list_tags",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of tags", body = TagListResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tags")]
pub async fn list_tags(
    req: HttpRequest,
    state: Data<AppState>,
    params: QueryParams<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = params.into_inner().into_page()?;
    let tags = state
        .db
        .run(move |conn| tags::list(conn, TagOrder::Name, page));
    state
        .cache
        .serve(&req, no_version, async {
            tags.await.map(TagListResponse::from)
        })
        .await
}

async fn get_one(
    req: HttpRequest,
    state: Data<AppState>,
    key: TagKey,
) -> Result<HttpResponse, AppError> {
    let tag = state.db.run(move |conn| tags::get(conn, &key));
    state
        .cache
        .serve(&req, no_version, async { tag.await.map(TagResponse::from) })
        .await
}

/// Get one tag by id.
#[utoipa::path(
    tag = "tags",
    operation_id = "get_tag",
    params(("id" = i64, Path, description = "Tag id")),
    responses(
        (status = 200, description = "The tag", body = TagResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tag", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tags/{id}")]
pub async fn get_tag(
    req: HttpRequest,
    state: Data<AppState>,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    get_one(req, state, TagKey::Id(id.into_inner())).await
}

/// Get one tag by slug.
#[utoipa::path(
    tag = "tags",
    operation_id = "get_tag_by_slug",
    params(("slug" = String, Path, description = "Tag slug")),
    responses(
        (status = 200, description = "The tag", body = TagResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 404, description = "No such tag", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tags/slug/{slug}")]
pub async fn get_tag_by_slug(
    req: HttpRequest,
    state: Data<AppState>,
    slug: Path<String>,
) -> Result<HttpResponse, AppError> {
    get_one(req, state, TagKey::Slug(slug.into_inner())).await
}
