//! The media library: who may upload, browse, change and delete images; uploads turned into
//! stored objects off the HTTP workers, a bounded number at a time; objects removed when the
//! last row that names them goes, and by `folio media gc` when a crash left them without one.
//!
//! An upload writes its objects first and its row second, so no row ever names a missing
//! object. A deletion removes the row first and the objects after, if no other row shares
//! them. The one interleaving left, an identical upload whose row lands between a deletion's
//! check and its removal of the objects, is repaired by the upload writing any missing object
//! again once its row is in.

pub mod images;
pub mod item;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use tokio::sync::Semaphore;

use super::policy::{self, Action};
use crate::auth::Caller;
use crate::config::Config;
use crate::db::media::{self as rows, MediaChanges, MediaRow, NewMedia};
use crate::db::{self, DbConn, Pool};
use crate::error::AppError;
use crate::service::changes::{Change, ChangeSet};
use crate::storage::Storage;
use images::Processed;
use item::variants_of;
pub use item::{MediaItem, Uploader, Variant};

/// What an uploader sends beside the image.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Bytes,
    pub alt: String,
    pub caption: String,
}

#[derive(Debug, Default)]
pub struct MediaPatch {
    pub alt: Option<String>,
    pub caption: Option<String>,
}

/// How long an upload waits for room to be processed before it is told to retry (503).
const PROCESSING_WAIT: Duration = Duration::from_secs(30);

/// The storage and the bounded room for image work.
#[derive(Debug)]
pub struct MediaLibrary {
    pub storage: Storage,
    /// Decoding and resizing take a core each; at most half of them go to uploads, so reads
    /// keep the rest. A slot is held by the work itself, not by the request: a client that
    /// gives up does not free it while its image is still being processed.
    processing: Arc<Semaphore>,
    max_pixels: u64,
}

impl MediaLibrary {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            storage: Storage::from_config(config)?,
            processing: Arc::new(Semaphore::new((cores / 2).max(1))),
            max_pixels: config.media_max_pixels,
        })
    }

    /// The upload checked, cleaned and resized, on the blocking pool once a slot is free.
    async fn prepare(&self, bytes: Bytes) -> Result<Processed, AppError> {
        let slot =
            actix_web::rt::time::timeout(PROCESSING_WAIT, self.processing.clone().acquire_owned())
                .await
                .map_err(|_| AppError::unavailable("too many images are being processed; retry"))?
                .map_err(|e| AppError::Internal(e.into()))?;
        let max_pixels = self.max_pixels;
        actix_web::rt::task::spawn_blocking(move || {
            let _slot = slot;
            images::process(&bytes, max_pixels)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("image processing stopped: {e}")))?
    }

    /// Writes the objects that are not stored yet (all of them, unless `only_missing`).
    async fn store(&self, processed: &Processed, only_missing: bool) -> Result<(), AppError> {
        for object in processed.objects() {
            if only_missing && self.storage.exists(&object.key).await? {
                continue;
            }
            self.storage
                .put(&object.key, object.bytes.clone(), object.format.mime_type())
                .await?;
        }
        Ok(())
    }

    /// Removes objects no row names any more. A failure is logged, not returned: the row is
    /// gone already, and `folio media gc` removes what is left.
    pub async fn remove(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.storage.delete(key).await {
                tracing::warn!(key, error = %e, "media object left for `folio media gc`");
            }
        }
    }
}

/// `Forbidden` unless the caller may upload: checked before the body is processed.
pub fn may_upload(caller: &Caller) -> Result<(), AppError> {
    policy::require(caller, Action::UploadMedia, None)
}

/// Stores an upload: objects first, then the row, then any object a concurrent deletion of
/// the same bytes removed in between.
pub async fn upload(
    library: &MediaLibrary,
    db: &Pool,
    caller: Caller,
    upload: Upload,
) -> Result<MediaItem, AppError> {
    let processed = library.prepare(upload.bytes.clone()).await?;
    library.store(&processed, false).await?;
    let row = processed.clone();
    let storage = library.storage.clone();
    let item = db
        .write(move |conn| insert(conn, &caller, &storage, &row, &upload))
        .await?;
    // The row is in: a failure now is the storage's, and a retry would make a second row.
    if let Err(e) = library.store(&processed, true).await {
        tracing::error!(media = item.row.id, error = %e, "could not check the objects after the upload");
    }
    Ok(item)
}

