#!/usr/bin/env bash
# Personal data: owner names never reach tiles, logs, error messages or
# public answers, and bearer tokens never reach logs or the server's memory
# in plain text.
#
# Fixtures (ogr2ogr): three communes whose owners are distinctive names
# (Vietnamese with diacritics, each followed by an ASCII marker QXOWN<n>): a
# UTF-8 GeoPackage (Phu Tho), a Shapefile whose DBF holds TCVN3 bytes and no
# .cpg (Vinh Phuc), one with VNI bytes under a .cpg that says 1252 (Hoa
# Binh), and a GeoJSON of defective records (rejected, duplicated) with
# owners too. Everything public is captured: every response body and header
# of every public route (tiles at several zooms and @2x, the lookups in
# every form, bbox pages, by number, /communes, /tiles.json, /metrics,
# /health, the demo page, and 400/401/404/405/413/414/431 errors), the
# server's access log and messages, the disk cache's files, and the CLI's
# stdout and stderr (lookup in every form without --personal, info, render,
# seed, imports with rejects, a wrong CRS, a dry run, bad token files).
# All of it is searched, as bytes, for every owner: the marker (any case),
# each name in NFC, NFD, TCVN3, VNI and JSON \u escapes. None may appear.
# Then the search is shown not to be vacuous: with the right bearer token
# (and lookup --personal) the owners do appear, through the same search.
# The tokens: never in any captured output, and not in the server's memory
# (read through /proc/PID/mem as root) after start and public requests.
source "$(dirname "$0")/../server/lib.sh"

CAP=$WORK/public # everything an outsider could see
PRIV=$WORK/authorised
mkdir -p "$CAP" "$PRIV"
N=0

# --- owners: six names (their TCVN3 and VNI bytes from the published code
# tables, as in tests/import/encoding.sh), each with a numbered marker
names=("Nguyễn Văn Tường" "Trần Thị Hồng" "Lê Đức Thắng" "Phạm Thị Thu Hà" "Hoàng Văn Dũng" "Đỗ Thị Lan")
tcvn3=('Nguy\xD4n V\xA8n T\xAD\xEAng' 'Tr\xC7n Th\xDE H\xE5ng' 'L\xAA \xA7\xF8c Th\xBEng'
    'Ph\xB9m Th\xDE Thu H\xB5' 'Ho\xB5ng V\xA8n D\xF2ng' '\xA7\xE7 Th\xDE Lan')
vni=('Nguye\xE3n Va\xEAn T\xF6\xF4\xF8ng' 'Tra\xE0n Th\xF2 Ho\xE0ng' 'Le\xE2 \xD1\xF6\xF9c Tha\xE9ng'
    'Pha\xEFm Th\xF2 Thu Ha\xF8' 'Hoa\xF8ng Va\xEAn Du\xF5ng' '\xD1o\xE3 Th\xF2 Lan')

# The byte patterns searched for: each name in NFC, NFD, TCVN3, VNI and as
# JSON escapes (lower and upper case hex), one per line (grep -F -f).
python3 - "${names[@]}" >"$WORK/patterns.txt" <<'EOF'
import json, sys, unicodedata
for n in sys.argv[1:]:
    for form in ("NFC", "NFD"):
        s = unicodedata.normalize(form, n)
        print(s)
        e = json.dumps(s)[1:-1]
        print(e)
        print(e.replace("\\u", "\\U").upper().replace("\\U", "\\u"))
EOF
for i in "${!names[@]}"; do
    printf '%b\n%b\n' "${tcvn3[$i]}" "${vni[$i]}" >>"$WORK/patterns.txt"
done
check "patterns: 6 names x (NFC, NFD) x 3 spellings, + TCVN3 + VNI" "$(sort -u "$WORK/patterns.txt" | wc -l)" 48

# leaks DIR...: the files under DIR that hold an owner (marker or name).
leaks() {
    { grep -rlai -- 'QXOWN' "$@"; grep -rlaF -f "$WORK/patterns.txt" -- "$@"; } 2>/dev/null | sort -u
}

