//! `/auth/oidc`: single sign-on through the OpenID Connect provider, by the authorization
//! code flow with PKCE. The browser leaves at `login` and comes back at `callback`, which
//! sends it on to the app's `redirect_uri` with Folio's own tokens in the URL fragment (which
//! browsers never send to a server, nor put in a `Referer`).

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, get};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::QueryParams;
use super::problem::Problem;
use crate::auth::oidc::Provider;
use crate::auth::token;
use crate::error::AppError;
use crate::service::sessions::Session;
use crate::service::sso::{self, SignInDetails};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LoginParams {
    /// Where to send the browser with Folio's tokens when the sign-in is done: one of
    /// `FOLIO_OIDC_REDIRECT_URIS`, exactly.
    #[param(example = "https://app.example/signed-in")]
    pub redirect_uri: String,
}

/// What the provider sends the browser back with (RFC 6749 §4.1.2).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

fn provider(state: &AppState) -> Result<&Provider, AppError> {
    state.oidc.as_deref().ok_or(AppError::NotFound(
        "single sign-on (FOLIO_OIDC_ISSUER is not set)",
    ))
}

/// Ties a callback to the browser that started the sign-in; sent only to these endpoints.
const BROWSER_COOKIE: &str = "folio_sign_in";
const COOKIE_PATH: &str = "/api/v1/auth/oidc";

fn browser_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(BROWSER_COOKIE, value)
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(secure)
        // Lax: sent when the provider sends the browser back (a top-level GET).
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::minutes(10))
        .finish()
}

