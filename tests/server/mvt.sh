#!/usr/bin/env bash
# Vector tiles (issue 18), one case per CTest test (mvt.sh CASE), on a store
# of the bundled sample (samples/phu-tho-sample: communes 07900 and 08773):
#   tiles           every tile of commune 07900 at z10-z18 (at most 200 a
#                   zoom, a fixed-seed sample past that) fetched gzipped,
#                   decoded by GDAL's MVT driver (ogrinfo) and by the JS
#                   decoder path (tests/js/mvt-check.js: a strict reader and
#                   @mapbox/vector-tile's loadGeometry, winding and area of
#                   every ring); at z16+ every parcel the store has in the
#                   tile is in it, and none it has not around it
#   fixtures        @mapbox/mvt-fixtures through the same decoder path
#   tilejson_style  /tiles.mvt.json against the TileJSON 3.0.0 schema,
#                   /styles/landuse.json with maplibre-gl-style-spec's
#                   validator, the same colours as the PNG style
#   http            owner names in no tile (with a token too), gzip and
#                   identity answers, ETag and 304, a tile that changes
#                   after its commune is imported again, another that does not
#   cli             parceldb render --format mvt and -o FILE.mvt: the
#                   server's bytes; the size cap thins z14, never z16
#   synth           ten pdb-synth communes: z10-z14 (overviews) and z16,
#                   GDAL without a word, the JS decoder path
#   seed            parceldb seed --format mvt fills the disk cache the
#                   server then answers from
source "$(dirname "$0")/lib.sh"
# lib.sh sends GDAL's messages to CPL_LOG=/dev/null; the ogrinfo checks
# below unset it, for GDAL's errors are what they look for.

CASE=${1:?usage: mvt.sh CASE}
: "${PDB_JS_DIR:?PDB_JS_DIR must name where tests/js/setup.sh installed the JS clients}"
export NODE_PATH=$PDB_JS_DIR/node_modules
CHECK_JS=$PDB_SOURCE_DIR/tests/js/mvt-check.js
PYTHON=/usr/bin/python3 # Debian's, where python3-jsonschema is
SAMPLE=$PDB_SOURCE_DIR/samples/phu-tho-sample

[ -f "$NODE_PATH/@mapbox/vector-tile/package.json" ] ||
    { fail "the JS clients are not installed in $PDB_JS_DIR (the mvt_js_setup test installs them)"; finish; exit; }

# sample_store: the two sample communes imported (DB).
sample_store() {
    new_db || return 1
    "$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; return 1; }
    "$PARCELDB" import --quiet --db "$DB" "$SAMPLE"/07900.shp "$SAMPLE"/08773.shp >import.log 2>&1 ||
        { fail "parceldb import: $(tail -3 import.log)"; return 1; }
}

# commune_bbox CODE: "minlon minlat maxlon maxlat" from /communes.
commune_bbox() {
    curl -s --max-time 20 "$BASE/communes" | "$PYTHON" -c '
import json, sys
for c in json.load(sys.stdin)["communes"]:
    if c["code"] == sys.argv[1]:
        print(*c["bbox"])' "$1"
}

# tiles_of BBOX Z MAX SEED: "z x y" of every tile meeting the box, or MAX
# of them drawn with a fixed seed when there are more.
tiles_of() {
    "$PYTHON" - "$@" <<'EOF'
import math, random, sys
x0, y0, x1, y1 = map(float, sys.argv[1].split())
z, cap, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
n = 2 ** z
def tx(lon): return int((lon + 180) / 360 * n)
def ty(lat):
    r = math.radians(lat)
    return int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n)
tiles = [(z, x, y) for x in range(tx(x0), tx(x1) + 1) for y in range(ty(y1), ty(y0) + 1)]
if len(tiles) > cap:
    tiles = sorted(random.Random(seed).sample(tiles, cap))
for t in tiles:
    print(*t)
EOF
}

# center_tile BBOX Z: "z x y" of the tile at the box's middle.
center_tile() {
    tiles_of "$(awk -v z="$2" '{ x = ($1 + $3) / 2; y = ($2 + $4) / 2; print x, y, x, y }' <<<"$1")" "$2" 1 1
}

