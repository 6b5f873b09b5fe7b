//! Users: admin management with the last admin protected, and each user's own profile.
//! Passwords arrive here already hashed (hashing runs off the async workers).

use chrono::{DateTime, Utc};

use super::changes::{Change, ChangeSet};
use super::policy::{self, Action};
use super::{Page, PageRequest, slugs, utc};
use crate::auth::{Caller, Role};
use crate::db::users::{NewUser, UserChanges, UserRow};
use crate::db::{self, DbConn};
use crate::error::AppError;

/// A user as they and admins see them (the public view is an `Author`).
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub avatar: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = AppError;

    fn try_from(row: UserRow) -> Result<Self, AppError> {
        let role = Role::parse(&row.role)
            .ok_or_else(|| anyhow::anyhow!("user {} has unknown role {:?}", row.id, row.role))?;
        Ok(Self {
            id: row.id,
            email: row.email,
            slug: row.slug,
            name: row.name,
            bio: row.bio,
            avatar: row.avatar,
            role,
            disabled: row.disabled,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// A new user, checked for shape by the caller.
#[derive(Debug, Clone)]
pub struct NewUserInput {
    /// Lower-cased.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub bio: String,
    pub avatar: Option<String>,
}

/// Changes to a user: `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub bio: Option<String>,
    pub avatar: Option<Option<String>>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

/// Any user by id, for the session and bootstrap code (no permission check).
pub(crate) fn load(conn: &mut DbConn, id: i64) -> Result<User, AppError> {
    db::users::find(conn, id)?
        .ok_or(AppError::NotFound("user"))?
        .try_into()
}

/// Creates a user: by an admin, or with no caller from the command line and at start-up.
pub fn create(
    conn: &mut DbConn,
    caller: Option<&Caller>,
    input: NewUserInput,
) -> Result<User, AppError> {
    if let Some(caller) = caller {
        policy::require(caller, Action::ManageUsers, None)?;
    }
    db::write_transaction(conn, |conn| insert(conn, &input))
}

/// Inserts a user within the caller's transaction (no permission check).
pub(crate) fn insert(conn: &mut DbConn, input: &NewUserInput) -> Result<User, AppError> {
    if db::users::find_by_email(conn, &input.email)?.is_some() {
        return Err(email_taken());
    }
    let now = db::now();
    // The slug is derived, so a concurrent user taking it moves this one to the next free
    // `-n`; the email is the client's, so a concurrent user taking it is a 409.
    let id = slugs::insert_with_free_slug(
        conn,
        &slugs::slugify(&input.name, "user"),
        db::users::slugs_like,
        |conn, slug| {
            let row = NewUser {
                email: &input.email,
                slug,
                name: &input.name,
                bio: &input.bio,
                avatar: input.avatar.as_deref(),
                role: input.role.as_str(),
                password_hash: input.password_hash.as_deref(),
                created_at: now,
                updated_at: now,
            };
            match db::users::insert_unless_taken(conn, &row)? {
                Some(id) => Ok(Some(id)),
                // Either value may have been taken: the email is the client's conflict.
                None if db::users::find_by_email(conn, &input.email)?.is_some() => {
                    Err(email_taken())
                }
                None => Ok(None),
            }
        },
    )?;
    load(conn, id)
}

/// Every user, by id (admin).
pub fn list(conn: &mut DbConn, caller: &Caller, page: PageRequest) -> Result<Page<User>, AppError> {
    policy::require(caller, Action::ManageUsers, None)?;
    let total = db::users::count(conn)?;
    let items = db::users::list(conn, page.limit, page.offset())?
        .into_iter()
        .map(User::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        total,
        page: page.page,
        pages: page.pages(total),
        limit: page.limit,
        last_modified: None,
    })
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<User, AppError> {
    policy::require(caller, Action::ManageUsers, None)?;
    load(conn, id)
}

/// Refuses to leave the site without an admin who can sign in.
fn keep_an_admin(
    conn: &mut DbConn,
    target: &User,
    still_active_admin: bool,
) -> Result<(), AppError> {
    let is_active_admin = target.role == Role::Admin && !target.disabled;
    if !is_active_admin || still_active_admin {
        return Ok(());
    }
    db::users::lock_admins(conn)?;
    if db::users::count_active_admins(conn)? <= 1 {
        return Err(AppError::Conflict {
            message: "the last admin cannot be demoted, disabled or deleted".into(),
            field: None,
        });
    }
    Ok(())
}

fn email_taken() -> AppError {
    AppError::conflict("email", "another user has this email")
}

fn apply(conn: &mut DbConn, target: &User, patch: UserPatch) -> Result<User, AppError> {
    if let Some(email) = &patch.email
        && *email != target.email
        && db::users::find_by_email(conn, email)?.is_some()
    {
        return Err(email_taken());
    }
    let still_active_admin = patch.role.unwrap_or(target.role) == Role::Admin
        && !patch.disabled.unwrap_or(target.disabled);
    keep_an_admin(conn, target, still_active_admin)?;
    let now = db::now();
    // A new password or a disabled account ends every session.
    if patch.password_hash.is_some() || patch.disabled == Some(true) {
        db::tokens::revoke_all_for_user(conn, target.id, now)?;
    }
    // What readers see of an author: names and pictures on articles, the author pages.
    let public = patch.name.is_some() || patch.bio.is_some() || patch.avatar.is_some();
    let changes = UserChanges {
        email: patch.email,
        name: patch.name,
        bio: patch.bio,
        avatar: patch.avatar,
        role: patch.role.map(|r| r.as_str().to_owned()),
        password_hash: patch.password_hash.map(Some),
        disabled: patch.disabled,
        updated_at: Some(now),
    };
    db::users::update(conn, target.id, &changes)?;
    let user = load(conn, target.id)?;
    if public {
        let mut recorded = ChangeSet::default();
        recorded.push(Change::AuthorUpdated { id: target.id });
        recorded.apply(conn)?;
    }
    Ok(user)
}

/// Changes any user (admin), the last admin excepted.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    patch: UserPatch,
) -> Result<User, AppError> {
    policy::require(caller, Action::ManageUsers, None)?;
    db::write_transaction(conn, |conn| {
        let target = load(conn, id)?;
        apply(conn, &target, patch.clone())
    })
}

/// Gives a user the role their identity provider's claims name now (single sign-on); the
/// last admin is kept as for any other change.
pub(crate) fn sync_role(conn: &mut DbConn, target: &User, role: Role) -> Result<User, AppError> {
    let patch = UserPatch {
        role: Some(role),
        ..UserPatch::default()
    };
    apply(conn, target, patch)
}

/// Deletes a user (admin), giving their articles to `reassign_to` (default: the caller).
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    reassign_to: Option<i64>,
) -> Result<(), AppError> {
    policy::require(caller, Action::ManageUsers, None)?;
    db::write_transaction(conn, |conn| {
        // Locked first: an article being given to this user at this moment is saved before
        // the reassignment below, which then moves it to the heir with the others.
        let target: User = db::users::lock_for_delete(conn, id)?
            .ok_or(AppError::NotFound("user"))?
            .try_into()?;
        keep_an_admin(conn, &target, false)?;
        let heir = reassign_to.unwrap_or(caller.user_id);
        if heir == id {
            return Err(AppError::bad_param(
                "reassign_to",
                "must be another user than the one deleted",
            ));
        }
        if !db::users::lock_existing(conn, heir)? {
            return Err(AppError::bad_param("reassign_to", "no user has this id"));
        }
        db::articles::reassign_author(conn, id, heir)?;
        db::users::delete(conn, id)?;
        let mut recorded = ChangeSet::default();
        recorded.push(Change::AuthorDeleted { id, heir });
        recorded.apply(conn)
    })
}

/// The caller's own profile.
pub fn me(conn: &mut DbConn, caller: &Caller) -> Result<User, AppError> {
    load(conn, caller.user_id)
}

/// The caller's stored password hash, to check a current password against.
pub fn password_hash(conn: &mut DbConn, caller: &Caller) -> Result<Option<String>, AppError> {
    Ok(db::users::find(conn, caller.user_id)?.and_then(|u| u.password_hash))
}

/// Changes the caller's own profile. Role and `disabled` are not theirs to change.
pub fn update_me(conn: &mut DbConn, caller: &Caller, patch: UserPatch) -> Result<User, AppError> {
    let patch = UserPatch {
        role: None,
        disabled: None,
        ..patch
    };
    db::write_transaction(conn, |conn| {
        let target = load(conn, caller.user_id)?;
        apply(conn, &target, patch.clone())
    })
}

/// Whether any admin (enabled or not) exists.
pub fn has_admin(conn: &mut DbConn) -> Result<bool, AppError> {
    Ok(db::users::count_active_admins(conn)? > 0)
}
