#!/usr/bin/env bash
# HTTP lint: REDbot (pinned, pip) checks every kind of read Folio answers, on the live release
# server (demo content), and fails on any BAD or WARN note that .ci/redbot-allow.txt does not
# list. Prints each URL's notes by level.
#
#   .ci/redbot.sh [path/to/folio]          (default: target/release/folio, built by the caller)
#
# Reports (HAR) go to ${CI_LOG_DIR:-target/ci-logs}/redbot/.
set -euo pipefail
cd "$(dirname "$0")/.."

REDBOT_VERSION=2.7.1
BIN=${1:-target/release/folio}
LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
mkdir -p "$LOG_DIR/redbot"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
ALLOW=$(pwd)/.ci/redbot-allow.txt

[ -x "$BIN" ] || { echo "redbot: no server binary at $BIN (run cargo build --release first)" >&2; exit 1; }

PY=${PYTHON:-python3}
if [ "$("$PY" -c 'import importlib.metadata as m; print(m.version("redbot"))' 2>/dev/null || true)" != "$REDBOT_VERSION" ]; then
    echo "redbot: installing redbot $REDBOT_VERSION"
    "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "redbot==$REDBOT_VERSION"
fi
REDBOT="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/redbot"

. .ci/demo-server.sh
start_demo_server redbot "$BIN"

json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
article=$(curl -fsS "$BASE/api/v1/articles?limit=1" | json "d['data'][0]['id']")
slug=$(curl -fsS "$BASE/api/v1/articles?limit=1" | json "d['data'][0]['slug']")
tag=$(curl -fsS "$BASE/api/v1/tags?limit=1" | json "d['data'][0]['slug']")
tag_id=$(curl -fsS "$BASE/api/v1/tags?limit=1" | json "d['data'][0]['id']")
author=$(curl -fsS "$BASE/api/v1/authors?limit=1" | json "d['data'][0]['slug']")
author_id=$(curl -fsS "$BASE/api/v1/authors?limit=1" | json "d['data'][0]['id']")

URLS=(
    "/api/v1/articles"
    "/api/v1/articles?tag=$tag&limit=5"
    "/api/v1/articles?tag=$tag&exclude_tag=nope&sort=title&count=none"
    "/api/v1/articles/$article"
    "/api/v1/articles/slug/$slug"
    "/api/v1/tags"
    "/api/v1/tags/$tag_id"
    "/api/v1/tags/slug/$tag"
    "/api/v1/authors"
    "/api/v1/authors/$author_id"
    "/api/v1/authors/slug/$author"
    "/api/v1/articles?limit=5&fields=id,slug,title"
    "/api/v1/articles?limit=5&include=body_html"
    "/api/v1/site"
    "/api/v1/feeds/articles.rss"
    "/api/v1/feeds/articles.atom?tag=$tag"
    "/api/v1/feeds/articles.json"
    "/api/v1/sitemap.xml"
    "/api/v1/sitemaps/1.xml"
    "/api/v1/articles/999999"
    "/api/v1/articles?limit=0"
    "/api/v1/nope"
    "/healthz"
    "/readyz"
    "/api-docs/openapi.json"
    "/swagger-ui/"
    "/swagger-ui/swagger-ui-bundle.js"
    "/swagger-ui/swagger-ui.css"
    "/swagger-ui/swagger-initializer.js"
)
status=0
for url in "${URLS[@]}"; do
    name=$(printf '%s' "$url" | tr -c 'A-Za-z0-9._-' '_')
    har="$LOG_DIR/redbot/$name.har"
    if ! timeout 120 "$REDBOT" -o har "$BASE$url" >"$har" 2>"$har.err"; then
        echo "redbot: FAILED to check $url:" >&2
        cat "$har.err" >&2
        status=1
        continue
    fi
    "$PY" - "$har" "$url" "$ALLOW" <<'PY' || status=1
import json, re, sys
har, url, allow_path = sys.argv[1:4]
allowed = []
for line in open(allow_path):
    line = line.split("#", 1)
    rule, reason = line[0].split(), (line[1].strip() if len(line) > 1 else "")
    if rule:
        if not reason:
            sys.exit(f"redbot: {allow_path}: every line needs a reason after '#': {rule}")
        allowed.append((re.compile(rule[0]), rule[1]))
notes = []
for entry in json.load(open(har))["log"]["entries"]:
    notes.extend(entry.get("_red_messages", []))
levels = {}
for note in notes:
    levels[note["level"]] = levels.get(note["level"], 0) + 1
print(f"{url}: " + ", ".join(f"{n} {level}" for level, n in sorted(levels.items())))
failed = False
for note in notes:
    if note["level"] not in ("BAD", "WARN"):
        continue
    ok = any(p.fullmatch(url) and note_id == note["note_id"] for p, note_id in allowed)
    mark = "allowed" if ok else "FAIL"
    print(f"  {note['level']} {note['note_id']}: {note['summary']} ({mark})")
    failed |= not ok
sys.exit(1 if failed else 0)
PY
done
if [ "$status" -ne 0 ]; then
    echo "redbot: FAILED (reports in $LOG_DIR/redbot)" >&2
    exit 1
fi
echo "redbot: OK, ${#URLS[@]} URLs, no BAD or WARN note outside .ci/redbot-allow.txt"
