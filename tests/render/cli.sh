#!/usr/bin/env bash
# cli.sh: `parceldb render` as a user runs it, on a store made by
# `parceldb init` and `parceldb import` from a survey ogr2ogr wrote; the
# tiles are read back by GDAL (an independent PNG reader).
set -u
: "${PARCELDB:?PARCELDB must name the parceldb command}"
: "${PDB_SOURCE_DIR:?}"
RENDER=${PDB_RENDER:-$PARCELDB}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-render-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
export CPL_LOG=/dev/null
PASSES=0
FAILS=0

ok() { PASSES=$((PASSES + 1)); echo "ok: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }
check() { if [ "$2" = "$3" ]; then ok "$1 ($2)"; else fail "$1: got '$2', want '$3'"; fi; }

# The tile and pixel of a WGS 84 point at zoom z (XYZ, 256 px * scale).
tile_px() { # lon lat z scale -> "x y px py"
    awk -v lon="$1" -v lat="$2" -v z="$3" -v s="$4" 'BEGIN {
        pi = atan2(0, -1); n = 2 ^ z; r = lat * pi / 180
        fx = (lon + 180) / 360 * n
        fy = (1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n
        x = int(fx); y = int(fy)
        printf "%d %d %d %d\n", x, y, int((fx - x) * 256 * s), int((fy - y) * 256 * s) }'
}

# GDAL reads 8-bit palette PNGs as one band with a colour table; expand
# to RGBA before reading pixels.
rgba_png() { # in.png out.tif
    gdal_translate -q -expand rgba "$1" "$2" 2>/dev/null || gdal_translate -q "$1" "$2"
}
rgba_at() { # png px py -> "R G B A"
    rgba_png "$1" "$1.tif" && gdallocationinfo -valonly "$1.tif" "$2" "$3" | xargs
}

# A 200 m LUA parcel and a 40 m ONT parcel in Viet Tri (EPSG:9208).
cat >p.csv <<'EOF'
MaXa,SoHieuToBanDo,SoThuTuThua,KyHieuMucDichSuDung,TenChu,WKT
07900,1,1,LUA,Nguyễn Văn A,"POLYGON ((567400 2358700, 567600 2358700, 567600 2358900, 567400 2358900, 567400 2358700))"
07900,1,77,ONT,Trần Thị B,"POLYGON ((567600 2358820, 567640 2358820, 567640 2358860, 567600 2358860, 567600 2358820))"
EOF
ogr2ogr -q -f GPKG p.gpkg p.csv -nln parcels -a_srs EPSG:9208 -oo GEOM_POSSIBLE_NAMES=WKT \
    -oo KEEP_GEOM_COLUMNS=NO -oo AUTODETECT_TYPE=NO -nlt PROMOTE_TO_MULTI || exit 1
"$PARCELDB" init --db t.sqlite >/dev/null || exit 1
"$PARCELDB" import --quiet --no-overviews --db t.sqlite p.gpkg >/dev/null 2>&1 ||
    { echo "import failed"; exit 1; }
# The middle of the LUA parcel, by PROJ (cs2cs reads EPSG:4326 as lat, lon).
read -r LAT LON _ < <(echo "567450 2358750" | cs2cs -f %.9f EPSG:9208 EPSG:4326)
LUA="255 252 130 255"

# One tile, decoded by GDAL: size, colour at the parcel, four bands.
read -r X Y PX PY < <(tile_px "$LON" "$LAT" 17 1)
if "$RENDER" render --db t.sqlite "17/$X/$Y" -o one.png 2>err.txt; then
    ok "render 17/$X/$Y"
    check "GDAL reads a 256 px PNG" "$(gdalinfo one.png | grep -c 'Size is 256, 256')" 1
    check "LUA colour at the parcel" "$(rgba_at one.png "$PX" "$PY")" "$LUA"
else
    fail "render 17/$X/$Y: $(cat err.txt)"
fi
if command -v pngfix >/dev/null; then
    pngfix one.png >/dev/null 2>&1 && ok "pngfix finds no error" || fail "pngfix: $(pngfix one.png 2>&1)"
fi

# @2x: 512 px, the same colour at the same place.
read -r X Y PX PY < <(tile_px "$LON" "$LAT" 17 2)
"$RENDER" render --db t.sqlite --scale 2 "17/$X/$Y" -o two.png 2>err.txt || fail "@2x: $(cat err.txt)"
check "@2x is 512 px" "$(gdalinfo two.png | grep -c 'Size is 512, 512')" 1
check "@2x LUA colour" "$(rgba_at two.png "$PX" "$PY")" "$LUA"
"$RENDER" render --db t.sqlite "17/$X/$Y@2x" -o two-b.png 2>err.txt || fail "Z/X/Y@2x: $(cat err.txt)"
cmp -s two.png two-b.png && ok "Z/X/Y@2x is --scale 2" || fail "Z/X/Y@2x differs from --scale 2"

# A tile away from the data is fully transparent: alpha at most 0.
read -r X Y PX PY < <(tile_px "$LON" "$LAT" 15 1)
"$RENDER" render --db t.sqlite "15/$((X + 5))/$Y" -o empty.png 2>err.txt || fail "empty: $(cat err.txt)"
rgba_png empty.png empty.tif
check "empty tile's alpha maximum" \
    "$(gdalinfo -stats empty.tif 2>/dev/null | grep -A4 '^Band 4' | grep -o 'Maximum=[0-9.]*' | head -1)" \
    "Maximum=0.000"

# z0 and z20.
"$RENDER" render --db t.sqlite 0/0/0 -o z0.png 2>err.txt && ok "z0 renders" || fail "z0: $(cat err.txt)"
read -r X Y PX PY < <(tile_px "$LON" "$LAT" 20 1)
"$RENDER" render --db t.sqlite "20/$X/$Y" -o z20.png 2>err.txt || fail "z20: $(cat err.txt)"
rgba_png z20.png z20.tif
check "z20 all LUA" "$(gdalinfo -stats z20.tif 2>/dev/null | grep -o 'Minimum=[0-9]*.000, Maximum=[0-9]*' | xargs)" \
    "Minimum=255.000, Maximum=255 Minimum=252.000, Maximum=252 Minimum=130.000, Maximum=130 Minimum=255.000, Maximum=255"
# Many colours with anti-aliased edges: RGB(A), four bands as GDAL reads it.
"$RENDER" render --db t.sqlite --palette never "17/$((X / 8))/$((Y / 8))" -o never.png 2>err.txt ||
    fail "--palette never: $(cat err.txt)"
check "--palette never gives RGBA" "$(gdalinfo never.png | grep -c '^Band ')" 4
read -r X Y PX PY < <(tile_px "$LON" "$LAT" 17 1)
"$RENDER" render --db t.sqlite --antialias best "17/$X/$Y" -o best.png 2>err.txt ||
    fail "--antialias best: $(cat err.txt)"
check "--antialias best: LUA colour" "$(rgba_at best.png "$PX" "$PY")" "$LUA"

# The batch form writes DIR/z/x/y.png and a summary line.
read -r X Y PX PY < <(tile_px "$LON" "$LAT" 16 1)
printf '# a comment\n16 %d %d\n\n12 %d %d\n' "$X" "$Y" $((X / 16)) $((Y / 16)) >tiles.txt
if "$RENDER" render --db t.sqlite --tiles tiles.txt --out out >summary.txt 2>err.txt; then
    check "batch summary" "$(grep -cE '^2 tiles in [0-9.]+ s: [0-9.]+ tiles/s, mean PNG [0-9]+ bytes$' summary.txt)" 1
    check "batch tile z16" "$(gdalinfo "out/16/$X/$Y.png" | grep -c 'Size is 256, 256')" 1
    check "batch tile z12" "$(test -s "out/12/$((X / 16))/$((Y / 16)).png" && echo yes)" yes
else
    fail "batch: $(cat err.txt)"
fi
printf '16 1 2 3\n' >badtiles.txt
"$RENDER" render --db t.sqlite --tiles badtiles.txt --out out2 2>err.txt
check "bad tile line exits 1" $? 1
grep -q "badtiles.txt:1: " err.txt && ok "bad line named" || fail "bad line: $(cat err.txt)"

# Overviews: the import left the commune stale; a rebuild makes them.
out=$("$RENDER" render --db t.sqlite --rebuild-overviews 2>&1)
check "rebuild" "$(echo "$out" | grep -cE '^overviews of 1 commune rebuilt in')" 1
out=$("$RENDER" render --db t.sqlite --rebuild-overviews 2>&1)
check "nothing left to rebuild" "$(echo "$out" | grep -cE '^overviews of 0 communes rebuilt')" 1

# A broken style: one line naming the file, the JSON path and the problem.
sed 's/"#fffc82"/"#fffc8"/' "$PDB_SOURCE_DIR/styles/landuse.json" >broken.json
"$RENDER" render --db t.sqlite --style broken.json 17/0/0 -o x.png 2>err.txt
check "broken style exits 1" $? 1
check "one line on stderr" "$(wc -l <err.txt)" 1
grep -qF "broken.json: layers[0].paint.fill-color[" err.txt && grep -qF "'#fffc8' is not a colour" err.txt &&
    ok "error names file, path and problem: $(cat err.txt)" || fail "broken style: $(cat err.txt)"
printf '{"version": 8, "sources": {"p": {"type": "parceldb"}}, "layers": [{"id": "a", "type": "fill", "source": "p", "source-layer": "parcels", "paint": {"fill-colour": "red"}}]}' >unknown.json
"$RENDER" render --db t.sqlite --style unknown.json 17/0/0 -o x.png 2>err.txt
grep -qF "unknown.json: layers[0].paint.fill-colour: unknown paint property" err.txt &&
    ok "unknown property reported" || fail "unknown property: $(cat err.txt)"
# A label font the font directory lacks, and one whose file is no font:
# one line naming the style, the layer, the font and where it was looked for.
mkdir -p nofonts badfonts && echo "not a font" >badfonts/DejaVuSans.ttf
"$RENDER" render --db t.sqlite --style "$PDB_SOURCE_DIR/styles/landuse.json" --font-dir "$WORK/nofonts" \
    17/0/0 -o x.png 2>err.txt
check "missing font exits 1" $? 1
check "missing font: one line" "$(cat err.txt)" "parceldb: $PDB_SOURCE_DIR/styles/landuse.json: layer \
'parcel-label': font 'DejaVu Sans' not found (looked for $WORK/nofonts/DejaVuSans.ttf)"
"$RENDER" render --db t.sqlite --style "$PDB_SOURCE_DIR/styles/landuse.json" --font-dir badfonts \
    17/0/0 -o x.png 2>err.txt
check "no font exits 1" $? 1
check "no font: one line" "$(cat err.txt)" "parceldb: $PDB_SOURCE_DIR/styles/landuse.json: layer \
'parcel-label': badfonts/DejaVuSans.ttf: not a font FreeType can read"

# Usage errors exit 2 with one line.
for args in "99/0/0 -o x.png" "3/8/0 -o x.png" "1/0/0" "--scale 3 1/0/0 -o x.png" "--tiles tiles.txt" \
    "--antialias some 1/0/0 -o x.png"; do
    # shellcheck disable=SC2086
    "$RENDER" render --db t.sqlite $args 2>err.txt >/dev/null
    rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l <err.txt)" -eq 1 ]; then ok "usage error: $args"; else
        fail "'$args' exited $rc: $(cat err.txt)"
    fi
