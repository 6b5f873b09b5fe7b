#!/usr/bin/env bash
# Soak: mixed load (benches/mixed.lua: hot reads, varied reads, writes) at 64 connections for
# 10 one-minute rounds on a seeded database, printing per minute the requests, errors (non-2xx
# answers and socket errors: both must stay 0), p99 latency, and the server's resident memory
# at the start and end of the minute (it must stay flat).
#
#   benches/soak.sh [sqlite|postgres] [N]          (default: sqlite, 10000 articles)
#   SOAK_MINUTES=10 BENCH_CONNECTIONS=64 benches/soak.sh postgres
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

BACKEND=${1:-sqlite}
N=${2:-10000}
MINUTES=${SOAK_MINUTES:-10}
RESULTS="bench-results/soak-$BACKEND-$N-$(date +%Y%m%dT%H%M%S).txt"

drop_database "$BACKEND" "$N" soak
prepare "$BACKEND" "$N" soak
url=$(database_url "$BACKEND" "$N" soak)
start_server "$url" FOLIO_ACCESS_TOKEN_TTL_SECS=7200
export FOLIO_BENCH_TOKEN FOLIO_BENCH_TAGS
FOLIO_BENCH_TOKEN=$(access_token "$url" soak@example.com editor)
FOLIO_BENCH_TAGS=$(curl -fs "$BASE/api/v1/tags?limit=100" | json "','.join(t['slug'] for t in d['data'][:10])")

# Resident memory: the heap (anonymous pages, what a leak would grow) and in all (which also
# counts the pages of the database file SQLite maps, up to its 256 MiB mmap_size, which the
# kernel keeps or drops as it likes).
rss_mb() { awk '/^(RssAnon|VmRSS):/ {printf "%s%.1f", (n++ ? "/" : ""), $2 / 1024}' "/proc/$SERVER/status"; }

printf '%-6s %10s %8s %8s %10s %18s %18s\n' minute requests non2xx socket p99 'MB all/heap start' 'MB all/heap end' | tee "$RESULTS"
total_errors=0
for minute in $(seq 1 "$MINUTES"); do
    start=$(rss_mb)
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d60s --latency -s benches/mixed.lua "$BASE")
    end=$(rss_mb)
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    socket=$(awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=${non2xx:-0}
    socket=${socket:-0}
    total_errors=$((total_errors + non2xx + socket))
    printf '%-6s %10s %8s %8s %10s %18s %18s\n' "$minute" "$requests" "$non2xx" "$socket" "$p99" "$start" "$end" | tee -a "$RESULTS"
done
echo "errors in all: $total_errors; articles now: $(curl -fs "$BASE/api/v1/articles?limit=1" | json "d['meta']['total']")" | tee -a "$RESULTS"
