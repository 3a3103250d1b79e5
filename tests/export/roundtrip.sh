#!/usr/bin/env bash
# parceldb export (issue 15, docs/export.md): for GeoPackage, Shapefile and
# GeoJSON, import(export(store)) into a new store equals the store: the same
# parcels, numbers, land uses, surveyed areas (the same doubles), addresses,
# owners (with --personal), survey CRS and source geometry, compared byte for
# byte as hex(source_geom). GeoJSON round-trips so in the survey CRS (--srs);
# in its default RFC 7946 WGS 84 in meaning: the same attributes, and every
# vertex within 1e-8 degree (1 mm) of the store's WGS 84 geometry. Stores of
# pdb-synth with two seeds, each of two communes in two TM-3 zones; the
# superseded parcels of a re-import come back with --at. ogrinfo opens every
# export, headless QGIS opens the Shapefile and a GeoPackage layer and reads
# their Vietnamese text as the store holds it. The GeoPackage (written with
# SQLite by import/gpkg_write.c) passes GDAL's validate_gpkg.py and SQLite's
# rtreecheck(), and ogrinfo -spat through its R-tree returns exactly what
# reading every feature finds. Bad input and a disk that fills while the
# GeoPackage is written: one line on stderr, no file left. Runs on both
# stores (export_roundtrip_pg: tests/pg.cmake): the store's SQL goes through
# store_sql, with the dialect's exact forms of a double and of the source
# WKB.
source "$PDB_SOURCE_DIR/tests/import/lib.sh"

need_synth
PYTHON=/usr/bin/python3 # Debian's GDAL and QGIS bindings are in the system Python
HERE=$PDB_SOURCE_DIR/tests/export
# GDAL's GeoPackage validator (python3-gdal, scripts/install-deps.sh).
VALIDATE_GPKG=/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py
[ -f "$VALIDATE_GPKG" ] || fail "$VALIDATE_GPKG is missing: run scripts/install-deps.sh"

# A double as text that reads back to the same bits, and the source
# geometry's WKB in hex, byte for byte as stored: SQLite's printf('%!.17g')
# and hex() of the blob; PostgreSQL's shortest exact float8 text
# (extra_float_digits 1, its default since 12) and PostGIS's WKB of the stored geometry.
if [ "$PDB_TEST_STORE" = pg ]; then
    AREA="(area_surveyed_m2::text)"
    GEOM_HEX="upper(encode(ST_AsBinary(source_geom, 'NDR'), 'hex'))"
else
    AREA="printf('%!.17g', area_surveyed_m2)"
    GEOM_HEX="hex(source_geom)"
fi
# One line per current parcel, everything the round trip keeps.
ROWS="SELECT commune, coalesce(former_commune, ''), sheet, parcel, landuse,
             $AREA, coalesce(address, ''), coalesce(owner, ''), source_srid, $GEOM_HEX
      FROM parcels WHERE valid_to IS NULL ORDER BY 1, 2, 3, 4, 10"
# The same without the geometry and its CRS (the WGS 84 GeoJSON).
ATTRS="SELECT commune, coalesce(former_commune, ''), sheet, parcel, landuse,
              $AREA, coalesce(address, ''), coalesce(owner, '')
       FROM parcels WHERE valid_to IS NULL ORDER BY 1, 2, 3, 4, 6"
# rows STORE [SQL]: the md5 of SQL's rows (ROWS by default); a query that
# fails or finds nothing fails the test (two empty answers are not equal
# stores).
rows() {
    local out
    out=$(store_sql "$1" "${2:-$ROWS}") && [ -n "$out" ] || fail "no rows from $1 for: ${2:-ROWS}"
    md5sum <<<"$out" | cut -c1-32
}

# fresh NAME: a new empty store (store_location), its location in FRESH.
fresh() {
    FRESH=$(store_location "$WORK" "$(tr -c 'A-Za-z0-9\n' _ <<<"$1")")
    "$PARCELDB" init --db "$FRESH" >/dev/null
}