fn insert(
    conn: &mut DbConn,
    caller: &Caller,
    storage: &Storage,
    processed: &Processed,
    upload: &Upload,
) -> Result<MediaItem, AppError> {
    let variants: Vec<Variant> = processed
        .variants
        .iter()
        .map(|v| Variant {
            width: v.width,
            height: v.height,
            key: v.key.clone(),
            url: storage.url(&v.key),
            mime_type: v.format.mime_type().to_owned(),
            bytes: v.bytes.len() as u64,
        })
        .collect();
    let variants = serde_json::to_string(&variants).map_err(|e| AppError::Internal(e.into()))?;
    let original = &processed.original;
    let url = storage.url(&original.key);
    let now = db::now();
    let id = db::write_transaction(conn, |conn| {
        Ok(rows::insert(
            conn,
            &NewMedia {
                object_key: &original.key,
                url: &url,
                mime_type: original.format.mime_type(),
                width: dimension(original.width),
                height: dimension(original.height),
                bytes: original.bytes.len() as i64,
                variants: &variants,
                alt: &upload.alt,
                caption: &upload.caption,
                uploader_id: caller.user_id,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        )?)
    })?;
    found(conn, id)
}

/// Dimensions are bounded by the pixel limit long before they reach `i32::MAX`.
fn dimension(pixels: u32) -> i32 {
    i32::try_from(pixels).unwrap_or(i32::MAX)
}

fn found(conn: &mut DbConn, id: i64) -> Result<MediaItem, AppError> {
    rows::find(conn, id)?
        .map(|(row, uploader)| MediaItem::of(row, uploader))
        .ok_or(AppError::NotFound("media"))
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<MediaItem, AppError> {
    policy::require(caller, Action::ReadMedia, None)?;
    found(conn, id)
}

pub struct MediaPage {
    pub items: Vec<MediaItem>,
    /// The cursor of the next page, if there is one.
    pub next_before: Option<i64>,
}

pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    uploader: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<MediaPage, AppError> {
    policy::require(caller, Action::ReadMedia, None)?;
    let mut items: Vec<MediaItem> = rows::page(conn, uploader, before, limit + 1)?
        .into_iter()
        .map(|(row, uploader)| MediaItem::of(row, uploader))
        .collect();
    let more = super::trim_to_page(&mut items, limit);
    let next_before = more.then(|| items.last().map(|item| item.row.id)).flatten();
    Ok(MediaPage { items, next_before })
}

/// The row at `expected`, if the caller may change it.
fn editable(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
) -> Result<MediaRow, AppError> {
    let (row, _) = rows::find(conn, id)?.ok_or(AppError::NotFound("media"))?;
    policy::require(caller, Action::EditMedia, row.uploader_id)?;
    if expected != Some(row.version) {
        return Err(AppError::PreconditionFailed);
    }
    Ok(row)
}

pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
    patch: MediaPatch,
) -> Result<MediaItem, AppError> {
    db::write_transaction(conn, |conn| {
        let row = editable(conn, caller, id, expected)?;
        let changes = MediaChanges {
            alt: patch.alt.clone(),
            caption: patch.caption.clone(),
            updated_at: Some(db::now()),
        };
        if !rows::update_if_version(conn, id, row.version, &changes)? {
            return Err(AppError::PreconditionFailed);
        }
        let showing = rows::articles_using(conn, id)?;
        shown_differently(conn, showing)?;
        found(conn, id)
    })
}

/// Deletes a media item; refused while an article shows it, unless `force` (then those
/// articles lose their feature image, as a change of each). Returns the object keys no row
/// names any more, for the caller to remove once the transaction is in.
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
    force: bool,
) -> Result<Vec<String>, AppError> {
    db::write_transaction(conn, |conn| {
        let row = editable(conn, caller, id, expected)?;
        let users = rows::articles_using(conn, id)?;
        if !users.is_empty() {
            if !force {
                let named: Vec<String> = users
                    .iter()
                    .map(|(id, slug)| format!("{slug} (article {id})"))
                    .collect();
                return Err(AppError::Conflict {
                    message: format!(
                        "it is the feature image of {}; delete with force=true to take it off",
                        named.join(", ")
                    ),
                    field: None,
                });
            }
            rows::clear_feature_image(conn, id, db::now())?;
            shown_differently(conn, users)?;
        }
        if !rows::delete_if_version(conn, id, row.version)? {
            return Err(AppError::PreconditionFailed);
        }
        if rows::sharing_key(conn, &row.object_key)? > 0 {
            return Ok(Vec::new());
        }
        let mut orphaned = vec![row.object_key.clone()];
        orphaned.extend(variants_of(&row).into_iter().map(|v| v.key));
        Ok(orphaned)
    })
}

/// Tells the rest of the system that these articles show their feature image differently
/// (its alt text or caption, or none now): caches everywhere, feeds' dates, webhooks.
fn shown_differently(conn: &mut DbConn, articles: Vec<(i64, String)>) -> Result<(), AppError> {
    if articles.is_empty() {
        return Ok(());
    }
    let mut changes = ChangeSet::default();
    changes.push(Change::FeatureImageChanged {
        articles: articles.into_iter().map(|(id, _)| id).collect(),
    });
    changes.apply(conn)
}

/// The SHA-256 a key leads with (the original's, for a variant).
fn hash_of(key: &str) -> &str {
    key.get(..64).unwrap_or(key)
}

/// Removes stored objects that no row names and that are older than `grace` (an upload
/// writes its objects shortly before its row; rewriting an object renews its time). Only
/// names shaped like Folio's keys are touched, so a shared bucket is safe. Returns how many.
pub async fn collect_garbage(
    storage: &Storage,
    conn: &mut DbConn,
    grace: std::time::Duration,
) -> Result<usize, AppError> {
    // Listed before the rows are read: an object whose row comes later is younger than this.
    let stored = storage.list().await?;
    // By the original's hash, which its variants' keys lead with too.
    let named: HashSet<String> = rows::all_keys(conn)?
        .into_iter()
        .map(|(key, _)| hash_of(&key).to_owned())
        .collect();
    let cutoff = chrono::Duration::from_std(grace)
        .ok()
        .and_then(|grace| chrono::Utc::now().checked_sub_signed(grace));
    let mut removed = 0;
    for (key, written) in stored {
        let old_enough = cutoff.is_some_and(|cutoff| written <= cutoff);
        if images::is_key(&key) && !named.contains(hash_of(&key)) && old_enough {
            storage.delete(&key).await?;
            tracing::info!(key, "removed an object no media item names");
            removed += 1;
        }
    }
    Ok(removed)
}
