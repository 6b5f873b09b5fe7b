#!/usr/bin/env bash
# Contract test: schemathesis drives a live server (demo content, a known admin) over every
# operation of the served OpenAPI document with all of its checks: server errors, undocumented
# status codes, content types, response schemas and headers, positive/negative data, unsupported
# methods, missing auth, and the stateful ones (use after free, resource availability).
# Any failure makes this script exit non-zero.
#
#   .ci/contract.sh [path/to/folio [schemathesis run options...]]
#                                            (default: target/release/folio, built by the caller)
#
# FOLIO_CONTRACT_SCHEMA=path tests that document instead of the served one (to try a fix).
# FOLIO_CONTRACT_MAX_EXAMPLES (default 50) bounds the cases per operation and phase;
# FOLIO_CONTRACT_SEED (default 1) fixes the generator, so CI runs are repeatable (pass another seed,
# or `random`, to explore). Logs and a JUnit report go to ${CI_LOG_DIR:-target/ci-logs}.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
BIN=${1:-target/release/folio}
shift || true   # the rest goes to `schemathesis run`, e.g. --continue-on-failure -n 200
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
. .ci/demo-server.sh
# The token must outlive the run (a long exploration included), or later cases would all be 401s.
# Webhooks may point at loopback (the hook below sends every one there), so that no delivery of
# this run leaves the machine.
start_demo_server contract "$BIN" FOLIO_ACCESS_TOKEN_TTL_SECS=7200 FOLIO_LOG_FORMAT=text \
    FOLIO_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true

SCHEMA=$BASE/api-docs/openapi.json
if [ -n "${FOLIO_CONTRACT_SCHEMA:-}" ]; then
    SCHEMA=$(realpath "$FOLIO_CONTRACT_SCHEMA")   # a document to try instead of the served one
    cp "$SCHEMA" "$WORK/openapi.json"
else
    curl -fsS "$SCHEMA" -o "$WORK/openapi.json"
fi
OPERATIONS=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for p in d["paths"].values() for m in p if m in ("get","put","post","delete","options","head","patch","trace")))' "$WORK/openapi.json")
HAS_LOGIN=$("$PY" -c 'import json,sys; print("/api/v1/auth/login" in json.load(open(sys.argv[1]))["paths"])' "$WORK/openapi.json")

# --- configuration --------------------------------------------------------------------------------
# - No persistent cache: it would replay earlier runs' crashes and write .schemathesis/ somewhere.
# - missing_required_header expects a request without a required header to be refused with 400,
#   401, 403, 406, 415 or 422. This API's one required header is If-Match, whose absence is 428
#   Precondition Required, the status RFC 6585 defines for exactly that case; 428 is added to the
#   list.
#   Every other check runs with schemathesis' defaults; one kind of finding is set aside by the
#   `filter_failure` hook below (an upload form's "negative" texts).
CONFIG="$WORK/schemathesis.toml"
cat >"$CONFIG" <<'EOF'
[cache]
enabled = false

[checks.missing_required_header]
expected-statuses = [400, 401, 403, 406, 415, 422, 428]
EOF

# --- an admin access token, once the document has the login operation -------------------------
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
    FOLIO_CONTRACT_ADMIN_ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["user"]["id"])' "$WORK/login.json")
    export FOLIO_CONTRACT_TOKEN FOLIO_CONTRACT_ADMIN_ID FOLIO_CONTRACT_ADMIN_PASSWORD=$ADMIN_PASSWORD
    # Scheme-aware: the token goes to the operations that accept the `bearer` scheme; the purely
    # public ones (tags, authors, health) run anonymously, and `ignored_auth` checks that the
    # protected ones refuse a request without the token or with a bad one.
    cat >>"$CONFIG" <<'EOF'
[auth.openapi.bearer]
bearer = "${FOLIO_CONTRACT_TOKEN}"
EOF
    AUTH_NOTE="as admin $ADMIN_EMAIL (bearer token)"
else
    AUTH_NOTE="anonymously (the document has no POST /api/v1/auth/login yet)"
fi

