#!/usr/bin/env bash
# Webhook benchmark (benches/webhooks.py): delivery latency idle and under the read benchmark's
# load, events per second to 1 and 8 endpoints, and the tag list's rate with webhooks flowing
# beside it against without; the receiver is on 127.0.0.1. Fresh N-article database per backend.
#
#   benches/webhooks.sh [N] [sqlite] [postgres]        (default 10000, both backends)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
RESULTS="bench-results/webhooks-$N-$(date +%Y%m%dT%H%M%S).txt"

for backend in "${BACKENDS[@]}"; do
    drop_database "$backend" "$N" webhooks
    prepare "$backend" "$N" webhooks
    url=$(database_url "$backend" "$N" webhooks)
    start_server "$url" FOLIO_READ_CACHE_TTL_MS=0 FOLIO_ACCESS_TOKEN_TTL_SECS=3600 \
        FOLIO_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true
    token=$(access_token "$url" bench-hooks@example.com admin)
    tag=$(curl -fs "$BASE/api/v1/tags?limit=100" | json "max(d['data'], key=lambda t: t['article_count'])['slug']")
    echo "== $backend, $N articles" | tee -a "$RESULTS"
    BENCH_DURATION=$DURATION python3 benches/webhooks.py "$BASE" "$token" "$BASE/api/v1/articles?tag=$tag&limit=20" | tee -a "$RESULTS"
    stop_server
done
echo "results in $RESULTS"
