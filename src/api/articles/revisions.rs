//! An article's history: its revisions, a diff between two, and restoring one.

use actix_web::web::{self, Data, Path};
use actix_web::{HttpResponse, get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{ArticleResponse, ArticleStatusResponse, AuthorRefResponse};
use crate::api::extract::{IfMatch, QueryParams};
use crate::api::problem::Problem;
use crate::api::{CursorMeta, cursor_key, page_size, private_json};
use crate::auth::Caller;
use crate::error::AppError;
use crate::service::revisions::{self, FieldChange, Revision, RevisionDiff, RevisionSummary};
use crate::state::AppState;

/// One entry of an article's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionSummaryResponse {
    /// The article's version this revision holds (its ETag's number).
    pub version: i32,
    /// Who made it: null once that user is deleted, or for the content an article had before
    /// its history was kept.
    pub editor: Option<AuthorRefResponse>,
    pub created_at: DateTime<Utc>,
    /// The version this one restored, when it was a restore.
    pub restored_from: Option<i32>,
    /// The fields that differ from the revision before (every field for the first).
    #[schema(example = json!(["title", "body_markdown"]))]
    pub changed: Vec<String>,
}

impl From<RevisionSummary> for RevisionSummaryResponse {
    fn from(r: RevisionSummary) -> Self {
        Self {
            version: r.version,
            editor: r.editor.map(Into::into),
            created_at: r.created_at.and_utc(),
            restored_from: r.restored_from,
            changed: r.changed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionListResponse {
    /// Newest first.
    pub data: Vec<RevisionSummaryResponse>,
    pub meta: CursorMeta,
}

/// An article's content as it was at one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionResponse {
    #[serde(flatten)]
    pub revision: RevisionSummaryResponse,
    pub title: String,
    pub slug: String,
    pub excerpt: String,
    pub body_markdown: String,
    pub feature_image: Option<String>,
    /// As of now: a scheduled version whose time has passed reads `published`.
    pub status: ArticleStatusResponse,
    pub published_at: Option<DateTime<Utc>>,
    pub author_id: i64,
    /// Tag names as they were.
    pub tags: Vec<String>,
}

impl From<Revision> for RevisionResponse {
    fn from(r: Revision) -> Self {
        let c = r.content;
        Self {
            status: r.status.into(),
            revision: r.summary.into(),
            title: c.title,
            slug: c.slug,
            excerpt: c.excerpt,
            body_markdown: c.body_markdown,
            feature_image: c.feature_image,
            published_at: c.published_at.map(|t| t.and_utc()),
            author_id: c.author_id,
            tags: c.tags.into_iter().map(|t| t.name).collect(),
        }
    }
}

/// One field that differs.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChangeResponse {
    /// One of title, slug, excerpt, body_markdown, feature_image, status, published_at,
    /// author_id, tags.
    #[schema(example = "title")]
    pub field: String,
    /// The earlier value (null if there is no earlier revision). Left out for `body_markdown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub before: Option<Value>,
    /// The later value. Left out for `body_markdown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub after: Option<Value>,
    /// For `body_markdown`: a line diff in unified format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unified_diff: Option<String>,
}

impl From<FieldChange> for FieldChangeResponse {
    fn from(c: FieldChange) -> Self {
        Self {
            field: c.field.to_owned(),
            before: c.before,
            after: c.after,
            unified_diff: c.unified_diff,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDiffResponse {
    /// The earlier version; null when `to` is the oldest kept and none was named.
    pub from: Option<i32>,
    pub to: i32,
    /// Only the fields that differ, in a fixed order.
    pub changes: Vec<FieldChangeResponse>,
}

impl From<RevisionDiff> for RevisionDiffResponse {
    fn from(d: RevisionDiff) -> Self {
        Self {
            from: d.from,
            to: d.to,
            changes: d.changes.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevisionListQuery {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `meta.next_cursor` of the previous page.
    #[param(pattern = "^[1-9][0-9]{0,8}$")]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The version to compare with; by default the revision before.
    pub against: Option<i32>,
}

/// An article's history, newest first. For those who may edit the article; to anyone else
/// it does not exist (404).
#[utoipa::path(
    tag = "articles",
    operation_id = "list_article_revisions",
    params(("id" = i64, Path, description = "Article id"), RevisionListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of revisions", body = RevisionListResponse),
        (status = 400, description = "Bad id, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token without the scope editing needs", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article, or not yours to edit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/articles/{id}/revisions")]
pub async fn list_article_revisions(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    params: QueryParams<RevisionListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = params.into_inner();
    let limit = page_size(query.limit)?;
    let before = cursor_key::<i32>(query.cursor.as_deref())?;
    let id = id.into_inner();
    let page = state
        .db
        .run(move |conn| revisions::list(conn, &caller, id, before, limit))
        .await?;
    private_json(
        RevisionListResponse {
            data: page.revisions.into_iter().map(Into::into).collect(),
            meta: CursorMeta::new(limit, page.next_before),
        },
        None,
    )
}

/// One revision: the article's content as it was at that version.
#[utoipa::path(
    tag = "articles",
    operation_id = "get_article_revision",
    params(("id" = i64, Path, description = "Article id"), ("version" = i32, Path, description = "Version")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The revision", body = RevisionResponse),
        (status = 400, description = "Bad id or version", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token without the scope editing needs", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article or revision (pruned, or not yours to edit)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/articles/{id}/revisions/{version}")]
pub async fn get_article_revision(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(i64, i32)>,
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let revision = state
        .db
        .run(move |conn| revisions::get(conn, &caller, id, version))
        .await?;
    private_json(RevisionResponse::from(revision), None)
}

/// What changed between two revisions, field by field; the body as a unified line diff.
#[utoipa::path(
    tag = "articles",
    operation_id = "diff_article_revision",
    params(("id" = i64, Path, description = "Article id"), ("version" = i32, Path, description = "The later version"), DiffQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The fields that differ", body = RevisionDiffResponse),
        (status = 400, description = "Bad id, version or against", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token without the scope editing needs", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article or revision", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/articles/{id}/revisions/{version}/diff")]
pub async fn diff_article_revision(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(i64, i32)>,
    params: QueryParams<DiffQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let against = params.into_inner().against;
    let sides = state
        .db
        .run(move |conn| revisions::diff_sides(conn, &caller, id, version, against))
        .await?;
    // Off the connection (and off the HTTP workers): a long body's diff takes a while.
    let diff = web::block(move || revisions::compare(sides))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the diff stopped: {e}")))?;
    private_json(RevisionDiffResponse::from(diff), None)
}

/// Restore a revision: the article gets a new version whose content is that revision's
/// (nothing earlier is rewritten). `If-Match` must carry the article's current ETag; the
/// rules of any change apply (publishing needs author and up, another author needs editor).
#[utoipa::path(
    tag = "articles",
    operation_id = "restore_article_revision",
    params(("id" = i64, Path, description = "Article id"), ("version" = i32, Path, description = "The version to bring back"), ("If-Match" = String, Header, description = "The article's current ETag")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The article as restored", body = ArticleResponse, headers(("ETag" = String, description = "The new ETag"))),
        (status = 400, description = "Bad id or version", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role may not make this change", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article or revision", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The revision's slug is now another article's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The article changed since that ETag; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The revision cannot be applied as it is (for example a time no longer valid)", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/articles/{id}/revisions/{version}/restore")]
pub async fn restore_article_revision(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(i64, i32)>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let (id, version) = path.into_inner();
    let keep = state.config.revisions_keep;
    let article = state
        .write(move |conn| revisions::restore(conn, &caller, id, version, if_match.0, keep))
        .await?;
    let version = article.version;
    private_json(ArticleResponse::from(article), Some(version))
}
