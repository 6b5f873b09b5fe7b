//! Where media objects live: a local directory (served by Folio at `/media/{key}`) or an
//! S3-compatible bucket (served by the bucket or a CDN in front of it), behind one
//! `object_store` API with its retries and timeouts. Nothing here knows about images.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions,
    RetryConfig,
};

use crate::config::Config;
use crate::error::AppError;

/// The path under which local storage is served.
pub const LOCAL_ROUTE: &str = "/media";

/// How long browsers and CDNs keep a stored object: for good, as its key is its content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

const UNREACHABLE: &str = "the media storage cannot be reached; retry";

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Prefix of the URLs objects are served at: `{public_base}/{key}`.
    public_base: String,
    /// The directory of local storage; `None` for a bucket.
    local_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("store", &self.store.to_string())
            .field("public_base", &self.public_base)
            .finish()
    }
}

impl Storage {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let public_url = config
            .media_public_url
            .as_deref()
            .map(|url| url.trim_end_matches('/').to_owned());
        match config.media_storage.as_str() {
            "local" => {
                std::fs::create_dir_all(&config.media_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "FOLIO_MEDIA_DIR {} cannot be created: {e}",
                        config.media_dir.display()
                    )
                })?;
                let dir = config.media_dir.canonicalize()?;
                Ok(Self {
                    store: Arc::new(LocalFileSystem::new_with_prefix(&dir)?),
                    public_base: public_url.unwrap_or_else(|| LOCAL_ROUTE.to_owned()),
                    local_dir: Some(dir),
                })
            }
            "s3" => Self::s3(config, public_url),
            other => anyhow::bail!("FOLIO_MEDIA_STORAGE is local or s3, not {other:?}"),
        }
    }

    fn s3(config: &Config, public_url: Option<String>) -> anyhow::Result<Self> {
        let bucket = config
            .s3_bucket
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("FOLIO_S3_BUCKET is required with s3 storage"))?;
        install_tls_provider();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&config.s3_region)
            .with_virtual_hosted_style_request(!config.s3_path_style)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(30)),
            )
            // A request is waiting: a few quick retries, not the default three minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
            });
        if let Some(endpoint) = &config.s3_endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(key) = &config.s3_access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &config.s3_secret_access_key {
            builder = builder.with_secret_access_key(secret.expose());
        }
        let public_base = match (public_url, &config.s3_endpoint) {
            (Some(url), _) => url,
            (None, Some(endpoint)) if config.s3_path_style => {
                format!("{}/{bucket}", endpoint.trim_end_matches('/'))
            }
            _ => anyhow::bail!(
                "FOLIO_MEDIA_PUBLIC_URL is required with s3 storage (where readers fetch the objects)"
            ),
        };
        Ok(Self {
            store: Arc::new(builder.build()?),
            public_base,
            local_dir: None,
        })
    }

    /// Where readers fetch the object.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base)
    }

    /// The file of a locally stored object, to serve it; `None` with a bucket.
    pub fn local_file(&self, key: &str) -> Option<PathBuf> {
        self.local_dir.as_ref().map(|dir| dir.join(key))
    }

    /// Writes an object. Keys are content addresses: writing one that exists rewrites the same
    /// bytes, so concurrent uploads of one image need no coordination. A bucket serves it with
    /// its type and for good; Folio's own serving of local files says so itself.
    pub async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), AppError> {
        let mut options = PutOptions::default();
        if self.local_dir.is_none() {
            options.attributes = Attributes::from_iter([
                (Attribute::ContentType, content_type.to_owned()),
                (Attribute::CacheControl, IMMUTABLE.to_owned()),
            ]);
        }
        self.store
            .put_opts(&Path::from(key), bytes.into(), options)
            .await
            .map(drop)
            .map_err(|e| unreachable(&e))
    }

    pub async fn exists(&self, key: &str) -> Result<bool, AppError> {
        match self.store.head(&Path::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unreachable(&e)),
        }
    }

    /// Removes an object; one already gone is no error.
    pub async fn delete(&self, key: &str) -> Result<(), AppError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unreachable(&e)),
        }
    }

    /// Every stored object's key, with when it was written.
    pub async fn list(&self) -> Result<Vec<(String, DateTime<Utc>)>, AppError> {
        self.store
            .list(None)
            .map_ok(|meta| (meta.location.to_string(), meta.last_modified))
            .try_collect()
            .await
            .map_err(|e| unreachable(&e))
    }
}

/// Makes ring the process's TLS crypto provider. reqwest (object_store's S3 client) is built
/// without one of its own and refuses to make a client, even a plain-HTTP one, until the
/// process has one; ring is what the webhook sender's TLS uses already. Idempotent.
pub fn install_tls_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

/// The store's own words go to the log; the client gets a 503 to retry.
fn unreachable(e: &object_store::Error) -> AppError {
    tracing::error!(error = %e, "media storage");
    AppError::unavailable(UNREACHABLE)
}
