//! Content codings and validators, as HTTP caches rely on them (RFC 9110 8.4, 8.8, 13):
//!
//! - a body is sent gzip- or br-encoded when the client accepts it and the body is worth it
//!   (a compressible type, at least `MIN_ENCODED_BYTES`: gzip made `/healthz` larger);
//! - every response whose body could be encoded says `Vary: Accept-Encoding`, encoded or not;
//! - each coding of a body has a strong ETag of its own (`"<tag>"`, `"<tag>-gzip"`,
//!   `"<tag>-br"`), since the bytes differ, while `If-None-Match` compares the tags without
//!   their coding (weak comparison), so a cache holding any coding gets its 304.
//!
//! `Representation` (the read cache) encodes its bodies once and keeps them; `encode_responses`
//! encodes whatever else a handler answers.

use actix_web::HttpMessage;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    self, AcceptEncoding, Encoding, EntityTag, HeaderMap, HeaderValue, IfNoneMatch,
};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use chrono::{DateTime, Utc};

/// Smaller bodies are sent as they are: encoding them saves little and can make them larger.
pub const MIN_ENCODED_BYTES: usize = 1024;

/// A content coding Folio sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    fn token(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Brotli => Some("br"),
        }
    }
}

/// Marks a response whose coding, validators and `Vary` were settled where it was built, so
/// `encode_responses` leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct Negotiated;

/// Whether bodies of this media type shrink when encoded (images and archives do not).
fn compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json" | "application/xml" | "application/javascript" | "image/svg+xml"
        )
}

/// Whether a body of this type and size is sent differently by `Accept-Encoding`.
pub fn varies(content_type: &str, len: usize) -> bool {
    len >= MIN_ENCODED_BYTES && compressible(content_type)
}

/// The coding to send a body in, for a request that sent this `Accept-Encoding`.
pub fn negotiate(accept: Option<&AcceptEncoding>, content_type: &str, len: usize) -> Coding {
    if !varies(content_type, len) {
        return Coding::Identity;
    }
    let Some(accept) = accept else {
        return Coding::Identity;
    };
    let offered = [Encoding::brotli(), Encoding::gzip(), Encoding::identity()];
    match accept.negotiate(offered.iter()) {
        Some(chosen) if chosen == Encoding::brotli() => Coding::Brotli,
        Some(chosen) if chosen == Encoding::gzip() => Coding::Gzip,
        _ => Coding::Identity,
    }
}

/// A body in `coding`.
pub fn encode(coding: Coding, body: &[u8]) -> Bytes {
    use std::io::Write;
    match coding {
        Coding::Identity => Bytes::copy_from_slice(body),
        Coding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing to a Vec cannot fail.
            let _ = encoder.write_all(body);
            Bytes::from(encoder.finish().unwrap_or_default())
        }
        Coding::Brotli => {
            let mut out = Vec::new();
            {
                // Quality 5: most of brotli's gain on JSON, at a few times gzip's speed.
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                let _ = encoder.write_all(body);
            }
            Bytes::from(out)
        }
    }
}

/// The strong ETag of one coding of a body whose own tag is `tag`.
pub fn tag_for(tag: &str, coding: Coding) -> EntityTag {
    match coding.token() {
        None => EntityTag::new_strong(tag.to_owned()),
        Some(token) => EntityTag::new_strong(format!("{tag}-{token}")),
    }
}

/// A tag without the coding suffix `tag_for` adds.
fn base_of(tag: &str) -> &str {
    tag.strip_suffix("-gzip")
        .or_else(|| tag.strip_suffix("-br"))
        .unwrap_or(tag)
}

/// What a conditional GET compares: the body's tag (before any coding suffix) and, for
/// `If-Modified-Since`, when it last changed.
#[derive(Debug, Clone)]
pub struct Validators {
    pub tag: String,
    pub last_modified: Option<DateTime<Utc>>,
}

