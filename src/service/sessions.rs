//! Sessions: refresh tokens that rotate on every use, with reuse detection.
//!
//! A refresh token may be used once. Presenting one that was already used means it leaked
//! (or a client raced itself): every refresh token of that user is revoked, so whoever holds
//! a copy is signed out with the user.

use chrono::Duration;

use super::users::{self, User};
use crate::auth::token::{self, TokenKeys};
use crate::db::tokens::NewRefreshToken;
use crate::db::{self, DbConn};
use crate::error::AppError;

/// What a successful login or refresh hands back.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub user: User,
}

fn issue(
    conn: &mut DbConn,
    keys: &TokenKeys,
    user: User,
    family: &str,
) -> Result<Session, AppError> {
    let refresh_token = token::random_token()?;
    let now = db::now();
    let lifetime = Duration::from_std(keys.refresh_ttl).unwrap_or(Duration::days(30));
    db::tokens::insert(
        conn,
        &NewRefreshToken {
            user_id: user.id,
            token_hash: &token::secret_token_hash(&refresh_token),
            family,
            expires_at: now + lifetime,
            created_at: now,
        },
    )?;
    Ok(Session {
        access_token: keys.issue_access(user.id, user.role)?,
        expires_in: keys.access_ttl.as_secs(),
        refresh_token,
        user,
    })
}

/// Starts a session for a user whose password was just verified.
pub fn start(conn: &mut DbConn, keys: &TokenKeys, user_id: i64) -> Result<Session, AppError> {
    let caller_user = users::load(conn, user_id)?;
    if caller_user.disabled {
        return Err(AppError::Unauthenticated);
    }
    let family = uuid::Uuid::new_v4().to_string();
    issue(conn, keys, caller_user, &family)
}

enum Outcome {
    Rotated(Box<Session>),
    Refused,
}

/// Swaps a refresh token for a new one and a new access token.
pub fn refresh(conn: &mut DbConn, keys: &TokenKeys, presented: &str) -> Result<Session, AppError> {
    let hash = token::secret_token_hash(presented);
    let outcome = db::write_transaction(conn, |conn| {
        let now = db::now();
        let Some(stored) = db::tokens::find_by_hash(conn, &hash)? else {
            return Ok(Outcome::Refused);
        };
        if stored.revoked_at.is_some() || stored.expires_at <= now {
            return Ok(Outcome::Refused);
        }
        // Committed, not rolled back: the revocation is the point.
        if stored.used_at.is_some() || !db::tokens::mark_used(conn, stored.id, now)? {
            tracing::warn!(
                user.id = stored.user_id,
                "refresh token reused: revoking the user's sessions"
            );
            db::tokens::revoke_all_for_user(conn, stored.user_id, now)?;
            return Ok(Outcome::Refused);
        }
        let user = users::load(conn, stored.user_id)?;
        if user.disabled {
            return Ok(Outcome::Refused);
        }
        Ok(Outcome::Rotated(Box::new(issue(
            conn,
            keys,
            user,
            &stored.family,
        )?)))
    })?;
    match outcome {
        Outcome::Rotated(session) => Ok(*session),
        Outcome::Refused => Err(AppError::Unauthenticated),
    }
}

/// Revokes one refresh token. Unknown tokens are ignored, so the answer reveals nothing.
pub fn logout(conn: &mut DbConn, presented: &str) -> Result<(), AppError> {
    db::tokens::revoke(conn, &token::secret_token_hash(presented), db::now())?;
    Ok(())
}
