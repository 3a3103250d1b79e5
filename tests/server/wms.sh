#!/usr/bin/env bash
# The WMS at /wms (issue 13), one case per CTest test (wms.sh CASE), with
# the clients a land office uses: GDAL's WMS driver, OWSLib, xmllint
# against the official schemas (tests/schemas/wms, no network).
#   caps      GetCapabilities 1.3.0 and 1.1.1: schema/DTD-valid, the
#             operator's metadata, layers, CRSs, boxes in each CRS's axis order
#   getmap    GetMap in EPSG:9208 and EPSG:4326 through gdal_translate: the
#             land-use colour at parcels (points from the source file by OGR)
#   info      GetFeatureInfo: gdallocationinfo at 100 points, the formats,
#             owner names only with a token
#   errors    ServiceExceptionReport codes, EXCEPTIONS=INIMAGE/BLANK
#   limits    the server's rate limit on /wms, one GetMap render slot
#   national  GetFeatureInfo in every format (OWSLib for GML) on a store of
#             pdb-synth --national: previous numbers and record dates; the
#             certificate only with a personal token, audited
source "$(dirname "$0")/lib.sh"

CASE=${1:?usage: wms.sh CASE}
SCHEMAS="$PDB_SOURCE_DIR/tests/schemas/wms"
export XML_CATALOG_FILES="$SCHEMAS/catalog.xml"
# Debian's OWSLib is in the system Python, whatever python3 is first on PATH.
PYTHON=/usr/bin/python3

# The operator's file (docs/wms.md), with Vietnamese text to carry through.
cat >wms.conf <<'EOF'
# parceldb WMS
title = Bản đồ địa chính tỉnh Phú Thọ
abstract = Thửa đất & ranh giới xã <thử nghiệm>
person = Nguyễn Văn An
organization = Sở Nông nghiệp và Môi trường Phú Thọ
city = Việt Trì
email = diachinh@example.vn
max_size = 2048
EOF
export PARCELDB_WMS_CONFIG="$WORK/wms.conf"

make_store || exit 1
start_server || exit 1
W="$BASE/wms"

# xml_text FILE XPATH: the text of the first match (namespaces ignored).
xml_text() {
    xmllint --nonet --xpath "string($2)" "$1" 2>/dev/null
}

# source_extent: "minlon minlat maxlon maxlat" of both fixture files, by OGR.
source_extent() {
    local f
    for f in pt.gpkg vp.gpkg; do
        ogr2ogr -q -f GeoJSON -t_srs EPSG:4326 "/vsistdout/" "$f" | ogrinfo -so -al /vsistdin/ 2>/dev/null |
            sed -n 's/^Extent: (\([^,]*\), \([^)]*\)) - (\([^,]*\), \([^)]*\))/\1 \2 \3 \4/p'
    done | awk 'NR == 1 { a = $1; b = $2; c = $3; d = $4 }
        { if ($1 < a) a = $1; if ($2 < b) b = $2; if ($3 > c) c = $3; if ($4 > d) d = $4 }
        END { printf "%.6f %.6f %.6f %.6f\n", a, b, c, d }'
}

