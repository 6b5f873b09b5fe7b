//! Anonymous reads: serialized once, served with a strong ETag and `Cache-Control: public`,
//! answered with 304 when the client already has them, and kept briefly in memory.
//!
//! The in-memory copy is bounded in staleness by a short TTL (writes on other instances and
//! scheduled articles going live are seen within it) and dropped at once by this instance's
//! own writes, through the generation counter.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, EntityTag, HeaderValue, IfNoneMatch};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

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

    /// 200 with the body, or 304 when `If-None-Match` already names this ETag.
    pub fn respond(&self, req: &HttpRequest, cache_control: &HeaderValue) -> HttpResponse {
        let not_modified = match req.get_header::<IfNoneMatch>() {
            Some(IfNoneMatch::Any) => true,
            Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&self.etag)),
            None => false,
        };
        let mut response = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        response
            .insert_header(header::ETag(self.etag.clone()))
            .insert_header((header::CACHE_CONTROL, cache_control.clone()))
            // An authenticated request for the same URL may see more (drafts), so a
            // shared cache must not hand it this copy.
            .insert_header((header::VARY, "Authorization"));
        if not_modified {
            return response.finish();
        }
        response.content_type(mime_json()).body(self.body.clone())
    }
}

fn mime_json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

struct Entry {
    representation: Representation,
    stored: Instant,
    generation: u64,
}

/// Bounded, short-lived copies of anonymous responses, keyed by path and query.
#[derive(Clone)]
pub struct ReadCache {
    entries: Option<Arc<quick_cache::sync::Cache<String, Arc<Entry>>>>,
    ttl: Duration,
    generation: Arc<AtomicU64>,
    cache_control: HeaderValue,
}

impl ReadCache {
    /// `ttl` of zero or `capacity` of zero turns the in-memory copy off; the HTTP headers stay.
    pub fn new(capacity: usize, ttl: Duration, max_age: u32) -> Self {
        let entries = (capacity > 0 && !ttl.is_zero())
            .then(|| Arc::new(quick_cache::sync::Cache::new(capacity)));
        let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or_else(|_| HeaderValue::from_static("public"));
        Self {
            entries,
            ttl,
            generation: Arc::new(AtomicU64::new(0)),
            cache_control,
        }
    }

    /// Forgets every copy; called after each content write on this instance.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn lookup(&self, key: &str) -> Option<Representation> {
        let entry = self.entries.as_ref()?.get(key)?;
        let fresh = entry.stored.elapsed() < self.ttl
            && entry.generation == self.generation.load(Ordering::Acquire);
        fresh.then(|| entry.representation.clone())
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
        if let Some(hit) = self.lookup(&key) {
            return Ok(hit.respond(req, &self.cache_control));
        }
        // Read before computing: a write that lands meanwhile makes this copy stale at once.
        let generation = self.generation.load(Ordering::Acquire);
        let value = compute.await?;
        let representation = Representation::new(&value, version_of(&value))?;
        if let Some(entries) = &self.entries {
            let entry = Entry {
                representation: representation.clone(),
                stored: Instant::now(),
                generation,
            };
            entries.insert(key, Arc::new(entry));
        }
        Ok(representation.respond(req, &self.cache_control))
    }
}
