#!/usr/bin/env bash
# The search benchmark (issue 14's target: a search over the whole
# province under 20 ms p95). Makes a store of pdb-synth communes (default
# 12: 63,336 parcels; COMMUNES=all for the province), draws 500 queries
# from it (whole owner names, a surname and given name, one given name,
# a surname prefix, address words), and runs search_bench on them.
#   bench/search/run.sh [BUILD_DIR]      (default build)
#   COMMUNES=12 ROUNDS=3 WORK=bench/work/search
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
communes=${COMMUNES:-12}
rounds=${ROUNDS:-3}
work=${WORK:-bench/work/search}
mkdir -p "$work"
db="$work/synth-$communes.sqlite"

if [ ! -f "$db" ]; then
    rm -rf "$work/synth-$communes"
    "$build/samples/pdb-synth" --out "$work/synth-$communes" --communes "$communes" \
        --defects none --quiet
    "$build/cli/parceldb" init --db "$db.tmp" >/dev/null
    "$build/cli/parceldb" import --quiet --db "$db.tmp" "$work/synth-$communes"/*.shp
    mv "$db.tmp" "$db"
fi
echo "store: $db ($(sqlite3 "$db" "SELECT count(*) FROM parcels WHERE valid_to IS NULL") current parcels, $(sqlite3 "$db" 'SELECT count(*) FROM search_words') postings rows)"

# Queries drawn from the store with a fixed seed of SQLite's ordering by
# a hash of the id, so that every run asks the same.
sqlite3 -batch -noheader "$db" "
  WITH p AS (SELECT id, owner, address FROM parcels WHERE valid_to IS NULL
             ORDER BY (id * 2654435761) % 4294967296 LIMIT 100)
  SELECT 'owner|' || owner FROM p
  UNION ALL SELECT 'owner|' || substr(owner, 1, instr(owner, ' ') - 1) || ' ' ||
               replace(owner, rtrim(owner, replace(owner, ' ', '')), '') FROM p
  UNION ALL SELECT 'owner|' || replace(owner, rtrim(owner, replace(owner, ' ', '')), '') FROM p
  UNION ALL SELECT 'owner|' || substr(owner, 1, 3) FROM p
  UNION ALL SELECT 'address|' || address FROM p" >"$work/queries.txt"

cc -O2 -Wall -I engine/include bench/search/search_bench.c -o "$work/search_bench" \
    -L "$build/engine" -lparceldb -Wl,-rpath,"$PWD/$build/engine"
"$work/search_bench" "$db" "$work/queries.txt" "$rounds"
