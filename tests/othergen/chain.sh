#!/usr/bin/env bash
# chain.sh: the whole chain on data our own generator did not make.
# tests/othergen/othergen.py (numpy and OGR only, written apart from
# samples/synth) writes a province of 2-4 communes in two or more TM-3
# zones, with the habits of real surveys (docs in its header), and
# truth.json; for each seed this imports it with default flags and
# chain.py checks what a user would: accounting, lookups, qa, PNG and MVT
# tiles at z10/z14/z17, GPKG export. A failure names the seed and parcel:
#   tests/othergen/othergen.py --seed N --out DIR   reproduces the data.
source "$(dirname "$0")/../import/lib.sh"
trap - ERR

PY=/usr/bin/python3
"$PY" -c 'import numpy; from osgeo import ogr' || {
    echo "FAIL: python3-numpy or python3-gdal is missing (scripts/install-deps.sh)" >&2
    exit 1
}
HERE=$PDB_SOURCE_DIR/tests/othergen
SEEDS=${OTHERGEN_SEEDS:-1 2 3 4}

for seed in $SEEDS; do
    dir=$WORK/seed$seed
    if ! "$PY" "$HERE/othergen.py" --seed "$seed" --out "$dir" --data "$PDB_SOURCE_DIR/data" \
        2>"$WORK/gen.err"; then
        fail "seed $seed: othergen.py: $(cat "$WORK/gen.err")"
        continue
    fi
    DB=$dir/parcels.sqlite
    "$PARCELDB" init --db "$DB" >/dev/null
    import "$dir/survey"
    check "seed $seed: parceldb import $dir/survey: exit status" "$RC" 0
    [ "$RC" -eq 0 ] || echo "$OUT" >&2
    # GDAL's own warnings are not ours to print raw (the reading thread had
    # no quiet handler: a line a record of unclosed GeoJSON rings).
    check "seed $seed: import prints no raw GDAL message" \
        "$(grep -cE '^(Warning|ERROR) [0-9]+:' <<<"$OUT")" 0
    if "$PY" "$HERE/chain.py" "$PARCELDB" "$DB" "$dir" "$PDB_SOURCE_DIR/styles/landuse.json" \
        >"$dir/chain.out" 2>&1; then
        PASSES=$((PASSES + $(grep -c '^ok:' "$dir/chain.out")))
        ok "seed $seed: chain.py: all checks passed"
    else
        PASSES=$((PASSES + $(grep -c '^ok:' "$dir/chain.out")))
        FAILS=$((FAILS + $(grep -c '^FAIL:' "$dir/chain.out")))
        grep -v '^ok:' "$dir/chain.out" >&2
    fi
done
finish
