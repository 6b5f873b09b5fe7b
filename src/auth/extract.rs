//! `Caller` makes a handler authenticated; `MaybeCaller` makes it open to both. How a
//! request's credential becomes one is `api::caller`'s work.

use super::{Role, Scope, Scopes};

/// The verified caller behind `Authorization: Bearer <access token or personal access token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub role: Role,
    /// What a personal access token is limited to; `None` for a signed-in session.
    pub scopes: Option<Scopes>,
    /// When the personal access token in use expires, if it does.
    pub token_expires_at: Option<chrono::NaiveDateTime>,
}

impl Caller {
    /// A signed-in session (a Folio access token or an identity provider's token): all that
    /// the role allows.
    pub fn signed_in(user_id: i64, role: Role) -> Self {
        Self {
            user_id,
            role,
            scopes: None,
            token_expires_at: None,
        }
    }

    /// Whether the caller's credential covers `scope` (a session covers everything its role
    /// allows).
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.is_none_or(|scopes| scopes.contains(scope))
    }
}

/// `None` only when no `Authorization` header was sent: a bad token is still a 401, so a
/// client with an expired token learns it instead of silently seeing less.
#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Caller>);
