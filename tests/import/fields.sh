#!/usr/bin/env bash
# Field mapping: the names cadastral software exports (any case, with the
# DBF's 10-character truncations), --field-map, the commune from a field,
# --commune or the file name, and the errors that list the file's fields.
source "$(dirname "$0")/lib.sh"

new_store
base_phutho

# variant NAME HEADER: a 10-parcel file whose header is HEADER (8 columns:
# geometry, commune, sheet, parcel, land use, area, owner, address).
variant() {
    grid_csv "$1.csv" 10 07894 5
    sed -i "1s/.*/$2/" "$1.csv"
}

# Long names, cut to 10 characters by the DBF: SoHieuToBa, SoThuTuThu, KyHieuMucD.
variant long "WKT,MaXa,SoHieuToBanDo,SoThuTuThua,KyHieuMucDichSuDung,DienTichPL,TenChuSuDung,DiaChiThua"
to_format long.csv long/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 -lco ENCODING=UTF-8 2>/dev/null
contains "DBF truncates the names" "$(ogrinfo -so -al long/parcels.shp | tr "\n" " ")" "SoHieuToBa: .*SoThuTuThu: .*KyHieuMucD: "
import long/parcels.shp
check "truncated names: imported" "$RC" 0
check "truncated names: mapped" "$(sql "SELECT sheet || '/' || parcel || '/' || landuse || '/' || CAST(area_surveyed_m2 * 10 AS INTEGER) || '/' || owner || '/' || address FROM parcels WHERE parcel = '2' AND valid_to IS NULL")" "5/2/LUA/4000/Nguyen Van 1/Xom 1"

# Other spellings, any case: SHBANDO, shthua, MDSD, dtich, Ho_Ten, Dia_Chi.
variant short "WKT,maxa,SHBANDO,shthua,MDSD,dtich,Ho_Ten,Dia_Chi"
to_format short.csv short.gpkg GPKG -a_srs EPSG:9208
import --force short.gpkg
check "short names: mapped" "$(sql "SELECT sheet || '/' || parcel || '/' || landuse || '/' || CAST(area_surveyed_m2 * 10 AS INTEGER) || '/' || owner || '/' || address FROM parcels WHERE parcel = '2' AND valid_to IS NULL")" "5/2/LUA/4000/Nguyen Van 1/Xom 1"
variant other "WKT,MaDVHC,SoTo,So_Thua,LoaiDat,Shape_Area,HoTen,DiaChi"
to_format other.csv other.gpkg GPKG -a_srs EPSG:9208
import --force other.gpkg
check "SoTo, So_Thua, Shape_Area: mapped" "$(sql "SELECT sheet || '/' || parcel || '/' || CAST(area_surveyed_m2 * 10 AS INTEGER) FROM parcels WHERE parcel = '3' AND valid_to IS NULL")" "5/3/4000"

# Unmapped required field: an error that lists the file's fields.
variant odd "WKT,Xa,To_So,Thua_So,MucDich,DT,Chu,DC"
to_format odd.csv odd.gpkg GPKG -a_srs EPSG:9208
import --commune 07894 odd.gpkg
check "unknown names: refused" "$RC" 1
contains "unknown names: lists the fields and --field-map" "$OUT" "no field for the sheet number .*fields: Xa, To_So, Thua_So, MucDich, DT, Chu, DC; map one with --field-map \(sheet=FIELD\)"

# --field-map FILE.
cat > odd.map <<'MAP'
# survey of 2019, exported by a district office
sheet = To_So
parcel=Thua_So
landuse=MucDich
area=DT
commune=Xa
MAP
import --field-map odd.map odd.gpkg
check "--field-map: imported" "$RC" 0
check "--field-map: mapped" "$(sql "SELECT sheet || '/' || parcel || '/' || landuse || '/' || CAST(area_surveyed_m2 * 10 AS INTEGER) || '/' || owner FROM parcels WHERE parcel = '4' AND valid_to IS NULL")" "5/4/BHK/4000/Nguyen Van 3"
printf 'sheet=NoSuchField\n' > bad1.map
import --force --field-map bad1.map odd.gpkg
check "--field-map, absent field: refused" "$RC" 1
contains "--field-map, absent field: names it and the fields" "$OUT" "names 'NoSuchField' for sheet, but the file has no such field \(its fields: Xa, To_So"
printf 'parcel=Thua_So\nsheets=To_So\n' > bad2.map
import --force --field-map bad2.map odd.gpkg
check "--field-map, unknown target: refused" "$RC" 1
contains "--field-map, unknown target: file and line" "$OUT" "bad2\.map:2: unknown target 'sheets'"

# The commune: --commune overrides; the file's name is the fallback.
grid_csv nocommune.csv 10 07894 5
awk -F'"' 'NR == 1 { sub(/^WKT,MaXa,/, "WKT,"); print; next } { print }' nocommune.csv |
    sed 's/^\("[^"]*"\),07894,/\1,/' > nocommune2.csv
to_format nocommune2.csv nocommune.gpkg GPKG -a_srs EPSG:9208
import nocommune.gpkg
check "no commune: refused" "$RC" 1
contains "no commune: says how" "$OUT" "cannot tell the commune: .*--commune CODE"
cp nocommune.gpkg xa_07900.gpkg
import xa_07900.gpkg
check "commune from the file name: imported" "$RC" 0
contains "commune from the file name: said so" "$OUT" "commune 07900 taken from the file's name"
check "commune from the file name: stored" "$(sql "SELECT count(*) FROM parcels WHERE commune = '07900' AND valid_to IS NULL")" 10
import --force --commune 7909 nocommune.gpkg
check "--commune without leading zero" "$(sql "SELECT count(*) FROM parcels WHERE commune = '07909' AND valid_to IS NULL")" 10

# Two communes in one file: one transaction each.
grid_csv two.csv 12 07894 5
awk -F, 'NR > 1 && NR % 3 == 0 { sub(/,07894,/, ",07900,") } { print }' two.csv > two2.csv
to_format two2.csv two.gpkg GPKG -a_srs EPSG:9208
import two.gpkg
check "two communes: imported" "$RC" 0
check "two communes: files recorded" "$(sql "SELECT count(*) || ' ' || min(commune || ':' || stored) || ' ' || max(commune || ':' || stored) FROM import_files WHERE file = 'two.gpkg'")" "2 07894:8 07900:4"

finish
