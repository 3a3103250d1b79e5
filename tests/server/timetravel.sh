#!/usr/bin/env bash
# Time travel (issue 16): a commune re-surveyed with new land uses; the
# lookups (CLI and HTTP, by point and by number) and the tiles (HTTP and
# `parceldb render`) at a date before the re-survey show the old land
# use, today the new; a past date's tile is cached apart from the current
# one (another ETag) and, its date being settled, keeps its ETag and its
# pixels through a later import; bad dates and dates before any data are
# one-line errors. The first import is dated 2025-06-01 in the store (the
# store as if it had been loaded then), so that a whole past day exists.
# With the argument "page": the demo page's date control instead, in
# headless Chromium (#at=DATE): the click's answer and the tiles under it
# are the old land use, and without a date the new.
source "$(dirname "$0")/lib.sh"

CASE=${1:-api}
[ "$CASE" = page ] && need_chromium

PAST=2025-12-31 # between the first import (2025-06-01) and the re-survey (today)

make_store || exit 1
store_sql "$DB" "UPDATE parcels SET valid_from = '2025-06-01T00:00:00.000Z'" ||
    fail "dating the first import"

# px_of LON LAT Z X Y: "COL ROW" of a point in tile Z/X/Y (256 px).
px_of() {
    awk -v lon="$1" -v lat="$2" -v z="$3" -v tx="$4" -v ty="$5" 'BEGIN {
        n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
        fx = (lon + 180) / 360 * n; fy = (1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n
        printf "%d %d\n", (fx - tx) * 256, (fy - ty) * 256 }'
}
# landuse_at FILE: the land use whose style colour the pixel of parcel 1's
# centre is (ONT, ODT or LUA), or "other R G B".
landuse_at() {
    local rgb code
    # Tiles are often 8-bit palette PNGs: expanded to RGB first.
    if [ "$(gdalinfo "$1" 2>/dev/null | grep -c '^Band ')" -eq 1 ]; then
        gdal_translate -q -expand rgb "$1" expanded.tif 2>/dev/null
        rgb=$(png_rgb expanded.tif "$COL" "$ROW")
    else
        rgb=$(png_rgb "$1" "$COL" "$ROW")
    fi
    for code in ONT ODT LUA; do
        [ "$(rgb_near "$rgb" "$(landuse_rgb "$code")")" = yes ] && { echo "$code"; return; }
    done
    echo "other $rgb"
}
# uses TEXT: the land uses of a GeoJSON answer, in order, space-separated.
uses() { grep -o '"landuse":"[A-Z+]*"' <<<"$1" | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//'; }

base_phutho
parcel_center 9208 1
LON=$PLON LAT=$PLAT
read -r Z X Y < <(awk -v lon="$LON" -v lat="$LAT" 'BEGIN { z = 17; n = 2 ^ z; pi = atan2(0, -1)
    r = lat * pi / 180; printf "%d %d %d\n", z, int((lon + 180) / 360 * n),
    int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')
read -r COL ROW < <(px_of "$LON" "$LAT" "$Z" "$X" "$Y")
TILE="/tiles/$Z/$X/$Y.png"
[ "$(landuse_rgb ONT)" != "$(landuse_rgb ODT)" ] || fail "the style tells ONT from ODT"

start_server --cache-mb 64 || exit 1
get "$TILE"
check "current tile before the re-survey" "$STATUS" 200
check "it shows ONT" "$(landuse_at "$WORK/body")" ONT

# resurvey NAME USE...: 07894 re-imported with 41 parcels whose land uses
# cycle through USE..., and the server's lookup of parcel 1 shows the
# first one within 1.5 s (tests/server/reimport.sh says why that long).
resurvey() {
    local name=$1
    shift
    grid_csv "$name.csv" 41 07894 12 "$@"
    to_gpkg "$name.csv" "$name.gpkg" 9208
    "$PARCELDB" import --quiet --db "$DB" "$name.gpkg" >"$name.log" 2>&1
    check "re-import $name" "$?" 0
    for _ in $(seq 1 30); do
        get "/parcels/at?lon=$LON&lat=$LAT"
        [ "$(uses "$BODY")" = "$1" ] && break
        sleep 0.05
    done
    check "the server sees re-survey $name" "$(uses "$BODY")" "$1"
}

# The re-survey: parcel 1 becomes ODT, and a parcel 41 appears.
resurvey pt2 ODT LUA
# Today (UTC) once the re-survey is in, so that its end is after it even
# when the test runs across midnight.
TODAY=$(date -u +%F)

if [ "$CASE" = page ]; then
    parcel_center 9208 1 4 4 # 4 m inside parcel 1's south-west corner: not on its label
    for when in "$PAST" ""; do
        URL="$BASE/#${when:+at=$when&}click=$PLON,$PLAT"
        want=$([ -n "$when" ] && echo ONT || echo ODT)
        chrome --dump-dom "$URL" >dom.html
        DOM=$(cat dom.html)
        contains "page ${when:-now}: the date shown" "$DOM" "data-at=\"$when\""
        contains "  the click identified parcel 1" "$DOM" 'data-state="identified".*data-parcel="1"|data-parcel="1".*data-state="identified"'
        contains "  its land use then: $want" "$DOM" "<td>$want"
        chrome --screenshot="$WORK/shot.png" "$URL" >/dev/null
        GOT=$(png_rgb "$WORK/shot.png" 330 350)
        check "  the tile under the click shows $want (got $GOT)" "$(rgb_near "$GOT" "$(landuse_rgb $want)")" yes
    done
    # (the access log names the parameters, not their values)
    contains "the page asked for tiles at a date" "$(cat "$WORK/server.log")" 'GET /tiles/18/[0-9]+/[0-9]+\.png\?at 200'
    contains "and for the lookup at it" "$(cat "$WORK/server.log")" 'GET /parcels/at\?lon&lat&at 200'
    stop_server
    finish
    exit
fi

# --- lookups: CLI -----------------------------------------------------------
OUT=$("$PARCELDB" lookup --db "$DB" --lon "$LON" --lat "$LAT" --at "$PAST")
check "lookup --lon/--lat --at $PAST: the old land use" "$(uses "$OUT")" ONT
contains "  superseded: it has a valid_to" "$OUT" '"valid_to":"20[0-9][0-9]-'
OUT=$("$PARCELDB" lookup --db "$DB" --lon "$LON" --lat "$LAT" --at "$TODAY")
check "lookup --at today: the new" "$(uses "$OUT")" ODT
OUT=$("$PARCELDB" lookup --db "$DB" --lon "$LON" --lat "$LAT")
check "lookup without --at: the new" "$(uses "$OUT")" ODT
OUT=$("$PARCELDB" lookup --db "$DB" --srs EPSG:9208 --vn-xy "$PY,$PX" --at "$PAST")
check "lookup --vn-xy --at $PAST" "$(uses "$OUT")" ONT
OUT=$("$PARCELDB" lookup --db "$DB" --id 07894/12/1 --at "$PAST")
check "lookup --id 07894/12/1 --at $PAST: one version, the old" "$(uses "$OUT")" ONT
OUT=$("$PARCELDB" lookup --db "$DB" --id 07894/12/1 --at "$TODAY")
check "lookup --id --at today: one version, the new" "$(uses "$OUT")" ODT
OUT=$("$PARCELDB" lookup --db "$DB" --id 07894/12/41 --at "$PAST")
check "parcel 41 did not exist on $PAST" "$(uses "$OUT")" ""
OUT=$("$PARCELDB" lookup --db "$DB" --id 07894/12/41 --at "${TODAY}T23:59:59Z")
check "parcel 41 at the end of today (an instant)" "$(uses "$OUT")" ODT

# --- lookups: HTTP ----------------------------------------------------------
get "/parcels/at?lon=$LON&lat=$LAT&at=$PAST"
check "GET /parcels/at?at=$PAST" "$STATUS $(uses "$BODY")" "200 ONT"
get "/parcels/at?lon=$LON&lat=$LAT&at=$TODAY"
check "GET /parcels/at?at=today" "$STATUS $(uses "$BODY")" "200 ODT"
get "/parcels/at?e=$PX&n=$PY&srs=EPSG:9208&at=$PAST"
check "GET /parcels/at?e&n&srs&at=$PAST" "$STATUS $(uses "$BODY")" "200 ONT"
get "/parcels/07894/12/1?at=$PAST"
check "GET /parcels/07894/12/1?at=$PAST" "$STATUS $(uses "$BODY")" "200 ONT"
get "/parcels/07894/12/1?at=$TODAY"
check "GET /parcels/07894/12/1?at=today" "$STATUS $(uses "$BODY")" "200 ODT"
get "/parcels/07894/12/41?at=$PAST"
check "GET /parcels/07894/12/41?at=$PAST: not yet" "$STATUS" 404
contains "  says at which instant" "$BODY" '"error":"no parcel 07894/12/41 at 2025-12-31T23:59:59.999Z"'

# --- tiles ------------------------------------------------------------------
get "$TILE"
check "current tile after the re-survey" "$STATUS $(landuse_at "$WORK/body")" "200 ODT"
ETAG_NOW=$(header ETag)
get "$TILE?at=$PAST"
check "tile ?at=$PAST: the old land use" "$STATUS $(landuse_at "$WORK/body")" "200 ONT"
ETAG_PAST=$(header ETag)
cp "$WORK/body" past1.png
check "  cached apart: its ETag is not the current tile's" \
    "$([ -n "$ETAG_PAST" ] && [ "$ETAG_PAST" != "$ETAG_NOW" ] && echo differs)" differs
contains "  and is public" "$(header Cache-Control)" '^public, max-age='
get "$TILE?at=$PAST" -H "If-None-Match: $ETAG_PAST"
check "  304 on its ETag" "$STATUS" 304
get "$TILE?at=$TODAY"
check "tile ?at=today is the current tile (same ETag)" "$STATUS $(header ETag)" "200 $ETAG_NOW"
get "/tiles/$Z/$X/$Y.mvt?at=$PAST" -H 'Accept-Encoding: gzip'
check "vector tile ?at=$PAST" "$STATUS" 200
contains "  tagged with its instant" "$(header ETag)" '-at[0-9a-f]+-'

"$PARCELDB" render --db "$DB" --at "$PAST" "$Z/$X/$Y" -o render_past.png 2>/dev/null
check "parceldb render --at $PAST" "$? $(landuse_at render_past.png)" "0 ONT"
"$PARCELDB" render --db "$DB" "$Z/$X/$Y" -o render_now.png 2>/dev/null
check "parceldb render (current)" "$? $(landuse_at render_now.png)" "0 ODT"

# Another re-survey: the settled past keeps its tile, the present moves on.
resurvey pt3 LUA
# (each server thread reads the data version at most every 20 ms)
for _ in 1 2 3 4 5 6 7 8 9 10; do get "$TILE" -H "If-None-Match: $ETAG_NOW" && [ "$STATUS" != 304 ] && break; sleep 0.05; done
check "current tile: a new ETag and LUA" "$STATUS $(landuse_at "$WORK/body")" "200 LUA"
get "$TILE?at=$PAST" -H "If-None-Match: $ETAG_PAST"
check "tile ?at=$PAST after another import: still 304 on its ETag" "$STATUS" 304
get "$TILE?at=$PAST"
check "  the same ETag" "$(header ETag)" "$ETAG_PAST"
check "  the same pixels" "$(cmp -s "$WORK/body" past1.png && echo same)" same

# --- bad input: one line each -----------------------------------------------
# one_line NAME STATUS: the last answer has STATUS and a one-line JSON error.
one_line() {
    check "$1" "$STATUS" "$2"
    contains "  a one-line JSON error" "$BODY" '^\{"error":"[^"]+"\}$'
}
get "/parcels/at?lon=$LON&lat=$LAT&at=2025-13-01"
one_line "lookup ?at=2025-13-01: 400" 400
get "/parcels/07894/12/1?at=yesterday"
one_line "lookup ?at=yesterday: 400" 400
get "/parcels/at?lon=$LON&lat=$LAT&at=2025-02-29"
one_line "lookup ?at=2025-02-29 (not a leap year): 400" 400
get "/parcels/at?lon=$LON&lat=$LAT&at=2020-01-01"
one_line "lookup ?at=2020-01-01, before any data: 404" 404
contains "  names the first data" "$BODY" 'before any data: the store.s first parcels are from 2025-06-01'
get "/parcels/07894/12/1?at=2020-01-01"
one_line "parcel ?at=2020-01-01: 404" 404
get "$TILE?at=2020-01-01"
one_line "tile ?at=2020-01-01: 404" 404
get "$TILE?at=20251231"
one_line "tile ?at=20251231: 400" 400
get "/tiles/10/$((X >> 7))/$((Y >> 7)).png?at=$PAST"
one_line "tile z10 ?at=$PAST (below zoom 12): 400" 400

# cli_one_line NAME COMMAND...: exit 1 and one line on stderr.
cli_one_line() {
    local name=$1 rc
    shift
    "$@" >cli.out 2>cli.err
    rc=$?
    check "$name: exit 1" "$rc" 1
    check "  one line on stderr" "$(wc -l <cli.err)" 1
}
cli_one_line "lookup --at 2025-13-01" "$PARCELDB" lookup --db "$DB" --id 07894/12/1 --at 2025-13-01
cli_one_line "lookup --at 2020-01-01 (before any data)" \
    "$PARCELDB" lookup --db "$DB" --lon "$LON" --lat "$LAT" --at 2020-01-01
contains "  says so" "$(cat cli.err)" 'before any data'
cli_one_line "render --at 2020-01-01" "$PARCELDB" render --db "$DB" --at 2020-01-01 "$Z/$X/$Y" -o x.png
"$PARCELDB" lookup --db "$DB" --points /dev/null --at "$PAST" >/dev/null 2>cli.err
check "lookup --points --at: a usage error" "$?" 2
stop_server
finish
