#!/usr/bin/env bash
# The national attribute set (issue 16; docs/import.md, docs/changes.md):
# a survey with every national field (SoHieuToBanDoCu, SoThuTuThuaCu,
# DienTichPhapLy, SoHieuGCN, ThoiDiemBatDau, ThoiDiemKetThuc), made by
# ogr2ogr as a Shapefile (the names cut to 10 characters, GDAL's
# SoHieuTo_1 for the second SoHieuToBa) and as a GeoPackage (full names).
# Values come back through lookup; the certificate only with --personal,
# and that answer is audited; a bad date is stored without it and
# reported (rejects, bad-date, stored 1); a record already ended is not
# stored (rejects, record-ended). Then a re-survey whose previous numbers
# decide lineage: a 2 m strip moved 1.9 m and renumbered (the geometry
# alone: a retired and a new parcel) is one reshape; a previous number
# naming nothing and one the geometry contradicts are reported, no edge.
# Runs on both stores (import_national_pg: tests/pg.cmake).
source "$(dirname "$0")/lib.sh"
C=07894
new_store

# A store made before the national attribute set: a commune imported,
# then the five columns dropped. A read-only open (lookup) reads it as it
# is; the first read-write open (the import below) adds them. On
# PostgreSQL such a store is older than the GIS views too (they select
# the columns): CASCADE drops them, and the upgrade makes them again.
base_vinhphuc
grid_csv old.csv 3 08707 3
to_format old.csv old/parcels.gpkg GPKG -a_srs EPSG:5897
import old/parcels.gpkg
check "the older store's commune imported" "$RC" 0
cascade=
[ "$PDB_TEST_STORE" = pg ] && cascade=CASCADE
for col in prev_sheet prev_parcel certificate record_start record_end; do
    sql "ALTER TABLE parcels DROP COLUMN $col $cascade" >/dev/null
done
if [ "$PDB_TEST_STORE" = pg ]; then
    cols_sql="SELECT count(*) FROM information_schema.columns WHERE table_schema = 'parceldb' AND
        table_name = 'parcels' AND column_name IN ('prev_sheet', 'prev_parcel', 'certificate',
        'record_start', 'record_end')"
else
    cols_sql="SELECT count(*) FROM pragma_table_info('parcels') WHERE name IN ('prev_sheet',
        'prev_parcel', 'certificate', 'record_start', 'record_end')"
fi
check "the older store has none of the columns" "$(sql "$cols_sql")" 0
L=$("$PARCELDB" lookup --db "$DB" --id 08707/3/2 2>&1) || fail "lookup on the older store: $L"
contains "a read-only lookup reads the older store" "$L" '"sheet":"3","parcel":"2"'
P=$(awk -v x="$BX" -v y="$BY" 'BEGIN { printf "%.3f %.3f\n", x + 10, y + 10 }' |
    cs2cs -f "%.9f" EPSG:5897 EPSG:4326) # lat lon: parcel 1's centre
L=$("$PARCELDB" lookup --db "$DB" --lon "$(awk '{print $2}' <<<"$P")" --lat "$(awk '{print $1}' <<<"$P")" 2>&1) ||
    fail "lookup at a point: $L"
contains "at a point too (the lookup index)" "$L" '"commune":"08707"'
check "and leaves it as it is" "$(sql "$cols_sql")" 0

base_phutho

HEAD="WKT,MaXa,SoHieuToBanDo,SoThuTuThua,SoHieuToBanDoCu,SoThuTuThuaCu,LoaiDat,DienTichPhapLy,TenChu,SoHieuGCN,ThoiDiemBatDau,ThoiDiemKetThuc"
rect() { # X0 Y0 X1 Y1 (metres from the base point)
    awk -v bx="$BX" -v by="$BY" -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {
        printf "\"POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))\"",
            bx+a, by+b, bx+c, by+b, bx+c, by+d, bx+a, by+d, bx+a, by+b }'
}
{
    echo "$HEAD"
    echo "$(rect 0 0 20 20),$C,5,1,,,ONT,400,Nguyen Van A,CS 01234,2015-03-01,"
    echo "$(rect 0 30 2 60),$C,5,2,,,LUA,60,Tran Thi B,CS 05678,01/02/2016 08:30,2099-12-31"
    echo "$(rect 100 0 120 20),$C,5,3,,,CLN,400,Le Van C,,2016-31-31,"
    echo "$(rect 200 0 220 20),$C,5,4,,,BHK,400,Pham D,CS 9,2001-01-01,15/06/2019"
    echo "$(rect 300 0 320 20),$C,5,6,,,ONT,400,Hoang E,,,"
} >v1.csv
to_format v1.csv v1/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 2>/dev/null
FIELDS=$(ogrinfo -so v1/parcels.shp parcels | sed -n 's/^\([A-Za-z_0-9]*\): .*/\1/p' | tr '\n' ' ')
contains "the Shapefile has the cut names" "$FIELDS" "SoHieuToBa SoThuTuThu SoHieuTo_1 SoThuTuT_1 .*DienTichPh .*SoHieuGCN ThoiDiemBa ThoiDiemKe"