# owner_csv FILE COMMUNE FIRST ENC_ARRAY: 20 parcels of 20 m in rows of 10
# from (BX, BY), numbered 1-20, owner i = ENC[i % 6] + " QXOWN<FIRST+i>".
owner_csv() {
    local file=$1 commune=$2 first=$3
    local -n enc=$4
    printf 'WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi\n' >"$file"
    for i in $(seq 0 19); do
        local x y
        x=$(awk -v b="$BX" -v i="$i" 'BEGIN { printf "%.3f", b + (i % 10) * 25 }')
        y=$(awk -v b="$BY" -v i="$i" 'BEGIN { printf "%.3f", b + int(i / 10) * 25 }')
        printf '"POLYGON ((%s %s,%s %s,%s %s,%s %s,%s %s))",%s,12,%d,ONT,400,%b QXOWN%03d,Xom %d\n' \
            "$x" "$y" "$(awk -v a="$x" 'BEGIN{printf "%.3f", a + 20}')" "$y" \
            "$(awk -v a="$x" 'BEGIN{printf "%.3f", a + 20}')" "$(awk -v a="$y" 'BEGIN{printf "%.3f", a + 20}')" \
            "$x" "$(awk -v a="$y" 'BEGIN{printf "%.3f", a + 20}')" "$x" "$y" \
            "$commune" $((i + 1)) "${enc[$((i % 6))]}" $((first + i)) $((i % 5)) >>"$file"
    done
}

DB=$WORK/parcels.sqlite
"$PARCELDB" init --db "$DB" >/dev/null || { fail "init"; exit 1; }
base_phutho
owner_csv a.csv 07894 100 names
to_gpkg a.csv a.gpkg 9208
base_vinhphuc
owner_csv b.csv 08707 200 tcvn3
mkdir -p b
ogr2ogr -q -f "ESRI Shapefile" b/parcels.shp b.csv -oo GEOM_POSSIBLE_NAMES=WKT \
    -oo KEEP_GEOM_COLUMNS=NO -a_srs EPSG:5897 --config SHAPE_ENCODING ""
check "TCVN3 fixture: raw bytes in the DBF" "$(grep -c "$(printf 'Nguy\xD4n')" b/parcels.dbf)" 1
base_point 9211 105.3380 20.8170
owner_csv c.csv 04792 300 vni
mkdir -p c
ogr2ogr -q -f "ESRI Shapefile" c/parcels.shp c.csv -oo GEOM_POSSIBLE_NAMES=WKT \
    -oo KEEP_GEOM_COLUMNS=NO -a_srs EPSG:9211 --config SHAPE_ENCODING ""
printf '1252' >c/parcels.cpg

# run NAME CMD...: runs a command, its stdout and stderr kept in $CAP.
run() {
    local name=$1
    shift
    "$@" >"$CAP/$name.out" 2>"$CAP/$name.err"
    RC=$?
}
run import "$PARCELDB" import --db "$DB" a.gpkg b/parcels.shp c/parcels.shp
check "import of the three communes" "$RC" 0
check "60 parcels stored, each with its owner" \
    "$(sqlite3 "$DB" "SELECT count(*) FROM parcels WHERE owner LIKE '% QXOWN%'")" 60
# (compared here, never printed: this test's own output is searched too)
[ "$(sqlite3 "$DB" "SELECT owner FROM parcels WHERE commune = '08707' AND parcel = '1'")" = \
    "${names[0]} QXOWN200" ]
check "the TCVN3 owners converted to the UTF-8 names" "$?" 0

# Defective records of 07894 with owners: an unclosed ring, a
# self-intersecting one, a missing parcel number, a duplicated number.
base_phutho
far=$(awk -v b="$BX" 'BEGIN { printf "%.3f", b + 2000 }')
{
    echo 'WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi'
    echo "\"POLYGON (($far $BY,$far 1,1 $BY))\",07894,12,901,ONT,400,${names[1]} QXOWN901,Xom 1"
    echo "\"POLYGON (($far $BY,$(awk -v a="$far" 'BEGIN{print a+20}') $(awk -v a="$BY" 'BEGIN{print a+20}'),$(awk -v a="$far" 'BEGIN{print a+20}') $BY,$far $(awk -v a="$BY" 'BEGIN{print a+20}'),$far $BY))\",07894,12,902,ONT,400,${names[2]} QXOWN902,Xom 2"
    echo "\"POLYGON (($far $BY,$(awk -v a="$far" 'BEGIN{print a+20}') $BY,$(awk -v a="$far" 'BEGIN{print a+20}') $(awk -v a="$BY" 'BEGIN{print a+20}'),$far $BY))\",07894,12,,ONT,400,${names[3]} QXOWN903,Xom 3"
} >bad.csv
tail -n +2 a.csv | head -3 | sed 's/QXOWN1/QXOWN95/' >>bad.csv # parcels 1-3 again
to_gpkg bad.csv bad.gpkg 9208
# (in a store of their own: a re-import of 07894 would supersede the fixture)
DDB=$WORK/defects.sqlite
"$PARCELDB" init --db "$DDB" >/dev/null
run import_defects "$PARCELDB" import --db "$DDB" bad.gpkg
check "defects: rejects recorded" "$(sqlite3 "$DDB" "SELECT count(*) > 0 FROM rejects")" 1
run import_wrong_crs "$PARCELDB" import --db "$DDB" --srs EPSG:5897 a.gpkg
check "a wrong zone is refused" "$RC" 1
run import_dry "$PARCELDB" import --db "$DDB" --dry-run --force a.gpkg b/parcels.shp bad.gpkg
run import_bad_encoding "$PARCELDB" import --db "$DDB" --dry-run --force --encoding utf8 b/parcels.shp

