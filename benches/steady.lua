-- wrk script: each connection waits STEADY_DELAY_MS between requests, so 64 connections offer
-- a steady rate (64 × 1000 / delay requests/s) instead of as many as the server can take.
-- Latency then shows the request path at that load, not the queue a saturated server builds.
local delay_ms = tonumber(os.getenv("STEADY_DELAY_MS") or "0")

function delay()
    return delay_ms
end
