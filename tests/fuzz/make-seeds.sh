#!/usr/bin/env bash
# make-seeds.sh: writes the seed corpora of the fuzz targets into
# tests/fuzz/<target>/seeds. The survey files of fuzz_import are made by
# ogr2ogr from small CSVs (with positions from cs2cs), as the importer's
# tests make theirs; WKB seeds come from SpatiaLite's own writer plus a few
# hand-packed variants (Z, M, EWKB with SRID, big-endian) written by
# python3's struct. Run it again after changing a format; the output is
# committed (each file well under 100 KB).
#   usage: tests/fuzz/make-seeds.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-fuzz-seeds.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export CPL_LOG=/dev/null

seeds() { local d="$HERE/$1/seeds"; rm -rf "$d"; mkdir -p "$d"; echo "$d"; }

# ---- fuzz_http_request: the URI on the first line, header values after.
D=$(seeds fuzz_http_request)
i=0
while IFS= read -r line; do
    i=$((i + 1))
    printf '%b' "$line" > "$D/$(printf '%02d' $i)"
done <<'EOF'
/tiles/12/3263/1793.png
/tiles/18/208920/114786@2x.png\n"v12-ab34", W/"v1"
/tiles/0/0/0.png?v=3\nBearer abcdefghijklmnop0123
/tiles.json
/parcels/at?lon=105.4020&lat=21.3220
/parcels/at?e=567440.313&n=2358740.139&srs=EPSG:9208
/parcels/at?x=2358740.139&y=567440.313&zone=104-45
/parcels/08707/12/345
/parcels/08707/12a/345%2F1
/parcels?bbox=105.39,21.31,105.41,21.33&limit=100&offset=20
/parcels?bbox=105.39%2C21.31%2C105.41%2C21.33&limit=10
/communes
/health
/metrics\n*
/
/leaflet/leaflet.js
/app.js?q=a+b&name=Nguy%E1%BB%85n
/parcels/at?lon=1e2&lat=-0.5e1&lon=3
/tiles/25/1/1.png
/%2e%2e/etc/passwd
EOF

# ---- fuzz_wms: /wms query strings (after "/wms?") of each operation and
# version, as GDAL, QGIS and OWSLib send them, and a few bad ones.
D=$(seeds fuzz_wms)
i=0
while IFS= read -r line; do
    i=$((i + 1))
    printf '%s' "$line" > "$D/$(printf '%02d' $i)"
done <<'EOF'
SERVICE=WMS&REQUEST=GetCapabilities
SERVICE=WMS&VERSION=1.1.1&REQUEST=GetCapabilities
SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels&STYLES=&CRS=EPSG:9208&BBOX=567410,2358710,567720,2358870&WIDTH=310&HEIGHT=160&FORMAT=image/png&TRANSPARENT=TRUE
SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels,communes&STYLES=outline,&CRS=EPSG:4326&BBOX=21.3,105.4,21.33,105.41&WIDTH=256&HEIGHT=256&FORMAT=image/jpeg&BGCOLOR=0x00FF00&EXCEPTIONS=INIMAGE&DPI=96
service=WMS&version=1.1.1&request=GetMap&layers=parcels_outline&styles=&srs=EPSG:3857&bbox=11733000,2430000,11734000,2431000&width=512&height=512&format=image/png&exceptions=application/vnd.ogc.se_blank
request=GetFeatureInfo&service=WMS&version=1.3.0&layers=parcels&styles=&format=image/png&width=1024&height=733&bbox=566219,2353523,567243,2354256&crs=EPSG:9208&query_layers=parcels&x=81&y=56&info_format=application/vnd.ogc.gml
SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=parcels&QUERY_LAYERS=parcels&STYLES=&CRS=CRS:84&BBOX=105.4,21.3,105.41,21.33&WIDTH=101&HEIGHT=101&I=50&J=50&FEATURE_COUNT=3&INFO_FORMAT=text/html
SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels&STYLES=&CRS=EPSG:9208&BBOX=NaN,1,2,3&WIDTH=0&HEIGHT=100000&FORMAT=image/png
EOF

