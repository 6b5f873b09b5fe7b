//! The media library as its users meet it: JPEG, PNG, WebP and GIF are stored cleaned (no
//! location, upright) with narrower variants; anything else is refused with nothing kept; the
//! same bytes are stored once; only the uploader or an editor changes an image; an image in use
//! is deleted only when forced; local objects are served immutable; and `folio media gc`
//! removes what a crash left behind. The storage-level tests run on local disk and, when
//! FOLIO_TEST_S3_ENDPOINT is set, on S3 too.

use std::collections::HashSet;
use std::io::{Cursor, Write};
use std::process::Command;

use folio::auth::Role;
use folio::config::Config;
use folio::db::Backend;
use futures_util::future::join_all;
use image::codecs::gif::GifEncoder;
use image::{DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::{Bytes, ImageEXIF};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    Checked, Reply, TestApp, assert_no_database_text, ids, on_each_backend, spawn_app_with,
};

// ---------------------------------------------------------------------------------------------
// Storage: where a test app keeps its objects, and a way to look behind the API.

#[derive(Debug)]
enum Storage {
    Local,
    S3 { endpoint: String },
}

/// Local disk always; S3 too when FOLIO_TEST_S3_ENDPOINT is set (CI runs moto there).
fn storages() -> Vec<Storage> {
    let mut storages = vec![Storage::Local];
    if let Some(endpoint) = std::env::var("FOLIO_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    {
        storages.push(Storage::S3 {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        });
    }
    storages
}

/// One app's own storage: a fresh directory, or a fresh bucket.
enum Store {
    Local(tempfile::TempDir),
    S3 { endpoint: String, bucket: String },
}