# --- the CLI without --personal
base_phutho
parcel_center 9208 7
A_LON=$PLON A_LAT=$PLAT A_E=$PX A_N=$PY
run lookup_lonlat "$PARCELDB" lookup --db "$DB" --lon "$A_LON" --lat "$A_LAT"
contains "lookup --lon/--lat finds parcel 7" "$(cat "$CAP/lookup_lonlat.out")" '"parcel":"7"'
run lookup_en "$PARCELDB" lookup --db "$DB" --srs EPSG:9208 --en "$A_E,$A_N"
contains "lookup --en finds parcel 7" "$(cat "$CAP/lookup_en.out")" '"parcel":"7"'
run lookup_vnxy "$PARCELDB" lookup --db "$DB" --srs EPSG:9208 --vn-xy "$A_N,$A_E"
contains "lookup --vn-xy finds parcel 7" "$(cat "$CAP/lookup_vnxy.out")" '"parcel":"7"'
run lookup_id "$PARCELDB" lookup --db "$DB" --id 07894/12/7
run lookup_id_dup "$PARCELDB" lookup --db "$DB" --id 07894/12/2 --history
run lookup_id_tcvn3 "$PARCELDB" lookup --db "$DB" --id 08707/12/1
run lookup_id_vni "$PARCELDB" lookup --db "$DB" --id 04792/12/1
contains "lookup --id of the VNI commune finds it" "$(cat "$CAP/lookup_id_vni.out")" '"parcel":"1"'
printf 'id,lon,lat\np7,%s,%s\nnone,105.0,21.0\n' "$A_LON" "$A_LAT" >points.csv
run lookup_points "$PARCELDB" lookup --db "$DB" --points points.csv
contains "lookup --points answers" "$(cat "$CAP/lookup_points.out")" '^p7,07894,12,7'
run lookup_missing "$PARCELDB" lookup --db "$DB" --id 07894/12/999
run lookup_bad "$PARCELDB" lookup --db "$DB" --lon x --lat y
run info "$PARCELDB" info --db "$DB"
run info_communes "$PARCELDB" info --db "$DB" --communes
read -r TZ TX TY < <(awk -v lon="$A_LON" -v lat="$A_LAT" 'BEGIN {
    z = 18; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d %d %d\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')
run render "$PARCELDB" render --db "$DB" "$TZ/$TX/$TY" -o "$CAP/render.png"
check "render a z18 tile with labels" "$RC" 0
tiles_at() { # LON LAT: "z x y" lines for z 10, 13, 15, 16, 17, 18
    for z in 10 13 15 16 17 18; do
        awk -v lon="$1" -v lat="$2" -v z="$z" 'BEGIN { n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
            printf "%d %d %d\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }'
    done
}
tiles_at "$A_LON" "$A_LAT" >tiles.txt
base_vinhphuc
parcel_center 5897 1
B_LON=$PLON B_LAT=$PLAT
tiles_at "$B_LON" "$B_LAT" >>tiles.txt
run render_batch "$PARCELDB" render --db "$DB" --tiles tiles.txt --out "$CAP/rendered"
check "render --tiles: 12 tiles" "$(find "$CAP/rendered" -name '*.png' | wc -l)" 12
run seed "$PARCELDB" seed --db "$DB" --cache "$CAP/seeded" --zoom 15-17 --no-progress \
    --bbox "$(awk -v a="$A_LON" -v b="$A_LAT" 'BEGIN { printf "%.6f,%.6f,%.6f,%.6f", a - 0.003, b - 0.003, a + 0.003, b + 0.003 }')"
check "seed: tiles in the disk cache" "$(find "$CAP/seeded" -name '*.tile' | wc -l | awk '{print ($1 > 5)}')" 1
# A style whose labels ask for the owner (instead of the parcel number) is
# refused: the renderer's features have no owner field (parceldb.h).
sed 's/"text-field": \["get", "parcel"\]/"text-field": ["get", "owner"]/' \
    "$PDB_SOURCE_DIR/styles/landuse.json" >owner-style.json
check "the owner style differs from the default in its label field" \
    "$(grep -c '"owner"' owner-style.json)" 1
run render_owner_style "$PARCELDB" render --db "$DB" --style owner-style.json "$TZ/$TX/$TY" \
    -o "$CAP/owner-style.png"
check "a style that reads 'owner' is refused" "$RC" 1

# --- the server: access log on, a token file, a disk cache
TOKEN=pdbops-officer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN2=pdbops-second-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# land office\n%s front-desk\n%s\n' "$TOKEN" "$TOKEN2" >tokens
printf '%s\n%s\n' "$TOKEN" "$TOKEN2" >"$WORK/secrets.txt"
start_server --tokens tokens --cache "$CAP/cache" --cache-mb 8 || exit 1

# pub NAME PATH [curl options...]: a public request, body and headers kept.
pub() {
    local name=$1 path=$2
    shift 2
    N=$((N + 1))
    STATUS=$(curl -sS --max-time 20 --path-as-is -o "$CAP/$N-$name.body" -D "$CAP/$N-$name.headers" \
        -w '%{http_code}' "$@" "$BASE$path" 2>"$CAP/$N-$name.curl")
    BODY=$(tr -d '\000' <"$CAP/$N-$name.body" 2>/dev/null)
}

# The memory, before any request with a token: no plain token anywhere.
mem_has() { # PID FILE: prints how many of FILE's lines occur in the memory
    python3 - "$1" "$2" <<'EOF'
import re, sys
pid, secrets = sys.argv[1], [l.encode() for l in open(sys.argv[2]).read().split()]
found = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        lo, hi, perms = int(m[1], 16), int(m[2], 16), m[3]
        # Readable, and not a sanitizer's shadow reservation (huge, empty).
        if perms[0] != "r" or hi - lo > 1 << 28 or "[vvar" in line or "[vsyscall" in line:
            continue
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except OSError:
            continue
        found += sum(data.count(s) for s in secrets)
print(found)
EOF
}
pub health /health
check "health" "$STATUS" 200
check "the server's memory holds no plain token after start" "$(mem_has "$SERVER_PID" "$WORK/secrets.txt")" 0
check "a control: the scan finds a string the server holds" \
    "$(echo "$DB" >"$WORK/control.txt"; mem_has "$SERVER_PID" "$WORK/control.txt" | awk '{print ($1 > 0)}')" 1

for kind in A B; do
    if [ $kind = A ]; then lon=$A_LON lat=$A_LAT; else lon=$B_LON lat=$B_LAT; fi
    while read -r z x y; do
        pub "tile-$kind-$z" "/tiles/$z/$x/$y.png"
        check "tile $kind z$z" "$STATUS" 200
        pub "tile2x-$kind-$z" "/tiles/$z/$x/$y@2x.png"
    done < <(tiles_at "$lon" "$lat")
    pub "at-$kind" "/parcels/at?lon=$lon&lat=$lat"
    contains "public lookup $kind: a parcel" "$BODY" '"parcel":"(7|1)"'
    pub "bbox-$kind" "/parcels?bbox=$(awk -v a="$lon" -v b="$lat" 'BEGIN { printf "%.6f,%.6f,%.6f,%.6f", a - 0.01, b - 0.01, a + 0.01, b + 0.01 }')&limit=100"
    contains "public bbox $kind: features" "$BODY" '"numberReturned":(1[0-9]|2[0-9])'
done
pub at-en "/parcels/at?e=$A_E&n=$A_N&srs=EPSG:9208"
pub at-xy "/parcels/at?x=$A_N&y=$A_E&srs=EPSG:9208"
pub bbox-page "/parcels?bbox=105,20,106,22&limit=5&offset=5"
for id in 07894/12/7 07894/12/2 08707/12/1 04792/12/3; do
    pub "id-${id//\//-}" "/parcels/$id"
    check "public /parcels/$id" "$STATUS" 200
done
pub communes /communes
pub tilejson /tiles.json
pub metrics /metrics
contains "metrics: the tokens are counted" "$BODY" 'parceldb_tokens 2'
pub index /
pub e400 "/parcels/at?lon=abc&lat=21"
check "400" "$STATUS" 400
pub e400b "/tiles/99/1/1.png"
pub e404 /parcels/07894/12/999
check "404" "$STATUS" 404
pub e404b "/nope"
pub e405 /parcels/07894/12/7 -X DELETE
check "405" "$STATUS" 405
pub e413 /parcels/07894/12/7 -X PUT --data-binary @a.csv -H 'Content-Type: text/csv'
check "413 (a body, here the fixture's own CSV)" "$STATUS" 413
pub e414 "/parcels/$(head -c 9000 /dev/zero | tr '\0' 7)"
pub e431 /health -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)"
pub wrong-token /parcels/07894/12/7 -H "Authorization: Bearer pdbops-wrong-$TOKEN"
check "a wrong token: 401" "$STATUS" 401
pub wrong-token-at "/parcels/at?lon=$A_LON&lat=$A_LAT" -H "Authorization: Bearer nope"
pub basic-auth /parcels/07894/12/7 -u "officer:$TOKEN"
pub token-in-query "/parcels/07894/12/7?token=$TOKEN"

