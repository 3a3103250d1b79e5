#!/usr/bin/env bash
# overview_threads.sh: the overview rebuild builds communes on a thread per
# core (issue 19) and must write exactly what one commune rebuilt alone (in
# this thread, by name) writes, whatever order the builders finish in:
#  - an import of six pdb-synth communes (with defects and notches, so that
#    some land uses take the snap-rounding fallback) rebuilds all six;
#  - each rebuilt again by name gives the same rows, byte for byte;
#  - all six marked stale and rebuilt together give them again;
#  - two full-size communes (5,278 parcels) at z10: no pixel inside the
#    surveyed land is transparent (the overviews' base; z10_cover.py).
# Needs PARCELDB, PDB_SYNTH and PDB_SOURCE_DIR.
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${PDB_SYNTH:?PDB_SYNTH must name pdb-synth}"

"$PDB_SYNTH" --out synth --communes 6 --parcels-per-commune 400 --seed 7 --defects default \
    --format GPKG --notches 20 --quiet --jobs 1 || exit 1
"$PARCELDB" init --db t.sqlite >/dev/null || exit 1
"$PARCELDB" import --db t.sqlite synth >out.txt 2>err.txt
check "the import exits 0" "$?" 0
check "it rebuilt the six communes' overviews" "$(grep -c 'overviews of 6 communes rebuilt' out.txt)" 1

# Every overview row, its shape as hex, in a fixed order.
dump() {
    sqlite3 t.sqlite "SELECT commune, band, kind, landuse_main, area_m2, min_lon, min_lat,
        max_lon, max_lat, hex(geom) FROM overviews ORDER BY commune, band, kind, landuse_main"
}
dump >together.txt
check "the rows are there" "$(($(wc -l <together.txt) > 6 * 4))" 1
check "no commune left stale or failed" "$(sqlite3 t.sqlite 'SELECT count(*) FROM overviews_stale')" 0

for code in $(sqlite3 t.sqlite "SELECT code FROM communes ORDER BY code"); do
    "$PARCELDB" render --db t.sqlite --rebuild-overviews --commune "$code" >/dev/null ||
        check "rebuilding $code by name exits 0" 1 0
done
dump >alone.txt
check "one by one, the same rows as built together" "$(cmp -s together.txt alone.txt && echo same)" same

sqlite3 t.sqlite "INSERT INTO overviews_stale (commune, since) SELECT code, '' FROM communes" || exit 1
"$PARCELDB" render --db t.sqlite --rebuild-overviews >out2.txt || check "the rebuild exits 0" 1 0
dump >again.txt
check "all again together, the same rows" "$(cmp -s together.txt again.txt && echo same)" same

# z10 over full-size communes, whose land-use patches are each smaller
# than a pixel there: before the base, 23 of the 51 pixels wholly inside
# the land were part transparent, some fully.
"$PDB_SYNTH" --out big --communes 2 --parcels-per-commune 5278 --seed 7 --defects default \
    --format GPKG --quiet --jobs 1 || exit 1
"$PARCELDB" init --db big.sqlite >/dev/null || exit 1
"$PARCELDB" import --quiet --db big.sqlite big >/dev/null || check "the big import exits 0" 1 0
/usr/bin/python3 "$PDB_SOURCE_DIR/tests/render/z10_cover.py" "$PARCELDB" big.sqlite \
    "$PDB_SOURCE_DIR/styles/landuse.json" big >cover.txt 2>cover.err ||
    check "z10_cover.py exits 0 ($(tail -1 cover.err))" 1 0
read -r inside transparent <cover.txt
check "z10: pixels wholly inside the communes' land (some)" "$((${inside:-0} > 20))" 1
check "z10: transparent pixels among them $(sed -n 2p cover.txt)" "${transparent:-?}" 0
check_done