case_caps() {
    get "/wms?SERVICE=WMS&REQUEST=GetCapabilities"
    check "1.3.0 capabilities status" "$STATUS" 200
    cp "$WORK/body" caps13.xml
    if xmllint --nonet --noout --schema "$SCHEMAS/wms/1.3.0/capabilities_1_3_0.xsd" caps13.xml \
        2>xmllint.err; then ok "1.3.0 capabilities validate against the WMS 1.3.0 schema"; else
        fail "1.3.0 capabilities do not validate: $(head -c 600 xmllint.err)"; fi
    check "1.3.0 title from the operator's file" \
        "$(xml_text caps13.xml "//*[local-name()='Service']/*[local-name()='Title']")" \
        "Bản đồ địa chính tỉnh Phú Thọ"
    check "1.3.0 abstract escaped and read back" \
        "$(xml_text caps13.xml "//*[local-name()='Service']/*[local-name()='Abstract']")" \
        "Thửa đất & ranh giới xã <thử nghiệm>"
    check "1.3.0 MaxWidth from the file" \
        "$(xml_text caps13.xml "//*[local-name()='MaxWidth']")" 2048
    # 1.3.0: EPSG:4326 latitude first, CRS:84 longitude first.
    local lat lon
    lat=$(xml_text caps13.xml "//*[local-name()='Layer'][*[local-name()='Name']='parcels']/*[local-name()='BoundingBox'][@CRS='EPSG:4326']/@minx")
    lon=$(xml_text caps13.xml "//*[local-name()='Layer'][*[local-name()='Name']='parcels']/*[local-name()='BoundingBox'][@CRS='CRS:84']/@minx")
    if awk -v a="$lat" -v o="$lon" 'BEGIN { exit !(a > 20 && a < 23 && o > 104 && o < 107) }'; then
        ok "1.3.0 BoundingBox EPSG:4326 is lat,lon ($lat) and CRS:84 lon,lat ($lon)"
    else fail "1.3.0 BoundingBox axis order: EPSG:4326 minx '$lat', CRS:84 minx '$lon'"; fi
    # Projected boxes easting first: EPSG:9208 eastings are 0.35-0.65 million m.
    local e
    e=$(xml_text caps13.xml "//*[local-name()='Layer'][*[local-name()='Name']='parcels']/*[local-name()='BoundingBox'][@CRS='EPSG:9208']/@minx")
    if awk -v e="$e" 'BEGIN { exit !(e > 350000 && e < 650000) }'; then
        ok "1.3.0 BoundingBox EPSG:9208 is easting first ($e)"; else
        fail "1.3.0 BoundingBox EPSG:9208 minx '$e' is not an easting"; fi
    check "queryable layers" \
        "$(xml_text caps13.xml "count(//*[local-name()='Layer'][@queryable='1'])")" 2
    # The outline style draws nothing below z15: a MaxScaleDenominator.
    contains "parcels_outline has a MaxScaleDenominator" \
        "$(xml_text caps13.xml "//*[local-name()='Layer'][*[local-name()='Name']='parcels_outline']/*[local-name()='MaxScaleDenominator']")" \
        '^[0-9]+(\.[0-9]+)?$'
    contains "communes has a MinScaleDenominator" \
        "$(xml_text caps13.xml "//*[local-name()='Layer'][*[local-name()='Name']='communes']/*[local-name()='MinScaleDenominator']")" \
        '^[0-9]+(\.[0-9]+)?$'

    get "/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.1.1"
    cp "$WORK/body" caps11.xml
    if xmllint --nonet --noout --valid caps11.xml 2>xmllint.err; then
        ok "1.1.1 capabilities validate against the WMS 1.1.1 DTD"; else
        fail "1.1.1 capabilities are not valid: $(head -c 600 xmllint.err)"; fi
    check "1.1.1 content type" "$(header Content-Type)" "application/vnd.ogc.wms_xml"
    # A version the server does not speak: negotiated (1.3.0 section 6.2.4).
    get "/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.2.0"
    contains "VERSION=1.2.0 negotiates to 1.1.1" "$BODY" 'WMT_MS_Capabilities version="1.1.1"'

    # GDAL lists the layers.
    local gi
    gi=$(gdalinfo "WMS:$W?SERVICE=WMS&REQUEST=GetCapabilities" 2>&1)
    for l in parcels parcels_outline communes; do
        contains "gdalinfo lists $l" "$gi" "SUBDATASET_[0-9]+_NAME=WMS:.*LAYERS=$l&"
    done

    # OWSLib reads layers, CRSs and the box; the box is the store's, which
    # is the source files' (by OGR) within 1e-5 degrees.
    local ext out
    ext=$(source_extent)
    out=$("$PYTHON" - "$W" "$ext" <<'EOF' 2>&1
import sys
from owslib.wms import WebMapService
url, ext = sys.argv[1], [float(v) for v in sys.argv[2].split()]
for version in ("1.3.0", "1.1.1"):
    w = WebMapService(url, version=version)
    print(version, "layers", ",".join(sorted(w.contents)))
    crs = set(w["parcels"].crsOptions)
    want = {"EPSG:3857", "EPSG:4326", "EPSG:4756", "EPSG:9208", "EPSG:5897", "EPSG:9211",
            "EPSG:3405", "EPSG:3406", "EPSG:5896", "EPSG:9218"}
    print(version, "crs", "ok" if want <= crs else "missing " + ",".join(sorted(want - crs)))
    if version == "1.3.0":
        print(version, "crs84", "ok" if "CRS:84" in crs else "missing")
    b = w["parcels"].boundingBoxWGS84
    print(version, "bbox", "ok" if all(abs(b[i] - ext[i]) < 1e-5 for i in range(4)) else "%r vs %r" % (b, ext))
    print(version, "title", w.identification.title)
    print(version, "contact", w.provider.contact.name)
EOF
    )
    for v in 1.3.0 1.1.1; do
        contains "OWSLib $v layers" "$out" "^$v layers communes,parcels,parcels_outline$"
        contains "OWSLib $v CRSs" "$out" "^$v crs ok$"
        contains "OWSLib $v bbox is the store's" "$out" "^$v bbox ok$"
        contains "OWSLib $v title" "$out" "^$v title Bản đồ địa chính tỉnh Phú Thọ$"
        contains "OWSLib $v contact" "$out" "^$v contact Nguyễn Văn An$"
    done
    contains "OWSLib 1.3.0 CRS:84" "$out" "^1.3.0 crs84 ok$"
}

# wms_xml CRS MINX MINY MAXX MAXY SIZEX SIZEY [LAYERS]: a <GDAL_WMS>
# description of a 1.3.0 GetMap. For EPSG:4326, BBoxOrder yxYX: what GDAL
# itself writes from a "WMS:" URL of a 1.3.0 server (latitude first).
wms_xml() {
    local order=xyXY
    [ "$1" = EPSG:4326 ] && order=yxYX
    cat <<EOF
<GDAL_WMS>
  <Service name="WMS">
    <Version>1.3.0</Version>
    <ServerUrl>$W?</ServerUrl>
    <CRS>$1</CRS>
    <ImageFormat>image/png</ImageFormat>
    <Transparent>TRUE</Transparent>
    <Layers>${8:-parcels}</Layers>
    <BBoxOrder>$order</BBoxOrder>
  </Service>
  <DataWindow>
    <UpperLeftX>$2</UpperLeftX>
    <UpperLeftY>$5</UpperLeftY>
    <LowerRightX>$4</LowerRightX>
    <LowerRightY>$3</LowerRightY>
    <SizeX>$6</SizeX>
    <SizeY>$7</SizeY>
  </DataWindow>
  <Projection>$1</Projection>
  <BandsCount>4</BandsCount>
  <BlockSizeX>256</BlockSizeX>
  <BlockSizeY>256</BlockSizeY>
  <Timeout>30</Timeout>
</GDAL_WMS>
EOF
}

# rgb_of CODE: "R G B" of a land-use code from data/landuse-codes.csv.
rgb_of() {
    awk -F, -v c="$1" '$1 == c { print $4 }' "$PDB_SOURCE_DIR/data/landuse-codes.csv"
}

# near "R G B A" "R G B" TOL: opaque and each channel within TOL.
near() {
    awk -v got="$1" -v want="$2" -v tol="$3" 'BEGIN {
        split(got, g, " "); split(want, w, " ")
        ok = (g[4] == 255 && w[3] != "")
        for (i = 1; i <= 3; i++) if (g[i] - w[i] > tol || w[i] - g[i] > tol) ok = 0
        print ok ? "yes" : "no" }'
}

