#!/usr/bin/env bash
# GDAL's own WMS driver, in TMS mode, fetches the server's tiles and
# mosaics them into a GeoTIFF (gdal_translate). The pixels show the parcels
# where the survey put them: each parcel has its land-use colour (from the
# style) 4 m inside its south-west corner (its centre carries its number's
# label), the 5 m gaps between parcels and the land outside are
# empty, at the places cs2cs computes from the survey's TM-3 coordinates.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
start_server || exit 1

# tms_xml LEVEL [SCALE]: a <GDAL_WMS> description of the server's tiles.
tms_xml() {
    local suffix=""
    [ "${2:-1}" = 2 ] && suffix="@2x"
    cat <<EOF
<GDAL_WMS>
  <Service name="TMS">
    <ServerUrl>$BASE/tiles/\${z}/\${x}/\${y}$suffix.png</ServerUrl>
  </Service>
  <DataWindow>
    <UpperLeftX>-20037508.34</UpperLeftX>
    <UpperLeftY>20037508.34</UpperLeftY>
    <LowerRightX>20037508.34</LowerRightX>
    <LowerRightY>-20037508.34</LowerRightY>
    <TileLevel>$1</TileLevel>
    <TileCountX>1</TileCountX>
    <TileCountY>1</TileCountY>
    <YOrigin>top</YOrigin>
  </DataWindow>
  <Projection>EPSG:3857</Projection>
  <BlockSizeX>$((256 * ${2:-1}))</BlockSizeX>
  <BlockSizeY>$((256 * ${2:-1}))</BlockSizeY>
  <BandsCount>4</BandsCount>
  <MaxConnections>4</MaxConnections>
  <Timeout>30</Timeout>
</GDAL_WMS>
EOF
}

# The colours of the land uses in the fixture, from the style the server uses.
STYLE="$PDB_SOURCE_DIR/styles/landuse.json"
hex_of() { grep -o "\"$1\", \"#[0-9a-fA-F]\{6\}\"" "$STYLE" | head -1 | grep -o '#[0-9a-fA-F]*'; }
rgb_of() {
    local h
    h=$(hex_of "$1")
    printf '%d %d %d' "0x${h:1:2}" "0x${h:3:2}" "0x${h:5:2}"
}
for lu in ONT LUA CLN BHK; do
    [ -n "$(hex_of $lu)" ] || fail "the style has no colour for $lu"
done

# pixel TIF LON LAT: "R G B A" at a WGS 84 point (gdallocationinfo).
pixel() {
    gdallocationinfo -valonly -wgs84 "$1" "$2" "$3" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'
}

# near "R G B A" "R G B" TOL: opaque and each channel within TOL.
near() {
    awk -v got="$1" -v want="$2" -v tol="$3" 'BEGIN {
        split(got, g, " "); split(want, w, " ")
        ok = (g[4] == 255)
        for (i = 1; i <= 3; i++) if (g[i] - w[i] > tol || w[i] - g[i] > tol) ok = 0
        print ok ? "yes" : "no" }'
}

base_phutho
# The commune's box in WGS 84, with 30 m around it (cs2cs).
read -r W S < <(echo "$((${BX%.*} - 30)) $((${BY%.*} - 30))" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326 |
    awk '{ print $2, $1 }')
read -r E N < <(echo "$((${BX%.*} + 280)) $((${BY%.*} + 130))" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326 |
    awk '{ print $2, $1 }')

for level in 19 18; do
    tms_xml $level >tms$level.xml
    timeout 120 gdal_translate -q -of GTiff -projwin_srs EPSG:4326 -projwin "$W" "$N" "$E" "$S" \
        tms$level.xml mosaic$level.tif 2>gdal.err
    check "z$level: gdal_translate mosaicked the tiles" "$?" 0
    INFO=$(gdalinfo mosaic$level.tif 2>&1)
    contains "z$level: a GeoTIFF in Web Mercator" "$INFO" 'ID\["EPSG",3857\]'
    contains "z$level: four bands (RGBA)" "$INFO" 'Band 4 .*ColorInterp=Alpha'
    for i in 1 2 3 4 13 27 40; do
        parcel_center 9208 $i 4 4
        lu=$(echo "ONT LUA CLN BHK" | awk -v i=$i '{ print $(((i - 1) % 4) + 1) }')
        got=$(pixel mosaic$level.tif "$PLON" "$PLAT")
        check "z$level: parcel $i ($lu) shows its colour (got $got)" \
            "$(near "$got" "$(rgb_of $lu)" 10)" yes
    done
    # The gap between parcels 1 and 2 (x + 22.5 m) and a point 15 m south of
    # the first row: no parcel there.
    for pt in "$(awk -v b="$BX" 'BEGIN { printf "%.3f", b + 22.5 }') $(awk -v b="$BY" 'BEGIN { printf "%.3f", b + 10 }')" \
        "$(awk -v b="$BX" 'BEGIN { printf "%.3f", b + 10 }') $(awk -v b="$BY" 'BEGIN { printf "%.3f", b - 15 }')"; do
        read -r lat lon < <(echo "$pt" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326)
        got=$(pixel mosaic$level.tif "$lon" "$lat")
        check "z$level: no parcel at $pt (got $got)" "$(echo "$got" | awk '{ print ($4 == 0) ? "empty" : "painted" }')" empty
    done
done

# The same through @2x tiles (512 px blocks).
tms_xml 18 2 >tms18x2.xml
timeout 120 gdal_translate -q -of GTiff -projwin_srs EPSG:4326 -projwin "$W" "$N" "$E" "$S" \
    tms18x2.xml mosaic2x.tif 2>gdal.err
check "@2x: gdal_translate" "$?" 0
parcel_center 9208 2 4 4
check "@2x: parcel 2 (LUA) in place" "$(near "$(pixel mosaic2x.tif "$PLON" "$PLAT")" "$(rgb_of LUA)" 10)" yes

TILES=$(grep -c 'GET /tiles/' "$WORK/server.log")
if [ "$TILES" -ge 4 ]; then ok "GDAL fetched $TILES tiles"; else fail "GDAL fetched only $TILES tiles"; fi
stop_server
finish
