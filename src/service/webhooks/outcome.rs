//! What one attempt's outcome does: to its delivery (delivered, retried later, or failed for
//! good) and to its endpoint's circuit breaker.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};

use super::Settings;
use crate::db::webhooks::{self as rows, AttemptRecord, BreakerChanges, DeliveryRow, WebhookRow};
use crate::db::{self, DbConn};
use crate::error::AppError;

/// Retries stop this long after the event (or after an admin's retry).
pub const RETRY_WINDOW: Duration = Duration::hours(24);
/// The longest wait between two attempts.
const MAX_GAP: StdDuration = StdDuration::from_secs(6 * 3600);
/// Consecutive failures that open an endpoint's breaker.
pub const BREAKER_THRESHOLD: i32 = 5;
/// The longest an open breaker waits before its next probe.
const MAX_COOLDOWN: StdDuration = StdDuration::from_secs(3600);
/// An endpoint failing this long is turned off.
const DEACTIVATE_AFTER: Duration = Duration::days(3);

/// How an attempt went.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered {
        status: u16,
        duration: StdDuration,
    },
    Failed {
        /// The response status, if there was a response.
        status: Option<u16>,
        /// Why it failed (a status that is not 2xx, a timeout, a refused connection…).
        error: String,
        /// A 429's or 503's `Retry-After`.
        retry_after: Option<StdDuration>,
        duration: StdDuration,
    },
}

/// The wait before the next attempt after `attempts` attempts: base × 2^(attempts − 1), at
/// most six hours, with "equal jitter": half of it fixed, half random. Fully random waits (full
/// jitter) spread instances best but can make a later gap shorter than an earlier one; this
/// keeps every gap longer than the last while still spreading receivers' load.
pub fn retry_gap(
    base: StdDuration,
    attempts: i32,
    retry_after: Option<StdDuration>,
) -> StdDuration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let cap = base.saturating_mul(1 << doublings).min(MAX_GAP);
    let half = cap / 2;
    let jitter = half.mul_f64(fastrand::f64());
    (half + jitter)
        .max(retry_after.unwrap_or_default())
        .min(MAX_GAP)
}

fn chrono(duration: StdDuration) -> Duration {
    Duration::from_std(duration).unwrap_or(Duration::MAX)
}

