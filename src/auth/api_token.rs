//! The form of personal access tokens: `folio_pat_` and 256 random bits, URL-safe base64.
//! The marker lets a bearer token be told from an access token (a JWT) at a glance, and lets
//! secret scanners find leaked ones.

use crate::error::AppError;

const MARKER: &str = "folio_pat_";
/// Characters of the random part shown in listings (`folio_pat_Ab3dE9xY…`).
const SHOWN: usize = 8;

pub fn is_personal(token: &str) -> bool {
    token.starts_with(MARKER)
}

/// A new token and the prefix listings show of it.
pub fn generate() -> Result<(String, String), AppError> {
    let token = format!("{MARKER}{}", super::token::random_token()?);
    let prefix = token.chars().take(MARKER.len() + SHOWN).collect();
    Ok((token, prefix))
}
