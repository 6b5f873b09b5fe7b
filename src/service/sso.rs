//! Single sign-on: sign-ins under way, and a provider identity becoming a Folio user with the
//! role its claims map to.

use chrono::TimeDelta;

use super::sessions::{self, Session};
use super::users::{self, NewUserInput, User};
use crate::auth::oidc::Identity;
use crate::auth::token::{self, TokenKeys};
use crate::db::sso::SignIn;
use crate::db::{self, DbConn};
use crate::error::AppError;

/// How long a browser may spend at the provider before the callback.
const SIGN_IN_LIFETIME: TimeDelta = TimeDelta::minutes(10);

/// A sign-in the callback can finish once.
pub struct PendingSignIn {
    pub nonce: String,
    pub pkce_verifier: String,
    pub callback_url: String,
    pub redirect_uri: String,
}

/// Records a sign-in under way, by a hash of its state; forgets those left unfinished.
pub fn begin(conn: &mut DbConn, state: &str, pending: PendingSignIn) -> Result<(), AppError> {
    let now = db::now();
    db::sso::delete_sign_ins_before(conn, now - SIGN_IN_LIFETIME)?;
    db::sso::insert_sign_in(
        conn,
        &SignIn {
            state_hash: token::secret_token_hash(state),
            nonce: pending.nonce,
            pkce_verifier: pending.pkce_verifier,
            callback_url: pending.callback_url,
            redirect_uri: pending.redirect_uri,
            created_at: now,
        },
    )?;
    Ok(())
}

/// The sign-in this state started, at most once and while it is fresh.
pub fn take(conn: &mut DbConn, state: &str) -> Result<Option<PendingSignIn>, AppError> {
    let hash = token::secret_token_hash(state);
    let taken = db::write_transaction(conn, |conn| Ok(db::sso::take_sign_in(conn, &hash)?))?;
    Ok(taken
        .filter(|s| db::now() - s.created_at < SIGN_IN_LIFETIME)
        .map(|s| PendingSignIn {
            nonce: s.nonce,
            pkce_verifier: s.pkce_verifier,
            callback_url: s.callback_url,
            redirect_uri: s.redirect_uri,
        }))
}

/// Starts a Folio session for a verified identity.
pub fn sign_in(
    conn: &mut DbConn,
    keys: &TokenKeys,
    identity: &Identity,
) -> Result<Session, AppError> {
    let user = user_for(conn, identity)?;
    sessions::start(conn, keys, user.id)
}

/// The user behind a verified identity, with the role the provider's claims give now: found
/// by (issuer, subject); else an existing account with the same email, when the provider
/// vouches for that email; else a new account.
pub fn user_for(conn: &mut DbConn, identity: &Identity) -> Result<User, AppError> {
    let role = identity.role.ok_or(AppError::Refused(
        "no Folio role is mapped to this account at the identity provider",
    ))?;
    // The usual case, a known identity whose role has not changed, only reads.
    if let Some(user_id) = db::sso::find_identity(conn, &identity.issuer, &identity.subject)? {
        let user = users::load(conn, user_id)?;
        if user.role == role {
            return usable(user);
        }
    }
    let provision = |conn: &mut DbConn| {
        db::write_transaction(conn, |conn| {
            let known = db::sso::find_identity(conn, &identity.issuer, &identity.subject)?;
            let user = match known {
                Some(user_id) => users::load(conn, user_id)?,
                None => link_or_create(conn, identity, role)?,
            };
            if user.role == role {
                return Ok(user);
            }
            users::sync_role(conn, &user, role)
        })
    };
    let user = match provision(conn) {
        // A concurrent first sign-in of the same identity took the email or the identity a
        // moment ago: now it is known.
        Err(AppError::Conflict { .. }) => provision(conn)?,
        provisioned => provisioned?,
    };
    usable(user)
}

fn usable(user: User) -> Result<User, AppError> {
    if user.disabled {
        return Err(AppError::Unauthenticated);
    }
    Ok(user)
}

fn link_or_create(
    conn: &mut DbConn,
    identity: &Identity,
    role: crate::auth::Role,
) -> Result<User, AppError> {
    let email = identity.email.clone().ok_or(AppError::Refused(
        "the identity provider did not share an email address for this account",
    ))?;
    let user = match db::users::find_by_email(conn, &email)? {
        // Linking an account by an address the provider has not verified would let anyone
        // who types a Folio user's email at the provider take over their account.
        Some(_) if !identity.email_verified => {
            return Err(AppError::conflict(
                "email",
                "an account with this email exists, and the identity provider has not verified the address",
            ));
        }
        Some(row) => User::try_from(row)?,
        None => users::insert(
            conn,
            &NewUserInput {
                name: identity
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| email.split('@').next().unwrap_or("user").to_owned()),
                email,
                role,
                // Signs in through the provider only.
                password_hash: None,
                bio: String::new(),
                avatar: None,
            },
        )?,
    };
    db::sso::insert_identity(
        conn,
        user.id,
        &identity.issuer,
        &identity.subject,
        db::now(),
    )?;
    tracing::info!(user.id = user.id, "single sign-on identity linked");
    Ok(user)
}
