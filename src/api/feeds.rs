//! `/feeds/articles.{rss,atom,json}`: the newest published articles as RSS 2.0, Atom 1.0 and
//! JSON Feed 1.1, every link pointing at the frontend (the site's URL templates).
//!
//! An item's id is `urn:folio:article:{id}`: it survives edits, slug changes included, so
//! readers never show an edited article twice.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::articles::{ArticleListQuery, TagMatchParam};
use super::client::public_origin;
use super::extract::{QueryParams, is_anonymous};
use super::problem::Problem;
use super::read_cache::{Cached, Document, ReadCache};
use crate::error::AppError;
use crate::service::articles::{ArticleSummary, Parts};
use crate::service::feeds::{self, Feed};
use crate::state::AppState;

/// Which articles a feed carries: the filters of `GET /articles`, newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Comma-separated tag slugs (at most 20). Unknown slugs match nothing.
    #[param(example = "rust,databases")]
    pub tag: Option<String>,
    /// Whether an article needs `any` of the `tag`s or `all` of them.
    #[param(inline)]
    pub tag_match: Option<TagMatchParam>,
    /// Comma-separated tag slugs (at most 20); articles with any of them are left out.
    pub exclude_tag: Option<String>,
    /// Comma-separated author slugs (at most 20).
    pub author: Option<String>,
    /// How many of the newest articles.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Self::Rss => "application/rss+xml",
            Self::Atom => "application/atom+xml",
            Self::Json => "application/feed+json",
        }
    }
}

/// The newest published articles as RSS 2.0.
#[utoipa::path(
    tag = "feeds",
    operation_id = "feed_rss",
    security(()),
    params(FeedQuery),
    responses(
        (status = 200, description = "An RSS 2.0 feed", content_type = "application/rss+xml", body = String),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/feeds/articles.rss")]
pub async fn feed_rss(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    params: QueryParams<FeedQuery>,
) -> Result<HttpResponse, AppError> {
    serve(req, state, cache, params.into_inner(), Format::Rss).await
}

/// The newest published articles as Atom 1.0.
#[utoipa::path(
    tag = "feeds",
    operation_id = "feed_atom",
    security(()),
    params(FeedQuery),
    responses(
        (status = 200, description = "An Atom 1.0 feed", content_type = "application/atom+xml", body = String),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/feeds/articles.atom")]
pub async fn feed_atom(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    params: QueryParams<FeedQuery>,
) -> Result<HttpResponse, AppError> {
    serve(req, state, cache, params.into_inner(), Format::Atom).await
}

/// The newest published articles as JSON Feed 1.1.
#[utoipa::path(
    tag = "feeds",
    operation_id = "feed_json",
    security(()),
    params(FeedQuery),
    responses(
        (status = 200, description = "A JSON Feed 1.1", content_type = "application/feed+json", body = Object),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/feeds/articles.json")]
pub async fn feed_json(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    params: QueryParams<FeedQuery>,
) -> Result<HttpResponse, AppError> {
    serve(req, state, cache, params.into_inner(), Format::Json).await
}

async fn serve(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    params: FeedQuery,
    format: Format,
) -> Result<HttpResponse, AppError> {
    let query = ArticleListQuery {
        tag: params.tag,
        tag_match: params.tag_match,
        exclude_tag: params.exclude_tag,
        author: params.author,
        limit: params.limit,
        ..ArticleListQuery::default()
    }
    .into_filter(&state.config, Parts::SUMMARIES)?;
    let origin = public_origin(&req, &state.config.trusted_proxies);
    let self_url = match req.query_string() {
        "" => format!("{origin}{}", req.path()),
        query => format!("{origin}{}?{query}", req.path()),
    };
    let lists = state.lists.clone();
    let feed = state.read(is_anonymous(&req), move |conn| {
        feeds::newest(conn, &lists, &query)
    });
    cache
        .serve_document(&req, &origin, async {
            let feed = feed.await?;
            let body = match format {
                Format::Rss => rss(&feed, &self_url)?,
                Format::Atom => atom(&feed, &self_url)?,
                Format::Json => json_feed(&feed, &self_url)?,
            };
            Ok(Cached {
                last_modified: Some(feed.last_modified),
                version: None,
                value: Document {
                    body,
                    content_type: format.content_type(),
                },
            })
        })
        .await
}

/// `text` without the characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE,
/// U+FFFF): escaping cannot save them, and one would make the whole feed unreadable.
pub fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
                || c >= '\u{10000}'
        })
        .collect()
}

fn guid(article: &ArticleSummary) -> String {
    format!("urn:folio:article:{}", article.id)
}

fn fixed(time: DateTime<Utc>) -> DateTime<FixedOffset> {
    time.fixed_offset()
}

