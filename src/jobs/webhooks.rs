//! The webhook sender, on every instance: claims due deliveries (one per endpoint at a time,
//! so each endpoint gets its events in order and an open breaker's backlog waits), posts each
//! on a thread of its own so that a slow receiver holds up no other, and records the outcome.
//! Instances share the work through the claims (`db::webhooks::claim`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::cache::Generation;
use crate::db::health::BreakerState;
use crate::db::webhooks::{self as rows, DeliveryRow, WebhookRow};
use crate::db::{self, Pool};
use crate::service::webhooks::outcome::{self, Attempt};
use crate::service::webhooks::{Settings, is_internal, signing};

/// Deliveries in flight at once, per instance.
const MAX_IN_FLIGHT: usize = 16;
/// How often the sender looks for due deliveries when nothing wakes it sooner.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// How often it checks whether a write may have queued something (an atomic load).
const WRITE_CHECK: Duration = Duration::from_millis(2);
/// A claim outlives the request's timeout by this much before another instance may take it
/// (the holder having died).
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How much of a receiver's answer is read (its status is what counts).
const RESPONSE_LIMIT: u64 = 4096;

enum Signal {
    /// A delivery finished: its endpoint may send its next one.
    Finished,
    Stop,
}

/// The running sender; dropping it stops the dispatcher (deliveries in flight finish).
pub struct WebhookSender {
    signals: mpsc::Sender<Signal>,
}

impl Drop for WebhookSender {
    fn drop(&mut self) {
        let _stopped = self.signals.send(Signal::Stop);
    }
}

impl WebhookSender {
    pub fn start(pool: Pool, settings: Settings, generation: Generation) -> std::io::Result<Self> {
        let (signals, received) = mpsc::channel();
        let finished = signals.clone();
        let agent = agent(&settings);
        std::thread::Builder::new()
            .name("folio-webhooks".into())
            .spawn(move || {
                Dispatcher {
                    pool,
                    settings,
                    agent,
                    in_flight: Arc::default(),
                    finished,
                }
                .run(&received, &generation);
            })?;
        Ok(Self { signals })
    }
}

struct Dispatcher {
    pool: Pool,
    settings: Settings,
    agent: ureq::Agent,
    /// The endpoints this instance is sending to now.
    in_flight: Arc<Mutex<HashSet<i64>>>,
    finished: mpsc::Sender<Signal>,
}

fn lock(set: &Mutex<HashSet<i64>>) -> std::sync::MutexGuard<'_, HashSet<i64>> {
    set.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Dispatcher {
    fn run(&self, signals: &mpsc::Receiver<Signal>, generation: &Generation) {
        let mut wait = Duration::ZERO;
        loop {
            // Sleep until the wait is over, a delivery finishes, or a write happens here (or
            // on another instance, through the cache listener's generation bumps).
            let seen = generation.current();
            let until = Instant::now() + wait;
            loop {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() || generation.current() != seen {
                    break;
                }
                match signals.recv_timeout(left.min(WRITE_CHECK)) {
                    Ok(Signal::Finished) => break,
                    Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
            wait = self.dispatch();
        }
    }

    /// Claims and starts what is due; returns how long to wait before looking again.
    fn dispatch(&self) -> Duration {
        let usable = self.pool.health.not_ready().is_none()
            && self.pool.health.state() == BreakerState::Closed;
        let busy: Vec<i64> = lock(&self.in_flight).iter().copied().collect();
        let free = MAX_IN_FLIGHT.saturating_sub(busy.len());
        if !usable || free == 0 {
            return IDLE_POLL;
        }
        let now = db::now();
        // A read first: most wake-ups (every write wakes the sender) find nothing to send, and
        // must not take a turn among the writers for that.
        match self.pool.run_blocking(|conn| Ok(rows::has_due(conn, now)?)) {
            Ok(true) => {}
            Ok(false) => return self.until_next_due(now),
            Err(e) => {
                tracing::warn!(error = %e, "could not look for webhook deliveries; retrying");
                return IDLE_POLL;
            }
        }
        let lease = now
            + chrono::Duration::from_std(self.settings.timeout + LEASE_MARGIN)
                .unwrap_or(chrono::Duration::MAX);
        let claimed = self.pool.write_blocking(|conn| {
            db::write_transaction(conn, |conn| {
                Ok(rows::claim(conn, now, lease, &busy, free as i64)?)
            })
        });
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim webhook deliveries; retrying");
                return IDLE_POLL;
            }
        };
        let full = claimed.len() == free;
        for (delivery, webhook) in claimed {
            self.start(delivery, webhook, lease);
        }
        if full {
            return Duration::ZERO;
        }
        self.until_next_due(now)
    }

    /// Until the next delivery falls due, if that is sooner than the idle poll.
    fn until_next_due(&self, now: chrono::NaiveDateTime) -> Duration {
        match self.pool.run_blocking(|conn| Ok(rows::next_due(conn)?)) {
            Ok(Some(due)) if due > now => (due - now).to_std().unwrap_or(IDLE_POLL).min(IDLE_POLL),
            _ => IDLE_POLL,
        }
    }

    fn start(&self, delivery: DeliveryRow, webhook: WebhookRow, lease: chrono::NaiveDateTime) {
        lock(&self.in_flight).insert(webhook.id);
        let pool = self.pool.clone();
        let settings = self.settings;
        let agent = self.agent.clone();
        let in_flight = self.in_flight.clone();
        let finished = self.finished.clone();
        let webhook_id = webhook.id;
        let spawned = std::thread::Builder::new()
            .name("folio-webhook".into())
            .spawn(move || {
                let attempt = send(&agent, &webhook, &delivery);
                let recorded = pool.write_blocking(|conn| {
                    outcome::record(conn, &settings, &delivery, lease, &attempt, db::now())
                });
                if let Err(e) = recorded {
                    // The claim runs out and the delivery is sent again: at least once.
                    tracing::warn!(error = %e, delivery = delivery.id, "could not record a webhook attempt");
                }
                lock(&in_flight).remove(&webhook.id);
                let _dispatcher_gone = finished.send(Signal::Finished);
            });
        if let Err(e) = spawned {
            lock(&self.in_flight).remove(&webhook_id);
            tracing::warn!(error = %e, "could not start a webhook delivery; its claim will run out");
        }
    }
}

