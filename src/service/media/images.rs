//! What an upload becomes: recognised by its bytes, checked against decompression bombs and
//! polyglots, cleaned of metadata, content-addressed, and resized into responsive variants.
//! Pure CPU work, run off the HTTP workers (`MediaLibrary::prepare`).

use std::io::Cursor;

use actix_web::web::Bytes;
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use img_parts::ImageEXIF;
use sha2::{Digest, Sha256};

use crate::error::{AppError, FieldError};

/// The widths of the responsive variants; only those narrower than the original are made.
pub const VARIANT_WIDTHS: [u32; 3] = [320, 640, 1280];

/// Quality of re-encoded JPEGs: variants, and originals turned upright.
const VARIANT_JPEG_QUALITY: u8 = 80;
const ORIGINAL_JPEG_QUALITY: u8 = 90;

/// Byte strings that make a file readable as a web page, script or PHP besides an image. A
/// browser told `nosniff` would not run them, but other software might: such a file is refused.
const MARKUP: [&[u8]; 7] = [
    b"<script",
    b"<html",
    b"<iframe",
    b"<!doctype html",
    b"<?php",
    b"<body",
    b"javascript:",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
    Gif,
}

impl Format {
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::WebP => "webp",
            Self::Gif => "gif",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::WebP => ImageFormat::WebP,
            Self::Gif => ImageFormat::Gif,
        }
    }
}

/// One object to store.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub key: String,
    pub bytes: Bytes,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone)]
pub struct Processed {
    pub original: Encoded,
    /// Narrowest first.
    pub variants: Vec<Encoded>,
}

impl Processed {
    pub fn objects(&self) -> impl Iterator<Item = &Encoded> {
        std::iter::once(&self.original).chain(&self.variants)
    }
}

/// Whether `key` names an object this module makes: `<sha256>.<ext>` or `<sha256>-<width>.<ext>`.
/// Anything else (a path, `..`, another name) is not a key.
pub fn is_key(key: &str) -> bool {
    let Some((stem, extension)) = key.split_once('.') else {
        return false;
    };
    let (hash, width) = stem.split_once('-').unwrap_or((stem, ""));
    hash.len() == 64
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && (width.is_empty() || VARIANT_WIDTHS.iter().any(|w| w.to_string() == width))
        && ["jpg", "png", "webp", "gif"].contains(&extension)
}

fn refused(reason: &'static str) -> AppError {
    AppError::UnsupportedMediaType(reason)
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(vec![FieldError::new("file", message)])
}

/// The format, from the bytes alone.
pub fn sniff(bytes: &[u8]) -> Result<Format, AppError> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
        Ok(ImageFormat::Png) => Ok(Format::Png),
        Ok(ImageFormat::WebP) => Ok(Format::WebP),
        Ok(ImageFormat::Gif) => Ok(Format::Gif),
        Ok(ImageFormat::Avif) => Err(refused(
            "AVIF images are not supported by this server; upload JPEG, PNG, WebP or GIF",
        )),
        _ => Err(refused(
            "not an image Folio accepts: upload JPEG, PNG, WebP or GIF (recognised by content, not by name)",
        )),
    }
}

fn holds_markup(bytes: &[u8]) -> bool {
    MARKUP.iter().any(|marker| {
        bytes
            .windows(marker.len())
            .any(|window| window.eq_ignore_ascii_case(marker))
    })
}

/// Turns an upload into what is stored, or says why not: 415 for what is not an accepted
/// image, 422 for one that does not decode or has more than `max_pixels` pixels.
pub fn process(upload: &[u8], max_pixels: u64) -> Result<Processed, AppError> {
    let format = sniff(upload)?;
    if holds_markup(upload) {
        return Err(refused(
            "the file holds markup or script besides the image (a polyglot); it is not accepted",
        ));
    }
    let reader = || ImageReader::with_format(Cursor::new(upload), format.image_format());
    // The header's dimensions, before any pixel is decoded: a small file may claim a huge
    // canvas (a decompression bomb).
    let (width, height) = reader()
        .into_dimensions()
        .map_err(|e| invalid(format!("the image cannot be read: {e}")))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(invalid(format!(
            "{width}×{height} is {pixels} pixels; at most {max_pixels} are accepted"
        )));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(pixels.saturating_mul(16).max(64 * 1024 * 1024));
    let mut decoding = reader();
    decoding.limits(limits);
    let mut decoder = decoding
        .into_decoder()
        .map_err(|e| invalid(format!("the image cannot be read: {e}")))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| invalid(format!("the image cannot be decoded: {e}")))?;

    let stored = if orientation == Orientation::NoTransforms || format == Format::Gif {
        without_metadata(upload, format, pixels, max_pixels)?
    } else {
        // Turned upright in the pixels, as the metadata that said how goes.
        image.apply_orientation(orientation);
        encode(&image, format)?
    };
    let hash = format!("{:x}", Sha256::digest(&stored));
    let original = Encoded {
        key: format!("{hash}.{}", format.extension()),
        bytes: Bytes::from(stored),
        format,
        width: image.width(),
        height: image.height(),
    };
    let variants = variants(&image, &hash)?;
    Ok(Processed { original, variants })
}

