#!/usr/bin/env bash
# GetMap in a TM-3 zone drawn from the survey geometry (issue 13). The
# store holds a Phu Tho commune surveyed in EPSG:9208 and a Vinh Phuc one
# in EPSG:5897. For each zone, a GetMap in that zone's CRS whose pixel grid
# puts a parcel's south-west corner, read from the survey file with OGR,
# exactly on a pixel corner: the pixels on either side of its west and
# south edges are the land-use fill and the background, to the pixel and
# to the colour. Then the other zone's parcel in the same CRS (through
# WGS 84 and PROJ) shows its land-use colour at its centre. The bit-exact
# coordinates themselves are checked by test_pg_query
# (test_features_survey_geometry).
source "$(dirname "$0")/lib.sh"

make_store || exit 1
start_server || exit 1

RES=2.5  # metres a pixel: the style's zoom 15 here (fills only, no outline)
SIZE=64  # pixels a side
K=10     # the corner sits K pixels from the west edge and from the south edge
BG="255 255 255"

# corner GPKG: "E N LANDUSE" of parcel 1's south-west vertex (the first
# point of its exterior ring, which grid_csv writes at the south-west),
# read from the survey file with OGR, in its survey CRS.
corner() {
    ogr2ogr -q -f CSV /vsistdout/ "$1" -dialect SQLite \
        -sql "SELECT ST_X(ST_PointN(ST_ExteriorRing(geom), 1)) AS e,
                     ST_Y(ST_PointN(ST_ExteriorRing(geom), 1)) AS n, LoaiDat
              FROM parcels WHERE SoThua = '1'" |
        tail -n +2 | tr -d '"' | tr ',' ' '
}

# getmap_rgb EPSG BBOX NAME: the GetMap (1.3.0, PNG, opaque white) as
# NAME.tif with RGB bands (GDAL expands the 8-bit palette).
getmap_rgb() {
    get "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=parcels&STYLES=&CRS=EPSG:$1&BBOX=$2&WIDTH=$SIZE&HEIGHT=$SIZE&FORMAT=image/png&TRANSPARENT=FALSE&BGCOLOR=0xFFFFFF"
    check "EPSG:$1 GetMap: a PNG" "$STATUS $(header Content-Type)" "200 image/png"
    cp "$WORK/body" "$3.png"
    if gdalinfo "$3.png" 2>/dev/null | grep -q 'Color Table'; then
        gdal_translate -q -expand rgb "$3.png" "$3.tif"
    else
        gdal_translate -q -b 1 -b 2 -b 3 "$3.png" "$3.tif"
    fi
}

# px TIF COL ROW: "R G B" of a pixel.
px() {
    gdallocationinfo -valonly "$1" "$2" "$3" 2>/dev/null | head -3 | tr '\n' ' ' | sed 's/ *$//'
}

# edges EPSG GPKG: the pixel-aligned test of one zone.
edges() {
    local epsg=$1 e n lu x0 y0 x1 y1 fill
    read -r e n lu < <(corner "$2")
    [ -n "$lu" ] || { fail "EPSG:$epsg: parcel 1's corner not read from $2"; return; }
    fill=$(landuse_rgb "$lu")
    # The corner at pixel corner (K, SIZE - K): K pixels east of the west
    # edge, K pixels north of the south edge.
    x0=$(awk -v e="$e" -v r="$RES" -v k="$K" 'BEGIN { printf "%.3f", e - k * r }')
    y0=$(awk -v n="$n" -v r="$RES" -v k="$K" 'BEGIN { printf "%.3f", n - k * r }')
    x1=$(awk -v x="$x0" -v r="$RES" -v s="$SIZE" 'BEGIN { printf "%.3f", x + s * r }')
    y1=$(awk -v y="$y0" -v r="$RES" -v s="$SIZE" 'BEGIN { printf "%.3f", y + s * r }')
    getmap_rgb "$epsg" "$x0,$y0,$x1,$y1" "z$epsg"
    # Parcels are 20 m (8 px) squares: a row and a column through the
    # middle of parcel 1 (4 px in), and the pixels either side of its edges.
    local row=$((SIZE - K - 4)) col=$((K + 4))
    check "EPSG:$epsg: west edge, the pixel inside is the $lu fill" "$(px "z$epsg.tif" "$K" "$row")" "$fill"
    check "EPSG:$epsg: west edge, the pixel outside is background" "$(px "z$epsg.tif" $((K - 1)) "$row")" "$BG"
    check "EPSG:$epsg: south edge, the pixel inside is the $lu fill" "$(px "z$epsg.tif" "$col" $((SIZE - K - 1)))" "$fill"
    check "EPSG:$epsg: south edge, the pixel outside is background" "$(px "z$epsg.tif" "$col" $((SIZE - K)))" "$BG"
    check "EPSG:$epsg: the corner pixel inside is the fill" "$(px "z$epsg.tif" "$K" $((SIZE - K - 1)))" "$fill"
    check "EPSG:$epsg: the pixel diagonally outside the corner is background" \
        "$(px "z$epsg.tif" $((K - 1)) $((SIZE - K)))" "$BG"
}

# other EPSG GPKG SRC: parcel 1 of a commune surveyed in another zone
# (SRC), in a map in EPSG: its centre (OGR in the survey file, cs2cs to
# EPSG, both zones VN-2000) shows its fill.
other() {
    local epsg=$1 e n lu
    read -r e n lu < <(ogr2ogr -q -f CSV /vsistdout/ "$2" -dialect SQLite \
        -sql "SELECT ST_X(ST_Centroid(geom)) AS e, ST_Y(ST_Centroid(geom)) AS n, LoaiDat
              FROM parcels WHERE SoThua = '1'" | tail -n +2 | tr -d '"' | tr ',' ' ')
    [ -n "$lu" ] || { fail "EPSG:$epsg: parcel 1's centre not read from $2"; return; }
    read -r e n < <(echo "$e $n" | cs2cs -f "%.3f" "EPSG:$3" "EPSG:$epsg" | awk '{ print $1, $2 }')
    local b
    b=$(awk -v e="$e" -v n="$n" -v r="$RES" -v s="$SIZE" \
        'BEGIN { h = s * r / 2; printf "%.3f,%.3f,%.3f,%.3f", e - h, n - h, e + h, n + h }')
    getmap_rgb "$epsg" "$b" "o$epsg"
    check "EPSG:$epsg: the other zone's parcel (through PROJ) shows its $lu fill at its centre" \
        "$(px "o$epsg.tif" $((SIZE / 2)) $((SIZE / 2)))" "$(landuse_rgb "$lu")"
}

edges 9208 pt.gpkg
edges 5897 vp.gpkg
other 9208 vp.gpkg 5897
other 5897 pt.gpkg 9208

stop_server
finish
