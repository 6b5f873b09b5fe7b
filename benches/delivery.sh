#!/usr/bin/env bash
# Frontend delivery beside the read benchmark: a lean list (`fields=id,slug,title`) against the
# full one, a list with bodies, the feeds and the sitemap, with the in-memory read cache on and
# off. The last column is the server's resident memory after the endpoint ran (MB), and the
# peak (VmHWM) is printed per server: the sitemap of a million articles must stay bounded.
#
#   benches/delivery.sh [N] [sqlite] [postgres]
#   BENCH_DURATION=8s benches/delivery.sh 1000000 sqlite postgres
#   BENCH_SITEMAP_LIMIT=50000 (default) sets FOLIO_SITEMAP_LIMIT
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/lib.sh

N=${1:-10000}
shift || true
BACKENDS=("$@")
[ ${#BACKENDS[@]} -eq 0 ] && BACKENDS=(sqlite postgres)
RESULTS="bench-results/delivery-$N-$(date +%Y%m%dT%H%M%S).txt"

memory_mb() { awk -v key="$2:" '$1 == key {printf "%d", $2 / 1024}' "/proc/$1/status"; }

printf '%-9s %-8s %-6s %-26s %10s %10s %10s %8s %8s %7s\n' backend N cache endpoint 'req/s' p50 p99 'srv µs' 'pg µs' 'RSS MB' | tee "$RESULTS"
for backend in "${BACKENDS[@]}"; do
    prepare "$backend" "$N"
    url=$(database_url "$backend" "$N")
    for ttl in ${BENCH_CACHE_TTLS:-1000 0}; do
        cache=$([ "$ttl" = 0 ] && echo off || echo on)
        start_server "$url" FOLIO_READ_CACHE_TTL_MS="$ttl" FOLIO_SITEMAP_LIMIT="${BENCH_SITEMAP_LIMIT:-50000}"
        tag=$(curl -fs "$BASE/api/v1/tags?limit=100" |
            json "max(d['data'], key=lambda t: t['article_count'])['slug']")
        # The root is an index past the limit: then its first file (up to 50,000 URLs) too.
        first_file=$(curl -fs "$BASE/api/v1/sitemap.xml" | python3 -c '
import re, sys, urllib.parse
locs = re.findall(r"<loc>([^<]*/api/v1/sitemaps/[0-9]+\.xml)</loc>", sys.stdin.read())
print(urllib.parse.urlparse(locs[0]).path if locs else "")')
        declare -a names=("list (full, 20)" "list fields=id,slug,title" "list include=body_html 100" "RSS feed (20)" "RSS feed, one tag" "Atom feed (20)" "JSON Feed (20)" "sitemap.xml")
        declare -a paths=(
            "/api/v1/articles?limit=20"
            "/api/v1/articles?limit=20&fields=id,slug,title"
            "/api/v1/articles?limit=100&include=body_html&count=none"
            "/api/v1/feeds/articles.rss"
            "/api/v1/feeds/articles.rss?tag=$tag"
            "/api/v1/feeds/articles.atom"
            "/api/v1/feeds/articles.json"
            "/api/v1/sitemap.xml"
        )
        if [ -n "$first_file" ]; then
            names+=("sitemap file 1")
            paths+=("$first_file")
        fi
        for i in "${!names[@]}"; do
            figures=$(measure "$BASE${paths[$i]}")
            line=$(printf '%-9s %-8s %-6s %-26s %s %7s' "$backend" "$N" "$cache" "${names[$i]}" "$figures" "$(memory_mb "$SERVER" VmRSS)")
            echo "$line" | tee -a "$RESULTS"
        done
        bytes=$(curl -fs -o /dev/null -w '%{size_download}' "$BASE${paths[-1]}")
        echo "  peak server RSS (VmHWM): $(memory_mb "$SERVER" VmHWM) MB; ${names[-1]}: $bytes bytes" | tee -a "$RESULTS"
        stop_server
    done
done
echo "tag: $tag; results in $RESULTS"
