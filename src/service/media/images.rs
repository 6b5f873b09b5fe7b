//! What an upload becomes: recognised by its bytes, checked against decompression bombs and
//! polyglots, cleaned of metadata, content-addressed, and resized into responsive variants.
//! Pure CPU work, run off the HTTP workers (`MediaLibrary::prepare`).

use std::io::Cursor;

use actix_web::web::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};
use img_parts::ImageEXIF;
use sha2::{Digest, Sha256};

use crate::error::{AppError, FieldError};

/// The widths of the responsive variants; only those narrower than the original are made.
pub const VARIANT_WIDTHS: [u32; 3] = [320, 640, 1280];

/// Quality of re-encoded JPEGs: variants, and originals turned upright.
const VARIANT_JPEG_QUALITY: u8 = 80;
const ORIGINAL_JPEG_QUALITY: u8 = 90;

/// The tallest variant the encoders take (WebP's limit; JPEG's is higher).
const MAX_VARIANT_SIDE: u32 = 16_383;

/// How many times the pixel limit an animation's frames may hold together.
const ANIMATION_PIXEL_FACTOR: u64 = 10;

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
pub fn process(upload: &Bytes, max_pixels: u64) -> Result<Processed, AppError> {
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
    let colour_profile = decoder.icc_profile().ok().flatten();
    // A GIF's first frame: what its variants show.
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| invalid(format!("the image cannot be decoded: {e}")))?;

    let stored = match format {
        Format::Gif => gif_without_extensions(upload, max_pixels)?,
        _ if orientation != Orientation::NoTransforms => {
            // Turned upright in the pixels, as the metadata that said how goes.
            image.apply_orientation(orientation);
            encode(&image, format, colour_profile)?
        }
        Format::Jpeg => jpeg_without_metadata(upload)?,
        Format::Png | Format::WebP => without_metadata(upload.clone(), format)?,
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

/// A JPEG with only what draws it: the frame, tables and scans, JFIF, the Adobe colour
/// marker and the ICC profile. EXIF and XMP (APP1), MPF and other APPn blocks, IPTC and
/// comments go, wherever they are (between progressive scans too), and so does everything
/// after the primary image's end (trailers, the secondary images of multi-picture files,
/// which carry EXIF of their own). The entropy-coded data is copied as it is.
fn jpeg_without_metadata(jpeg: &[u8]) -> Result<Vec<u8>, AppError> {
    let broken = || invalid("the JPEG's structure is broken");
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(broken());
    }
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut at = 2;
    loop {
        if jpeg.get(at) != Some(&0xFF) {
            return Err(broken());
        }
        // Fill bytes before the marker's code.
        while jpeg.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let code = *jpeg.get(at + 1).ok_or_else(broken)?;
        match code {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, code]);
                at += 2;
                continue;
            }
            _ => {}
        }
        let high = *jpeg.get(at + 2).ok_or_else(broken)?;
        let low = *jpeg.get(at + 3).ok_or_else(broken)?;
        let end = at + 2 + usize::from(u16::from_be_bytes([high, low]));
        let segment = jpeg.get(at..end).ok_or_else(broken)?;
        let keep = match code {
            0xE0 | 0xEE => true,
            0xE2 => segment
                .get(4..)
                .is_some_and(|p| p.starts_with(b"ICC_PROFILE\0")),
            0xE1..=0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.extend_from_slice(segment);
        }
        at = end;
        if code == 0xDA {
            // The scan's data runs to the next marker; 0xFF00 (a stuffed byte) and restart
            // markers are part of it.
            let start = at;
            while let Some(&byte) = jpeg.get(at) {
                let next = jpeg.get(at + 1).copied();
                if byte == 0xFF && next.is_some_and(|n| n != 0x00 && !(0xD0..=0xD7).contains(&n)) {
                    break;
                }
                at += 1;
            }
            out.extend_from_slice(jpeg.get(start..at).ok_or_else(broken)?);
            if at >= jpeg.len() {
                // No end marker (the decoder accepted it all the same): the image ends here.
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
        }
    }
}

/// A PNG or WebP without EXIF, XMP or text chunks; the pixels untouched.
fn without_metadata(bytes: Bytes, format: Format) -> Result<Vec<u8>, AppError> {
    let unreadable = |e: img_parts::Error| invalid(format!("the image cannot be read: {e}"));
    let cleaned = if format == Format::Png {
        let mut png = img_parts::png::Png::from_bytes(bytes).map_err(unreadable)?;
        for kind in [*b"eXIf", *b"tEXt", *b"zTXt", *b"iTXt", *b"tIME"] {
            png.remove_chunks_by_type(kind);
        }
        png.encoder().bytes()
    } else {
        let mut webp = img_parts::webp::WebP::from_bytes(bytes).map_err(unreadable)?;
        webp.remove_chunks_by_id(*b"XMP ");
        // Also clears the EXIF flag in the extended header.
        webp.set_exif(None);
        webp.encoder().bytes()
    };
    Ok(cleaned.to_vec())
}

