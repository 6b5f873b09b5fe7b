//! Personal access tokens: who may make, list and revoke them, and with which scopes.

use chrono::NaiveDateTime;

use super::policy::{self, Action};
use crate::auth::{Caller, Role, Scope, Scopes, api_token, token};
use crate::db::api_tokens::{ApiTokenRow, NewApiToken};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};

/// A token as listings show it: never the token itself.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scopes: Scopes,
    pub prefix: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(row: ApiTokenRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            scopes: Scopes::from_stored(&row.scopes),
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        }
    }
}

pub struct NewToken {
    pub name: String,
    pub scopes: Scopes,
    pub expires_at: Option<NaiveDateTime>,
}

/// Makes a token for the caller. A session may; a token only with `tokens:manage`, and never
/// one with scopes it does not have itself or that outlives it. No token gets a scope the
/// role cannot hold.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    request: &NewToken,
) -> Result<(ApiToken, String), AppError> {
    policy::require_scope(caller, Scope::TokensManage)?;
    if let Some(own) = caller.scopes
        && !request.scopes.is_subset_of(own)
    {
        return Err(AppError::Invalid(vec![FieldError::new(
            "scopes",
            "may not exceed the scopes of the token that creates it",
        )]));
    }
    if let Some(limit) = caller.token_expires_at
        && request.expires_at.is_none_or(|at| at > limit)
    {
        return Err(AppError::Invalid(vec![FieldError::new(
            "expires_at",
            "may not be later than the expiry of the token that creates it",
        )]));
    }
    check_grantable(caller.role, request.scopes)?;
    let (secret, prefix) = api_token::generate()?;
    let hash = token::secret_token_hash(&secret);
    let scopes = request.scopes.to_stored();
    let row = db::api_tokens::insert(
        conn,
        &NewApiToken {
            user_id: caller.user_id,
            name: &request.name,
            token_hash: &hash,
            prefix: &prefix,
            scopes: &scopes,
            created_at: db::now(),
            expires_at: request.expires_at,
        },
    )?;
    Ok((row.into(), secret))
}

/// Makes a token for the user with this email, from the command line (provisioning CI).
pub fn create_for_email(
    conn: &mut DbConn,
    email: &str,
    request: &NewToken,
) -> Result<(ApiToken, String), AppError> {
    let user = db::users::find_by_email(conn, &email.trim().to_lowercase())?
        .filter(|user| !user.disabled)
        .ok_or(AppError::NotFound("user"))?;
    let role = Role::parse(&user.role).ok_or(AppError::NotFound("user"))?;
    create(conn, &Caller::signed_in(user.id, role), request)
}

fn check_grantable(role: Role, scopes: Scopes) -> Result<(), AppError> {
    let refused: Vec<FieldError> = scopes
        .iter()
        .filter(|scope| !scope.grantable_to(role))
        .map(|scope| {
            FieldError::new(
                "scopes",
                format!("{} is beyond the {role} role", scope.as_str()),
            )
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(refused))
    }
}

/// The tokens of `user_id`: one's own (with `tokens:manage` for a token), anyone's for an
/// admin.
pub fn list(conn: &mut DbConn, caller: &Caller, user_id: i64) -> Result<Vec<ApiToken>, AppError> {
    may_manage(conn, caller, user_id)?;
    Ok(db::api_tokens::for_user(conn, user_id)?
        .into_iter()
        .map(ApiToken::from)
        .collect())
}

/// Revokes one token of `user_id`; 404 if that user has no such token.
pub fn revoke(conn: &mut DbConn, caller: &Caller, user_id: i64, id: i64) -> Result<(), AppError> {
    may_manage(conn, caller, user_id)?;
    if db::api_tokens::delete(conn, user_id, id)? {
        Ok(())
    } else {
        Err(AppError::NotFound("token"))
    }
}

fn may_manage(conn: &mut DbConn, caller: &Caller, user_id: i64) -> Result<(), AppError> {
    if user_id == caller.user_id {
        return policy::require_scope(caller, Scope::TokensManage);
    }
    policy::require(caller, Action::ManageUsers, None)?;
    db::users::find(conn, user_id)?.ok_or(AppError::NotFound("user"))?;
    Ok(())
}