# export_ok NAME ARGS...: runs parceldb export on SRC; must succeed.
export_ok() {
    local name=$1 out
    shift
    set +e
    out=$("$PARCELDB" export --db "$SRC" "$@" 2>&1)
    local rc=$?
    set -e
    check "$name: exit status" "$rc" 0
    [ "$rc" -eq 0 ] || echo "$out" >&2
}

# reimport NAME FILE...: a new store FRESH with FILE... imported.
reimport() {
    local name=$1
    shift
    fresh "$name"
    set +e
    local out
    out=$("$PARCELDB" import --db "$FRESH" --quiet "$@" 2>&1)
    local rc=$?
    set -e
    check "$name: imports" "$rc" 0
    [ "$rc" -eq 0 ] || echo "$out" >&2
}

# gpkg_checks TAG FILE COMMUNE_A COMMUNE_B: the GeoPackage (written by
# import/gpkg_write.c, not GDAL) as GDAL's validator, SQLite's rtreecheck()
# and a spatial query see it: ogrinfo -spat (through the R-tree) returns
# exactly the parcels that reading every feature finds in the box.
gpkg_checks() {
    local tag=$1 f=$2 ca=$3 cb=$4 out rc
    set +e
    out=$("$PYTHON" "$VALIDATE_GPKG" "$f" 2>&1)
    rc=$?
    set -e
    check "$tag: GDAL's validate_gpkg.py accepts the GPKG" "$rc $out" "0 "
    check "$tag: GPKG: application_id GPKG, user_version 1.3" \
        "$(sqlite3 "$f" "PRAGMA application_id; PRAGMA user_version" | tr '\n' ' ')" "1196444487 10300 "
    check "$tag: GPKG: the R-trees are well-formed (rtreecheck)" \
        "$(sqlite3 "$f" "SELECT rtreecheck('rtree_ThuaDat_${ca}_geom') || ' ' ||
            rtreecheck('rtree_ThuaDat_${cb}_geom')")" "ok ok"
    local lay=ThuaDat_$ca x0 y0 x1 y1
    check "$tag: GPKG: GDAL finds the R-tree of $lay" \
        "$(ogrinfo -ro -q -sql "SELECT HasSpatialIndex('$lay', 'geom')" "$f" | grep -oE '= [01]$')" "= 1"
    # A box over the middle of the commune, cutting through parcels.
    read -r x0 y0 x1 y1 < <(sqlite3 -separator ' ' "$f" "SELECT min_x + (max_x - min_x) * 0.3,
        min_y + (max_y - min_y) * 0.3, min_x + (max_x - min_x) * 0.6, min_y + (max_y - min_y) * 0.55
        FROM gpkg_contents WHERE table_name = '$lay'")
    local spat brute
    spat=$(ogrinfo -ro -q -spat "$x0" "$y0" "$x1" "$y1" "$f" "$lay" |
        sed -n "s/^OGRFeature($lay):\([0-9]*\)\$/\1/p" | sort -n | tr '\n' ' ')
    brute=$("$PYTHON" "$HERE/gpkg_spat.py" "$f" "$lay" "$x0" "$y0" "$x1" "$y1")
    check "$tag: GPKG: ogrinfo -spat returns what reading every parcel finds" \
        "brute ${spat% }" "$(grep '^brute' <<<"$brute")"
    local n
    n=$(wc -w <<<"$spat")
    check "$tag: GPKG: the box holds some parcels, not all" "$([ "$n" -gt 10 ] && [ "$n" -lt 290 ] &&
        echo yes || echo "no: $n")" yes
    check "$tag: GPKG: the R-tree misses no parcel and returns none far from the box" \
        "$(grep -E '^rtree_' <<<"$brute" | tr '\n' ' ')" "rtree_missing 0 rtree_extra 0 "
    # Later edits (GDAL, as QGIS makes them) keep the R-tree and the count
    # current through the triggers: parcel 2 moved onto parcel 1, 3 deleted.
    local e=$WORK/edit.gpkg rt="\"rtree_${lay}_geom\""
    cp "$f" "$e"
    ogrinfo -q "$e" -sql "UPDATE \"$lay\" SET geom = (SELECT geom FROM \"$lay\" WHERE fid = 1)
        WHERE fid = 2" >/dev/null
    ogrinfo -q "$e" -sql "DELETE FROM \"$lay\" WHERE fid = 3" >/dev/null
    check "$tag: GPKG: edits through GDAL keep the R-tree and the count current" \
        "$(sqlite3 "$e" "SELECT (SELECT minx || maxx || miny || maxy FROM $rt WHERE id = 2) =
            (SELECT minx || maxx || miny || maxy FROM $rt WHERE id = 1),
            (SELECT count(*) FROM $rt WHERE id = 3), (SELECT count(*) FROM $rt),
            (SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = '$lay')")" "1|0|299|299"
}

