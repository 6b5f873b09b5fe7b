//! `/tags`: tags with the number of published articles carrying each; managed by editors.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{JsonBody, QueryParams, is_anonymous};
use super::fields::FieldSelection;
use super::problem::Problem;
use super::read_cache::{Cached, ReadCache};
use super::validate::Checks;
use super::{API_PREFIX, PageMeta, PageQuery, written};
use crate::auth::Caller;
use crate::db::tags::TagOrder;
use crate::error::AppError;
use crate::service::Page;
use crate::service::slugs;
use crate::service::tags::{self as tags, Tag, TagInput, TagKey};
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

/// A top-level field of a tag (`fields`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TagField {
    Id,
    Slug,
    Name,
    Description,
    ArticleCount,
    CreatedAt,
    UpdatedAt,
}

/// Page number, size and fields of a list of tags.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagListQuery {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    /// Comma-separated fields each item keeps (`id` always stays); all of them without it.
    #[param(inline, value_type = Option<Vec<TagField>>, min_items = 1, style = Form, explode = false)]
    pub fields: Option<String>,
}

/// Which fields a single read answers with.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagFieldsQuery {
    /// Comma-separated fields to answer with (`id` always stays); all of them without it.
    #[param(inline, value_type = Option<Vec<TagField>>, min_items = 1, style = Form, explode = false)]
    pub fields: Option<String>,
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
    security(()),
    params(TagListQuery),
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
    cache: Data<ReadCache>,
    params: QueryParams<TagListQuery>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let fields = FieldSelection::parse::<TagField>(params.fields.as_deref())?;
    let page = PageQuery {
        limit: params.limit,
        page: params.page,
    }
    .into_page()?;
    let tags = state.read(is_anonymous(&req), move |conn| {
        tags::list(conn, TagOrder::Name, page)
    });
    cache
        .serve(&req, async {
            let page = tags.await?;
            Ok(Cached {
                last_modified: page.last_modified,
                version: None,
                value: fields.select_items(TagListResponse::from(page))?,
            })
        })
        .await
}

async fn get_one(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    key: TagKey,
    params: TagFieldsQuery,
) -> Result<HttpResponse, AppError> {
    let fields = FieldSelection::parse::<TagField>(params.fields.as_deref())?;
    let tag = state.read(is_anonymous(&req), move |conn| tags::get(conn, &key));
    cache
        .serve(&req, async {
            let tag = tag.await?;
            Ok(Cached {
                last_modified: tag.last_modified,
                version: None,
                value: fields.select(TagResponse::from(tag.value))?,
            })
        })
        .await
}

/// Get one tag by id.
#[utoipa::path(
    tag = "tags",
    operation_id = "get_tag",
    security(()),
    params(("id" = i64, Path, description = "Tag id"), TagFieldsQuery),
    responses(
        (status = 200, description = "The tag", body = TagResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "The id is not an integer, or an unknown parameter or field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tag", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tags/{id}")]
pub async fn get_tag(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    id: Path<i64>,
    params: QueryParams<TagFieldsQuery>,
) -> Result<HttpResponse, AppError> {
    let key = TagKey::Id(id.into_inner());
    get_one(req, state, cache, key, params.into_inner()).await
}

/// Get one tag by slug.
#[utoipa::path(
    tag = "tags",
    operation_id = "get_tag_by_slug",
    security(()),
    params(("slug" = String, Path, description = "Tag slug"), TagFieldsQuery),
    responses(
        (status = 200, description = "The tag", body = TagResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tag", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/tags/slug/{slug}")]
pub async fn get_tag_by_slug(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    slug: Path<String>,
    params: QueryParams<TagFieldsQuery>,
) -> Result<HttpResponse, AppError> {
    let key = TagKey::Slug(slug.into_inner());
    get_one(req, state, cache, key, params.into_inner()).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Data Engineering", "description": "Pipelines, warehouses and the people who run them."}))]
pub struct CreateTagRequest {
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// Made from the name when absent.
    #[schema(max_length = 120, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Changes to a tag; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTagRequest {
    #[schema(min_length = 1, max_length = 50)]
    pub name: Option<String>,
    #[schema(max_length = 120, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

fn tag_input(
    name: Option<String>,
    slug: Option<String>,
    description: Option<String>,
) -> Result<TagInput, AppError> {
    let mut checks = Checks::default();
    if let Some(name) = &name {
        checks.text("name", name, 1, 50);
    }
    if let Some(slug) = &slug {
        checks.require(
            slugs::is_slug(slug),
            "slug",
            "must be lower-case letters, digits and single hyphens, at most 120",
        );
    }
    if let Some(description) = &description {
        checks.text("description", description, 0, 500);
    }
    checks.finish()?;
    Ok(TagInput {
        name: name.map(|n| n.trim().to_owned()),
        slug,
        description,
    })
}

/// Create a tag (editor and up).
#[utoipa::path(
    tag = "tags",
    operation_id = "create_tag",
    request_body = CreateTagRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TagResponse, headers(("Location" = String, description = "The new tag's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/tags")]
pub async fn create_tag(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateTagRequest>,
) -> Result<HttpResponse, AppError> {
    let r = body.0;
    let input = tag_input(Some(r.name), r.slug, r.description)?;
    let tag = state
        .write(move |conn| tags::create(conn, &caller, input))
        .await?;
    let location = format!("{API_PREFIX}/tags/{}", tag.id);
    written(
        StatusCode::CREATED,
        &TagResponse::from(tag),
        None,
        Some(location),
    )
}

/// Change a tag (editor and up).
#[utoipa::path(
    tag = "tags",
    operation_id = "update_tag",
    params(("id" = i64, Path, description = "Tag id"), TagFieldsQuery),
    request_body = UpdateTagRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed tag", body = TagResponse),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tag", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/tags/{id}")]
pub async fn update_tag(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    body: JsonBody<UpdateTagRequest>,
) -> Result<HttpResponse, AppError> {
    let r = body.0;
    let input = tag_input(r.name, r.slug, r.description)?;
    let id = id.into_inner();
    let tag = state
        .write(move |conn| tags::update(conn, &caller, id, input))
        .await?;
    written(StatusCode::OK, &TagResponse::from(tag), None, None)
}

/// Delete a tag (editor and up); its articles simply lose it.
#[utoipa::path(
    tag = "tags",
    operation_id = "delete_tag",
    params(("id" = i64, Path, description = "Tag id"), TagFieldsQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not an integer, or an unknown parameter or field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tag", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/tags/{id}")]
pub async fn delete_tag(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    state
        .write(move |conn| tags::delete(conn, &caller, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
