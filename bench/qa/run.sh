#!/usr/bin/env bash
# QA benchmark (issue 16): `parceldb qa` on a whole store against the same
# overlap check in PostGIS, in the same run: a self-join of the current
# parcels on their GiST index, pairs of one commune whose interiors meet in
# an area (ST_Relate '2********', ST_Overlaps' condition widened to a parcel
# inside another, which `qa` reports too) and whose intersection is over
# 0.01 m² (ST_Area(ST_Intersection)). PostGIS measures in EPSG:9208 (the
# store's three TM-3 zones in one), parceldb in each commune's own zone.
# Three timings, each single-threaded, ROUNDS alternating rounds, median:
#   qa-overlap  `parceldb qa` with every check off but overlap (like for like)
#   qa-all      `parceldb qa` with its default rules (what a user runs)
#   postgis     the SQL above, through psql
# The overlap counts of both must agree before anything is reported.
#
#   bench/qa/run.sh [--smoke]
#   --smoke   2 communes of 300 parcels with planted overlaps, 1 round (CI).
# Environment: ROUNDS (3), PDB_BINARY_DIR (build-rel), RESULTS
# (bench/work/results), STORE (bench/work/qa.sqlite, made once: the
# province with pdb-synth --qa-defects 2, imported).
# Writes RESULTS/qa.md and RESULTS/qa-summary.txt.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
. "$BENCH_ROOT/bench/lookup/pg.sh"
bench_args qa "$@"
rounds=${ROUNDS:-3}
bench_need "run scripts/install-deps.sh" ogr2ogr sqlite3 psql

if [ $smoke -eq 1 ]; then
    rounds=1
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbqa.XXXXXX")
    chmod 755 "$WORK"
    PGDATA_DIR=$WORK/pg
    PGSOCK_DIR=$WORK/pgsock
    RESULTS=${RESULTS:-$WORK/results}
    STORE=$WORK/smoke.sqlite
    SRC=$WORK/src
    NSYNTH=(--communes 2 --parcels-per-commune 300)
else
    RESULTS=${RESULTS:-$WORK/results}
    STORE=${STORE:-$WORK/qa.sqlite}
    SRC=$WORK/qa-src
    NSYNTH=()
fi
if [ ! -f "$STORE" ]; then
    echo "making $STORE: pdb-synth --qa-defects 2 ${NSYNTH[*]}, imported ..." >&2
    rm -rf "$SRC"
    "$SYNTH" --out "$SRC" --format GPKG --defects none --qa-defects 2 "${NSYNTH[@]}" --quiet
    "$P" init --db "$STORE.tmp" >/dev/null
    "$P" import --quiet --db "$STORE.tmp" "$SRC"
    mv "$STORE.tmp" "$STORE"
fi
STORE=$(cd "$(dirname "$STORE")" && pwd)/$(basename "$STORE")
mkdir -p "$RESULTS"
QW=$WORK/qa
rm -rf "$QW"
mkdir -p "$QW"
cleanup() {
    pg_stop
    if [ $smoke -eq 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Only the overlap check, for the like-for-like run (overlap_sliver stays
# on: it is the overlaps of the area threshold that are narrower than
# overlap.min_width_m, which PostGIS's join below counts too).
{
    for c in overlap_commune gap duplicate_number missing_number area_mismatch invalid repaired \
        tiny needle close_vertices unknown_landuse; do
        echo "$c.severity = off"
    done
} >"$QW/overlap-only.rules"

pg_start
db=qa
stamp=$(sqlite3 -separator : "$STORE" "SELECT total(id), max(id), count(*) FROM parcels WHERE valid_to IS NULL")
have=$(pg_psql postgres -At -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db'")
if [ "$have" != "$stamp" ]; then
    echo "loading the store's parcels into PostGIS (database $db, EPSG:9208) ..." >&2
    pg_psql postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    pg_psql "$db" -c "CREATE EXTENSION postgis"
    ogr2ogr -f PostgreSQL PG:"$(pg_conninfo "$db")" "$STORE" \
        -sql "SELECT id, commune, geom FROM parcels WHERE valid_to IS NULL" \
        -nln parcels_qa -nlt MULTIPOLYGON -a_srs EPSG:4326 -t_srs EPSG:9208 \
        -lco GEOMETRY_NAME=geom -lco FID=fid -lco SPATIAL_INDEX=NONE --config PG_USE_COPY YES
    pg_psql "$db" -c "CREATE INDEX parcels_qa_geom ON parcels_qa USING gist (geom)" \
        -c "ANALYZE parcels_qa" -c "COMMENT ON DATABASE $db IS '$stamp'"
fi
SQL="SELECT count(*) FROM (SELECT ST_Area(ST_Intersection(a.geom, b.geom)) AS area
  FROM parcels_qa a JOIN parcels_qa b ON a.commune = b.commune AND a.id < b.id AND a.geom && b.geom
  WHERE ST_Relate(a.geom, b.geom, '2********')) q WHERE area > 0.01"

# Correctness first: the same number of overlapping pairs.
n_pg=$(pg_psql "$db" -At -c "$SQL")
set +e
"$P" qa --db "$STORE" --rules "$QW/overlap-only.rules" --format json -o "$QW/overlap.json"
rc=$?
set -e
[ $rc -eq 0 ] || [ $rc -eq 2 ] || { echo "parceldb qa failed (exit $rc)" >&2; exit 1; }
n_qa=$(/usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(sum(1 for f in r["findings"] if f["check"] in ("overlap", "overlap_sliver")))' "$QW/overlap.json")
[ "$n_qa" = "$n_pg" ] || { echo "overlapping pairs: parceldb qa $n_qa, PostGIS $n_pg" >&2; exit 1; }

# Rounds, alternating.
for _ in $(seq "$rounds"); do
    timed qa-overlap "$P" qa --db "$STORE" --rules "$QW/overlap-only.rules" --format json -o "$QW/o.json" || true
    timed qa-all "$P" qa --db "$STORE" --format json -o "$QW/a.json" || true
    timed postgis psql -X -q -At "$(pg_conninfo "$db")" -c "$SQL" -o "$QW/pg.txt"
done
to=$(median qa-overlap 2)
ta=$(median qa-all 2)
tp=$(median postgis 2)
parcels=${stamp##*:}
{
    echo "## QA: parceldb qa against the same overlap check in PostGIS"
    echo
    echo "Machine: $(machine); load before: $(loadavg). Store: $(basename "$STORE"), $parcels parcels, $n_qa overlapping pairs found by both; $rounds rounds, median; commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)."
    echo
    echo "| run | seconds | PostGIS overlap self-join / this |"
    echo "|---|---|---|"
    echo "| parceldb qa, overlap check only | $to | $(awk -v p="$tp" -v t="$to" 'BEGIN {printf "%.2fx", p / t}') |"
    echo "| parceldb qa, every check (default rules) | $ta | $(awk -v p="$tp" -v t="$ta" 'BEGIN {printf "%.2fx", p / t}') |"
    echo "| PostGIS: GiST self-join, ST_Relate '2********', ST_Area(ST_Intersection) > 0.01 | $tp | 1.00x |"
} >"$RESULTS/qa.md"
{
    echo "qa_overlap_ratio_postgis=$(awk -v p="$tp" -v t="$to" 'BEGIN {printf "%.2f", p / t}')"
    echo "qa_all_ratio_postgis=$(awk -v p="$tp" -v t="$ta" 'BEGIN {printf "%.2f", p / t}')"
} >"$RESULTS/qa-summary.txt"
cat "$RESULTS/qa.md"
exit 0
}