# ---- fuzz_style: the shipped styles and a few small ones.
D=$(seeds fuzz_style)
cp "$SRC/styles/landuse.json" "$D/landuse.json"
cp "$SRC/styles/outline.json" "$D/outline.json"
cat > "$D/exprs.json" <<'EOF'
{"version": 8, "name": "exprs", "sources": {"parcels": {"type": "vector"}},
 "layers": [
  {"id": "f", "type": "fill", "source": "parcels", "source-layer": "parcels", "minzoom": 10,
   "filter": ["all", ["==", ["get", "kind"], "parcel"], [">", ["get", "area"], 100]],
   "paint": {"fill-color": ["match", ["get", "landuse_main"], "ONT", "#ff0000", ["LUA", "LUK"], "rgba(255,255,0,0.5)", "hsl(120, 50%, 50%)"],
             "fill-opacity": ["interpolate", ["linear"], ["zoom"], 10, 0.2, 18, 0.9]}},
  {"id": "l", "type": "line", "source": "parcels", "source-layer": "parcels",
   "paint": {"line-color": "#333", "line-width": ["step", ["zoom"], 0.5, 14, 1, 17, 2]},
   "layout": {"line-join": "round"}},
  {"id": "t", "type": "symbol", "source": "parcels", "source-layer": "parcels", "minzoom": 17,
   "layout": {"text-field": ["concat", ["get", "sheet"], "/", ["get", "parcel"]], "text-size": 11},
   "paint": {"text-color": "black", "text-halo-color": "#ffffffcc", "text-halo-width": 1}}
 ]}
EOF
printf '%s' 'rgba(10, 20, 30, 0.5)' > "$D/color.txt"

# ---- fuzz_points_csv
D=$(seeds fuzz_points_csv)
printf 'id,lon,lat\np1,105.4020,21.3220\np2,105.5970,21.3090\n' > "$D/plain.csv"
printf '\xEF\xBB\xBFid,name,lon,lat\r\n"a,1","Nguyễn ""Văn""",105.40,21.32\r\n"multi\nline",x,105.41,21.33\r\n' > "$D/quoted.csv"
printf 'id,lon,lat\n,,\n"unterminated,105,21\n' > "$D/bad.csv"

# ---- fuzz_instant: dates and instants as --at and ?at= take them.
D=$(seeds fuzz_instant)
printf '2025-12-31' > "$D/day"
printf '2024-02-29' > "$D/leap_day"
printf '2025-02-29' > "$D/not_leap"
printf '2025-12-31T16:59:59.5Z' > "$D/instant_fraction"
printf '2025-12-31T16:59:59Z' > "$D/instant"
printf '2025-12-31T16:59:59+07:00' > "$D/zone"
printf 'yesterday' > "$D/word"

# ---- fuzz_survey_date: record dates as surveys and OGR write them.
D=$(seeds fuzz_survey_date)
printf '2015-03-01' > "$D/iso"
printf '01/02/2016 08:30' > "$D/day_first_time"
printf '2016/02/01 10:00:00+07' > "$D/ogr_datetime"
printf '2016-02-01T08:30:15.250Z' > "$D/fraction_zone"
printf '29/02/2015' > "$D/not_leap"
printf ' 2016-31-31 ' > "$D/bad_month"

# ---- fuzz_field_map
D=$(seeds fuzz_field_map)
printf '# field map of a Hoa Binh survey\ncommune = MaXa\nsheet=SoTo\nparcel=SoThua\r\narea = DienTich\nlanduse=LoaiDat\nowner=TenChu\naddress=DiaChi\nformer_commune=MaXaCu\n' > "$D/full.map"
printf '\xEF\xBB\xBFsheet=TO_BD\nparcel = THUA\n\n#x\n' > "$D/bom.map"
printf 'sheet=SoTo\nsheet=SoTo2\n' > "$D/twice.map"

