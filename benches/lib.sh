# Sourced by the benchmark scripts: the release binary, seeded databases (kept between runs),
# a server on a fixed port, and wrk measurements.
#
# Settings (environment): BENCH_DURATION (10s), BENCH_CONNECTIONS (64), BENCH_THREADS (1),
# BENCH_PORT (18080), BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres),
# BENCH_BIN (a saved server binary to measure instead of building this checkout's, e.g. to
# compare against an older build), BENCH_DB_NAME (bench: which seeded databases; give an older
# build databases of its own schema, seeded by it).

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-1}
PORT=${BENCH_PORT:-18080}
PG_ADMIN=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=target/bench
BIN=${BENCH_BIN:-target/release/folio}
BASE="http://127.0.0.1:$PORT"
mkdir -p "$WORK" bench-results

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null; }
[ -n "${BENCH_BIN:-}" ] || cargo build --release --quiet

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# database_url BACKEND N [NAME]: where the seeded database of N articles lives.
database_url() {
    local name=${3:-${BENCH_DB_NAME:-bench}}
    case $1 in
        sqlite) echo "sqlite://$WORK/$name-$2.db" ;;
        postgres) echo "${PG_ADMIN%/*}/folio_${name}_$2" ;;
    esac
}

# prepare BACKEND N [NAME]: seeds the database once; later runs reuse it.
prepare() {
    local backend=$1 n=$2 name=${3:-${BENCH_DB_NAME:-bench}} url
    url=$(database_url "$backend" "$n" "$name")
    if [ "$backend" = postgres ]; then
        psql -q "$PG_ADMIN" -tc "SELECT 1 FROM pg_database WHERE datname = 'folio_${name}_$n'" | grep -q 1 ||
            psql -q "$PG_ADMIN" -c "CREATE DATABASE folio_${name}_$n" >/dev/null
    fi
    if "$BIN" --database-url "$url" --log warn seed --articles "$n" --tags 40 --authors 20 --seed 42 2>"$WORK/seed.err"; then
        :
    elif grep -q "already has" "$WORK/seed.err"; then
        echo "(reusing the seeded $backend database of $n articles)"
    else
        cat "$WORK/seed.err" >&2
        exit 1
    fi
}

# drop_database BACKEND N NAME: for benchmarks that write, so each run starts alike.
drop_database() {
    case $1 in
        sqlite) rm -f "$WORK/$3-$2.db" "$WORK/$3-$2.db-wal" "$WORK/$3-$2.db-shm" ;;
        postgres) psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS folio_${3}_$2 WITH (FORCE)" >/dev/null ;;
    esac
}

SERVER=
# A command the server runs under (benches/instructions.sh: valgrind), words split on spaces.
LAUNCHER=
# start_server URL [VAR=value ...]: the release server on $PORT, rate and login limits off
# (every request here comes from one address; BENCH_RATE_LIMIT=n sets the per-minute limits
# to n instead, to measure what limiting costs), extra settings in its environment.
# No last good copies: a request the database could not answer in time must count as the
# error it is, not as a stale copy served at memory speed.
start_server() {
    local url=$1
    shift
    case $url in postgres*) SERVER_DB=postgres ;; *) SERVER_DB=sqlite ;; esac
    # shellcheck disable=SC2086
    env FOLIO_DATABASE_URL="$url" FOLIO_BIND="127.0.0.1:$PORT" FOLIO_LOG=warn \
        FOLIO_LOGIN_LIMIT_PER_ADDRESS=0 FOLIO_LOGIN_LIMIT_PER_ACCOUNT=0 \
        FOLIO_RATE_LIMIT_ANONYMOUS="${BENCH_RATE_LIMIT:-0}" \
        FOLIO_RATE_LIMIT_AUTHENTICATED="${BENCH_RATE_LIMIT:-0}" \
        FOLIO_RATE_LIMIT_WRITES="${BENCH_RATE_LIMIT:-0}" FOLIO_STALE_CACHE_MB=0 "$@" \
        ${LAUNCHER:-} "$BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER=$!
    # Under valgrind, start-up takes some twenty times as long.
    local tries=300
    [ -n "${LAUNCHER:-}" ] && tries=6000
    for _ in $(seq 1 "$tries"); do
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

