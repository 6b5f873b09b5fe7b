//! `/articles`: lists and single reads (here) and writes (`write`).

mod revisions;
mod write;

pub use revisions::*;
pub use write::*;

use std::ops::Range;

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, get};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::QueryParams;
use super::fields::{FieldSelection, parse_name};
use super::media::FeatureImageResponse;
use super::problem::Problem;
use super::read_cache::{Cached, ReadCache};
use super::{ListMeta, split_list};
use crate::auth::MaybeCaller;
use crate::config::Config;
use crate::db::articles::{ArticleOrder, StatusFilter};
use crate::error::AppError;
use crate::service::articles::{
    self as articles, Article, ArticleKey, ArticlePage, ArticleQuery, ArticleStatus,
    ArticleSummary, AuthorRef, CountMode, Parts, Position, TagMatch, TagRef,
};
use crate::service::pagination::Cursor;
use crate::service::search::SearchQuery;
use crate::state::AppState;

/// Most slugs one list filter may name.
const MAX_SLUGS: usize = 20;
const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(default = "any")]
pub enum TagMatchParam {
    Any,
    All,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(default = "published")]
pub enum StatusParam {
    Published,
    Draft,
    Scheduled,
    All,
}

/// How `meta.total` is counted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CountParam {
    /// Count every match, however many (bounded by the server's statement timeout).
    Exact,
    /// Do not count: no `total` or `pages`; page with `cursor`.
    None,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(default = "-published_at")]
pub enum ArticleSort {
    #[serde(rename = "-published_at")]
    PublishedDesc,
    #[serde(rename = "published_at")]
    PublishedAsc,
    #[serde(rename = "-updated_at")]
    UpdatedDesc,
    #[serde(rename = "title")]
    Title,
    /// Best search matches first; only with `q` (and its default then).
    #[serde(rename = "relevance")]
    Relevance,
}

/// A top-level field of an article in a list (`fields`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleListField {
    Id,
    Slug,
    Title,
    Excerpt,
    FeatureImage,
    FeatureImageId,
    FeatureImageMedia,
    Status,
    PublishedAt,
    UpdatedAt,
    ReadingTime,
    Author,
    Tags,
    BodyHtml,
    Search,
}

/// A top-level field of a single article (`fields`).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleField {
    Id,
    Slug,
    Title,
    Excerpt,
    FeatureImage,
    FeatureImageId,
    FeatureImageMedia,
    Status,
    PublishedAt,
    UpdatedAt,
    ReadingTime,
    Author,
    Tags,
    BodyMarkdown,
    BodyHtml,
    CreatedAt,
    Version,
}

/// What a list adds to its items.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleInclude {
    /// The rendered, sanitized body.
    BodyHtml,
}

/// Filters, order and position of an article list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleListQuery {
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
    /// Full-text search of titles, excerpts, bodies, tag and author names: every word must
    /// match (in any form: `index` finds "indexes", `creme` finds "Crème", case never
    /// matters); `"a phrase"` wants its words in order; `-word` leaves out what has it; the
    /// last word also matches as the start of a longer one (`datab`), unless followed by a
    /// space. Any other character is just text. Items then carry `search`, and the default
    /// `sort` is `relevance`. A query without a letter or digit is a 400.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// `published` for everyone; `draft`, `scheduled` and `all` need a signed-in caller,
    /// who sees their own, or everyone's from editor up.
    #[param(inline)]
    pub status: Option<StatusParam>,
    /// Only articles published strictly after this instant (RFC 3339).
    pub published_after: Option<DateTime<Utc>>,
    /// Only articles published strictly before this instant (RFC 3339).
    pub published_before: Option<DateTime<Utc>>,
    /// Order of the list; ties are broken by id. `relevance` (with `q`, its default) puts
    /// title matches first, then excerpt matches, then the rest, each newest first.
    #[param(inline)]
    pub sort: Option<ArticleSort>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// 1-based page number; cannot be combined with `cursor`.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    /// `meta.next_cursor` of the previous page; costs the same at any depth. It carries its
    /// order, so `sort` may be left out; given, it must be the cursor's.
    pub cursor: Option<String>,
    /// Without it, `meta.total` is exact up to the server's limit (10,000 by default) and
    /// beyond it says "at least" (`meta.total_exact: false`); `exact` counts every match,
    /// `none` counts nothing.
    #[param(inline)]
    pub count: Option<CountParam>,
    /// Comma-separated fields each item keeps (`id` always stays); all of them without it.
    #[param(inline, value_type = Option<Vec<ArticleListField>>, min_items = 1, style = Form, explode = false)]
    pub fields: Option<String>,
    /// Comma-separated extras for each item: `body_html` adds the rendered body.
    #[param(inline, value_type = Option<Vec<ArticleInclude>>, min_items = 1, style = Form, explode = false)]
    pub include: Option<String>,
}

