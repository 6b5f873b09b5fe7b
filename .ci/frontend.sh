#!/usr/bin/env bash
# Browser test of the example frontend (examples/blog), served from a DIFFERENT origin than the
# API, as a real deployment would be: Debian's headless Chromium, driven by playwright-core
# (pinned in .ci/browser/package-lock.json), reads the blog through CORS
# (.ci/browser/frontend.test.mjs). Two phases:
#   allowed: the server's FOLIO_CORS_ORIGINS names the frontend's origin; tag page, "Load more",
#            article page and a draft's preview link show what the API says.
#   blocked: the server is restarted allowing only another origin; the browser refuses the
#            reads and the page must say so (#error) rather than stay blank.
#
#   .ci/frontend.sh [path/to/folio]          (default: target/release/folio, built by the caller)
#
# Screenshots: ${CI_LOG_DIR:-target/ci-logs}/frontend-*.png; server logs next to them.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/folio}
LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
SITE_TITLE="Folio CI Blog"

[ -x "$BIN" ] || { echo "frontend: no server binary at $BIN (run cargo build --release first)" >&2; exit 1; }

. .ci/lib/browser.sh
prepare_browser

. .ci/demo-server.sh

# The static site: its own free port, hence its own origin.
FRONTEND_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
FRONTEND=http://127.0.0.1:$FRONTEND_PORT
FRONTEND_PID=

stop_frontend() {
    if [ -n "$FRONTEND_PID" ]; then
        kill "$FRONTEND_PID" 2>/dev/null || true
        wait "$FRONTEND_PID" 2>/dev/null || true
        FRONTEND_PID=
    fi
}

# Started after the API server in each phase, because start_demo_server sets its own EXIT trap:
# this one, set later, stops both.
serve_frontend() {
    python3 -m http.server "$FRONTEND_PORT" --bind 127.0.0.1 --directory examples/blog \
        >>"$LOG_DIR/frontend-http.log" 2>&1 &
    FRONTEND_PID=$!
    trap 'stop_frontend; stop_demo_server' EXIT
    for _ in $(seq 1 50); do
        curl -fsS -o /dev/null "$FRONTEND/config.js" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "frontend: the static server never answered on $FRONTEND" >&2
    exit 1
}

# Feeds and preview links are built from the site's URL templates: point them at the frontend.
configure_site() {
    local api=$BASE/api/v1 token etag
    token=$(curl -fsS -H 'Content-Type: application/json' \
        -d "$(python3 -c 'import json, sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$ADMIN_EMAIL" "$ADMIN_PASSWORD")" \
        "$api/auth/login" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
    etag=$(curl -fsS -o /dev/null -D - "$api/site" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }')
    curl -sS --fail-with-body -o /dev/null -X PATCH "$api/site" \
        -H "Authorization: Bearer $token" -H "If-Match: $etag" -H 'Content-Type: application/json' \
        -d "$(python3 -c 'import json, sys; print(json.dumps({
                "title": sys.argv[1],
                "url": sys.argv[2],
                "article_url": "{url}/article.html?slug={slug}",
                "tag_url": "{url}/tag.html?slug={slug}",
                "author_url": "{url}/author.html?slug={slug}",
            }))' "$SITE_TITLE" "$FRONTEND")"
}

run_test() { # CASE: allowed | blocked
    (
        cd .ci/browser
        FOLIO_FRONTEND_CASE=$1 FOLIO_API_BASE=$BASE/api/v1 FOLIO_FRONTEND_URL=$FRONTEND \
            FOLIO_ADMIN_EMAIL=$ADMIN_EMAIL FOLIO_ADMIN_PASSWORD=$ADMIN_PASSWORD \
            FOLIO_SCREENSHOT_DIR=$LOG_DIR CHROMIUM=$CHROMIUM \
            node --test --test-reporter=spec frontend.test.mjs
    )
}

echo "frontend: phase 1, the API allows $FRONTEND"
start_demo_server frontend "$BIN" FOLIO_CORS_ORIGINS="$FRONTEND"
serve_frontend
configure_site
echo "frontend: $FRONTEND/tag.html?slug=rust&api=$BASE/api/v1"
run_test allowed

echo "frontend: phase 2, the API allows only http://other.example"
stop_frontend
stop_demo_server
start_demo_server frontend-blocked "$BIN" FOLIO_CORS_ORIGINS=http://other.example
serve_frontend
run_test blocked