fn rss(feed: &Feed, self_url: &str) -> Result<Vec<u8>, AppError> {
    use rss::extension::atom::{AtomExtension, Link};
    use rss::extension::dublincore::DublinCoreExtension;

    let site = &feed.site;
    let items = feed
        .articles
        .iter()
        .map(|article| rss::Item {
            title: Some(xml_text(&article.title)),
            link: Some(site.article_link(&article.slug)),
            description: Some(xml_text(&article.excerpt)),
            content: article.body_html.as_deref().map(xml_text),
            guid: Some(rss::Guid {
                value: guid(article),
                permalink: false,
            }),
            pub_date: article.published_at.map(|at| at.to_rfc2822()),
            categories: article
                .tags
                .iter()
                .map(|tag| rss::Category {
                    name: xml_text(&tag.name),
                    domain: None,
                })
                .collect(),
            // RSS's own <author> is an email address; the name goes in dc:creator.
            dublin_core_ext: Some(DublinCoreExtension {
                creators: vec![xml_text(&article.author.name)],
                ..DublinCoreExtension::default()
            }),
            ..rss::Item::default()
        })
        .collect();
    let channel = rss::Channel {
        title: xml_text(&site.title),
        link: site.url.clone(),
        description: xml_text(&site.description),
        language: Some(site.locale.clone()),
        last_build_date: Some(feed.last_modified.to_rfc2822()),
        generator: Some("Folio".to_owned()),
        items,
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                href: self_url.to_owned(),
                rel: "self".to_owned(),
                mime_type: Some(Format::Rss.content_type().to_owned()),
                ..Link::default()
            }],
        }),
        ..rss::Channel::default()
    };
    channel
        .write_to(Vec::new())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing RSS: {e}")))
}

fn atom(feed: &Feed, self_url: &str) -> Result<Vec<u8>, AppError> {
    use atom_syndication::{Category, Content, Entry, Generator, Link, Person, Text};

    let site = &feed.site;
    let link = |href: String, rel: &str, mime_type: Option<&str>| Link {
        href,
        rel: rel.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        ..Link::default()
    };
    let entries = feed
        .articles
        .iter()
        .map(|article| Entry {
            title: Text::plain(xml_text(&article.title)),
            id: guid(article),
            updated: fixed(
                article
                    .updated_at
                    .max(article.published_at.unwrap_or_default()),
            ),
            published: article.published_at.map(fixed),
            authors: vec![Person {
                name: xml_text(&article.author.name),
                uri: Some(site.author_link(&article.author.slug)),
                ..Person::default()
            }],
            categories: article
                .tags
                .iter()
                .map(|tag| Category {
                    term: tag.slug.clone(),
                    label: Some(xml_text(&tag.name)),
                    scheme: None,
                })
                .collect(),
            links: vec![link(
                site.article_link(&article.slug),
                "alternate",
                Some("text/html"),
            )],
            summary: Some(Text::plain(xml_text(&article.excerpt))),
            content: Some(Content {
                content_type: Some("html".to_owned()),
                value: article.body_html.as_deref().map(xml_text),
                ..Content::default()
            }),
            ..Entry::default()
        })
        .collect();
    let atom = atom_syndication::Feed {
        title: Text::plain(xml_text(&site.title)),
        id: self_url.to_owned(),
        updated: fixed(feed.last_modified),
        subtitle: (!site.description.is_empty()).then(|| Text::plain(xml_text(&site.description))),
        lang: Some(site.locale.clone()),
        logo: site.logo.clone(),
        generator: Some(Generator {
            value: "Folio".to_owned(),
            ..Generator::default()
        }),
        links: vec![
            link(site.url.clone(), "alternate", Some("text/html")),
            link(
                self_url.to_owned(),
                "self",
                Some(Format::Atom.content_type()),
            ),
        ],
        entries,
        ..atom_syndication::Feed::default()
    };
    atom.write_to(Vec::new())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing Atom: {e}")))
}

/// JSON Feed 1.1 (<https://www.jsonfeed.org/version/1.1/>).
#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    items: Vec<JsonFeedItem<'a>>,
}

#[derive(Serialize)]
struct JsonFeedItem<'a> {
    id: String,
    url: String,
    title: &'a str,
    summary: &'a str,
    content_html: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: Option<DateTime<Utc>>,
    date_modified: DateTime<Utc>,
    authors: [JsonFeedAuthor<'a>; 1],
    tags: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonFeedAuthor<'a> {
    name: &'a str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<&'a str>,
}

fn json_feed(feed: &Feed, self_url: &str) -> Result<Vec<u8>, AppError> {
    let site = &feed.site;
    let items = feed
        .articles
        .iter()
        .map(|article| JsonFeedItem {
            id: guid(article),
            url: site.article_link(&article.slug),
            title: &article.title,
            summary: &article.excerpt,
            content_html: article.body_html.as_deref().unwrap_or_default(),
            image: article.feature_image.as_deref(),
            date_published: article.published_at,
            date_modified: article.updated_at,
            authors: [JsonFeedAuthor {
                name: &article.author.name,
                url: site.author_link(&article.author.slug),
                avatar: article.author.avatar.as_deref(),
            }],
            tags: article.tags.iter().map(|tag| tag.name.as_str()).collect(),
        })
        .collect();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &site.title,
        home_page_url: &site.url,
        feed_url: self_url,
        description: &site.description,
        language: &site.locale,
        icon: site.logo.as_deref(),
        items,
    };
    Ok(serde_json::to_vec(&feed).map_err(anyhow::Error::from)?)
}

#[cfg(test)]
mod tests {
    use super::xml_text;

    #[test]
    fn characters_xml_cannot_carry_are_dropped_and_the_rest_kept() {
        assert_eq!(
            xml_text("a\u{0}b\u{8}c\td\ne & <f> ]]> \u{FFFE}😀"),
            "abc\td\ne & <f> ]]> 😀"
        );
    }
}