/// Which fields a single read answers with.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleFieldsQuery {
    /// Comma-separated fields to answer with (`id` always stays); all of them without it.
    #[param(inline, value_type = Option<Vec<ArticleField>>, min_items = 1, style = Form, explode = false)]
    pub fields: Option<String>,
}

impl ArticleListQuery {
    /// `config` bounds `page × limit` (`FOLIO_MAX_OFFSET`) and the relevance window. Also
    /// returns the fields each item keeps.
    pub fn into_query(
        mut self,
        config: &Config,
    ) -> Result<(ArticleQuery, FieldSelection), AppError> {
        let mut fields = FieldSelection::parse::<ArticleListField>(self.fields.as_deref())?;
        let mut with_body = self.fields.is_some() && fields.includes("body_html");
        for name in self
            .include
            .take()
            .iter()
            .flat_map(|value| value.split(','))
        {
            let ArticleInclude::BodyHtml = parse_name("include", "value", name.trim())?;
            fields.add("body_html");
            with_body = true;
        }
        let parts = Parts {
            tags: fields.includes("tags"),
            bodies: with_body,
        };
        let query = self.into_filter(config, parts)?;
        Ok((query, fields))
    }

    /// The filters, order and position alone, as feeds take them too.
    pub fn into_filter(self, config: &Config, parts: Parts) -> Result<ArticleQuery, AppError> {
        let max_offset = config.max_offset;
        let status = match self.status.unwrap_or(StatusParam::Published) {
            StatusParam::Published => StatusFilter::Published,
            StatusParam::Draft => StatusFilter::Draft,
            StatusParam::Scheduled => StatusFilter::Scheduled,
            StatusParam::All => StatusFilter::All,
        };
        let search = match &self.q {
            Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
                return Err(AppError::bad_param("q", "must be at most 200 characters"));
            }
            Some(q) => Some(SearchQuery::parse(q).map_err(|e| AppError::bad_param("q", e))?),
            None => None,
        };
        // A search is ranked unless another order is asked for (or a cursor carries one).
        let asked = match self.sort {
            Some(ArticleSort::Relevance) if search.is_none() => {
                return Err(AppError::bad_param("sort", "relevance needs q"));
            }
            sort => sort.map(|sort| match sort {
                ArticleSort::PublishedDesc => ArticleOrder::PublishedDesc,
                ArticleSort::PublishedAsc => ArticleOrder::PublishedAsc,
                ArticleSort::UpdatedDesc => ArticleOrder::UpdatedDesc,
                ArticleSort::Title => ArticleOrder::TitleAsc,
                ArticleSort::Relevance => ArticleOrder::Relevance,
            }),
        };
        // A cursor carries its order: following one needs no `sort`, and a `sort` that
        // disagrees with it is a 400.
        let cursor = match &self.cursor {
            Some(text) => {
                Some(Cursor::decode(text, asked).map_err(|e| AppError::bad_param("cursor", e))?)
            }
            None => None,
        };
        let order = match (&cursor, asked) {
            (Some(cursor), _) if cursor.order == ArticleOrder::Relevance && search.is_none() => {
                return Err(AppError::bad_param("cursor", "is a search's; repeat its q"));
            }
            (Some(cursor), _) => cursor.order,
            (None, Some(order)) => order,
            (None, None) if search.is_some() => ArticleOrder::Relevance,
            (None, None) => ArticleOrder::PublishedDesc,
        };
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(AppError::bad_param("limit", "must be between 1 and 100"));
        }
        let position = match (self.page, cursor) {
            (Some(_), Some(_)) => {
                return Err(AppError::bad_param(
                    "cursor",
                    "cannot be combined with page",
                ));
            }
            (_, Some(cursor)) => Position::After(cursor),
            (Some(page), None) if page < 1 => {
                return Err(AppError::bad_param("page", "must be 1 or more"));
            }
            // Deep pages by number cost what every row before them costs (search engines cap
            // their result window alike); a cursor reaches any depth at the cost of page 1.
            (Some(page), None) if page.saturating_mul(limit) > max_offset => {
                return Err(AppError::bad_param(
                    "page",
                    format!(
                        "page × limit may be at most {max_offset}; to go deeper, follow \
                         meta.next_cursor with the cursor parameter"
                    ),
                ));
            }
            (page, None) => Position::Page(page.unwrap_or(1)),
        };
        if let (Some(after), Some(before)) = (self.published_after, self.published_before)
            && after >= before
        {
            return Err(AppError::bad_param(
                "published_before",
                "must be later than published_after",
            ));
        }
        Ok(ArticleQuery {
            status,
            tags: split_list("tag", self.tag.as_deref(), MAX_SLUGS)?,
            tag_match: match self.tag_match.unwrap_or(TagMatchParam::Any) {
                TagMatchParam::Any => TagMatch::Any,
                TagMatchParam::All => TagMatch::All,
            },
            exclude_tags: split_list("exclude_tag", self.exclude_tag.as_deref(), MAX_SLUGS)?,
            authors: split_list("author", self.author.as_deref(), MAX_SLUGS)?,
            search,
            published_after: self.published_after,
            published_before: self.published_before,
            order,
            limit,
            position,
            count: match self.count {
                None => CountMode::Bounded,
                Some(CountParam::Exact) => CountMode::Exact,
                Some(CountParam::None) => CountMode::Skip,
            },
            parts,
        })
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArticleStatusResponse {
    Draft,
    Published,
    /// Published with a `published_at` still in the future: readers cannot see it yet.
    Scheduled,
}