roundtrip_seed() { # SEED COMMUNE_A COMMUNE_B
    local seed=$1 ca=$2 cb=$3
    local tag="seed $seed"
    "$SYNTH" --out "$WORK/src$seed" --communes "$ca,$cb" --parcels-per-commune 300 --seed "$seed" \
        --defects none --quiet
    new_store "store$seed"
    SRC=$DB
    import --quiet "$WORK/src$seed/"
    check "$tag: the store imports" "$RC" 0
    local want n srids
    want=$(rows "$SRC")
    n=$(store_sql "$SRC" "SELECT count(*) FROM parcels WHERE valid_to IS NULL")
    srids=$(store_sql "$SRC" "SELECT DISTINCT source_srid FROM parcels")
    check "$tag: 600 parcels in two zones" "$n $(wc -l <<<"$srids")" "600 2"
    contains "$tag: owners and addresses with diacritics" \
        "$(store_sql "$SRC" "SELECT owner || ' ' || address FROM parcels LIMIT 50")" '[ờốưạăđ]'

    # GeoPackage: a layer per commune, each in its survey CRS.
    local audits0 audits1
    audits0=$("$PARCELDB" audit --db "$SRC" | grep -c $'\texport\t' || true)
    export_ok "$tag: GPKG" --format GPKG --personal -o "$WORK/s$seed.gpkg"
    audits1=$("$PARCELDB" audit --db "$SRC" | grep -c $'\texport\t' || true)
    check "$tag: GPKG --personal is audited once" "$((audits1 - audits0))" 1
    contains "$tag: GPKG: the audit row lists the parcels' ids" \
        "$("$PARCELDB" audit --db "$SRC" | grep $'\texport\t' | tail -1 | cut -f4 | tr ',' '\n' | grep -c .)" '^600$'
    local info
    info=$(ogrinfo -ro -so -al "$WORK/s$seed.gpkg")
    check "$tag: ogrinfo opens the GPKG: its layers" \
        "$(grep -oE '^Layer name: .*' <<<"$info" | sort | tr '\n' ' ')" \
        "Layer name: ThuaDat_$(printf '%s\n' "$ca" "$cb" | sort | head -1) Layer name: ThuaDat_$(printf '%s\n' "$ca" "$cb" | sort | tail -1) "
    check "$tag: GPKG fields" \
        "$(grep -oE '^[A-Za-z]+: (String|Real)' <<<"$info" | sort -u | tr '\n' ' ')" \
        "ChuSuDung: String DiaChi: String DienTich: Real LoaiDat: String MaXa: String MaXaCu: String SoHieuGCN: String SoThua: String SoThuaCu: String SoTo: String SoToCu: String TDBatDau: String TDKetThuc: String "
    gpkg_checks "$tag" "$WORK/s$seed.gpkg" "$ca" "$cb"
    reimport "$tag: GPKG" "$WORK/s$seed.gpkg"
    check "$tag: GPKG: import(export(store)) = store, source WKB bit-exact" "$(rows "$FRESH")" "$want"

    # Shapefile: a file set per commune, UTF-8 declared in .cpg.
    export_ok "$tag: Shapefile" --format "ESRI Shapefile" --personal -o "$WORK/shp$seed"
    check "$tag: Shapefile: the file sets" "$(cd "$WORK/shp$seed" && ls | tr '\n' ' ')" \
        "$(for c in $(printf '%s\n' "$ca" "$cb" | sort); do printf '%s ' $c.cpg $c.dbf $c.prj $c.shp $c.shx; done)"
    check "$tag: Shapefile: .cpg says UTF-8" "$(cat "$WORK/shp$seed/$ca.cpg")" "UTF-8"
    check "$tag: ogrinfo opens the Shapefile" \
        "$(ogrinfo -ro -so -al "$WORK/shp$seed/$ca.shp" | grep -oE '^Feature Count: [0-9]+')" \
        "Feature Count: 300"
    reimport "$tag: Shapefile" "$WORK/shp$seed/"
    check "$tag: Shapefile: import(export(store)) = store, source WKB bit-exact" "$(rows "$FRESH")" \
        "$want"

    # GeoJSON in each commune's survey CRS (the legacy "crs" member).
    local c s files=()
    for c in "$ca" "$cb"; do
        s=$(store_sql "$SRC" "SELECT DISTINCT source_srid FROM parcels WHERE commune = '$c'")
        export_ok "$tag: GeoJSON --srs EPSG:$s" --format GeoJSON --commune "$c" --srs "EPSG:$s" \
            --personal -o "$WORK/g$seed-$c.geojson"
        contains "$tag: ogrinfo opens the GeoJSON of $c in EPSG:$s" \
            "$(ogrinfo -ro -so -al "$WORK/g$seed-$c.geojson")" "ID\[\"EPSG\",$s\]"
        files+=("$WORK/g$seed-$c.geojson")
    done
    reimport "$tag: GeoJSON (survey CRS)" "${files[@]}"
    check "$tag: GeoJSON --srs survey CRS: import(export(store)) = store, bit-exact" \
        "$(rows "$FRESH")" "$want"

    # GeoJSON by default: RFC 7946, WGS 84; the round trip is in meaning.
    export_ok "$tag: GeoJSON WGS 84" --format GeoJSON --personal -o "$WORK/w$seed.geojson"
    contains "$tag: ogrinfo opens the WGS 84 GeoJSON" "$(ogrinfo -ro -so -al "$WORK/w$seed.geojson")" \
        'Feature Count: 600'
    check "$tag: RFC 7946: no crs member" "$(grep -c '"crs"' "$WORK/w$seed.geojson" || true)" 0
    reimport "$tag: GeoJSON WGS 84" "$WORK/w$seed.geojson"
    check "$tag: GeoJSON WGS 84: the same attributes" "$(rows "$FRESH" "$ATTRS")" \
        "$(rows "$SRC" "$ATTRS")"
    check "$tag: GeoJSON WGS 84: stored as EPSG:4326" \
        "$(store_sql "$FRESH" "SELECT DISTINCT source_srid FROM parcels" | tr '\n' ' ')" "4326 "
    local cmp
    cmp=$("$PYTHON" "$HERE/compare_wgs84.py" "$(ogr_source "$SRC")" "$(ogr_source "$FRESH")")
    check "$tag: GeoJSON WGS 84: every parcel matched" "$(grep -E '^(parcels|unmatched)' <<<"$cmp" | tr '\n' ' ')" \
        "parcels 600 unmatched 0 "
    local deg
    deg=$(awk '/^max_deg/ { print ($2 <= 1e-8) ? "yes" : "no: " $2 }' <<<"$cmp")
    check "$tag: GeoJSON WGS 84: every vertex within 1e-8 degree" "$deg" yes

    # Without --personal there is no owner field at all, and no audit row.
    audits1=$("$PARCELDB" audit --db "$SRC" | grep -c $'\texport\t' || true)
    export_ok "$tag: GPKG without --personal" --format GPKG -o "$WORK/np$seed.gpkg"
    check "$tag: no ChuSuDung without --personal" \
        "$(ogrinfo -ro -so -al "$WORK/np$seed.gpkg" | grep -c ChuSuDung || true)" 0
    check "$tag: and no audit row" \
        "$("$PARCELDB" audit --db "$SRC" | grep -c $'\texport\t' || true)" "$audits1"
    STORE[$seed]=$SRC
}

