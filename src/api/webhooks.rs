//! Webhooks (admin): endpoints, their secrets, pings and delivery logs.

use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path};
use actix_web::{HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::articles::ArticleResponse;
use super::extract::{IfMatch, JsonBody, QueryParams};
use super::problem::Problem;
use super::tags::TagResponse;
use super::validate::Checks;
use super::{API_PREFIX, CursorMeta, cursor_key, page_size, private_json, written};
use crate::auth::Caller;
use crate::db::webhooks::DeliveryRow;
use crate::error::AppError;
use crate::service::webhooks::{
    self, Breaker, DeliveryStatus, EndpointPatch, NewEndpoint, Webhook,
};
use crate::state::AppState;

/// The events a webhook may listen to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum WebhookEventName {
    #[serde(rename = "article.created")]
    ArticleCreated,
    #[serde(rename = "article.updated")]
    ArticleUpdated,
    /// Readers start to see it: at once, or when its scheduled time comes.
    #[serde(rename = "article.published")]
    ArticlePublished,
    #[serde(rename = "article.unpublished")]
    ArticleUnpublished,
    #[serde(rename = "article.deleted")]
    ArticleDeleted,
    #[serde(rename = "tag.created")]
    TagCreated,
    #[serde(rename = "tag.updated")]
    TagUpdated,
    #[serde(rename = "tag.deleted")]
    TagDeleted,
    /// Only what `POST /webhooks/{id}/ping` sends.
    #[serde(rename = "ping")]
    Ping,
}

/// The body of every webhook request, one shape per kind of event. Headers `webhook-id` (the
/// same on every attempt), `webhook-timestamp` and `webhook-signature` follow the Standard
/// Webhooks specification.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum WebhookEventPayload {
    Article(ArticleEvent),
    Tag(TagEvent),
    Deleted(DeletedEvent),
    Ping(PingEvent),
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum ArticleEventName {
    #[serde(rename = "article.created")]
    ArticleCreated,
    #[serde(rename = "article.updated")]
    ArticleUpdated,
    #[serde(rename = "article.published")]
    ArticlePublished,
    #[serde(rename = "article.unpublished")]
    ArticleUnpublished,
}

