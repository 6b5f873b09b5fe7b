#!/usr/bin/env bash
# An S3-compatible server for the media tests: moto's server mode (PyPI), pinned, on a free
# loopback port. Sourced; sets S3_ENDPOINT, and S3_PID for the caller to stop it
# (`stop_s3_server`) when it exits.
MOTO_VERSION=5.2.5

start_s3_server() {
    local py=${PYTHON:-python3} port log
    if [ "$("$py" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)" != "$MOTO_VERSION" ]; then
        echo "s3: installing moto $MOTO_VERSION"
        "$py" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
            "moto[server]==$MOTO_VERSION"
    fi
    port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log=${CI_LOG_DIR:-target/ci-logs}/moto.log
    mkdir -p "$(dirname "$log")"
    "$py" -m moto.server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    S3_PID=$!
    S3_ENDPOINT=http://127.0.0.1:$port
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$S3_ENDPOINT/" 2>/dev/null && { echo "s3: moto at $S3_ENDPOINT"; return 0; }
        kill -0 "$S3_PID" 2>/dev/null || { echo "s3: moto exited:" >&2; cat "$log" >&2; exit 1; }
        sleep 0.2
    done
    echo "FAIL: moto never answered at $S3_ENDPOINT; the S3 run is required" >&2
    exit 1
}

stop_s3_server() {
    [ -n "${S3_PID:-}" ] && kill "$S3_PID" 2>/dev/null
    return 0
}
