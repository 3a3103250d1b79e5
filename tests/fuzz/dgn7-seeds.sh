#!/usr/bin/env bash
# dgn7-seeds.sh SYNTH OUTDIR: the seed corpus of fuzz_dgn7, made by the
# generator (pdb-synth) at test time rather than kept in git: a small
# commune as line-and-label DGN sheets and as DGN polygons, the sheets as a
# 3D file (ogr2ogr), and the sheets cut in an element's middle.
set -euo pipefail
SYNTH=${1:?pdb-synth}
OUT=${2:?the seeds directory}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-dgn7-seeds.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export CPL_LOG=/dev/null
rm -rf "$OUT"
mkdir -p "$OUT"
gen() { "$SYNTH" --out "$WORK/$1" --communes 07900 --parcels-per-commune 60 --seed 3 --quiet \
    --defects none --format DGN "${@:2}"; }
gen sheets --sheets lines
gen shapes
cp "$WORK/sheets/07900.dgn" "$OUT/sheets.dgn"
cp "$WORK/shapes/07900.dgn" "$OUT/shapes.dgn"
ogr2ogr -f DGN -dsco 3D=YES "$OUT/sheets3d.dgn" "$OUT/sheets.dgn"
size=$(stat -c %s "$OUT/sheets.dgn")
{ head -c $((size / 2 + 7)) "$OUT/sheets.dgn"; printf '\xff\xff'; } >"$OUT/cut.dgn"
echo "dgn7-seeds: $(ls "$OUT" | wc -l) seeds in $OUT"