impl From<ArticleStatus> for ArticleStatusResponse {
    fn from(status: ArticleStatus) -> Self {
        match status {
            ArticleStatus::Draft => Self::Draft,
            ArticleStatus::Published => Self::Published,
            ArticleStatus::Scheduled => Self::Scheduled,
        }
    }
}

/// The author as shown on an article.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorRefResponse {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub avatar: Option<String>,
}

impl From<AuthorRef> for AuthorRefResponse {
    fn from(a: AuthorRef) -> Self {
        Self {
            id: a.id,
            slug: a.slug,
            name: a.name,
            avatar: a.avatar,
        }
    }
}

/// A tag as shown on an article.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagRefResponse {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

impl From<TagRef> for TagRefResponse {
    fn from(t: TagRef) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
        }
    }
}

/// An article in a list: everything but the body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleSummaryResponse {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub feature_image: Option<String>,
    /// The media library item shown as the feature image, if one is (`feature_image_media`).
    pub feature_image_id: Option<i64>,
    /// That item with its responsive variants: for `<img srcset>`.
    pub feature_image_media: Option<FeatureImageResponse>,
    pub status: ArticleStatusResponse,
    /// Null for drafts.
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Minutes.
    pub reading_time: i32,
    pub author: AuthorRefResponse,
    pub tags: Vec<TagRefResponse>,
}

impl From<ArticleSummary> for ArticleSummaryResponse {
    fn from(a: ArticleSummary) -> Self {
        Self {
            id: a.id,
            slug: a.slug,
            title: a.title,
            excerpt: a.excerpt,
            feature_image: a.feature_image,
            feature_image_id: a.feature_image_media.as_ref().map(|m| m.row.id),
            feature_image_media: a.feature_image_media.map(Into::into),
            status: a.status.into(),
            published_at: a.published_at,
            updated_at: a.updated_at,
            reading_time: a.reading_time,
            author: a.author.into(),
            tags: a.tags.into_iter().map(Into::into).collect(),
        }
    }
}

