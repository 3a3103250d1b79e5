#!/usr/bin/env bash
# PMTiles archives (issue 18): `parceldb export --format pmtiles` of the
# bundled sample, read back by the `pmtiles` npm package and served by
# `parceldb serve --pmtiles`, tile for tile against what `parceldb serve`
# renders from the store. One case per run:
#   roundtrip  every tile read by the library == the store server's ==
#              serve --pmtiles's; the header read with python's struct
#   mvt        the same for vector tiles (--tiles mvt): gzip bytes and
#              inflated ones, and the vector_layers
#   runlength  a box of mostly empty tiles: fewer entries than tiles, and
#              leaf directories (--leaf-entries) read back the same
#   bad_input  one-line errors and nothing left behind
#   nginx      nginx serving the file with range requests, read by the
#              library's FetchSource (what a page does with no parceldb)
source "$(dirname "$0")/../server/lib.sh"

CASE=${1:?usage: pmtiles.sh roundtrip|mvt|runlength|bad_input|nginx}
NPM=${PDB_PMTILES_NPM:-}
if [ "$CASE" != bad_input ]; then
    if [ -z "$NPM" ] || [ ! -f "$NPM/node_modules/pmtiles/package.json" ]; then
        fail "the pmtiles npm package is not installed in '${NPM:-PDB_PMTILES_NPM unset}' (the build runs npm ci in tests/js/pmtiles; is npm installed and the registry reachable?)"
        exit 1
    fi
    # ES modules resolve packages from the script's own directory.
    cp "$PDB_SOURCE_DIR/tests/pmtiles/read.mjs" "$WORK/read.mjs"
    ln -s "$NPM/node_modules" "$WORK/node_modules"
fi

# The bundled sample, imported.
new_db || exit 1
"$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; exit 1; }
"$PARCELDB" import --quiet --db "$DB" "$PDB_SOURCE_DIR/samples/phu-tho-sample/" >import.log 2>&1 ||
    { fail "parceldb import: $(tail -3 import.log)"; exit 1; }

# export_ok NAME ARGS...: exports, expecting success.
export_ok() {
    local name=$1
    shift
    OUT=$("$PARCELDB" export --db "$DB" --format pmtiles "$@" 2>&1)
    check "$name: exit 0" "$?" 0
}

# fetch_all BASE LIST DIR [HEADER]: GETs every z/x/y.png (or .mvt) of LIST
# from BASE into DIR with one curl (a config file of url/output pairs),
# with HEADER on each request when given; sets CODES to the distinct status
# codes with their counts.
fetch_all() {
    local base=$1 list=$2 dir=$3 hdr=${4:-}
    # A header in a curl config holds for every URL: once, at the top.
    awk -v b="$base" -v d="$dir" -v h="$hdr" 'NR == 1 && h != "" {print "header = \"" h "\""}
        {print "url = \"" b "/tiles/" $0 "\"\noutput = \"" d "/" $0 "\""}' "$list" >"$dir.cfg"
    CODES=$(curl -sS --max-time 120 --create-dirs -K "$dir.cfg" -w '%{http_code}\n' 2>"$dir.err" |
        sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
}

# read_js SOURCE DIR: the pmtiles library reads the archive; JS has its line.
read_js() {
    node "$WORK/read.mjs" "$1" "$2" >"$2.json" 2>"$2.err"
    check "pmtiles library reads $1: exit 0" "$?" 0
    JS=$(cat "$2.json")
    (cd "$2" && find . -name '*.png' -o -name '*.mvt' | sed 's|^\./||' | sort) >"$2.list"
}

# js_field NAME: a number of the library's header.
js_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['header'][sys.argv[2]])" "$1" "$2"; }

