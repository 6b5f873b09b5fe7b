//! Webhooks: endpoints an admin registers to hear of content changes. Each change becomes
//! delivery rows in the same transaction (`events`); the sender (`jobs::webhooks`) posts them,
//! signed as the Standard Webhooks specification says (`signing`), and records each attempt's
//! outcome, which moves the delivery's retries and the endpoint's circuit breaker (`outcome`).

pub mod events;
pub mod outcome;
pub mod signing;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, NaiveDateTime};

use crate::auth::Caller;
use crate::db::webhooks::{self as rows, DeliveryRow, NewWebhook, WebhookChanges, WebhookRow};
use crate::db::{self, DbConn};
use crate::error::{AppError, FieldError};
use crate::service::policy::{self, Action};

pub use events::EventType;

/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// How webhooks behave (`FOLIO_WEBHOOK_*`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The first retry waits about this long; each further one twice as long as the last.
    pub retry_base: std::time::Duration,
    pub timeout: std::time::Duration,
    /// How long an opened breaker waits before its first probe; doubled at each reopening.
    pub breaker_cooldown: std::time::Duration,
    /// Whether endpoints may be on loopback, private or link-local addresses.
    pub allow_private_networks: bool,
    /// Delivered deliveries are kept this long in the log.
    pub keep_delivered: Duration,
}

/// The breaker as a webhook's read shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaker {
    Closed,
    Open,
    HalfOpen,
}

impl Breaker {
    pub fn of(row: &WebhookRow, now: NaiveDateTime) -> Self {
        match row.breaker_open_until {
            None => Self::Closed,
            Some(until) if until > now => Self::Open,
            Some(_) => Self::HalfOpen,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub row: WebhookRow,
    pub breaker: Breaker,
}

impl Webhook {
    fn of(row: WebhookRow) -> Self {
        Self {
            breaker: Breaker::of(&row, db::now()),
            row,
        }
    }

    pub fn events(&self) -> Vec<&str> {
        self.row.events.split_whitespace().collect()
    }

    /// The secret's last four characters, to recognise it by.
    pub fn secret_hint(&self) -> String {
        let secret = &self.row.secret;
        secret
            .char_indices()
            .rev()
            .nth(3)
            .map_or_else(|| secret.clone(), |(at, _)| secret[at..].to_owned())
    }
}

/// A new endpoint, its shape already checked by the API layer (URL scheme and host, lengths).
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub active: bool,
}

#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

/// `whsec_` and 32 random bytes in base64, as Standard Webhooks secrets are written.
fn new_secret() -> Result<String, AppError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("whsec_{}", STANDARD.encode(bytes)))
}

/// Event names, checked: every unknown one is named in one 422.
fn event_list(names: &[String]) -> Result<String, AppError> {
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| EventType::parse(name).is_none())
        .collect();
    if names.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "events",
            "name at least one event",
        )]));
    }
    if !unknown.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "events",
            format!(
                "unknown events: {} (known: {})",
                unknown.join(", "),
                EventType::ALL.map(EventType::as_str).join(", ")
            ),
        )]));
    }
    let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    Ok(names.join(" "))
}

/// Whether an address is one a webhook must never reach unless private networks are allowed:
/// loopback, private, shared, link-local, unique-local, multicast, unspecified, documentation
/// or broadcast, in IPv4, IPv6, and IPv4 inside IPv6.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT; 0.0.0.0/8, "this network"; 240/4 reserved;
                // 192.0.0.0/24, protocol assignments; 198.18.0.0/15, benchmarking;
                // 192.88.99.0/24, the 6to4 relay.
                || (a == 100 && (64..128).contains(&b))
                || a == 0
                || a >= 240
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                || (a == 192 && b == 88 && v4.octets()[2] == 99)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            let first = segments[0];
            let bits = v6.to_bits();
            // IPv4 carried inside IPv6: NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48)
            // and 6to4 (2002::/16) reach the IPv4 address they embed.
            let embedded = if segments[..2] == [0x64, 0xff9b] {
                Some(std::net::Ipv4Addr::from(bits as u32))
            } else if first == 0x2002 {
                Some(std::net::Ipv4Addr::from((bits >> 80) as u32))
            } else {
                None
            };
            if embedded.is_some_and(|v4| is_internal(IpAddr::V4(v4))) {
                return true;
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link local, fec0::/10 site local (deprecated),
                // 2001:db8::/32 documentation.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                // ::/96, IPv4-compatible (deprecated): judged by the IPv4 address inside.
                || (v6.segments()[..6] == [0; 6] && is_internal(IpAddr::V4(std::net::Ipv4Addr::from(v6.to_bits() as u32))))
        }
    }
}