import v1/parcels.shp
check "first import exits 0" "$RC" 0
check "the read-write open added the five columns" "$(sql "$cols_sql")" 5
if [ "$PDB_TEST_STORE" = pg ]; then
    check "and made the GIS views again, the national columns in them" \
        "$(sql "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'parceldb' AND
            table_name IN ('gis_parcels', 'gis_parcels_5897') AND column_name = 'prev_sheet'")" 2
fi
check "stored: all but the ended record" "$(sql "SELECT count(*) FROM parcels WHERE commune = '$C'")" 4
check "the ended record in rejects, not stored" \
    "$(sql "SELECT reason || ' ' || stored FROM rejects WHERE reason = 'record-ended'")" "record-ended 0"
contains "the ended record says why" "$(sql "SELECT detail FROM rejects WHERE reason = 'record-ended'")" \
    "ThoiDiemKe is 2019-06-15, before the import"
check "the bad date in rejects, stored" \
    "$(sql "SELECT reason || ' ' || stored FROM rejects WHERE reason = 'bad-date'")" "bad-date 1"
check "the bad date's parcel has no start date" \
    "$(sql "SELECT coalesce(record_start, 'none') FROM parcels WHERE commune = '$C' AND parcel = '3'")" none
check "the legal area is the surveyed area" \
    "$(sql "SELECT CAST(area_surveyed_m2 AS INTEGER) FROM parcels WHERE commune = '$C' AND parcel = '2'")" 60

L=$("$PARCELDB" lookup --db "$DB" --id $C/5/2)
contains "lookup: record start (day-first, with a time)" "$L" '"record_start":"2016-02-01T08:30:00"'
contains "lookup: record end" "$L" '"record_end":"2099-12-31"'
if grep -q certificate <<<"$L"; then fail "the certificate in a public lookup"; else ok "no certificate without --personal"; fi
A0=$(sql "SELECT count(*) FROM audit_log")
L=$("$PARCELDB" lookup --db "$DB" --id $C/5/2 --personal)
contains "lookup --personal: the certificate" "$L" '"certificate":"CS 05678"'
check "the personal answer is audited" "$(sql "SELECT count(*) FROM audit_log")" $((A0 + 1))
L=$("$PARCELDB" lookup --db "$DB" --id $C/5/6)
if grep -q 'record_start\|prev_' <<<"$L"; then fail "absent attributes shown: $L"; else ok "absent attributes are not shown"; fi