# --- hooks: what a schema cannot say -------------------------------------------------------------
# One `before_call` hook, run just before each request is sent (so it also sees the values that
# stateful links put in). It touches only cases that schemathesis generated as *valid* (positive),
# never adds a field the case did not have, and every check still runs on every case; negative
# cases are left alone. Each rule fills in a value that only the running server knows, or obeys a
# rule the document can only state in prose:
#  - GET /api/v1/articles: `page` and `cursor` are mutually exclusive (400 otherwise), and a cursor
#    is an opaque token that only the server issues, for one sort order: a case with a cursor gets
#    a real one for its sort (for `relevance`, for its `q`), and loses its `page`; `relevance`
#    without `q` is dropped (it ranks a search). `page × limit` may be at most FOLIO_MAX_OFFSET
#    (10,000): a deeper page becomes the deepest allowed. `published_before` must be later than
#    `published_after`: a case with both gets them in order.
#  - PATCH/PUT/DELETE with `If-Match`: the ETag is a token only the server issues: a case gets the
#    resource's current one (for POST …/revisions/{version}/restore, the article's) (428 without it and 412 for a stale one are covered by the negative
#    cases and the Rust tests).
#  - Ids of other resources in a body or query (`author_id`, `reassign_to`) must name an existing
#    user: a case that sends one gets the admin's id. An article's `feature_image_id` must name a
#    media item: a case that sends one gets the run's reference image (uploaded again if a case
#    deleted it).
#  - POST /api/v1/media: the `file` must be an image (its bytes, not its schema, say so): a case
#    gets a real PNG in place of the generated bytes.
#  - A "scheduled" article needs a `published_at` in the future: a case gets one a day ahead; a
#    "published" one needs one that has come: a case with a future one gets a minute ago. A PATCH
#    without `status` keeps the article's current one, read from the server.
#  - POST /api/v1/me/tokens: `expires_at` must be in the future: a case with a past one gets one
#    a day ahead.
#  - PATCH /api/v1/me: `current_password` must be the real one: a case that sends it gets it, and
#    its new `password` is that same password, so that later cases still know it.
#  - A webhook's `url` (POST/PATCH /api/v1/webhooks) becomes http://127.0.0.1:9/ (the discard
#    port, closed: every delivery fails at once): a generated URL may name a public address, and
#    webhook traffic of a test goes to loopback only.
#  - The run's admin stays the only admin (a case that creates or promotes a user to admin makes it
#    an editor instead), so the server's "last admin" rule (409) keeps every later case from losing
#    the rights it needs and passing as 401/403 having tested nothing.
cat >"$WORK/hooks.py" <<'EOF'
import binascii
import json
import os
import struct
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import schemathesis
import zlib
# The wrapper schemathesis gives generated `format: binary` values (pinned version above): a file
# put in as plain bytes would make it judge its own case schema-violating.
from schemathesis.transport.serialization import Binary

BASE = os.environ["FOLIO_CONTRACT_BASE_URL"]
TOKEN = os.environ.get("FOLIO_CONTRACT_TOKEN")
ADMIN_ID = int(os.environ.get("FOLIO_CONTRACT_ADMIN_ID") or 0) or None
ADMIN_PASSWORD = os.environ.get("FOLIO_CONTRACT_ADMIN_PASSWORD")
SORTS = ("-published_at", "published_at", "-updated_at", "title")
MAX_OFFSET = 10_000  # FOLIO_MAX_OFFSET's default: page × limit beyond it is a 400
_cursors = {}
_reference_media = []


def _png(width, height):
    """A width×height RGB gradient as a PNG file."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", binascii.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes((x % 256, y % 256, 128)[c] for x in range(width) for c in range(3)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


IMAGE = _png(400, 300)


def _media_id():
    """The run's reference image: uploaded once, and again if a case deleted it."""
    if _reference_media:
        try:
            with _get(f"/api/v1/media/{_reference_media[0]}"):
                return _reference_media[0]
        except urllib.error.HTTPError:
            _reference_media.clear()
    boundary = "contract-reference-image"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"reference.png\"\r\n"
        "Content-Type: image/png\r\n\r\n"
    ).encode() + IMAGE + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        BASE + "/api/v1/media",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        _reference_media.append(json.load(resp)["id"])
    return _reference_media[0]


def _get(path):
    request = urllib.request.Request(BASE + path, headers={"Authorization": f"Bearer {TOKEN}"} if TOKEN else {})
    return urllib.request.urlopen(request, timeout=10)


def _cursor_for(sort, q=None):
    key = (sort, q)
    if key not in _cursors:
        params = {"limit": 1, "sort": sort}
        if q is not None:
            params["q"] = q
        try:
            with _get("/api/v1/articles?" + urllib.parse.urlencode(params)) as resp:
                _cursors[key] = json.load(resp)["meta"]["next_cursor"]
        except urllib.error.HTTPError:
            _cursors[key] = None  # a q with nothing to search for: the case's own 400 is tested
    return _cursors[key]


