//! `/authors`: public author profiles, with their number of published articles.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, get};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{QueryParams, is_anonymous};
use super::fields::FieldSelection;
use super::problem::Problem;
use super::read_cache::{Cached, ReadCache};
use super::{PageMeta, PageQuery};
use crate::error::AppError;
use crate::service::Page;
use crate::service::authors::{self as authors, Author, AuthorKey};
use crate::state::AppState;

/// A public author profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorResponse {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub avatar: Option<String>,
    /// Published articles by this author.
    pub article_count: i64,
}

impl From<Author> for AuthorResponse {
    fn from(a: Author) -> Self {
        Self {
            id: a.id,
            slug: a.slug,
            name: a.name,
            bio: a.bio,
            avatar: a.avatar,
            article_count: a.article_count,
        }
    }
}

/// A top-level field of a author (`fields`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorField {
    Id,
    Slug,
    Name,
    Bio,
    Avatar,
    ArticleCount,
}

/// Page number, size and fields of a list of authors.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuthorListQuery {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    /// Comma-separated fields each item keeps (`id` always stays); all of them without it.
    #[param(inline, value_type = Option<Vec<AuthorField>>, min_items = 1, style = Form, explode = false)]
    pub fields: Option<String>,
}

/// Which fields a single read answers with.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuthorFieldsQuery {
    /// Comma-separated fields to answer with (`id` always stays); all of them without it.
    #[param(inline, value_type = Option<Vec<AuthorField>>, min_items = 1, style = Form, explode = false)]
    pub fields: Option<String>,
}

/// A page of authors.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorListResponse {
    pub data: Vec<AuthorResponse>,
    pub meta: PageMeta,
}

impl From<Page<Author>> for AuthorListResponse {
    fn from(p: Page<Author>) -> Self {
        Self {
            meta: PageMeta::of(&p),
            data: p.items.into_iter().map(Into::into).collect(),
        }
    }
}

/// List authors who have published, by name.
#[utoipa::path(
    tag = "authors",
    operation_id = "list_authors",
    security(()),
    params(AuthorListQuery),
    responses(
        (status = 200, description = "A page of authors", body = AuthorListResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/authors")]
pub async fn list_authors(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    params: QueryParams<AuthorListQuery>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let fields = FieldSelection::parse::<AuthorField>(params.fields.as_deref())?;
    let page = PageQuery {
        limit: params.limit,
        page: params.page,
    }
    .into_page()?;
    let authors = state.read(is_anonymous(&req), move |conn| authors::list(conn, page));
    cache
        .serve(&req, async {
            let page = authors.await?;
            Ok(Cached {
                last_modified: page.last_modified,
                version: None,
                value: fields.select_items(AuthorListResponse::from(page))?,
            })
        })
        .await
}

async fn get_one(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    key: AuthorKey,
    params: AuthorFieldsQuery,
) -> Result<HttpResponse, AppError> {
    let fields = FieldSelection::parse::<AuthorField>(params.fields.as_deref())?;
    let author = state.read(is_anonymous(&req), move |conn| authors::get(conn, &key));
    cache
        .serve(&req, async {
            let author = author.await?;
            Ok(Cached {
                last_modified: author.last_modified,
                version: None,
                value: fields.select(AuthorResponse::from(author.value))?,
            })
        })
        .await
}

/// Get one author by id.
#[utoipa::path(
    tag = "authors",
    operation_id = "get_author",
    security(()),
    params(("id" = i64, Path, description = "Author id"), AuthorFieldsQuery),
    responses(
        (status = 200, description = "The author", body = AuthorResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "The id is not an integer, or an unknown parameter or field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such author, or nothing published yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/authors/{id}")]
pub async fn get_author(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    id: Path<i64>,
    params: QueryParams<AuthorFieldsQuery>,
) -> Result<HttpResponse, AppError> {
    let key = AuthorKey::Id(id.into_inner());
    get_one(req, state, cache, key, params.into_inner()).await
}

/// Get one author by slug.
#[utoipa::path(
    tag = "authors",
    operation_id = "get_author_by_slug",
    security(()),
    params(("slug" = String, Path, description = "Author slug"), AuthorFieldsQuery),
    responses(
        (status = 200, description = "The author", body = AuthorResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such author, or nothing published yet", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/authors/slug/{slug}")]
pub async fn get_author_by_slug(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    slug: Path<String>,
    params: QueryParams<AuthorFieldsQuery>,
) -> Result<HttpResponse, AppError> {
    let key = AuthorKey::Slug(slug.into_inner());
    get_one(req, state, cache, key, params.into_inner()).await
}
