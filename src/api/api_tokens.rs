//! Personal access tokens: `/me/tokens` for one's own, `/users/{id}/tokens` for an admin.

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, delete, get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::JsonBody;
use super::private_json;
use super::problem::Problem;
use super::validate::Checks;
use crate::auth::{Caller, Scope, Scopes};
use crate::error::AppError;
use crate::service::api_tokens::{self, ApiToken, NewToken};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for (`docs CI`), 1–100 characters.
    #[schema(example = "docs CI", min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// None beyond what your role may do (`users:admin` is for admins, `tags:write` for
    /// authors and up). An unknown name is a 422 naming it.
    #[schema(value_type = Vec<Scope>, min_items = 1, example = json!(["content:read", "content:write"]))]
    pub scopes: Vec<String>,
    /// When it stops working (in the future); never, if omitted.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenResponse {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The token's first characters, to recognise it by.
    #[schema(example = "folio_pat_Ab3dE9xY")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenResponse {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id,
            name: token.name,
            scopes: token.scopes.iter().collect(),
            prefix: token.prefix,
            created_at: token.created_at.and_utc(),
            last_used_at: token.last_used_at.map(|t| t.and_utc()),
            expires_at: token.expires_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenResponse {
    #[serde(flatten)]
    pub details: ApiTokenResponse,
    /// The token, shown this once: only its hash is kept. Send it as
    /// `Authorization: Bearer folio_pat_…`.
    #[schema(example = "folio_pat_Ab3dE9xYq1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k")]
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenListResponse {
    pub data: Vec<ApiTokenResponse>,
}

fn parse_request(request: CreateTokenRequest) -> Result<NewToken, AppError> {
    let mut checks = Checks::default();
    checks.text("name", &request.name, 1, 100);
    checks.require(
        !request.scopes.is_empty(),
        "scopes",
        "must name at least one scope",
    );
    let scopes = Scopes::from_names(request.scopes.iter().map(String::as_str));
    if let Err(unknown) = &scopes {
        checks.require(
            false,
            "scopes",
            &format!("unknown scopes: {}", unknown.join(", ")),
        );
    }
    let now = Utc::now();
    checks.require(
        request.expires_at.is_none_or(|at| at > now),
        "expires_at",
        "must be in the future",
    );
    checks.finish()?;
    Ok(NewToken {
        name: request.name.trim().to_owned(),
        scopes: scopes.unwrap_or_default(),
        expires_at: request.expires_at.map(|at| at.naive_utc()),
    })
}

fn list_response(tokens: Vec<ApiToken>) -> Result<HttpResponse, AppError> {
    private_json(
        ApiTokenListResponse {
            data: tokens.into_iter().map(ApiTokenResponse::from).collect(),
        },
        None,
    )
}

/// Create a personal access token for scripts and CI. Needs a signed-in session, or a token
/// with `tokens:manage` (whose scopes the new one may not exceed).
#[utoipa::path(
    tag = "me",
    operation_id = "create_my_token",
    request_body = CreateTokenRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The token, shown this once", body = CreatedTokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token without `tokens:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, unknown scopes, or scopes beyond your role", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/tokens")]
pub async fn create_my_token(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateTokenRequest>,
) -> Result<HttpResponse, AppError> {
    let request = parse_request(body.0)?;
    let (token, secret) = state
        .db
        .write(move |conn| api_tokens::create(conn, &caller, &request))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("cache-control", "no-store"))
        .json(CreatedTokenResponse {
            details: token.into(),
            token: secret,
        }))
}

/// Your personal access tokens, newest first (never the tokens themselves).
#[utoipa::path(
    tag = "me",
    operation_id = "list_my_tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your tokens", body = ApiTokenListResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token without `tokens:manage`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/tokens")]
pub async fn list_my_tokens(
    state: Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, AppError> {
    let tokens = state
        .db
        .run(move |conn| api_tokens::list(conn, &caller, caller.user_id))
        .await?;
    list_response(tokens)
}

/// Revoke one of your tokens: it stops working at once.
#[utoipa::path(
    tag = "me",
    operation_id = "revoke_my_token",
    params(("id" = i64, Path, description = "Token id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A token without `tokens:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no such token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/tokens/{id}")]
pub async fn revoke_my_token(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| api_tokens::revoke(conn, &caller, caller.user_id, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's personal access tokens (admin).
#[utoipa::path(
    tag = "users",
    operation_id = "list_user_tokens",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's tokens", body = ApiTokenListResponse),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}/tokens")]
pub async fn list_user_tokens(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let user_id = id.into_inner();
    let tokens = state
        .db
        .run(move |conn| api_tokens::list(conn, &caller, user_id))
        .await?;
    list_response(tokens)
}

/// Revoke any user's token (admin).
#[utoipa::path(
    tag = "users",
    operation_id = "revoke_user_token",
    params(
        ("id" = i64, Path, description = "User id"),
        ("token_id" = i64, Path, description = "Token id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "An id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user, or no such token of theirs", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{id}/tokens/{token_id}")]
pub async fn revoke_user_token(
    state: Data<AppState>,
    caller: Caller,
    ids: Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (user_id, id) = ids.into_inner();
    state
        .db
        .write(move |conn| api_tokens::revoke(conn, &caller, user_id, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    #[test]
    fn unknown_scopes_are_named() {
        let refused = parse_request(CreateTokenRequest {
            name: "ci".into(),
            scopes: vec!["content:write".into(), "media:write".into(), "root".into()],
            expires_at: None,
        });
        let Err(AppError::Invalid(errors)) = refused else {
            panic!("accepted unknown scopes");
        };
        assert_eq!(
            errors,
            vec![FieldError::new(
                "scopes",
                "unknown scopes: media:write, root"
            )]
        );
    }
}