case $CASE in
roundtrip)
    export_ok "export z10-16" --zoom 10-16 -o sample.pmtiles --progress
    contains "export: a progress bar" "$OUT" 'export \[#+\] 100\.0%'
    contains "export: a summary" "$OUT" 'parceldb export: sample\.pmtiles: [0-9]+ tiles, z10-16, [0-9]+ directory entries'
    check "export: no temporary file left" "$(ls sample.pmtiles.tmp* 2>/dev/null | wc -l)" 0
    TILES=$(grep -oE 'pmtiles: [0-9]+ tiles' <<<"$OUT" | grep -oE '[0-9]+')

    read_js sample.pmtiles js
    check "library: every tile the export wrote" "$(python3 -c "import json,sys; print(json.load(open('js.json'))['tiles'])")" "$TILES"
    check "library: the spec's tile id of 12/3423/1763" \
        "$(python3 -c "import json; print(json.load(open('js.json'))['ids']['12/3423/1763'])")" 19078479
    contains "library: metadata name and attribution" "$JS" '"metadata":\{[^}]*"attribution":"parceldb"[^}]*"name":"'
    for z in 10 16; do
        contains "library: tiles at z$z" "$JS" "\"$z\":[1-9]"
    done

    # (a) the store server's tiles, byte for byte.
    start_server || exit 1
    STORE_PID=$SERVER_PID
    STORE_BASE=$BASE
    get /tiles.json
    STORE_TILEJSON=$BODY
    fetch_all "$STORE_BASE" js.list store
    check "store server: every tile 200" "$CODES" "200x$TILES "
    DIFF=$(diff -rq js store 2>&1 | grep -v '\.cfg\|\.err' | head -5)
    check "library's tiles == store server's tiles, byte for byte ($TILES tiles)" "$DIFF" ""

    # (b) serve --pmtiles, with no store at all.
    DB=$WORK/no-such-store.sqlite start_server --pmtiles sample.pmtiles || exit 1
    contains "serve --pmtiles: start-up line" "$(cat "$WORK/server.log")" "serving sample\.pmtiles: $TILES tiles, z10-16, png on http://127\.0\.0\.1:[0-9]+/ \(.*no store"
    fetch_all "$BASE" js.list served
    check "serve --pmtiles: every tile 200" "$CODES" "200x$TILES "
    DIFF=$(diff -rq js served 2>&1 | head -5)
    check "serve --pmtiles tiles == the archive's, byte for byte" "$DIFF" ""
    DIFF=$(diff -rq store served 2>&1 | grep -v '\.cfg\|\.err' | head -5)
    check "serve --pmtiles tiles == the store server's, byte for byte" "$DIFF" ""
    ONE=$(sed -n 1p js.list)
    get "/tiles/$ONE"
    check "a tile: 200" "$STATUS" 200
    contains "a tile: image/png" "$(cat headers)" '^Content-Type: image/png'
    ETAG=$(header ETag)
    contains "a tile: an ETag from its bytes" "$ETAG" '^"pm-[0-9a-f]{16}"$'
    get "/tiles/$ONE" -H "If-None-Match: $ETAG"
    check "a tile with its ETag: 304" "$STATUS" 304
    get /tiles/9/0/0.png
    check "a zoom outside the archive: 404" "$STATUS" 404
    contains "a zoom outside the archive: says the zooms" "$BODY" '"error":"zoom 9 is not in the archive \(zooms 10-16\)"'
    get /tiles/16/0/0.png
    check "a tile of the archive's zooms outside its box: 204" "$STATUS" 204
    check "204: no body" "$(wc -c <body)" 0
    get "/tiles/${ONE%.png}@2x.png"
    check "@2x: 404" "$STATUS" 404
    get /tiles.json
    check "tiles.json: 200" "$STATUS" 200
    python3 - "$BODY" "$STORE_TILEJSON" js.json <<'EOF' >tilejson.out 2>&1
