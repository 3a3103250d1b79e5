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
ROWS="SELECT coalesce(former_commune, ''), sheet, parcel, landuse, printf('%.2f', area_surveyed_m2)
      FROM parcels WHERE valid_to IS NULL ORDER BY 1, 2, 3"

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
        check "$c $fmt: computed areas within 0.01 m2" "$(sqlite3 "$DB" "ATTACH '$src' AS a;
            SELECT count(*), sum(abs(p.area_computed_m2 - q.area_computed_m2) > 0.01)
            FROM parcels p JOIN a.parcels q ON q.sheet = p.sheet AND q.parcel = p.parcel
             AND coalesce(q.former_commune, '') = coalesce(p.former_commune, '')
            WHERE p.valid_to IS NULL AND q.valid_to IS NULL")" "600|0"
    done
    check "$c: the merged commune's former communes come back" \
        "$(sql "SELECT count(DISTINCT coalesce(former_commune, '')) FROM parcels")" \
        "$(sqlite3 "$src" "SELECT count(DISTINCT coalesce(former_commune, '')) FROM parcels")"
    SRC=$src
}

sheet_case 07900 9208 5
check "07900 is a merged commune: several former communes" \
    "$(sqlite3 "$SRC" "SELECT count(DISTINCT former_commune) > 1 FROM parcels")" 1
sheet_case 08707 5897 9

# Bad input: one line, nothing written.
DB=$WORK/two.sqlite
"$PARCELDB" init --db "$DB" >/dev/null
import --quiet "$WORK/src07900/" "$WORK/src08707/"
mkdir "$WORK/bad"
bad() { # NAME PATTERN ARGS...
    local name=$1 pattern=$2 out rc
    shift 2
    set +e
    out=$(cd "$WORK/bad" && "$PARCELDB" export --db "$DB" "$@" 2>&1 >/dev/null)
    rc=$?
    set -e
    check "$name: exit status" "$rc" 1
    check "$name: one line" "$(grep -c . <<<"$out")" 1
    contains "$name: says why" "$out" "$pattern"
    check "$name: nothing written" "$(ls -A "$WORK/bad" | tr '\n' ' ')" ""
}
bad "DXF of two communes" "a DXF sheet holds one commune: give --commune" --format DXF -o x.dxf
bad "DGN with --srs" "drawn in the survey CRS" --format DGN --commune 07900 --srs WGS84 -o x.dgn
bad "DGN of an empty sheet" "no parcels to export in commune 07900 on that sheet" --format DGN \
    --commune 07900 --sheet 99 -o x.dgn
finish
