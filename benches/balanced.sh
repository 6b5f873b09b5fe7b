#!/usr/bin/env bash
# Reads through the load balancer of deploy/ (HAProxy, deploy/haproxy.cfg) in front of one and
# then two release servers on the seeded N-article PostgreSQL database: the tag-filtered list
# and one article by slug, read cache on and off, plus the same read straight to one instance
# (what the balancer's hop costs). On one 2-core machine the instances, HAProxy, PostgreSQL
# and wrk share the same cores, so a second instance cannot add capacity here; what it shows
# is that two instances serve as one does, not that they serve twice as much.
#
#   benches/balanced.sh [N]          (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

N=${1:-10000}
RESULTS="bench-results/balanced-$N-$(date +%Y%m%dT%H%M%S).txt"
LB_PORT=$((PORT + 10))
command -v haproxy >/dev/null || { echo "installing haproxy (Debian package)"; apt-get install -y haproxy >/dev/null; }

prepare postgres "$N"
url=$(database_url postgres "$N")

INSTANCES=()
start_instance() { # PORT TTL
    env FOLIO_DATABASE_URL="$url" FOLIO_BIND="127.0.0.1:$1" FOLIO_LOG=warn \
        FOLIO_RATE_LIMIT_ANONYMOUS=0 FOLIO_READ_CACHE_TTL_MS="$2" FOLIO_TRUSTED_PROXIES=127.0.0.1/32 \
        "$BIN" serve >"$WORK/instance-$1.log" 2>&1 &
    INSTANCES+=($!)
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.1; done
    echo "instance on $1 did not start" >&2
    exit 1
}
HAPROXY=
stop_all() {
    # A killed process's exit status is not a failure of this script.
    if [ -n "$HAPROXY" ]; then kill "$HAPROXY" 2>/dev/null; wait "$HAPROXY" 2>/dev/null || true; fi
    for pid in "${INSTANCES[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
    INSTANCES=()
    HAPROXY=
}
trap stop_all EXIT

printf '%-30s %-6s %-24s %10s %10s %10s %8s %8s\n' setup cache endpoint 'req/s' p50 p99 'srv µs' 'pg µs' | tee "$RESULTS"
for ttl in 1000 0; do
    cache=$([ "$ttl" = 0 ] && echo off || echo on)
    for instances in 1 2; do
        a=$((PORT + 1)) b=$((PORT + 2))
        start_instance "$a" "$ttl"
        if [ "$instances" = 2 ]; then start_instance "$b" "$ttl"; fi
        sed -e "s/127.0.0.1:8080/127.0.0.1:$LB_PORT/" -e "s/127.0.0.1:8001/127.0.0.1:$a/" \
            -e "s/127.0.0.1:8002/127.0.0.1:$b/" -e 's/^    log stdout.*//' deploy/haproxy.cfg >"$WORK/haproxy.cfg"
        haproxy -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
        HAPROXY=$!
        # Until HAProxy's checks have found the instances up (rise 2, every 2 s).
        for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$LB_PORT/readyz" >/dev/null && break; sleep 0.1; done
        sleep 5
        # measure() charges the server CPU of $SERVER: count all instances.
        read -r tag < <(curl -fs "http://127.0.0.1:$LB_PORT/api/v1/tags?limit=100" |
            json "max(d['data'], key=lambda t: t['article_count'])['slug']")
        slug=$(curl -fs "http://127.0.0.1:$LB_PORT/api/v1/articles?limit=1" | json "d['data'][0]['slug']")
        SERVER="${INSTANCES[*]}"
        SERVER_DB=postgres
        for endpoint in "tag-filtered list|/api/v1/articles?tag=$tag&limit=20" "article by slug|/api/v1/articles/slug/$slug"; do
            name=${endpoint%%|*} path=${endpoint#*|}
            if [ "$instances" = 1 ]; then
                SERVER=${INSTANCES[0]}
                printf '%-30s %-6s %-24s %s\n' "1 instance, direct" "$cache" "$name" \
                    "$(measure "http://127.0.0.1:$a$path")" | tee -a "$RESULTS"
            fi
            # shellcheck disable=SC2086
            printf '%-30s %-6s %-24s %s\n' "HAProxy + $instances instance(s)" "$cache" "$name" \
                "$(measure "http://127.0.0.1:$LB_PORT$path")" | tee -a "$RESULTS"
        done
        SERVER=
        stop_all
    done
done
echo "results in $RESULTS"