import json, sys
tj, store, js = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.load(open(sys.argv[3]))
h = js["header"]
assert tj["tilejson"] == "3.0.0", tj
assert tj["minzoom"] == 10 and tj["maxzoom"] == 16, tj
assert tj["tiles"][0].endswith("/tiles/{z}/{x}/{y}.png"), tj["tiles"]
assert tj["vector_layers"] == [], tj
assert tj["name"] == js["metadata"]["name"] == store["name"], (tj["name"], store["name"])
assert tj["attribution"] == "parceldb", tj
for a, b in zip(tj["bounds"], [h["minLon"], h["minLat"], h["maxLon"], h["maxLat"]]):
    assert abs(a - b) < 1e-9, (tj["bounds"], h)
# The archive's box is the store's parcels' box (the store server's tiles.json).
for a, b in zip(tj["bounds"], store["bounds"]):
    assert abs(a - b) <= 1.01e-7, (tj["bounds"], store["bounds"])
assert tj["center"] == [h["centerLon"], h["centerLat"], h["centerZoom"]], tj["center"]
print("tilejson ok")
EOF
    check "tiles.json from the archive: fields as the header and metadata say" "$(cat tilejson.out)" "tilejson ok"
    for path in /parcels/at?lon=105.4\&lat=21.3 /communes /parcels/07900/1/1 /wms?service=WMS\&request=GetCapabilities; do
        get "$path"
        check "serve --pmtiles: $path: 404" "$STATUS" 404
        contains "serve --pmtiles: $path: says there is no store" "$BODY" '^\{"error":"this server serves the tiles of a PMTiles archive only \(serve --pmtiles\): no store'
    done
    get /health
    check "serve --pmtiles: /health 200" "$STATUS" 200
    contains "serve --pmtiles: /health names the archive" "$BODY" '"pmtiles":"sample\.pmtiles"'
    stop_server
    SERVER_PID=$STORE_PID
    stop_server

    # (c) the header, read with python's struct.
    python3 "$PDB_SOURCE_DIR/tests/pmtiles/header.py" sample.pmtiles js.json tileType=2 \
        tileCompression=1 minZoom=10 maxZoom=16 numAddressedTiles="$TILES" >header.out 2>&1
    RC=$?
    grep FAIL header.out >&2
    check "header: every field as the spec lays it out ($(grep -c '^ok' header.out) checks)" "$RC" 0
    ;;

mvt)
    export_ok "export --tiles mvt z10-16" --zoom 10-16 --tiles mvt -o sample.pmtiles
    TILES=$(grep -oE 'pmtiles: [0-9]+ tiles' <<<"$OUT" | grep -oE '[0-9]+')
    read_js sample.pmtiles js
    check "library: every tile the export wrote" "$(python3 -c "import json; print(json.load(open('js.json'))['tiles'])")" "$TILES"
    check "library: vector tiles (.mvt)" "$(grep -c '\.mvt$' js.list)" "$TILES"
    python3 "$PDB_SOURCE_DIR/tests/pmtiles/header.py" sample.pmtiles js.json tileType=1 \
        tileCompression=2 minZoom=10 maxZoom=16 numAddressedTiles="$TILES" >header.out 2>&1
    RC=$?
    grep FAIL header.out >&2
    check "header: MVT, gzip, as the spec lays it out ($(grep -c '^ok' header.out) checks)" "$RC" 0

    start_server || exit 1
    STORE_PID=$SERVER_PID
    STORE_BASE=$BASE
    get /tiles.mvt.json
    STORE_TILEJSON=$BODY
    # Inflated (no Accept-Encoding): what the library gives.
    fetch_all "$STORE_BASE" js.list store
    check "store server: every vector tile 200" "$CODES" "200x$TILES "
    check "library's tiles == the store server's, inflated, byte for byte" "$(diff -rq js store | head -3)" ""
    fetch_all "$STORE_BASE" js.list store-gz "Accept-Encoding: gzip"
    check "store server: every gzip vector tile 200" "$CODES" "200x$TILES "

    DB=$WORK/no-such-store.sqlite start_server --pmtiles sample.pmtiles || exit 1
    contains "serve --pmtiles: an mvt archive" "$(cat "$WORK/server.log")" "serving sample\.pmtiles: $TILES tiles, z10-16, mvt on"
    fetch_all "$BASE" js.list served
    check "serve --pmtiles: every vector tile 200" "$CODES" "200x$TILES "
    check "serve --pmtiles, inflated == the library's, byte for byte" "$(diff -rq js served | head -3)" ""
    fetch_all "$BASE" js.list served-gz "Accept-Encoding: gzip"
    check "serve --pmtiles, gzip: every tile 200" "$CODES" "200x$TILES "
    check "serve --pmtiles, gzip == the store server's gzip bytes" "$(diff -rq store-gz served-gz | head -3)" ""
    ONE=$(cd js && find . -name '*.mvt' -printf '%s %P\n' | sort -rn | awk 'NR == 1 {print $2}')
    get "/tiles/$ONE" -H "Accept-Encoding: gzip"
    contains "a vector tile: its type" "$(cat headers)" '^Content-Type: application/vnd.mapbox-vector-tile'
    contains "a vector tile: gzip" "$(cat headers)" '^Content-Encoding: gzip'
    contains "a vector tile: Vary" "$(cat headers)" '^Vary: Accept-Encoding'
    get "/tiles/${ONE%.mvt}.png"
    check "a PNG tile of an mvt archive: 404" "$STATUS" 404
    contains "a PNG tile of an mvt archive: says which" "$BODY" 'the archive holds vector tiles: /tiles/\{z\}/\{x\}/\{y\}\.mvt'
    get /tiles.json
    python3 - "$BODY" "$STORE_TILEJSON" <<'EOF' >tilejson.out 2>&1
