//! `/users` (admin) and `/me` (every signed-in user).

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{JsonBody, QueryParams};
use super::problem::Problem;
use super::validate::{Checks, nullable};
use super::{API_PREFIX, PageMeta, PageQuery, private_json};
use crate::auth::password::{self, MAX_PASSWORD_CHARS};
use crate::auth::{Caller, Role};
use crate::error::{AppError, FieldError};
use crate::service::Page;
use crate::service::users::{self, NewUserInput, User, UserPatch};
use crate::state::AppState;

/// A user as they and admins see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: i64,
    pub email: String,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub avatar: Option<String>,
    pub role: Role,
    /// Disabled users cannot sign in, and their tokens stop working at once.
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            slug: u.slug,
            name: u.name,
            bio: u.bio,
            avatar: u.avatar,
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserListResponse {
    pub data: Vec<UserResponse>,
    pub meta: PageMeta,
}

impl From<Page<User>> for UserListResponse {
    fn from(p: Page<User>) -> Self {
        Self {
            meta: PageMeta::of(&p),
            data: p.items.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    pub email: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"\S",
        example = "Ada Lovelace"
    )]
    pub name: String,
    pub role: Role,
    /// At least 10 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    #[schema(max_length = 2000)]
    pub bio: Option<String>,
    #[schema(max_length = 2000, pattern = r"^https?://\S*$")]
    pub avatar: Option<String>,
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    pub email: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub bio: Option<String>,
    /// `null` removes the avatar.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000, pattern = r"^https?://\S*$")]
    pub avatar: Option<Option<String>>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Sets a new password and ends the user's sessions.
    #[schema(min_length = 10, max_length = 256)]
    pub password: Option<String>,
}

/// Changes to your own profile. A new `password` needs `current_password`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    pub email: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub bio: Option<String>,
    /// `null` removes the avatar.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000, pattern = r"^https?://\S*$")]
    pub avatar: Option<Option<String>>,
    #[schema(min_length = 10, max_length = 256)]
    pub password: Option<String>,
    pub current_password: Option<String>,
}

fn check_profile(
    checks: &mut Checks,
    email: Option<&str>,
    name: Option<&str>,
    bio: Option<&str>,
    avatar: Option<&str>,
    password: Option<&str>,
) {
    if let Some(email) = email {
        checks.email("email", email.trim());
    }
    if let Some(name) = name {
        checks.text("name", name, 1, 100);
    }
    if let Some(bio) = bio {
        checks.text("bio", bio, 0, 2000);
    }
    if let Some(avatar) = avatar {
        checks.url("avatar", avatar);
    }
    if let Some(password) = password
        && let Err(error) = password::validate("password", password)
    {
        checks.push(error);
    }
}

fn normalize_email(email: Option<String>) -> Option<String> {
    email.map(|e| e.trim().to_lowercase())
}

/// Users, by id (admin).
#[utoipa::path(
    tag = "users",
    operation_id = "list_users",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = UserListResponse),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: Data<AppState>,
    caller: Caller,
    params: QueryParams<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = params.0.into_page()?;
    let users = state
        .db
        .run(move |conn| users::list(conn, &caller, page))
        .await?;
    private_json(UserListResponse::from(users), None)
}

/// Create a user (admin).
#[utoipa::path(
    tag = "users",
    operation_id = "create_user",
    request_body = CreateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserResponse, headers(("Location" = String, description = "The new user's URL"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let request = body.0;
    crate::service::policy::require(&caller, crate::service::policy::Action::ManageUsers, None)?;
    let mut checks = Checks::default();
    check_profile(
        &mut checks,
        Some(&request.email),
        Some(&request.name),
        request.bio.as_deref(),
        request.avatar.as_deref(),
        Some(&request.password),
    );
    checks.finish()?;
    let password_hash = state.passwords.hash(request.password).await?;
    let input = NewUserInput {
        email: request.email.trim().to_lowercase(),
        name: request.name.trim().to_owned(),
        role: request.role,
        password_hash: Some(password_hash),
        bio: request.bio.unwrap_or_default(),
        avatar: request.avatar,
    };
    let user = state
        .write(move |conn| users::create(conn, Some(&caller), input))
        .await?;
    let location = format!("{API_PREFIX}/users/{}", user.id);
    Ok(HttpResponse::Created()
        .insert_header(("location", location))
        .insert_header(("cache-control", "no-store"))
        .json(UserResponse::from(user)))
}

/// One user (admin).
#[utoipa::path(
    tag = "users",
    operation_id = "get_user",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let user = state
        .db
        .run(move |conn| users::get(conn, &caller, id))
        .await?;
    private_json(UserResponse::from(user), None)
}

