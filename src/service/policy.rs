//! design.md's role table as one match. Services call `require` before they touch anything.

use crate::auth::{Caller, Role, Scope};
use crate::error::AppError;

/// Something a caller may or may not do. `own` says whether it is their own article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See a draft or a scheduled article.
    ReadUnpublished,
    CreateDraft,
    /// Make an article published or scheduled.
    Publish,
    /// Edit or delete an article that is a draft.
    EditDraft,
    /// Edit or delete an article that is published or scheduled.
    EditPublished,
    /// Give an article to another author.
    Reassign,
    /// Create a tag by naming it on an article.
    CreateTagInline,
    ManageTags,
    ManageUsers,
    /// Change the site's description and URL templates.
    ManageSite,
    /// Register webhooks and read their deliveries (they carry drafts and secrets).
    ManageWebhooks,
    /// Browse the media library.
    ReadMedia,
    UploadMedia,
    /// Change or delete a media item (`own`: uploaded by the caller).
    EditMedia,
}

impl Action {
    /// The scope a personal access token needs for it.
    pub fn scope(self) -> Scope {
        match self {
            Action::ReadUnpublished | Action::ReadMedia => Scope::ContentRead,
            Action::CreateDraft
            | Action::Publish
            | Action::EditDraft
            | Action::EditPublished
            | Action::Reassign
            | Action::UploadMedia
            | Action::EditMedia => Scope::ContentWrite,
            Action::CreateTagInline | Action::ManageTags => Scope::TagsWrite,
            Action::ManageUsers | Action::ManageSite | Action::ManageWebhooks => Scope::UsersAdmin,
        }
    }
}

/// Whether `role` may do `action`, on its own article if `own`.
pub fn allows(role: Role, action: Action, own: bool) -> bool {
    match action {
        Action::CreateDraft | Action::ReadMedia => true,
        Action::UploadMedia => role >= Role::Author,
        Action::ReadUnpublished | Action::EditDraft => own || role >= Role::Editor,
        Action::Publish | Action::EditPublished | Action::EditMedia => {
            (own && role >= Role::Author) || role >= Role::Editor
        }
        Action::Reassign | Action::ManageTags => role >= Role::Editor,
        Action::CreateTagInline => role >= Role::Author,
        Action::ManageUsers | Action::ManageSite | Action::ManageWebhooks => role == Role::Admin,
    }
}

/// Whether the caller may do `action`, on its own article if `own`: its role allows it and,
/// for a personal access token, its scopes cover it.
pub fn permits(caller: &Caller, action: Action, own: bool) -> bool {
    allows(caller.role, action, own) && caller.has_scope(action.scope())
}

/// `Forbidden` unless the caller's role may do `action` (on an article by `owner`, if any),
/// and `MissingScope` if the role may but the token's scopes do not cover it.
pub fn require(caller: &Caller, action: Action, owner: Option<i64>) -> Result<(), AppError> {
    let own = owner == Some(caller.user_id);
    if !allows(caller.role, action, own) {
        return Err(AppError::Forbidden);
    }
    require_scope(caller, action.scope())
}

/// `MissingScope` unless the caller's credential covers `scope`.
pub fn require_scope(caller: &Caller, scope: Scope) -> Result<(), AppError> {
    if caller.has_scope(scope) {
        Ok(())
    } else {
        Err(AppError::MissingScope(scope.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::Action::*;
    use super::*;
    use crate::auth::Role::{Admin, Author, Contributor, Editor};

    /// design.md, "Roles": (action, own?, contributor, author, editor, admin).
    const TABLE: [(Action, bool, [bool; 4]); 19] = [
        (ReadUnpublished, true, [true, true, true, true]),
        (ReadUnpublished, false, [false, false, true, true]),
        (CreateDraft, true, [true, true, true, true]),
        (Publish, true, [false, true, true, true]),
        (Publish, false, [false, false, true, true]),
        (EditDraft, true, [true, true, true, true]),
        (EditDraft, false, [false, false, true, true]),
        (EditPublished, true, [false, true, true, true]),
        (EditPublished, false, [false, false, true, true]),
        (Reassign, false, [false, false, true, true]),
        (CreateTagInline, true, [false, true, true, true]),
        (ManageTags, false, [false, false, true, true]),
        (ManageUsers, false, [false, false, false, true]),
        (ManageSite, false, [false, false, false, true]),
        (ManageWebhooks, false, [false, false, false, true]),
        (ReadMedia, false, [true, true, true, true]),
        (UploadMedia, true, [false, true, true, true]),
        (EditMedia, true, [false, true, true, true]),
        (EditMedia, false, [false, false, true, true]),
    ];

    #[test]
    fn the_policy_is_the_design_role_table() {
        for (action, own, expected) in TABLE {
            for (role, allowed) in [Contributor, Author, Editor, Admin]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(
                    allows(role, action, own),
                    allowed,
                    "{role:?} {action:?} own={own}"
                );
            }
        }
    }
}
