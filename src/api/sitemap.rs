//! `/sitemap.xml` and `/sitemaps/{number}.xml` (sitemaps.org protocol 0.9); what they list and
//! how files are cut is `service::sitemap`.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::SecondsFormat;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::API_PREFIX;
use super::client::public_origin;
use super::extract::is_anonymous;
use super::feeds::xml_text;
use super::problem::Problem;
use super::read_cache::{Cached, Document, ReadCache};
use crate::error::AppError;
use crate::service::sitemap::{self, Sitemap, SitemapBody, SitemapUrl};
use crate::state::AppState;

const NAMESPACE: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

/// Sitemap files built at once. A file of 50,000 URLs takes tens of megabytes while it is
/// built; crawlers asking for many at the same time wait their turn instead of adding up.
static BUILDS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
const XML: &str = "application/xml";

/// The sitemap: every published article, tag and author page of the frontend; past
/// `FOLIO_SITEMAP_LIMIT` URLs (50,000), an index of numbered sitemap files.
#[utoipa::path(
    tag = "feeds",
    operation_id = "get_sitemap",
    security(()),
    responses(
        (status = 200, description = "A `urlset`, or a `sitemapindex` past the limit", content_type = "application/xml", body = String),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sitemap.xml")]
pub async fn get_sitemap(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
) -> Result<HttpResponse, AppError> {
    let limit = state.config.sitemap_limit;
    let sitemap = state.read(is_anonymous(&req), move |conn| sitemap::root(conn, limit));
    serve(&req, &state, &cache, sitemap).await
}

/// One file of a sitemap index.
#[utoipa::path(
    tag = "feeds",
    operation_id = "get_sitemap_file",
    security(()),
    params(("number" = i64, Path, description = "File number, from 1", minimum = 1)),
    responses(
        (status = 200, description = "A `urlset`", content_type = "application/xml", body = String),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "The number is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sitemaps/{number}.xml")]
pub async fn get_sitemap_file(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    number: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let limit = state.config.sitemap_limit;
    let number = number.into_inner();
    let sitemap = state.read(is_anonymous(&req), move |conn| {
        sitemap::file(conn, limit, number)
    });
    serve(&req, &state, &cache, sitemap).await
}

async fn serve(
    req: &HttpRequest,
    state: &AppState,
    cache: &ReadCache,
    sitemap: impl Future<Output = Result<Sitemap, AppError>>,
) -> Result<HttpResponse, AppError> {
    let origin = public_origin(req, &state.config.trusted_proxies);
    cache
        .serve_document(req, &origin, async {
            let _turn = BUILDS
                .acquire()
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            let sitemap = sitemap.await?;
            let body = match &sitemap.body {
                SitemapBody::Urls(urls) => url_set(urls),
                SitemapBody::Index { files } => index(&origin, *files),
            }
            .map_err(|e| AppError::Internal(anyhow::anyhow!("writing a sitemap: {e}")))?;
            Ok(Cached {
                last_modified: sitemap.last_modified,
                version: None,
                value: Document {
                    body,
                    content_type: XML,
                },
            })
        })
        .await
}

fn url_set(urls: &[SitemapUrl]) -> std::io::Result<Vec<u8>> {
    let mut writer = Writer::new(Vec::with_capacity(urls.len() * 120 + 200));
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("urlset")
        .with_attribute(("xmlns", NAMESPACE))
        .write_inner_content(|writer| {
            for url in urls {
                writer.create_element("url").write_inner_content(|writer| {
                    writer
                        .create_element("loc")
                        .write_text_content(BytesText::new(&xml_text(&url.loc)))?;
                    if let Some(lastmod) = url.lastmod {
                        let lastmod = lastmod.to_rfc3339_opts(SecondsFormat::Secs, true);
                        writer
                            .create_element("lastmod")
                            .write_text_content(BytesText::new(&lastmod))?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(writer.into_inner())
}

fn index(origin: &str, files: i64) -> std::io::Result<Vec<u8>> {
    let mut writer = Writer::new(Vec::new());
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("sitemapindex")
        .with_attribute(("xmlns", NAMESPACE))
        .write_inner_content(|writer| {
            for number in 1..=files {
                let loc = format!("{origin}{API_PREFIX}/sitemaps/{number}.xml");
                writer
                    .create_element("sitemap")
                    .write_inner_content(|writer| {
                        writer
                            .create_element("loc")
                            .write_text_content(BytesText::new(&loc))?;
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    Ok(writer.into_inner())
}