/// Resolves the URL's host and refuses it if any address it resolves to is internal (so a
/// name cannot pass with one public and one private answer). Blocking: DNS.
pub fn check_destination(url: &str, allow_private_networks: bool) -> Result<(), AppError> {
    let invalid = |message: &str| AppError::Invalid(vec![FieldError::new("url", message)]);
    let parsed = url::Url::parse(url).map_err(|_| invalid("is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("must be http or https"));
    }
    let host = parsed.host().ok_or_else(|| invalid("has no host"))?;
    if allow_private_networks {
        return Ok(());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = match host {
        url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        url::Host::Domain(name) => (name, port)
            .to_socket_addrs()
            .map_err(|_| invalid("has a host name that does not resolve"))?
            .collect(),
    };
    if addresses.iter().any(|a| is_internal(a.ip())) {
        return Err(invalid(
            "reaches a loopback, private or link-local address; Folio does not send there \
             unless FOLIO_WEBHOOK_ALLOW_PRIVATE_NETWORKS is set",
        ));
    }
    Ok(())
}

/// `Forbidden` unless the caller may manage webhooks: checked before a URL's DNS lookup, so
/// nobody else can make Folio resolve names.
pub fn may_manage(caller: &Caller) -> Result<(), AppError> {
    policy::require(caller, Action::ManageWebhooks, None)
}

pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    endpoint: &NewEndpoint,
) -> Result<Webhook, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    let events = event_list(&endpoint.events)?;
    let secret = new_secret()?;
    let now = db::now();
    let row = db::write_transaction(conn, |conn| {
        Ok(rows::insert(
            conn,
            &NewWebhook {
                url: &endpoint.url,
                events: &events,
                description: &endpoint.description,
                active: endpoint.active,
                secret: &secret,
                version: 1,
                created_at: now,
                updated_at: now,
                consecutive_failures: 0,
                breaker_cooldown_ms: 0,
            },
        )?)
    })?;
    Ok(Webhook::of(row))
}

pub fn list(conn: &mut DbConn, caller: &Caller) -> Result<Vec<Webhook>, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    Ok(rows::list(conn)?.into_iter().map(Webhook::of).collect())
}

pub fn get(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<Webhook, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    rows::find(conn, id)?
        .map(Webhook::of)
        .ok_or(AppError::NotFound("webhook"))
}

fn current(conn: &mut DbConn, id: i64, expected: Option<i32>) -> Result<WebhookRow, AppError> {
    let row = rows::find(conn, id)?.ok_or(AppError::NotFound("webhook"))?;
    if expected != Some(row.version) {
        return Err(AppError::PreconditionFailed);
    }
    Ok(row)
}

/// Changes an endpoint if it is still at `expected`. Turning it on again clears why it was
/// turned off and closes its breaker, so its waiting deliveries go at once.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
    patch: EndpointPatch,
) -> Result<Webhook, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    let events = patch.events.as_deref().map(event_list).transpose()?;
    db::write_transaction(conn, |conn| {
        let row = current(conn, id, expected)?;
        let mut changes = WebhookChanges {
            url: patch.url.clone(),
            events: events.clone(),
            description: patch.description.clone(),
            active: patch.active,
            updated_at: Some(db::now()),
            ..WebhookChanges::default()
        };
        let reactivated = patch.active == Some(true) && !row.active;
        if reactivated {
            changes.disabled_reason = Some(None);
            changes.consecutive_failures = Some(0);
            changes.breaker_open_until = Some(None);
            changes.breaker_cooldown_ms = Some(0);
            changes.failing_since = Some(None);
        }
        if !rows::update_if_version(conn, id, row.version, &changes)? {
            return Err(AppError::PreconditionFailed);
        }
        if reactivated {
            // What waited while it was off goes now.
            rows::due_now(conn, id, db::now())?;
        }
        rows::find(conn, id)?
            .map(Webhook::of)
            .ok_or(AppError::NotFound("webhook"))
    })
}