# points_from_source: "parcel landuse E N" per parcel of pt.gpkg, 4 m inside
# its south-west corner (away from its edges and from its centre's
# label), read with OGR from the source file in its survey CRS.
points_from_source() {
    ogr2ogr -q -f CSV /vsistdout/ pt.gpkg -dialect SQLite \
        -sql "SELECT SoThua, LoaiDat, ST_MinX(geom) + 4 AS e, ST_MinY(geom) + 4 AS n FROM parcels" |
        tail -n +2 | tr -d '"' | tr ',' ' '
}

# pixel_at TIF X Y [-wgs84]: "R G B A" at a point of the GeoTIFF.
pixel_at() {
    local geo=-geoloc
    [ "${4:-}" = -wgs84 ] && geo=-wgs84
    gdallocationinfo -valonly "$geo" "$1" "$2" "$3" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'
}

case_getmap() {
    base_phutho
    local x0 y0 x1 y1 w s e n
    x0=$(awk -v b="$BX" 'BEGIN { printf "%.3f", b - 30 }')
    y0=$(awk -v b="$BY" 'BEGIN { printf "%.3f", b - 30 }')
    x1=$(awk -v b="$BX" 'BEGIN { printf "%.3f", b + 280 }')
    y1=$(awk -v b="$BY" 'BEGIN { printf "%.3f", b + 130 }')
    # The same extent in WGS 84 (cs2cs writes lat lon).
    read -r s w < <(echo "$x0 $y0" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326 | awk '{ print $1, $2 }')
    read -r n e < <(echo "$x1 $y1" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326 | awk '{ print $1, $2 }')
    wms_xml EPSG:9208 "$x0" "$y0" "$x1" "$y1" 620 320 >tm3.xml
    wms_xml EPSG:4326 "$w" "$s" "$e" "$n" 620 320 >wgs.xml
    for f in tm3 wgs; do
        timeout 120 gdal_translate -q -of GTiff $f.xml $f.tif 2>gdal.err
        check "$f: gdal_translate of the GetMap $(head -c 300 gdal.err)" "$?" 0
    done
    contains "tm3: the GeoTIFF is in EPSG:9208" "$(gdalinfo tm3.tif 2>&1)" 'ID\["EPSG",9208\]'
    contains "GDAL asked for GetMap in EPSG:9208" "$(cat "$WORK/server.log")" 'GET /wms\?'
    # Every point in one run of each tool: cs2cs for WGS 84, and
    # gdallocationinfo (4 values a point, -valonly) per GeoTIFF.
    local pts np bad9208 bad4326 sample
    pts=$(points_from_source)
    np=$(grep -c . <<<"$pts")
    cut -d' ' -f3,4 <<<"$pts" | gdallocationinfo -valonly -geoloc tm3.tif 2>/dev/null | paste -d' ' - - - - >tm3.px
    cut -d' ' -f3,4 <<<"$pts" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326 | awk '{ print $2, $1 }' |
        gdallocationinfo -valonly -wgs84 wgs.tif 2>/dev/null | paste -d' ' - - - - >wgs.px
    # colour_misses PIXELS: the points whose pixel is not their land use's colour.
    colour_misses() {
        local parcel lu px
        while read -r parcel lu _ _ && read -r px <&3; do
            [ "$(near "$px" "$(rgb_of "$lu")" 10)" = yes ] || echo "$parcel:$lu:$px"
        done <<<"$pts" 3<"$1"
    }
    check "a pixel for every point (EPSG:9208, EPSG:4326)" "$(grep -c . tm3.px) $(grep -c . wgs.px)" "$np $np"
    sample=$(colour_misses tm3.px)
    bad9208=$(grep -c . <<<"$sample")
    sample=$(colour_misses wgs.px)
    bad4326=$(grep -c . <<<"$sample")
    check "parcels read from the source file" "$np" 40
    check "EPSG:9208 GetMap: every parcel shows its land-use colour" "$bad9208" 0
    check "EPSG:4326 GetMap: every parcel shows its land-use colour" "$bad4326" 0
    [ "$bad9208$bad4326" = 00 ] || echo "wrong pixels: $(colour_misses tm3.px | head -5) / $(colour_misses wgs.px | head -5)"
    # Between parcels 1 and 2 (a 5 m gap): nothing, transparent.
    got=$(pixel_at tm3.tif "$(awk -v b="$BX" 'BEGIN { printf "%.3f", b + 22.5 }')" \
        "$(awk -v b="$BY" 'BEGIN { printf "%.3f", b + 10 }')")
    check "the gap between parcels 1 and 2 is transparent" "${got##* }" 0

    # Through curl: JPEG, BGCOLOR, several layers, the size limit of the file.
    local q="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&CRS=EPSG:9208&BBOX=$x0,$y0,$x1,$y1&STYLES="
    get "/wms?$q&LAYERS=parcels,communes&WIDTH=310&HEIGHT=160&FORMAT=image/jpeg&BGCOLOR=0x0000FF"
    check "JPEG: status" "$STATUS" 200
    check "JPEG: content type" "$(header Content-Type)" image/jpeg
    cp "$WORK/body" map.jpg
    contains "JPEG: GDAL reads a 310 x 160 JPEG" "$(gdalinfo map.jpg 2>&1)" 'Size is 310, 160'
    get "/wms?$q&LAYERS=parcels&WIDTH=310&HEIGHT=160&FORMAT=image/png&TRANSPARENT=FALSE&BGCOLOR=0x0000FF"
    cp "$WORK/body" bg.png
    gdal_translate -q -expand rgb bg.png bg.tif 2>/dev/null # an 8-bit palette when it can
    # Pixel (9, 150) is 21 m west of the first column (1 m/px): background.
    check "BGCOLOR under an opaque map" \
        "$(gdallocationinfo -valonly bg.tif 9 150 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')" "0 0 255"
    get "/wms?$q&LAYERS=parcels&WIDTH=2048&HEIGHT=16&FORMAT=image/png&DPI=96&MAP_RESOLUTION=96&FORMAT_OPTIONS=dpi:96"
    check "WIDTH at the file's max_size, with QGIS's extra parameters" "$(header Content-Type)" image/png
    get "/wms?$q&LAYERS=parcels&WIDTH=2049&HEIGHT=16&FORMAT=image/png"
    contains "WIDTH over max_size: InvalidParameterValue" "$BODY" 'code="InvalidParameterValue"'
    local renders
    renders=$(metric 'parceldb_http_requests_total{route="wms",status="200"}')
    if [ "${renders:-0}" -ge 4 ]; then ok "/metrics counts the WMS route ($renders)"; else
        fail "/metrics: route wms 200 is '$renders'"; fi
}