# ogr_source LOCATION: what GDAL opens for a store: the SQLite file, or
# the PostgreSQL database with the store's schema first (GDAL's PG driver).
ogr_source() {
    if [ "$PDB_TEST_STORE" = pg ]; then
        echo "PG:$(pg_location "$(pg_db_name "$1")" conninfo) active_schema=parceldb"
    else
        echo "$1"
    fi
}
declare -A STORE

roundtrip_seed 3 08275 04792
roundtrip_seed 7 08707 07894
SRC=${STORE[3]}

# qgis_reads WHAT PATH: headless QGIS opens PATH (a Shapefile, or a
# GeoPackage's "FILE|layername=LAYER") and reads the parcels of 08275, their
# Vietnamese text as the store holds it.
mkdir -m 0700 "$WORK/xdg" "$WORK/profile"
qgis_reads() {
    local what=$1 path=$2 qg
    qg=$(XDG_RUNTIME_DIR="$WORK/xdg" QT_QPA_PLATFORM=offscreen timeout 240 "$PYTHON" \
        "$HERE/qgis_shp.py" "$path" "$WORK/profile" 2>"$WORK/qgis.err") ||
        fail "QGIS ($what): $(tail -3 "$WORK/qgis.err")"
    check "QGIS: the $what is valid, in its survey CRS, all parcels" \
        "$(grep -E '^(valid|crs|count) ' <<<"$qg" | tr '\n' ' ')" "valid 1 crs EPSG:9208 count 300 "
    check "QGIS: the $what: every parcel's number, land use, address and owner as in the store" \
        "$(sed -n 's/^row //p' <<<"$qg" | LC_ALL=C sort | md5sum)" \
        "$(store_sql "$SRC" "SELECT sheet || '|' || parcel || '|' || landuse || '|' ||
            coalesce(address, '') || '|' || coalesce(owner, '') FROM parcels
            WHERE valid_to IS NULL AND commune = '08275'" | LC_ALL=C sort | md5sum)"
    contains "QGIS: the $what: the text it read has Vietnamese letters" \
        "$(sed -n 's/^row //p' <<<"$qg")" '[ờốưạăđ]'
}
qgis_reads Shapefile "$WORK/shp3/08275.shp"
qgis_reads "GeoPackage layer" "$WORK/s3.gpkg|layername=ThuaDat_08275"

