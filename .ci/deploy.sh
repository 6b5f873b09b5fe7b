#!/usr/bin/env bash
# The deployment example (deploy/) as an operator runs it: HAProxy (Debian package) with
# deploy/haproxy.cfg in front of two release servers on one PostgreSQL database (a fresh one
# on the shared server). .ci/deploy.py sends traffic through it, writes through one instance
# and reads through the other, and stops an instance under load.
#
#   .ci/deploy.sh [path/to/folio]
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(realpath "${1:-target/release/folio}")
LOG_DIR=${CI_LOG_DIR:-target/ci-logs}
mkdir -p "$LOG_DIR/deploy"
command -v haproxy >/dev/null || { echo "installing haproxy (Debian package)"; apt-get install -y haproxy >/dev/null; }
haproxy -c -f deploy/haproxy.cfg
python3 .ci/deploy.py "$BIN" "$(cd "$LOG_DIR/deploy" && pwd)" \
    "${FOLIO_CI_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