# info_points FILE.gpkg: "E N parcel" lines from the source file (OGR):
# 4 m inside the south-west corner, and 4 m inside the north-east corner,
# of each parcel, in its survey CRS.
info_points() {
    ogr2ogr -q -f CSV /vsistdout/ "$1" -dialect SQLite \
        -sql "SELECT ST_MinX(geom) + 4 AS e, ST_MinY(geom) + 4 AS n, SoThua FROM parcels
              UNION ALL SELECT ST_MaxX(geom) - 4, ST_MaxY(geom) - 4, SoThua FROM parcels" |
        tail -n +2 | tr -d '"' | tr ',' ' '
}

# located_parcels XML < POINTS: the parcel number GetFeatureInfo gives at
# each point (gdallocationinfo over the WMS), "-" where none, one a line.
located_parcels() {
    cut -d' ' -f1,2 | gdallocationinfo -geoloc "$1" 2>/dev/null | awk '
        /^Report:/ { if (n++) print (p == "" ? "-" : p); p = ""; band = 0 }
        /^  Band 1:/ { band = 1 } /^  Band 2:/ { band = 0 }
        band && p == "" && match($0, /<parcel>[^<]*<\/parcel>/) { p = substr($0, RSTART + 8, RLENGTH - 17) }
        END { if (n) print (p == "" ? "-" : p) }'
}

