#!/usr/bin/env bash
# Search beside the read benchmark: a common word, a rare word, a two-word phrase, a 4-letter
# prefix (as typed), and a word with a tag filter, with the in-memory read cache on and off.
# The rare word is in a dozen articles this script adds once to the seeded database.
#
#   benches/search.sh [N] [sqlite] [postgres]
#   BENCH_DURATION=8s BENCH_CACHE_TTLS=0 benches/search.sh 1000000 sqlite
#   BENCH_PHRASE='honest schemas' ...   (the phrase as sent; default with quotes)
#   BENCH_CONNECTIONS=2 BENCH_DURATION=30s ...  (for searches that take seconds each)
#   BENCH_BIN=/path BENCH_DB_NAME=like ...  (the LIKE scan this search replaced: an older
#                                            build, on databases it seeded)
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
RESULTS="bench-results/search-$N-$(date +%Y%m%dT%H%M%S).txt"
RARE=zymurgy
PHRASE=${BENCH_PHRASE:-'"honest schemas"'}

urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }

# add_rare_articles URL: a dozen published articles with the rare word, once per database.
add_rare_articles() {
    local found token
    found=$(curl -fs "$BASE/api/v1/articles?q=$RARE&limit=1" | json "d['meta']['total']")
    [ "$found" -gt 0 ] && return 0
    token=$(access_token "$1" bench-search@example.com author)
    for i in $(seq 1 12); do
        curl -fs -o /dev/null -H "authorization: Bearer $token" -H 'content-type: application/json' \
            -d "{\"title\": \"Notes on $RARE, part $i\", \"excerpt\": \"Brewing and $RARE.\",
                 \"body_markdown\": \"The science of $RARE, explained for engineers.\",
                 \"tags\": [\"rust\"], \"status\": \"published\"}" \
            "$BASE/api/v1/articles"
    done
}

printf '%-9s %-8s %-6s %-24s %10s %10s %10s %8s %8s %8s\n' backend N cache query 'req/s' p50 p99 'srv µs' 'pg µs' matches | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    prepare "$backend" "$N"
    url=$(database_url "$backend" "$N")
    for ttl in ${BENCH_CACHE_TTLS:-1000 0}; do
        cache=$([ "$ttl" = 0 ] && echo off || echo on)
        # Slow searches (a LIKE scan of a million rows) must finish, not time out as 503s.
        start_server "$url" FOLIO_READ_CACHE_TTL_MS="$ttl" FOLIO_REQUEST_TIMEOUT_MS=300000 \
            FOLIO_DB_STATEMENT_TIMEOUT_MS=300000
        add_rare_articles "$url"
        declare -a names=("common word" "rare word" "two-word phrase" "prefix (4 letters)" "word with a tag")
        declare -a queries=("q=cache" "q=$RARE" "q=$(urlencode "$PHRASE")" "q=sche" "q=cache&tag=rust")
        for i in "${!names[@]}"; do
            path="/api/v1/articles?${queries[$i]}&limit=20"
            matches=$(curl -s "$BASE$path" | json "d.get('meta', {}).get('total', 'error')")
            # A slow search must count as slow, not drop out as a timeout.
            line=$(printf '%-9s %-8s %-6s %-24s %s %8s' "$backend" "$N" "$cache" "${names[$i]}" "$(measure "$BASE$path" --timeout 60s)" "$matches")
            echo "$line" | tee -a "$RESULTS"
        done
        stop_server
    done
done
echo "phrase sent as: $PHRASE; results in $RESULTS"
