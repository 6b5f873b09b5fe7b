#!/usr/bin/env bash
# Browser test of single sign-on: a test OpenID provider on 127.0.0.1
# (.ci/browser/oidc-provider.mjs), a Folio that trusts it, and Debian's headless Chromium, driven
# by playwright-core, signing in through Swagger UI's Authorize dialog and then calling
# GET /api/v1/me with the provider's token (.ci/browser/swagger-ui-oidc.test.mjs).
#
#   .ci/browser-oidc.sh [path/to/folio]     (default: target/release/folio, built by the caller)
#
# Screenshot: ${CI_LOG_DIR:-target/ci-logs}/swagger-ui-oidc.png; the provider's log
# (oidc-provider.log) and the server's (browser-oidc-server.log) next to it.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/folio}
LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)

[ -x "$BIN" ] || { echo "browser-oidc: no server binary at $BIN (run cargo build --release first)" >&2; exit 1; }

. .ci/lib/browser.sh
prepare_browser

# --- the provider: first, since Folio is told its issuer when it starts ----------------------
# Its user; the provider signs it into its tokens and the test looks for it in GET /api/v1/me.
export OIDC_EMAIL=sso.writer@example.com OIDC_GROUPS=writers
OIDC_LOG="$LOG_DIR/oidc-provider.log"
OIDC_PID=

stop_oidc_provider() {
    if [ -n "$OIDC_PID" ]; then
        kill "$OIDC_PID" 2>/dev/null || true
        wait "$OIDC_PID" 2>/dev/null || true
        OIDC_PID=
    fi
}

# Port 0: the provider takes a free port and says which on its first line, so no port is
# picked here and then raced for.
OIDC_PORT=0 node .ci/browser/oidc-provider.mjs >"$OIDC_LOG" 2>&1 &
OIDC_PID=$!
trap stop_oidc_provider EXIT
ISSUER=
for _ in $(seq 1 100); do
    ISSUER=$(sed -n 's/^listening //p' "$OIDC_LOG")
    [ -n "$ISSUER" ] && break
    kill -0 "$OIDC_PID" 2>/dev/null || { echo "browser-oidc: the provider exited:" >&2; cat "$OIDC_LOG" >&2; exit 1; }
    sleep 0.2
done
[ -n "$ISSUER" ] || { echo "browser-oidc: the provider never said where it listens" >&2; exit 1; }
echo "browser-oidc: OpenID provider at $ISSUER"

# --- Folio and the test, in a subshell ------------------------------------------------------
# start_demo_server sets its own EXIT trap (stop the server), and exits when the server does not
# start: in a subshell that trap is the subshell's, and this script's stops the provider
# whichever way the subshell ends. The provider's groups claim "writers" makes an author.
(
    . .ci/demo-server.sh
    start_demo_server browser-oidc "$BIN" \
        FOLIO_OIDC_ISSUER="$ISSUER" FOLIO_OIDC_CLIENT_ID=folio-docs \
        FOLIO_OIDC_ROLE_CLAIM=groups FOLIO_OIDC_ROLE_MAP=writers:author \
        FOLIO_OIDC_REDIRECT_URIS=http://127.0.0.1:9/unused

    echo "browser-oidc: Swagger UI at $BASE/swagger-ui/, signing in as $OIDC_EMAIL"
    cd .ci/browser
    FOLIO_BASE_URL=$BASE FOLIO_SCREENSHOT="$LOG_DIR/swagger-ui-oidc.png" CHROMIUM=$CHROMIUM \
        OIDC_EXPECTED_ROLE=author \
        node --test --test-reporter=spec swagger-ui-oidc.test.mjs
)