case_info() {
    TOKEN=officer-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s land-office\n' "$TOKEN" >tokens
    stop_server
    start_server --tokens tokens || return 1
    W="$BASE/wms"
    # 80 points of Viet Tri's commune through a map in EPSG:9208, 20 of Vinh
    # Yen's in EPSG:5897: 100 GetFeatureInfo answers against OGR's numbers.
    local f crs xml pts got want total=0 right=0 wrong=""
    for f in pt vp; do
        if [ $f = pt ]; then crs=9208; else crs=5897; fi
        pts=$(info_points $f.gpkg)
        [ $f = vp ] && pts=$(head -20 <<<"$pts")
        read -r x0 y0 x1 y1 < <(awk 'NR == 1 { a = $1; b = $2; c = $1; d = $2 }
            { if ($1 < a) a = $1; if ($2 < b) b = $2; if ($1 > c) c = $1; if ($2 > d) d = $2 }
            END { printf "%.3f %.3f %.3f %.3f\n", a - 20, b - 20, c + 20, d + 20 }' <<<"$pts")
        xml=$f-info.xml
        wms_xml "EPSG:$crs" "$x0" "$y0" "$x1" "$y1" \
            "$(awk -v a="$x0" -v b="$x1" 'BEGIN { printf "%d", (b - a) * 2 }')" \
            "$(awk -v a="$y0" -v b="$y1" 'BEGIN { printf "%d", (b - a) * 2 }')" >$xml
        got=$(located_parcels $xml <<<"$pts")
        want=$(cut -d' ' -f3 <<<"$pts")
        total=$((total + $(wc -l <<<"$want")))
        right=$((right + $(paste -d' ' <(echo "$want") <(echo "$got") | awk '$1 == $2' | wc -l)))
        wrong="$wrong$(paste -d' ' <(echo "$pts") <(echo "$got") | awk '$3 != $4 { printf " %s:%s,%s->%s", c, $1, $2, $4 }' c=$crs | head -c 300)"
    done
    check "gdallocationinfo points" "$total" 100
    check "GetFeatureInfo gives OGR's parcel number at every point$wrong" "$right" 100

    # The formats, through curl, at parcel 7 of Viet Tri (its centre).
    base_phutho
    parcel_center 9208 7
    local q="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=parcels&QUERY_LAYERS=parcels&STYLES="
    q="$q&CRS=EPSG:9208&BBOX=$(awk -v x="$PX" -v y="$PY" 'BEGIN { printf "%.3f,%.3f,%.3f,%.3f", x - 50, y - 50, x + 50, y + 50 }')"
    q="$q&WIDTH=101&HEIGHT=101"
    local ij="I=50&J=50"
    get "/wms?$q&$ij"
    check "text/plain is the default" "$(header Content-Type)" "text/plain; charset=utf-8"
    contains "text/plain: the parcel" "$BODY" '^parcel 07894/12/7$'
    lacks "text/plain: no owner without a token" "$BODY" 'owner|Nguyen Van Chu'
    get "/wms?$q&$ij&INFO_FORMAT=application/json"
    check "JSON: a GeoJSON parcel 7" "$("$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["type"], len(d["features"]), d["features"][0]["properties"]["parcel"])' "$WORK/body" 2>&1)" "FeatureCollection 1 7"
    get "/wms?$q&$ij&INFO_FORMAT=text/html"
    contains "HTML: Vietnamese labels" "$BODY" '<th>Số thửa</th><td>7</td>'
    contains "HTML: land use" "$BODY" '<th>Loại đất</th><td>CLN</td>'
    get "/wms?$q&$ij&INFO_FORMAT=application/vnd.ogc.gml"
    if xmllint --nonet --noout "$WORK/body" 2>/dev/null; then ok "GML: well-formed"; else fail "GML: not XML"; fi
    check "answers without owners: no audit row" "$(store_sql "$DB" "SELECT count(*) FROM audit_log")" 0
    get "/wms?$q&$ij&INFO_FORMAT=text/html" -H "Authorization: Bearer $TOKEN"
    contains "token: the owner, under its Vietnamese label" "$BODY" '<th>Chủ sử dụng</th><td>Nguyen Van Chu 7</td>'
    check "an answer with the owner: one audit row, by the token's name" \
        "$(store_sql "$DB" "SELECT count(*) || ' ' || max(who) FROM audit_log")" "1 land-office"
    check "token: private, not stored" "$(header Cache-Control)" "private, no-store"
    get "/wms?$q&$ij&INFO_FORMAT=application/json" -H "Authorization: Bearer $TOKEN"
    contains "token: JSON owner" "$BODY" '"owner":"Nguyen Van Chu 7"'
    get "/wms?$q&$ij&INFO_FORMAT=application/json" -H "Authorization: Bearer not-$TOKEN"
    check "a token that is not valid: 401" "$STATUS" 401
    lacks "a token that is not valid: no owner" "$BODY" 'Nguyen Van Chu'
    # FEATURE_COUNT; pixel (0, 100) is 40 m south of the first row: no parcel.
    get "/wms?$q&I=0&J=100&INFO_FORMAT=application/json&FEATURE_COUNT=5"
    contains "no parcel in the margin: an empty collection" "$BODY" '"features":\[\]'
    # The same point through maps in EPSG:4326 (1.3.0: lat,lon), CRS:84
    # (lon,lat) and EPSG:3857: the pixel in the middle of a 101 px box
    # centred on parcel 7's centre (cs2cs) is parcel 7.
    local la lo mx my g
    read -r la lo < <(echo "$PX $PY" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326 | awk '{ print $1, $2 }')
    read -r mx my < <(echo "$PX $PY" | cs2cs -f "%.3f" EPSG:9208 EPSG:3857 | awk '{ print $1, $2 }')
    g="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=parcels&QUERY_LAYERS=parcels&STYLES=&WIDTH=101&HEIGHT=101&$ij"
    get "/wms?$g&CRS=EPSG:4326&BBOX=$(awk -v a="$la" -v o="$lo" 'BEGIN { printf "%.9f,%.9f,%.9f,%.9f", a - 0.0004, o - 0.0004, a + 0.0004, o + 0.0004 }')"
    contains "EPSG:4326 (lat,lon): parcel 7" "$BODY" '^parcel 07894/12/7$'
    get "/wms?$g&CRS=CRS:84&BBOX=$(awk -v a="$la" -v o="$lo" 'BEGIN { printf "%.9f,%.9f,%.9f,%.9f", o - 0.0004, a - 0.0004, o + 0.0004, a + 0.0004 }')"
    contains "CRS:84 (lon,lat): parcel 7" "$BODY" '^parcel 07894/12/7$'
    get "/wms?$g&CRS=EPSG:3857&BBOX=$(awk -v x="$mx" -v y="$my" 'BEGIN { printf "%.3f,%.3f,%.3f,%.3f", x - 50, y - 50, x + 50, y + 50 }')"
    contains "EPSG:3857: parcel 7" "$BODY" '^parcel 07894/12/7$'
    local q11
    q11=$(sed -e 's/VERSION=1.3.0/VERSION=1.1.1/' -e 's/CRS=/SRS=/' <<<"$q")
    get "/wms?$q11&$ij"
    contains "1.1.1 takes X/Y, not I/J: MissingParameterValue" "$BODY" 'code="MissingParameterValue"'
    get "/wms?$q11&X=50&Y=50"
    contains "1.1.1 X/Y: the parcel" "$BODY" '^parcel 07894/12/7$'
}

