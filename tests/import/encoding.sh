#!/usr/bin/env bash
# Text: TCVN3 and VNI bytes in DBFs that declare Latin-1 or nothing are
# detected and stored as NFC UTF-8; --encoding forces; UTF-8 .cpg is
# trusted; decimal commas parse.
source "$(dirname "$0")/lib.sh"

new_store
base_phutho

# Owner names, and each one's bytes in TCVN3 (ABC) and VNI-Windows, from
# the published code tables (cross-checked against vnenc_from_utf8).
names=("Nguyễn Văn Tường" "Trần Thị Hồng" "Lê Đức Thắng" "Phạm Thị Thu Hà" "Hoàng Văn Dũng" "Đỗ Thị Lan")
tcvn3=('Nguy\xD4n V\xA8n T\xAD\xEAng' 'Tr\xC7n Th\xDE H\xE5ng' 'L\xAA \xA7\xF8c Th\xBEng'
       'Ph\xB9m Th\xDE Thu H\xB5' 'Ho\xB5ng V\xA8n D\xF2ng' '\xA7\xE7 Th\xDE Lan')
vni=('Nguye\xE3n Va\xEAn T\xF6\xF4\xF8ng' 'Tra\xE0n Th\xF2 Ho\xE0ng' 'Le\xE2 \xD1\xF6\xF9c Tha\xE9ng'
     'Pha\xEFm Th\xF2 Thu Ha\xF8' 'Hoa\xF8ng Va\xEAn Du\xF5ng' '\xD1o\xE3 Th\xF2 Lan')
addr_tcvn3='X\xE3m \xA7\xE5ng L\xB9c'
addr_vni='Xo\xF9m \xD1o\xE0ng La\xEFc'
addr_utf8="Xóm Đồng Lạc"

# encoded_csv FILE COMMUNE NAMES_ARRAY ADDRESS: 30 parcels whose owner and
# address are raw bytes; the area is written with a decimal comma.
encoded_csv() {
    local file=$1 commune=$2 addr=$4
    local -n enc=$3
    printf 'WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi\n' > "$file"
    for i in $(seq 0 29); do
        local x y
        x=$(awk -v b="$BX" -v i="$i" 'BEGIN { printf "%.3f", b + (i % 10) * 60 }')
        y=$(awk -v b="$BY" -v i="$i" 'BEGIN { printf "%.3f", b + int(i / 10) * 60 }')
        printf '"%s",%s,7,%d,ONT,"2.159,6",%b,%b\n' "$(square "$x" "$y" 46.47)" "$commune" \
            $((i + 1)) "${enc[$((i % 6))]}" "$addr" >> "$file"
    done
}

owners_ok() { # NAME: every owner and address came back as the UTF-8 names
    local bad=0 i got
    for i in $(seq 1 30); do
        got=$(sql "SELECT owner || '|' || address FROM parcels WHERE parcel = '$i' AND valid_to IS NULL")
        [ "$got" = "${names[$(((i - 1) % 6))]}|$addr_utf8" ] || { bad=1; echo "  parcel $i: $got"; }
    done
    check "$1: owner names and addresses in UTF-8" "$bad" 0
    check "$1: stored NFC" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NULL AND owner = '${names[0]}'")" 5
}

# TCVN3 in a DBF without .cpg (declares nothing).
encoded_csv tcvn3.csv 07894 tcvn3 "$addr_tcvn3"
to_format tcvn3.csv tcvn3/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 --config SHAPE_ENCODING ""
check "TCVN3 fixture: no .cpg" "$(ls tcvn3/parcels.cpg 2>/dev/null || echo none)" none
import tcvn3/parcels.shp
check "TCVN3: imported" "$RC" 0
contains "TCVN3: detected" "$OUT" "text read as TCVN3 \(detected"
owners_ok "TCVN3, no .cpg"
check "decimal comma: 2.159,6 = 2159.6" "$(sql "SELECT DISTINCT area_surveyed_m2 FROM parcels WHERE valid_to IS NULL")" 2159.6
check "decimal comma: no area mismatch (46.47 m square)" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NULL AND (flags & 4) <> 0")" 0

# VNI in a DBF whose .cpg says Windows-1252.
encoded_csv vni.csv 07894 vni "$addr_vni"
to_format vni.csv vni/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 --config SHAPE_ENCODING ""
printf '1252' > vni/parcels.cpg
import vni/parcels.shp
check "VNI: imported" "$RC" 0
contains "VNI: detected" "$OUT" "text read as VNI \(detected"
owners_ok "VNI, .cpg 1252"

# UTF-8 with a .cpg that says so.
printf 'WKT,MaXa,SoTo,SoThua,TenChu,DiaChi\n' > utf8.csv
for i in $(seq 0 29); do
    printf '"%s",07894,7,%d,%s,%s\n' "$(square "$BX" "$(awk -v b="$BY" -v i="$i" 'BEGIN { printf "%.3f", b + i * 60 }')" 40)" \
        $((i + 1)) "${names[$((i % 6))]}" "$addr_utf8" >> utf8.csv
done
to_format utf8.csv utf8/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 -lco ENCODING=UTF-8
import utf8/parcels.shp
check "UTF-8 .cpg: imported" "$RC" 0
owners_ok "UTF-8"

# --encoding forces a reading: VNI bytes read as TCVN3 are not what was
# meant, but the option is obeyed (and says so in the log).
import --force --encoding tcvn3 vni/parcels.shp
check "--encoding tcvn3: imported" "$RC" 0
contains "--encoding: reported" "$OUT" "text read as TCVN3 \(--encoding\)"
import --force --encoding vni vni/parcels.shp
owners_ok "--encoding vni"
import --encoding klingon vni/parcels.shp
check "--encoding unknown: refused" "$RC" 1

# Text that no encoding reads as Vietnamese: refused with the flag to use.
printf 'WKT,MaXa,SoTo,SoThua,TenChu\n' > junk.csv
for i in $(seq 0 29); do
    printf '"%s",07894,7,%d,%b\n' "$(square "$BX" "$BY" 10)" $((i + 1)) '\x81\x8D\x8F\x90\x9D\x80\x81' >> junk.csv
done
to_format junk.csv junk/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 --config SHAPE_ENCODING ""
import junk/parcels.shp
check "undetectable text: refused" "$RC" 1
contains "undetectable text: names --encoding" "$OUT" "cannot tell the text encoding.*--encoding"

finish
