#!/usr/bin/env bash
# CPU cost per request as instructions the server executes (valgrind's callgrind), cache off:
# a count that stays the same whatever else the machine runs, where requests/s on a shared
# host move by a third between runs. For A/B comparisons of the server's own work; the
# database's work (PostgreSQL's processes) is not counted.
#
#   benches/instructions.sh [N] [sqlite] [postgres]
#   BENCH_REQUESTS=300 BENCH_BIN=/tmp/folio-before benches/instructions.sh 10000 postgres
#
# Under valgrind the sha2 crate finds no SHA instructions and hashes in software: some 50,000
# instructions per KiB of body, against a few hundred on the CPU itself (2-3% of a list
# page's CPU time under perf). The last column leaves that hash out.
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/lib.sh

command -v valgrind >/dev/null || { echo "installing valgrind (Debian package)"; apt-get install -y valgrind >/dev/null; }

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
REQUESTS=${BENCH_REQUESTS:-200}
RESULTS="bench-results/instructions-$N-$(date +%Y%m%dT%H%M%S).txt"
OUT="$WORK/callgrind"

printf '%-9s %-8s %-24s %14s %14s\n' backend N endpoint 'instr/request' 'without hash' | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    prepare "$backend" "$N"
    url=$(database_url "$backend" "$N")
    rm -f "$OUT".*
    LAUNCHER="valgrind --tool=callgrind --callgrind-out-file=$OUT.%p"
    start_server "$url" FOLIO_READ_CACHE_TTL_MS=0
    read -r tag second < <(biggest_tags)
    author=$(busiest_author)
    slug=$(curl -fs "$BASE/api/v1/articles?limit=1" | json "d['data'][0]['slug']")
    declare -a names=("tag-filtered list" "all-of two tags" "page 1" "author's list" "article by slug" "tags with counts" "search, common word")
    declare -a paths=(
        "/api/v1/articles?tag=$tag&limit=20"
        "/api/v1/articles?tag=$tag,$second&tag_match=all&limit=20"
        "/api/v1/articles?limit=20"
        "/api/v1/articles?author=$author&limit=20"
        "/api/v1/articles/slug/$slug"
        "/api/v1/tags?limit=50"
        "/api/v1/articles?q=cache&limit=20"
    )
    for i in "${!names[@]}"; do
        # Warm: statements prepared, totals counted; then only these requests are counted.
        for _ in $(seq 1 20); do curl -fs -o /dev/null "$BASE${paths[$i]}"; done
        callgrind_control -z "$SERVER" >/dev/null 2>&1
        for _ in $(seq 1 "$REQUESTS"); do curl -fs -o /dev/null "$BASE${paths[$i]}"; done
        callgrind_control -d "$SERVER" >/dev/null 2>&1
        dump=$((i + 1))
        total=$(awk '/^summary:/ {print $2}' "$OUT.$SERVER.$dump")
        hash=$(callgrind_annotate --inclusive=yes "$OUT.$SERVER.$dump" 2>/dev/null |
            awk '/sha2::sha256::compress256/ && !found {gsub(",", "", $1); print $1; found = 1}')
        printf '%-9s %-8s %-24s %14s %14s\n' "$backend" "$N" "${names[$i]}" "$((total / REQUESTS))" \
            "$(((total - ${hash:-0}) / REQUESTS))" | tee -a "$RESULTS"
    done
    stop_server
    LAUNCHER=
done
echo "results in $RESULTS"