# The national attribute set (docs/import.md) in every INFO_FORMAT, on a
# store imported from pdb-synth --national: the previous numbers and record
# dates for everyone, the certificate serial only with a personal token
# (audited, as owner names), never without one or with a read token.
case_national() {
    stop_server
    national_store || return 1
    local TOKEN READ
    TOKEN=officer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    READ=map-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s land-office\n%s map-app role=read\n' "$TOKEN" "$READ" >tokens
    start_server --tokens tokens || return 1
    W="$BASE/wms"
    audits() { store_sql "$DB" "SELECT count(*) FROM audit_log"; }
    local q q0 ij="I=50&J=50" cert='CS [0-9]{6}|certificate|Số GCN'
    box() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.3f,%.3f,%.3f,%.3f", x - 50, y - 50, x + 50, y + 50 }'; }
    q="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=parcels&QUERY_LAYERS=parcels&STYLES="
    q="$q&CRS=EPSG:9208&WIDTH=101&HEIGHT=101&$ij"
    q0="$q&BBOX=$(box "$NAT_X0" "$NAT_Y0")"
    q="$q&BBOX=$(box "$NAT_X" "$NAT_Y")"

    get "/wms?$q"
    contains "text/plain: the parcel" "$BODY" "^parcel 07894/$NAT_SHEET/$NAT_PARCEL\$"
    contains "text/plain: previous sheet" "$BODY" "^  prev_sheet = $NAT_PREV_SHEET\$"
    contains "text/plain: previous number" "$BODY" "^  prev_parcel = $NAT_PREV_PARCEL\$"
    contains "text/plain: record start" "$BODY" "^  record_start = $NAT_START\$"
    contains "text/plain: record end" "$BODY" "^  record_end = $NAT_END\$"
    lacks "text/plain, no token: no certificate" "$BODY" "$cert"
    get "/wms?$q0"
    check "text/plain: a parcel without them has them empty" \
        "$(grep -Ec '^  (prev_sheet|prev_parcel|record_end) = $' <<<"$BODY")" 3
    get "/wms?$q&INFO_FORMAT=text/html"
    contains "HTML: Số tờ cũ" "$BODY" "<th>Số tờ cũ</th><td>$NAT_PREV_SHEET</td>"
    contains "HTML: Số thửa cũ" "$BODY" "<th>Số thửa cũ</th><td>$NAT_PREV_PARCEL</td>"
    contains "HTML: Thời điểm bắt đầu" "$BODY" "<th>Thời điểm bắt đầu</th><td>$NAT_START</td>"
    contains "HTML: Thời điểm kết thúc" "$BODY" "<th>Thời điểm kết thúc</th><td>$NAT_END</td>"
    lacks "HTML, no token: no certificate" "$BODY" "$cert"
    get "/wms?$q&INFO_FORMAT=application/json"
    check "JSON: the national attributes" "$("$PYTHON" -c 'import json,sys
p = json.load(open(sys.argv[1]))["features"][0]["properties"]
print(p["prev_sheet"], p["prev_parcel"], p["record_start"], p["record_end"], "certificate" in p)' "$WORK/body" 2>&1)" \
        "$NAT_PREV_SHEET $NAT_PREV_PARCEL $NAT_START $NAT_END False"
    # GML through OWSLib (1.1.1, X/Y), as a desktop client asks.
    local gml
    gml=$("$PYTHON" - "$W" "$(box "$NAT_X" "$NAT_Y")" <<'PY' 2>&1
import sys
import xml.etree.ElementTree as ET
from owslib.wms import WebMapService
wms = WebMapService(sys.argv[1], version="1.1.1")
r = wms.getfeatureinfo(layers=["parcels"], query_layers=["parcels"], srs="EPSG:9208",
                       bbox=tuple(float(v) for v in sys.argv[2].split(",")), size=(101, 101),
                       xy=(50, 50), format="image/png", info_format="application/vnd.ogc.gml")
body = r.read()
f = ET.fromstring(body).find(".//parcels_feature")
print(" ".join(f.findtext(k, "-") for k in
               ("parcel", "prev_sheet", "prev_parcel", "record_start", "record_end", "certificate")))
PY
    )
    check "GML (OWSLib): the national attributes, no certificate" "$gml" \
        "$NAT_PARCEL $NAT_PREV_SHEET $NAT_PREV_PARCEL $NAT_START $NAT_END -"
    get "/wms?$q0&INFO_FORMAT=application/vnd.ogc.gml"
    contains "GML: empty elements where the parcel has none" "$BODY" "<prev_parcel></prev_parcel>"
    lacks "GML, no token: no certificate" "$BODY" "$cert"
    get "/wms?$q&INFO_FORMAT=text/html" -H "Authorization: Bearer $READ"
    lacks "a read token: no certificate" "$BODY" "$cert"
    check "public answers: no audit row" "$(audits)" 0

    local f n=0
    for f in text/plain text/html application/vnd.ogc.gml application/json; do
        get "/wms?$q&INFO_FORMAT=$f" -H "Authorization: Bearer $TOKEN"
        n=$((n + 1))
        contains "$f, personal token: the certificate" "$BODY" "$NAT_CERT"
        check "$f, personal token: private" "$(header Cache-Control)" "private, no-store"
        check "$f, personal token: audited" "$(audits)" "$n"
    done
    get "/wms?$q&INFO_FORMAT=text/html" -H "Authorization: Bearer $TOKEN"
    contains "HTML: the certificate under Số GCN" "$BODY" "<th>Số GCN</th><td>$NAT_CERT</td>"
    lacks "the certificate is not in the server log" "$(cat "$WORK/server.log")" 'CS [0-9]{6}'
}

