//! Personal access tokens (`api_tokens`): stored by hash, listed by prefix.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{api_tokens, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub scopes: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

/// A presented token's row and its user's current role and state.
#[derive(Debug, Clone, Queryable)]
pub struct TokenOwner {
    pub token: ApiTokenRow,
    pub role: String,
    pub disabled: bool,
}

pub fn insert(conn: &mut DbConn, token: &NewApiToken<'_>) -> QueryResult<ApiTokenRow> {
    // RETURNING is not available through MultiConnection: read it back by its unique hash.
    diesel::insert_into(api_tokens::table)
        .values(token)
        .execute(conn)?;
    api_tokens::table
        .filter(api_tokens::token_hash.eq(token.token_hash))
        .select(ApiTokenRow::as_select())
        .first(conn)
}

pub fn find_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<TokenOwner>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(hash))
        .select((ApiTokenRow::as_select(), users::role, users::disabled))
        .first(conn)
        .optional()
}

/// A user's tokens, newest first.
pub fn for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<ApiTokenRow>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.desc())
        .select(ApiTokenRow::as_select())
        .load(conn)
}

/// Revokes (deletes) one of a user's tokens; whether there was one.
pub fn delete(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<bool> {
    diesel::delete(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|deleted| deleted == 1)
}

pub fn touch(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)
        .map(drop)
}
