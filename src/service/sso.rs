//! Single sign-on: sign-ins under way, and a provider identity becoming a Folio user with the
//! role its claims map to.

use chrono::TimeDelta;

use super::sessions::{self, Session};
use super::users::{self, NewUserInput, User};
use crate::auth::Role;
use crate::auth::oidc::Identity;
use crate::auth::token::{self, TokenKeys};
use crate::db::sso::SignIn;
use crate::db::{self, DbConn};
use crate::error::AppError;

/// How long a browser may spend at the provider before the callback.
const SIGN_IN_LIFETIME: TimeDelta = TimeDelta::minutes(10);

/// What the callback needs to finish a sign-in.
pub struct SignInDetails {
    pub nonce: String,
    pub pkce_verifier: String,
    pub callback_url: String,
    pub redirect_uri: String,
}

/// A sign-in the callback found: `browser_hash` must match the cookie the callback brings.
pub struct StartedSignIn {
    pub details: SignInDetails,
    browser_hash: String,
}

impl StartedSignIn {
    /// Whether the callback came from the browser that started the sign-in: without this an
    /// attacker could start a sign-in as themselves and have a victim's browser finish it,
    /// signing the victim into the attacker's account (login CSRF).
    pub fn started_by(&self, browser: Option<&str>) -> bool {
        browser.is_some_and(|b| token::secret_token_hash(b) == self.browser_hash)
    }
}

/// Records a sign-in under way, by a hash of its state, tied to the browser that was given the
/// cookie `browser`; forgets those left unfinished.
pub fn begin(
    conn: &mut DbConn,
    state: &str,
    browser: &str,
    details: SignInDetails,
) -> Result<(), AppError> {
    let now = db::now();
    db::sso::delete_sign_ins_before(conn, now - SIGN_IN_LIFETIME)?;
    db::sso::insert_sign_in(
        conn,
        &SignIn {
            state_hash: token::secret_token_hash(state),
            nonce: details.nonce,
            pkce_verifier: details.pkce_verifier,
            callback_url: details.callback_url,
            redirect_uri: details.redirect_uri,
            browser_hash: token::secret_token_hash(browser),
            created_at: now,
        },
    )?;
    Ok(())
}

/// The sign-in this state started, at most once and while it is fresh.
pub fn take(conn: &mut DbConn, state: &str) -> Result<Option<StartedSignIn>, AppError> {
    let hash = token::secret_token_hash(state);
    let taken = db::write_transaction(conn, |conn| Ok(db::sso::take_sign_in(conn, &hash)?))?;
    Ok(taken
        .filter(|s| db::now() - s.created_at < SIGN_IN_LIFETIME)
        .map(|s| StartedSignIn {
            details: SignInDetails {
                nonce: s.nonce,
                pkce_verifier: s.pkce_verifier,
                callback_url: s.callback_url,
                redirect_uri: s.redirect_uri,
            },
            browser_hash: s.browser_hash,
        }))
}

/// Starts a Folio session for a verified identity.
pub fn sign_in(
    conn: &mut DbConn,
    keys: &TokenKeys,
    identity: &Identity,
) -> Result<Session, AppError> {
    let user = match known_user(conn, identity)? {
        Some(user) => user,
        None => provision(conn, identity)?,
    };
    sessions::start(conn, keys, user.id)
}

/// The user of a known identity, when signing them in writes nothing: their role is the one
/// the claims give (or the token carries no role claim). `None`: `provision` has work to do.
pub fn known_user(conn: &mut DbConn, identity: &Identity) -> Result<Option<User>, AppError> {
    let Some(row) = db::sso::identity_user(conn, &identity.issuer, &identity.subject)? else {
        return Ok(None);
    };
    let user = User::try_from(row)?;
    if identity.role_claimed && identity.role != Some(user.role) {
        return Ok(None);
    }
    usable(user).map(Some)
}