# cpu_ticks PID...: user+system CPU time of these processes so far, in clock ticks.
cpu_ticks() {
    local total=0 pid fields
    for pid in "$@"; do
        fields=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
        total=$((total + ${fields% *} + ${fields#* }))
    done
    echo "$total"
}

# The PostgreSQL server processes (all of them: the backends serving Folio and the rest).
postgres_pids() { pgrep -x postgres || true; }

# measure URL [wrk arguments...]: prints "requests/s p50 p99 server-µs/req postgres-µs/req",
# the last two being CPU time per request (postgres "-" when the server uses SQLite); warns
# about non-2xx answers.
measure() {
    local out rps p50 p99 url=$1 requests server0 server1 pg0 pg1 hz pids
    shift
    hz=$(getconf CLK_TCK)
    pids=$(postgres_pids)
    # $SERVER may name several processes (benches/balanced.sh).
    # shellcheck disable=SC2086
    server0=$(cpu_ticks $SERVER)
    # shellcheck disable=SC2086
    pg0=$(cpu_ticks $pids)
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
    # shellcheck disable=SC2086
    server1=$(cpu_ticks $SERVER)
    # shellcheck disable=SC2086
    pg1=$(cpu_ticks $(postgres_pids))
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "non-2xx responses for $url:" >&2
        grep "Non-2xx" <<<"$out" >&2
    fi
    local server_us pg_us="-"
    server_us=$(( (server1 - server0) * 1000000 / hz / (requests > 0 ? requests : 1) ))
    if [ "${SERVER_DB:-}" = postgres ]; then
        pg_us=$(( (pg1 - pg0) * 1000000 / hz / (requests > 0 ? requests : 1) ))
    fi
    printf '%10s %10s %10s %8s %8s' "$rps" "$p50" "$p99" "$server_us" "$pg_us"
}

# access_token URL EMAIL ROLE: creates the user if needed and prints an access token.
access_token() {
    local url=$1 email=$2 role=$3
    "$BIN" --database-url "$url" --log warn user create --email "$email" --name "Bench $role" \
        --role "$role" --password-stdin <<<"benchmark password 1" >/dev/null 2>&1 || true
    curl -fs -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"benchmark password 1\"}" \
        "$BASE/api/v1/auth/login" | json "d['access_token']"
}

# biggest_tags: the running server's two tags with the most articles, most first.
biggest_tags() {
    curl -fs "$BASE/api/v1/tags?limit=100" |
        json "' '.join(t['slug'] for t in sorted(d['data'], key=lambda t: -t['article_count'])[:2])"
}

# busiest_author: the running server's author with the most articles.
busiest_author() {
    curl -fs "$BASE/api/v1/authors?limit=100" | json "max(d['data'], key=lambda a: a['article_count'])['slug']"
}

# oldest_tag: the running server's tag whose newest article is oldest (the seed retires one:
# it is on the oldest tenth of the articles only), or BENCH_OLD_TAG (for a build too slow to
# list it: before tag timelines, its first page timed out at a million articles).
oldest_tag() {
    [ -n "${BENCH_OLD_TAG:-}" ] && { echo "$BENCH_OLD_TAG"; return; }
    python3 - "$BASE" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
tags = json.load(urllib.request.urlopen(base + "/api/v1/tags?limit=100"))["data"]
def newest(slug):
    page = json.load(urllib.request.urlopen(f"{base}/api/v1/articles?tag={slug}&limit=1&count=none"))
    return page["data"][0]["published_at"] if page["data"] else "9999"
print(min((t["slug"] for t in tags if t["article_count"]), key=newest))
PY
}
