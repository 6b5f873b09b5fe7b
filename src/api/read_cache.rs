//! Anonymous reads: serialized once, encoded once per coding, served with validators
//! (`ETag`, `Last-Modified`) and a `Cache-Control` meant for shared caches, answered with 304
//! when the client's copy is current, and kept briefly in memory (see `crate::cache` for how
//! staleness is bounded).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::encoding::{self, Coding, Negotiated, Validators};
use crate::auth::Caller;
use crate::cache::TtlCache;
use crate::config::Config;
use crate::error::AppError;

/// A value to serve, with what its validators are made of.
pub struct Cached<T> {
    pub value: T,
    /// An article's version: its ETag leads with it, and `If-Match` is checked against it.
    pub version: Option<i32>,
    pub last_modified: Option<DateTime<Utc>>,
}

impl<T> Cached<T> {
    /// A value whose ETag is its content hash alone and that has no `Last-Modified`.
    pub fn plain(value: T) -> Self {
        Self {
            value,
            version: None,
            last_modified: None,
        }
    }
}

const JSON: &str = "application/json";

/// A body that is not JSON (a feed, a sitemap), ready to send.
pub struct Document {
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

/// A response body ready to send, in each coding it has been asked in so far.
#[derive(Clone)]
pub struct Representation(Arc<Encoded>);

struct Encoded {
    content_type: HeaderValue,
    identity: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    validators: Validators,
}

/// Room for a list page's JSON from the start (20 articles are 15 to 25 KiB): grown from
/// serde_json's 128 bytes, a search page's body was copied eight times on its way, into fresh
/// memory the kernel zeroed first (3% of the page's CPU time under perf).
const BODY_CAPACITY: usize = 32 * 1024;

impl Representation {
    /// Serializes `value`. An article's ETag leads with its version, which is what
    /// `If-Match` is checked against; the content hash makes it change whenever the bytes
    /// do (an author's new name changes the article's JSON but not its version).
    pub fn new<T: Serialize>(
        value: &T,
        version: Option<i32>,
        last_modified: Option<DateTime<Utc>>,
    ) -> Result<Self, AppError> {
        let mut body = Vec::with_capacity(BODY_CAPACITY);
        serde_json::to_writer(&mut body, value).map_err(anyhow::Error::from)?;
        let hash = content_hash(&body);
        let tag = match version {
            Some(version) => format!("{version}-{hash}"),
            None => hash,
        };
        Ok(Self::with_tag(
            Bytes::from(body),
            HeaderValue::from_static(JSON),
            Validators { tag, last_modified },
        ))
    }

    /// A body of any type, whose ETag is its content hash.
    pub fn of_bytes(
        body: Bytes,
        content_type: HeaderValue,
        last_modified: Option<DateTime<Utc>>,
    ) -> Self {
        let tag = content_hash(&body);
        Self::with_tag(body, content_type, Validators { tag, last_modified })
    }

    fn with_tag(identity: Bytes, content_type: HeaderValue, validators: Validators) -> Self {
        Self(Arc::new(Encoded {
            content_type,
            identity,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            validators,
        }))
    }

    /// The body in `coding`, encoded the first time it is asked for.
    fn body(&self, coding: Coding) -> Bytes {
        let encoded = &self.0;
        match coding {
            Coding::Identity => encoded.identity.clone(),
            Coding::Gzip => encoded
                .gzip
                .get_or_init(|| encoding::encode(coding, &encoded.identity))
                .clone(),
            Coding::Brotli => encoded
                .brotli
                .get_or_init(|| encoding::encode(coding, &encoded.identity))
                .clone(),
        }
    }

    /// The uncoded response (the encoding middleware encodes it): for writes, which are never
    /// conditional.
    pub fn build(&self, status: StatusCode, cache_control: HeaderValue) -> HttpResponseBuilder {
        let mut response = HttpResponse::build(status);
        for (name, value) in self.0.validators.headers(Coding::Identity) {
            response.insert_header((name, value));
        }
        response
            .insert_header((header::CACHE_CONTROL, cache_control))
            .content_type(self.0.content_type.clone());
        response
    }

    pub fn identity_body(&self) -> Bytes {
        self.0.identity.clone()
    }

