//! Single sign-on through an OpenID Connect provider, with the `openidconnect` crate doing the
//! protocol: discovery, the provider's signing keys, the authorization code flow with PKCE,
//! and verifying the provider's tokens, both the ID token of a sign-in and the access or ID
//! tokens that services present directly as bearers.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreClient, CoreGenderClaim, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, HttpClientError, HttpRequest, HttpResponse, IdToken, IdTokenClaims,
    IssuerUrl, JsonWebTokenType, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, OnceCell, RwLock};

use super::Role;
use crate::config::OidcConfig;
use crate::error::AppError;

/// Claims beyond the standard ones: the role claim is whichever the operator names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims(HashMap<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type ProviderToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type ProviderClaims = IdTokenClaims<OtherClaims, CoreGenderClaim>;

/// Who the provider says the user is, and the role its claims map to.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// `None`: no claim value maps to a role and there is no default role.
    pub role: Option<Role>,
    /// Whether the token carried the role claim at all: many providers put groups in ID
    /// tokens only, and an access token without them says nothing about the role.
    pub role_claimed: bool,
}

/// A provider token that passed, and until when it is valid.
#[derive(Clone)]
struct Verified {
    identity: Identity,
    expires: chrono::DateTime<chrono::Utc>,
}

/// What the login endpoint sends the browser off with, and keeps for the callback.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The provider's signing keys and when they were last fetched (or a fetch was tried).
struct Keys {
    set: CoreJsonWebKeySet,
    fetched: Instant,
}

pub struct Provider {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    audience: String,
    scopes: Vec<String>,
    role_claim: String,
    role_map: Vec<(String, Role)>,
    default_role: Option<Role>,
    http: ProviderHttp,
    metadata: OnceCell<CoreProviderMetadata>,
    /// Bearer tokens verified lately, by hash.
    verified: quick_cache::sync::Cache<String, Verified>,
    /// When discovery was last tried: a provider that is down is not asked on every request.
    discovery_attempt: Mutex<Option<Instant>>,
    keys: RwLock<Option<Keys>>,
    /// Held while the keys are refetched, so a burst of unknown `kid`s makes one request.
    refetching: Mutex<()>,
}

/// How often an unknown `kid` may send Folio back to the provider's JWKS: a rotated key is
/// picked up within this long, and a flood of made-up `kid`s costs the provider one request
/// per period.
pub const MIN_JWKS_REFETCH: Duration = Duration::from_secs(5);

/// How long fetched keys are trusted without asking the provider again.
const KEYS_MAX_AGE: Duration = Duration::from_secs(15 * 60);

