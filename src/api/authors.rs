//! `/authors`: public author profiles, with their number of published articles.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::QueryParams;
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
    params(PageQuery),
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
    params: QueryParams<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = params.into_inner().into_page()?;
    let authors = state.db.run(move |conn| authors::list(conn, page));
    cache
        .serve(&req, async {
            let page = authors.await?;
            Ok(Cached {
                last_modified: page.last_modified,
                version: None,
                value: AuthorListResponse::from(page),
            })
        })
        .await
}

async fn get_one(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    key: AuthorKey,
) -> Result<HttpResponse, AppError> {
    let author = state.db.run(move |conn| authors::get(conn, &key));
    cache
        .serve(&req, async {
            let author = author.await?;
            Ok(Cached {
                last_modified: author.last_modified,
                version: None,
                value: AuthorResponse::from(author.value),
            })
        })
        .await
}

/// Get one author by id.
#[utoipa::path(
    tag = "authors",
    operation_id = "get_author",
    security(()),
    params(("id" = i64, Path, description = "Author id")),
    responses(
        (status = 200, description = "The author", body = AuthorResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
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
) -> Result<HttpResponse, AppError> {
    get_one(req, state, cache, AuthorKey::Id(id.into_inner())).await
}

/// Get one author by slug.
#[utoipa::path(
    tag = "authors",
    operation_id = "get_author_by_slug",
    security(()),
    params(("slug" = String, Path, description = "Author slug")),
    responses(
        (status = 200, description = "The author", body = AuthorResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
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
) -> Result<HttpResponse, AppError> {
    get_one(req, state, cache, AuthorKey::Slug(slug.into_inner())).await
}