/// Posts one delivery, signed with the endpoint's secret (and its previous one during a
/// rotation's overlap).
fn send(agent: &ureq::Agent, webhook: &WebhookRow, delivery: &DeliveryRow) -> Attempt {
    let timestamp = chrono::Utc::now().timestamp();
    let now = db::now();
    let mut secrets = vec![webhook.secret.as_str()];
    if let (Some(previous), Some(until)) = (&webhook.previous_secret, webhook.previous_secret_until)
        && until > now
    {
        secrets.push(previous);
    }
    let signature = signing::header(&secrets, &delivery.message_id, timestamp, &delivery.payload);
    let started = Instant::now();
    let result = agent
        .post(&webhook.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .send(delivery.payload.as_str());
    let duration = started.elapsed();
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            // Read a little of the answer so the connection can be reused; the rest is ignored.
            let _ignored = response
                .body_mut()
                .with_config()
                .limit(RESPONSE_LIMIT)
                .read_to_vec();
            if (200..300).contains(&status) {
                Attempt::Delivered { status, duration }
            } else {
                let retry_after = matches!(status, 429 | 503)
                    .then(|| response.headers().get("retry-after"))
                    .flatten()
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                Attempt::Failed {
                    status: Some(status),
                    error: format!("the receiver answered {status}"),
                    retry_after,
                    duration,
                }
            }
        }
        Err(e) => Attempt::Failed {
            status: None,
            error: describe(&e),
            retry_after: None,
            duration,
        },
    }
}

fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => "no answer within the timeout".to_owned(),
        ureq::Error::HostNotFound => "the host name does not resolve".to_owned(),
        ureq::Error::ConnectionFailed => "the connection failed".to_owned(),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => e.to_string(),
        other => format!("the request failed: {other}"),
    }
}

/// An HTTP client that follows no redirects (a 3xx is a failure), uses no proxy from the
/// environment, and connects only to addresses the SSRF rule allows.
fn agent(settings: &Settings) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(settings.timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .user_agent(format!("Folio-Webhooks/{}", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        GuardedResolver {
            allow_private_networks: settings.allow_private_networks,
        },
    )
}

/// Resolves as usual, then drops every internal address: the check is made on the addresses
/// connected to, at every delivery, so a DNS answer that changes after the endpoint was
/// accepted cannot reach inside.
#[derive(Debug)]
struct GuardedResolver {
    allow_private_networks: bool,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = DefaultResolver::default().resolve(uri, config, timeout)?;
        if self.allow_private_networks {
            return Ok(resolved);
        }
        let mut allowed = self.empty();
        for address in resolved
            .iter()
            .filter(|a: &&SocketAddr| !is_internal(a.ip()))
        {
            allowed.push(*address);
        }
        if allowed.is_empty() {
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the host resolves only to loopback, private or link-local addresses",
            )));
        }
        Ok(allowed)
    }
}