impl Provider {
    /// The provider of these settings, or `None` when no issuer is set.
    pub fn from_config(config: &OidcConfig) -> anyhow::Result<Option<Self>> {
        let Some(issuer) = config.issuer.as_deref() else {
            return Ok(None);
        };
        // Exactly as configured: the provider's `iss` is compared as a string, and some
        // providers' issuers end in a slash.
        let issuer = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| anyhow::anyhow!("FOLIO_OIDC_ISSUER is not a URL: {e}"))?;
        let client_id = config
            .client_id
            .clone()
            .ok_or_else(|| anyhow::anyhow!("FOLIO_OIDC_ISSUER needs FOLIO_OIDC_CLIENT_ID"))?;
        for uri in &config.redirect_uris.0 {
            url::Url::parse(uri)
                .map_err(|e| anyhow::anyhow!("FOLIO_OIDC_REDIRECT_URIS: {uri:?}: {e}"))?;
        }
        if let Some(callback) = &config.callback_url {
            url::Url::parse(callback)
                .map_err(|e| anyhow::anyhow!("FOLIO_OIDC_CALLBACK_URL: {callback:?}: {e}"))?;
        }
        let role_map = parse_role_map(&config.role_map)
            .map_err(|e| anyhow::anyhow!("FOLIO_OIDC_ROLE_MAP: {e}"))?;
        let default_role = config
            .default_role
            .as_deref()
            .map(|role| {
                Role::parse(role).ok_or_else(|| {
                    anyhow::anyhow!("FOLIO_OIDC_DEFAULT_ROLE: unknown role {role:?}")
                })
            })
            .transpose()?;
        if role_map.is_empty() && default_role.is_none() {
            anyhow::bail!(
                "single sign-on would refuse everyone: set FOLIO_OIDC_ROLE_MAP or FOLIO_OIDC_DEFAULT_ROLE"
            );
        }
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer point Folio anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Some(Self {
            issuer,
            audience: config.audience.clone().unwrap_or_else(|| client_id.clone()),
            client_id: ClientId::new(client_id),
            client_secret: config
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
            scopes: config
                .scopes
                .split_whitespace()
                .filter(|s| *s != "openid")
                .map(str::to_owned)
                .collect(),
            role_claim: config.role_claim.clone(),
            role_map,
            default_role,
            http: ProviderHttp(http),
            metadata: OnceCell::new(),
            verified: quick_cache::sync::Cache::new(10_000),
            discovery_attempt: Mutex::new(None),
            keys: RwLock::new(None),
            refetching: Mutex::new(()),
        }))
    }

    /// The provider's discovery document, fetched once. While it cannot be fetched, requests
    /// get a 503, and the provider is asked again at most every MIN_JWKS_REFETCH.
    async fn metadata(&self) -> Result<&CoreProviderMetadata, AppError> {
        let unreachable = || AppError::unavailable("the identity provider cannot be reached");
        if let Some(metadata) = self.metadata.get() {
            return Ok(metadata);
        }
        let mut last_attempt = self.discovery_attempt.lock().await;
        if let Some(metadata) = self.metadata.get() {
            return Ok(metadata);
        }
        if last_attempt.is_some_and(|at| at.elapsed() < MIN_JWKS_REFETCH) {
            return Err(unreachable());
        }
        *last_attempt = Some(Instant::now());
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "OpenID Connect discovery failed");
                unreachable()
            })?;
        *self.keys.write().await = Some(Keys {
            set: metadata.jwks().clone(),
            fetched: Instant::now(),
        });
        Ok(self.metadata.get_or_init(|| async { metadata }).await)
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
        callback_url: &str,
    ) -> Result<CoreClientWithCallback, AppError> {
        let redirect = RedirectUrl::new(callback_url.to_owned())
            .map_err(|e| anyhow::anyhow!("the OIDC callback URL {callback_url:?}: {e}"))?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        )
        .set_redirect_uri(redirect))
    }

    /// Where to send the browser to sign in: state, nonce and a PKCE challenge (S256).
    pub async fn authorization(&self, callback_url: &str) -> Result<Authorization, AppError> {
        let metadata = self.metadata().await?;
        let client = self.client(metadata, callback_url)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code of a sign-in for the provider's tokens, and verifies the ID token
    /// (signature, issuer, audience, expiry, and the nonce this sign-in sent).
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        callback_url: &str,
        nonce: &str,
    ) -> Result<Identity, AppError> {
        let metadata = self.metadata().await?;
        let client = self.client(metadata, callback_url)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| anyhow::anyhow!("the provider has no token endpoint: {e}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "the provider refused the code");
                AppError::bad_param("code", "the identity provider refused this sign-in code")
            })?;
        use openidconnect::TokenResponse;
        let id_token = response
            .id_token()
            .ok_or_else(|| AppError::bad_param("code", "the identity provider sent no ID token"))?
            .to_string();
        Ok(self.verify(&id_token, Some(nonce)).await?.identity)
    }

    /// The identity behind a token the provider issued for Folio's audience, presented as a
    /// bearer: an access token in JWT form or an ID token. Anything else is a 401.
    /// A token verified once is known by its hash until it expires: a service sends the same
    /// token many times, and checking its signature each time is most of what it costs.
    /// `hash` is the token's `secret_token_hash`, which the caller also keys its rate limit by.
    pub async fn verify_bearer(&self, token: &str, hash: &str) -> Result<Identity, AppError> {
        if let Some(known) = self.verified.get(hash) {
            if known.expires > chrono::Utc::now() {
                return Ok(known.identity);
            }
            self.verified.remove(hash);
        }
        let identity = self.verify(token, None).await?;
        self.verified.insert(hash.to_owned(), identity.clone());
        Ok(identity.identity)
    }

    /// Checks a provider token; `nonce` is the one a sign-in sent (none for bearers). A key id
    /// the cached keys lack sends Folio back for the provider's keys, as do keys older than
    /// KEYS_MAX_AGE (so a key the provider withdrew stops being trusted).
    async fn verify(&self, token: &str, nonce: Option<&str>) -> Result<Verified, AppError> {
        let token = ProviderToken::from_str(token).map_err(|_| AppError::Unauthenticated)?;
        self.metadata().await?;
        if self.keys_age().await > KEYS_MAX_AGE {
            // A provider that is down now keeps the keys Folio has.
            let _ = self.refetch_keys().await;
        }
        let nonce = nonce.map(|n| Nonce::new(n.to_owned()));
        match self.check(&token, nonce.as_ref()).await {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refetch_keys().await? => self.check(&token, nonce.as_ref()).await,
            checked => checked,
        }
        .map_err(|e| {
            tracing::info!(error = %e, "a provider token was refused");
            AppError::Unauthenticated
        })
    }

    async fn keys_age(&self) -> Duration {
        self.keys
            .read()
            .await
            .as_ref()
            .map_or(Duration::MAX, |keys| keys.fetched.elapsed())
    }

    async fn check(
        &self,
        token: &ProviderToken,
        nonce: Option<&Nonce>,
    ) -> Result<Verified, ClaimsVerificationError> {
        let set = match self.keys.read().await.as_ref() {
            Some(keys) => keys.set.clone(),
            None => CoreJsonWebKeySet::new(Vec::new()),
        };
        // A sign-in's ID token is for Folio's client; a bearer for Folio's audience.
        let audience = match nonce {
            Some(_) => self.client_id.clone(),
            None => ClientId::new(self.audience.clone()),
        };
        // RS256, ES256 and EdDSA only: never `none`, and never HS* (which a token could use
        // to pass off the provider's public key as a shared secret).
        let verifier = CoreIdTokenVerifier::new_public_client(audience, self.issuer.clone(), set)
            .set_allowed_algs([
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                CoreJwsSigningAlgorithm::EdDsa,
            ]);
        let claims = match nonce {
            Some(nonce) => token.claims(&verifier, nonce)?,
            None => {
                // Access tokens in JWT form are typed `at+jwt` (RFC 9068).
                let verifier = verifier.set_allowed_jose_types(
                    ["JWT", "at+jwt", "application/jose"]
                        .into_iter()
                        .filter_map(|t| JsonWebTokenType::new(t.to_owned()).normalize().ok()),
                );
                token.claims(&verifier, |_: Option<&Nonce>| Ok(()))?
            }
        };
        Ok(Verified {
            identity: self.identity(claims),
            expires: claims.expiration(),
        })
    }

    /// Fetches the provider's keys again, unless that was tried less than MIN_JWKS_REFETCH
    /// ago (whether or not it worked); whether there are new keys to try.
    async fn refetch_keys(&self) -> Result<bool, AppError> {
        let _one_at_a_time = self.refetching.lock().await;
        if self.keys_age().await < MIN_JWKS_REFETCH {
            return Ok(false);
        }
        let metadata = self.metadata().await?;
        let fetched = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http).await;
        let mut keys = self.keys.write().await;
        match fetched {
            Ok(set) => {
                *keys = Some(Keys {
                    set,
                    fetched: Instant::now(),
                });
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "fetching the provider's keys failed");
                // Counted as a fetch, so a provider in trouble is not asked again at once.
                if let Some(keys) = keys.as_mut() {
                    keys.fetched = Instant::now();
                }
                Err(AppError::unavailable(
                    "the identity provider cannot be reached",
                ))
            }
        }
    }

    fn identity(&self, claims: &ProviderClaims) -> Identity {
        let claimed = claims.additional_claims().0.get(&self.role_claim);
        let values = match claimed {
            Some(serde_json::Value::String(value)) => vec![value.as_str()],
            Some(serde_json::Value::Array(values)) => values
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect(),
            _ => Vec::new(),
        };
        let mapped = self
            .role_map
            .iter()
            .filter(|(value, _)| values.contains(&value.as_str()))
            .map(|(_, role)| *role)
            .max();
        Identity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().trim().to_lowercase()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned())
                .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned())),
            role: mapped.or(self.default_role),
            role_claimed: claimed.is_some(),
        }
    }
}