import json, sys
tj, store = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert tj["tiles"][0].endswith("/tiles/{z}/{x}/{y}.mvt"), tj["tiles"]
assert [l["id"] for l in tj["vector_layers"]] == ["parcels", "communes", "labels"], tj
for a, b in zip(tj["vector_layers"], store["vector_layers"]):
    assert a["fields"] == b["fields"], (a, b)
    assert a["minzoom"] >= 10 and a["maxzoom"] == 16, a
print("tilejson ok")
EOF
    check "tiles.json of an mvt archive: .mvt URLs, the server's vector_layers" "$(cat tilejson.out)" "tilejson ok"
    stop_server
    SERVER_PID=$STORE_PID
    stop_server
    ;;

runlength)
    # (d) A box four times the sample's, mostly empty: the server's one
    # empty tile repeated, in runs.
    export_ok "export of a mostly empty box" --zoom 10-14 --bbox 105.25,21.15,105.70,21.60 -o sea.pmtiles
    read_js sea.pmtiles sea
    ADDRESSED=$(js_field sea.json numAddressedTiles)
    ENTRIES=$(js_field sea.json numTileEntries)
    CONTENTS=$(js_field sea.json numTileContents)
    check "run-length: fewer directory entries than tiles ($ENTRIES < $ADDRESSED)" \
        "$([ "$ENTRIES" -lt "$ADDRESSED" ] && echo fewer)" fewer
    check "dedup: fewer contents than entries ($CONTENTS < $ENTRIES)" \
        "$([ "$CONTENTS" -lt "$ENTRIES" ] && echo fewer)" fewer
    check "library: every addressed tile" \
        "$(python3 -c "import json; print(json.load(open('sea.json'))['tiles'])")" "$ADDRESSED"
    python3 "$PDB_SOURCE_DIR/tests/pmtiles/header.py" sea.pmtiles sea.json \
        minLon=105.25 minLat=21.15 maxLon=105.7 maxLat=21.6 >header.out 2>&1
    RC=$?
    grep -v '^ok' header.out >&2
    check "header: the --bbox as bounds, and the layout ($(grep -c '^ok' header.out) checks)" "$RC" 0
    start_server || exit 1
    fetch_all "$BASE" sea.list store
    check "store server: every tile 200" "$CODES" "200x$ADDRESSED "
    check "run-length tiles == the store server's, byte for byte" "$(diff -rq sea store | grep -v '\.cfg\|\.err' | head -3)" ""
    # The server's empty tile is the archive's most repeated content.
    EMPTY_SUM=$(cd sea && find . -name '*.png' -exec md5sum {} + | awk '{print $1}' | sort | uniq -c | sort -rn | head -1)
    get /tiles/20/0/0.png
    check "the most repeated tile is the server's empty tile" "$(awk '{print $2}' <<<"$EMPTY_SUM")" "$(md5sum <body | awk '{print $1}')"
    stop_server

    # Leaf directories: the same tiles through them.
    export_ok "export with leaf directories of 8 entries" --zoom 10-14 --bbox 105.25,21.15,105.70,21.60 --leaf-entries 8 -o leaves.pmtiles
    read_js leaves.pmtiles leaves
    check "leaf directories: the header says some" "$([ "$(js_field leaves.json leafDirectoryLength)" -gt 0 ] && echo some)" some
    check "leaf directories: the same tiles, byte for byte" "$(diff -rq sea leaves | head -3)" ""
    DB=$WORK/no-such-store.sqlite start_server --pmtiles leaves.pmtiles || exit 1
    fetch_all "$BASE" sea.list served
    check "serve --pmtiles through leaves: the same tiles" "$(diff -rq sea served | grep -v '\.cfg\|\.err' | head -3)" ""
    stop_server
    ;;

