//! Single sign-on: which provider identity is which user (`user_identities`), and the
//! sign-ins under way (`sign_ins`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{sign_ins, user_identities, users};
use super::users::UserRow;

/// What the callback needs to finish a sign-in the login endpoint started.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_ins)]
pub struct SignIn {
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Folio's own callback URL as sent to the provider: the code exchange must repeat it.
    pub callback_url: String,
    /// Where the client asked to receive its tokens.
    pub redirect_uri: String,
    /// SHA-256 of the cookie set on the browser that started the sign-in.
    pub browser_hash: String,
    pub created_at: NaiveDateTime,
}

pub fn insert_sign_in(conn: &mut DbConn, sign_in: &SignIn) -> QueryResult<()> {
    diesel::insert_into(sign_ins::table)
        .values(sign_in)
        .execute(conn)
        .map(|_| ())
}

/// Removes and returns the sign-in with this state, so each state is honoured once; a
/// sign-in that was never started, or already finished, is `None`.
pub fn take_sign_in(conn: &mut DbConn, state_hash: &str) -> QueryResult<Option<SignIn>> {
    let found = sign_ins::table
        .find(state_hash)
        .select(SignIn::as_select())
        .first(conn)
        .optional()?;
    // Whoever deletes the row owns the sign-in: two callbacks racing with one state cannot
    // both pass.
    let deleted = diesel::delete(sign_ins::table.find(state_hash)).execute(conn)?;
    Ok(found.filter(|_| deleted == 1))
}

/// Forgets sign-ins started before `cutoff` that were never finished.
pub fn delete_sign_ins_before(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sign_ins::table.filter(sign_ins::created_at.lt(cutoff))).execute(conn)
}

/// The user a provider identity belongs to: one statement for every request that brings a
/// provider's token.
pub fn identity_user(
    conn: &mut DbConn,
    issuer: &str,
    subject: &str,
) -> QueryResult<Option<UserRow>> {
    user_identities::table
        .inner_join(users::table)
        .filter(user_identities::issuer.eq(issuer))
        .filter(user_identities::subject.eq(subject))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_identity(
    conn: &mut DbConn,
    user_id: i64,
    issuer: &str,
    subject: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(user_identities::table)
        .values((
            user_identities::user_id.eq(user_id),
            user_identities::issuer.eq(issuer),
            user_identities::subject.eq(subject),
            user_identities::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}
