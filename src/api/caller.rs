//! How a request's credential becomes a `Caller`: Folio's access tokens, personal access
//! tokens, and (with single sign-on) the identity provider's own tokens.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};

use crate::auth::oidc::Provider;
use crate::auth::{Caller, MaybeCaller, Role, Scopes, api_token};
use crate::db;
use crate::error::AppError;
use crate::service::sso;
use crate::state::AppState;

/// How often a token's `last_used_at` is written: at most once a minute, not per request.
const LAST_USED_GRANULARITY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

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
    if api_token::is_personal(&token) {
        return authenticate_personal(&state, &token).await;
    }
    let user_id = match state.tokens()?.verify_access(&token) {
        Ok(user_id) => user_id,
        // Folio signs with HS256 and the provider never may: an HS256 token that failed is
        // Folio's (expired, or forged), and the provider need not be asked.
        Err(refused) => match &state.oidc {
            Some(provider) if !signed_by_folio(&token) => {
                return authenticate_provider(&state, provider, &token).await;
            }
            _ => return Err(refused),
        },
    };
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
    Ok(Caller::signed_in(user.id, role))
}

fn signed_by_folio(token: &str) -> bool {
    jsonwebtoken::decode_header(token)
        .is_ok_and(|header| header.alg == jsonwebtoken::Algorithm::HS256)
}

/// A token from the identity provider (single sign-on), for the user linked to its identity
/// with the role its claims give now, as at a sign-in.
async fn authenticate_provider(
    state: &AppState,
    provider: &Provider,
    token: &str,
) -> Result<Caller, AppError> {
    let hash = crate::auth::token::secret_token_hash(token);
    let identity = std::sync::Arc::new(provider.verify_bearer(token, &hash).await?);
    // From now on the token has a budget of its own (`client::rate_key`).
    state.limits.verified_tokens.insert(hash, ());
    let known = identity.clone();
    // Usually a read; a first use or a changed role is a write.
    let user = match state
        .db
        .run(move |conn| sso::known_user(conn, &known))
        .await?
    {
        Some(user) => user,
        None => {
            state
                .db
                .write(move |conn| sso::provision(conn, &identity))
                .await?
        }
    };
    Ok(Caller::signed_in(user.id, user.role))
}

/// A personal access token: known, unexpired, and its user enabled; the role is the user's
/// current one, so demotion, disabling and deletion apply at once.
async fn authenticate_personal(state: &AppState, token: &str) -> Result<Caller, AppError> {
    let hash = crate::auth::token::secret_token_hash(token);
    let lookup = hash.clone();
    let owner = state
        .db
        .run(move |conn| Ok(db::api_tokens::find_by_hash(conn, &lookup)?))
        .await?
        .filter(|owner| !owner.disabled)
        .ok_or(AppError::Unauthenticated)?;
    let now = db::now();
    let token = owner.token;
    if token.expires_at.is_some_and(|expires| expires <= now) {
        return Err(AppError::Unauthenticated);
    }
    let role = Role::parse(&owner.role)
        .ok_or_else(|| anyhow::anyhow!("user {} has role {:?}", token.user_id, owner.role))?;
    tracing::debug!(token.id = token.id, token.prefix = %token.prefix, "personal access token");
    if token
        .last_used_at
        .is_none_or(|used| now - used >= LAST_USED_GRANULARITY)
    {
        let id = token.id;
        // Bookkeeping: a failure here must not fail the request.
        if let Err(e) = state
            .db
            .write(move |conn| Ok(db::api_tokens::touch(conn, id, now)?))
            .await
        {
            tracing::warn!(error = %e, token.id = id, "could not record a token's use");
        }
    }
    state.limits.verified_tokens.insert(hash, ());
    Ok(Caller {
        user_id: token.user_id,
        role,
        scopes: Some(Scopes::from_stored(&token.scopes)),
        token_expires_at: token.expires_at,
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
