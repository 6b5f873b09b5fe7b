//! Access tokens (short-lived HS256 JWTs that any instance can verify with the shared
//! secret) and refresh tokens (random, stored only as a SHA-256 hash).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Role;
use crate::error::AppError;

/// The claims Folio puts in an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (RFC 7519).
    pub sub: String,
    /// The role when the token was issued; authorization uses the current one.
    pub role: Role,
    pub exp: u64,
    pub iat: u64,
    pub iss: String,
    pub aud: String,
}

/// Signs and verifies access tokens. Only HS256 with our issuer and audience is accepted:
/// `alg: none`, other algorithms and other keys all fail verification.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    preview_validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let mut preview_validation = Validation::new(Algorithm::HS256);
        preview_validation.set_issuer(&[issuer]);
        preview_validation.set_audience(&[PREVIEW_AUDIENCE]);
        preview_validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        preview_validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            preview_validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            access_ttl,
            refresh_ttl,
        }
    }

    /// A signed access token for this user.
    pub fn issue_access(&self, user_id: i64, role: Role) -> Result<String, AppError> {
        let now = chrono::Utc::now().timestamp().max(0).unsigned_abs();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iat: now,
            exp: now + self.access_ttl.as_secs(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("signing a token failed: {e}")))
    }

    /// The user id in a valid access token; anything else is `Unauthenticated`.
    pub fn verify_access(&self, token: &str) -> Result<i64, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthenticated)?;
        data.claims
            .sub
            .parse()
            .map_err(|_| AppError::Unauthenticated)
    }
}

/// The audience of preview tokens, so they never pass as access tokens, nor these as them.
const PREVIEW_AUDIENCE: &str = "folio-preview";

/// What a preview token says: which article, until when.
#[derive(Debug, Serialize, Deserialize)]
struct PreviewClaims {
    sub: String,
    exp: u64,
    iat: u64,
    iss: String,
    aud: String,
}

impl TokenKeys {
    /// A token that shows one article, whatever its status, to whoever holds it, until
    /// `ttl` has passed. Signed like access tokens (any instance verifies it), for another
    /// audience.
    pub fn issue_preview(
        &self,
        article_id: i64,
        ttl: Duration,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), AppError> {
        let now = chrono::Utc::now();
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(1));
        let claims = PreviewClaims {
            sub: article_id.to_string(),
            iat: now.timestamp().max(0).unsigned_abs(),
            exp: expires.timestamp().max(0).unsigned_abs(),
            iss: self.issuer.clone(),
            aud: PREVIEW_AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| {
            AppError::Internal(anyhow::anyhow!("signing a preview token failed: {e}"))
        })?;
        Ok((token, expires))
    }

    /// The article of a valid, unexpired preview token; `None` for anything else.
    pub fn verify_preview(&self, token: &str) -> Option<i64> {
        jsonwebtoken::decode::<PreviewClaims>(token, &self.decoding, &self.preview_validation)
            .ok()?
            .claims
            .sub
            .parse()
            .ok()
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for a refresh token or a personal access token: its SHA-256, so a database
/// leak yields no usable token. (A fast hash suffices: the token has 256 bits of entropy,
/// unlike a password.)
pub fn secret_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &[u8]) -> TokenKeys {
        TokenKeys::new(
            secret,
            "folio",
            "folio-api",
            Duration::from_secs(60),
            Duration::from_secs(600),
        )
    }

    #[test]
    fn a_token_verifies_with_its_key_only() {
        let token = keys(&[1; 32]).issue_access(42, Role::Author).unwrap();
        assert_eq!(keys(&[1; 32]).verify_access(&token).unwrap(), 42);
        assert!(keys(&[2; 32]).verify_access(&token).is_err());
    }

    #[test]
    fn preview_tokens_and_access_tokens_never_pass_for_each_other() {
        let keys = keys(&[1; 32]);
        let (preview, _) = keys.issue_preview(7, Duration::from_secs(60)).unwrap();
        let access = keys.issue_access(7, Role::Admin).unwrap();
        assert_eq!(keys.verify_preview(&preview), Some(7));
        assert!(keys.verify_access(&preview).is_err());
        assert_eq!(keys.verify_preview(&access), None);
        let mut tampered = preview.clone();
        tampered.pop();
        assert_eq!(keys.verify_preview(&tampered), None);
    }

    #[test]
    fn unsigned_and_foreign_tokens_are_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = chrono::Utc::now().timestamp();
        let claims = URL_SAFE_NO_PAD.encode(
            format!(r#"{{"sub":"1","role":"admin","iat":{now},"exp":{},"iss":"folio","aud":"folio-api"}}"#, now + 60)
                .as_bytes(),
        );
        assert!(
            keys(&[1; 32])
                .verify_access(&format!("{header}.{claims}."))
                .is_err()
        );
        let other_audience = TokenKeys::new(
            &[1; 32],
            "folio",
            "elsewhere",
            Duration::from_secs(60),
            Duration::from_secs(1),
        );
        let token = other_audience.issue_access(1, Role::Admin).unwrap();
        assert!(keys(&[1; 32]).verify_access(&token).is_err());
    }
}
