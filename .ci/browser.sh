#!/usr/bin/env bash
# Browser test: Debian's headless Chromium, driven by playwright-core (pinned in
# .ci/browser/package-lock.json; it downloads no browser), logs in through Swagger UI, authorizes,
# creates an article with "Try it out" and reads it back anonymously, then uploads an image
# through the form's file input (.ci/browser/swagger-ui.test.mjs).
#
#   .ci/browser.sh [path/to/folio]          (default: target/release/folio, built by the caller)
#
# Screenshot: ${CI_LOG_DIR:-target/ci-logs}/swagger-ui.png; server log next to it.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/folio}
LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)

[ -x "$BIN" ] || { echo "browser: no server binary at $BIN (run cargo build --release first)" >&2; exit 1; }

. .ci/lib/browser.sh
prepare_browser

# --- a server of our own: temp dir, free port, known admin -------------------------------------
. .ci/demo-server.sh
start_demo_server browser "$BIN"
# The test logs in as this admin.
export FOLIO_ADMIN_EMAIL=$ADMIN_EMAIL FOLIO_ADMIN_PASSWORD=$ADMIN_PASSWORD

echo "browser: Swagger UI at $BASE/swagger-ui/ as $FOLIO_ADMIN_EMAIL"
cd .ci/browser
FOLIO_BASE_URL=$BASE FOLIO_SCREENSHOT="$LOG_DIR/swagger-ui.png" CHROMIUM=$CHROMIUM \
    node --test --test-reporter=spec swagger-ui.test.mjs