impl Validators {
    /// Whether the client's copy is current: `If-None-Match` with weak comparison (any
    /// coding's ETag of this body matches), or, only when there is no `If-None-Match`
    /// (RFC 9110 13.2.2), `If-Modified-Since` at or after `Last-Modified`.
    pub fn not_modified(&self, req: &impl HttpMessage) -> bool {
        match req.get_header::<IfNoneMatch>() {
            Some(IfNoneMatch::Any) => true,
            Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| base_of(t.tag()) == self.tag),
            None => match (
                self.last_modified,
                req.get_header::<header::IfModifiedSince>(),
            ) {
                (Some(modified), Some(since)) => {
                    let since: std::time::SystemTime = since.0.into();
                    DateTime::<Utc>::from(since).timestamp() >= modified.timestamp()
                }
                _ => false,
            },
        }
    }

    /// `ETag` (for `coding`) and `Last-Modified`.
    pub fn headers(&self, coding: Coding) -> Vec<(header::HeaderName, HeaderValue)> {
        let mut headers = Vec::with_capacity(2);
        if let Ok(value) = HeaderValue::from_str(&tag_for(&self.tag, coding).to_string()) {
            headers.push((header::ETAG, value));
        }
        if let Some(modified) = self.last_modified {
            let date = header::HttpDate::from(std::time::SystemTime::from(modified));
            if let Ok(value) = HeaderValue::from_str(&date.to_string()) {
                headers.push((header::LAST_MODIFIED, value));
            }
        }
        headers
    }
}

/// Adds `name` to `Vary` unless it is there already.
pub fn add_vary(headers: &mut HeaderMap, name: &str) {
    let present = headers
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(name));
    if !present && let Ok(value) = HeaderValue::from_str(name) {
        headers.append(header::VARY, value);
    }
}

/// Encodes the responses that were not settled where they were built (writes, problems, the
/// OpenAPI document, Swagger UI), with the same rules as the read cache.
pub async fn encode_responses(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let accept = req.get_header::<AcceptEncoding>();
    let res = next.call(req).await?;
    let settled = res.response().extensions().get::<Negotiated>().is_some()
        || res.headers().contains_key(header::CONTENT_ENCODING);
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let len = match res.response().body().size() {
        BodySize::Sized(n) => usize::try_from(n).unwrap_or(usize::MAX),
        BodySize::None | BodySize::Stream => 0,
    };
    if settled || !varies(&content_type, len) {
        return Ok(res.map_into_boxed_body());
    }
    let coding = negotiate(accept.as_ref(), &content_type, len);
    let (req, res) = res.into_parts();
    let (mut res, body) = res.into_parts();
    let body = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    add_vary(res.headers_mut(), "Accept-Encoding");
    let body = match coding.token() {
        None => body,
        Some(token) => {
            res.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
            let strong = res
                .headers()
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<EntityTag>().ok())
                .filter(|t| !t.weak);
            if let Some(tag) = strong
                && let Ok(value) = HeaderValue::from_str(&tag_for(tag.tag(), coding).to_string())
            {
                res.headers_mut().insert(header::ETAG, value);
            }
            encode(coding, &body)
        }
    };
    Ok(ServiceResponse::new(
        req,
        res.set_body(body).map_into_boxed_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<AcceptEncoding> {
        actix_web::test::TestRequest::default()
            .insert_header((header::ACCEPT_ENCODING, value))
            .to_http_request()
            .get_header::<AcceptEncoding>()
    }

    #[test]
    fn codings_follow_the_client_and_skip_small_or_incompressible_bodies() {
        let json = "application/json";
        let negotiated = |value: &str, content_type: &str, len: usize| {
            negotiate(accept(value).as_ref(), content_type, len)
        };
        assert_eq!(negotiated("gzip, br", json, 5000), Coding::Brotli);
        assert_eq!(negotiated("gzip", json, 5000), Coding::Gzip);
        assert_eq!(negotiated("br;q=0, gzip", json, 5000), Coding::Gzip);
        assert_eq!(negotiate(None, json, 5000), Coding::Identity);
        assert_eq!(negotiated("gzip", json, 100), Coding::Identity);
        assert_eq!(negotiated("gzip", "image/png", 5000), Coding::Identity);
        assert!(varies("application/problem+json", 2000));
        assert!(!varies("application/json", 20));
    }

    #[test]
    fn each_coding_has_its_own_tag_and_all_of_them_revalidate() {
        assert_eq!(tag_for("abc", Coding::Gzip).to_string(), "\"abc-gzip\"");
        assert_eq!(base_of("abc-br"), "abc");
        assert_eq!(base_of("abc"), "abc");
        let body = br#"{"a": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#;
        for coding in [Coding::Gzip, Coding::Brotli] {
            assert!(encode(coding, body).len() < body.len() * 2);
        }
    }
}