/// Change a user: profile, role, disabled, password (admin). The last admin cannot be
/// demoted or disabled. Disabling ends the user's sessions at once.
#[utoipa::path(
    tag = "users",
    operation_id = "update_user",
    params(("id" = i64, Path, description = "User id")),
    request_body = UpdateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed user", body = UserResponse),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken, or this is the last admin", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    body: JsonBody<UpdateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let request = body.0;
    crate::service::policy::require(&caller, crate::service::policy::Action::ManageUsers, None)?;
    let mut checks = Checks::default();
    check_profile(
        &mut checks,
        request.email.as_deref(),
        request.name.as_deref(),
        request.bio.as_deref(),
        request.avatar.clone().flatten().as_deref(),
        request.password.as_deref(),
    );
    checks.finish()?;
    let password_hash = match request.password {
        Some(password) => Some(state.passwords.hash(password).await?),
        None => None,
    };
    let patch = UserPatch {
        email: normalize_email(request.email),
        name: request.name.map(|n| n.trim().to_owned()),
        bio: request.bio,
        avatar: request.avatar,
        role: request.role,
        disabled: request.disabled,
        password_hash,
    };
    let id = id.into_inner();
    let user = state
        .write(move |conn| users::update(conn, &caller, id, patch))
        .await?;
    private_json(UserResponse::from(user), None)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteUserQuery {
    /// Who gets the deleted user's articles (default: you).
    pub reassign_to: Option<i64>,
}

/// Delete a user, giving their articles to someone else (admin). The last admin cannot be deleted.
#[utoipa::path(
    tag = "users",
    operation_id = "delete_user",
    params(("id" = i64, Path, description = "User id"), DeleteUserQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A bad id or reassign_to", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This is the last admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{id}")]
pub async fn delete_user(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    params: QueryParams<DeleteUserQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, reassign_to) = (id.into_inner(), params.0.reassign_to);
    state
        .write(move |conn| users::delete(conn, &caller, id, reassign_to))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Your own profile.
#[utoipa::path(
    tag = "me",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your profile", body = UserResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn get_me(state: Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let user = state.db.run(move |conn| users::me(conn, &caller)).await?;
    private_json(UserResponse::from(user), None)
}

/// Change your own profile or password. A new password needs the current one and ends
/// your other sessions (refresh tokens).
#[utoipa::path(
    tag = "me",
    operation_id = "update_me",
    request_body = UpdateMeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your changed profile", body = UserResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A personal access token: a profile or password changes only from a signed-in session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a wrong current password", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
pub async fn update_me(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<UpdateMeRequest>,
) -> Result<HttpResponse, AppError> {
    // A script's token publishes; it does not rename or re-password the person behind it.
    if caller.scopes.is_some() {
        return Err(AppError::Forbidden);
    }
    let request = body.0;
    let mut checks = Checks::default();
    check_profile(
        &mut checks,
        request.email.as_deref(),
        request.name.as_deref(),
        request.bio.as_deref(),
        request.avatar.clone().flatten().as_deref(),
        request.password.as_deref(),
    );
    checks.require(
        request.password.is_none() || request.current_password.is_some(),
        "current_password",
        "is required to set a new password",
    );
    checks.finish()?;
    let password_hash = match (request.password, request.current_password) {
        (Some(password), Some(current)) => {
            let current = current.chars().take(MAX_PASSWORD_CHARS + 1).collect();
            let stored = state
                .db
                .run(move |conn| users::password_hash(conn, &caller))
                .await?;
            if !state.passwords.verify(current, stored).await? {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "current_password",
                    "is not your current password",
                )]));
            }
            Some(state.passwords.hash(password).await?)
        }
        _ => None,
    };
    let patch = UserPatch {
        email: normalize_email(request.email),
        name: request.name.map(|n| n.trim().to_owned()),
        bio: request.bio,
        avatar: request.avatar,
        password_hash,
        ..UserPatch::default()
    };
    let user = state
        .write(move |conn| users::update_me(conn, &caller, patch))
        .await?;
    private_json(UserResponse::from(user), None)
}
