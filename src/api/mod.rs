//! HTTP: routes, handlers and their wire types. Handlers parse and validate input, call one
//! service function and map the result; rules live in `service`.

pub mod api_tokens;
pub mod articles;
pub mod auth;
pub mod authors;
pub mod caller;
pub mod client;
pub mod cors;
pub mod docs;
pub mod encoding;
pub mod extract;
pub mod feeds;
pub mod fields;
pub mod health;
pub mod media;
pub mod middleware;
pub mod previews;
pub mod problem;
pub mod rate_limit;
pub mod read_cache;
pub mod security_headers;
pub mod site;
pub mod sitemap;
pub mod sso;
pub mod tags;
pub mod users;
pub mod validate;
pub mod webhooks;

use actix_web::dev::ResourceDef;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::AppError;
use crate::service::{Page, PageRequest};

pub const API_PREFIX: &str = "/api/v1";

/// The one list of routes. The OpenAPI document is collected from it, so a route cannot
/// exist without being documented.
pub fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(health::get_health)
        .service(health::get_readiness)
        .service(health::get_metrics)
        .service(media::get_media_object)
        .service(
            scope::scope(API_PREFIX)
                .service(articles::list_articles)
                .service(articles::create_article)
                .service(articles::get_article_by_slug)
                .service(articles::get_article)
                .service(articles::update_article)
                .service(articles::delete_article)
                .service(articles::list_article_revisions)
                .service(articles::get_article_revision)
                .service(articles::diff_article_revision)
                .service(articles::restore_article_revision)
                .service(tags::list_tags)
                .service(tags::create_tag)
                .service(tags::get_tag_by_slug)
                .service(tags::get_tag)
                .service(tags::update_tag)
                .service(tags::delete_tag)
                .service(authors::list_authors)
                .service(authors::get_author_by_slug)
                .service(authors::get_author)
                .service(auth::login)
                .service(auth::refresh_session)
                .service(auth::logout)
                .service(sso::start_single_sign_on)
                .service(sso::finish_single_sign_on)
                .service(users::list_users)
                .service(users::create_user)
                .service(users::get_user)
                .service(users::update_user)
                .service(users::delete_user)
                .service(users::get_me)
                .service(users::update_me)
                .service(api_tokens::create_my_token)
                .service(api_tokens::list_my_tokens)
                .service(api_tokens::revoke_my_token)
                .service(api_tokens::list_user_tokens)
                .service(api_tokens::revoke_user_token)
                .service(previews::create_preview)
                .service(previews::get_preview)
                .service(site::get_site)
                .service(site::update_site)
                .service(feeds::feed_rss)
                .service(feeds::feed_atom)
                .service(feeds::feed_json)
                .service(sitemap::get_sitemap)
                .service(sitemap::get_sitemap_file)
                .service(webhooks::create_webhook)
                .service(webhooks::list_webhooks)
                .service(webhooks::get_webhook)
                .service(webhooks::update_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::rotate_webhook_secret)
                .service(webhooks::ping_webhook)
                .service(webhooks::list_webhook_deliveries)
                .service(webhooks::retry_webhook_delivery)
                .service(media::upload_media)
                .service(media::list_media)
                .service(media::get_media)
                .service(media::update_media)
                .service(media::delete_media),
        );
}

/// Pagination of a list served by page number.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    pub limit: i64,
    /// Items across all pages.
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

impl PageMeta {
    pub fn of<T>(page: &Page<T>) -> Self {
        Self {
            limit: page.limit,
            total: page.total,
            page: page.page,
            pages: page.pages,
        }
    }
}

/// Pagination of an article list: numbered, or by cursor (then `page` and `pages` are null).
/// With `count=none`, `total`, `total_exact` and `pages` are left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListMeta {
    pub limit: i64,
    /// Articles across all pages; a floor when `total_exact` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// False when counting stopped at the server's limit (`FOLIO_COUNT_LIMIT`): there are
    /// more than `total`. Ask `count=exact` for the exact number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_exact: Option<bool>,
    pub page: Option<i64>,
    /// Null in cursor mode; left out with `count=none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub pages: Option<Option<i64>>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Page number and size of a plain list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
}