# exception NAME QUERY CODE [VERSION]: the answer is a ServiceExceptionReport
# valid against the version's schema (1.3.0) or DTD (1.1.1), with the code.
exception() {
    local name=$1 query=$2 code=$3 v=${4:-1.3.0}
    get "/wms?$query"
    cp "$WORK/body" exc.xml
    if [ "$v" = 1.3.0 ]; then
        xmllint --nonet --noout --schema "$SCHEMAS/wms/1.3.0/exceptions_1_3_0.xsd" exc.xml 2>xmllint.err
    else
        xmllint --nonet --noout --valid exc.xml 2>xmllint.err
    fi
    local valid=$?
    local got
    got=$(xml_text exc.xml "//*[local-name()='ServiceException']/@code")
    if [ "$STATUS" = 200 ] && [ $valid -eq 0 ] && [ "$got" = "$code" ]; then
        ok "$name: $code"
    else
        fail "$name: status $STATUS, code '$got' (want $code), valid $valid: $(head -c 300 exc.xml) $(head -c 200 xmllint.err)"
    fi
}

case_errors() {
    base_phutho
    local b="$(awk -v x="$BX" -v y="$BY" 'BEGIN { printf "%.3f,%.3f,%.3f,%.3f", x - 30, y - 30, x + 280, y + 130 }')"
    local m="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels&STYLES=&CRS=EPSG:9208&WIDTH=310&HEIGHT=160&FORMAT=image/png"
    exception "unknown REQUEST" "SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegend" OperationNotSupported
    exception "unknown VERSION" "${m/VERSION=1.3.0/VERSION=9.9.9}&BBOX=$b" InvalidParameterValue
    exception "unknown LAYERS" "${m/LAYERS=parcels/LAYERS=parcels,roads}&BBOX=$b" LayerNotDefined
    exception "unknown CRS" "${m/CRS=EPSG:9208/CRS=EPSG:32648}&BBOX=$b" InvalidCRS
    exception "unknown SRS (1.1.1)" "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=parcels&STYLES=&SRS=EPSG:2000&BBOX=$b&WIDTH=10&HEIGHT=10&FORMAT=image/png" InvalidSRS 1.1.1
    exception "unknown FORMAT" "${m/FORMAT=image\/png/FORMAT=image\/webp}&BBOX=$b" InvalidFormat
    exception "unknown STYLES" "${m/STYLES=/STYLES=neon}&BBOX=$b" StyleNotDefined
    exception "BBOX min > max" "$m&BBOX=$(awk -v x="$BX" -v y="$BY" 'BEGIN { printf "%.3f,%.3f,%.3f,%.3f", x + 280, y - 30, x - 30, y + 130 }')" InvalidParameterValue
    exception "BBOX NaN" "$m&BBOX=NaN,$(cut -d, -f2- <<<"$b")" InvalidParameterValue
    exception "BBOX of three numbers" "$m&BBOX=$(cut -d, -f1-3 <<<"$b")" InvalidParameterValue
    exception "WIDTH=0" "${m/WIDTH=310/WIDTH=0}&BBOX=$b" InvalidParameterValue
    exception "WIDTH=100000" "${m/WIDTH=310/WIDTH=100000}&BBOX=$b" InvalidParameterValue
    exception "a parameter twice, in two cases" "$m&BBOX=$b&bbox=$b" InvalidParameterValue
    exception "no BBOX" "$m" MissingParameterValue
    local gfi="${m/REQUEST=GetMap/REQUEST=GetFeatureInfo}&BBOX=$b"
    exception "I outside the image" "$gfi&QUERY_LAYERS=parcels&I=310&J=5" InvalidPoint
    exception "J outside the image" "$gfi&QUERY_LAYERS=parcels&I=5&J=-1" InvalidPoint
    exception "QUERY_LAYERS=communes" "${gfi/LAYERS=parcels/LAYERS=parcels,communes}&I=5&J=5&QUERY_LAYERS=communes" LayerNotQueryable
    exception "unknown INFO_FORMAT" "$gfi&QUERY_LAYERS=parcels&I=5&J=5&INFO_FORMAT=application/pdf" InvalidFormat
    exception "1.1.1 report" "SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=nothing&STYLES=&SRS=EPSG:9208&BBOX=$b&WIDTH=10&HEIGHT=10&FORMAT=image/png" LayerNotDefined 1.1.1

    # EXCEPTIONS=INIMAGE: an image of the asked size with the message in it;
    # BLANK: the same image empty.
    get "/wms?${m/LAYERS=parcels/LAYERS=roads}&BBOX=$b&EXCEPTIONS=INIMAGE"
    check "INIMAGE: a PNG" "$(header Content-Type)" image/png
    cp "$WORK/body" inimage.png
    contains "INIMAGE: the map's size" "$(gdalinfo inimage.png 2>&1)" 'Size is 310, 160'
    get "/wms?${m/LAYERS=parcels/LAYERS=roads}&BBOX=$b&EXCEPTIONS=BLANK&TRANSPARENT=TRUE"
    cp "$WORK/body" blank.png
    check "BLANK: a PNG" "$(header Content-Type)" image/png
    local stats
    gdal_translate -q -expand rgba inimage.png inimage.tif 2>/dev/null || cp inimage.png inimage.tif
    stats=$(gdalinfo -stats inimage.tif 2>/dev/null | grep -A4 'Band 4' | grep -o 'Maximum=[0-9.]*' | head -1)
    check "INIMAGE: something is written (alpha)" "$stats" "Maximum=255.000"
    gdal_translate -q -expand rgba blank.png blank.tif 2>/dev/null || cp blank.png blank.tif
    stats=$(gdalinfo -stats blank.tif 2>/dev/null | grep -A4 'Band 4' | grep -o 'Maximum=[0-9.]*' | head -1)
    check "BLANK: nothing is drawn (alpha)" "$stats" "Maximum=0.000"
    local mj=${m/FORMAT=image\/png/FORMAT=image\/jpeg}
    get "/wms?${mj/LAYERS=parcels/LAYERS=roads}&BBOX=$b&EXCEPTIONS=application/vnd.ogc.se_inimage"
    check "se_inimage with JPEG: a JPEG" "$(header Content-Type)" image/jpeg
    # And the server is still there.
    get "/wms?SERVICE=WMS&REQUEST=GetCapabilities"
    check "still answering after the errors" "$STATUS" 200
}