/// The upload without EXIF, XMP, IPTC, comments or text chunks; the pixels untouched (JPEG,
/// PNG, WebP) or re-encoded frame by frame (GIF, whose comments and application blocks have
/// no container to edit them in).
fn without_metadata(
    upload: &[u8],
    format: Format,
    pixels: u64,
    max_pixels: u64,
) -> Result<Vec<u8>, AppError> {
    let bytes = Bytes::copy_from_slice(upload);
    let unreadable = |e: img_parts::Error| invalid(format!("the image cannot be read: {e}"));
    let cleaned = match format {
        Format::Jpeg => {
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(bytes).map_err(unreadable)?;
            for marker in [
                img_parts::jpeg::markers::APP1,
                img_parts::jpeg::markers::APP13,
                img_parts::jpeg::markers::COM,
            ] {
                jpeg.remove_segments_by_marker(marker);
            }
            jpeg.encoder().bytes()
        }
        Format::Png => {
            let mut png = img_parts::png::Png::from_bytes(bytes).map_err(unreadable)?;
            for kind in [*b"eXIf", *b"tEXt", *b"zTXt", *b"iTXt", *b"tIME"] {
                png.remove_chunks_by_type(kind);
            }
            png.encoder().bytes()
        }
        Format::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(bytes).map_err(unreadable)?;
            webp.remove_chunks_by_id(*b"XMP ");
            // Also clears the EXIF flag in the extended header.
            webp.set_exif(None);
            webp.encoder().bytes()
        }
        Format::Gif => return reencoded_gif(upload, pixels, max_pixels),
    };
    Ok(cleaned.to_vec())
}

/// A GIF made again from its frames: animation and timing kept, every extension dropped. The
/// frames count against the pixel limit together, so a long animation is no bomb either.
fn reencoded_gif(upload: &[u8], pixels: u64, max_pixels: u64) -> Result<Vec<u8>, AppError> {
    let decoder = GifDecoder::new(Cursor::new(upload))
        .map_err(|e| invalid(format!("the image cannot be read: {e}")))?;
    let frame_budget = (max_pixels / pixels.max(1)).max(1);
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        encoder
            .set_repeat(Repeat::Infinite)
            .map_err(|e| AppError::Internal(e.into()))?;
        for (n, frame) in decoder.into_frames().enumerate() {
            if n as u64 >= frame_budget {
                return Err(invalid(format!(
                    "the animation has more frames than {max_pixels} pixels allow"
                )));
            }
            let frame = frame.map_err(|e| invalid(format!("the image cannot be decoded: {e}")))?;
            encoder
                .encode_frame(frame)
                .map_err(|e| AppError::Internal(e.into()))?;
        }
    }
    Ok(out)
}

/// The image in `format`: JPEG at high quality, the others losslessly.
fn encode(image: &DynamicImage, format: Format) -> Result<Vec<u8>, AppError> {
    let mut out = Cursor::new(Vec::new());
    let written = match format {
        Format::Jpeg => JpegEncoder::new_with_quality(&mut out, ORIGINAL_JPEG_QUALITY)
            .encode_image(&image.to_rgb8()),
        other => image.write_to(&mut out, other.image_format()),
    };
    written.map_err(|e| AppError::Internal(e.into()))?;
    Ok(out.into_inner())
}

/// The responsive variants, each made from the next wider one (cheaper than from the
/// original, and as sharp). JPEG for opaque images, lossless WebP where there is alpha (the
/// only WebP encoder in pure Rust is lossless, which photos need not pay for).
fn variants(image: &DynamicImage, hash: &str) -> Result<Vec<Encoded>, AppError> {
    let alpha = image.color().has_alpha();
    let mut made = Vec::new();
    let mut source = image.clone();
    for &width in VARIANT_WIDTHS.iter().rev() {
        if width >= image.width() {
            continue;
        }
        let height = ((f64::from(image.height()) * f64::from(width) / f64::from(image.width()))
            .round() as u32)
            .max(1);
        source = source.resize_exact(width, height, FilterType::CatmullRom);
        let mut out = Cursor::new(Vec::new());
        let format = if alpha {
            WebPEncoder::new_lossless(&mut out)
                .encode(
                    source.to_rgba8().as_raw(),
                    width,
                    height,
                    image::ExtendedColorType::Rgba8,
                )
                .map_err(|e| AppError::Internal(e.into()))?;
            Format::WebP
        } else {
            JpegEncoder::new_with_quality(&mut out, VARIANT_JPEG_QUALITY)
                .encode_image(&source.to_rgb8())
                .map_err(|e| AppError::Internal(e.into()))?;
            Format::Jpeg
        };
        made.push(Encoded {
            key: format!("{hash}-{width}.{}", format.extension()),
            bytes: Bytes::from(out.into_inner()),
            format,
            width,
            height,
        });
    }
    made.reverse();
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_content_addresses_and_nothing_else() {
        let hash = "a".repeat(64);
        assert!(is_key(&format!("{hash}.jpg")));
        assert!(is_key(&format!("{hash}-640.webp")));
        assert!(!is_key(&format!("{hash}-641.webp")));
        assert!(!is_key(&format!("{hash}.svg")));
        assert!(!is_key(&format!("../{hash}.jpg")));
        assert!(!is_key(&format!("{}.jpg", "A".repeat(64))));
        assert!(!is_key("passwd"));
    }

    #[test]
    fn markup_is_found_in_any_case() {
        assert!(holds_markup(b"GIF89a\x00\x00<ScRiPt>alert(1)</script>"));
        assert!(!holds_markup(b"GIF89a\x00\x00 plain pixels"));
    }
}
