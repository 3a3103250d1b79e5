#!/usr/bin/env bash
# The demo page's vector map (issue 18), in Debian's headless Chromium
# through the DevTools protocol (cdp.py): "#map=vector" loads MapLibre GL
# JS from the server itself and draws the vector tiles with the style the
# server writes from the PNG tiles' own; with no error of any kind in the
# page (window.pdbErrors: uncaught errors, rejections, console.error, the
# map's error events); its canvas, read back, agrees with the PNG tiles of
# the same view on at least 98% of pixels (vector_page.py); a click on a
# parcel shows the attributes the tile carries, a hover names the parcel,
# and the switch goes back to the PNG map at the same place.
source "$(dirname "$0")/lib.sh"

need_chromium
[ -x "${PDB_SYNTH:-}" ] || { fail "PDB_SYNTH (build/samples/pdb-synth) is not set"; exit 1; }
/usr/bin/python3 -c 'import numpy; from osgeo import gdal' 2>/dev/null ||
    { fail "python3-numpy and python3-gdal are not installed (scripts/install-deps.sh)"; exit 1; }
[ -f "$PDB_BINARY_DIR/web/maplibre/maplibre-gl.mjs" ] ||
    { fail "the build has no MapLibre GL JS (web/build.sh: npm ci failed?)"; exit 1; }

# One dense commune of 800 parcels, no defects.
"$PDB_SYNTH" --out src --communes 1 --parcels-per-commune 800 --defects none --seed 7 --quiet ||
    { fail "pdb-synth"; exit 1; }
new_db || exit 1
"$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; exit 1; }
"$PARCELDB" import --quiet --db "$DB" src >import.log 2>&1 || { fail "import: $(cat import.log)"; exit 1; }
start_server || exit 1

/usr/bin/python3 "$PDB_SOURCE_DIR/tests/server/vector_page.py" "$BASE" "$DB" "$WORK" "$PARCELDB" \
    "$PDB_SOURCE_DIR/tests/server/cdp.py" "$CHROMIUM" "${CHROME_FLAGS[@]}" >vector.out 2>&1
rc=$?
while read -r line; do
    case $line in
    "ok: "*) ok "${line#ok: }" ;;
    "FAIL: "*) fail "${line#FAIL: }" ;;
    esac
done <vector.out
[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "vector_page.py stopped (exit $rc)"
stop_server
finish
