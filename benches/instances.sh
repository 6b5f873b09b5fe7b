#!/usr/bin/env bash
# Two instances on one PostgreSQL database, read caches on for a minute: how long after a
# write through instance A returns does instance B's cached single read show it (p50, p99,
# max over BENCH_WRITES edits, default 1,000)? B is polled every millisecond.
#
#   benches/instances.sh [N]        (N seeded articles, default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/lib.sh

N=${1:-10000}
WRITES=${BENCH_WRITES:-1000}
RESULTS="bench-results/instances-$N-$(date +%Y%m%dT%H%M%S).txt"
B_PORT=$((PORT + 1))

prepare postgres "$N"
url=$(database_url postgres "$N")
start_server "$url" FOLIO_READ_CACHE_TTL_MS=60000
env FOLIO_DATABASE_URL="$url" FOLIO_BIND="127.0.0.1:$B_PORT" FOLIO_LOG=warn \
    FOLIO_RATE_LIMIT_ANONYMOUS=0 FOLIO_READ_CACHE_TTL_MS=60000 "$BIN" serve >"$WORK/server-b.log" 2>&1 &
B=$!
trap 'kill $B 2>/dev/null; stop_server' EXIT
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$B_PORT/readyz" >/dev/null && break; sleep 0.1; done

token=$(access_token "$url" bench-instances@example.com editor)
python3 - "$BASE" "http://127.0.0.1:$B_PORT" "$token" "$WRITES" <<'EOF' | tee "$RESULTS"
import http.client, json, statistics, sys, time, urllib.parse

a_base, b_base, token, writes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def connection(base):
    parts = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(parts.hostname, parts.port)

a, b = connection(a_base), connection(b_base)

def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers or {})
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

status, _, body = call(a, "GET", "/api/v1/articles?limit=1")
article = json.loads(body)["data"][0]
path = f"/api/v1/articles/{article['id']}"
auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
_, headers, _ = call(a, "GET", path, headers=auth)
etag = headers["etag"]
latencies = []
for i in range(writes):
    title = f"Edited through A, {i}"
    status, headers, body = call(a, "PATCH", path, {"title": title}, {**auth, "if-match": etag})
    assert status == 200, (status, body)
    written = time.perf_counter()
    etag = headers["etag"]
    while True:
        _, _, seen = call(b, "GET", path)
        if json.loads(seen)["title"] == title:
            break
        time.sleep(0.001)
    latencies.append((time.perf_counter() - written) * 1000)
latencies.sort()
p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"{writes} writes through A, read through B's cache (TTL 60 s):")
print(f"  p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1]:.1f} ms, "
      f"mean {statistics.mean(latencies):.1f} ms")
EOF
echo "results in $RESULTS"
