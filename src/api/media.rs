//! The media library: image uploads (multipart), browsing, alt text and captions, deletion;
//! and `/media/{key}`, where local storage is served.

use actix_files::NamedFile;
use actix_multipart::form::MultipartForm;
use actix_multipart::form::bytes::Bytes as FilePart;
use actix_multipart::form::text::Text;
use actix_multipart::{MultipartError, form::MultipartFormConfig};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{IfMatch, JsonBody, QueryParams};
use super::problem::Problem;
use super::validate::Checks;
use super::{API_PREFIX, CursorMeta, cursor_key, page_size, private_json, written};
use crate::auth::Caller;
use crate::error::AppError;
use crate::service::media::{self, MediaItem, MediaLibrary, MediaPatch, Upload, Variant};
use crate::state::AppState;

/// Room for the form's other parts and headers beside the image.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaVariantResponse {
    pub width: u32,
    pub height: u32,
    pub url: String,
    pub key: String,
    #[schema(example = "image/jpeg")]
    pub mime_type: String,
    pub bytes: u64,
}

impl From<Variant> for MediaVariantResponse {
    fn from(v: Variant) -> Self {
        Self {
            width: v.width,
            height: v.height,
            url: v.url,
            key: v.key,
            mime_type: v.mime_type,
            bytes: v.bytes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploaderResponse {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaResponse {
    pub id: i64,
    /// Where readers fetch the original (metadata removed).
    pub url: String,
    /// The stored object's name: its SHA-256 and extension.
    pub key: String,
    /// The SHA-256 of the stored bytes, in hex.
    pub sha256: String,
    #[schema(example = "image/jpeg")]
    pub mime_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    /// Narrower copies for `srcset` (widths 320, 640 and 1280 where the original is wider),
    /// narrowest first: JPEG, or WebP for images with transparency.
    pub variants: Vec<MediaVariantResponse>,
    pub alt: String,
    pub caption: String,
    /// Null once the uploader's account is deleted.
    pub uploader: Option<UploaderResponse>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<MediaItem> for MediaResponse {
    fn from(item: MediaItem) -> Self {
        let row = item.row;
        Self {
            sha256: row
                .object_key
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned(),
            id: row.id,
            url: row.url,
            key: row.object_key,
            mime_type: row.mime_type,
            width: row.width,
            height: row.height,
            bytes: row.bytes,
            variants: item.variants.into_iter().map(Into::into).collect(),
            alt: row.alt,
            caption: row.caption,
            uploader: item.uploader.map(|u| UploaderResponse {
                id: u.id,
                name: u.name,
                slug: u.slug,
            }),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        }
    }
}

/// A media library image as an article shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureImageResponse {
    pub id: i64,
    pub url: String,
    pub width: i32,
    pub height: i32,
    pub mime_type: String,
    pub alt: String,
    pub caption: String,
    pub variants: Vec<MediaVariantResponse>,
}

impl From<MediaItem> for FeatureImageResponse {
    fn from(item: MediaItem) -> Self {
        Self {
            id: item.row.id,
            url: item.row.url,
            width: item.row.width,
            height: item.row.height,
            mime_type: item.row.mime_type,
            alt: item.row.alt,
            caption: item.row.caption,
            variants: item.variants.into_iter().map(Into::into).collect(),
        }
    }
}

/// The upload form as actix reads it.
#[derive(Debug, MultipartForm)]
#[multipart(deny_unknown_fields, duplicate_field = "deny")]
pub struct UploadForm {
    file: Option<FilePart>,
    alt: Option<Text<String>>,
    caption: Option<Text<String>>,
}

/// An image upload (`multipart/form-data`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "only its schema is used: the form is read as UploadForm"
)]
pub struct UploadMediaRequest {
    /// The image: JPEG, PNG, WebP or GIF, recognised by its content (not its name or declared
    /// type). EXIF (GPS included), XMP and comments are removed before it is stored.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Text for screen readers.
    // Said by a pattern rather than the `not` other requests' texts carry: a form's schema with
    // `not` in it is one schemathesis cannot generate.
    #[schema(max_length = 1000, pattern = "^[^\\u0000]*$")]
    alt: Option<String>,
    #[schema(max_length = 2000, pattern = "^[^\\u0000]*$")]
    caption: Option<String>,
}

/// The form's limits: the largest image and room for the rest.
pub fn form_config(max_bytes: u64) -> MultipartFormConfig {
    let limit = usize::try_from(max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(FORM_OVERHEAD_BYTES);
    MultipartFormConfig::default()
        .total_limit(limit)
        .memory_limit(limit)
}

/// Multipart trouble as problems: a body that is not multipart is a 415, one too large a
/// 413, a form that does not parse a 400. (The extractor reports some of these before any
/// configured error handler sees them, so they are mapped here, from its result.)
fn form_error(e: &actix_web::Error) -> AppError {
    let Some(e) = e.as_error::<MultipartError>() else {
        return AppError::BadRequest {
            message: format!("the form cannot be read: {e}"),
            field: None,
        };
    };
    match e {
        MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
            AppError::PayloadTooLarge
        }
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => AppError::UnsupportedMediaType(
            "send multipart/form-data with the image in a part named file",
        ),
        MultipartError::UnknownField(name) | MultipartError::DuplicateField(name) => {
            AppError::bad_param(name, "is not a part of this form, or appears twice")
        }
        other => AppError::BadRequest {
            message: format!("the form cannot be read: {other}"),
            field: None,
        },
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMediaRequest {
    #[schema(max_length = 1000)]
    pub alt: Option<String>,
    #[schema(max_length = 2000)]
    pub caption: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaListResponse {
    /// Newest first.
    pub data: Vec<MediaResponse>,
    pub meta: CursorMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MediaListQuery {
    /// Only what this user uploaded.
    pub uploader: Option<i64>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `meta.next_cursor` of the previous page.
    #[param(pattern = "^[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteMediaQuery {
    /// Delete even while articles show it: they lose their feature image.
    #[param(default = false)]
    pub force: Option<bool>,
}

/// The texts' lengths; and, as a form's parts are not JSON (whose parser refuses it for every
/// body), no NUL, which PostgreSQL cannot store.
fn check_text(checks: &mut Checks, alt: Option<&str>, caption: Option<&str>) {
    for (field, text, max) in [("alt", alt, 1000), ("caption", caption, 2000)] {
        if let Some(text) = text {
            checks.text(field, text, 0, max);
            checks.require(
                !text.contains('\0'),
                field,
                "must not contain the NUL character (U+0000)",
            );
        }
    }
}

/// Upload an image (author and up). Stored content-addressed with its metadata removed,
/// with responsive variants made at once.
#[utoipa::path(
    tag = "media",
    operation_id = "upload_media",
    request_body(content = UploadMediaRequest, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = MediaResponse, headers(("Location" = String, description = "The item's URL"), ("ETag" = String, description = "Send back in If-Match to change it"))),
        (status = 400, description = "A form that cannot be read, or an unknown part", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A contributor, or a token without content:write", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than FOLIO_MEDIA_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or not a JPEG, PNG, WebP or GIF image by its content (SVG, AVIF, polyglots)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file, an image that does not decode, or more pixels than FOLIO_MEDIA_MAX_PIXELS", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database or the storage is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/media")]
pub async fn upload_media(
    state: Data<AppState>,
    library: Data<MediaLibrary>,
    caller: Caller,
    form: Result<MultipartForm<UploadForm>, actix_web::Error>,
) -> Result<HttpResponse, AppError> {
    // Before the form's own errors: someone who may not upload learns nothing more.
    media::may_upload(&caller)?;
    let form = form.map_err(|e| form_error(&e))?.into_inner();
    let alt = form.alt.map(Text::into_inner).unwrap_or_default();
    let caption = form.caption.map(Text::into_inner).unwrap_or_default();
    let mut checks = Checks::default();
    check_text(&mut checks, Some(&alt), Some(&caption));
    checks.require(
        form.file.is_some(),
        "file",
        "send the image in a part named file",
    );
    checks.finish()?;
    let bytes = form.file.map(|f| f.data).unwrap_or_default();
    if bytes.len() as u64 > state.config.media_max_bytes {
        return Err(AppError::PayloadTooLarge);
    }
    let upload = Upload {
        bytes,
        alt,
        caption,
    };
    let item = media::upload(&library, &state.db, caller, upload).await?;
    let location = format!("{API_PREFIX}/media/{}", item.row.id);
    let version = item.row.version;
    written(
        StatusCode::CREATED,
        &MediaResponse::from(item),
        Some(version),
        Some(location),
    )
}

/// The media library, newest first (anyone signed in).
#[utoipa::path(
    tag = "media",
    operation_id = "list_media",
    params(MediaListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of media", body = MediaListResponse),
        (status = 400, description = "Bad uploader, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/media")]
pub async fn list_media(
    state: Data<AppState>,
    caller: Caller,
    params: QueryParams<MediaListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = params.into_inner();
    let limit = page_size(query.limit)?;
    let before = cursor_key::<i64>(query.cursor.as_deref())?;
    let page = state
        .db
        .run(move |conn| media::list(conn, &caller, query.uploader, before, limit))
        .await?;
    private_json(
        MediaListResponse {
            data: page.items.into_iter().map(Into::into).collect(),
            meta: CursorMeta::new(limit, page.next_before),
        },
        None,
    )
}

/// One media item (anyone signed in).
#[utoipa::path(
    tag = "media",
    operation_id = "get_media",
    params(("id" = i64, Path, description = "Media id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The item", body = MediaResponse, headers(("ETag" = String, description = "Send back in If-Match to change it"))),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/media/{id}")]
pub async fn get_media(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let item = state
        .db
        .run(move |conn| media::get(conn, &caller, id))
        .await?;
    let version = item.row.version;
    private_json(MediaResponse::from(item), Some(version))
}

/// Change an item's alt text or caption (its uploader, editor and up). `If-Match` must carry
/// its current ETag.
#[utoipa::path(
    tag = "media",
    operation_id = "update_media",
    params(("id" = i64, Path, description = "Media id"), ("If-Match" = String, Header, description = "The item's current ETag")),
    request_body = UpdateMediaRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed item", body = MediaResponse, headers(("ETag" = String, description = "The new ETag"))),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the uploader, nor an editor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "It changed since that ETag; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/media/{id}")]
pub async fn update_media(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    body: JsonBody<UpdateMediaRequest>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let r = body.0;
    let mut checks = Checks::default();
    check_text(&mut checks, r.alt.as_deref(), r.caption.as_deref());
    checks.finish()?;
    let patch = MediaPatch {
        alt: r.alt,
        caption: r.caption,
    };
    let id = id.into_inner();
    // Through `state.write`: articles that show the item show its alt text and caption.
    let item = state
        .write(move |conn| media::update(conn, &caller, id, if_match.0, patch))
        .await?;
    let version = item.row.version;
    private_json(MediaResponse::from(item), Some(version))
}

/// Delete an item (its uploader, editor and up); its stored objects go when no other item
/// has the same bytes. Needs `If-Match`.
#[utoipa::path(
    tag = "media",
    operation_id = "delete_media",
    params(("id" = i64, Path, description = "Media id"), ("If-Match" = String, Header, description = "The item's current ETag"), DeleteMediaQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id or force is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the uploader, nor an editor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Articles show it as their feature image (say force=true)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "It changed since that ETag; nothing was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/media/{id}")]
pub async fn delete_media(
    state: Data<AppState>,
    library: Data<MediaLibrary>,
    caller: Caller,
    id: Path<i64>,
    params: QueryParams<DeleteMediaQuery>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let force = params.into_inner().force.unwrap_or(false);
    let id = id.into_inner();
    let orphaned = state
        .write(move |conn| media::delete(conn, &caller, id, if_match.0, force))
        .await?;
    library.remove(&orphaned).await;
    Ok(HttpResponse::NoContent().finish())
}

/// A stored image, from local storage (`FOLIO_MEDIA_STORAGE=local`). Its key is its content,
/// so it is cached for good; ranges and conditional requests are answered.
#[utoipa::path(
    tag = "media",
    operation_id = "get_media_object",
    params(("key" = String, Path, description = "The object's key: SHA-256, optionally `-width`, and extension", pattern = "^[0-9a-f]{64}(-[0-9]+)?\\.(jpg|png|webp|gif)$")),
    security(()),
    responses(
        (status = 200, description = "The image", content_type = "image/*", headers(("ETag" = String), ("Cache-Control" = String, description = "public, max-age=31536000, immutable"))),
        (status = 206, description = "The requested range", content_type = "image/*"),
        (status = 304, description = "Not modified since the ETag or date the client has"),
        (status = 404, description = "No such object, or storage is not local", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/media/{key}")]
pub async fn get_media_object(
    req: HttpRequest,
    library: Data<MediaLibrary>,
    key: Path<String>,
) -> Result<HttpResponse, AppError> {
    let key = key.into_inner();
    let file = media::images::is_key(&key)
        .then(|| library.storage.local_file(&key))
        .flatten()
        .ok_or(AppError::NotFound("media object"))?;
    let file = actix_web::web::block(move || NamedFile::open(file))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("opening a media object stopped: {e}")))?
        .map_err(|_| AppError::NotFound("media object"))?
        .disable_content_disposition()
        .use_etag(true)
        .use_last_modified(true);
    let mut response = file.into_response(&req);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(crate::storage::IMMUTABLE),
    );
    Ok(response)
}