/// Deletes an endpoint and its deliveries if it is still at `expected`.
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    expected: Option<i32>,
) -> Result<(), AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    db::write_transaction(conn, |conn| {
        let row = current(conn, id, expected)?;
        if !rows::delete_if_version(conn, id, row.version)? {
            return Err(AppError::PreconditionFailed);
        }
        Ok(())
    })
}

/// Gives the endpoint a new secret; the old one keeps signing beside it for
/// `ROTATION_OVERLAP`, so receivers can switch without losing a delivery.
pub fn rotate_secret(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<Webhook, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    let secret = new_secret()?;
    db::write_transaction(conn, |conn| {
        let row = rows::find(conn, id)?.ok_or(AppError::NotFound("webhook"))?;
        let now = db::now();
        let changes = WebhookChanges {
            secret: Some(secret.clone()),
            previous_secret: Some(Some(row.secret.clone())),
            previous_secret_until: Some(Some(now + ROTATION_OVERLAP)),
            updated_at: Some(now),
            ..WebhookChanges::default()
        };
        if !rows::update_if_version(conn, id, row.version, &changes)? {
            return Err(AppError::Contended);
        }
        rows::find(conn, id)?
            .map(Webhook::of)
            .ok_or(AppError::NotFound("webhook"))
    })
}

/// Queues a `ping` to this endpoint alone.
pub fn ping(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<DeliveryRow, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    db::write_transaction(conn, |conn| {
        rows::find(conn, id)?.ok_or(AppError::NotFound("webhook"))?;
        let message_id = events::enqueue_one(
            conn,
            id,
            EventType::Ping,
            serde_json::json!({"webhook_id": id}),
        )?;
        Ok(rows::find_delivery_by_message(conn, &message_id)?)
    })
}

/// Which deliveries a log lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryRow>,
    pub next_before: Option<i64>,
}

/// An endpoint's deliveries, newest first.
pub fn deliveries(
    conn: &mut DbConn,
    caller: &Caller,
    webhook_id: i64,
    status: Option<DeliveryStatus>,
    before: Option<i64>,
    limit: i64,
) -> Result<DeliveryPage, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    rows::find(conn, webhook_id)?.ok_or(AppError::NotFound("webhook"))?;
    let mut page = rows::deliveries(
        conn,
        webhook_id,
        status.map(DeliveryStatus::as_str),
        before,
        limit + 1,
    )?;
    let more = super::trim_to_page(&mut page, limit);
    let next_before = page.last().map(|d| d.id).filter(|_| more);
    Ok(DeliveryPage {
        deliveries: page,
        next_before,
    })
}

/// Puts a pending or failed delivery back in the queue, due now, with a new retry window.
/// A delivered one is a 409: it arrived.
pub fn retry(
    conn: &mut DbConn,
    caller: &Caller,
    webhook_id: i64,
    delivery_id: i64,
) -> Result<DeliveryRow, AppError> {
    policy::require(caller, Action::ManageWebhooks, None)?;
    db::write_transaction(conn, |conn| {
        let delivery = rows::find_delivery(conn, webhook_id, delivery_id)?
            .ok_or(AppError::NotFound("delivery"))?;
        if delivery.status == "delivered" {
            return Err(AppError::Conflict {
                message: "this delivery was delivered; nothing to retry".to_owned(),
                field: None,
            });
        }
        let now = db::now();
        rows::requeue(conn, delivery_id, now, now + outcome::RETRY_WINDOW)?;
        rows::find_delivery(conn, webhook_id, delivery_id)?.ok_or(AppError::NotFound("delivery"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised_in_every_spelling() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "fec0::1",
            "198.18.0.1",
            "192.0.0.8",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn only_http_urls_to_public_addresses_pass_without_the_setting() {
        assert!(check_destination("https://93.184.216.34/hook", false).is_ok());
        assert!(check_destination("http://[::ffff:7f00:1]/", false).is_err());
        assert!(check_destination("ftp://93.184.216.34/", false).is_err());
        assert!(check_destination("http://127.0.0.1:9/", true).is_ok());
    }
}