/// An article's event: the article as an admin reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleEvent {
    #[serde(rename = "type")]
    pub event_type: ArticleEventName,
    pub timestamp: DateTime<Utc>,
    pub data: Box<ArticleResponse>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum TagEventName {
    #[serde(rename = "tag.created")]
    TagCreated,
    #[serde(rename = "tag.updated")]
    TagUpdated,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagEvent {
    #[serde(rename = "type")]
    pub event_type: TagEventName,
    pub timestamp: DateTime<Utc>,
    pub data: TagResponse,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum DeletedEventName {
    #[serde(rename = "article.deleted")]
    ArticleDeleted,
    #[serde(rename = "tag.deleted")]
    TagDeleted,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedEvent {
    #[serde(rename = "type")]
    pub event_type: DeletedEventName,
    pub timestamp: DateTime<Utc>,
    pub data: DeletedRef,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum PingEventName {
    #[serde(rename = "ping")]
    Ping,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PingEvent {
    #[serde(rename = "type")]
    pub event_type: PingEventName,
    pub timestamp: DateTime<Utc>,
    pub data: PingData,
}

/// What is left of a deleted article or tag.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedRef {
    pub id: i64,
    pub slug: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PingData {
    pub webhook_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/hooks/folio", "events": ["article.published", "article.unpublished"], "description": "Rebuild the static site"}))]
pub struct CreateWebhookRequest {
    /// Where events are POSTed (http or https; not a private address).
    #[schema(max_length = 2000, pattern = r"^https?://\S+$")]
    pub url: String,
    /// An unknown name is a 422 naming it.
    #[schema(value_type = Vec<WebhookEventName>, min_items = 1, max_items = 20)]
    pub events: Vec<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// On unless false.
    pub active: Option<bool>,
}

/// Changes to a webhook; absent fields stay. Turning one on again resets its breaker.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[schema(max_length = 2000, pattern = r"^https?://\S+$")]
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<WebhookEventName>>, min_items = 1, max_items = 20)]
    pub events: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerResponse {
    /// Deliveries go out.
    Closed,
    /// Too many failures in a row: nothing is sent until the cool-down ends.
    Open,
    /// The cool-down is over: the next delivery is a probe.
    HalfOpen,
}

impl From<Breaker> for BreakerResponse {
    fn from(b: Breaker) -> Self {
        match b {
            Breaker::Closed => Self::Closed,
            Breaker::Open => Self::Open,
            Breaker::HalfOpen => Self::HalfOpen,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    pub id: i64,
    pub url: String,
    #[schema(value_type = Vec<WebhookEventName>)]
    pub events: Vec<String>,
    pub description: String,
    pub active: bool,
    /// Why Folio turned it off (it failed for three days), if it did.
    pub disabled_reason: Option<String>,
    /// The signing secret's last four characters.
    #[schema(example = "3xQ=")]
    pub secret_hint: String,
    pub breaker: BreakerResponse,
    pub consecutive_failures: i32,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the ETag leads with it.
    pub version: i32,
}

impl From<Webhook> for WebhookResponse {
    fn from(w: Webhook) -> Self {
        Self {
            events: w.events().into_iter().map(str::to_owned).collect(),
            secret_hint: w.secret_hint(),
            breaker: w.breaker.into(),
            id: w.row.id,
            url: w.row.url,
            description: w.row.description,
            active: w.row.active,
            disabled_reason: w.row.disabled_reason,
            consecutive_failures: w.row.consecutive_failures,
            last_success_at: w.row.last_success_at.map(|t| t.and_utc()),
            last_failure_at: w.row.last_failure_at.map(|t| t.and_utc()),
            created_at: w.row.created_at.and_utc(),
            updated_at: w.row.updated_at.and_utc(),
            version: w.row.version,
        }
    }
}

/// A webhook with its whole secret: only the creation and a rotation show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecretResponse {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// Verify signatures with it (Standard Webhooks: `whsec_` and base64).
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<Webhook> for WebhookWithSecretResponse {
    fn from(w: Webhook) -> Self {
        Self {
            secret: w.row.secret.clone(),
            webhook: w.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListResponse {
    pub data: Vec<WebhookResponse>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatusParam {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Retries ran out (24 hours); it can be retried by hand.
    Failed,
}

impl From<DeliveryStatusParam> for DeliveryStatus {
    fn from(s: DeliveryStatusParam) -> Self {
        match s {
            DeliveryStatusParam::Pending => Self::Pending,
            DeliveryStatusParam::Delivered => Self::Delivered,
            DeliveryStatusParam::Failed => Self::Failed,
        }
    }
}

/// The last attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    pub at: DateTime<Utc>,
    /// The receiver's status, if it answered.
    pub response_status: Option<i32>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    pub duration_ms: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt.
    pub message_id: String,
    #[schema(value_type = WebhookEventName)]
    pub event_type: String,
    #[schema(value_type = DeliveryStatusParam)]
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt: Option<AttemptResponse>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for DeliveryResponse {
    fn from(d: DeliveryRow) -> Self {
        Self {
            next_attempt_at: (d.status == "pending").then(|| d.next_attempt_at.and_utc()),
            last_attempt: d.last_attempt_at.map(|at| AttemptResponse {
                at: at.and_utc(),
                response_status: d.last_response_status,
                error: d.last_error,
                duration_ms: d.last_duration_ms,
            }),
            id: d.id,
            message_id: d.message_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at.and_utc(),
            delivered_at: d.delivered_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryListResponse {
    /// Newest first.
    pub data: Vec<DeliveryResponse>,
    pub meta: CursorMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    pub status: Option<DeliveryStatusParam>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// `meta.next_cursor` of the previous page.
    #[param(pattern = "^[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}

/// A response that shows a signing secret: stored by no cache, not even the browser's.
fn with_secret(response: Result<HttpResponse, AppError>) -> Result<HttpResponse, AppError> {
    let mut response = response?;
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Checks a URL's shape here and its destination (DNS, off the workers) before any write.
async fn check_url(state: &AppState, checks: &mut Checks, url: &str) -> Result<(), AppError> {
    // Only a URL of the right shape is worth a DNS lookup.
    if !checks.url("url", url) {
        return Ok(());
    }
    let allow_private = state.config.webhook_allow_private_networks;
    let url = url.to_owned();
    web::block(move || webhooks::check_destination(&url, allow_private))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the address check stopped: {e}")))?
}

fn check_fields(checks: &mut Checks, description: Option<&str>, events: Option<&[String]>) {
    if let Some(description) = description {
        checks.text("description", description, 0, 500);
    }
    if let Some(events) = events {
        checks.require(!events.is_empty(), "events", "name at least one event");
        checks.require(events.len() <= 20, "events", "at most 20 events");
    }
}

/// Register a webhook (admin). The response holds its signing secret, shown this once.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook",
    request_body = CreateWebhookRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = WebhookWithSecretResponse, headers(("Location" = String, description = "The webhook's URL"), ("ETag" = String, description = "Send back in If-Match to change it"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields: unknown events, a URL that is not http(s) or reaches a private address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateWebhookRequest>,
) -> Result<HttpResponse, AppError> {
    webhooks::may_manage(&caller)?;
    let r = body.0;
    let mut checks = Checks::default();
    check_fields(&mut checks, r.description.as_deref(), Some(&r.events));
    check_url(&state, &mut checks, &r.url).await?;
    checks.finish()?;
    let endpoint = NewEndpoint {
        url: r.url,
        events: r.events,
        description: r.description.unwrap_or_default(),
        active: r.active.unwrap_or(true),
    };
    let webhook = state
        .db
        .write(move |conn| webhooks::create(conn, &caller, &endpoint))
        .await?;
    let location = format!("{API_PREFIX}/webhooks/{}", webhook.row.id);
    let version = webhook.row.version;
    with_secret(written(
        StatusCode::CREATED,
        &WebhookWithSecretResponse::from(webhook),
        Some(version),
        Some(location),
    ))
}

/// Every webhook (admin).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhooks", body = WebhookListResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, AppError> {
    let all = state
        .db
        .run(move |conn| webhooks::list(conn, &caller))
        .await?;
    private_json(
        WebhookListResponse {
            data: all.into_iter().map(Into::into).collect(),
        },
        None,
    )
}

/// One webhook with its breaker's state (admin).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook",
    params(("id" = i64, Path, description = "Webhook id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhook", body = WebhookResponse, headers(("ETag" = String, description = "Send back in If-Match to change it"))),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let webhook = state
        .db
        .run(move |conn| webhooks::get(conn, &caller, id))
        .await?;
    let version = webhook.row.version;
    private_json(WebhookResponse::from(webhook), Some(version))
}

/// Change a webhook (admin). `If-Match` must carry its current ETag.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "update_webhook",
    params(("id" = i64, Path, description = "Webhook id"), ("If-Match" = String, Header, description = "The webhook's current ETag")),
    request_body = UpdateWebhookRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed webhook", body = WebhookResponse, headers(("ETag" = String, description = "The new ETag"))),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "It changed since that ETag; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    body: JsonBody<UpdateWebhookRequest>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    webhooks::may_manage(&caller)?;
    let r = body.0;
    let mut checks = Checks::default();
    check_fields(&mut checks, r.description.as_deref(), r.events.as_deref());
    if let Some(url) = &r.url {
        check_url(&state, &mut checks, url).await?;
    }
    checks.finish()?;
    let patch = EndpointPatch {
        url: r.url,
        events: r.events,
        description: r.description,
        active: r.active,
    };
    let id = id.into_inner();
    let webhook = state
        .db
        .write(move |conn| webhooks::update(conn, &caller, id, if_match.0, patch))
        .await?;
    let version = webhook.row.version;
    private_json(WebhookResponse::from(webhook), Some(version))
}

/// Delete a webhook and its delivery log (admin). Needs `If-Match`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook",
    params(("id" = i64, Path, description = "Webhook id"), ("If-Match" = String, Header, description = "The webhook's current ETag")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "It changed since that ETag; nothing was deleted", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| webhooks::delete(conn, &caller, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give a webhook a new signing secret (admin). For 24 hours deliveries carry signatures
/// by both the new and the old secret, so the receiver can switch without missing one.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    params(("id" = i64, Path, description = "Webhook id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhook with its new secret, shown this once", body = WebhookWithSecretResponse),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let webhook = state
        .db
        .write(move |conn| webhooks::rotate_secret(conn, &caller, id))
        .await?;
    let version = webhook.row.version;
    with_secret(written(
        StatusCode::OK,
        &WebhookWithSecretResponse::from(webhook),
        Some(version),
        None,
    ))
}

/// Send a `ping` event to this webhook alone (admin).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "ping_webhook",
    params(("id" = i64, Path, description = "Webhook id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = DeliveryResponse),
        (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/ping")]
pub async fn ping_webhook(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let delivery = state
        .db
        .write(move |conn| webhooks::ping(conn, &caller, id))
        .await?;
    written(
        StatusCode::ACCEPTED,
        &DeliveryResponse::from(delivery),
        None,
        None,
    )
}

/// A webhook's deliveries, newest first (admin).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = i64, Path, description = "Webhook id"), DeliveryListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of deliveries", body = DeliveryListResponse),
        (status = 400, description = "Bad id, status, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: Data<AppState>,
    caller: Caller,
    id: Path<i64>,
    params: QueryParams<DeliveryListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = params.into_inner();
    let limit = page_size(query.limit)?;
    let before = cursor_key::<i64>(query.cursor.as_deref())?;
    let status = query.status.map(Into::into);
    let id = id.into_inner();
    let page = state
        .db
        .run(move |conn| webhooks::deliveries(conn, &caller, id, status, before, limit))
        .await?;
    private_json(
        DeliveryListResponse {
            data: page.deliveries.into_iter().map(Into::into).collect(),
            meta: CursorMeta::new(limit, page.next_before),
        },
        None,
    )
}

/// Send a pending or failed delivery again now, with a new 24-hour retry window (admin).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "retry_webhook_delivery",
    params(("id" = i64, Path, description = "Webhook id"), ("delivery_id" = i64, Path, description = "Delivery id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued", body = DeliveryResponse),
        (status = 400, description = "An id is not an integer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook or delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It was delivered", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_webhook_delivery(
    state: Data<AppState>,
    caller: Caller,
    path: Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, delivery_id) = path.into_inner();
    let delivery = state
        .db
        .write(move |conn| webhooks::retry(conn, &caller, id, delivery_id))
        .await?;
    written(
        StatusCode::ACCEPTED,
        &DeliveryResponse::from(delivery),
        None,
        None,
    )
}