def _instant(value):
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _article_list_query(query):
    if query.get("sort") == "relevance" and query.get("q") is None:
        query.pop("sort")  # relevance ranks a search: without q it is a 400 on sort
    if query.get("cursor") is not None:
        # A cursor carries its order (the request may leave sort out); a search's needs its q.
        if query.get("sort") == "relevance":
            cursor = _cursor_for("relevance", query.get("q"))
        else:
            cursor = _cursor_for(query.get("sort") if query.get("sort") in SORTS else SORTS[0])
        if cursor is None:
            query.pop("cursor")
        else:
            query["cursor"] = cursor
        query.pop("page", None)
    page, limit = query.get("page"), query.get("limit") or 20
    if isinstance(page, int) and isinstance(limit, int) and limit > 0 and page * limit > MAX_OFFSET:
        query["page"] = max(1, MAX_OFFSET // limit)
    after, before = _instant(query.get("published_after")), _instant(query.get("published_before"))
    if after is not None and before is not None and not before > after:
        if after == before:
            query.pop("published_before")
        else:
            query["published_after"], query["published_before"] = query["published_before"], query["published_after"]


def _current_etag(case):
    try:
        with _get(case.formatted_path) as resp:
            return resp.headers.get("ETag")
    except (urllib.error.URLError, ValueError):
        return None  # no such resource: the request's own answer (404) is what is tested


def _status_after(case, body):
    """The status an article will have: the body's, or (a PATCH without one) its current one."""
    status = body.get("status")
    if status is None and case.method.upper() == "PATCH":
        try:
            with _get(case.formatted_path) as resp:
                status = json.load(resp).get("status")
        except (urllib.error.URLError, ValueError):
            return None
    return status


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    method, path = case.method.upper(), case.path
    body = case.body if isinstance(case.body, dict) else None
    query = case.query if isinstance(case.query, dict) else None

    if method == "GET" and path == "/api/v1/articles" and query:
        _article_list_query(query)

    if method in ("PATCH", "PUT", "DELETE") and case.headers:
        key = next((k for k in case.headers if k.lower() == "if-match"), None)
        etag = _current_etag(case) if key is not None else None
        if etag:
            case.headers[key] = etag

    if method == "POST" and path.endswith("/revisions/{version}/restore") and case.headers:
        key = next((k for k in case.headers if k.lower() == "if-match"), None)
        if key is not None:
            try:
                with _get(f"/api/v1/articles/{case.path_parameters.get('id')}") as resp:
                    case.headers[key] = resp.headers.get("ETag") or case.headers[key]
            except (urllib.error.URLError, ValueError):
                pass  # no such article: its 404 is what is tested

    if ADMIN_ID is not None:
        if body is not None and body.get("author_id") is not None and path.startswith("/api/v1/articles"):
            body["author_id"] = ADMIN_ID
        if query and query.get("reassign_to") is not None and path == "/api/v1/users/{id}":
            query["reassign_to"] = ADMIN_ID

    if TOKEN and body is not None and body.get("feature_image_id") is not None and path.startswith("/api/v1/articles"):
        body["feature_image_id"] = _media_id()

    if method == "POST" and path == "/api/v1/media" and body is not None and "file" in body:
        body["file"] = Binary(IMAGE)

    if body is not None and path.startswith("/api/v1/articles"):
        status = _status_after(case, body)
        at = _instant(body.get("published_at"))
        now = datetime.now(timezone.utc)
        if status == "scheduled" and (at is None or at.tzinfo is None or at <= now + timedelta(minutes=5)):
            body["published_at"] = (now + timedelta(days=1)).isoformat()
        if status == "published" and at is not None and at.tzinfo is not None and at > now:
            body["published_at"] = (now - timedelta(minutes=1)).isoformat()

    if body is not None and path == "/api/v1/me/tokens":
        at = _instant(body.get("expires_at"))
        if at is not None and (at.tzinfo is None or at <= datetime.now(timezone.utc) + timedelta(minutes=5)):
            body["expires_at"] = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()

    if body is not None and ADMIN_PASSWORD is not None and method == "PATCH" and path == "/api/v1/me":
        if isinstance(body.get("current_password"), str):
            body["current_password"] = ADMIN_PASSWORD
            if isinstance(body.get("password"), str):
                body["password"] = ADMIN_PASSWORD

    if body is not None and path in ("/api/v1/webhooks", "/api/v1/webhooks/{id}") and isinstance(body.get("url"), str):
        body["url"] = "http://127.0.0.1:9/contract-hook"

    if body is not None and path in ("/api/v1/users", "/api/v1/users/{id}") and body.get("role") == "admin":
        body["role"] = "editor"
    if body is not None and path == "/api/v1/users/{id}" and str(case.path_parameters.get("id")) == str(ADMIN_ID):
        if isinstance(body.get("password"), str) and ADMIN_PASSWORD is not None:
            body["password"] = ADMIN_PASSWORD


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """An upload form's text parts carry no JSON type: a "negative" case that makes `alt` or
    `caption` null or a number sends the text "null" or "1", a valid caption, and its acceptance
    is no finding. Every other check of the upload stands; its refusals (what is not an image,
    too large, too many pixels) are tested in tests/api/media.rs."""
    return not (
        failure.code == "ST201"
        and case.method.upper() == "POST"
        and case.path == "/api/v1/media"
        and isinstance(case.body, dict)
        and isinstance(case.body.get("file"), (bytes, str))
        and response.status_code == 201
    )
EOF

echo "contract: schemathesis $SCHEMATHESIS_VERSION, $OPERATIONS operations at $BASE, $AUTH_NOTE," \
    "max $MAX_EXAMPLES examples per operation, seed $SEED"
SEED_ARGS=(--seed "$SEED")
[ "$SEED" = random ] && SEED_ARGS=()
set +e
# --output-sanitize false: the repro commands must show what was sent (it would hide the `author`
# parameter); the token is a throwaway for this temp server.
cd "$WORK"   # whatever schemathesis leaves behind stays out of the repository
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
    "$@" \
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
