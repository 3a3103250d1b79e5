#!/usr/bin/env bash
# Survey-sheet import benchmark (issue 15): one commune drawn as survey
# sheets are (boundary lines and number, land-use and area texts: DGN v7
# and DXF, `pdb-synth --sheets lines`) against the same commune as polygons
# in a Shapefile, made by the same generator from the same seed, each
# imported by `parceldb import` with its default flags into a new store.
# The target: a sheet imports in at most twice the Shapefile's time (the
# sheet's import nodes and polygonizes every line and places every text).
# Single-threaded as the importer is for one file, ROUNDS alternating
# rounds, median.
#
#   bench/sheets/run.sh [--smoke]
#   --smoke   a commune of 300 parcels, 1 round (CI).
# Environment: ROUNDS (3), PARCELS (5278: the province's mean commune),
# PDB_BINARY_DIR (build-rel), RESULTS (bench/work/results).
# Writes RESULTS/sheets.md and RESULTS/sheets-summary.txt.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
bench_args sheets "$@"
rounds=${ROUNDS:-3}
parcels=${PARCELS:-5278}
bench_need "run scripts/install-deps.sh" sqlite3

if [ $smoke -eq 1 ]; then
    rounds=1
    parcels=300
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbsheets.XXXXXX")
fi
RESULTS=${RESULTS:-$WORK/results}
SW=$WORK/sheets
TIMES=$SW/times
rm -rf "$SW"
mkdir -p "$SW" "$RESULTS"
cleanup() { if [ $smoke -eq 1 ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

commune=07900
for f in DGN DXF "ESRI Shapefile"; do
    opt=()
    [ "$f" = "ESRI Shapefile" ] || opt=(--sheets lines)
    "$SYNTH" --out "$SW/${f%% *}" --format "$f" "${opt[@]}" --communes "$commune" \
        --parcels-per-commune "$parcels" --seed 7 --defects none --quiet
done
dgn=$(find "$SW/DGN" -name '*.dgn' | head -1)
dxf=$(find "$SW/DXF" -name '*.dxf' | head -1)
shp=$(find "$SW/ESRI" -name '*.shp' | head -1)
[ -n "$dgn" ] && [ -n "$dxf" ] && [ -n "$shp" ] || { echo "pdb-synth wrote no sheet or Shapefile" >&2; exit 1; }

# import_once LABEL FILE ARGS...: a new store, then the timed import.
import_once() {
    local label=$1 file=$2
    shift 2
    rm -f "$SW/$label.sqlite"*
    "$P" init --db "$SW/$label.sqlite" >/dev/null
    timed "$label" "$P" import --quiet --db "$SW/$label.sqlite" "$@" "$file" >"$SW/$label.log" 2>&1 || {
        echo "$label: the import failed: $(tail -3 "$SW/$label.log")" >&2
        exit 1
    }
}
stored() { sqlite3 "$SW/$1.sqlite" "SELECT count(*) FROM parcels WHERE valid_to IS NULL"; }

for _ in $(seq "$rounds"); do
    import_once shp "$shp"
    import_once dgn "$dgn" --srs EPSG:9208
    import_once dxf "$dxf" --srs EPSG:9208
done
# The same parcels, or the comparison means nothing; the sheets lose
# only what the generator's planted label defects take out.
ns=$(stored shp) nd=$(stored dgn) nx=$(stored dxf)
# What the planted defects take out (the sheet's ground truth): the two
# parcels a 5 cm gap joins into one polygon with two numbers, and the
# parcel whose number is missing; nothing else may be lost.
lost=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(sum(len(x["parcels"]) for x in d["defects"] if x["kind"] == "gap") +
      sum(1 for x in d["defects"] if x["kind"] == "missing-number"))' "$dgn.sheets.json")
for n in "$nd" "$nx"; do
    [ "$n" -eq $((ns - lost)) ] || {
        echo "the sheets stored $nd (DGN) and $nx (DXF) parcels, the Shapefile $ns: $lost planted losses expected" >&2
        exit 1
    }
done
ts=$(median shp 2) td=$(median dgn 2) tx=$(median dxf 2)
{
    echo "## Survey sheets: import of DGN and DXF line-and-label sheets against the same commune as a Shapefile"
    echo
    echo "Machine: $(machine); load before: $(loadavg). Commune $commune of $parcels parcels (pdb-synth seed 7); default import flags; $rounds rounds, median; commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)."
    echo
    echo "| file | parcels stored | seconds | this / Shapefile (target <= 2.00x) |"
    echo "|---|---|---|---|"
    echo "| Shapefile (polygons) | $ns | $ts | 1.00x |"
    echo "| DGN v7 sheet (lines and texts) | $nd | $td | $(awk -v a="$td" -v b="$ts" 'BEGIN {printf "%.2fx", a / b}') |"
    echo "| DXF sheet (lines and texts) | $nx | $tx | $(awk -v a="$tx" -v b="$ts" 'BEGIN {printf "%.2fx", a / b}') |"
} >"$RESULTS/sheets.md"
{
    echo "sheets_dgn_over_shp=$(awk -v a="$td" -v b="$ts" 'BEGIN {printf "%.2f", a / b}')"
    echo "sheets_dxf_over_shp=$(awk -v a="$tx" -v b="$ts" 'BEGIN {printf "%.2f", a / b}')"
} >"$RESULTS/sheets-summary.txt"
cat "$RESULTS/sheets.md"
exit 0
}