/// An article in a list; with `include=body_html`, its rendered body too.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleListItem {
    #[serde(flatten)]
    pub summary: ArticleSummaryResponse,
    /// Only with `include=body_html` (or `body_html` in `fields`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    /// Only in a search (`q`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchResponse>,
}

impl From<ArticleSummary> for ArticleListItem {
    fn from(mut a: ArticleSummary) -> Self {
        let search = a.search.take().map(|hit| SearchResponse {
            rank: hit.rank,
            highlights: Highlights {
                title: marked_html(&a.title, &hit.title_marks),
                excerpt: marked_html(&a.excerpt, &hit.excerpt_marks),
            },
        });
        Self {
            body_html: a.body_html.take(),
            search,
            summary: a.into(),
        }
    }
}

/// Why an article is in a search's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Where the search matched, which is what relevance orders by: 3 in the title, 2 in the
    /// excerpt, 1 elsewhere (the body, tag or author names, or spread across fields).
    #[schema(minimum = 1, maximum = 3)]
    pub rank: u8,
    pub highlights: Highlights,
}

/// The title and excerpt as HTML-escaped text, each matched word in `<mark>…</mark>`: safe to
/// insert into a page as HTML.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"title": "Faster <mark>indexes</mark> &amp; caches", "excerpt": "How we <mark>indexed</mark>…"}))]
pub struct Highlights {
    pub title: String,
    pub excerpt: String,
}

/// `text` as HTML: everything escaped, the byte ranges `marks` (in order, apart, on character
/// boundaries: `service::search::Highlighter`) each in `<mark>`. Were a range not in the text,
/// the text is shown without marks rather than cut.
fn marked_html(text: &str, marks: &[Range<usize>]) -> String {
    let mut html = String::with_capacity(text.len() + marks.len() * "<mark></mark>".len() + 16);
    let mut written = 0;
    for mark in marks {
        let (Some(before), Some(marked)) = (text.get(written..mark.start), text.get(mark.clone()))
        else {
            return marked_html(text, &[]);
        };
        // Writing into a String cannot fail.
        let _ = pulldown_cmark_escape::escape_html(&mut html, before);
        html.push_str("<mark>");
        let _ = pulldown_cmark_escape::escape_html(&mut html, marked);
        html.push_str("</mark>");
        written = mark.end;
    }
    let _ = pulldown_cmark_escape::escape_html(&mut html, text.get(written..).unwrap_or_default());
    html
}

/// One article with its body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleResponse {
    #[serde(flatten)]
    pub summary: ArticleSummaryResponse,
    pub body_markdown: String,
    /// Rendered from `body_markdown` and sanitized: safe to insert into a page.
    pub body_html: String,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; the ETag leads with it.
    pub version: i32,
}

impl From<Article> for ArticleResponse {
    fn from(a: Article) -> Self {
        Self {
            summary: a.summary.into(),
            body_markdown: a.body_markdown,
            body_html: a.body_html,
            created_at: a.created_at,
            version: a.version,
        }
    }
}

/// A page of articles.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleListResponse {
    pub data: Vec<ArticleListItem>,
    pub meta: ListMeta,
}

impl From<ArticlePage> for ArticleListResponse {
    fn from(p: ArticlePage) -> Self {
        Self {
            data: p.items.into_iter().map(Into::into).collect(),
            meta: ListMeta {
                limit: p.limit,
                total: p.total.map(|t| t.value),
                total_exact: p.total.map(|t| t.exact),
                page: p.page,
                pages: p.total.map(|_| p.pages),
                next_cursor: p.next_cursor,
            },
        }
    }
}

/// List articles, newest first, filtered by tags, authors, text and dates.
///
/// Anonymous callers see published articles only. Signed-in callers may ask for
/// `status=draft`, `scheduled` or `all`: their own, or everyone's from editor up.
#[utoipa::path(
    tag = "articles",
    operation_id = "list_articles",
    params(ArticleListQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of article summaries", body = ArticleListResponse),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or a bad value", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A bad token, or `status` other than `published` without one", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/articles")]
