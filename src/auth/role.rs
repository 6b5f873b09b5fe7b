//! The newsroom roles. Declaration order is rank: a role can do everything the ones before it can.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's role. Stored as text, never as a number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Writes drafts; an editor publishes them.
    Contributor,
    /// Publishes and edits their own articles.
    Author,
    /// Edits and publishes everyone's articles; manages tags.
    Editor,
    /// Everything, including users and roles.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Contributor, Role::Author, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Contributor => "contributor",
            Role::Author => "author",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