# Authorised: the owners come back, through the same search (not vacuous).
priv() {
    local name=$1 path=$2
    curl -sS --max-time 20 -o "$PRIV/$name.body" -D "$PRIV/$name.headers" \
        -H "Authorization: Bearer $3" "$BASE$path"
}
priv id-a /parcels/07894/12/7 "$TOKEN"
priv id-b /parcels/08707/12/1 "$TOKEN2"
priv id-c /parcels/04792/12/3 "$TOKEN"
priv at-a "/parcels/at?lon=$A_LON&lat=$A_LAT" "$TOKEN"
priv bbox-a "/parcels?bbox=105,20,106,22&limit=100" "$TOKEN"
"$PARCELDB" lookup --db "$DB" --personal --id 07894/12/7 >"$PRIV/cli-id.out" 2>&1
"$PARCELDB" lookup --db "$DB" --personal --lon "$A_LON" --lat "$A_LAT" >"$PRIV/cli-at.out" 2>&1
for f in id-a.body id-b.body id-c.body at-a.body bbox-a.body cli-id.out cli-at.out; do
    contains "authorised $f: an owner is found by the search" "$(leaks "$PRIV/$f")" "$f"
done
contains "authorised: the UTF-8 owner of 07894/12/7" "$(cat "$PRIV/id-a.body")" "\"owner\":\"${names[0]} QXOWN106\""
contains "authorised: the TCVN3 owner of 08707/12/1, as UTF-8" "$(cat "$PRIV/id-b.body")" "\"owner\":\"${names[0]} QXOWN200\""
contains "authorised: the VNI owner of 04792/12/3, as UTF-8" "$(cat "$PRIV/id-c.body")" "\"owner\":\"${names[2]} QXOWN302\""
contains "authorised answers are not stored by caches" "$(grep -i '^cache-control' "$PRIV/id-a.headers")" \
    'no-store' 