pub async fn list_articles(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    caller: MaybeCaller,
    params: QueryParams<ArticleListQuery>,
) -> Result<HttpResponse, AppError> {
    let (query, fields) = params.into_inner().into_query(&state.config)?;
    let lists = state.lists.clone();
    let viewer = caller.0;
    let page = state.read(viewer.is_none(), move |conn| {
        articles::list(conn, &lists, viewer.as_ref(), &query)
    });
    cache
        .serve_for(&req, viewer, async {
            let page = page.await?;
            Ok(Cached {
                last_modified: page.last_modified,
                version: None,
                value: fields.select_items(ArticleListResponse::from(page))?,
            })
        })
        .await
}

async fn get_one(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    caller: MaybeCaller,
    key: ArticleKey,
    params: ArticleFieldsQuery,
) -> Result<HttpResponse, AppError> {
    let fields = FieldSelection::parse::<ArticleField>(params.fields.as_deref())?;
    let viewer = caller.0;
    let article = state.read(viewer.is_none(), move |conn| {
        articles::get(conn, viewer.as_ref(), &key)
    });
    cache
        .serve_for(&req, viewer, async {
            let article = article.await?;
            Ok(Cached {
                version: Some(article.version),
                last_modified: Some(article.summary.last_modified),
                value: fields.select(ArticleResponse::from(article))?,
            })
        })
        .await
}

/// Get one article by id: published ones for everyone, unpublished ones for who may see them.
#[utoipa::path(
    tag = "articles",
    operation_id = "get_article",
    params(("id" = i64, Path, description = "Article id"), ArticleFieldsQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The article", body = ArticleResponse, headers(("ETag" = String, description = "Send back in If-Match to change the article"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "The id is not an integer, or an unknown parameter or field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/articles/{id}")]
pub async fn get_article(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    caller: MaybeCaller,
    id: Path<i64>,
    params: QueryParams<ArticleFieldsQuery>,
) -> Result<HttpResponse, AppError> {
    let key = ArticleKey::Id(id.into_inner());
    get_one(req, state, cache, caller, key, params.into_inner()).await
}

/// Get one article by slug: published ones for everyone, unpublished ones for who may see them.
#[utoipa::path(
    tag = "articles",
    operation_id = "get_article_by_slug",
    params(("slug" = String, Path, description = "Article slug"), ArticleFieldsQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The article", body = ArticleResponse, headers(("ETag" = String, description = "Send back in If-Match to change the article"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "An unknown parameter or field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A bad token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such article, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/articles/slug/{slug}")]
pub async fn get_article_by_slug(
    req: HttpRequest,
    state: Data<AppState>,
    cache: Data<ReadCache>,
    caller: MaybeCaller,
    slug: Path<String>,
    params: QueryParams<ArticleFieldsQuery>,
) -> Result<HttpResponse, AppError> {
    let key = ArticleKey::Slug(slug.into_inner());
    get_one(req, state, cache, caller, key, params.into_inner()).await
}

#[cfg(test)]
mod tests {
    use super::marked_html;

    #[test]
    fn highlights_escape_the_text_around_and_inside_each_mark() {
        let text = "<b>Tom & Jerry</b> love \"caches\"";
        let tom = 3..6;
        let caches = text.find("caches").map(|at| at..at + 6).unwrap_or_default();
        assert_eq!(
            marked_html(text, &[tom, caches]),
            "&lt;b&gt;<mark>Tom</mark> &amp; Jerry&lt;/b&gt; love &quot;<mark>caches</mark>&quot;"
        );
        assert_eq!(marked_html("a<b", &[]), "a&lt;b");
    }

    #[test]
    fn a_mark_outside_the_text_leaves_it_unmarked_rather_than_cut() {
        assert_eq!(marked_html("école <b>", &[1..3, 7..8]), "école &lt;b&gt;");
        assert_eq!(marked_html("short", &[0..1, 2..40]), "short");
    }
}