# fetch_tiles LIST DIR [curl options]: each "z x y" of LIST saved as
# DIR/z-x-y.mvt, gzip asked for and decoded by curl; "z x y status" lines
# in DIR/status.
fetch_tiles() {
    local list=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    awk -v b="$BASE" -v d="$dir" '{ printf "url = \"%s/tiles/%s/%s/%s.mvt\"\noutput = \"%s/%s-%s-%s.mvt\"\n", b, $1, $2, $3, d, $1, $2, $3 }' \
        "$list" >"$dir/curl.cfg"
    curl -s --compressed -H 'Accept-Encoding: gzip' --max-time 60 -Z --parallel-max 4 \
        -w '%{url_effective} %{http_code} %{content_type}\n' "$@" --config "$dir/curl.cfg" >"$dir/status" 2>"$dir/curl.err"
}

case $CASE in
tiles)
    sample_store || { finish; exit; }
    start_server || { finish; exit; }
    BBOX=$(commune_bbox 07900)
    [ -n "$BBOX" ] || { fail "no bbox for 07900 in /communes"; finish; exit; }
    : >all.txt
    for z in $(seq 10 18); do
        tiles_of "$BBOX" "$z" 200 18 >"z$z.txt"
        cat "z$z.txt" >>all.txt
        echo "zoom $z: $(wc -l <"z$z.txt") tiles"
    done
    fetch_tiles all.txt t
    check "every tile answered 200 as application/vnd.mapbox-vector-tile" \
        "$(awk '$2 != 200 || $3 != "application/vnd.mapbox-vector-tile"' t/status | head -3)" ""
    N=$(ls t/*.mvt | wc -l)
    check "tiles saved" "$N" "$(wc -l <all.txt)"

    # GDAL's MVT driver reads every feature of every tile.
    bad=0
    for f in t/*.mvt; do
        [ -s "$f" ] || continue # an empty tile is a valid tile of nothing
        if ! out=$(env -u CPL_LOG ogrinfo -ro -al -q "$f" 2>&1 >/dev/null) || [ -n "$out" ]; then
            bad=$((bad + 1))
            [ "$bad" -le 3 ] && fail "ogrinfo $f: $out"
        fi
    done
    check "GDAL's MVT driver reads all $N tiles" "$bad" 0
    NONEMPTY=$(find t -name '*.mvt' -size +0 | wc -l)
    if [ "$NONEMPTY" -ge 50 ]; then ok "$NONEMPTY tiles hold features"; else fail "only $NONEMPTY tiles hold features"; fi

    # The JS decoder path: strict reader, then loadGeometry and the signed
    # area of every ring.
    if node "$CHECK_JS" tiles t/*.mvt >decoded.jsonl 2>decode.err; then
        ok "@mapbox/vector-tile decodes all $N tiles: winding right, no ring of zero area"
    else
        fail "the JS decoder refused a tile: $(tail -1 decoded.jsonl) $(head -c 300 decode.err)"
    fi
    RINGS=$(awk -F'"rings":' '{ split($2, a, ","); s += a[1] } END { print s + 0 }' decoded.jsonl)
    if [ "$RINGS" -ge 1000 ]; then ok "$RINGS parcel rings checked"; else fail "only $RINGS rings checked"; fi

    # z16 and deeper: the parcels of the tile, from the store through
    # /parcels?bbox (exact intersection), are all in the tile; the tile
    # holds none the store has not within its 64/4096 buffer.
    "$PYTHON" - "$BASE" decoded.jsonl >counts.txt <<'EOF'
import json, math, sys, urllib.request
base, path = sys.argv[1], sys.argv[2]
def lon(x, z): return x / 2 ** z * 360 - 180
def lat(y, z): return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2 ** z))))
def ids(box):
    url = "%s/parcels?bbox=%.9f,%.9f,%.9f,%.9f&limit=100000" % ((base,) + box)
    with urllib.request.urlopen(url, timeout=30) as r:
        doc = json.load(r)
    return {f["properties"]["id"] if "id" in f["properties"] else f["id"] for f in doc["features"]}
checked = missing = extra = 0
for line in open(path):
    t = json.loads(line)
    z, x, y = map(int, t["file"].split("/")[-1][:-4].split("-"))
    if z < 16:
        continue
    b = 64 / 4096
    inner = ids((lon(x, z), lat(y + 1, z), lon(x + 1, z), lat(y, z)))
    outer = ids((lon(x - b, z), lat(y + 1 + b, z), lon(x + 1 + b, z), lat(y - b, z)))
    got = set(t["ids"])
    if len(got) != t["parcels"]:
        print("FAIL %d/%d/%d: %d parcels but %d ids" % (z, x, y, t["parcels"], len(got)))
    checked += 1
    if inner - got:
        missing += 1
        print("FAIL %d/%d/%d: store parcels missing from the tile: %s" % (z, x, y, sorted(inner - got)[:10]))
    if got - outer:
        extra += 1
        print("FAIL %d/%d/%d: parcels the store has not there: %s" % (z, x, y, sorted(got - outer)[:10]))
    print("tile %d/%d/%d: store %d in the tile, %d with the buffer; the tile %d" % (z, x, y, len(inner), len(outer), len(got)))
print("checked %d missing %d extra %d" % (checked, missing, extra))
EOF
    grep '^FAIL' counts.txt | head -5 >&2
    contains "z16-z18: every store parcel of each tile is in it, none from elsewhere" \
        "$(tail -1 counts.txt)" '^checked [1-9][0-9]* missing 0 extra 0$'
    stop_server
    ;;

fixtures)
    out=$(node "$CHECK_JS" fixtures 2>&1)
    rc=$?
    echo "$out"
    check "mvt-fixtures: valid ones decode, invalid ones are refused" "$rc" 0
    contains "mvt-fixtures: dozens of each" "$(tail -1 <<<"$out")" \
        '^fixtures: [4-9][0-9] valid decoded, [2-9][0-9] invalid refused, 0 wrong$'
    # The path refuses what it must: a polygon wound as a hole, and one of
    # zero area, in tiles written here with pbf.
    node -e '
const Pbf = require("pbf"), fs = require("fs");
const { decode } = require(process.argv[1]);
// A hand-made tile: one polygon, wound counter-clockwise (y down).
function tile(ring) {
    const p = new Pbf();
    p.writeMessage(3, (_, pb) => {
        pb.writeVarintField(15, 2);
        pb.writeStringField(1, "parcels");
        pb.writeMessage(2, (_, f) => {
            f.writeVarintField(3, 3);
            const z = (v) => (v << 1) ^ (v >> 31);
            const g = [9, z(ring[0][0]), z(ring[0][1]), ((ring.length - 1) << 3) | 2];
            for (let i = 1; i < ring.length; i++) g.push(z(ring[i][0] - ring[i - 1][0]), z(ring[i][1] - ring[i - 1][1]));
            g.push(15);
            f.writePackedVarint(4, g);
        });
        pb.writeVarintField(5, 4096);
    });
    return p.finish();
}
const cw = [[0, 0], [10, 0], [10, 10]], ccw = [[0, 0], [10, 10], [10, 0]], flat = [[0, 0], [5, 5], [10, 10]];
decode(tile(cw));
for (const [name, r] of [["counter-clockwise", ccw], ["zero area", flat]]) {
    let refused = false;
    try { decode(tile(r)); } catch (e) { refused = true; }
    if (!refused) { console.log("accepted a " + name + " exterior"); process.exit(1); }
}
console.log("refused");' "$CHECK_JS" >wrong.txt 2>&1
    check "the decoder path refuses a wrong winding and a zero-area ring" "$(cat wrong.txt)" refused
    ;;

tilejson_style)
    sample_store || { finish; exit; }
    start_server || { finish; exit; }
    get /tiles.mvt.json
    check "tiles.mvt.json: 200" "$STATUS" 200
    cp "$WORK/body" tilejson.json
    out=$("$PYTHON" - "$PDB_SOURCE_DIR/tests/schemas/tilejson/3.0.0/schema.json" tilejson.json <<'EOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
doc = json.load(open(sys.argv[2]))
errs = ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in cls(schema).iter_errors(doc)]
print("; ".join(errs) or "valid")
EOF
)
    check "tiles.mvt.json validates against TileJSON 3.0.0" "$out" valid
    LAYERS=$("$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%s" % (l["id"], ",".join(sorted(l["fields"]))) for l in d["vector_layers"]), d["tiles"][0].endswith(".mvt"))' tilejson.json)
    check "vector_layers and their fields" "$LAYERS" \
        "parcels:area,commune,id,landuse,landuse_main,parcel,sheet communes:code,name labels:id,parcel True"
    lacks "no owner field in the TileJSON" "$(cat tilejson.json)" 'owner|TenChu'

    get /styles/landuse.json
    check "styles/landuse.json: 200" "$STATUS" 200
    cp "$WORK/body" style.json
    out=$("$NODE_PATH/.bin/gl-style-validate" style.json 2>&1)
    rc=$?
    check "the MapLibre style validates with gl-style-validate${out:+: $out}" "$rc" 0
    # The validator can fail: a layer of an unknown type is refused.
    sed 's/"type": "fill"/"type": "filll"/' style.json >broken.json
    "$NODE_PATH/.bin/gl-style-validate" broken.json >/dev/null 2>&1
    check "gl-style-validate refuses a broken style" "$?" 1
    # The same colours as the PNG style, for the same codes.
    same=$("$PYTHON" - "$PDB_SOURCE_DIR/styles/landuse.json" style.json "$BASE/tiles.mvt.json" <<'EOF'
import json, sys
png, ml, url = (json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3])
fill = lambda s: [l for l in s["layers"] if l["type"] == "fill"][0]["paint"]["fill-color"]
src = list(ml["sources"].values())
ok = fill(png) == fill(ml) and len(src) == 1 and src[0] == {"type": "vector", "url": url}
# Labels read the labels layer, with the server's glyphs. Zooms one less
# (MapLibre's are of 512 px tiles).
labels = [l["source-layer"] for l in ml["layers"] if l["type"] == "symbol" and l["id"] == "parcel-label"]
glyphs = ml.get("glyphs") == url.replace("/tiles.mvt.json", "/fonts/{fontstack}/{range}.pbf")
zooms = {l["id"]: (l.get("minzoom"), l.get("maxzoom")) for l in png["layers"]}
shifted = all((l.get("minzoom"), l.get("maxzoom")) == tuple(None if z is None else max(z - 1, 0) for z in zooms[l["id"]])
              for l in ml["layers"])
print(ok and labels == ["labels"] and glyphs and shifted and len(fill(png)) > 100)
EOF
)
    check "the style's fill colours are the PNG style's, its source the vector TileJSON, labels with the server's glyphs, zooms one less" "$same" True
    stop_server
    ;;

http)
    sample_store || { finish; exit; }
    TOKEN=officer-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s front-desk\n' "$TOKEN" >tokens
    start_server --tokens tokens || { finish; exit; }
    BBOX=$(commune_bbox 07900)
    tiles_of "$BBOX" 16 40 7 >z16.txt
    tiles_of "$BBOX" 18 40 7 >z18.txt
    cat z16.txt z18.txt >some.txt
    fetch_tiles some.txt plain
    fetch_tiles some.txt token -H "Authorization: Bearer $TOKEN"
    check "the same tiles with a token" "$(diff -r -q -x status -x curl.cfg -x curl.err plain token)" ""
    # No owner name of the sample anywhere in a tile's bytes.
    ogrinfo -ro -q -sql 'SELECT DISTINCT TenChu FROM "07900"' "$SAMPLE/07900.shp" |
        sed -n 's/^ *TenChu (String) = //p' | sort -u >owners.txt
    NOWN=$(wc -l <owners.txt)
    if [ "$NOWN" -ge 100 ]; then ok "$NOWN owner names in the sample"; else fail "only $NOWN owner names read"; fi
    found=$(cat plain/*.mvt token/*.mvt | LC_ALL=C grep -a -o -F -f owners.txt | head -3)
    check "no owner name in any tile, with a token or not" "$found" ""

    T=$(center_tile "$BBOX" 16 | awk '{ printf "/tiles/%s/%s/%s.mvt", $1, $2, $3 }')
    get "$T" -H 'Accept-Encoding: gzip'
    check "gzip: 200" "$STATUS" 200
    check "gzip: Content-Encoding" "$(header Content-Encoding)" gzip
    check "gzip: Vary" "$(header Vary)" Accept-Encoding
    check "gzip: Content-Type" "$(header Content-Type)" application/vnd.mapbox-vector-tile
    ETAG_GZ=$(header ETag)
    gzip -dc "$WORK/body" >gz.mvt 2>gz.err
    check "the gzip answer decodes" "$?" 0
    get "$T"
    check "identity: no Content-Encoding" "$(header Content-Encoding)" ""
    cp "$WORK/body" id.mvt
    check "identity: the same tile as gzip's" "$(cmp -s gz.mvt id.mvt && echo same)" same
    if [ -s id.mvt ]; then ok "the tile is not empty ($(wc -c <id.mvt) bytes)"; else fail "an empty tile"; fi
    ETAG_ID=$(header ETag)
    check "two encodings, two ETags" "$([ "$ETAG_ID" != "$ETAG_GZ" ] && echo differ)" differ
    get "$T" -H 'Accept-Encoding: gzip' -H "If-None-Match: $ETAG_GZ"
    check "If-None-Match: 304" "$STATUS" 304
    get "$T" -H "If-None-Match: $ETAG_ID"
    check "If-None-Match (identity): 304" "$STATUS" 304
    get "$T" -H 'Accept-Encoding: gzip;q=0' -H "If-None-Match: $ETAG_GZ"
    check "gzip;q=0: the identity tag does not match the gzip one: 200" "$STATUS" 200
    check "gzip;q=0: not compressed" "$(header Content-Encoding)" ""
    get "$(head -1 z16.txt | awk '{ printf "/tiles/%s/%s/%s@2x.mvt", $1, $2, $3 }')"
    check "@2x.mvt: 400" "$STATUS" 400
    get "$(head -1 z16.txt | awk '{ printf "/tiles/%s/%s/%s.png", $1, $2, $3 }')"
    check "the PNG tile still: 200" "$STATUS" 200
    check "the PNG tile still: image/png" "$(header Content-Type)" image/png
    # A tile of the other commune, far away, must not change.
    T2=$(center_tile "$(commune_bbox 08773)" 16 | awk '{ printf "/tiles/%s/%s/%s.mvt", $1, $2, $3 }')
    get "$T2" -H 'Accept-Encoding: gzip'
    ETAG_B=$(header ETag)
    RENDERED0=$(metric parceldb_tiles_rendered_total)

    # 07900 imported again with every land use 'ODT': the tile changes.
    ogr2ogr -q -f "ESRI Shapefile" -lco ENCODING=UTF-8 07900.shp "$SAMPLE/07900.shp" -sql \
        "SELECT MaXa, MaXaCu, SoHieuToBa, SoThuTuThu, DienTich, 'ODT' AS KyHieuMucD, TenChu, DiaChi FROM \"07900\"" \
        2>ogr.err
    check "07900 rewritten with land use ODT by ogr2ogr" "$(cat ogr.err)" ""
    "$PARCELDB" import --quiet --db "$DB" 07900.shp >import2.log 2>&1
    check "re-import of 07900" "$?" 0
    wait_seen "$("$PARCELDB" info --db "$DB" | sed -n 's/^data version: *//p')"
    get "$T" -H "If-None-Match: $ETAG_ID"
    check "after the import: the old ETag no longer matches" "$STATUS" 200
    cp "$WORK/body" after.mvt
    check "after the import: other bytes" "$(cmp -s after.mvt id.mvt && echo same || echo changed)" changed
    node "$CHECK_JS" tiles after.mvt >/dev/null
    check "after the import: the tile decodes" "$?" 0
    check "after the import: every land use in the tile is ODT" \
        "$(ogrinfo -ro -q -al after.mvt parcels | sed -n 's/^ *landuse (String) = //p' | sort -u)" ODT
    get "$T2" -H 'Accept-Encoding: gzip' -H "If-None-Match: $ETAG_B"
    check "the other commune's tile: still 304" "$STATUS" 304
    if [ "$(metric parceldb_tiles_rendered_total)" -gt "$RENDERED0" ]; then
        ok "vector tiles count in parceldb_tiles_rendered_total"
    else fail "parceldb_tiles_rendered_total did not move"; fi
    stop_server
    ;;

cli)
    sample_store || { finish; exit; }
    start_server || { finish; exit; }
    BBOX=$(commune_bbox 07900)
    T=$(center_tile "$BBOX" 17)
    read -r z x y <<<"$T"
    "$PARCELDB" render --db "$DB" "$z/$x/$y" -o cli.mvt
    check "render -o FILE.mvt" "$?" 0
    "$PARCELDB" render --db "$DB" --format mvt "$z/$x/$y" -o cli2.bin
    check "render --format mvt" "$?" 0
    get "/tiles/$z/$x/$y.mvt"
    check "render -o FILE.mvt writes the server's tile" "$(cmp -s cli.mvt "$WORK/body" && echo same)" same
    check "render --format mvt, the same" "$(cmp -s cli.mvt cli2.bin && echo same)" same
    printf '%s %s %s\n' "$z" "$x" "$y" >list.txt
    out=$("$PARCELDB" render --db "$DB" --format mvt --tiles list.txt --out dir 2>&1)
    contains "render --tiles --format mvt: a summary" "$out" 'tiles/s, mean MVT'
    check "render --tiles: DIR/z/x/y.mvt" "$(cmp -s "dir/$z/$x/$y.mvt" cli.mvt && echo same)" same
    # The size cap: below z16 the smallest shapes go until the tile fits;
    # from z16 nothing goes, whatever the cap.
    read -r z14 x14 y14 <<<"$(center_tile "$BBOX" 14)"
    "$PARCELDB" render --db "$DB" "$z14/$x14/$y14" -o full14.mvt
    "$PARCELDB" render --db "$DB" --max-bytes 3000 "$z14/$x14/$y14" -o cap14.mvt
    check "render --max-bytes: exit 0" "$?" 0
    FULL=$(wc -c <full14.mvt)
    CAP=$(wc -c <cap14.mvt)
    if [ "$FULL" -gt 3000 ] && [ "$CAP" -le 3000 ] && [ "$CAP" -gt 0 ]; then
        ok "z14 thinned under the cap: $FULL -> $CAP bytes"
    else fail "z14 under a 3000-byte cap: $FULL -> $CAP bytes"; fi
    node "$CHECK_JS" tiles full14.mvt cap14.mvt >cap14.jsonl
    check "the thinned tile decodes" "$?" 0
    KEPT=$("$PYTHON" -c '
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
print(0 < b["parcels"] < a["parcels"])' cap14.jsonl)
    check "the thinned tile keeps some shapes, not all" "$KEPT" True
    # The kept ones are the largest: every dropped area is at most the
    # smallest kept one (GDAL reads the areas).
    LARGEST=$(for f in full14 cap14; do
        ogrinfo -ro -q -al "$f.mvt" parcels | sed -n 's/^ *area (Real) = //p' | sort -g >"$f.areas"
    done
    "$PYTHON" -c '
import sys
full = [float(x) for x in open(sys.argv[1])]
kept = [float(x) for x in open(sys.argv[2])]
dropped = list(full)
for k in kept:
    dropped.remove(k)
print(not dropped or max(dropped) <= min(kept))' full14.areas cap14.areas)
    check "thinning dropped the smallest shapes" "$LARGEST" True
    read -r z16 x16 y16 <<<"$(center_tile "$BBOX" 16)"
    "$PARCELDB" render --db "$DB" "$z16/$x16/$y16" -o full16.mvt
    "$PARCELDB" render --db "$DB" --max-bytes 1000 "$z16/$x16/$y16" -o cap16.mvt
    check "z16: no parcel dropped under any cap" "$(cmp -s full16.mvt cap16.mvt && echo same)" same
    out=$("$PARCELDB" render --db "$DB" --format svg "$z/$x/$y" -o x.svg 2>&1)
    check "render --format svg: usage error" "$?" 2
    contains "render --format svg: one line saying why" "$out" "format must be png or mvt"
    stop_server
    ;;

synth)
    # Ten synthetic communes of pdb-synth (52,680 parcels): their land-use
    # overviews at z10-z14 have narrow necks that rounding to the grid
    # made cross themselves, which GDAL refuses ("Self-intersection"):
    # every tile at z10-z14 and 100 at z16 must read without a word.
    SYNTH=$PDB_BINARY_DIR/samples/pdb-synth
    [ -x "$SYNTH" ] || { fail "no $SYNTH (cmake --build BUILD --target pdb-synth)"; finish; exit; }
    "$SYNTH" --out shp --communes 10 --jobs 2 --quiet || { fail "pdb-synth"; finish; exit; }
    new_db && "$PARCELDB" init --db "$DB" >/dev/null &&
        "$PARCELDB" import --quiet --db "$DB" shp/*.shp >import.log 2>&1 ||
        { fail "import of the synthetic communes: $(tail -3 import.log)"; finish; exit; }
    start_server || { finish; exit; }
    curl -s --max-time 20 "$BASE/communes" | "$PYTHON" -c '
import json, sys
for c in json.load(sys.stdin)["communes"]:
    print(*c["bbox"])' >boxes.txt
    check "ten communes" "$(wc -l <boxes.txt)" 10
    : >all.txt
    for z in 10 11 12 13 14 16; do
        while read -r box; do tiles_of "$box" "$z" 100000 1; done <boxes.txt | sort -u >"z$z.txt"
        [ "$z" -lt 16 ] || shuf -n 100 --random-source=<(yes) "z$z.txt" >>all.txt
        [ "$z" -ge 16 ] || cat "z$z.txt" >>all.txt
    done
    fetch_tiles all.txt t
    check "every tile answered 200" "$(awk '$2 != 200' t/status | head -3)" ""
    N=$(ls t/*.mvt | wc -l)
    bad=0
    for f in t/*.mvt; do
        [ -s "$f" ] || continue
        if ! out=$(env -u CPL_LOG ogrinfo -ro -al -q "$f" 2>&1 >/dev/null) || [ -n "$out" ]; then
            bad=$((bad + 1))
            [ "$bad" -le 3 ] && fail "ogrinfo $f: $out"
        fi
    done
    check "GDAL's MVT driver reads all $N tiles without an error" "$bad" 0
    if node "$CHECK_JS" tiles t/*.mvt >decoded.jsonl 2>decode.err; then
        ok "@mapbox/vector-tile decodes all $N tiles: winding right, no ring of zero area"
    else
        fail "the JS decoder refused a tile: $(tail -1 decoded.jsonl) $(head -c 300 decode.err)"
    fi
    stop_server
    ;;

seed)
    sample_store || { finish; exit; }
    start_server || { finish; exit; }
    BOX=$(commune_bbox 07900)
    stop_server
    BBOX=$(awk '{ printf "%s,%s,%s,%s", $1, $2, $3, $4 }' <<<"$BOX")
    OUT=$("$PARCELDB" seed --db "$DB" --cache cache --zoom 15-16 --bbox "$BBOX" --format mvt \
        --no-progress 2>&1)
    check "seed --format mvt: exit 0" "$?" 0
    contains "seed --format mvt: a summary" "$OUT" ': [1-9][0-9]* rendered, 0 already current, 0 failed'
    OUT=$("$PARCELDB" seed --db "$DB" --cache cache --zoom 15-16 --format mvt --scale 2 2>&1)
    check "seed --format mvt --scale 2: usage error" "$?" 2
    start_server --cache cache || { finish; exit; }
    T=$(center_tile "$BOX" 16 | awk '{ printf "/tiles/%s/%s/%s.mvt", $1, $2, $3 }')
    get "$T" -H 'Accept-Encoding: gzip'
    check "a seeded vector tile: 200" "$STATUS" 200
    check "a seeded vector tile: read from the disk cache" "$(metric parceldb_tile_disk_hits_total)" 1
    check "a seeded vector tile: not made again" "$(metric parceldb_tiles_rendered_total)" 0
    gzip -dc "$WORK/body" >seeded.mvt
    ZXY=${T#/tiles/}
    "$PARCELDB" render --db "$DB" "${ZXY%.mvt}" -o made.mvt
    check "the seeded tile is the tile render makes" "$(cmp -s seeded.mvt made.mvt && echo same)" same
    stop_server
    ;;

*)
    fail "unknown case $CASE"
    ;;
esac
finish