pub tile-after-auth "/tiles/$TZ/$TX/$TY.png"

# SIGHUP with a broken token file: the reason names the line, not the token.
printf '%s\n%s!bad\n' "$TOKEN" "pdbops-broken-$TOKEN2" >tokens
echo "pdbops-broken-$TOKEN2!bad" >>"$WORK/secrets.txt"
hup_and_wait
contains "a broken token file: reload refused" "$(cat "$WORK/server.log")" 'reload failed.*tokens: .*:2: '
stop_server
cp "$WORK/server.log" "$CAP/server.log"
cp "$WORK/server.out" "$CAP/server.out"
# The same broken file at start: one line, no token in it.
run serve_bad_tokens "$PARCELDB" serve --db "$DB" --listen 127.0.0.1:0 --allow-root --tokens tokens
check "a broken token file at start: refused" "$RC" 1

# --- the search
check "every public capture searched: files" "$(find "$CAP" -type f | wc -l | awk '{print ($1 > 150)}')" 1
check "the access log holds the requests" "$(grep -c ' GET /' "$CAP/server.log" | awk '{print ($1 > 40)}')" 1
check "the disk cache holds tiles" "$(find "$CAP/cache" -name '*.tile' | wc -l | awk '{print ($1 > 10)}')" 1
found=$(leaks "$CAP")
check "no owner name in any public answer, header, log, tile, cache file or CLI output" \
    "${found:-none}" none
for f in $found; do
    echo "  in $f: $(grep -aoi -m1 'QXOWN[0-9]*' "$f" | head -1)"
done
tok=$(grep -rlaF -f "$WORK/secrets.txt" "$CAP" "$WORK/server.log" 2>/dev/null)
check "no token in any captured output or log" "${tok:-none}" none
lacks "the access log never shows Authorization" "$(cat "$CAP/server.log")" '[Bb]earer|Authorization'
finish
