#!/usr/bin/env bash
# parceldb export --format DGN|DXF (issue 15, docs/export.md): a commune as
# a line-and-label survey sheet, which `parceldb import --sheets` reads back
# to the same parcels: former commune, sheet and parcel numbers, land uses
# and surveyed areas equal, computed areas within 0.01 m2. pdb-synth stores
# of a merged commune (07900: sheet 1 in each former commune, so the frames
# must carry the former communes) and of a Vinh Phuc commune in another
# zone. What GDAL reads in the files: boundary lines, texts and frames on
# the importer's default levels and layers. Bad input in one line.
source "$PDB_SOURCE_DIR/tests/import/lib.sh"

need_synth
# Runs on both stores (export_sheets_pg: tests/pg.cmake): the store's SQL
# goes through sql/store_sql, an area to two decimals in each dialect.
if [ "$PDB_TEST_STORE" = pg ]; then
    AREA2="to_char(area_surveyed_m2, 'FM999999990.00')"
else
    AREA2="printf('%.2f', area_surveyed_m2)"
fi
ROWS="SELECT coalesce(former_commune, ''), sheet, parcel, landuse, $AREA2
      FROM parcels WHERE valid_to IS NULL ORDER BY 1, 2, 3"
# Each current parcel's computed area, by its number (the two stores may
# be two PostgreSQL databases: joined here, not in SQL).
COMPUTED="SELECT coalesce(former_commune, '') || '/' || sheet || '/' || parcel, area_computed_m2
          FROM parcels WHERE valid_to IS NULL"
# areas_apart A B: "N|M": N parcels of A matched in B by number, M of them
# whose computed areas differ by more than 0.01 m2.
areas_apart() {
    awk -F'|' 'NR == FNR { a[$1] = $2; next }
        ($1 in a) { n++; d = a[$1] - $2; if (d > 0.01 || d < -0.01) m++ }
        END { printf "%d|%d\n", n, m }' <(store_sql "$1" "$COMPUTED") <(store_sql "$2" "$COMPUTED")
}

sheet_case() { # COMMUNE EPSG SEED
    local c=$1 epsg=$2 seed=$3
    "$SYNTH" --out "$WORK/src$c" --communes "$c" --parcels-per-commune 600 --seed "$seed" \
        --format GPKG --defects none --quiet
    new_store "src$c"
    local src=$DB
    import --quiet "$WORK/src$c/"
    check "$c: the store imports" "$RC" 0
    local want n
    want=$(sql "$ROWS")
    n=$(wc -l <<<"$want")
    check "$c: 600 parcels" "$n" 600
    for fmt in DGN DXF; do
        local f=$WORK/$c.${fmt,,} out rc
        set +e
        out=$("$PARCELDB" export --db "$src" --format "$fmt" --commune "$c" -o "$f" 2>&1)
        rc=$?
        set -e
        check "$c $fmt: export" "$rc" 0
        [ "$rc" -eq 0 ] || echo "$out" >&2
        if [ "$fmt" = DGN ]; then
            check "$c DGN: ogrinfo reads the levels" "$(ogrinfo -ro -q "$f" -sql \
                "SELECT DISTINCT Level FROM elements ORDER BY Level" | sed -n 's/^ *Level (Integer) = //p' |
                tr '\n' ' ')" "10 13 14 15 63 "
        else
            check "$c DXF: ogrinfo reads the layers" "$(ogrinfo -ro -q "$f" -sql \
                "SELECT DISTINCT Layer FROM entities ORDER BY Layer" | sed -n 's/^ *Layer (String) = //p' |
                tr '\n' ' ')" "DIEN_TICH KHUNG LOAI_DAT RANH_THUA SO_THUA "
        fi
        new_store "back$c$fmt"
        import --quiet --sheets --commune "$c" --srs "EPSG:$epsg" "$f"
        check "$c $fmt: imports as a sheet" "$RC" 0
        [ "$RC" -eq 0 ] || echo "$OUT" >&2
        check "$c $fmt: the same parcels, numbers, land uses, surveyed areas" "$(sql "$ROWS" | md5sum)" \
            "$(md5sum <<<"$want")"
        check "$c $fmt: computed areas within 0.01 m2" "$(areas_apart "$DB" "$src")" "600|0"
    done
    check "$c: the merged commune's former communes come back" \
        "$(sql "SELECT count(DISTINCT coalesce(former_commune, '')) FROM parcels")" \
        "$(store_sql "$src" "SELECT count(DISTINCT coalesce(former_commune, '')) FROM parcels")"
    SRC=$src
}

sheet_case 07900 9208 5
check "07900 is a merged commune: several former communes" \
    "$(store_sql "$SRC" "SELECT CASE WHEN count(DISTINCT former_commune) > 1 THEN 1 ELSE 0 END
        FROM parcels")" 1
sheet_case 08707 5897 9

# Bad input: the exit status (docs/export.md), one line, nothing written.
new_store two
import --quiet "$WORK/src07900/" "$WORK/src08707/"
mkdir "$WORK/bad"
bad() { # NAME STATUS PATTERN ARGS...
    local name=$1 want=$2 pattern=$3 out rc
    shift 3
    set +e
    out=$(cd "$WORK/bad" && "$PARCELDB" export --db "$DB" "$@" 2>&1 >/dev/null)
    rc=$?
    set -e
    check "$name: exit status" "$rc" "$want"
    check "$name: one line" "$(grep -c . <<<"$out")" 1
    contains "$name: says why" "$out" "$pattern"
    check "$name: nothing written" "$(ls -A "$WORK/bad" | tr '\n' ' ')" ""
}
bad "DXF of two communes" 2 "a DXF sheet holds one commune: give --commune" --format DXF -o x.dxf
bad "DGN with --srs" 2 "drawn in the survey CRS" --format DGN --commune 07900 --srs WGS84 -o x.dgn
bad "DGN of an empty sheet" 3 "no parcels to export in commune 07900 on that sheet" --format DGN \
    --commune 07900 --sheet 99 -o x.dgn
finish
