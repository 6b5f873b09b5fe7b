#!/usr/bin/env bash
# Lints the OpenAPI document with Redocly CLI (config: .ci/redocly.yaml, recommended rules as
# errors), then checks that openapi-typescript, the generator the README shows, turns it into types.
# Tools are pinned in .ci/openapi-lint/package-lock.json.
#
#   .ci/lint-openapi.sh [openapi/openapi.json]
set -euo pipefail
cd "$(dirname "$0")/.."

DOC=${1:-openapi/openapi.json}
TOOLS=.ci/openapi-lint
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

# npm ci only when node_modules does not hold exactly the locked versions.
(
    cd "$TOOLS"
    node -e '
        const lock = require("./package-lock.json").packages;
        for (const [path, pkg] of Object.entries(lock)) {
            if (path && require("./" + path + "/package.json").version !== pkg.version) process.exit(1);
        }' 2>/dev/null || npm ci --no-audit --no-fund --loglevel=error
)

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== redocly lint $DOC"
STATUS=0
"$TOOLS/node_modules/.bin/redocly" lint "$DOC" --config .ci/redocly.yaml --format=stylish >"$OUT/lint.txt" 2>&1 || STATUS=$?
# Redocly boxes a Node.js end-of-life notice on Node 20; it is not about the document.
grep -v '[║╔╚]' "$OUT/lint.txt" | cat -s
[ "$STATUS" -eq 0 ] || { echo "lint-openapi: $DOC has lint errors (rule and location above)" >&2; exit 1; }

echo "== openapi-typescript $DOC"
"$TOOLS/node_modules/.bin/openapi-typescript" "$DOC" --output "$OUT/folio.d.ts"
"$TOOLS/node_modules/.bin/tsc" --noEmit --strict "$OUT/folio.d.ts"
echo "lint-openapi: OK"