# ---- fuzz_tokens
D=$(seeds fuzz_tokens)
printf '# tokens of the land office\nabcdefghijklmnop0123456789 office-1\nsha256:%s label\n\n  Zm9vYmFyYmF6cXV4MTIzNDU2Nzg=\t# second\r\n' \
    "$(printf %s 'correct-horse-battery-staple' | sha256sum | cut -d' ' -f1)" > "$D/tokens.txt"
printf 'short\n' > "$D/short.txt"

# ---- fuzz_wkb: SpatiaLite writes ISO WKB; python3 packs the variants.
D=$(seeds fuzz_wkb)
wkb_of() {
    spatialite -batch -noheader :memory: "SELECT hex(AsBinary(GeomFromText('$1', 4326)));" 2>/dev/null |
        tail -1 | xxd -r -p
}
wkb_of 'POLYGON((105.40 21.32, 105.41 21.32, 105.41 21.33, 105.40 21.33, 105.40 21.32))' > "$D/polygon.wkb"
wkb_of 'MULTIPOLYGON(((105.40 21.32, 105.41 21.32, 105.41 21.33, 105.40 21.33, 105.40 21.32),
    (105.402 21.322, 105.402 21.324, 105.404 21.324, 105.404 21.322, 105.402 21.322)),
    ((105.42 21.32, 105.43 21.32, 105.43 21.33, 105.42 21.32)))' > "$D/multi_hole.wkb"
python3 - "$D" <<'EOF'
import struct, sys
d = sys.argv[1]
ring = [(105.4020, 21.3220), (105.4021, 21.3220), (105.4021, 21.3221), (105.4020, 21.3220)]
cw = list(reversed(ring))
def poly(order, typ, rings, dims=2, srid=None):
    e = '<' if order == 1 else '>'
    b = struct.pack(e + 'BI', order, typ) if order == 1 else struct.pack('>BI', 0, typ)
    if srid is not None:
        b += struct.pack(e + 'I', srid)
    b += struct.pack(e + 'I', len(rings))
    for r in rings:
        b += struct.pack(e + 'I', len(r))
        for x, y in r:
            b += struct.pack(e + 'd' * dims, x, y, *([100.5] * (dims - 2)))
    return b
open(d + '/big_endian.wkb', 'wb').write(poly(0, 3, [ring]))
open(d + '/iso_z.wkb', 'wb').write(poly(1, 1003, [cw], dims=3))
open(d + '/iso_zm.wkb', 'wb').write(poly(1, 3003, [ring], dims=4))
open(d + '/ewkb_srid.wkb', 'wb').write(poly(1, 0x20000003, [ring], srid=4326))
mp = struct.pack('<BII', 1, 6, 2) + poly(1, 3, [ring]) + poly(0, 1003, [cw], dims=3)
open(d + '/multi_mixed.wkb', 'wb').write(mp)
# The attribute texts after the marker: land use, sheet, parcel, address, owner.
attrs = b'\xff\xfeATTR' + b'\0'.join([b'ONT+CLN+', b'12a', b'345', 'Xóm Đình'.encode(), 'Nguyễn Văn Ánh'.encode()])
open(d + '/with_attrs.bin', 'wb').write(poly(1, 3, [cw]) + attrs)
open(d + '/far.wkb', 'wb').write(poly(1, 3, [[(1e10, -3e12), (2e15, 1), (5, 7e20), (1e10, -3e12)]]))
EOF

