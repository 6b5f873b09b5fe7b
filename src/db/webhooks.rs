//! `webhooks` (endpoints with their circuit breakers) and `webhook_deliveries` (the outbox).

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{webhook_deliveries, webhooks};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub description: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub consecutive_failures: i32,
    pub breaker_open_until: Option<NaiveDateTime>,
    pub breaker_cooldown_ms: i64,
    pub failing_since: Option<NaiveDateTime>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_failure_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhook<'a> {
    pub url: &'a str,
    pub events: &'a str,
    pub description: &'a str,
    pub active: bool,
    pub secret: &'a str,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub consecutive_failures: i32,
    pub breaker_cooldown_ms: i64,
}

/// What an admin's PATCH (or a rotation) changes; `None` keeps a column.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub secret: Option<String>,
    pub previous_secret: Option<Option<String>>,
    pub previous_secret_until: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
    pub consecutive_failures: Option<i32>,
    pub breaker_open_until: Option<Option<NaiveDateTime>>,
    pub breaker_cooldown_ms: Option<i64>,
    pub failing_since: Option<Option<NaiveDateTime>>,
}

/// What an attempt's outcome changes of its endpoint's breaker.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct BreakerChanges {
    pub consecutive_failures: Option<i32>,
    pub breaker_open_until: Option<Option<NaiveDateTime>>,
    pub breaker_cooldown_ms: Option<i64>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_failure_at: Option<NaiveDateTime>,
    pub active: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub give_up_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_response_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i32>,
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery<'a> {
    pub webhook_id: i64,
    pub message_id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a str,
    pub created_at: NaiveDateTime,
    pub status: &'a str,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub give_up_at: NaiveDateTime,
}

/// The record of one attempt, and where the delivery goes next.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = webhook_deliveries)]
pub struct AttemptRecord {
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<Option<NaiveDateTime>>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_response_status: Option<Option<i32>>,
    pub last_error: Option<Option<String>>,
    pub last_duration_ms: Option<Option<i32>>,
    pub delivered_at: Option<Option<NaiveDateTime>>,
}

