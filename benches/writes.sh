#!/usr/bin/env bash
# Write benchmark: article creates per second (published, 3 tags of which about half are new)
# at 1, 8 and 32 concurrent writers, then the read benchmark's tag-filtered list while 8
# writers run, on a fresh copy of an N-article database per backend.
#
#   benches/writes.sh [N] [sqlite] [postgres]        (default 10000, both backends)
#   BENCH_WRITERS="1 8 32" BENCH_DURATION=10s benches/writes.sh 10000 postgres
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
RESULTS="bench-results/writes-$N-$(date +%Y%m%dT%H%M%S).txt"

printf '%-9s %-8s %-32s %10s %10s %10s %8s %8s\n' backend N workload 'req/s' p50 p99 'srv µs' 'pg µs' | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    drop_database "$backend" "$N" writes
    prepare "$backend" "$N" writes
    url=$(database_url "$backend" "$N" writes)
    start_server "$url" FOLIO_READ_CACHE_TTL_MS=0 FOLIO_ACCESS_TOKEN_TTL_SECS=3600
    export FOLIO_BENCH_TOKEN
    FOLIO_BENCH_TOKEN=$(access_token "$url" bench-writer@example.com author)
    tag=$(curl -fs "$BASE/api/v1/tags?limit=100" | json "max(d['data'], key=lambda t: t['article_count'])['slug']")
    for writers in ${BENCH_WRITERS:-1 8 32}; do
        line=$(printf '%-9s %-8s %-32s %s' "$backend" "$N" "create article, $writers writers" \
            "$(CONNECTIONS=$writers measure "$BASE/api/v1/articles" -s benches/create_article.lua)")
        echo "$line" | tee -a "$RESULTS"
    done
    line=$(printf '%-9s %-8s %-32s %s' "$backend" "$N" "tag list alone (cache off)" \
        "$(measure "$BASE/api/v1/articles?tag=$tag&limit=20")")
    echo "$line" | tee -a "$RESULTS"
    wrk -t1 -c8 -d"$DURATION" -s benches/create_article.lua "$BASE/api/v1/articles" >"$WORK/writers.txt" &
    writers_pid=$!
    line=$(printf '%-9s %-8s %-32s %s' "$backend" "$N" "tag list while 8 writers run" \
        "$(measure "$BASE/api/v1/articles?tag=$tag&limit=20")")
    echo "$line" | tee -a "$RESULTS"
    wait "$writers_pid"
    echo "  (creates meanwhile: $(awk '/^Requests\/sec:/ {print $2}' "$WORK/writers.txt")/s)" | tee -a "$RESULTS"
    stop_server
done
echo "results in $RESULTS"
