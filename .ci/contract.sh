#!/usr/bin/env bash
# Contract test: schemathesis drives a live release server (demo content, a known admin) over every
# operation of the served OpenAPI document with all of its checks: server errors, undocumented
# status codes, content types, response schemas and headers, positive/negative data, unsupported
# methods, missing auth, and the stateful ones (use after free, resource availability).
# Any failure makes this script exit non-zero.
#
#   .ci/contract.sh [path/to/folio]          (default: target/release/folio, built by the caller)
#
# FOLIO_CONTRACT_SCHEMA=path tests that document instead of the served one (to try a fix).
# FOLIO_CONTRACT_MAX_EXAMPLES (default 50) bounds the cases per operation and phase;
# FOLIO_CONTRACT_SEED (default 1) fixes the generator, so CI runs are repeatable (pass another seed,
# or `random`, to explore). Logs and a JUnit report go to ${CI_LOG_DIR:-target/ci-logs}.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
BIN=${1:-target/release/folio}
MAX_EXAMPLES=${FOLIO_CONTRACT_MAX_EXAMPLES:-50}
SEED=${FOLIO_CONTRACT_SEED:-1}
LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)

[ -x "$BIN" ] || { echo "contract: no server binary at $BIN (run cargo build --release first)" >&2; exit 1; }

# --- schemathesis, pinned; installed only when missing or at another version -------------------
PY=${PYTHON:-python3}
if [ "$("$PY" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)" != "$SCHEMATHESIS_VERSION" ]; then
    echo "contract: installing schemathesis $SCHEMATHESIS_VERSION"
    "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi
ST="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/schemathesis"

# --- a server of our own: temp dir, free port, known admin -------------------------------------
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')

FOLIO_ADMIN_EMAIL=$ADMIN_EMAIL FOLIO_ADMIN_PASSWORD=$ADMIN_PASSWORD FOLIO_LOG=info \
    "$BIN" --database-url "sqlite://$WORK/folio.db" --bind "127.0.0.1:$PORT" serve --demo \
    >"$LOG_DIR/contract-server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "contract: the server exited:" >&2; cat "$LOG_DIR/contract-server.log" >&2; exit 1; }
    sleep 0.2
done
curl -fsS -o /dev/null "$BASE/readyz" || { echo "contract: the server never became ready" >&2; exit 1; }

SCHEMA=$BASE/api-docs/openapi.json
if [ -n "${FOLIO_CONTRACT_SCHEMA:-}" ]; then
    SCHEMA=$(realpath "$FOLIO_CONTRACT_SCHEMA")   # a document to try instead of the served one
    cp "$SCHEMA" "$WORK/openapi.json"
else
    curl -fsS "$SCHEMA" -o "$WORK/openapi.json"
fi
OPERATIONS=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for p in d["paths"].values() for m in p if m in ("get","put","post","delete","options","head","patch","trace")))' "$WORK/openapi.json")
HAS_LOGIN=$("$PY" -c 'import json,sys; print("/api/v1/auth/login" in json.load(open(sys.argv[1]))["paths"])' "$WORK/openapi.json")

