//! Anonymous reads: serialized once, served with a strong ETag and `Cache-Control: public`,
//! answered with 304 when the client already has them, and kept briefly in memory
//! (see `crate::cache` for how staleness is bounded).

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, EntityTag, HeaderValue, IfNoneMatch};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::cache::TtlCache;
use crate::error::AppError;

/// A response body ready to send, with its validator.
#[derive(Clone)]
pub struct Representation {
    body: Bytes,
    etag: EntityTag,
}

impl Representation {
    /// Serializes `value`. An article's ETag leads with its version, which is what
    /// `If-Match` is checked against; the content hash makes it change whenever the bytes
    /// do (an author's new name changes the article's JSON but not its version).
    pub fn new<T: Serialize>(value: &T, version: Option<i32>) -> Result<Self, AppError> {
        let body = serde_json::to_vec(value).map_err(anyhow::Error::from)?;
        let digest = Sha256::digest(&body);
        let hash = URL_SAFE_NO_PAD.encode(digest.get(..12).unwrap_or_default());
        let tag = match version {
            Some(version) => format!("{version}-{hash}"),
            None => hash,
        };
        Ok(Self {
            body: Bytes::from(body),
            etag: EntityTag::new_strong(tag),
        })
    }

    pub fn body(&self) -> Bytes {
        self.body.clone()
    }

    /// A response with this representation's headers; the caller adds the body.
    pub fn build(&self, status: StatusCode, cache_control: HeaderValue) -> HttpResponseBuilder {
        let mut response = HttpResponse::build(status);
        response
            .insert_header(header::ETag(self.etag.clone()))
            .insert_header((header::CACHE_CONTROL, cache_control))
            // An authenticated request for the same URL may see more (drafts), so a
            // shared cache must not hand it a copy made for someone else.
            .insert_header((header::VARY, "Authorization"))
            .content_type(HeaderValue::from_static("application/json"));
        response
    }

    /// 200 with the body, or 304 when `If-None-Match` already names this ETag.
    pub fn respond(&self, req: &HttpRequest, cache_control: HeaderValue) -> HttpResponse {
        let not_modified = match req.get_header::<IfNoneMatch>() {
            Some(IfNoneMatch::Any) => true,
            Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&self.etag)),
            None => false,
        };
        if not_modified {
            let mut response = self.build(StatusCode::NOT_MODIFIED, cache_control);
            response.no_chunking(0);
            return response.finish();
        }
        self.build(StatusCode::OK, cache_control)
            .body(self.body.clone())
    }
}

/// For responses meant for one signed-in caller: browsers may keep them but must revalidate.
pub const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-cache");

/// Short-lived copies of anonymous responses, keyed by path and query.
#[derive(Clone)]
pub struct ReadCache {
    entries: TtlCache<String, Representation>,
    cache_control: HeaderValue,
}

impl ReadCache {
    pub fn new(entries: TtlCache<String, Representation>, max_age: u32) -> Self {
        let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or_else(|_| HeaderValue::from_static("public"));
        Self {
            entries,
            cache_control,
        }
    }

    /// Serves an anonymous read from memory, or computes, stores and serves it.
    pub async fn serve<T, Fut>(
        &self,
        req: &HttpRequest,
        version_of: fn(&T) -> Option<i32>,
        compute: Fut,
    ) -> Result<HttpResponse, AppError>
    where
        T: Serialize,
        Fut: Future<Output = Result<T, AppError>>,
    {
        let key = match req.query_string() {
            "" => req.path().to_owned(),
            query => format!("{}?{query}", req.path()),
        };
        let representation = self
            .entries
            .get_or_compute(key, || async {
                let value = compute.await?;
                Representation::new(&value, version_of(&value))
            })
            .await?;
        Ok(representation.respond(req, self.cache_control.clone()))
    }

    /// As `serve` for anonymous callers; a signed-in caller's view is computed for them
    /// alone and marked private.
    pub async fn serve_for<T, Fut>(
        &self,
        req: &HttpRequest,
        viewer: Option<Caller>,
        version_of: fn(&T) -> Option<i32>,
        compute: Fut,
    ) -> Result<HttpResponse, AppError>
    where
        T: Serialize,
        Fut: Future<Output = Result<T, AppError>>,
    {
        if viewer.is_none() {
            return self.serve(req, version_of, compute).await;
        }
        let value = compute.await?;
        Ok(Representation::new(&value, version_of(&value))?.respond(req, PRIVATE))
    }
}
