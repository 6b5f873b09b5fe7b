# Sourced by the CI scripts that test a live server (contract.sh, browser.sh).
#
#   start_demo_server NAME BIN [VAR=value ...]
#
# starts BIN on a fresh SQLite database in a temp dir, with demo content and a known admin, on a
# free port (extra VAR=value settings go into its environment), logs to
# "$LOG_DIR/NAME-server.log", waits until /readyz answers, and stops the server and removes the
# temp dir when the script exits. Sets WORK, BASE, ADMIN_EMAIL and ADMIN_PASSWORD.

stop_demo_server() {
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
}

start_demo_server() {
    local name=$1 bin=$2 port log
    shift 2
    WORK=$(mktemp -d)
    SERVER_PID=
    trap stop_demo_server EXIT
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    BASE=http://127.0.0.1:$port
    ADMIN_EMAIL=admin@example.com
    ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    log="$LOG_DIR/$name-server.log"
    # No rate limits: these scripts send many requests from one address on purpose.
    env FOLIO_ADMIN_EMAIL="$ADMIN_EMAIL" FOLIO_ADMIN_PASSWORD="$ADMIN_PASSWORD" FOLIO_LOG="${FOLIO_LOG:-info}" \
        FOLIO_RATE_LIMIT_ANONYMOUS=0 FOLIO_RATE_LIMIT_AUTHENTICATED=0 FOLIO_RATE_LIMIT_WRITES=0 "$@" \
        "$bin" --database-url "sqlite://$WORK/folio.db" --media-dir "$WORK/media" --bind "127.0.0.1:$port" serve --demo >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "$name: the server exited:" >&2; cat "$log" >&2; exit 1; }
        sleep 0.2
    done
    echo "$name: the server never became ready" >&2
    exit 1
}