    /// 200 with the body in the coding the client takes, or 304 when its copy is current.
    /// `vary` names the request headers other than `Accept-Encoding` the body depends on.
    pub fn respond(
        &self,
        req: &HttpRequest,
        cache_control: HeaderValue,
        vary: &[&str],
    ) -> HttpResponse {
        let len = self.0.identity.len();
        let content_type = self.0.content_type.to_str().unwrap_or_default();
        let coding = encoding::negotiate(
            req.get_header::<header::AcceptEncoding>().as_ref(),
            content_type,
            len,
        );
        let status = if self.0.validators.not_modified(req) {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::OK
        };
        let mut response = HttpResponse::build(status);
        for (name, value) in self.0.validators.headers(coding) {
            response.insert_header((name, value));
        }
        response
            .insert_header((header::CACHE_CONTROL, cache_control))
            .content_type(self.0.content_type.clone());
        let mut vary: Vec<&str> = vary.to_vec();
        if encoding::varies(content_type, len) {
            vary.insert(0, "Accept-Encoding");
        }
        if !vary.is_empty()
            && let Ok(value) = HeaderValue::from_str(&vary.join(", "))
        {
            response.insert_header((header::VARY, value));
        }
        let mut response = if status == StatusCode::NOT_MODIFIED {
            response.no_chunking(0);
            response.finish()
        } else {
            if let Some(token) = coding_token(coding) {
                response.insert_header((header::CONTENT_ENCODING, token));
            }
            response.body(Slices(self.body(coding)))
        };
        response.extensions_mut().insert(Negotiated);
        response
    }
}

/// A computed value, serialized as JSON.
async fn json<T: Serialize>(
    compute: impl Future<Output = Result<Cached<T>, AppError>>,
) -> Result<Representation, AppError> {
    let cached = compute.await?;
    Representation::new(&cached.value, cached.version, cached.last_modified)
}

/// Bytes a connection is handed at a time.
const SLICE: usize = 64 * 1024;

/// A body sent in slices of the shared bytes (no copies). Handed whole, a 6 MB sitemap would
/// be copied into each connection's write buffer at once: 64 crawlers, 400 MB. In slices, a
/// connection holds one at a time; `Content-Length` stays.
struct Slices(Bytes);

impl MessageBody for Slices {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.0.len() as u64)
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        if self.0.is_empty() {
            return Poll::Ready(None);
        }
        let take = self.0.len().min(SLICE);
        Poll::Ready(Some(Ok(self.0.split_to(take))))
    }

    /// Small bodies go as one piece; large ones must stay in slices.
    fn try_into_bytes(self) -> Result<Bytes, Self> {
        if self.0.len() <= SLICE {
            Ok(self.0)
        } else {
            Err(self)
        }
    }
}

/// The first 96 bits of the body's SHA-256, URL-safe base64.
fn content_hash(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    URL_SAFE_NO_PAD.encode(digest.get(..12).unwrap_or_default())
}

fn coding_token(coding: Coding) -> Option<HeaderValue> {
    match coding {
        Coding::Identity => None,
        Coding::Gzip => Some(HeaderValue::from_static("gzip")),
        Coding::Brotli => Some(HeaderValue::from_static("br")),
    }
}

/// For responses meant for one signed-in caller: browsers may keep them but must revalidate.
pub const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-cache");

/// Short-lived copies of anonymous responses, keyed by path and query; and the last good copy
/// of each, served while the database is unreachable.
#[derive(Clone)]
pub struct ReadCache {
    entries: TtlCache<String, Representation>,
    last_good: Option<Arc<LastGood>>,
    stale_if_error: Duration,
    cache_control: HeaderValue,
}

/// The last good copy of anonymous responses (with when it was made), bounded by the bytes
/// of their bodies.
type LastGood = quick_cache::sync::Cache<String, (Representation, Instant), BodyBytes>;

/// Weighs a copy by its body, twice: once as it is, once for its encodings.
#[derive(Clone)]
struct BodyBytes;

impl quick_cache::Weighter<String, (Representation, Instant)> for BodyBytes {
    fn weight(&self, key: &String, value: &(Representation, Instant)) -> u64 {
        (key.len() + 2 * value.0.0.identity.len()) as u64
    }
}