# --at: a re-import supersedes 08275; the parcels valid before it come back.
"$SYNTH" --out "$WORK/again" --communes 08275 --parcels-per-commune 250 --seed 11 --defects none --quiet
DB=$SRC
import --quiet "$WORK/again/"
check "re-import of 08275" "$RC" 0
T1=$(store_sql "$SRC" "SELECT min(valid_from) FROM parcels WHERE commune = '08275'")
AT_ROWS="SELECT commune, coalesce(former_commune, ''), sheet, parcel, landuse,
                $AREA, coalesce(address, ''), source_srid, $GEOM_HEX
         FROM parcels WHERE commune = '08275' AND valid_from <= '$T1'
              AND (valid_to IS NULL OR valid_to > '$T1') ORDER BY 1, 2, 3, 4, 9"
check "the store holds 300 parcels of 08275 valid at $T1" \
    "$(store_sql "$SRC" "SELECT count(*) FROM ($AT_ROWS) AS t")" 300
export_ok "--at" --format GPKG --commune 08275 --at "$T1" -o "$WORK/at.gpkg"
reimport "--at" "$WORK/at.gpkg"
check "--at: the parcels valid then, bit-exact" \
    "$(store_sql "$FRESH" "SELECT commune, coalesce(former_commune, ''), sheet, parcel, landuse,
        $AREA, coalesce(address, ''), source_srid, $GEOM_HEX
        FROM parcels WHERE valid_to IS NULL ORDER BY 1, 2, 3, 4, 9" | md5sum)" \
    "$(store_sql "$SRC" "$AT_ROWS" | md5sum)"