/// A GIF made again from its frames as they are (palette indices, timing, disposal), with
/// every extension but looping dropped (comments, XMP and other application blocks). Each
/// frame is bounded in memory like a still image, and all of them together by
/// `ANIMATION_PIXEL_FACTOR` times the pixel limit, so a long animation is no bomb either.
fn gif_without_extensions(upload: &[u8], max_pixels: u64) -> Result<Vec<u8>, AppError> {
    let unreadable = |e: gif::DecodingError| invalid(format!("the image cannot be read: {e}"));
    let failed = |e: gif::EncodingError| AppError::Internal(e.into());
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    if let Some(limit) = std::num::NonZeroU64::new(max_pixels) {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut decoder = options.read_info(Cursor::new(upload)).map_err(unreadable)?;
    let palette = decoder.global_palette().unwrap_or_default().to_vec();
    let mut out = Vec::new();
    let mut encoder =
        gif::Encoder::new(&mut out, decoder.width(), decoder.height(), &palette).map_err(failed)?;
    encoder.set_repeat(decoder.repeat()).map_err(failed)?;
    let budget = max_pixels.saturating_mul(ANIMATION_PIXEL_FACTOR);
    let mut pixels: u64 = 0;
    while let Some(frame) = decoder.read_next_frame().map_err(unreadable)? {
        pixels += u64::from(frame.width) * u64::from(frame.height);
        if pixels > budget {
            return Err(invalid(format!(
                "the animation's frames hold more than {budget} pixels together"
            )));
        }
        // The decoder hands the rows over in order whatever the file's layout.
        let mut frame = frame.clone();
        frame.interlaced = false;
        encoder.write_frame(&frame).map_err(failed)?;
    }
    drop(encoder);
    Ok(out)
}

/// The image in `format`: JPEG at high quality with its colour profile (a wide-gamut photo
/// keeps its colours), the others losslessly.
fn encode(
    image: &DynamicImage,
    format: Format,
    colour_profile: Option<Vec<u8>>,
) -> Result<Vec<u8>, AppError> {
    let mut out = Cursor::new(Vec::new());
    let written = match format {
        Format::Jpeg => {
            let mut encoder = JpegEncoder::new_with_quality(&mut out, ORIGINAL_JPEG_QUALITY);
            if let Some(profile) = colour_profile {
                // A profile the encoder cannot carry is left out, as before.
                let _unsupported = encoder.set_icc_profile(profile);
            }
            encoder.encode_image(&image.to_rgb8())
        }
        other => image.write_to(&mut out, other.image_format()),
    };
    written.map_err(|e| AppError::Internal(e.into()))?;
    Ok(out.into_inner())
}

/// The responsive variants, each made from the next wider one (cheaper than from the
/// original, and as sharp). JPEG for opaque images, lossless WebP where there is alpha (the
/// only WebP encoder in pure Rust is lossless, which photos need not pay for). A variant
/// taller than the encoders allow (a very tall strip) is not made.
fn variants(image: &DynamicImage, hash: &str) -> Result<Vec<Encoded>, AppError> {
    let alpha = image.color().has_alpha();
    let mut made = Vec::new();
    let mut wider: Option<DynamicImage> = None;
    for &width in VARIANT_WIDTHS.iter().rev() {
        if width >= image.width() {
            continue;
        }
        let height = ((f64::from(image.height()) * f64::from(width) / f64::from(image.width()))
            .round() as u32)
            .max(1);
        if height > MAX_VARIANT_SIDE {
            continue;
        }
        let resized =
            wider
                .as_ref()
                .unwrap_or(image)
                .resize_exact(width, height, FilterType::CatmullRom);
        let mut out = Cursor::new(Vec::new());
        let format = if alpha {
            WebPEncoder::new_lossless(&mut out)
                .encode(
                    resized.to_rgba8().as_raw(),
                    width,
                    height,
                    image::ExtendedColorType::Rgba8,
                )
                .map_err(|e| AppError::Internal(e.into()))?;
            Format::WebP
        } else {
            JpegEncoder::new_with_quality(&mut out, VARIANT_JPEG_QUALITY)
                .encode_image(&resized.to_rgb8())
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
        wider = Some(resized);
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
    fn jpeg_cleaning_keeps_the_image_and_drops_metadata_everywhere() {
        let segment = |code: u8, payload: &[u8]| {
            let mut s = vec![0xFF, code];
            s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
            s.extend_from_slice(payload);
            s
        };
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend(segment(0xE0, b"JFIF\0\x01\x02"));
        jpeg.extend(segment(0xE1, b"Exif\0\0GPS-HERE"));
        jpeg.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x01colour"));
        jpeg.extend(segment(0xE2, b"MPF\0index"));
        jpeg.extend(segment(0xDA, b"\x01\x02"));
        jpeg.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        jpeg.extend(segment(0xFE, b"a comment between scans"));
        jpeg.extend(segment(0xDA, b"\x03\x04"));
        jpeg.extend_from_slice(&[0x78, 0xFF, 0xD9]);
        jpeg.extend_from_slice(b"\xFF\xD8 a second image with Exif\0\0GPS-HERE");

        let cleaned = jpeg_without_metadata(&jpeg).unwrap();
        let text = String::from_utf8_lossy(&cleaned);
        assert!(!text.contains("GPS-HERE") && !text.contains("MPF") && !text.contains("comment"));
        assert!(text.contains("JFIF") && text.contains("ICC_PROFILE") && text.contains("colour"));
        assert!(cleaned.ends_with(&[0x78, 0xFF, 0xD9]));
        assert!(
            cleaned
                .windows(7)
                .any(|w| w == [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56])
        );
    }

    #[test]
    fn markup_is_found_in_any_case() {
        assert!(holds_markup(b"GIF89a\x00\x00<ScRiPt>alert(1)</script>"));
        assert!(!holds_markup(b"GIF89a\x00\x00 plain pixels"));
    }
}