done
"$RENDER" render --help | grep -q "Z/X/Y -o FILE.png" && ok "--help" || fail "--help"

# No style file anywhere: $PARCELDB_STYLE_DIR an empty directory, and the
# installed and source-tree styles/ hidden by empty ones in a private mount
# namespace. render then draws with the style built into the binary, as
# serve and seed do, and says so in one line on stderr.
EMPTY=$(mktemp -d "$WORK/empty.XXXXXX")
hide="mount --bind '$EMPTY' '$PDB_SOURCE_DIR/styles'"
for d in /usr/local/share/parceldb/styles /usr/share/parceldb/styles; do
    [ -d "$d" ] && hide="$hide && mount --bind '$EMPTY' '$d'"
done
# Root has mount namespaces; anyone else may have them in a user namespace.
userns=()
[ "$(id -u)" -eq 0 ] || userns=(-r)
if ! unshare "${userns[@]}" -m --propagation private \
    sh -c "$hide && ! test -e '$PDB_SOURCE_DIR/styles/landuse.json'"; then
    fail "no mount namespace to hide the styles in (unshare -m${userns[*]:+ with -r})"
else
    # no_style_render Z/X/Y OUT: render with no style file to be found.
    no_style_render() {
        PARCELDB_STYLE_DIR=$EMPTY unshare "${userns[@]}" -m --propagation private \
            sh -c "$hide && exec \"\$0\" \"\$@\"" \
            "$RENDER" render --db t.sqlite "$1" -o "$2" 2>err.txt
    }
    read -r X Y PX PY < <(tile_px "$LON" "$LAT" 17 1)
    no_style_render "17/$X/$Y" builtin.png
    check "no style file: render exits 0" $? 0
    check "no style file: one line on stderr" "$(wc -l <err.txt)" 1
    if grep -q "no style file found: using the built-in default style" err.txt; then
        ok "no style file: said on stderr"
    else fail "no style file: stderr: $(cat err.txt)"; fi
    check "built-in style: GDAL reads a 256 px PNG" \
        "$(gdalinfo builtin.png 2>/dev/null | grep -c 'Size is 256, 256')" 1
    check "built-in style: LUA colour (#fffc82)" "$(rgba_at builtin.png "$PX" "$PY")" "$LUA"
    # The middle of the ONT parcel, in its own tile.
    read -r OLAT OLON _ < <(echo "567620 2358840" | cs2cs -f %.9f EPSG:9208 EPSG:4326)
    read -r X Y PX PY < <(tile_px "$OLON" "$OLAT" 17 1)
    no_style_render "17/$X/$Y" builtin-ont.png
    check "built-in style: ONT colour (#ffd0ff)" "$(rgba_at builtin-ont.png "$PX" "$PY")" \
        "255 208 255 255"
fi

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
