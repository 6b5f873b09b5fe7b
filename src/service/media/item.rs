//! What a media item is as the rest of the service reads it, and the reads articles make of
//! their feature images. Apart from the library's rules (`super`), which record changes: the
//! articles' reads must not depend on the change consumers that read articles.

use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::db::media::{self as rows, MediaRow};
use crate::error::{AppError, FieldError};

/// One responsive variant, as kept in the row's `variants` column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub key: String,
    pub url: String,
    pub mime_type: String,
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Uploader {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone)]
pub struct MediaItem {
    pub row: MediaRow,
    pub variants: Vec<Variant>,
    pub uploader: Option<Uploader>,
}

impl MediaItem {
    pub(super) fn of(row: MediaRow, uploader: rows::Uploader) -> Self {
        Self {
            variants: variants_of(&row),
            uploader: uploader.map(|(id, name, slug)| Uploader { id, name, slug }),
            row,
        }
    }
}

pub(super) fn variants_of(row: &MediaRow) -> Vec<Variant> {
    serde_json::from_str(&row.variants).unwrap_or_else(|e| {
        tracing::error!(media = row.id, error = %e, "unreadable variants");
        Vec::new()
    })
}

/// Whether an article may name this media item as its feature image: it must exist.
pub fn check_feature_image(conn: &mut DbConn, id: Option<i64>) -> Result<(), AppError> {
    match id {
        Some(id) if !rows::exists(conn, id)? => Err(AppError::Invalid(vec![FieldError::new(
            "feature_image_id",
            "no media item has this id",
        )])),
        _ => Ok(()),
    }
}

/// The feature images of a page of articles, by id.
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<MediaItem>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(rows::by_ids(conn, ids)?
        .into_iter()
        .map(|row| MediaItem::of(row, None))
        .collect())
}
