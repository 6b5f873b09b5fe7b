//! Draft previews: minting a link (`POST /articles/{id}/preview`) and opening it
//! (`GET /preview/{token}`).

use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, get, post};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::articles::ArticleResponse;
use super::problem::Problem;
use super::read_cache::Representation;
use crate::auth::Caller;
use crate::error::AppError;
use crate::service::previews::{self, Preview};
use crate::state::AppState;

/// A link that shows an article as it is now, draft or not, to whoever holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewResponse {
    /// Unguessable; `GET /api/v1/preview/{token}` shows the article.
    pub token: String,
    /// The frontend's page for the article, with `preview=<token>` added.
    #[schema(example = "https://blog.example/articles/my-draft?preview=eyJ0eXAiOiJKV1Qi…")]
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl From<Preview> for PreviewResponse {
    fn from(p: Preview) -> Self {
        Self {
            token: p.token,
            url: p.url,
            expires_at: p.expires_at,
        }
    }
}

/// Make a preview link for an article you may read (drafts included), to open in the
/// frontend. It works for `FOLIO_PREVIEW_TTL_SECS` (a day by default), or until the article
/// is deleted.
#[utoipa::path(
    tag = "articles",
    operation_id = "create_preview",
    params(("id" = i64, Path, description = "Article id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The preview link", body = PreviewResponse),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/articles/{id}/preview")]
pub async fn create_preview(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let ttl = Duration::from_secs(state.config.preview_ttl_secs);
    let keys = state.clone();
    let preview = state
        .db
        .run(move |conn| previews::create(conn, &caller, id, keys.tokens()?, ttl))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(PreviewResponse::from(preview)))
}

/// Open a preview: the article as it is now, whatever its status, for whoever holds the
/// token. Never stored by caches, never indexed.
#[utoipa::path(
    tag = "articles",
    operation_id = "get_preview",
    params(("token" = String, Path, description = "The token of a preview link")),
    security(()),
    responses(
        (status = 200, description = "The article", body = ArticleResponse, headers(("X-Robots-Tag" = String, description = "noindex"))),
        (status = 404, description = "A bad, expired or tampered token, or a deleted article", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/preview/{token}")]
pub async fn get_preview(
    state: Data<AppState>,
    token: Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let keys = state.clone();
    let article = state
        .db
        .run(move |conn| previews::open(conn, keys.tokens()?, &token))
        .await?;
    let version = article.version;
    let representation = Representation::new(&ArticleResponse::from(article), Some(version), None)?;
    let mut response = representation.build(
        actix_web::http::StatusCode::OK,
        header::HeaderValue::from_static("private, no-store"),
    );
    response.insert_header(("x-robots-tag", "noindex"));
    Ok(response.body(representation.identity_body()))
}