/// The user behind a verified identity, created at its first sign-in, with the role the
/// provider's claims give now. An identity whose claims map to no role is refused, and a known
/// user's sessions end with that.
pub fn provision(conn: &mut DbConn, identity: &Identity) -> Result<User, AppError> {
    let attempt = |conn: &mut DbConn| {
        db::write_transaction(conn, |conn| {
            let known = db::sso::identity_user(conn, &identity.issuer, &identity.subject)?;
            match (known, identity.role) {
                (Some(row), Some(role)) => {
                    let user = User::try_from(row)?;
                    if user.role == role || !identity.role_claimed {
                        return Ok(Some(user));
                    }
                    users::sync_role(conn, &user, role).map(Some)
                }
                (Some(row), None) => {
                    db::tokens::revoke_all_for_user(conn, row.id, db::now())?;
                    Ok(None)
                }
                (None, Some(role)) => create(conn, identity, role).map(Some),
                (None, None) => Ok(None),
            }
        })
    };
    let provisioned = match attempt(conn) {
        // A concurrent first sign-in of the same identity created it a moment ago (the email
        // or the identity was taken): now it is known.
        Err(AppError::Conflict { .. }) => attempt(conn)?,
        provisioned => provisioned?,
    };
    let user = provisioned.ok_or(AppError::Refused(
        "no Folio role is mapped to this account at the identity provider",
    ))?;
    usable(user)
}

fn usable(user: User) -> Result<User, AppError> {
    if user.disabled {
        return Err(AppError::Unauthenticated);
    }
    Ok(user)
}

/// The longest name and email the provider's claims may give a new user.
const MAX_NAME_CHARS: usize = 100;
const MAX_EMAIL_CHARS: usize = 254;

/// A new user for an identity's first sign-in. An account that already has the email is not
/// taken over: Folio never verified the addresses its users typed (any user may set theirs
/// to someone else's), so a match says nothing about who owns the account; an admin links it
/// (`folio user link-identity`).
fn create(conn: &mut DbConn, identity: &Identity, role: Role) -> Result<User, AppError> {
    let email = identity
        .email
        .clone()
        .filter(|e| e.contains('@') && !e.contains('\0') && e.chars().count() <= MAX_EMAIL_CHARS)
        .ok_or(AppError::Refused(
            "the identity provider did not share a usable email address for this account",
        ))?;
    if db::users::find_by_email(conn, &email)?.is_some() {
        return Err(AppError::conflict(
            "email",
            "a Folio account with this email exists and is not linked to this identity; \
             an admin can link it with `folio user link-identity`",
        ));
    }
    let name: String = identity
        .name
        .as_deref()
        .map(|n| {
            n.replace('\0', "")
                .trim()
                .chars()
                .take(MAX_NAME_CHARS)
                .collect()
        })
        .filter(|n: &String| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or("user").to_owned());
    let user = users::insert(
        conn,
        &NewUserInput {
            name,
            email,
            role,
            // Signs in through the provider only.
            password_hash: None,
            bio: String::new(),
            avatar: None,
        },
    )?;
    db::sso::insert_identity(
        conn,
        user.id,
        &identity.issuer,
        &identity.subject,
        db::now(),
    )?;
    tracing::info!(user.id = user.id, "single sign-on user created");
    Ok(user)
}

/// Links a provider identity to an existing account (an admin's command, for accounts from
/// before single sign-on); the account's role then follows the provider's claims.
pub fn link(conn: &mut DbConn, email: &str, issuer: &str, subject: &str) -> Result<User, AppError> {
    db::write_transaction(conn, |conn| {
        let user: User = db::users::find_by_email(conn, &email.trim().to_lowercase())?
            .ok_or(AppError::NotFound("user"))?
            .try_into()?;
        if db::sso::identity_user(conn, issuer, subject)?.is_some() {
            return Err(AppError::conflict(
                "subject",
                "this identity is already linked to a user",
            ));
        }
        db::sso::insert_identity(conn, user.id, issuer, subject, db::now())?;
        Ok(user)
    })
}