impl Store {
    async fn new(storage: &Storage) -> Self {
        match storage {
            Storage::Local => Self::Local(tempfile::tempdir().unwrap()),
            Storage::S3 { endpoint } => {
                let bucket = format!("folio-test-{}", uuid::Uuid::new_v4().simple());
                let created = http()
                    .put(format!("{endpoint}/{bucket}"))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    created.status().is_success(),
                    "creating bucket {bucket}: {}",
                    created.status()
                );
                // Readers fetch the objects anonymously, as from a public bucket behind a CDN.
                let policy = json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": format!("arn:aws:s3:::{bucket}/*"),
                    }],
                });
                let public = http()
                    .put(format!("{endpoint}/{bucket}?policy"))
                    .body(policy.to_string())
                    .send()
                    .await
                    .unwrap();
                assert!(
                    public.status().is_success(),
                    "making bucket {bucket} public: {}",
                    public.status()
                );
                Self::S3 {
                    endpoint: endpoint.clone(),
                    bucket,
                }
            }
        }
    }

    fn configure(&self, settings: &mut Config) {
        match self {
            Self::Local(dir) => {
                settings.media_storage = "local".into();
                settings.media_dir = dir.path().to_path_buf();
            }
            Self::S3 { endpoint, bucket } => {
                settings.media_storage = "s3".into();
                settings.s3_endpoint = Some(endpoint.clone());
                settings.s3_bucket = Some(bucket.clone());
                settings.s3_access_key_id = Some("test".into());
                settings.s3_secret_access_key = Some("test".into());
                settings.s3_path_style = true;
                settings.media_public_url = Some(format!("{endpoint}/{bucket}"));
            }
        }
    }

    /// The same settings as environment variables, for the command line.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Local(dir) => vec![
                ("FOLIO_MEDIA_STORAGE", "local".to_owned()),
                ("FOLIO_MEDIA_DIR", dir.path().to_str().unwrap().to_owned()),
            ],
            Self::S3 { endpoint, bucket } => vec![
                ("FOLIO_MEDIA_STORAGE", "s3".to_owned()),
                ("FOLIO_S3_ENDPOINT", endpoint.clone()),
                ("FOLIO_S3_BUCKET", bucket.clone()),
                ("FOLIO_S3_ACCESS_KEY_ID", "test".to_owned()),
                ("FOLIO_S3_SECRET_ACCESS_KEY", "test".to_owned()),
                ("FOLIO_S3_PATH_STYLE", "true".to_owned()),
                ("FOLIO_MEDIA_PUBLIC_URL", format!("{endpoint}/{bucket}")),
            ],
        }
    }

    /// Every stored object's key, sorted. Local: every file in the directory, so a stray
    /// temporary file counts too.
    async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = match self {
            Self::Local(dir) => std::fs::read_dir(dir.path())
                .unwrap()
                .map(|entry| entry.unwrap())
                .filter(|entry| entry.file_type().unwrap().is_file())
                .map(|entry| entry.file_name().into_string().unwrap())
                .collect(),
            Self::S3 { endpoint, bucket } => {
                let listing = http()
                    .get(format!("{endpoint}/{bucket}?list-type=2"))
                    .send()
                    .await
                    .unwrap();
                assert!(
                    listing.status().is_success(),
                    "listing {bucket}: {}",
                    listing.status()
                );
                let xml = String::from_utf8(listing.bytes().await.unwrap().to_vec()).unwrap();
                xml.split("<Key>")
                    .skip(1)
                    .filter_map(|rest| rest.split_once("</Key>"))
                    .map(|(key, _)| key.to_owned())
                    .collect()
            }
        };
        keys.sort();
        keys
    }

    /// Writes an object behind Folio's back.
    async fn put(&self, key: &str, bytes: &[u8]) {
        match self {
            Self::Local(dir) => std::fs::write(dir.path().join(key), bytes).unwrap(),
            Self::S3 { endpoint, bucket } => {
                let put = http()
                    .put(format!("{endpoint}/{bucket}/{key}"))
                    .body(bytes.to_vec())
                    .send()
                    .await
                    .unwrap();
                assert!(put.status().is_success(), "putting {key}: {}", put.status());
            }
        }
    }
}

/// Folio's reqwest has no crypto provider of its own (it uses the process's: ring), and no
/// client can be built, even for plain HTTP, until one is installed.
/// A plain client, for what the test client does not do (multipart, S3 set-up).
fn http() -> reqwest::Client {
    folio::storage::install_tls_provider();
    reqwest::Client::new()
}

/// A server whose media go to a store of their own, of the kind `storage` names.
async fn spawn_media_app(
    backend: Backend,
    storage: &Storage,
    config: impl FnOnce(&mut Config),
) -> (TestApp, Store) {
    eprintln!("storage: {storage:?}");
    folio::storage::install_tls_provider();
    let store = Store::new(storage).await;
    let app = spawn_app_with(
        backend,
        |settings| {
            store.configure(settings);
            config(settings);
        },
        |_| {},
    )
    .await;
    (app, store)
}

/// Runs `folio media gc` as an operator would, configured as the app is; asserts it succeeds
/// and returns what it printed.
fn media_gc(app: &TestApp, store: &Store, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
    // This app's settings only, none from whoever runs the tests.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FOLIO_") {
            command.env_remove(name);
        }
    }
    let output = command
        .env("FOLIO_DATABASE_URL", &app.db.url)
        .envs(store.env())
        .args(["--log", "warn", "media", "gc"])
        .args(args)
        .output()
        .expect("folio runs");
    assert!(
        output.status.success(),
        "folio media gc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// A form whose `file` part is `bytes`, named and typed as a browser would send that image.
fn image_form(bytes: &[u8]) -> Form {
    let format = image::guess_format(bytes).expect("a fixture image");
    file_form(
        bytes,
        &format!("upload.{}", format.extensions_str()[0]),
        format.to_mime_type(),
    )
}

fn file_form(bytes: &[u8], filename: &str, mime: &str) -> Form {
    let part = Part::bytes(bytes.to_vec())
        .file_name(filename.to_owned())
        .mime_str(mime)
        .unwrap();
    Form::new().part("file", part)
}

/// POST /api/v1/media. A multipart body needs reqwest's own builder, so the check every other
/// response gets (no database text in a problem) is made here.
async fn upload(app: &TestApp, token: Option<&str>, form: Form) -> Reply {
    let mut request = http().post(app.url("/api/v1/media")).multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("upload sent");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    assert_no_database_text(status, content_type, &bytes);
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// Uploads an image as `token`, asserting 201.
pub async fn upload_image(app: &TestApp, token: &str, bytes: &[u8]) -> Reply {
    let reply = upload(app, Some(token), image_form(bytes)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "upload: {}", reply.body);
    reply
}

async fn get(app: &TestApp, token: &str, path: &str) -> Reply {
    app.send(Method::GET, path, Some(token), None, None).await
}

async fn patch_media(
    app: &TestApp,
    token: &str,
    id: i64,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    app.send(
        Method::PATCH,
        &format!("/api/v1/media/{id}"),
        Some(token),
        Some(body),
        if_match,
    )
    .await
}

async fn delete_media(app: &TestApp, token: &str, id: i64, if_match: &str, force: bool) -> Reply {
    let query = if force { "?force=true" } else { "" };
    app.send(
        Method::DELETE,
        &format!("/api/v1/media/{id}{query}"),
        Some(token),
        None,
        Some(if_match),
    )
    .await
}

/// Follows `next_cursor` from `first` to the end; the ids of each page.
async fn walk(app: &TestApp, token: &str, first: &str) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut path = first.to_owned();
    loop {
        let page = get(app, token, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        pages.push(ids(&page.body));
        assert!(pages.len() <= 20, "the walk does not end: {pages:?}");
        let Some(cursor) = page.body["meta"]["next_cursor"].as_str() else {
            return pages;
        };
        path = format!("{first}&cursor={cursor}");
    }
}

fn id_of(reply: &Reply) -> i64 {
    reply.body["id"].as_i64().expect("an id")
}

fn etag_of(reply: &Reply) -> String {
    reply.header("etag").expect("an ETag").to_owned()
}

fn assert_problem(reply: &Reply, status: StatusCode, case: &str) {
    assert_eq!(reply.status, status, "{case}: {}", reply.body);
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/problem+json"),
        "{case}: {content_type}"
    );
}

fn names_field(reply: &Reply, field: &str) -> bool {
    reply.body["errors"]
        .as_array()
        .is_some_and(|errors| errors.iter().any(|e| e["field"] == field))
}

/// Local storage gives a path on the API server; S3 the bucket's URL.
fn absolute(app: &TestApp, url: &str) -> String {
    if url.starts_with('/') {
        app.url(url)
    } else {
        url.to_owned()
    }
}

async fn fetch(app: &TestApp, url: &str) -> Checked {
    app.client
        .get(absolute(app, url))
        .send()
        .await
        .expect("request sent")
}

/// The bytes at a media URL, asserting they are served.
async fn fetch_ok(app: &TestApp, url: &str) -> Vec<u8> {
    let response = fetch(app, url).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    response.bytes().await.unwrap().to_vec()
}

fn header<'a>(response: &'a Checked, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

// ---------------------------------------------------------------------------------------------
// Media responses.

fn variants(media: &Value) -> &[Value] {
    media["variants"].as_array().expect("a variants array")
}

/// The keys of the original and its variants, sorted.
fn keys_of(media: &Value) -> Vec<String> {
    let mut keys: Vec<String> = std::iter::once(&media["key"])
        .chain(variants(media).iter().map(|v| &v["key"]))
        .map(|key| key.as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

fn urls_of(media: &Value) -> Vec<String> {
    std::iter::once(&media["url"])
        .chain(variants(media).iter().map(|v| &v["url"]))
        .map(|url| url.as_str().unwrap().to_owned())
        .collect()
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        other => panic!("not a stored image type: {other}"),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Decodes `bytes`, asserting they are an image of `format`.
fn decode_as(bytes: &[u8], format: ImageFormat) -> DynamicImage {
    assert_eq!(
        image::guess_format(bytes).ok(),
        Some(format),
        "stored format"
    );
    image::load_from_memory_with_format(bytes, format).expect("the stored image decodes")
}

/// What uploading a fixture should give.
struct Expected {
    format: ImageFormat,
    width: u32,
    height: u32,
    /// The variants' type, where the fixture settles it: JPEG when opaque, WebP with alpha.
    variant_mime: Option<&'static str>,
}

/// Each variant width narrower than the original, with the height in proportion.
fn variant_sizes(width: u32, height: u32) -> Vec<(u64, u64)> {
    [320_u32, 640, 1280]
        .into_iter()
        .filter(|w| *w < width)
        .map(|w| {
            let scaled = (f64::from(height) * f64::from(w) / f64::from(width)).round();
            (u64::from(w), scaled as u64)
        })
        .collect()
}

/// Checks a MediaResponse against what is served at its URLs: the original is the image it
/// says (format, size, byte count, hash and so key), and so is each variant. Returns the
/// original's bytes.
async fn assert_stored(app: &TestApp, media: &Value, expected: &Expected) -> Vec<u8> {
    let mime = expected.format.to_mime_type();
    assert_eq!(media["mime_type"], mime, "{media}");
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (
            Some(u64::from(expected.width)),
            Some(u64::from(expected.height))
        ),
        "{media}"
    );
    let sha = media["sha256"].as_str().unwrap();
    let key = media["key"].as_str().unwrap();
    assert_eq!(key, format!("{sha}.{}", extension(mime)), "{media}");
    let url = media["url"].as_str().unwrap();
    assert!(url.ends_with(&format!("/{key}")), "{media}");
    let original = fetch_ok(app, url).await;
    // Whether Folio or a bucket serves it: its type, and cached for good.
    let served = fetch(app, url).await;
    assert_eq!(header(&served, "content-type"), Some(mime), "{url}");
    assert_eq!(
        header(&served, "cache-control"),
        Some("public, max-age=31536000, immutable"),
        "{url}"
    );
    assert_eq!(
        hex_sha256(&original),
        sha,
        "the key addresses the stored bytes"
    );
    assert_eq!(media["bytes"].as_u64(), Some(original.len() as u64));
    let decoded = decode_as(&original, expected.format);
    assert_eq!(
        (decoded.width(), decoded.height()),
        (expected.width, expected.height)
    );

    let sizes: Vec<(u64, u64)> = variants(media)
        .iter()
        .map(|v| (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        sizes,
        variant_sizes(expected.width, expected.height),
        "{media}"
    );
    for variant in variants(media) {
        let variant_mime = variant["mime_type"].as_str().unwrap();
        if let Some(wanted) = expected.variant_mime {
            assert_eq!(variant_mime, wanted, "{variant}");
        }
        assert_eq!(
            variant["key"],
            format!("{sha}-{}.{}", variant["width"], extension(variant_mime))
        );
        let bytes = fetch_ok(app, variant["url"].as_str().unwrap()).await;
        assert_eq!(variant["bytes"].as_u64(), Some(bytes.len() as u64));
        let image = decode_as(&bytes, ImageFormat::from_mime_type(variant_mime).unwrap());
        assert_eq!(
            (
                Some(u64::from(image.width())),
                Some(u64::from(image.height()))
            ),
            (variant["width"].as_u64(), variant["height"].as_u64()),
            "{variant}"
        );
    }
    original
}

/// None of a media item's objects is stored or served any more.
async fn assert_gone(app: &TestApp, store: &Store, media: &Value) {
    let stored = store.keys().await;
    for key in keys_of(media) {
        assert!(!stored.contains(&key), "{key} is still stored");
    }
    for url in urls_of(media) {
        let response = fetch(app, &url).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{url} is still served"
        );
    }
}

/// An article's `feature_image_media` is the media item as the media API shows it.
fn assert_feature(feature: &Value, media: &Value) {
    for field in [
        "id",
        "url",
        "width",
        "height",
        "mime_type",
        "alt",
        "caption",
        "variants",
    ] {
        assert_eq!(feature[field], media[field], "{field} of {feature}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures, made in memory.

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// An opaque picture with detail everywhere; `seed` makes pictures of one size differ.
fn opaque(width: u32, height: u32, seed: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            ((x + seed) % 256) as u8,
            ((y * 3 + seed) % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    }))
}

pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(&opaque(width, height, seed), ImageFormat::Jpeg)
}

/// A picture whose alpha varies across it.
fn translucent(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgba8(RgbaImage::from_fn(width, height, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, 90, (x % 200 + 40) as u8])
    }))
}

/// An animation: a red frame, then a blue one.
fn red_then_blue_gif(width: u32, height: u32) -> Vec<u8> {
    let frame =
        |[r, g, b]: [u8; 3]| Frame::new(RgbaImage::from_pixel(width, height, Rgba([r, g, b, 255])));
    let mut bytes = Vec::new();
    {
        // The fastest setting: flat frames need no quantizing, and the slowest is slow
        // unoptimised. The encoder writes the trailer when dropped.
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, 30);
        encoder.encode_frames([frame(RED), frame(BLUE)]).unwrap();
    }
    bytes
}

/// Red on the left half, blue on the right: which way it was turned shows.
fn red_left_blue_right(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, _| {
        Rgb(if x < width / 2 { RED } else { BLUE })
    });
    encode(&DynamicImage::ImageRgb8(image), ImageFormat::Jpeg)
}

fn colour_at(image: &DynamicImage, x: u32, y: u32) -> [u8; 3] {
    image.to_rgb8().get_pixel(x, y).0
}

/// Near enough, after lossy compression.
fn is_red([r, g, b]: [u8; 3]) -> bool {
    r > 180 && g < 90 && b < 90
}

fn is_blue([r, g, b]: [u8; 3]) -> bool {
    b > 180 && r < 90 && g < 90
}

/// Noise compresses badly: a JPEG of it is big for its size.
fn noisy_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    let image = RgbImage::from_fn(width, height, |_, _| {
        Rgb([rng.u8(..), rng.u8(..), rng.u8(..)])
    });
    encode(&DynamicImage::ImageRgb8(image), ImageFormat::Jpeg)
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut chunk = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc.sum().to_be_bytes());
    chunk
}

/// A well-formed PNG of a few hundred bytes whose header claims 30000 × 30000 pixels: decoded,
/// 2.7 GB of RGB.
fn pixel_bomb_png() -> Vec<u8> {
    let mut ihdr = 30_000_u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&30_000_u32.to_be_bytes());
    // 8-bit RGB, deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    zlib.write_all(&[0; 4096]).unwrap();
    let idat = zlib.finish().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &idat));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A JPEG whose headers are whole (it sniffs as JPEG and says its size) but whose image data
/// is missing. Cut inside the scan instead, a lenient decoder fills the rest with grey.
fn truncated_jpeg() -> Vec<u8> {
    let mut whole = jpeg(400, 300, 15);
    // After SOI, segments: 0xFF, a marker, then a big-endian length that counts itself.
    let mut at = 2;
    while whole[at + 1] != 0xDA {
        assert_eq!(whole[at], 0xFF, "a segment starts at {at}");
        at += 2 + usize::from(u16::from_be_bytes([whole[at + 2], whole[at + 3]]));
    }
    whole.truncate(at);
    whole
}

fn with_comment(jpeg: &[u8], comment: &'static [u8]) -> Vec<u8> {
    let mut image = Jpeg::from_bytes(Bytes::copy_from_slice(jpeg)).unwrap();
    image.segments_mut().insert(
        1,
        JpegSegment::new_with_contents(markers::COM, Bytes::from_static(comment)),
    );
    image.encoder().bytes().to_vec()
}

fn with_script_after(mut image: Vec<u8>) -> Vec<u8> {
    image.extend_from_slice(b"<script>alert(1)</script>");
    image
}

/// The camera's words in the Exif Make tag, to look for in what is stored.
const MARKER: &str = "FOLIO-GPS-MARKER";

fn ifd_entry(tag: u16, kind: u16, count: u32, value: [u8; 4]) -> Vec<u8> {
    let mut entry = tag.to_le_bytes().to_vec();
    entry.extend_from_slice(&kind.to_le_bytes());
    entry.extend_from_slice(&count.to_le_bytes());
    entry.extend_from_slice(&value);
    entry
}

/// A little-endian TIFF, the body of an Exif APP1 segment: IFD0 holds Make (the marker),
/// Orientation and a pointer to a GPS IFD holding 51° 30' 0" N.
fn exif_tiff(orientation: u16) -> Vec<u8> {
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let ifd0: u32 = 8;
    let gps_ifd = ifd0 + 2 + 3 * 12 + 4;
    let latitude = gps_ifd + 2 + 2 * 12 + 4;
    let make = latitude + 3 * 8;
    let make_text = format!("{MARKER}\0");
    let [low, high] = orientation.to_le_bytes();

    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&ifd0.to_le_bytes());
    tiff.extend_from_slice(&3_u16.to_le_bytes());
    let make_count = u32::try_from(make_text.len()).unwrap();
    tiff.extend(ifd_entry(0x010F, ASCII, make_count, make.to_le_bytes()));
    tiff.extend(ifd_entry(0x0112, SHORT, 1, [low, high, 0, 0]));
    tiff.extend(ifd_entry(0x8825, LONG, 1, gps_ifd.to_le_bytes()));
    tiff.extend_from_slice(&0_u32.to_le_bytes());

    tiff.extend_from_slice(&2_u16.to_le_bytes());
    // GPSLatitudeRef "N", then GPSLatitude.
    tiff.extend(ifd_entry(0x0001, ASCII, 2, *b"N\0\0\0"));
    tiff.extend(ifd_entry(0x0002, RATIONAL, 3, latitude.to_le_bytes()));
    tiff.extend_from_slice(&0_u32.to_le_bytes());

    for (numerator, denominator) in [(51_u32, 1_u32), (30, 1), (0, 1)] {
        tiff.extend_from_slice(&numerator.to_le_bytes());
        tiff.extend_from_slice(&denominator.to_le_bytes());
    }
    assert_eq!(
        tiff.len(),
        make as usize,
        "the offsets point where the data is"
    );
    tiff.extend_from_slice(make_text.as_bytes());
    tiff
}

fn with_exif(jpeg: &[u8], tiff: Vec<u8>) -> Vec<u8> {
    let mut image = Jpeg::from_bytes(Bytes::copy_from_slice(jpeg)).unwrap();
    image.set_exif(Some(Bytes::from(tiff)));
    image.encoder().bytes().to_vec()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

const SVG: &str = r#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>"#;

// ---------------------------------------------------------------------------------------------
// Tests.

#[actix_web::test]
async fn each_accepted_format_is_stored_with_its_size_and_the_narrower_variants() {
    on_each_backend(|backend| async move {
        for storage in storages() {
            let (app, _store) = spawn_media_app(backend, &storage, |_| {}).await;
            let author = app.user(Role::Author).await;
            let cases = [
                (
                    "JPEG",
                    jpeg(1500, 1000, 0),
                    Expected {
                        format: ImageFormat::Jpeg,
                        width: 1500,
                        height: 1000,
                        variant_mime: Some("image/jpeg"),
                    },
                ),
                (
                    "PNG with alpha",
                    encode(&translucent(700, 500), ImageFormat::Png),
                    Expected {
                        format: ImageFormat::Png,
                        width: 700,
                        height: 500,
                        variant_mime: Some("image/webp"),
                    },
                ),
                (
                    "opaque PNG",
                    encode(&opaque(500, 300, 1), ImageFormat::Png),
                    Expected {
                        format: ImageFormat::Png,
                        width: 500,
                        height: 300,
                        variant_mime: Some("image/jpeg"),
                    },
                ),
                (
                    "WebP",
                    encode(&opaque(200, 100, 2), ImageFormat::WebP),
                    Expected {
                        format: ImageFormat::WebP,
                        width: 200,
                        height: 100,
                        variant_mime: None,
                    },
                ),
                (
                    "GIF",
                    red_then_blue_gif(400, 200),
                    Expected {
                        format: ImageFormat::Gif,
                        width: 400,
                        height: 200,
                        variant_mime: None,
                    },
                ),
            ];
            let mut uploaded = Vec::new();
            for (case, bytes, expected) in &cases {
                eprintln!("{case}");
                let reply = upload_image(&app, &author.token, bytes).await;
                let id = id_of(&reply);
                assert_eq!(
                    reply.header("location"),
                    Some(format!("/api/v1/media/{id}").as_str()),
                    "{case}"
                );
                assert!(reply.header("etag").is_some(), "{case}");
                let read = get(&app, &author.token, &format!("/api/v1/media/{id}")).await;
                assert_eq!(read.status, StatusCode::OK, "{case}: {}", read.body);
                assert_eq!(read.body, reply.body, "{case}: read back as uploaded");
                assert_eq!(read.header("etag"), reply.header("etag"), "{case}");

                let media = reply.body;
                assert_stored(&app, &media, expected).await;
                assert_eq!(media["uploader"]["id"], author.id, "{case}");
                assert_eq!(
                    (
                        media["alt"].as_str(),
                        media["caption"].as_str(),
                        media["version"].as_i64()
                    ),
                    (Some(""), Some(""), Some(1)),
                    "{case}"
                );
                uploaded.push(media);
            }

            // An animation's variant is of its first frame.
            let gif_variant = &variants(&uploaded[4])[0];
            let bytes = fetch_ok(&app, gif_variant["url"].as_str().unwrap()).await;
            let mime = gif_variant["mime_type"].as_str().unwrap();
            let first_frame = decode_as(&bytes, ImageFormat::from_mime_type(mime).unwrap());
            assert!(
                is_red(colour_at(&first_frame, 160, 80)),
                "{:?}",
                colour_at(&first_frame, 160, 80)
            );

            let described = upload(
                &app,
                Some(&author.token),
                image_form(&jpeg(100, 80, 3))
                    .text("alt", "A red door")
                    .text("caption", "Taken at noon"),
            )
            .await;
            assert_eq!(described.status, StatusCode::CREATED, "{}", described.body);
            assert_eq!(described.body["alt"], "A red door");
            assert_eq!(described.body["caption"], "Taken at noon");
        }
    })
    .await;
}

#[actix_web::test]
async fn what_is_not_a_safe_image_is_refused_and_nothing_is_kept() {
    on_each_backend(|backend| async move {
        for storage in storages() {
            let (app, store) = spawn_media_app(backend, &storage, |settings| {
                settings.media_max_bytes = 200_000;
            })
            .await;
            let author = app.user(Role::Author).await;
            let noise = noisy_jpeg(1000, 1000);
            assert!(noise.len() > 200_000, "only {} bytes", noise.len());

            let cases = [
                (
                    "text named photo.jpg",
                    file_form(
                        b"Just a few words, not a picture.\n",
                        "photo.jpg",
                        "image/jpeg",
                    ),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                (
                    "a PDF declared a PNG",
                    file_form(PDF, "scan.png", "image/png"),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                (
                    "an SVG with a script",
                    file_form(SVG.as_bytes(), "logo.svg", "image/svg+xml"),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                (
                    "a GIF with a script after its end",
                    image_form(&with_script_after(red_then_blue_gif(40, 30))),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                (
                    "a JPEG with a script in a comment",
                    image_form(&with_comment(
                        &jpeg(120, 80, 4),
                        b"<SCRIPT>alert(1)</SCRIPT>",
                    )),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ),
                (
                    "more bytes than FOLIO_MEDIA_MAX_BYTES",
                    image_form(&noise),
                    StatusCode::PAYLOAD_TOO_LARGE,
                ),
                (
                    "30000 x 30000 pixels",
                    image_form(&pixel_bomb_png()),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                (
                    "a JPEG cut short",
                    image_form(&truncated_jpeg()),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                (
                    "no file part",
                    Form::new().text("alt", "Nothing attached"),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                (
                    "an unknown part",
                    image_form(&jpeg(120, 80, 5)).text("owner", "someone else"),
                    StatusCode::BAD_REQUEST,
                ),
            ];
            for (case, form, expected) in cases {
                let reply = upload(&app, Some(&author.token), form).await;
                assert_problem(&reply, expected, case);
                if expected == StatusCode::UNPROCESSABLE_ENTITY {
                    assert!(names_field(&reply, "file"), "{case}: {}", reply.body);
                }
                let list = get(&app, &author.token, "/api/v1/media").await;
                assert_eq!(list.status, StatusCode::OK, "{case}: {}", list.body);
                assert_eq!(ids(&list.body), Vec::<i64>::new(), "{case} left a row");
                assert_eq!(
                    store.keys().await,
                    Vec::<String>::new(),
                    "{case} left an object"
                );
            }
        }
    })
    .await;
}

#[actix_web::test]
async fn location_and_camera_metadata_are_removed_and_a_turned_photo_is_stored_upright() {
    on_each_backend(|backend| async move {
        for storage in storages() {
            let (app, _store) = spawn_media_app(backend, &storage, |_| {}).await;
            let author = app.user(Role::Author).await;

            let located = with_exif(&jpeg(800, 600, 6), exif_tiff(1));
            assert!(contains(&located, b"Exif\0\0") && contains(&located, MARKER.as_bytes()));
            let media = upload_image(&app, &author.token, &located).await.body;
            let expected = Expected {
                format: ImageFormat::Jpeg,
                width: 800,
                height: 600,
                variant_mime: Some("image/jpeg"),
            };
            let original = assert_stored(&app, &media, &expected).await;
            let stored = Jpeg::from_bytes(Bytes::from(original)).unwrap();
            assert!(stored.exif().is_none(), "the original keeps its Exif");
            for url in urls_of(&media) {
                let bytes = fetch_ok(&app, &url).await;
                assert!(
                    !contains(&bytes, b"Exif\0\0"),
                    "{url} keeps an Exif segment"
                );
                assert!(
                    !contains(&bytes, MARKER.as_bytes()),
                    "{url} keeps the camera's words"
                );
            }

            // Orientation 6: turn 90° clockwise to view, so the left half becomes the top.
            let turned = with_exif(&red_left_blue_right(300, 200), exif_tiff(6));
            let media = upload_image(&app, &author.token, &turned).await.body;
            let expected = Expected {
                format: ImageFormat::Jpeg,
                width: 200,
                height: 300,
                variant_mime: None,
            };
            let original = assert_stored(&app, &media, &expected).await;
            let upright = decode_as(&original, ImageFormat::Jpeg);
            let (top, bottom) = (colour_at(&upright, 100, 60), colour_at(&upright, 100, 240));
            assert!(
                is_red(top) && is_blue(bottom),
                "top {top:?}, bottom {bottom:?}"
            );
            // A viewer would turn it again.
            let stored = Jpeg::from_bytes(Bytes::from(original)).unwrap();
            assert!(stored.exif().is_none(), "the orientation tag is kept");
        }
    })
    .await;
}

#[actix_web::test]
async fn the_same_bytes_are_stored_once_however_often_and_however_concurrently_uploaded() {
    on_each_backend(|backend| async move {
        for storage in storages() {
            let (app, store) = spawn_media_app(backend, &storage, |_| {}).await;
            let author = app.user(Role::Author).await;

            let twice = jpeg(700, 400, 8);
            let first = upload(
                &app,
                Some(&author.token),
                image_form(&twice).text("alt", "First"),
            )
            .await;
            let second = upload(
                &app,
                Some(&author.token),
                image_form(&twice).text("alt", "Second"),
            )
            .await;
            assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
            assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
            assert_ne!(id_of(&first), id_of(&second));
            for field in ["key", "url", "sha256", "variants"] {
                assert_eq!(first.body[field], second.body[field], "{field}");
            }
            assert_eq!(
                (first.body["alt"].as_str(), second.body["alt"].as_str()),
                (Some("First"), Some("Second"))
            );
            assert_eq!(store.keys().await, keys_of(&first.body));

            let fresh = jpeg(700, 400, 9);
            let replies =
                join_all((0..6).map(|_| upload(&app, Some(&author.token), image_form(&fresh))))
                    .await;
            for reply in &replies {
                assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            }
            let distinct_ids: HashSet<i64> = replies.iter().map(id_of).collect();
            assert_eq!(distinct_ids.len(), 6);
            let distinct_keys: HashSet<&str> = replies
                .iter()
                .map(|r| r.body["key"].as_str().unwrap())
                .collect();
            assert_eq!(distinct_keys.len(), 1, "{distinct_keys:?}");
            let mut expected = keys_of(&first.body);
            expected.extend(keys_of(&replies[0].body));
            expected.sort();
            assert_eq!(store.keys().await, expected);
            let jpeg_700 = Expected {
                format: ImageFormat::Jpeg,
                width: 700,
                height: 400,
                variant_mime: Some("image/jpeg"),
            };
            assert_stored(&app, &replies[0].body, &jpeg_700).await;

            let list = get(&app, &author.token, "/api/v1/media?limit=100").await;
            assert_eq!(ids(&list.body).len(), 8, "{}", list.body);
        }
    })
    .await;
}

#[actix_web::test]
async fn authors_upload_and_change_their_own_editors_anyones_and_lists_page_newest_first() {
    on_each_backend(|backend| async move {
        let (app, _store) = spawn_media_app(backend, &Storage::Local, |_| {}).await;
        let contributor = app.user(Role::Contributor).await;
        let author = app.user(Role::Author).await;
        let other = app.user(Role::Author).await;
        let editor = app.user(Role::Editor).await;
        let small = |seed| jpeg(64, 48, seed);

        let refused = upload(&app, Some(&contributor.token), image_form(&small(0))).await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "a contributor uploads");
        let anonymous = upload(&app, None, image_form(&small(0))).await;
        assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "no one uploads");
        let unlisted = app
            .send(Method::GET, "/api/v1/media", None, None, None)
            .await;
        assert_problem(&unlisted, StatusCode::UNAUTHORIZED, "no one lists");

        let mut mine = Vec::new();
        for seed in 1..=5 {
            mine.push(upload_image(&app, &author.token, &small(seed)).await);
        }
        let editors = upload_image(&app, &editor.token, &small(6)).await;
        let mut newest_first: Vec<i64> = mine.iter().map(id_of).collect();
        newest_first.reverse();

        // Any signed-in caller reads the library.
        let all = get(&app, &contributor.token, "/api/v1/media").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        let mut everything = vec![id_of(&editors)];
        everything.extend(&newest_first);
        assert_eq!(ids(&all.body), everything);
        let by_editor = get(
            &app,
            &author.token,
            &format!("/api/v1/media?uploader={}", editor.id),
        )
        .await;
        assert_eq!(ids(&by_editor.body), [id_of(&editors)]);
        let pages = walk(
            &app,
            &author.token,
            &format!("/api/v1/media?uploader={}&limit=2", author.id),
        )
        .await;
        let expected: Vec<Vec<i64>> = newest_first.chunks(2).map(<[i64]>::to_vec).collect();
        assert_eq!(pages, expected);

        let id = id_of(&mine[0]);
        let uploaded = etag_of(&mine[0]);
        let by_contributor = patch_media(
            &app,
            &contributor.token,
            id,
            Some(&uploaded),
            json!({"alt": "Mine now"}),
        )
        .await;
        assert_problem(
            &by_contributor,
            StatusCode::FORBIDDEN,
            "a contributor edits",
        );
        let by_other = patch_media(
            &app,
            &other.token,
            id,
            Some(&uploaded),
            json!({"alt": "Mine now"}),
        )
        .await;
        assert_problem(&by_other, StatusCode::FORBIDDEN, "another author edits");
        let removed_by_other = delete_media(&app, &other.token, id, &uploaded, false).await;
        assert_problem(
            &removed_by_other,
            StatusCode::FORBIDDEN,
            "another author deletes",
        );

        let by_editor = patch_media(
            &app,
            &editor.token,
            id,
            Some(&uploaded),
            json!({"alt": "Edited"}),
        )
        .await;
        assert_eq!(by_editor.status, StatusCode::OK, "{}", by_editor.body);
        assert_eq!(by_editor.body["alt"], "Edited");
        let edited = etag_of(&by_editor);
        assert_ne!(edited, uploaded);

        let unconditional =
            patch_media(&app, &author.token, id, None, json!({"alt": "Mine"})).await;
        assert_problem(
            &unconditional,
            StatusCode::PRECONDITION_REQUIRED,
            "a change without If-Match",
        );
        let stale = patch_media(
            &app,
            &author.token,
            id,
            Some(&uploaded),
            json!({"alt": "Mine"}),
        )
        .await;
        assert_problem(
            &stale,
            StatusCode::PRECONDITION_FAILED,
            "a change from before the editor's",
        );
        let changed = patch_media(
            &app,
            &author.token,
            id,
            Some(&edited),
            json!({"alt": "A bright window", "caption": "Morning"}),
        )
        .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(
            (
                changed.body["alt"].as_str(),
                changed.body["caption"].as_str()
            ),
            (Some("A bright window"), Some("Morning"))
        );
        let current = etag_of(&changed);
        assert_ne!(current, edited);
        let read = get(&app, &other.token, &format!("/api/v1/media/{id}")).await;
        assert_eq!(read.body["alt"], "A bright window");
        assert_eq!(read.header("etag"), Some(current.as_str()));

        let unconditional = app
            .send(
                Method::DELETE,
                &format!("/api/v1/media/{id}"),
                Some(&editor.token),
                None,
                None,
            )
            .await;
        assert_problem(
            &unconditional,
            StatusCode::PRECONDITION_REQUIRED,
            "a delete without If-Match",
        );
        let deleted = delete_media(&app, &editor.token, id, &current, false).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        let gone = get(&app, &author.token, &format!("/api/v1/media/{id}")).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        let own = delete_media(
            &app,
            &author.token,
            id_of(&mine[1]),
            &etag_of(&mine[1]),
            false,
        )
        .await;
        assert_eq!(own.status, StatusCode::NO_CONTENT, "{}", own.body);
    })
    .await;
}

#[actix_web::test]
async fn media_in_use_is_deleted_only_when_forced_and_its_objects_go_with_the_last_row() {
    on_each_backend(|backend| async move {
        for storage in storages() {
            let (app, store) = spawn_media_app(backend, &storage, |_| {}).await;
            let author = app.user(Role::Author).await;
            let cover = upload_image(&app, &author.token, &jpeg(800, 500, 10)).await;
            let cover_id = id_of(&cover);

            let (article, _, created) = app
                .create_article(
                    &author.token,
                    json!({"title": "Cover story", "body_markdown": "Words.",
                           "status": "published", "feature_image_id": cover_id}),
                )
                .await;
            assert_eq!(created["feature_image_id"], cover_id);
            assert_feature(&created["feature_image_media"], &cover.body);
            let list = app
                .get_json("/api/v1/articles?limit=100", StatusCode::OK)
                .await;
            let item = list["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == article)
                .expect("the article is listed");
            assert_eq!(item["feature_image_id"], cover_id);
            assert_feature(&item["feature_image_media"], &cover.body);

            let unknown = app
                .send(
                    Method::POST,
                    "/api/v1/articles",
                    Some(&author.token),
                    Some(json!({"title": "A missing picture", "feature_image_id": 987_654})),
                    None,
                )
                .await;
            assert_problem(
                &unknown,
                StatusCode::UNPROCESSABLE_ENTITY,
                "an unknown feature_image_id",
            );
            assert!(
                names_field(&unknown, "feature_image_id"),
                "{}",
                unknown.body
            );

            let cover_etag = etag_of(&cover);
            let in_use = delete_media(&app, &author.token, cover_id, &cover_etag, false).await;
            assert_problem(&in_use, StatusCode::CONFLICT, "deleting a feature image");
            let detail = in_use.body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains("cover-story") || detail.contains(&format!("article {article}")),
                "the refusal names the article: {detail}"
            );
            for url in urls_of(&cover.body) {
                fetch_ok(&app, &url).await;
            }

            let forced = delete_media(&app, &author.token, cover_id, &cover_etag, true).await;
            assert_eq!(forced.status, StatusCode::NO_CONTENT, "{}", forced.body);
            let after = get(&app, &author.token, &format!("/api/v1/articles/{article}")).await;
            assert_eq!(after.status, StatusCode::OK, "{}", after.body);
            assert_eq!(after.body["feature_image_id"], Value::Null);
            assert_eq!(after.body["feature_image_media"], Value::Null);
            assert!(
                after.body["version"].as_i64().unwrap() > created["version"].as_i64().unwrap(),
                "the article changed: {}",
                after.body
            );
            assert_gone(&app, &store, &cover.body).await;

            // Two rows, one object: it goes with the second.
            let twin = jpeg(700, 400, 11);
            let first = upload_image(&app, &author.token, &twin).await;
            let second = upload_image(&app, &author.token, &twin).await;
            let removed =
                delete_media(&app, &author.token, id_of(&first), &etag_of(&first), false).await;
            assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
            assert_eq!(store.keys().await, keys_of(&second.body));
            for url in urls_of(&second.body) {
                fetch_ok(&app, &url).await;
            }
            let removed = delete_media(
                &app,
                &author.token,
                id_of(&second),
                &etag_of(&second),
                false,
            )
            .await;
            assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
            assert_gone(&app, &store, &second.body).await;
            assert_eq!(store.keys().await, Vec::<String>::new());
        }
    })
    .await;
}

#[actix_web::test]
async fn local_media_is_served_immutable_with_ranges_and_only_for_real_keys() {
    on_each_backend(|backend| async move {
        let (app, _store) = spawn_media_app(backend, &Storage::Local, |_| {}).await;
        let author = app.user(Role::Author).await;
        let media = upload_image(&app, &author.token, &jpeg(700, 400, 12))
            .await
            .body;
        let url = absolute(&app, media["url"].as_str().unwrap());

        let whole = app.client.get(url.as_str()).send().await.unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        for (name, value) in [
            ("content-type", "image/jpeg"),
            ("cache-control", "public, max-age=31536000, immutable"),
            ("x-content-type-options", "nosniff"),
            ("accept-ranges", "bytes"),
        ] {
            assert_eq!(header(&whole, name), Some(value), "{name}");
        }
        assert!(header(&whole, "last-modified").is_some());
        let etag = header(&whole, "etag").expect("an ETag").to_owned();
        let body = whole.bytes().await.unwrap();
        assert_eq!(media["bytes"].as_u64(), Some(body.len() as u64));

        let unchanged = app
            .client
            .get(url.as_str())
            .header("if-none-match", etag.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
        assert!(unchanged.bytes().await.unwrap().is_empty());

        let start = app
            .client
            .get(url.as_str())
            .header("range", "bytes=0-99")
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            header(&start, "content-range"),
            Some(format!("bytes 0-99/{}", body.len()).as_str())
        );
        assert_eq!(start.bytes().await.unwrap(), body.slice(..100));

        let variant = absolute(&app, variants(&media)[0]["url"].as_str().unwrap());
        let served = app.client.get(variant.as_str()).send().await.unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(header(&served, "content-type"), Some("image/jpeg"));
        assert_eq!(
            header(&served, "cache-control"),
            Some("public, max-age=31536000, immutable")
        );

        let sha = media["sha256"].as_str().unwrap();
        let zeros = "0".repeat(64);
        for path in [
            "/media/..%2F..%2Fetc%2Fpasswd".to_owned(),
            "/media/notakey.jpg".to_owned(),
            format!("/media/{zeros}.jpg"),
            format!("/media/{sha}.png"),
            format!("/media/{sha}-999.jpg"),
        ] {
            assert_eq!(
                app.get(&path).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    })
    .await;
}

#[actix_web::test]
async fn gc_removes_objects_no_row_holds_once_past_the_grace_period_and_nothing_in_use() {
    on_each_backend(|backend| async move {
        for storage in storages() {
            let (app, store) = spawn_media_app(backend, &storage, |_| {}).await;
            let author = app.user(Role::Author).await;
            let real = upload_image(&app, &author.token, &jpeg(700, 400, 13))
                .await
                .body;

            // What a crash between the object writes and the row insert leaves behind.
            let orphan = "0123456789abcdef".repeat(4);
            let orphans = [format!("{orphan}.jpg"), format!("{orphan}-320.jpg")];
            let leftover = jpeg(320, 180, 14);
            for key in &orphans {
                store.put(key, &leftover).await;
            }
            let mut everything = keys_of(&real);
            everything.extend(orphans.iter().cloned());
            everything.sort();
            assert_eq!(store.keys().await, everything);

            // Pointed at a database that is not the site's, it refuses rather than judging
            // every object unnamed.
            let elsewhere = std::env::temp_dir().join(format!("folio-{}.db", uuid::Uuid::new_v4()));
            let refused = Command::new(env!("CARGO_BIN_EXE_folio"))
                .env(
                    "FOLIO_DATABASE_URL",
                    format!("sqlite://{}", elsewhere.display()),
                )
                .envs(store.env())
                .args(["--log", "warn", "media", "gc", "--grace-secs", "0"])
                .output()
                .expect("folio runs");
            assert!(
                !refused.status.success(),
                "gc ran against a missing database"
            );
            assert!(!elsewhere.exists(), "gc created a database");
            assert_eq!(store.keys().await, everything);

            // An upload may be between its writes right now: fresh objects are left alone.
            let said = media_gc(&app, &store, &[]);
            assert!(said.contains("removed 0 objects"), "{said}");
            assert_eq!(store.keys().await, everything);

            let said = media_gc(&app, &store, &["--grace-secs", "0"]);
            assert!(said.contains("removed 2 objects"), "{said}");
            assert_eq!(store.keys().await, keys_of(&real));
            let expected = Expected {
                format: ImageFormat::Jpeg,
                width: 700,
                height: 400,
                variant_mime: Some("image/jpeg"),
            };
            assert_stored(&app, &real, &expected).await;
        }
    })
    .await;
}

#[actix_web::test]
async fn bodies_that_are_not_what_an_endpoint_takes_are_problems_with_their_status() {
    on_each_backend(|backend| async move {
        let (app, _store) = spawn_media_app(backend, &Storage::Local, |_| {}).await;
        let author = app.user(Role::Author).await;
        let json = app
            .send(
                Method::POST,
                "/api/v1/media",
                Some(&author.token),
                Some(json!({"file": "cGhvdG8="})),
                None,
            )
            .await;
        assert_problem(&json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "a JSON body");
        for content_type in [None, Some("image/jpeg"), Some("multipart/form-data")] {
            let mut request = app
                .client
                .post(app.url("/api/v1/media"))
                .bearer_auth(&author.token)
                .body(jpeg(64, 64, 1));
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let raw = request.send().await.unwrap();
            let status = raw.status();
            assert!(
                [StatusCode::UNSUPPORTED_MEDIA_TYPE, StatusCode::BAD_REQUEST].contains(&status),
                "{content_type:?}: {status}"
            );
            assert_eq!(
                raw.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "{content_type:?}"
            );
        }
        let anonymous = upload(&app, None, image_form(&jpeg(64, 64, 1))).await;
        assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "no token");
        let nul = upload(
            &app,
            Some(&author.token),
            image_form(&jpeg(64, 64, 1)).text("alt", "before\0after"),
        )
        .await;
        assert_problem(&nul, StatusCode::UNPROCESSABLE_ENTITY, "a NUL in alt");
        assert!(names_field(&nul, "alt"), "{}", nul.body);
        let array = app
            .send(
                Method::PATCH,
                "/api/v1/media/1",
                Some(&author.token),
                Some(json!([null, null])),
                Some("\"1\""),
            )
            .await;
        assert_problem(&array, StatusCode::BAD_REQUEST, "an array for a body");
    })
    .await;
}