# --- an admin access token, once the document has the login operation -------------------------
CONFIG="$WORK/schemathesis.toml"
: >"$CONFIG"
if [ "$HAS_LOGIN" = True ]; then
    # Without a `bearer` scheme schemathesis would send no token, every write would answer 401, and
    # the run would pass having tested nothing behind the login.
    "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])).get("components",{}).get("securitySchemes",{}).get("bearer",{}); sys.exit(0 if s.get("type")=="http" and s.get("scheme","").lower()=="bearer" else 1)' "$WORK/openapi.json" \
        || { echo "contract: the document has POST /api/v1/auth/login but no http bearer security scheme named \"bearer\"" >&2; exit 1; }
    LOGIN_BODY=$("$PY" -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$ADMIN_EMAIL" "$ADMIN_PASSWORD")
    if ! curl -fsS -H 'Content-Type: application/json' -d "$LOGIN_BODY" "$BASE/api/v1/auth/login" -o "$WORK/login.json"; then
        echo "contract: the document has POST /api/v1/auth/login but the admin could not log in" >&2
        exit 1
    fi
    FOLIO_CONTRACT_TOKEN=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$WORK/login.json")
    export FOLIO_CONTRACT_TOKEN
    # Scheme-aware: the token goes to every operation that declares the `bearer` scheme, so the
    # public reads are still exercised anonymously (their cache path) and `ignored_auth` can check
    # that the protected ones refuse a request without it.
    cat >"$CONFIG" <<'EOF'
[auth.openapi.bearer]
bearer = "${FOLIO_CONTRACT_TOKEN}"
EOF
    AUTH_NOTE="as admin $ADMIN_EMAIL (bearer token)"
else
    AUTH_NOTE="anonymously (the document has no POST /api/v1/auth/login yet)"
fi

# --- hooks: constraints between parameters that OpenAPI 3.1 cannot state ----------------------
# They touch only cases schemathesis generated as *valid* (positive) and only so that they obey
# rules the document states in prose; every check still runs on every case, and negative cases
# are left alone.
#  - GET /api/v1/articles: `page` and `cursor` are mutually exclusive (400 otherwise), and a
#    cursor is an opaque token that only the server can issue, for one sort order. A positive case
#    with a cursor gets a real one, for its sort, taken from the server, and loses its `page`.
#  - GET /api/v1/articles: `published_before` must be later than `published_after`; a positive case
#    with both gets them in order.
#  - PATCH/PUT/DELETE with an `If-Match` header: the ETag is another token only the server issues;
#    a positive case gets the resource's current one (428 without it and 412 for a stale one stay
#    covered by the negative cases and by the Rust tests).
#  - POST/PATCH of an article with status "scheduled" needs a `published_at` in the future, which a
#    schema cannot say; a positive case gets one a day ahead.
cat >"$WORK/hooks.py" <<'EOF'
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import schemathesis

BASE = os.environ["FOLIO_CONTRACT_BASE_URL"]
_cursors = {}


def _cursor_for(sort):
    if sort not in _cursors:
        query = urllib.parse.urlencode({"limit": 1, "sort": sort})
        with urllib.request.urlopen(f"{BASE}/api/v1/articles?{query}", timeout=10) as resp:
            _cursors[sort] = json.load(resp)["meta"]["next_cursor"]
    return _cursors[sort]


def _instant(value):
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@schemathesis.hook("map_case").apply_to(method="GET", path="/api/v1/articles")
def articles_cross_parameter_rules(ctx, case):
    if not _positive(case) or not case.query:
        return case
    query = dict(case.query)
    if query.get("cursor") is not None:
        sort = query.get("sort")
        sort = sort if sort in ("-published_at", "published_at", "-updated_at", "title") else "-published_at"
        cursor = _cursor_for(sort)
        if cursor is None:
            query.pop("cursor")
        else:
            query["cursor"] = cursor
        query.pop("page", None)
    after, before = _instant(query.get("published_after")), _instant(query.get("published_before"))
    if after is not None and before is not None and not before > after:
        if after == before:
            query.pop("published_before")
        else:
            query["published_after"], query["published_before"] = query["published_before"], query["published_after"]
    case.query = query
    return case


def _positive(case):
    return case.meta is not None and case.meta.generation.mode.is_positive


# Scoped with apply_to: a hook on every operation slows schemathesis' generation down eightfold.
@schemathesis.hook("map_case").apply_to(method=["PATCH", "PUT", "DELETE"])
def current_etag_in_if_match(ctx, case):
    if not _positive(case) or not case.headers:
        return case
    key = next((k for k in case.headers if k.lower() == "if-match"), None)
    if key is None:
        return case
    token = os.environ.get("FOLIO_CONTRACT_TOKEN")
    request = urllib.request.Request(
        BASE + case.formatted_path, headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            etag = resp.headers.get("ETag")
    except (urllib.error.URLError, ValueError):
        return case  # no such resource: the request's own answer (404) is what is tested
    if etag:
        case.headers[key] = etag
    return case


@schemathesis.hook("map_case").apply_to(method=["POST", "PATCH"], path_regex="^/api/v1/articles")
def scheduled_articles_are_in_the_future(ctx, case):
    if not _positive(case) or not isinstance(case.body, dict) or case.body.get("status") != "scheduled":
        return case
    at = _instant(case.body.get("published_at"))
    if at is None or at.tzinfo is None or at <= datetime.now(timezone.utc) + timedelta(minutes=5):
        case.body = {**case.body, "published_at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()}
    return case
EOF

echo "contract: schemathesis $SCHEMATHESIS_VERSION, $OPERATIONS operations at $BASE, $AUTH_NOTE," \
    "max $MAX_EXAMPLES examples per operation, seed $SEED"
SEED_ARGS=(--seed "$SEED")
[ "$SEED" = random ] && SEED_ARGS=()
set +e
# --output-sanitize false: the repro commands must show what was sent (it would hide the `author`
# parameter); the token is a throwaway for this temp server.
FOLIO_CONTRACT_BASE_URL=$BASE SCHEMATHESIS_HOOKS="$WORK/hooks.py" \
    "$ST" --config-file "$CONFIG" run "$SCHEMA" \
    --url "$BASE" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" \
    "${SEED_ARGS[@]}" \
    --generation-database none \
    --request-timeout 10 \
    --output-sanitize false \
    --no-color \
    --report junit --report-junit-path "$LOG_DIR/contract-junit.xml" \
    2>&1 | tee "$LOG_DIR/contract.log"
STATUS=${PIPESTATUS[0]}
set -e

if [ "$STATUS" -ne 0 ]; then
    echo "contract: FAILED (schemathesis exit $STATUS; $OPERATIONS operations; log $LOG_DIR/contract.log," \
        "server log $LOG_DIR/contract-server.log)" >&2
    exit 1
fi
if [ "$HAS_LOGIN" = True ]; then
    # The token must have opened the write API: at least one article was created.
    CREATED=$(grep -c 'http.method=POST http.path=/api/v1/articles http.status=201' "$LOG_DIR/contract-server.log" || true)
    if [ "$CREATED" -eq 0 ]; then
        echo "contract: FAILED: no POST /api/v1/articles answered 201, so the writes were never exercised with the token" >&2
        exit 1
    fi
    echo "contract: $CREATED articles created through the token"
fi
echo "contract: OK, $OPERATIONS operations, no failures"
