//! What a personal access token may be used for. A token may do what its user's role allows
//! (read now, from the user row) **and** its scopes name; a password session has no scopes to
//! narrow it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// Read drafts and scheduled articles (those the role may read).
    #[serde(rename = "content:read")]
    ContentRead,
    /// Create, edit, publish and delete articles (as the role allows).
    #[serde(rename = "content:write")]
    ContentWrite,
    /// Create, rename and delete tags, including by naming a new one on an article.
    #[serde(rename = "tags:write")]
    TagsWrite,
    /// Manage users and the site settings (admins).
    #[serde(rename = "users:admin")]
    UsersAdmin,
    /// Create, list and revoke tokens.
    #[serde(rename = "tokens:manage")]
    TokensManage,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::ContentRead,
        Scope::ContentWrite,
        Scope::TagsWrite,
        Scope::UsersAdmin,
        Scope::TokensManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ContentRead => "content:read",
            Scope::ContentWrite => "content:write",
            Scope::TagsWrite => "tags:write",
            Scope::UsersAdmin => "users:admin",
            Scope::TokensManage => "tokens:manage",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    /// Whether a user of `role` may hold a token with this scope at all.
    pub fn grantable_to(self, role: Role) -> bool {
        match self {
            Scope::ContentRead | Scope::ContentWrite | Scope::TokensManage => true,
            Scope::TagsWrite => role >= Role::Author,
            Scope::UsersAdmin => role == Role::Admin,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_subset_of(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Scopes from their names, or the names that are not scopes.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, Vec<&'a str>> {
        let mut unknown = Vec::new();
        let scopes = names
            .into_iter()
            .filter_map(|name| {
                Scope::parse(name).or_else(|| {
                    unknown.push(name);
                    None
                })
            })
            .collect();
        if unknown.is_empty() {
            Ok(scopes)
        } else {
            Err(unknown)
        }
    }

    /// As stored: names separated by spaces, in a fixed order.
    pub fn to_stored(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// From the stored form; unknown names (from a newer version) grant nothing.
    pub fn from_stored(text: &str) -> Self {
        text.split_whitespace().filter_map(Scope::parse).collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        Scopes(scopes.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_survive_storage_and_ignore_unknown_names() {
        let scopes: Scopes = [Scope::TagsWrite, Scope::ContentRead].into_iter().collect();
        assert_eq!(scopes.to_stored(), "content:read tags:write");
        assert_eq!(
            Scopes::from_stored("tags:write  content:read media:write"),
            scopes
        );
        assert!(scopes.is_subset_of(Scope::ALL.into_iter().collect()));
        assert!(!Scopes::from_stored("users:admin").is_subset_of(scopes));
    }
}
