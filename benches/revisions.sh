#!/usr/bin/env bash
# Revisions benchmark: editors changing articles (each change stores a revision holding the
# whole article), what the revisions cost in storage, and the read benchmark's tag list while
# the editors run; on a fresh copy of an N-article database per backend.
#
#   benches/revisions.sh [N] [sqlite] [postgres]        (default 10000, both backends)
#   BENCH_EDITORS=8 BENCH_DURATION=10s benches/revisions.sh 10000 postgres
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
EDITORS=${BENCH_EDITORS:-8}
RESULTS="bench-results/revisions-$N-$(date +%Y%m%dT%H%M%S).txt"

# revision_storage BACKEND URL: "revisions bytes-per-revision average-body-bytes", the bytes
# being the table with its indexes.
revision_storage() {
    case $1 in
        postgres) psql -qtA "$2" -F' ' -c "SELECT (SELECT count(*) FROM article_revisions),
            pg_total_relation_size('article_revisions') / GREATEST((SELECT count(*) FROM article_revisions), 1),
            (SELECT avg(octet_length(body_markdown))::bigint FROM articles)" ;;
        sqlite) python3 - "${2#sqlite://}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
count = db.execute("SELECT count(*) FROM article_revisions").fetchone()[0]
size = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                  "(SELECT name FROM sqlite_master WHERE tbl_name = 'article_revisions')").fetchone()[0]
body = db.execute("SELECT avg(length(CAST(body_markdown AS BLOB))) FROM articles").fetchone()[0]
print(count, size // max(count, 1), int(body))
PY
        ;;
    esac
}

printf '%-9s %-8s %-34s %10s %10s %10s %8s %8s\n' backend N workload 'req/s' p50 p99 'srv µs' 'pg µs' | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    drop_database "$backend" "$N" revisions
    prepare "$backend" "$N" revisions
    url=$(database_url "$backend" "$N" revisions)
    start_server "$url" FOLIO_READ_CACHE_TTL_MS=0 FOLIO_ACCESS_TOKEN_TTL_SECS=3600
    export FOLIO_BENCH_TOKEN FOLIO_BENCH_ARTICLES=$N
    FOLIO_BENCH_TOKEN=$(access_token "$url" bench-editor@example.com editor)
    tag=$(curl -fs "$BASE/api/v1/tags?limit=100" | json "max(d['data'], key=lambda t: t['article_count'])['slug']")
    line=$(printf '%-9s %-8s %-34s %s' "$backend" "$N" "read + edit, $EDITORS editors (½ PATCH)" \
        "$(THREADS=$EDITORS CONNECTIONS=$EDITORS measure "$BASE/api/v1/articles" -s benches/edit_article.lua)")
    echo "$line" | tee -a "$RESULTS"
    line=$(printf '%-9s %-8s %-34s %s' "$backend" "$N" "tag list alone (cache off)" \
        "$(measure "$BASE/api/v1/articles?tag=$tag&limit=20")")
    echo "$line" | tee -a "$RESULTS"
    wrk -t"$EDITORS" -c"$EDITORS" -d"$DURATION" -s benches/edit_article.lua "$BASE/api/v1/articles" >"$WORK/editors.txt" &
    editors_pid=$!
    line=$(printf '%-9s %-8s %-34s %s' "$backend" "$N" "tag list while $EDITORS editors run" \
        "$(measure "$BASE/api/v1/articles?tag=$tag&limit=20")")
    echo "$line" | tee -a "$RESULTS"
    wait "$editors_pid"
    echo "  (editor requests meanwhile: $(awk '/^Requests\/sec:/ {print $2}' "$WORK/editors.txt")/s, half of them edits)" | tee -a "$RESULTS"
    stop_server
    read -r count per_revision body < <(revision_storage "$backend" "$url")
    echo "  storage: $count revisions, $per_revision bytes each with indexes (articles' bodies average $body bytes);" \
        "1M articles × 10 revisions ≈ $((per_revision * 10000000 / 1000000000)) GB" | tee -a "$RESULTS"
done
echo "results in $RESULTS"
