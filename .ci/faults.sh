#!/usr/bin/env bash
# Fault tests (.ci/faults.py) against a server binary (in CI, the one its tests built): each
# starts and stops its own throwaway PostgreSQL (initdb into a temporary folder, run as the
# postgres user on a free port), never the shared server.
#
#   .ci/faults.sh [path/to/folio]          (default: target/release/folio, built by the caller)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(realpath "${1:-target/release/folio}")
LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
mkdir -p "$LOG_DIR/faults"
PROMETHEUS_CLIENT_VERSION=0.26.0
PY=${PYTHON:-python3}
if [ "$("$PY" -c 'import importlib.metadata as m; print(m.version("prometheus_client"))' 2>/dev/null || true)" != "$PROMETHEUS_CLIENT_VERSION" ]; then
    "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "prometheus_client==$PROMETHEUS_CLIENT_VERSION"
fi
"$PY" .ci/faults.py "$BIN" "$(cd "$LOG_DIR/faults" && pwd)"
