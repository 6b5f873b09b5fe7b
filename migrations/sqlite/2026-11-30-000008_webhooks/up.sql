-- Webhooks: endpoints that receive signed events, and the outbox of their deliveries. A
-- delivery row is written in the same transaction as the change it announces, so a
-- committed change is always delivered (at least once) and a rolled-back one never is.
CREATE TABLE webhooks (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    url                   TEXT NOT NULL,
    -- Space-separated event names (`article.published tag.created`).
    events                TEXT NOT NULL,
    description           TEXT NOT NULL,
    active                BOOLEAN NOT NULL,
    -- Why Folio deactivated it (failing for too long); null when active or turned off by hand.
    disabled_reason       TEXT,
    -- Standard Webhooks secret, whsec_<base64>; after a rotation the old one signs too,
    -- until previous_secret_until.
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until TIMESTAMP,
    version               INTEGER NOT NULL,
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    -- The circuit breaker: closed while breaker_open_until is null; open until that time;
    -- half-open (one probe) after it.
    consecutive_failures  INTEGER NOT NULL,
    breaker_open_until    TIMESTAMP,
    breaker_cooldown_ms   BIGINT NOT NULL,
    failing_since         TIMESTAMP,
    last_success_at       TIMESTAMP,
    last_failure_at       TIMESTAMP
);

CREATE TABLE webhook_deliveries (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    webhook_id           BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The webhook-id header: the same on every attempt, so receivers can deduplicate.
    message_id           TEXT NOT NULL UNIQUE,
    event_type           TEXT NOT NULL,
    -- The body, exactly as sent (the signature covers these bytes).
    payload              TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    -- pending, delivered or failed.
    status               TEXT NOT NULL,
    attempts             INTEGER NOT NULL,
    next_attempt_at      TIMESTAMP NOT NULL,
    -- Retries stop after this time (24 hours after the event, or after a manual retry).
    give_up_at           TIMESTAMP NOT NULL,
    -- Set while an instance is sending it: no other takes it until then.
    claimed_until        TIMESTAMP,
    last_attempt_at      TIMESTAMP,
    last_response_status INTEGER,
    last_error           TEXT,
    last_duration_ms     INTEGER,
    delivered_at         TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
-- Deliveries being sent (the claim is cleared when the attempt is recorded): few rows.
CREATE INDEX webhook_deliveries_claimed ON webhook_deliveries (webhook_id) WHERE claimed_until IS NOT NULL;
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at) WHERE status = 'delivered';