/// `value:role, value:role`; a value may itself hold colons (`urn:x:admins:admin`), so the
/// role is what follows the last one.
fn parse_role_map(text: &str) -> Result<Vec<(String, Role)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (value, role) = pair
                .rsplit_once(':')
                .ok_or_else(|| format!("{pair:?} is not value:role"))?;
            let role = Role::parse(role.trim()).ok_or_else(|| format!("unknown role {role:?}"))?;
            Ok((value.trim().to_owned(), role))
        })
        .collect()
}

type CoreClientWithCallback = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The crate's HTTP client interface over Folio's reqwest (the crate's own reqwest support
/// is for an older reqwest, which would be built a second time).
struct ProviderHttp(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(Box::new)?;
            let response = self.0.execute(request).await.map_err(Box::new)?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = response.bytes().await.map_err(Box::new)?;
            answer.body(body.to_vec()).map_err(HttpClientError::Http)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_map_pairs_claim_values_with_roles() {
        assert_eq!(
            parse_role_map(" folio-admins:admin, urn:corp:writers:author ,").unwrap(),
            vec![
                ("folio-admins".to_owned(), Role::Admin),
                ("urn:corp:writers".to_owned(), Role::Author),
            ]
        );
        assert!(parse_role_map("writers").is_err());
        assert!(parse_role_map("writers:superuser").is_err());
        assert!(parse_role_map("").unwrap().is_empty());
    }
}
