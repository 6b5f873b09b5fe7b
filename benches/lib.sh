# Sourced by the benchmark scripts: the release binary, seeded databases (kept between runs),
# a server on a fixed port, and wrk measurements.
#
# Settings (environment): BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (1),
# BENCH_PORT (18080), BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres).

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-1}
PORT=${BENCH_PORT:-18080}
PG_ADMIN=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=target/bench
BIN=target/release/folio
BASE="http://127.0.0.1:$PORT"
mkdir -p "$WORK" bench-results

command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; apt-get install -y wrk >/dev/null; }
cargo build --release --quiet

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# database_url BACKEND N [NAME]: where the seeded database of N articles lives.
database_url() {
    local name=${3:-bench}
    case $1 in
        sqlite) echo "sqlite://$WORK/$name-$2.db" ;;
        postgres) echo "${PG_ADMIN%/*}/folio_${name}_$2" ;;
    esac
}

# prepare BACKEND N [NAME]: seeds the database once; later runs reuse it.
prepare() {
    local backend=$1 n=$2 name=${3:-bench} url
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
# start_server URL [VAR=value ...]: the release server on $PORT, login limits off (every
# request here comes from one address), extra settings in its environment.
start_server() {
    local url=$1
    shift
    env FOLIO_DATABASE_URL="$url" FOLIO_BIND="127.0.0.1:$PORT" FOLIO_LOG=warn \
        FOLIO_LOGIN_LIMIT_PER_ADDRESS=0 FOLIO_LOGIN_LIMIT_PER_ACCOUNT=0 "$@" \
        "$BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 300); do
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

# measure URL [wrk arguments...]: prints "requests/s p50 p99"; warns about non-2xx answers.
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

# access_token URL EMAIL ROLE: creates the user if needed and prints an access token.
access_token() {
    local url=$1 email=$2 role=$3
    "$BIN" --database-url "$url" --log warn user create --email "$email" --name "Bench $role" \
        --role "$role" --password-stdin <<<"benchmark password 1" >/dev/null 2>&1 || true
    curl -fs -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"benchmark password 1\"}" \
        "$BASE/api/v1/auth/login" | json "d['access_token']"
}
