//! `/auth`: login, token refresh and logout.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::JsonBody;
use super::problem::Problem;
use super::users::UserResponse;
use crate::db;
use crate::error::AppError;
use crate::service::sessions::{self, Session};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "admin@example.com")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// Tokens for a signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single use: `POST /auth/refresh` swaps it for a new pair.
    pub refresh_token: String,
    pub user: UserResponse,
}

impl From<Session> for SessionResponse {
    fn from(s: Session) -> Self {
        Self {
            access_token: s.access_token,
            token_type: "Bearer",
            expires_in: s.expires_in,
            refresh_token: s.refresh_token,
            user: s.user.into(),
        }
    }
}

fn no_store(body: SessionResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(body)
}

/// Sign in with email and password.
///
/// Unknown email, wrong password and disabled account all get the same 401, in about the
/// same time. Attempts are limited per client address and per account.
#[utoipa::path(
    tag = "auth",
    operation_id = "login",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Password sign-in is turned off (`FOLIO_PASSWORD_LOGIN=false`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or mistyped fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: Data<AppState>,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    if !state.config.password_login {
        return Err(AppError::Refused(
            "password sign-in is turned off here; sign in through single sign-on",
        ));
    }
    let LoginRequest { email, password } = body.0;
    let email = email.trim().to_lowercase();
    let address = super::client::client_address(&req, &state.config.trusted_proxies);
    if let Err(limited) = state.limits.login.check(&state.db, address, &email).await {
        metrics::counter!("folio_logins_total", "outcome" => "limited").increment(1);
        return Err(limited);
    }
    let user = state
        .db
        .run(move |conn| Ok(db::users::find_by_email(conn, &email)?))
        .await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = state.passwords.verify(password, stored).await?;
    let Some(user) = user.filter(|u| matches && !u.disabled) else {
        metrics::counter!("folio_logins_total", "outcome" => "refused").increment(1);
        return Err(AppError::Unauthenticated);
    };
    metrics::counter!("folio_logins_total", "outcome" => "success").increment(1);
    let keys = state.clone();
    let session = state
        .db
        .write(move |conn| sessions::start(conn, keys.tokens()?, user.id))
        .await?;
    Ok(no_store(session.into()))
}

/// Swap a refresh token for a new access token and refresh token.
///
/// Each refresh token works once. Presenting one that was already used revokes every
/// refresh token of that user.
#[utoipa::path(
    tag = "auth",
    operation_id = "refresh_session",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = SessionResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, used, revoked or expired refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or mistyped fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh_session(
    state: Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let token = body.0.refresh_token;
    let keys = state.clone();
    let session = state
        .db
        .write(move |conn| sessions::refresh(conn, keys.tokens()?, &token))
        .await?;
    Ok(no_store(session.into()))
}

/// Revoke a refresh token. Always 204, whether or not the token was known.
#[utoipa::path(
    tag = "auth",
    operation_id = "logout",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or mistyped fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let token = body.0.refresh_token;
    state
        .db
        .write(move |conn| sessions::logout(conn, &token))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
