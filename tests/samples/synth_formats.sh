#!/usr/bin/env bash
# Runs pdb-synth for two communes (one Vinh Phuc zone, one Phu Tho zone) in
# every format and checks, with GDAL's own ogrinfo, that each file opens, has
# the feature count its manifest gives, the CRS it should have (the commune's
# TM-3 zone; WGS 84 for KML and RFC 7946 GeoJSON; none for CSV, DXF, DGN),
# the field names the manifest lists, and, for DBFs, the .cpg and the text
# bytes of the encoding asked for.
set -euo pipefail

SYNTH=${PDB_SYNTH:?PDB_SYNTH must name the pdb-synth binary}
command -v ogrinfo >/dev/null || { echo "ogrinfo not found (gdal-bin)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-synth-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# A number member of a manifest ("key": 123), first occurrence.
manifest_num() {
    grep -m1 "\"$2\":" "$1" | tr -dc '0-9'
}

# A string member of a manifest ("key": "value"), first occurrence.
manifest_str() {
    grep -m1 "\"$2\":" "$1" | sed -e 's/^[^:]*: *//' -e 's/^"//' -e 's/",*$//' -e 's/,$//'
}

# The EPSG code ogrinfo identifies for the first layer, or "none".
crs_of() {
    local info=$1
    if grep -q '^Layer SRS WKT:' <<<"$info" && ! grep -q '(unknown)' <<<"$(grep -A1 '^Layer SRS WKT:' <<<"$info")"; then
        sed -n '/^Layer SRS WKT:/,/^Data axis/p' <<<"$info" | grep -o 'ID\["EPSG",[0-9]*\]' |
            tail -1 | tr -dc '0-9'
    else
        echo none
    fi
}

check_file() { # FORMAT FILE
    local format=$1 file=$2 manifest="$2.manifest.json" info count want crs want_crs
    [ -f "$manifest" ] || { fail "$format: no manifest for $file"; return; }
    if ! info=$(ogrinfo -so -al "$file" 2>&1); then
        fail "$format: ogrinfo cannot open $file: $info"
        return
    fi
    count=$(grep '^Feature Count:' <<<"$info" | tr -dc '0-9\n' | awk '{s += $1} END {print s + 0}')
    want=$(manifest_num "$manifest" features)
    [ "$count" = "$want" ] || fail "$format: $file has $count features, manifest says $want"

    case "$format" in
    KML | GeoJSON) want_crs=4326 ;;
    CSV | DXF | DGN) want_crs=none ;;
    *) want_crs=$(manifest_num "$manifest" zone_epsg) ;;
    esac
    crs=$(crs_of "$info")
    [ "$crs" = "$want_crs" ] || fail "$format: $file CRS is EPSG:$crs, expected EPSG:$want_crs"

    case "$format" in
    DXF | DGN) return ;; # CAD files have fixed fields; the labels carry the attributes
    esac
    # One pass over each: the layer's field names, the manifest's "fields".
    local have want_fields role name
    have=$'\n'$(sed -n 's/^\([A-Za-z_0-9]*\): .*/\1/p' <<<"$info")$'\n'
    want_fields=$(sed -n '/"fields": {/,/}/s/^ *"\([a-z_]*\)": "\([^"]*\)".*/\1 \2/p' "$manifest")
    [ "$(wc -l <<<"$want_fields")" -eq 8 ] || fail "$format: manifest of $file lists $want_fields"
    while read -r role name; do
        [[ $have == *$'\n'"$name"$'\n'* ]] || fail "$format: $file has no field $name ($role)"
    done <<<"$want_fields"
}

# Every format, two communes: 08707 (Vinh Phuc, EPSG:5897), 07894 (Phu Tho, EPSG:9208).
for format in "ESRI Shapefile" GPKG GeoJSON GeoJSON-legacy DXF DGN GML KML CSV; do
    dir="$WORK/$(tr ' ' _ <<<"$format")"
    if ! out=$("$SYNTH" --out "$dir" --communes 08707,07894 --parcels-per-commune 400 \
        --format "$format" --seed 7 2>&1); then
        fail "$format: pdb-synth failed: $out"
        continue
    fi
    [ "$(wc -l <<<"$out")" -eq 1 ] || fail "$format: more than one line of output: $out"
    case "$format" in
    "ESRI Shapefile") ext=shp ;; GPKG) ext=gpkg ;; GeoJSON | GeoJSON-legacy) ext=geojson ;;
    *) ext=$(tr 'A-Z' 'a-z' <<<"$format") ;;
    esac
    for code in 08707 07894; do
        check_file "$format" "$dir/$code.$ext"
    done
done