fn millis(duration: StdDuration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

/// Records an attempt of `delivery`, claimed until `lease`, that ended at `now`, and moves its
/// endpoint's breaker. Nothing is recorded if the claim ran out and another instance took the
/// delivery meanwhile: that attempt is recorded instead.
pub fn record(
    conn: &mut DbConn,
    settings: &Settings,
    delivery: &DeliveryRow,
    lease: NaiveDateTime,
    attempt: &Attempt,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let attempts = delivery.attempts + 1;
    let record = match attempt {
        Attempt::Delivered { status, duration } => AttemptRecord {
            status: "delivered".to_owned(),
            attempts,
            next_attempt_at: delivery.next_attempt_at,
            claimed_until: Some(None),
            last_attempt_at: Some(now),
            last_response_status: Some(Some(i32::from(*status))),
            last_error: Some(None),
            last_duration_ms: Some(Some(millis(*duration))),
            delivered_at: Some(Some(now)),
        },
        Attempt::Failed {
            status,
            error,
            retry_after,
            duration,
        } => {
            let next = now + chrono(retry_gap(settings.retry_base, attempts, *retry_after));
            AttemptRecord {
                status: if next > delivery.give_up_at {
                    "failed"
                } else {
                    "pending"
                }
                .to_owned(),
                attempts,
                next_attempt_at: next,
                claimed_until: Some(None),
                last_attempt_at: Some(now),
                last_response_status: Some(status.map(i32::from)),
                last_error: Some(Some(error.clone())),
                last_duration_ms: Some(Some(millis(*duration))),
                delivered_at: Some(None),
            }
        }
    };
    let delivered = matches!(attempt, Attempt::Delivered { .. });
    db::write_transaction(conn, |conn| {
        // The endpoint as it is now: an admin may have turned it off and on meanwhile.
        let Some(webhook) = rows::find_for_update(conn, delivery.webhook_id)? else {
            return Ok(());
        };
        if !rows::record_attempt(conn, delivery.id, lease, &record)? {
            tracing::info!(
                delivery = delivery.id,
                "a late attempt's outcome is dropped: its claim ran out"
            );
            return Ok(());
        }
        let breaker = if delivered {
            BreakerChanges {
                consecutive_failures: Some(0),
                breaker_open_until: Some(None),
                breaker_cooldown_ms: Some(0),
                failing_since: Some(None),
                last_success_at: Some(now),
                ..BreakerChanges::default()
            }
        } else {
            failure(settings, &webhook, now)
        };
        rows::set_breaker(conn, webhook.id, &breaker)?;
        if delivered && webhook.consecutive_failures > 0 {
            // The receiver is back: its backlog goes now, oldest first, not when each
            // delivery's backoff would have run out.
            rows::due_now(conn, webhook.id, now)?;
        }
        Ok(())
    })
}

/// The breaker after a failed attempt: open after `BREAKER_THRESHOLD` failures in a row, or
/// at once when the attempt was a half-open probe, each reopening waiting twice as long;
/// the endpoint turned off after failing for `DEACTIVATE_AFTER`.
fn failure(settings: &Settings, webhook: &WebhookRow, now: NaiveDateTime) -> BreakerChanges {
    let failures = webhook.consecutive_failures + 1;
    let probe_failed = webhook.breaker_open_until.is_some();
    let failing_since = webhook.failing_since.unwrap_or(now);
    let mut changes = BreakerChanges {
        consecutive_failures: Some(failures),
        failing_since: Some(Some(failing_since)),
        last_failure_at: Some(now),
        ..BreakerChanges::default()
    };
    if failures >= BREAKER_THRESHOLD || probe_failed {
        let previous = u64::try_from(webhook.breaker_cooldown_ms).unwrap_or(0);
        let cooldown = if previous == 0 {
            settings.breaker_cooldown
        } else {
            StdDuration::from_millis(previous)
                .saturating_mul(2)
                .min(MAX_COOLDOWN)
        };
        changes.breaker_open_until = Some(Some(now + chrono(cooldown)));
        changes.breaker_cooldown_ms = Some(i64::try_from(cooldown.as_millis()).unwrap_or(i64::MAX));
    }
    if now - failing_since >= DEACTIVATE_AFTER {
        changes.active = Some(false);
        changes.disabled_reason = Some(Some(format!(
            "every attempt failed for {} days (since {}); turn it on again to resume",
            DEACTIVATE_AFTER.num_days(),
            failing_since.and_utc().to_rfc3339()
        )));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gap_is_longer_than_the_last_and_none_beyond_six_hours() {
        let base = StdDuration::from_secs(5);
        for _ in 0..100 {
            let gaps: Vec<StdDuration> = (1..=20).map(|n| retry_gap(base, n, None)).collect();
            assert!(gaps[0] >= base / 2 && gaps[0] < base, "{:?}", gaps[0]);
            for pair in gaps.windows(2) {
                assert!(pair[1] >= pair[0] || pair[1] >= MAX_GAP / 2, "{pair:?}");
            }
            assert!(gaps.iter().all(|g| *g <= MAX_GAP));
        }
    }

    fn endpoint(
        failures: i32,
        open_until: Option<NaiveDateTime>,
        failing_since: Option<NaiveDateTime>,
    ) -> WebhookRow {
        let at = NaiveDateTime::default();
        WebhookRow {
            id: 1,
            url: "https://example.com/".into(),
            events: "ping".into(),
            description: String::new(),
            active: true,
            disabled_reason: None,
            secret: "whsec_AAAA".into(),
            previous_secret: None,
            previous_secret_until: None,
            version: 1,
            created_at: at,
            updated_at: at,
            consecutive_failures: failures,
            breaker_open_until: open_until,
            breaker_cooldown_ms: if open_until.is_some() { 1_000 } else { 0 },
            failing_since,
            last_success_at: None,
            last_failure_at: None,
        }
    }

    fn settings() -> Settings {
        Settings {
            retry_base: StdDuration::from_millis(100),
            timeout: StdDuration::from_secs(1),
            breaker_cooldown: StdDuration::from_secs(30),
            allow_private_networks: false,
            keep_delivered: Duration::days(30),
        }
    }

    #[test]
    fn the_breaker_opens_at_the_fifth_failure_and_a_failed_probe_doubles_the_wait() {
        let now = NaiveDateTime::default() + Duration::days(1);
        let fourth = failure(&settings(), &endpoint(3, None, Some(now)), now);
        assert_eq!(fourth.breaker_open_until, None);
        let fifth = failure(&settings(), &endpoint(4, None, Some(now)), now);
        assert_eq!(
            fifth.breaker_open_until,
            Some(Some(now + Duration::seconds(30)))
        );
        let probe = failure(&settings(), &endpoint(5, Some(now), Some(now)), now);
        assert_eq!(probe.breaker_cooldown_ms, Some(2_000));
        assert_eq!(probe.active, None);
    }

    #[test]
    fn an_endpoint_failing_for_three_days_is_turned_off() {
        let now = NaiveDateTime::default() + Duration::days(10);
        let still = failure(
            &settings(),
            &endpoint(40, Some(now), Some(now - Duration::hours(71))),
            now,
        );
        assert_eq!(still.active, None);
        let off = failure(
            &settings(),
            &endpoint(40, Some(now), Some(now - Duration::hours(72))),
            now,
        );
        assert_eq!(off.active, Some(false));
        assert!(
            off.disabled_reason
                .flatten()
                .is_some_and(|r| r.contains("3 days"))
        );
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        let base = StdDuration::from_millis(100);
        let asked = StdDuration::from_secs(120);
        assert!(retry_gap(base, 1, Some(asked)) >= asked);
        let too_long = StdDuration::from_secs(24 * 3600);
        assert_eq!(retry_gap(base, 1, Some(too_long)), MAX_GAP);
    }
}