impl ReadCache {
    pub fn new(entries: TtlCache<String, Representation>, config: &Config) -> Self {
        let bytes = config.stale_cache_mb.saturating_mul(1024 * 1024);
        let last_good = (bytes > 0 && config.stale_if_error_secs > 0)
            .then(|| Arc::new(LastGood::with_weighter(10_000, bytes, BodyBytes)));
        // No `public`: a response to a request without Authorization is storable by shared
        // caches already (RFC 9111 3.5), and REDbot warns about the redundant directive.
        let cache_control = HeaderValue::from_str(&format!(
            "max-age={}, s-maxage={}, stale-while-revalidate={}, stale-if-error={}",
            config.cache_max_age,
            config.cache_s_maxage,
            config.cache_stale_while_revalidate,
            config.stale_if_error_secs,
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("max-age=60"));
        Self {
            entries,
            last_good,
            stale_if_error: Duration::from_secs(u64::from(config.stale_if_error_secs)),
            cache_control,
        }
    }

    /// Serves an anonymous read from memory, or computes, stores and serves it.
    /// The body does not depend on who asks.
    pub async fn serve<T, Fut>(
        &self,
        req: &HttpRequest,
        compute: Fut,
    ) -> Result<HttpResponse, AppError>
    where
        T: Serialize,
        Fut: Future<Output = Result<Cached<T>, AppError>>,
    {
        self.anonymous(req, "", json(compute), &[]).await
    }

    /// As `serve`, for a document whose links are made from `origin` (the API's own, as the
    /// client sees it): copies made for one origin are not served to another.
    pub async fn serve_document<Fut>(
        &self,
        req: &HttpRequest,
        origin: &str,
        compute: Fut,
    ) -> Result<HttpResponse, AppError>
    where
        Fut: Future<Output = Result<Cached<Document>, AppError>>,
    {
        let represented = async {
            let cached = compute.await?;
            Ok(Representation::of_bytes(
                Bytes::from(cached.value.body),
                HeaderValue::from_static(cached.value.content_type),
                cached.last_modified,
            ))
        };
        self.anonymous(req, origin, represented, &[]).await
    }

    /// As `serve` for anonymous callers; a signed-in caller's view is computed for them
    /// alone and marked private. The body depends on `Authorization`, and says so.
    pub async fn serve_for<T, Fut>(
        &self,
        req: &HttpRequest,
        viewer: Option<Caller>,
        compute: Fut,
    ) -> Result<HttpResponse, AppError>
    where
        T: Serialize,
        Fut: Future<Output = Result<Cached<T>, AppError>>,
    {
        if viewer.is_some() {
            let cached = compute.await?;
            let representation =
                Representation::new(&cached.value, cached.version, cached.last_modified)?;
            return Ok(representation.respond(req, PRIVATE, &["Authorization"]));
        }
        self.anonymous(req, "", json(compute), &["Authorization"])
            .await
    }

    /// An anonymous read: from memory, computed, or, when the database is in trouble, the
    /// last good copy (stale-if-error, RFC 5861), never older than `FOLIO_STALE_IF_ERROR_SECS`.
    async fn anonymous<Fut>(
        &self,
        req: &HttpRequest,
        origin: &str,
        compute: Fut,
        vary: &[&str],
    ) -> Result<HttpResponse, AppError>
    where
        Fut: Future<Output = Result<Representation, AppError>>,
    {
        // Someone signed in reads what the primary holds now (`AppState::read`), never a copy
        // that may have come from a replica a moment behind their own write.
        if !super::extract::is_anonymous(req) {
            let representation = compute.await?;
            return Ok(representation.respond(req, self.cache_control.clone(), vary));
        }
        let key = match req.query_string() {
            "" => format!("{origin}{}", req.path()),
            query => format!("{origin}{}?{query}", req.path()),
        };
        let missed = std::cell::Cell::new(false);
        let computed = self
            .entries
            .get_or_compute(key.clone(), || async {
                missed.set(true);
                let representation = compute.await?;
                if let Some(last_good) = &self.last_good {
                    last_good.insert(key.clone(), (representation.clone(), Instant::now()));
                }
                Ok::<_, AppError>(representation)
            })
            .await;
        let error = match computed {
            Ok(representation) => {
                let result = if missed.get() { "miss" } else { "hit" };
                metrics::counter!("folio_read_cache_requests_total", "result" => result)
                    .increment(1);
                return Ok(representation.respond(req, self.cache_control.clone(), vary));
            }
            Err(error @ (AppError::Unavailable { .. } | AppError::Timeout)) => error,
            Err(error) => return Err(error),
        };
        let stale = self
            .last_good
            .as_ref()
            .and_then(|last_good| last_good.get(&key))
            .filter(|(_, stored)| stored.elapsed() <= self.stale_if_error);
        let Some((representation, stored)) = stale else {
            return Err(error);
        };
        let mut response = representation.respond(req, self.cache_control.clone(), vary);
        let age = stored.elapsed().as_secs();
        let headers = response.headers_mut();
        headers.insert(header::AGE, HeaderValue::from(age));
        // RFC 9211: served from this cache, past its freshness, because the origin (the
        // database) failed.
        if let Ok(status) =
            HeaderValue::from_str(&format!("Folio; hit; ttl=-{age}; detail=stale-if-error"))
        {
            headers.insert(HeaderName::from_static("cache-status"), status);
        }
        tracing::info!(
            age_secs = age,
            "served a stale copy: the database is unavailable"
        );
        Ok(response)
    }
}