impl PageQuery {
    pub fn into_page(self) -> Result<PageRequest, AppError> {
        let limit = page_size(self.limit)?;
        let page = self.page.unwrap_or(1);
        if page < 1 {
            return Err(AppError::bad_param("page", "must be 1 or more"));
        }
        Ok(PageRequest { page, limit })
    }
}

/// A list's `limit`: 20 by default, 1 to 100.
pub fn page_size(limit: Option<i64>) -> Result<i64, AppError> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::bad_param("limit", "must be between 1 and 100"));
    }
    Ok(limit)
}

/// The key a cursor-paged list continues below (a revision's version, a delivery's id): the
/// `meta.next_cursor` of its previous page, a positive number.
pub fn cursor_key<K: std::str::FromStr + PartialOrd + Default>(
    cursor: Option<&str>,
) -> Result<Option<K>, AppError> {
    cursor
        .map(|c| {
            c.parse::<K>()
                .ok()
                .filter(|key| *key > K::default())
                .ok_or_else(|| {
                    AppError::bad_param("cursor", "is not a cursor issued by this server")
                })
        })
        .transpose()
}

/// Pagination of a list read newest first by cursor (an article's revisions, a webhook's
/// deliveries).
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorMeta {
    pub limit: i64,
    /// Pass as `cursor` for the older items; null on the last page.
    pub next_cursor: Option<String>,
}

impl CursorMeta {
    pub fn new(limit: i64, next: Option<impl ToString>) -> Self {
        Self {
            limit,
            next_cursor: next.map(|key| key.to_string()),
        }
    }
}

/// Splits a comma-separated parameter; empty items are ignored.
pub fn split_list(field: &str, value: Option<&str>, max: usize) -> Result<Vec<String>, AppError> {
    let items: Vec<String> = value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if items.len() > max {
        return Err(AppError::bad_param(field, format!("at most {max} values")));
    }
    Ok(items)
}

/// The response to a write, or to a read only the caller may see: never stored by shared
/// caches, with the ETag to send back in `If-Match` and the new resource's `Location`.
pub fn written<T: Serialize>(
    status: actix_web::http::StatusCode,
    value: &T,
    version: Option<i32>,
    location: Option<String>,
) -> Result<HttpResponse, AppError> {
    let representation = read_cache::Representation::new(value, version, None)?;
    let mut response = representation.build(status, read_cache::PRIVATE);
    if let Some(location) = location {
        response.insert_header((actix_web::http::header::LOCATION, location));
    }
    Ok(response.body(representation.identity_body()))
}

/// A JSON answer for the caller alone.
pub fn private_json<T: Serialize>(
    value: T,
    version: Option<i32>,
) -> Result<HttpResponse, AppError> {
    written(actix_web::http::StatusCode::OK, &value, version, None)
}

/// Every documented path with its methods, to tell a wrong method (405) from an unknown
/// path (404).
#[derive(Debug, Default)]
pub struct RouteTable(Vec<(ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    // Every GET route answers HEAD too (`middleware::request_context`).
                    ("HEAD", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self(routes)
    }

    fn allowed(&self, path: &str) -> Option<&[&'static str]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

/// What no route took: 405 with `Allow` if the path exists, 404 otherwise.
pub async fn fallback(
    req: HttpRequest,
    routes: Data<RouteTable>,
) -> Result<HttpResponse, AppError> {
    Err(match routes.allowed(req.path()) {
        Some(methods) => AppError::MethodNotAllowed {
            method: req.method().to_string(),
            allowed: methods.iter().map(|m| (*m).to_owned()).collect(),
        },
        None => AppError::NotFound("route"),
    })
}