pub fn insert(conn: &mut DbConn, webhook: &NewWebhook<'_>) -> QueryResult<WebhookRow> {
    // RETURNING is not available through MultiConnection: read it back by its unique secret.
    diesel::insert_into(webhooks::table)
        .values(webhook)
        .execute(conn)?;
    webhooks::table
        .filter(webhooks::secret.eq(webhook.secret))
        .select(WebhookRow::as_select())
        .first(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .order(webhooks::id)
        .select(WebhookRow::as_select())
        .load(conn)
}

/// The active endpoints with their event lists: who an event goes to.
pub fn subscribers(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    webhooks::table
        .filter(webhooks::active.eq(true))
        .select((webhooks::id, webhooks::events))
        .load(conn)
}

/// Applies `changes` and bumps the version if the webhook is still at `expected`.
pub fn update_if_version(
    conn: &mut DbConn,
    id: i64,
    expected: i32,
    changes: &WebhookChanges,
) -> QueryResult<bool> {
    let updated = diesel::update(
        webhooks::table
            .find(id)
            .filter(webhooks::version.eq(expected)),
    )
    .set((changes, webhooks::version.eq(webhooks::version + 1)))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete_if_version(conn: &mut DbConn, id: i64, expected: i32) -> QueryResult<bool> {
    let deleted = diesel::delete(
        webhooks::table
            .find(id)
            .filter(webhooks::version.eq(expected)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

pub fn set_breaker(conn: &mut DbConn, id: i64, changes: &BreakerChanges) -> QueryResult<()> {
    diesel::update(webhooks::table.find(id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

pub fn insert_deliveries(conn: &mut DbConn, rows: &[NewDelivery<'_>]) -> QueryResult<()> {
    // Multi-row inserts are not available through MultiConnection; each backend runs its own.
    match conn {
        DbConn::Postgres(c) => diesel::insert_into(webhook_deliveries::table)
            .values(rows)
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_into(webhook_deliveries::table)
            .values(rows)
            .execute(c)?,
    };
    Ok(())
}

pub fn find_delivery(
    conn: &mut DbConn,
    webhook_id: i64,
    id: i64,
) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_delivery_by_message(conn: &mut DbConn, message_id: &str) -> QueryResult<DeliveryRow> {
    webhook_deliveries::table
        .filter(webhook_deliveries::message_id.eq(message_id))
        .select(DeliveryRow::as_select())
        .first(conn)
}

/// One page of an endpoint's deliveries, newest first, below `before`.
pub fn deliveries(
    conn: &mut DbConn,
    webhook_id: i64,
    status: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    query.load(conn)
}

/// Puts a delivery back in the queue, due now; it gets until `give_up_at` again.
pub fn requeue(
    conn: &mut DbConn,
    id: i64,
    now: NaiveDateTime,
    give_up_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::give_up_at.eq(give_up_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims the next delivery of up to `limit` endpoints that are ready to send: active, breaker
/// closed or half-open, nothing of theirs in flight, and something due. Each endpoint gets
/// its oldest due delivery, marked as in flight until `lease_until`, so it is sent once at a
/// time in order. On PostgreSQL the endpoints' rows are locked with SKIP LOCKED while
/// claiming, so instances claiming at once take different endpoints.
pub fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    skip: &[i64],
    limit: i64,
) -> QueryResult<Vec<(DeliveryRow, WebhookRow)>> {
    // Built once per backend: a query's type carries its backend.
    macro_rules! ready {
        () => {
            webhooks::table
                .filter(webhooks::active.eq(true))
                .filter(
                    webhooks::breaker_open_until
                        .is_null()
                        .or(webhooks::breaker_open_until.le(now)),
                )
                .filter(not(webhooks::id.eq_any(skip)))
                .filter(exists(
                    webhook_deliveries::table
                        .filter(webhook_deliveries::webhook_id.eq(webhooks::id))
                        .filter(webhook_deliveries::status.eq("pending"))
                        .filter(webhook_deliveries::next_attempt_at.le(now)),
                ))
                .filter(not(exists(
                    webhook_deliveries::table
                        .filter(webhook_deliveries::webhook_id.eq(webhooks::id))
                        .filter(webhook_deliveries::claimed_until.gt(now)),
                )))
                .order(webhooks::id)
                .limit(limit)
                .select(WebhookRow::as_select())
        };
    }
    let endpoints: Vec<WebhookRow> = match conn {
        DbConn::Postgres(c) => ready!().for_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => ready!().load(c)?,
    };
    let mut claimed = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        // Asked again now that the endpoint's row is locked: the first statement's snapshot
        // may predate another instance's claim, committed while it waited for the lock
        // (a row only locked, not changed, is not re-checked).
        let busy: bool = diesel::select(exists(
            webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(endpoint.id))
                .filter(webhook_deliveries::claimed_until.gt(now)),
        ))
        .get_result(conn)?;
        if busy {
            continue;
        }
        // The oldest pending one, and only once it is due: a delivery waiting out its retry
        // holds back the ones behind it, so each endpoint gets its events in order.
        let next: Option<DeliveryRow> = webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(endpoint.id))
            .filter(webhook_deliveries::status.eq("pending"))
            .order(webhook_deliveries::id)
            .select(DeliveryRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(delivery) = next.filter(|d| d.next_attempt_at <= now) {
            diesel::update(webhook_deliveries::table.find(delivery.id))
                .set(webhook_deliveries::claimed_until.eq(Some(lease_until)))
                .execute(conn)?;
            claimed.push((delivery, endpoint));
        }
    }
    Ok(claimed)
}

/// Whether any active endpoint may have something to send now: a cheap read, so that the
/// sender opens no write transaction (on SQLite, a turn in the one writers' lane) for nothing.
pub fn has_due(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(exists(
        webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(webhooks::active.eq(true))
            .filter(
                webhooks::breaker_open_until
                    .is_null()
                    .or(webhooks::breaker_open_until.le(now)),
            ),
    ))
    .get_result(conn)
}

/// The endpoint's row, locked on PostgreSQL until the transaction ends.
pub fn find_for_update(conn: &mut DbConn, id: i64) -> QueryResult<Option<WebhookRow>> {
    match conn {
        DbConn::Postgres(c) => webhooks::table
            .find(id)
            .select(WebhookRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConn::Sqlite(_) => find(conn, id),
    }
}

/// When the next pending delivery of an endpoint that may send falls due, if any.
pub fn next_due(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhooks::active.eq(true))
        .select(diesel::dsl::min(webhook_deliveries::next_attempt_at))
        .first(conn)
}

/// Makes every pending delivery of an endpoint due at `now`.
pub fn due_now(conn: &mut DbConn, webhook_id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.gt(now)),
    )
    .set(webhook_deliveries::next_attempt_at.eq(now))
    .execute(conn)
}

/// Records an attempt made under the claim that ends at `lease`; false (and nothing written)
/// if that claim is no longer the delivery's: it ran out and another took it.
pub fn record_attempt(
    conn: &mut DbConn,
    id: i64,
    lease: NaiveDateTime,
    record: &AttemptRecord,
) -> QueryResult<bool> {
    let updated = diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::claimed_until.eq(lease)),
    )
    .set(record)
    .execute(conn)?;
    Ok(updated == 1)
}

/// Forgets delivered deliveries older than `before`, at most `limit` at a time.
pub fn prune_delivered(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let old: Vec<i64> = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("delivered"))
        .filter(webhook_deliveries::delivered_at.lt(before))
        .select(webhook_deliveries::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(old)))
        .execute(conn)
}
