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
source "$(dirname "$0")/lib.sh"

CASE=${1:?usage: wms.sh CASE}
SCHEMAS="$PDB_SOURCE_DIR/tests/schemas/wms"
export XML_CATALOG_FILES="$SCHEMAS/catalog.xml"
# Debian's OWSLib is in the system Python, whatever python3 is first on PATH.
PY=/usr/bin/python3

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
    out=$("$PY" - "$W" "$ext" <<'EOF' 2>&1
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

"case_$CASE"
stop_server
finish