# ---- fuzz_change_parts: a change's GeoJSON parts, written by ogr2ogr (with
# GDAL's "crs" member) from a CSV of WKT, and a few near misses.
D=$(seeds fuzz_change_parts)
printf 'WKT,landuse,number\n"POLYGON ((567440 2358740,567460 2358740,567460 2358760,567440 2358760,567440 2358740))",ONT,41\n"MULTIPOLYGON (((567460 2358740,567480 2358740,567480 2358760,567460 2358760,567460 2358740),(567465 2358745,567470 2358745,567470 2358750,567465 2358745)))",CLN+ONT,\n' \
    > "$WORK/parts.csv"
ogr2ogr -q -f GeoJSON "$D/parts_9208.geojson" "$WORK/parts.csv" -oo GEOM_POSSIBLE_NAMES=WKT \
    -oo KEEP_GEOM_COLUMNS=NO -a_srs EPSG:9208
sed -e '/"crs"/d' "$D/parts_9208.geojson" > "$D/parts_nocrs.geojson"
sed -e 's/EPSG::9208/EPSG::3857/' "$D/parts_9208.geojson" > "$D/parts_3857.geojson"
printf '{"type":"Feature","properties":{"landuse":"ONT","area_legal":400.5},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"crs":{"type":"name","properties":{"name":"EPSG:5897"}}}' > "$D/feature_5897.json"
printf '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}}]}' > "$D/point.json"
printf '{"type":"FeatureCollection","type":"FeatureCollection","features":[]}' > "$D/duplicate_key.json"
printf '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}]}' > "$D/unclosed.json"