fn redirect(location: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::Found();
    response
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// Start a single sign-on: redirects the browser to the identity provider.
///
/// The provider sends the browser back to `/auth/oidc/callback`, which redirects it on to
/// `redirect_uri` with `#access_token=…&token_type=Bearer&expires_in=…&refresh_token=…`
/// (or `#error=…&error_description=…`). The user is found by their provider identity or
/// created, with the role their claims map to (`FOLIO_OIDC_ROLE_MAP`), at every sign-in.
#[utoipa::path(
    tag = "auth",
    operation_id = "start_single_sign_on",
    security(()),
    params(LoginParams),
    responses(
        (status = 302, description = "To the identity provider", headers(("Location" = String, description = "The provider's authorization URL"))),
        (status = 400, description = "`redirect_uri` missing or not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Single sign-on is not configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The identity provider or the database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/auth/oidc/login")]
pub async fn start_single_sign_on(
    req: HttpRequest,
    state: Data<AppState>,
    params: QueryParams<LoginParams>,
) -> Result<HttpResponse, AppError> {
    let provider = provider(&state)?;
    let redirect_uri = params.into_inner().redirect_uri;
    if !state.config.oidc.redirect_uris.0.contains(&redirect_uri) {
        return Err(AppError::bad_param(
            "redirect_uri",
            "is not one of this server's FOLIO_OIDC_REDIRECT_URIS",
        ));
    }
    let callback_url = match &state.config.oidc.callback_url {
        Some(url) => url.clone(),
        None => {
            let url = format!(
                "{}/api/v1/auth/oidc/callback",
                super::client::public_origin(&req, &state.config.trusted_proxies)
            );
            url::Url::parse(&url).map_err(|_| {
                AppError::bad_param("Host", "is not a host name this server can be reached at")
            })?;
            url
        }
    };
    let authorization = provider.authorization(&callback_url).await?;
    let browser = token::random_token()?;
    let secure = callback_url.starts_with("https:");
    let details = SignInDetails {
        nonce: authorization.nonce,
        pkce_verifier: authorization.pkce_verifier,
        callback_url,
        redirect_uri,
    };
    let sign_in_state = authorization.state;
    let cookie = browser.clone();
    state
        .db
        .write(move |conn| sso::begin(conn, &sign_in_state, &cookie, details))
        .await?;
    Ok(redirect(&authorization.url)
        .cookie(browser_cookie(browser, secure))
        .finish())
}

/// Finish a single sign-on (the identity provider sends the browser here).
///
/// A state that is unknown, used or older than ten minutes is a 400. Past that check, every
/// outcome is a redirect to the sign-in's `redirect_uri`: Folio's tokens in the fragment, or
/// `error` (`access_denied`, `temporarily_unavailable`, `server_error`) and
/// `error_description`.
#[utoipa::path(
    tag = "auth",
    operation_id = "finish_single_sign_on",
    security(()),
    params(CallbackParams),
    responses(
        (status = 302, description = "To the app's redirect_uri, with tokens or an error in the fragment", headers(("Location" = String, description = "redirect_uri#access_token=…"))),
        (status = 400, description = "Unknown, used or expired state", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Single sign-on is not configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/auth/oidc/callback")]
pub async fn finish_single_sign_on(
    req: HttpRequest,
    state: Data<AppState>,
    params: QueryParams<CallbackParams>,
) -> Result<HttpResponse, AppError> {
    let provider = provider(&state)?;
    let params = params.into_inner();
    let presented = params
        .state
        .ok_or_else(|| AppError::bad_param("state", "is required"))?;
    let started = state
        .db
        .write(move |conn| sso::take(conn, &presented))
        .await?
        .ok_or_else(|| {
            AppError::bad_param(
                "state",
                "is unknown, already used or expired; sign in again",
            )
        })?;
    let browser = req.cookie(BROWSER_COOKIE);
    if !started.started_by(browser.as_ref().map(|c| c.value())) {
        return Err(AppError::bad_param(
            "state",
            "belongs to a sign-in started in another browser; sign in again",
        ));
    }
    let pending = started.details;
    let pending_secure = pending.callback_url.starts_with("https:");
    let mut back = url::Url::parse(&pending.redirect_uri)
        .map_err(|e| anyhow::anyhow!("a stored redirect_uri does not parse: {e}"))?;
    let outcome = match (params.error, params.code) {
        (Some(error), _) => Err((
            error,
            params
                .error_description
                .unwrap_or_else(|| "the identity provider refused the sign-in".into()),
        )),
        (None, None) => Err((
            "invalid_request".into(),
            "the identity provider sent no code".into(),
        )),
        (None, Some(code)) => finish(&state, provider, &code, pending).await.map_err(|e| {
            let error = match e {
                AppError::Unavailable { .. } | AppError::Timeout | AppError::Contended => {
                    "temporarily_unavailable"
                }
                AppError::Internal(_) => "server_error",
                _ => "access_denied",
            };
            let description = match e {
                AppError::Internal(inner) => {
                    tracing::error!(error = %inner, "single sign-on failed");
                    "the sign-in failed on the server; try again".to_owned()
                }
                refused => refused.to_string(),
            };
            (error.to_owned(), description)
        }),
    };
    let mut fragment = form_urlencoded::Serializer::new(String::new());
    match outcome {
        Ok(session) => {
            metrics::counter!("folio_logins_total", "outcome" => "sso_success").increment(1);
            fragment
                .append_pair("access_token", &session.access_token)
                .append_pair("token_type", "Bearer")
                .append_pair("expires_in", &session.expires_in.to_string())
                .append_pair("refresh_token", &session.refresh_token);
        }
        Err((error, description)) => {
            metrics::counter!("folio_logins_total", "outcome" => "sso_refused").increment(1);
            tracing::info!(%error, %description, "single sign-on refused");
            fragment
                .append_pair("error", &error)
                .append_pair("error_description", &description);
        }
    }
    back.set_fragment(Some(&fragment.finish()));
    let mut done = browser_cookie(String::new(), pending_secure);
    done.make_removal();
    Ok(redirect(back.as_str()).cookie(done).finish())
}

async fn finish(
    state: &Data<AppState>,
    provider: &Provider,
    code: &str,
    pending: SignInDetails,
) -> Result<Session, AppError> {
    let identity = provider
        .finish(
            code,
            &pending.pkce_verifier,
            &pending.callback_url,
            &pending.nonce,
        )
        .await?;
    let keys = state.clone();
    state
        .db
        .write(move |conn| sso::sign_in(conn, keys.tokens()?, &identity))
        .await
}
