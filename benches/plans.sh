#!/usr/bin/env bash
# The query plans behind the list endpoints on a seeded N-article database: the server runs
# with every cache off and the slow-query log at 0 ms, each request is made once, and each
# statement it ran is explained: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN
# on SQLite.
#
#   benches/plans.sh [N] [sqlite] [postgres]        (default 10000, both backends)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
RESULTS="bench-results/plans-$N-$(date +%Y%m%dT%H%M%S).txt"
command -v sqlite3 >/dev/null || { echo "installing sqlite3 (Debian package)"; apt-get install -y sqlite3 >/dev/null; }

for backend in "${BACKENDS[@]}"; do
    prepare "$backend" "$N"
    url=$(database_url "$backend" "$N")
    start_server "$url" FOLIO_READ_CACHE_TTL_MS=0 FOLIO_COUNT_CACHE_TTL_MS=0 \
        FOLIO_SLOW_QUERY_MS=0 FOLIO_SLOW_QUERY_BINDS=true FOLIO_LOG=warn FOLIO_LOG_FORMAT=json
    read -r tag second < <(biggest_tags)
    author=$(busiest_author)
    old_tag=$(oldest_tag)
    sleep 1
    for path in \
        "/api/v1/articles?tag=$tag&limit=20" \
        "/api/v1/articles?tag=$tag,$second&tag_match=all&limit=20" \
        "/api/v1/articles?tag=$old_tag&limit=20" \
        "/api/v1/articles?tag=$tag,$second&tag_match=all&exclude_tag=$old_tag&limit=20" \
        "/api/v1/articles?exclude_tag=$tag&limit=20" \
        "/api/v1/articles?author=$author&limit=20" \
        "/api/v1/articles?published_after=2025-01-01T00:00:00Z&published_before=2025-07-01T00:00:00Z&limit=20"; do
        from=$(wc -l <"$WORK/server.log")
        curl -fs -o /dev/null "$BASE$path"
        sleep 0.2
        tail -n +"$((from + 1))" "$WORK/server.log" |
            python3 benches/explain.py "$backend" "$url" "$backend $N: GET $path" | tee -a "$RESULTS"
    done
    stop_server
done
echo "results in $RESULTS"