bad_input)
    # one_line NAME EXPECTED_RC PATTERN ARGS...: the command fails with one
    # line on stderr matching PATTERN, and leaves no archive behind.
    one_line() {
        local name=$1 rc=$2 pattern=$3
        shift 3
        rm -rf out && mkdir out
        OUT=$("$PARCELDB" export --db "$DB" "$@" 2>&1)
        check "$name: exit $rc" "$?" "$rc"
        contains "$name: says why" "$OUT" "$pattern"
        check "$name: one line" "$(wc -l <<<"$OUT")" 1
        check "$name: nothing written" "$(find out -type f | wc -l)" 0
    }
    one_line "zooms backwards" 2 "--zoom wants A-B with A <= B, not '16-10'" --format pmtiles --zoom 16-10 -o out/a.pmtiles
    one_line "zoom not a number" 2 "--zoom wants A-B" --format pmtiles --zoom ten -o out/a.pmtiles
    one_line "zoom over --max-zoom" 2 "zoom 22 is over --max-zoom 20" --format pmtiles --zoom 10-22 -o out/a.pmtiles
    one_line "no --zoom" 2 "--zoom A-B is required" --format pmtiles -o out/a.pmtiles
    one_line "no -o" 2 "-o FILE.pmtiles is required" --format pmtiles --zoom 10-12
    one_line "no --format" 2 "--format is required" --zoom 10-12 -o out/a.pmtiles
    one_line "another format" 2 "--format KML: one of GPKG, \"ESRI Shapefile\", GeoJSON, DXF, DGN or pmtiles" --format KML --zoom 10-12 -o out/a.pmtiles
    one_line "a bad --bbox" 2 "--bbox wants MINLON,MINLAT,MAXLON,MAXLAT" --format pmtiles --zoom 10-12 --bbox 106,21,105,22 -o out/a.pmtiles
    one_line "a --bbox outside the store" 1 "--bbox 100\.000000,10\.000000,101\.000000,11\.000000 is outside the store's parcels \(105\.[0-9]+,21\." --format pmtiles --zoom 10-12 --bbox 100,10,101,11 -o out/a.pmtiles
    one_line "--tiles jpeg" 2 "--tiles wants png or mvt, not 'jpeg'" --format pmtiles --zoom 10-12 --tiles jpeg -o out/a.pmtiles
    one_line "over --max-tiles" 1 "[0-9]+ tiles is more than the limit of 10; narrow --zoom or --bbox" --format pmtiles --zoom 10-16 --max-tiles 10 -o out/a.pmtiles
    one_line "an unwritable output" 1 "out/no/such/dir/a\.pmtiles: cannot write: No such file or directory" --format pmtiles --zoom 10-12 -o out/no/such/dir/a.pmtiles
    mkdir -p out/dir.pmtiles
    OUT=$("$PARCELDB" export --db "$DB" --format pmtiles --zoom 10-12 -o out/dir.pmtiles 2>&1)
    check "a directory as output: exit 1" "$?" 1
    check "a directory as output: says so in one line" "$OUT" "parceldb export: out/dir.pmtiles: cannot write: Is a directory"
    check "a directory as output: nothing written" "$(find out -type f | wc -l)" 0
    mkdir -p ro && chmod 0555 ro
    if [ "$(id -u)" -ne 0 ]; then
        one_line "a read-only directory" 1 "ro/a\.pmtiles: cannot write: Permission denied" --format pmtiles --zoom 10-12 -o ro/a.pmtiles
    fi
    # An empty store: nothing to export.
    EMPTY_DB=$DB
    new_db empty || exit 1
    "$PARCELDB" init --db "$DB" >/dev/null
    one_line "an empty store" 1 "the store has no parcels: nothing to export" --format pmtiles --zoom 10-12 -o out/a.pmtiles
    DB=$EMPTY_DB

    # A failed export leaves an existing archive as it was.
    "$PARCELDB" export --db "$DB" --format pmtiles --zoom 10-11 -o old.pmtiles 2>/dev/null
    SUM=$(md5sum <old.pmtiles)
    OUT=$("$PARCELDB" export --db "$DB" --format pmtiles --zoom 10-12 --bbox 100,10,101,11 -o old.pmtiles 2>&1)
    check "a failed export over an archive: the archive unchanged" "$(md5sum <old.pmtiles)" "$SUM"
    check "a failed export over an archive: no temporary file" "$(ls old.pmtiles.tmp* 2>/dev/null | wc -l)" 0

    # An export killed half-way: the archive under the name is still the
    # old one (the new one was only ever FILE.tmp), and the next export
    # replaces the stale temporary files.
    "$PARCELDB" export --db "$DB" --format pmtiles --zoom 10-19 -o old.pmtiles --threads 1 \
        2>killed.log &
    EXPORT_PID=$!
    for _ in $(seq 1 300); do
        [ -s old.pmtiles.tmp.tiles ] && break
        kill -0 "$EXPORT_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$EXPORT_PID" 2>/dev/null
    wait "$EXPORT_PID"
    check "an export killed while writing tiles: killed, not finished" "$?" 143
    check "an export killed while writing tiles: the archive unchanged" "$(md5sum <old.pmtiles)" "$SUM"
    "$PARCELDB" export --db "$DB" --format pmtiles --zoom 10-11 -o old.pmtiles 2>/dev/null
    check "the next export: done" "$?" 0
    check "the next export: no temporary file left" "$(ls old.pmtiles.tmp* 2>/dev/null | wc -l)" 0
    one_line "a store that is not there" 1 "no-such\.sqlite" --db "$WORK/no-such.sqlite" --format pmtiles --zoom 10-11 -o out/a.pmtiles

    # serve --pmtiles with what is not an archive.
    serve_bad() {
        local name=$1 pattern=$2 file=$3
        OUT=$("$PARCELDB" serve --pmtiles "$file" --listen 127.0.0.1:0 --allow-root 2>&1)
        check "serve --pmtiles $name: exit 1" "$?" 1
        contains "serve --pmtiles $name: says why" "$OUT" "$pattern"
        check "serve --pmtiles $name: one line" "$(wc -l <<<"$OUT")" 1
    }
    serve_bad "a missing file" "--pmtiles nothing\.pmtiles: No such file or directory" nothing.pmtiles
    serve_bad "a store" "--pmtiles .*: not a PMTiles archive \(no 'PMTiles' magic\)" "$WORK/parcels.sqlite"
    head -c 300 old.pmtiles >truncated.pmtiles
    serve_bad "a truncated archive" "--pmtiles truncated\.pmtiles: not a usable PMTiles archive: a section runs past the end of the file" truncated.pmtiles
    : >empty.pmtiles
    serve_bad "an empty file" "--pmtiles empty\.pmtiles: not a PMTiles archive \(an empty file\)" empty.pmtiles
    ;;