case_limits() {
    base_phutho
    parcel_center 9208 7
    local b
    b=$(awk -v x="$PX" -v y="$PY" 'BEGIN { printf "%.3f,%.3f,%.3f,%.3f", x - 50, y - 50, x + 50, y + 50 }')
    local gfi="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS=parcels&QUERY_LAYERS=parcels&STYLES=&CRS=EPSG:9208&BBOX=$b&WIDTH=101&HEIGHT=101&J=50"
    # The server's rate limit holds for /wms too: GetFeatureInfo is how a
    # public register gets scraped. One request every 2 s, bursts of 10.
    stop_server
    start_server --rate-limit 0.5 --rate-burst 10 || return 1
    local i
    for i in $(seq 1 40); do
        printf 'url = "%s/wms?%s&I=%d"\noutput = "/dev/null"\n' "$BASE" "$gfi" $((i + 30))
    done >urls.txt
    curl -s --no-progress-meter --max-time 20 -w '%{http_code}\n' --config urls.txt >codes.txt 2>/dev/null
    local nok n429
    nok=$(grep -c '^200$' codes.txt)
    n429=$(grep -c '^429$' codes.txt)
    if [ "$nok" -ge 10 ] && [ "$nok" -le 14 ]; then ok "GetFeatureInfo: a burst of 10 answered ($nok)"; else
        fail "GetFeatureInfo: answered $nok of 40 (want about 10)"; fi
    check "GetFeatureInfo: the rest refused with 429" "$((nok + n429))" 40
    contains "the 429s are counted" "$(metric parceldb_http_rate_limited_total)" '^[1-9]'

    # One render slot: concurrent GetMaps wait for it and all get their
    # image (a slot never leaks, on errors either).
    printf 'max_renders = 1\n' >>"$WORK/wms.conf"
    stop_server
    start_server || return 1
    local m="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels,communes&STYLES=&CRS=EPSG:9208&BBOX=$b&FORMAT=image/png"
    for i in $(seq 1 8); do
        if [ $((i % 4)) = 0 ]; then # over max_size: an exception, no render
            printf 'url = "%s/wms?%s&WIDTH=%d&HEIGHT=512"\noutput = "/dev/null"\n' "$BASE" "$m" 5000
        else
            printf 'url = "%s/wms?%s&WIDTH=%d&HEIGHT=1024"\noutput = "map%d.png"\n' "$BASE" "$m" $((1000 + i)) "$i"
        fi
    done >maps.txt
    curl -s --no-progress-meter --parallel --parallel-max 8 --max-time 60 -w '%{http_code} %{content_type}\n' \
        --config maps.txt >codes.txt 2>/dev/null
    check "8 concurrent GetMaps on one slot: all answered" "$(grep -c '^200 ' codes.txt)" 8
    check "the 2 over max_size are exceptions" "$(grep -c '^200 text/xml' codes.txt)" 2
    check "the 6 good ones are PNGs" "$(grep -c '^200 image/png$' codes.txt)" 6
    get "/wms?$m&WIDTH=64&HEIGHT=64"
    check "the slot is free afterwards" "$(header Content-Type)" image/png
}

"case_$CASE"
stop_server
finish
