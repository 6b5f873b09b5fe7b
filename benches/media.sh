#!/usr/bin/env bash
# Media benchmark (benches/media_upload.py): authors uploading a ~2 MB photo-like JPEG (each
# upload of different bytes, so none is a content-addressed dedupe hit; the server stores it
# with its 320/640/1280 variants, locally in a temp dir under bench-results/): uploads/s, p50,
# p99, errors and CPU per upload; then the read benchmark's tag list (cache off) alone and while
# the uploaders run, and the share of its rate it keeps. Fresh N-article database per backend.
#
#   benches/media.sh [N] [sqlite] [postgres]        (default 10000, both backends)
#   BENCH_UPLOADERS=8 BENCH_DURATION=30s benches/media.sh 10000 sqlite     (defaults 4, 20s)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DURATION=${BENCH_DURATION:-20s}
. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
UPLOADERS=${BENCH_UPLOADERS:-4}
RESULTS="bench-results/media-$N-$(date +%Y%m%dT%H%M%S).txt"
FIXTURE=$WORK/media-fixture.jpg
MEDIA=$(mktemp -d bench-results/media-XXXXXX)
trap 'stop_server; rm -rf "$MEDIA"' EXIT

# The fixture, made once with Pillow (installed into bench-results/.venv when python3 lacks it).
if [ ! -s "$FIXTURE" ]; then
    python=python3
    if ! python3 -c 'import PIL' 2>/dev/null; then
        python=bench-results/.venv/bin/python
        "$python" -c 'import PIL' 2>/dev/null ||
            { python3 -m venv bench-results/.venv && "$python" -m pip install -q pillow; }
    fi
    "$python" benches/media_upload.py fixture "$FIXTURE"
fi

# upload FIRST: the uploaders for $DURATION, their uploads' bytes numbered from FIRST; prints
# "uploads uploads/s p50-ms p99-ms errors".
hz=$(getconf CLK_TCK)
upload() { python3 benches/media_upload.py upload "$FIXTURE" "$BASE" "$token" "$UPLOADERS" "$DURATION" "$1"; }

echo "fixture: 3000×2000 JPEG at quality 92, $(stat -c %s "$FIXTURE") bytes; $UPLOADERS uploaders, $DURATION" | tee "$RESULTS"
printf '%-9s %-8s %-34s %10s %10s %10s %8s %8s\n' backend N workload 'req/s' p50 p99 'srv µs' 'pg µs' | tee -a "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    drop_database "$backend" "$N" media
    prepare "$backend" "$N" media
    url=$(database_url "$backend" "$N" media)
    mkdir -p "$MEDIA/$backend"
    start_server "$url" FOLIO_READ_CACHE_TTL_MS=0 FOLIO_ACCESS_TOKEN_TTL_SECS=3600 \
        FOLIO_MEDIA_STORAGE=local FOLIO_MEDIA_DIR="$MEDIA/$backend"
    token=$(access_token "$url" bench-media@example.com author)
    tag=$(curl -fs "$BASE/api/v1/tags?limit=100" | json "max(d['data'], key=lambda t: t['article_count'])['slug']")

    alone=$(measure "$BASE/api/v1/articles?tag=$tag&limit=20")
    printf '%-9s %-8s %-34s %s\n' "$backend" "$N" "tag list alone (cache off)" "$alone" | tee -a "$RESULTS"

    server0=$(cpu_ticks "$SERVER")
    # shellcheck disable=SC2046
    pg0=$(cpu_ticks $(postgres_pids))
    read -r count rate p50 p99 errors < <(upload 0)
    server_us=$(( ($(cpu_ticks "$SERVER") - server0) * 1000000 / hz / (count > 0 ? count : 1) ))
    pg_us=-
    # shellcheck disable=SC2046
    [ "$SERVER_DB" = postgres ] && pg_us=$(( ($(cpu_ticks $(postgres_pids)) - pg0) * 1000000 / hz / (count > 0 ? count : 1) ))
    printf '%-9s %-8s %-34s %10s %10s %10s %8s %8s  %s errors\n' "$backend" "$N" "uploads, $UPLOADERS uploaders (2 MB JPEG)" \
        "$rate" "${p50}ms" "${p99}ms" "$server_us" "$pg_us" "$errors" | tee -a "$RESULTS"

    upload $((1 << 19)) >"$WORK/uploads.txt" &   # numbered apart from the first run: no repeated bytes
    uploaders=$!
    during=$(measure "$BASE/api/v1/articles?tag=$tag&limit=20")
    printf '%-9s %-8s %-34s %s\n' "$backend" "$N" "tag list while $UPLOADERS uploaders run" "$during" | tee -a "$RESULTS"
    wait "$uploaders"
    read -r _ rate p50 p99 errors <"$WORK/uploads.txt"
    read -r alone_rps _ <<<"$alone"
    read -r during_rps _ <<<"$during"
    echo "  (uploads meanwhile: $rate/s, p50 ${p50}ms, p99 ${p99}ms, $errors errors); the tag list keeps" \
        "$(awk "BEGIN {printf \"%.0f\", 100 * $during_rps / $alone_rps}")% of its rate" | tee -a "$RESULTS"

    read -r media keys < <(python3 benches/media_upload.py stored "$BASE" "$token")
    stop_server
    bytes=$(du -sb "$MEDIA/$backend" | cut -f1)
    echo "  storage: $media uploads, $keys distinct keys, $(find "$MEDIA/$backend" -type f | wc -l) files," \
        "$((bytes / 1048576)) MiB, $((bytes / (media > 0 ? media : 1) / 1024)) KiB per upload with its variants" | tee -a "$RESULTS"
    rm -rf "${MEDIA:?}/$backend"
done
echo "tag: $tag; results in $RESULTS"