# The re-survey, as a GeoPackage with the full names.
{
    echo "$HEAD"
    echo "$(rect 0 0 20 20),$C,5,1,,,ONT,400,Nguyen Van A,CS 01234,2015-03-01,"
    echo "$(rect 1.9 30 3.9 60),$C,5,7,5,2,LUA,60,Tran Thi B,CS 05678,2016-02-01,"
    echo "$(rect 100 0 120 20),$C,5,3,5,99,CLN,400,Le Van C,,2016-03-31,"
    echo "$(rect 500 0 520 20),$C,5,8,5,6,ONT,400,Hoang E,,,"
} >v2.csv
to_format v2.csv v2/parcels.gpkg GPKG -a_srs EPSG:9208
import v2/parcels.gpkg
check "re-survey import exits 0" "$RC" 0
B2=$(sql "SELECT max(id) FROM import_batches")
NUM="p.sheet || '/' || p.parcel"
EDGES=$(sql "SELECT l.kind || ' ' || $(sed 's/p\./a./g' <<<"$NUM") || ' ' || $(sed 's/p\./b./g' <<<"$NUM")
    FROM lineage l JOIN parcels a ON a.id = l.parent_id JOIN parcels b ON b.id = l.child_id
    WHERE l.batch_id = $B2 ORDER BY b.parcel, a.parcel" | tr '\n' ';')
check "every edge of the re-survey" "$EDGES" "unchanged 5/1 5/1;unchanged 5/3 5/3;reshape 5/2 5/7;"
check "the prev number naming nothing is reported" \
    "$(sql "SELECT reason || ' ' || stored FROM rejects WHERE batch_id = $B2 AND reason LIKE 'prev-number-%' ORDER BY reason")" \
    "prev-number-contradicted 1
prev-number-unknown 1"
contains "the report names both numbers" \
    "$(sql "SELECT detail FROM rejects WHERE batch_id = $B2 AND reason = 'prev-number-unknown'")" \
    "parcel 5/3 names the previous number 5/99"
contains "the summary: the strip reshaped, 6 retired, 8 new" "$OUT" \
    "changes $C: unchanged 2, renumbered 0, reshaped 1, split 0 -> 0, merged 0 -> 0, new 1, retired 1; previous numbers: 1 name nothing, 1 contradicted$"
contains "info --changes says the same" "$("$PARCELDB" info --db "$DB" --changes "$B2")" \
    "^$C: unchanged 2, .*, retired 1; previous numbers: 1 name nothing, 1 contradicted$"
L=$("$PARCELDB" lookup --db "$DB" --id $C/5/7)
contains "lookup: the previous number" "$L" '"prev_sheet":"5","prev_parcel":"2"'

# A change keeps what it does not edit: an owner's update writes a new
# version of 5/7 with its previous number, dates and certificate.
"$PARCELDB" change update --db "$DB" --id $C/5/7 --set owner="Tran Van B" --reason "sale" \
    --document "HD 1/2026" >/dev/null 2>&1 || fail "change update"
check "the updated parcel keeps the national attributes" \
    "$(sql "SELECT owner || ' ' || prev_sheet || '/' || prev_parcel || ' ' || record_start || ' ' || certificate
        FROM parcels WHERE commune = '$C' AND parcel = '7' AND valid_to IS NULL")" \
    "Tran Van B 5/2 2016-02-01 CS 05678"

# Export: the national fields under DBF-safe names (the importer's
# aliases), the certificate only with --personal (audited).
"$PARCELDB" export --db "$DB" --format "ESRI Shapefile" -o outshp >/dev/null 2>&1 ||
    fail "export to a Shapefile"
ROW=$(ogrinfo -ro -q outshp/$C.shp -sql "SELECT SoToCu, SoThuaCu, TDBatDau, TDKetThuc FROM \"$C\" WHERE SoThua = '7'" |
    sed -n 's/^ *\(SoToCu\|SoThuaCu\|TDBatDau\|TDKetThuc\) (String) = //p' | tr '\n' ' ')
check "Shapefile: previous number and dates (no end: null)" "$ROW" "5 2 2016-02-01 (null) "
if ogrinfo -ro -so -al outshp/$C.shp | grep -q SoHieuGCN; then fail "the certificate exported without --personal"; else
    ok "no SoHieuGCN without --personal"; fi
A0=$(sql "SELECT count(*) FROM audit_log")
"$PARCELDB" export --db "$DB" --format GPKG --personal -o out.gpkg >/dev/null 2>&1 || fail "export --personal"
check "GPKG --personal: the certificate" \
    "$(ogrinfo -ro -q out.gpkg -sql "SELECT SoHieuGCN FROM ThuaDat_$C WHERE SoThua = '7'" | sed -n 's/^ *SoHieuGCN (String) = //p')" \
    "CS 05678"
check "the personal export is audited" "$(sql "SELECT count(*) FROM audit_log")" $((A0 + 1))
new_store again
import out.gpkg
check "import(export): the national attributes come back" \
    "$(sql "SELECT prev_sheet || '/' || prev_parcel || ' ' || record_start || ' ' || certificate FROM parcels WHERE parcel = '7' AND valid_to IS NULL")" \
    "5/2 2016-02-01 CS 05678"
# Typed dates: a GeoPackage whose record dates are DATE and DATETIME
# columns (ogr2ogr's type detection), read through OGR's own forms.
{
    echo "WKT,MaXa,SoHieuToBanDo,SoThuTuThua,LoaiDat,ThoiDiemBatDau,ThoiDiemKetThuc"
    echo "$(rect 0 0 20 20),$C,9,1,ONT,2014-05-06,2099-01-02 10:30:00"
    echo "$(rect 30 0 50 20),$C,9,2,ONT,2015-07-08,2099-03-04 00:00:00"
} >typed.csv
to_format typed.csv typed/parcels.gpkg GPKG -a_srs EPSG:9208 -oo AUTODETECT_TYPE=YES
check "the GeoPackage has typed dates" \
    "$(ogrinfo -ro -so typed/parcels.gpkg parcels | grep -E '^ThoiDiem' | tr '\n' ' ')" \
    "ThoiDiemBatDau: Date (0.0) ThoiDiemKetThuc: DateTime (0.0) "
new_store typed
import typed/parcels.gpkg
check "typed dates import" "$RC" 0
check "typed dates stored" \
    "$(sql "SELECT record_start || ' ' || record_end FROM parcels ORDER BY parcel" | tr '\n' ';')" \
    "2014-05-06 2099-01-02T10:30:00;2015-07-08 2099-03-04;"
finish