# The legacy CRS member of GeoJSON written by desktop GIS.
grep -q '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:EPSG::5897" } }' \
    "$WORK/GeoJSON-legacy/08707.geojson" || fail "GeoJSON-legacy: no legacy crs member"

# Field-name modes.
"$SYNTH" --out "$WORK/trunc" --communes 08707 --parcels-per-commune 300 --format GPKG \
    --field-names truncated --quiet
info=$(ogrinfo -so -al "$WORK/trunc/08707.gpkg")
for name in SoHieuToBa SoThuTuThu KyHieuMucD DienTich TenChu DiaChi MaXa MaXaCu; do
    grep -q "^$name: " <<<"$info" || fail "truncated names: no $name"
done
"$SYNTH" --out "$WORK/std" --communes 08707 --parcels-per-commune 300 --format GPKG --quiet
info=$(ogrinfo -so -al "$WORK/std/08707.gpkg")
for name in SoHieuToBanDo SoThuTuThua KyHieuMucDichSuDung; do
    grep -q "^$name: " <<<"$info" || fail "standard names: no $name"
done
"$SYNTH" --out "$WORK/var" --communes 12 --parcels-per-commune 200 --field-names variants --quiet
for f in "$WORK"/var/*.shp; do
    check_file "ESRI Shapefile" "$f"
done

# DBF text encodings: the bytes of "Phường" (both communes are wards), the
# .cpg the manifest gives, and the CRS even without a .cpg.
declare -A phuong=([utf8]=$'Ph\xc6\xb0\xe1\xbb\x9dng' [tcvn3]=$'Ph\xad\xeang' [vni]=$'Ph\xf6\xf4\xf8ng')
for enc in utf8 tcvn3 vni; do
    dir="$WORK/enc-$enc"
    "$SYNTH" --out "$dir" --communes 08707,07894 --parcels-per-commune 300 --encoding "$enc" --quiet
    for code in 08707 07894; do
        check_file "ESRI Shapefile" "$dir/$code.shp"
        m="$dir/$code.shp.manifest.json"
        want=$(manifest_str "$m" encoding)
        case "$enc" in utf8) [ "$want" = "utf-8" ] ;; *) [ "$want" = "$enc" ] ;; esac ||
            fail "$enc: manifest says encoding $want"
        LC_ALL=C grep -q -F "${phuong[$enc]}" "$dir/$code.dbf" ||
            fail "$enc: $code.dbf does not hold Phường in $enc bytes"
        cpg=$(manifest_str "$m" cpg)
        if [ "$cpg" = "null" ]; then
            [ ! -e "$dir/$code.cpg" ] || fail "$enc: $code.cpg exists, manifest says none"
        else
            [ "$(cat "$dir/$code.cpg")" = "$cpg" ] || fail "$enc: $code.cpg is not '$cpg'"
        fi
    done
done
# UTF-8 with its .cpg reads back as Vietnamese through GDAL.
# (grep reads a here-string: under pipefail, `ogrinfo | grep -q` fails when
# grep exits at the match before ogrinfo has written its last line.)
grep -q 'Phường Vĩnh Yên' <<<"$(ogrinfo -q -al -fid 0 "$WORK/enc-utf8/08707.shp")" ||
    fail "utf8: GDAL does not read Phường Vĩnh Yên back"

# --no-prj: no CRS anywhere; --no-cpg: no .cpg.
"$SYNTH" --out "$WORK/noprj" --communes 07894 --parcels-per-commune 200 --no-prj --no-cpg --quiet
[ ! -e "$WORK/noprj/07894.prj" ] || fail "--no-prj wrote a .prj"
[ ! -e "$WORK/noprj/07894.cpg" ] || fail "--no-cpg wrote a .cpg"
[ "$(crs_of "$(ogrinfo -so -al "$WORK/noprj/07894.shp")")" = none ] || fail "--no-prj: a CRS is declared"

# Same arguments, same bytes (and independent of --jobs).
"$SYNTH" --out "$WORK/det1" --communes 3 --parcels-per-commune 300 --seed 9 --jobs 1 --quiet
"$SYNTH" --out "$WORK/det2" --communes 3 --parcels-per-commune 300 --seed 9 --jobs 2 --quiet
(cd "$WORK/det1" && md5sum ./*) >"$WORK/det1.md5"
(cd "$WORK/det2" && md5sum ./*) >"$WORK/det2.md5"
cmp -s "$WORK/det1.md5" "$WORK/det2.md5" || fail "output differs between two identical runs"

# Errors: one line on stderr, non-zero exit.
if err=$("$SYNTH" --communes 1 2>&1 >/dev/null); then
    fail "no --out accepted"
fi
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "error is not one line: $err"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "synth_formats: all checks passed"
