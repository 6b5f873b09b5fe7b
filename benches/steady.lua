-- wrk script: each connection waits a random time between requests, exponentially
-- distributed with mean STEADY_DELAY_MS, so 64 connections offer a steady rate
-- (64 × 1000 / mean requests/s) with arrivals at random, as independent readers make them,
-- instead of as many as the server can take. Latency then shows the request path at that
-- load, not the queue a saturated server builds. (A fixed delay keeps the connections in
-- step: every request of a round arrives at once.)
local mean_ms = tonumber(os.getenv("STEADY_DELAY_MS") or "0")

function delay()
    return math.floor(-math.log(1 - math.random()) * mean_ms)
end
