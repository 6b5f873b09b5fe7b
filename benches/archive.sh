#!/usr/bin/env bash
# Moving a site: `folio export` of the seeded N-article SQLite database to a gzip archive, then
# `folio import` of it into a new PostgreSQL database and a new SQLite file, printing wall time,
# peak resident memory (GNU time) and the archive's size.
#
#   benches/archive.sh [N]          (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

N=${1:-10000}
RESULTS="bench-results/archive-$N-$(date +%Y%m%dT%H%M%S).txt"
ARCHIVE="$WORK/archive-$N.jsonl.gz"

prepare sqlite "$N"
source_url=$(database_url sqlite "$N")

# timed LABEL COMMAND...: one line of wall seconds and peak RSS.
timed() {
    local label=$1
    shift
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/command.err" ||
        { cat "$WORK/command.err" >&2; exit 1; }
    read -r seconds kilobytes <"$WORK/time.txt"
    printf '%-40s %10s s %10s MB\n' "$label" "$seconds" "$((kilobytes / 1024))" | tee -a "$RESULTS"
}

printf 'N = %s articles\n' "$N" | tee "$RESULTS"
rm -f "$ARCHIVE"
timed "export sqlite -> gzip archive" "$BIN" --database-url "$source_url" --log warn export "$ARCHIVE"
printf '%-40s %10s MB\n' "archive size" "$(( $(stat -c %s "$ARCHIVE") / 1048576 ))" | tee -a "$RESULTS"
timed "import --check" "$BIN" --log warn import --check "$ARCHIVE"

drop_database postgres "$N" imported
psql -q "$PG_ADMIN" -c "CREATE DATABASE folio_imported_$N" >/dev/null
timed "import -> postgres" "$BIN" --database-url "$(database_url postgres "$N" imported)" --log warn import "$ARCHIVE"

drop_database sqlite "$N" imported
timed "import -> sqlite" "$BIN" --database-url "$(database_url sqlite "$N" imported)" --log warn import "$ARCHIVE"
echo "results in $RESULTS"
