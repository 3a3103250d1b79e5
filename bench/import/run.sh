#!/usr/bin/env bash
# Import benchmark: the synthetic province (148 Shapefiles, one a commune)
# loaded by `parceldb import` and by `ogr2ogr` into SpatiaLite with the same
# reprojection (VN-2000 TM-3 -> WGS 84) and a spatial index, alternating,
# medians of RUNS runs each. parceldb runs as a user runs it (default
# flags: the low-zoom overviews rebuilt at the end, the headline row) and
# with --no-overviews (the import alone); IMPORT_FLAGS adds options to both.
#   bench/import/run.sh [--smoke]
#   --smoke: 2 communes of 300 parcels, one run each (seconds; CI runs it
#            so that this script cannot rot).
. "$(dirname "$0")/../lib.sh"
cd "$BENCH_ROOT"

communes=all
per_commune=5278
runs=${RUNS:-3}
if [ "${1:-}" = "--smoke" ]; then
    communes=2
    per_commune=300
    runs=1
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbbench.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
fi
BUILD=${PDB_BINARY_DIR:-$BENCH_ROOT/build}
P=$BUILD/cli/parceldb
SYNTH=$BUILD/samples/pdb-synth
[ -x "$P" ] && [ -x "$SYNTH" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }

src=$WORK/province-$communes-$per_commune
if [ ! -f "$src/.complete" ]; then
    rm -rf "$src"
    echo "generating the province ($communes communes x $per_commune parcels) ..."
    "$SYNTH" --out "$src" --communes "$communes" --parcels-per-commune "$per_commune" \
        --defects none --quiet
    touch "$src/.complete"
fi
files=$(ls "$src"/*.shp | wc -l)
parcels=$(for f in "$src"/*.shp; do ogrinfo -so -al "$f" | awk '/Feature Count/ {print $3}'; done |
    awk '{s += $1} END {print s}')
rm -f "$WORK/times"

# run_parceldb NAME [options]: a fresh store, the whole province, timed as NAME.
run_parceldb() {
    local name=$1
    shift
    rm -f "$WORK/p.sqlite"*
    "$P" init --db "$WORK/p.sqlite" >/dev/null
    # shellcheck disable=SC2086 # IMPORT_FLAGS is a list of options
    timed "$name" "$P" import --quiet ${IMPORT_FLAGS:-} "$@" --db "$WORK/p.sqlite" "$src"
}

run_ogr2ogr() {
    rm -f "$WORK/o.sqlite"*
    # What a user would run: one ogr2ogr per file, appending to one table
    # with a SpatiaLite R-tree, reprojected to WGS 84.
    cat >"$WORK/ogr2ogr.sh" <<SH
set -e
create=(-f SQLite -dsco SPATIALITE=YES -lco SPATIAL_INDEX=YES)
for f in "$src"/*.shp; do
    ogr2ogr "\${create[@]}" -append -nln parcels -nlt MULTIPOLYGON -t_srs EPSG:4326 \
        "$WORK/o.sqlite" "\$f"
    create=()
done
SH
    timed ogr2ogr bash "$WORK/ogr2ogr.sh"
}

for i in $(seq 1 "$runs"); do
    run_parceldb parceldb-bare --no-overviews
    run_ogr2ogr
    run_parceldb parceldb
done
# The default import leaves every commune's overviews built.
stale=$(sqlite3 "$WORK/p.sqlite" "SELECT count(*) FROM overviews_stale")
[ "$stale" = 0 ] || { echo "the default import left $stale communes' overviews stale" >&2; exit 1; }

# Correctness: both stores hold every parcel.
got_p=$(sqlite3 "$WORK/p.sqlite" "SELECT count(*) FROM parcels WHERE valid_to IS NULL")
got_o=$(sqlite3 "$WORK/o.sqlite" "SELECT count(*) FROM parcels")
[ "$got_p" = "$parcels" ] || { echo "parceldb stored $got_p of $parcels parcels" >&2; exit 1; }
[ "$got_o" = "$parcels" ] || { echo "ogr2ogr stored $got_o of $parcels parcels" >&2; exit 1; }

tp=$(median parceldb 2)
tb=$(median parceldb-bare 2)
to=$(median ogr2ogr 2)
mp=$(median parceldb 3)
mb=$(median parceldb-bare 3)
mo=$(median ogr2ogr 3)
row() { # tool seconds rss_kb
    echo "| $1 | $2 | $(awk -v n="$parcels" -v t="$2" 'BEGIN {printf "%.0f", n / t}') | $(awk -v k="$3" 'BEGIN {printf "%.0f", k / 1024}') |"
}
cat <<REPORT
import of $parcels parcels in $files files, median of $runs alternating runs
machine: $(machine)
| tool | seconds | parcels/s | peak RSS MiB |
|---|---|---|---|
$(row "parceldb import (default: overviews rebuilt)" "$tp" "$mp")
$(row "parceldb import --no-overviews" "$tb" "$mb")
$(row "ogr2ogr -> SpatiaLite" "$to" "$mo")
ratio (ogr2ogr time / parceldb time): $(awk -v a="$to" -v b="$tp" 'BEGIN {printf "%.2f", a / b}')x with the default flags, $(awk -v a="$to" -v b="$tb" 'BEGIN {printf "%.2f", a / b}')x with --no-overviews
REPORT