nginx)
    # (f) No parceldb serving: nginx with range requests, the library's
    # FetchSource reading through them. The location block is the one
    # docs/pmtiles.md gives.
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$NGINX" ] || { fail "nginx is missing: run scripts/install-deps.sh (package nginx-light)"; exit 1; }
    export_ok "export z10-16" --zoom 10-16 -o sample.pmtiles
    read_js sample.pmtiles file
    FILE_TILES=$(python3 -c "import json; print(json.load(open('file.json'))['tiles'])")
    check "library from the file: every addressed tile" "$FILE_TILES" "$(js_field file.json numAddressedTiles)"
    mkdir -p site
    cp sample.pmtiles site/
    NGINX_PID=
    trap '[ -z "$NGINX_PID" ] || kill "$NGINX_PID" 2>/dev/null; cleanup' EXIT
    {
        nginx_conf_head
        cat <<EOF
    access_log $WORK/ng/access.log;
    types { application/vnd.pmtiles pmtiles; }
    server {
        listen 127.0.0.1:NGINX_PORT;
        root $WORK/site;
        # --- as in docs/pmtiles.md ---
        location ~ \.pmtiles\$ {
            add_header Access-Control-Allow-Origin * always;
            add_header Access-Control-Allow-Headers Range always;
            add_header Access-Control-Expose-Headers "ETag, Content-Range" always;
            if (\$request_method = OPTIONS) { return 204; }
            gzip off;                      # ranges are of the file's own bytes
            max_ranges 1;
            etag on;
            expires 1h;
        }
        # --- end ---
    }
}
EOF
    } >nginx.conf.in
    nginx_start nginx.conf.in /sample.pmtiles -r 0-0 || exit 1
    URL="http://127.0.0.1:$NPORT/sample.pmtiles"
    STATUS=$(curl -sS -o range.bin -D range.h -w '%{http_code}' -r 0-126 "$URL")
    check "nginx: a range request answers 206" "$STATUS" 206
    check "nginx: the 127 bytes asked for" "$(wc -c <range.bin)" 127
    check "nginx: the header's bytes" "$(head -c 127 sample.pmtiles | md5sum)" "$(md5sum <range.bin)"
    read_js "$URL" http
    check "library through nginx: the same tile count" \
        "$(python3 -c "import json; print(json.load(open('http.json'))['tiles'])")" \
        "$(python3 -c "import json; print(json.load(open('file.json'))['tiles'])")"
    check "library through nginx: every tile byte-identical to the file's" "$(diff -rq file http | head -3)" ""
    RANGES=$(grep -c '" 206 ' ng/access.log)
    FULL=$(grep -c '" 200 ' ng/access.log)
    check "library through nginx: range requests only (206: $RANGES)" "$FULL" 0
    # And the tiles equal what the store server renders: checked in the
    # roundtrip case for the same export; here one tile, to tie the two.
    start_server || exit 1
    # The largest tile: one with parcels on it, not the shared empty one.
    ONE=$(cd http && find . -name '*.png' -printf '%s %P\n' | sort -rn | awk 'NR == 1 {print $2}')
    get "/tiles/$ONE"
    check "the largest tile through nginx ($ONE) == the store server's" "$(md5sum <"http/$ONE")" "$(md5sum <body)"
    stop_server
    kill "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=
    ;;
*)
    fail "unknown case '$CASE'"
    ;;
esac
finish
