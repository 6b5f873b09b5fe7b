#!/usr/bin/env bash
# Read-path benchmark: seeds N articles (once per backend and N, reused afterwards), starts the
# release server and drives each endpoint with wrk, printing requests/s and p50/p99 latency,
# with the in-memory read cache on (the default) and off (every request reaches the database).
#
#   benches/run.sh [N] [sqlite] [postgres]
#   BENCH_DURATION=10s BENCH_CONNECTIONS=64 BENCH_THREADS=1 benches/run.sh 10000
#   BENCH_CACHE_TTLS=1000 benches/run.sh 1000000 sqlite     (cache on only; "0" is cache off)
#   BENCH_STEADY_RATE=1000: the rate of the cache-off rows measured at a steady rate
#
# Server and load generator share this machine's cores, as on a developer laptop. The last two
# columns are CPU time per request of the server and of PostgreSQL (all its processes). Each
# endpoint's first request is timed apart (it counts a total the others reuse).
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
RESULTS="bench-results/reads-$N-$(date +%Y%m%dT%H%M%S).txt"

printf '%-9s %-8s %-6s %-24s %10s %10s %10s %8s %8s\n' backend N cache endpoint 'req/s' p50 p99 'srv µs' 'pg µs' | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    prepare "$backend" "$N"
    url=$(database_url "$backend" "$N")
    for ttl in ${BENCH_CACHE_TTLS:-1000 0}; do
        cache=$([ "$ttl" = 0 ] && echo off || echo on)
        start_server "$url" FOLIO_READ_CACHE_TTL_MS="$ttl"
        read -r tag second < <(biggest_tags)
        author=$(busiest_author)
        old_tag=$(oldest_tag)
        total=$(curl -fs "$BASE/api/v1/articles?limit=1" | json "d['meta']['total']")
        # A cursor 90% of the way down the list, reached by walking cursors of 100.
        cursor=$(python3 - "$BASE" "$((total * 9 / 10))" <<'PY'
import json, sys, urllib.request
base, depth = sys.argv[1], int(sys.argv[2])
path, seen, cursor = "/api/v1/articles?limit=100&count=none", 0, None
while seen + 100 <= depth:
    page = json.load(urllib.request.urlopen(base + path + (f"&cursor={cursor}" if cursor else "")))
    seen += len(page["data"])
    cursor = page["meta"]["next_cursor"] or cursor
    if not page["meta"]["next_cursor"]:
        break
print(cursor)
PY
)
        slug=$(curl -fs "$BASE/api/v1/articles?limit=1&cursor=$cursor&count=none" | json "d['data'][0]['slug']")
        declare -a names=("tag-filtered list" "all-of two tags" "an old tag's list" "page 1" "deep page by cursor" "author's list" "article by slug" "tags with counts" "healthz (ceiling)")
        declare -a paths=(
            "/api/v1/articles?tag=$tag&limit=20"
            "/api/v1/articles?tag=$tag,$second&tag_match=all&limit=20"
            "/api/v1/articles?tag=$old_tag&limit=20"
            "/api/v1/articles?limit=20"
            "/api/v1/articles?limit=20&cursor=$cursor"
            "/api/v1/articles?author=$author&limit=20"
            "/api/v1/articles/slug/$slug"
            "/api/v1/tags?limit=50"
            "/healthz"
        )
        firsts=()
        for i in "${!names[@]}"; do
            # For a filter the counters cannot answer, the first request counts the total
            # that the next ones reuse for a minute or more: timed on its own, so the rows
            # show a site that has been running.
            firsts+=("${names[$i]} $(curl -s -o /dev/null -w '%{time_total}' "$BASE${paths[$i]}" |
                awk '{printf "%.1f", $1 * 1000}')")
            line=$(printf '%-9s %-8s %-6s %-24s %s' "$backend" "$N" "$cache" "${names[$i]}" "$(measure "$BASE${paths[$i]}")")
            echo "$line" | tee -a "$RESULTS"
        done
        (IFS=';'; echo "  first request of each, ms: ${firsts[*]}") | tee -a "$RESULTS"
        if [ "$cache" = off ]; then
            # The lists at a steady rate from the same 64 connections (BENCH_STEADY_RATE,
            # default 1,000/s, below every list's ceiling here): latency without the queue.
            rate=${BENCH_STEADY_RATE:-1000}
            declare -a steady=("tag list" "all-of two tags" "old tag's list" "page 1")
            for i in "${!steady[@]}"; do
                line=$(printf '%-9s %-8s %-6s %-24s %s' "$backend" "$N" "$cache" "${steady[$i]} @ $rate/s" \
                    "$(STEADY_DELAY_MS=$((CONNECTIONS * 1000 / rate)) measure "$BASE${paths[$i]}" -s benches/steady.lua)")
                echo "$line" | tee -a "$RESULTS"
            done
        fi
        if [ "$cache" = off ] && [ -z "${BENCH_SKIP_LOGINS:-}" ]; then
            # Logins (argon2id, 19 MiB, t=2) alone, then the tag-filtered list while logins run.
            access_token "$url" bench@example.com author >/dev/null
            line=$(printf '%-9s %-8s %-6s %-24s %s' "$backend" "$N" "$cache" "login" \
                "$(CONNECTIONS=4 measure "$BASE/api/v1/auth/login" -s benches/login.lua)")
            echo "$line" | tee -a "$RESULTS"
            CONNECTIONS=4 wrk -t1 -c4 -d"$DURATION" -s benches/login.lua "$BASE/api/v1/auth/login" >"$WORK/logins.txt" &
            logins=$!
            line=$(printf '%-9s %-8s %-6s %-24s %s' "$backend" "$N" "$cache" "tag list during logins" \
                "$(measure "$BASE${paths[0]}")")
            echo "$line" | tee -a "$RESULTS"
            wait "$logins"
            echo "  (logins meanwhile: $(awk '/^Requests\/sec:/ {print $2}' "$WORK/logins.txt")/s)" | tee -a "$RESULTS"
        fi
        stop_server
    done
done
echo "tags: $tag, $second; old tag: $old_tag; author: $author; deep cursor at 90% of $total; results in $RESULTS"
