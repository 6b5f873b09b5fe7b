//! `Caller` makes a handler authenticated; `MaybeCaller` makes it open to both.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};

use super::Role;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// The verified caller behind `Authorization: Bearer <access token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub role: Role,
}

/// `None` only when no `Authorization` header was sent: a bad token is still a 401, so a
/// client with an expired token learns it instead of silently seeing less.
#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Caller>);

pub(crate) fn bearer_token(req: &HttpRequest) -> Option<Result<String, AppError>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .filter(|token| !token.is_empty())
        .ok_or(AppError::Unauthenticated);
    Some(token)
}

async fn authenticate(state: Option<Data<AppState>>, token: String) -> Result<Caller, AppError> {
    let state = state.ok_or_else(|| anyhow::anyhow!("AppState is not registered"))?;
    let user_id = state.tokens()?.verify_access(&token)?;
    // Role and `disabled` come from the row, so demotion and disabling apply at once.
    let user = state
        .db
        .run(move |conn| Ok(db::users::find(conn, user_id)?))
        .await?;
    let user = user
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthenticated)?;
    let role = Role::parse(&user.role)
        .ok_or_else(|| anyhow::anyhow!("user {} has role {:?}", user.id, user.role))?;
    Ok(Caller {
        user_id: user.id,
        role,
    })
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move { authenticate(state, token.ok_or(AppError::Unauthenticated)??).await })
    }
}

impl FromRequest for MaybeCaller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            match token {
                None => Ok(MaybeCaller(None)),
                Some(token) => Ok(MaybeCaller(Some(authenticate(state, token?).await?))),
            }
        })
    }
}
