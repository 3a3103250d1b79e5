#!/usr/bin/env bash
# Export benchmark (issue 15): `parceldb export --format GPKG` of the whole
# store against `ogr2ogr -f GPKG` from the SpatiaLite store that ogr2ogr
# itself built from the same surveys (bench/import/run.sh's anchor: one
# ogr2ogr per Shapefile, reprojected to WGS 84, with its R-tree), in the
# same run. Both write every parcel with its attributes and a GeoPackage
# R-tree; parceldb writes each commune as a layer in its survey CRS, with
# the source geometry as imported, ogr2ogr one layer as its store has it.
# ROUNDS alternating rounds, median seconds and peak memory.
#
#   bench/export/run.sh [--smoke]
#   --smoke   2 communes of 300 parcels, 1 round (CI: bench_export_smoke).
# Environment: ROUNDS (3), PDB_BINARY_DIR (build-rel), RESULTS
# (bench/work/results), STORE (bench/work/prov.sqlite, made as
# bench/run-all.sh makes it when missing), SRC (the surveys it was imported
# from: bench/work/province-all-5278), OSTORE (bench/work/o.sqlite, the
# ogr2ogr-built SpatiaLite store, made when missing or short).
# Writes RESULTS/export.md and RESULTS/export-summary.txt.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
bench_args export "$@"
rounds=${ROUNDS:-3}
bench_need "run scripts/install-deps.sh" ogr2ogr ogrinfo sqlite3

if [ $smoke -eq 1 ]; then
    rounds=1
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbexport.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    RESULTS=${RESULTS:-$WORK/results}
    STORE=$WORK/smoke.sqlite
    SRC=$WORK/src
    OSTORE=$WORK/o.sqlite
    NSYNTH=(--communes 2 --parcels-per-commune 300)
else
    RESULTS=${RESULTS:-$WORK/results}
    STORE=${STORE:-$WORK/prov.sqlite}
    SRC=${SRC:-$WORK/province-all-5278}
    OSTORE=${OSTORE:-$WORK/o.sqlite}
    NSYNTH=(--communes all --parcels-per-commune 5278)
fi
mkdir -p "$RESULTS"
count() { sqlite3 "$1" "SELECT count(*) FROM parcels${2:-}" 2>/dev/null || echo 0; }

if [ ! -f "$SRC/.complete" ]; then
    echo "generating the surveys (${NSYNTH[*]}) ..." >&2
    rm -rf "$SRC"
    "$SYNTH" --out "$SRC" "${NSYNTH[@]}" --defects none --quiet
    touch "$SRC/.complete"
fi
want=$(for f in "$SRC"/*.shp; do ogrinfo -ro -so -al "$f" | awk '/Feature Count/ {print $3}'; done |
    awk '{s += $1} END {print s}')
if [ "$(count "$STORE" " WHERE valid_to IS NULL")" != "$want" ]; then
    echo "importing $SRC into $STORE ..." >&2
    rm -f "$STORE" "$STORE"-*
    "$P" init --db "$STORE" >/dev/null
    "$P" import --quiet --db "$STORE" "$SRC"
fi
if [ "$(count "$OSTORE")" != "$want" ]; then
    echo "loading $SRC into $OSTORE with ogr2ogr (SpatiaLite, WGS 84, R-tree) ..." >&2
    rm -f "$OSTORE" "$OSTORE"-*
    create=(-f SQLite -dsco SPATIALITE=YES -lco SPATIAL_INDEX=YES)
    for f in "$SRC"/*.shp; do
        ogr2ogr "${create[@]}" -append -nln parcels -nlt MULTIPOLYGON -t_srs EPSG:4326 "$OSTORE" "$f"
        create=()
    done
fi
EW=$WORK/export
rm -rf "$EW"
mkdir -p "$EW"
export TIMES=$EW/times

# gpkg_count FILE: the features of every layer of a GeoPackage.
gpkg_count() {
    ogrinfo -ro -so -al "$1" | awk '/^Feature Count/ {s += $3} END {print s}'
}

for _ in $(seq "$rounds"); do
    rm -f "$EW/p.gpkg" "$EW/o.gpkg"
    timed parceldb "$P" export --db "$STORE" --format GPKG -o "$EW/p.gpkg"
    timed ogr2ogr ogr2ogr -f GPKG "$EW/o.gpkg" "$OSTORE" parcels
done
# Both wrote every parcel.
np=$(gpkg_count "$EW/p.gpkg")
no=$(gpkg_count "$EW/o.gpkg")
[ "$np" = "$want" ] && [ "$no" = "$want" ] ||
    { echo "parcels written: parceldb $np, ogr2ogr $no, want $want" >&2; exit 1; }
tp=$(median parceldb 2)
to=$(median ogr2ogr 2)
mp=$(median parceldb 3)
mo=$(median ogr2ogr 3)
ratio=$(awk -v a="$to" -v b="$tp" 'BEGIN {printf "%.2f", a / b}')
{
    echo "## Export: parceldb export --format GPKG against ogr2ogr -f GPKG"
    echo
    echo "Machine: $(machine); load before: $(loadavg). $want parcels of $(ls "$SRC"/*.shp | wc -l) communes; $rounds rounds, median; commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)."
    echo
    echo "| run | seconds | peak MiB | file MiB |"
    echo "|---|---|---|---|"
    echo "| parceldb export --format GPKG (a layer per commune, survey CRS) | $tp | $((mp / 1024)) | $(($(stat -c %s "$EW/p.gpkg") / 1048576)) |"
    echo "| ogr2ogr -f GPKG from the ogr2ogr-built SpatiaLite store | $to | $((mo / 1024)) | $(($(stat -c %s "$EW/o.gpkg") / 1048576)) |"
    echo
    echo "ratio (ogr2ogr time / parceldb time): ${ratio}x"
} >"$RESULTS/export.md"
echo "export_ratio_ogr2ogr=$ratio" >"$RESULTS/export-summary.txt"
cat "$RESULTS/export.md"
exit 0
}