# ---- fuzz_import: survey files by ogr2ogr from CSVs with WKT.
D=$(seeds fuzz_import)
base() { echo "$3 $2" | cs2cs -f "%.3f" EPSG:4326 "EPSG:$1" | awk '{print $1, $2}'; }
read -r VX VY < <(base 5897 105.5970 21.3090)   # Vinh Yen, TM-3 105-00
read -r PX PY < <(base 9208 105.4020 21.3220)   # Viet Tri, TM-3 104-45
grid() { # grid FILE N COMMUNE X Y: N 20 m parcels in rows of 4, one bow-tie, one sliver
    awk -v n="$2" -v c="$3" -v bx="$4" -v by="$5" 'BEGIN {
        print "WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi"
        split("ONT LUA CLN BHK+ONT ONT+CLN XYZ", lu, " ")
        for (i = 0; i < n; i++) {
            x = bx + (i % 4) * 25; y = by + int(i / 4) * 25
            if (i == 1)
                g = sprintf("POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))", x, y, x + 20, y + 20, x + 20, y, x, y + 20, x, y)
            else
                g = sprintf("POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))", x, y, x + 20, y, x + 20, y + 20, x, y + 20, x, y)
            printf "\"%s\",%s,%d,%d,%s,%.1f,Nguyễn Văn %d,Xóm %d\n", g, c, 12, (i == 3 ? 2 : i + 1), lu[i % 6 + 1], (i == 2 ? 900 : 400), i, i % 3
        }
    }' > "$1"
}
grid "$WORK/vy.csv" 6 08707 "$VX" "$VY"
grid "$WORK/vt.csv" 5 07900 "$PX" "$PY"
conv() { # conv CSV OUT DRIVER EPSG [options]
    local src=$1 dst=$2 drv=$3 epsg=$4
    shift 4
    ogr2ogr -q -f "$drv" "$dst" "$src" -oo GEOM_POSSIBLE_NAMES=WKT -oo KEEP_GEOM_COLUMNS=NO \
        -a_srs "EPSG:$epsg" -nln parcels "$@"
}
SEP=$'\n=PART=\n'
# GeoJSON (byte 0x00: imported; 0x04: dry run; 0x08: overviews too).
conv "$WORK/vy.csv" "$WORK/vy.geojson" GeoJSON 5897 -lco RFC7946=NO -lco COORDINATE_PRECISION=3
{ printf '\x00'; cat "$WORK/vy.geojson"; } > "$D/geojson_5897"
{ printf '\x0c'; cat "$WORK/vy.geojson"; } > "$D/geojson_5897_dry"
conv "$WORK/vt.csv" "$WORK/vt.geojson" GeoJSON 9208 -lco RFC7946=NO -lco COORDINATE_PRECISION=3
{ printf '\x08'; cat "$WORK/vt.geojson"; } > "$D/geojson_9208_overviews"
ogr2ogr -q -f GeoJSON "$WORK/wgs.geojson" "$WORK/vt.geojson" -t_srs EPSG:4326 -lco COORDINATE_PRECISION=9
{ printf '\x03'; cat "$WORK/wgs.geojson"; } > "$D/geojson_wgs84"
# Defects in one GeoJSON: two communes, a hole, a multipolygon, a line, an
# empty geometry, a number that is text, a missing parcel number.
awk -v x="$VX" -v y="$VY" 'BEGIN {
    print "WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu"
    printf "\"POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f),(%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))\",08707,3,1,ONT,350,A\n", x, y, x + 20, y, x + 20, y + 20, x, y + 20, x, y, x + 5, y + 5, x + 5, y + 10, x + 10, y + 10, x + 5, y + 5
    printf "\"MULTIPOLYGON (((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f)),((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f)))\",08716,3,2,LUA,abc,B\n", x + 30, y, x + 40, y, x + 40, y + 10, x + 30, y, x + 50, y, x + 60, y, x + 60, y + 10, x + 50, y
    printf "\"LINESTRING (%.3f %.3f,%.3f %.3f)\",08707,3,3,CLN,10,C\n", x, y, x + 5, y + 5
    printf "\"POLYGON EMPTY\",08707,3,4,CLN,10,D\n"
    printf "\"POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))\",08707,3,,ONT,-5,E\n", x + 70, y, x + 80, y, x + 80, y + 10, x + 70, y
}' > "$WORK/defects.csv"
conv "$WORK/defects.csv" "$WORK/defects.geojson" GeoJSON 5897 -lco RFC7946=NO -lco COORDINATE_PRECISION=3
{ printf '\x00'; cat "$WORK/defects.geojson"; } > "$D/geojson_defects"
# GeoPackage, without a spatial index and with 1 KB pages to stay small.
conv "$WORK/vy.csv" "$WORK/vy.gpkg" GPKG 5897 -lco SPATIAL_INDEX=NO
sqlite3 "$WORK/vy.gpkg" 'PRAGMA page_size=1024; VACUUM;'
{ printf '\x01'; cat "$WORK/vy.gpkg"; } > "$D/gpkg_5897"
# Shapefile: .shp, .shx, .dbf, .prj, .cpg joined by the separator.
conv "$WORK/vt.csv" "$WORK/shp" "ESRI Shapefile" 9208 -lco ENCODING=UTF-8
{ printf '\x02'; cat "$WORK/shp/parcels.shp"; printf '%s' "$SEP"; cat "$WORK/shp/parcels.shx"
  printf '%s' "$SEP"; cat "$WORK/shp/parcels.dbf"; printf '%s' "$SEP"; cat "$WORK/shp/parcels.prj"
  printf '%s' "$SEP"; cat "$WORK/shp/parcels.cpg"; } > "$D/shapefile_9208"
# A DBF without .cpg or .prj, in TCVN3-like bytes claimed as Latin-1.
conv "$WORK/vy.csv" "$WORK/shp2" "ESRI Shapefile" 5897 -lco ENCODING=ISO-8859-1
{ printf '\x02'; cat "$WORK/shp2/parcels.shp"; printf '%s' "$SEP"; cat "$WORK/shp2/parcels.shx"
  printf '%s' "$SEP"; cat "$WORK/shp2/parcels.dbf"; } > "$D/shapefile_noprj"

for d in "$HERE"/*/seeds; do
    printf '%-40s %3d files, %7d bytes\n' "${d#"$HERE"/}" "$(ls "$d" | wc -l)" "$(cat "$d"/* | wc -c)"
done