export_ok "current after a re-import" --format GPKG --commune 08275 -o "$WORK/now.gpkg"
check "without --at: the 250 current parcels" \
    "$(ogrinfo -ro -so -al "$WORK/now.gpkg" | grep -oE '^Feature Count: [0-9]+')" "Feature Count: 250"

# Bad input: exit status (2 a value it cannot use, 3 nothing to export, 1
# a failed job: docs/export.md), one line on stderr, nothing left behind.
mkdir "$WORK/bad"
bad() { # NAME STATUS PATTERN ARGS...
    local name=$1 want=$2 pattern=$3 out rc
    shift 3
    set +e
    out=$(cd "$WORK/bad" && "$PARCELDB" export --db "$SRC" "$@" 2>&1 >/dev/null)
    rc=$?
    set -e
    check "$name: exit status" "$rc" "$want"
    check "$name: one line" "$(grep -c . <<<"$out")" 1
    contains "$name: says why" "$out" "$pattern"
    check "$name: nothing written" "$(ls -A "$WORK/bad" | tr '\n' ' ')" ""
}
bad "unknown format" 2 "--format KML: one of GPKG" --format KML -o out.kml
bad "no format" 2 "--format is required" -o out.gpkg
bad "commune not in the store" 3 "commune 07894 is not in the store" --format GPKG --commune 07894 \
    -o out.gpkg
bad "malformed commune" 2 "five-digit" --format GPKG --commune 8275 -o out.gpkg
bad "-o in a directory that does not exist" 1 "does not exist" --format GPKG -o nowhere/out.gpkg
bad "--at before any data" 3 "no parcels to export.*valid at 2001-01-01" --format GPKG \
    --at 2001-01-01 -o out.gpkg
bad "--at malformed" 2 "--at yesterday" --format "ESRI Shapefile" --at yesterday -o shp
bad "--srs unknown" 2 "--srs EPSG:2154" --format GeoJSON --srs EPSG:2154 -o out.geojson
bad "no -o" 2 "-o FILE is required" --format GPKG
bad "sheet without parcels" 3 "no parcels to export" --format GeoJSON --sheet 999 -o out.geojson
bad "--sheet malformed" 2 "sheet '12a' is not a number" --format GeoJSON --sheet 12a -o out.geojson

# The disk fills while the GeoPackage is written (failwrite.so, the shim of
# tests/faults): one line, no file left, under its name or the temporary one.
FAILWRITE=$PDB_BINARY_DIR/tests/failwrite.so
[ -f "$FAILWRITE" ] || fail "$FAILWRITE is missing: build the pdb_failwrite target"
mkdir "$WORK/full"
rc=0
out=$(LD_PRELOAD=$FAILWRITE FAILWRITE_PATH="$WORK/full/" FAILWRITE_BYTES=100000 \
    ASAN_OPTIONS=verify_asan_link_order=0 \
    "$PARCELDB" export --db "$SRC" --format GPKG --personal -o "$WORK/full/out.gpkg" 2>&1 >/dev/null) ||
    rc=$?
check "GPKG on a full disk: exit status" "$rc" 1
check "GPKG on a full disk: one line" "$(grep -c . <<<"$out")" 1
contains "GPKG on a full disk: says why" "$out" "writing the GeoPackage: .*disk is full"
check "GPKG on a full disk: nothing left" "$(ls -A "$WORK/full" | tr '\n' ' ')" ""

finish
