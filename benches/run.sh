#!/usr/bin/env bash
# Read-path benchmark: seeds N articles (once per backend and N, reused afterwards), starts the
# release server and drives each endpoint with wrk, printing requests/s and p50/p99 latency,
# with the in-memory read cache on (the default) and off (every request reaches the database).
#
#   benches/run.sh [N] [sqlite] [postgres]
#   BENCH_DURATION=10s BENCH_CONNECTIONS=32 BENCH_THREADS=1 benches/run.sh 10000
#   BENCH_CACHE_TTLS=1000 benches/run.sh 1000000 sqlite     (cache on only; "0" is cache off)
#
# Server and load generator share this machine's cores, as on a developer laptop.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
PORT=${BENCH_PORT:-18080}
PG_ADMIN=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=target/bench
BIN=target/release/folio
BASE="http://127.0.0.1:$PORT"
mkdir -p "$WORK" bench-results
RESULTS="bench-results/reads-$N-$(date +%Y%m%dT%H%M%S).txt"

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null; }
cargo build --release --quiet

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

database_url() {
    case $1 in
        sqlite) echo "sqlite://$WORK/bench-$N.db" ;;
        postgres) echo "${PG_ADMIN%/*}/folio_bench_$N" ;;
    esac
}

prepare() {
    local backend=$1 url
    url=$(database_url "$backend")
    if [ "$backend" = postgres ]; then
        psql -q "$PG_ADMIN" -tc "SELECT 1 FROM pg_database WHERE datname = 'folio_bench_$N'" | grep -q 1 ||
            psql -q "$PG_ADMIN" -c "CREATE DATABASE folio_bench_$N" >/dev/null
    fi
    if "$BIN" --database-url "$url" --log warn seed --articles "$N" --tags 40 --authors 20 --seed 42 2>"$WORK/seed.err"; then
        :
    elif grep -q "already has" "$WORK/seed.err"; then
        echo "(reusing the seeded $backend database)"
    else
        cat "$WORK/seed.err" >&2
        exit 1
    fi
}

SERVER=
start_server() {
    local url=$1 ttl=$2
    # Login limits off: every login here comes from one address and one account.
    FOLIO_DATABASE_URL=$url FOLIO_BIND=127.0.0.1:$PORT FOLIO_READ_CACHE_TTL_MS=$ttl FOLIO_LOG=warn \
        FOLIO_LOGIN_LIMIT_PER_ADDRESS=0 FOLIO_LOGIN_LIMIT_PER_ACCOUNT=0 \
        "$BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do
        curl -fs "$BASE/readyz" >/dev/null && return 0
        sleep 0.1
    done
    echo "server did not start:" >&2
    cat "$WORK/server.log" >&2
    exit 1
}
stop_server() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    SERVER=
}
trap stop_server EXIT

# Prints "requests/s p50 p99" for one URL (extra wrk arguments may follow).
measure() {
    local out rps p50 p99 url=$1
    shift
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "non-2xx responses for $url:" >&2
        grep "Non-2xx" <<<"$out" >&2
    fi
    printf '%10s %10s %10s' "$rps" "$p50" "$p99"
}

printf '%-9s %-8s %-6s %-22s %10s %10s %10s\n' backend N cache endpoint 'req/s' p50 p99 | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    prepare "$backend"
    url=$(database_url "$backend")
    for ttl in ${BENCH_CACHE_TTLS:-1000 0}; do
        cache=$([ "$ttl" = 0 ] && echo off || echo on)
        start_server "$url" "$ttl"
        tag=$(curl -fs "$BASE/api/v1/tags?limit=100" | json "max(d['data'], key=lambda t: t['article_count'])['slug']")
        pages=$(curl -fs "$BASE/api/v1/articles?limit=20" | json "d['meta']['pages']")
        deep=$((pages * 9 / 10 > 1 ? pages * 9 / 10 : 2))
        cursor=$(curl -fs "$BASE/api/v1/articles?limit=20&page=$((deep - 1))" | json "d['meta']['next_cursor']")
        slug=$(curl -fs "$BASE/api/v1/articles?limit=1&page=$((pages * 10))" | json "d['data'][0]['slug']")
        declare -a names=("tag-filtered list" "page 1" "deep page by cursor" "deep page by number" "article by slug" "healthz (ceiling)")
        declare -a paths=(
            "/api/v1/articles?tag=$tag&limit=20"
            "/api/v1/articles?limit=20"
            "/api/v1/articles?limit=20&cursor=$cursor"
            "/api/v1/articles?limit=20&page=$deep"
            "/api/v1/articles/slug/$slug"
            "/healthz"
        )
        for i in "${!names[@]}"; do
            line=$(printf '%-9s %-8s %-6s %-22s %s' "$backend" "$N" "$cache" "${names[$i]}" "$(measure "$BASE${paths[$i]}")")
            echo "$line" | tee -a "$RESULTS"
        done
        if [ "$cache" = off ]; then
            # Logins (argon2id, 19 MiB, t=2) alone, then the tag-filtered list while logins run.
            "$BIN" --database-url "$url" --log warn user create --email bench@example.com --name Bench \
                --role author --password-stdin <<<"benchmark password 1" >/dev/null 2>&1 || true
            line=$(printf '%-9s %-8s %-6s %-22s %s' "$backend" "$N" "$cache" "login" \
                "$(CONNECTIONS=4 measure "$BASE/api/v1/auth/login" -s benches/login.lua)")
            echo "$line" | tee -a "$RESULTS"
            CONNECTIONS=4 wrk -t1 -c4 -d"$DURATION" -s benches/login.lua "$BASE/api/v1/auth/login" >"$WORK/logins.txt" &
            logins=$!
            line=$(printf '%-9s %-8s %-6s %-22s %s' "$backend" "$N" "$cache" "tag list during logins" \
                "$(measure "$BASE${paths[0]}")")
            echo "$line" | tee -a "$RESULTS"
            wait "$logins"
            echo "  (logins meanwhile: $(awk '/^Requests\/sec:/ {print $2}' "$WORK/logins.txt")/s)" | tee -a "$RESULTS"
        fi
        stop_server
    done
done
echo "deep pages: page $deep of $pages (20 per page); tag: $tag; results in $RESULTS"
