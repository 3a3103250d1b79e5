#!/usr/bin/env bash
# --cache-max-mb: the disk cache stays under its size limit (the apparent
# sizes of its files) while many distinct tiles are asked for, the least
# recently used tiles go first, what is left is still served as valid
# PNGs, and an evicted tile is rendered again when asked for. `parceldb
# seed` honours the same limit.
source "$(dirname "$0")/lib.sh"

# A long strip of 1,000 parcels (250 m x 2.5 km): enough distinct tiles
# with drawing on them at z20, 512 px (@2x), to fill 1 MiB six times over.
new_db || { finish; exit 1; }
"$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; finish; exit 1; }
base_phutho
grid_csv strip.csv 1000 07894 12
to_gpkg strip.csv strip.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" strip.gpkg >import.log 2>&1 ||
    { fail "parceldb import: $(cat import.log)"; finish; exit 1; }

# tiles Z: the z/x/y of every tile of zoom Z over the strip, south to north.
tiles() {
    local z=$1 sw ne
    parcel_center 9208 1 0 0
    sw="$PLON $PLAT"
    parcel_center 9208 1000 20 20
    ne="$PLON $PLAT"
    awk -v z="$z" -v sw="$sw" -v ne="$ne" 'function tx(lon) { return int((lon + 180) / 360 * 2 ^ z) }
        function ty(lat,  r) { r = lat * atan2(0, -1) / 180
            return int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / atan2(0, -1)) / 2 * 2 ^ z) }
        BEGIN { split(sw, a, " "); split(ne, b, " ")
            for (y = ty(a[2]); y >= ty(b[2]); y--) for (x = tx(a[1]); x <= tx(b[1]); x++) print z "/" x "/" y }'
}
# cache_bytes: the apparent size of every file under cache/, as du
# --apparent-size counts them, without the directories themselves.
cache_bytes() { find cache -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
LIMIT=$((1 << 20))
# at_most WHAT N MAX, over WHAT N MIN: numeric checks.
at_most() { if [ "$2" -le "$3" ]; then ok "$1 ($2 <= $3)"; else fail "$1: $2, over $3"; fi; }
over() { if [ "$2" -gt "$3" ]; then ok "$1 ($2 > $3)"; else fail "$1: $2, not over $3"; fi; }

# fetch_all LIST DIR: every z/x/y of LIST as an @2x tile into DIR/z-x-y.png
# (one curl, one connection); prints the status codes, one a line.
fetch_all() {
    mkdir -p "$2"
    awk -v base="$BASE" -v dir="$2" '{ f = $0; gsub("/", "-", f)
        printf "url = \"%s/tiles/%s@2x.png\"\noutput = \"%s/%s.png\"\n", base, $0, dir, f }' "$1" >curl.cfg
    curl -sS --max-time 120 -K curl.cfg -w '%{http_code}\n'
}
# valid_png FILE: a 512 x 512 PNG, as GDAL reads it (grep reads it all:
# -q would stop early and fail gdalinfo's write under pipefail).
valid_png() { gdalinfo "$1" 2>/dev/null | grep -c '^Size is 512, 512$' >/dev/null; }
# tile_file Z/X/Y: the cache's file of that @2x tile, or nothing.
tile_file() { find cache -path "*/${1%/*}/${1##*/}@2x.tile"; }

mkdir cache
tiles 20 >tiles.txt
n=$(wc -l <tiles.txt)
first=$(head -1 tiles.txt)
# --cache-mb 0: no memory cache, so that every answer comes from the disk
# cache or a render.
start_server --cache cache --cache-max-mb 1 --cache-mb 0 || { finish; exit 1; }
check "all $n tiles served" "$(fetch_all tiles.txt got | sort | uniq -c | awk '{ print $2 ":" $1 }')" "200:$n"
written=$(find got -name '*.png' -printf '%s\n' | awk '{ s += $1 + 32 } END { print s + 0 }')
over "the tiles add up to over twice the limit (else the test proves nothing)" "$written" $((2 * LIMIT))
bytes=$(cache_bytes)
at_most "the cache's bytes, under the limit" "$bytes" "$LIMIT"
check "/metrics: the cache's bytes" "$(metric parceldb_tile_disk_bytes)" "$bytes"
ev=$(metric parceldb_tile_disk_evictions_total)
over "/metrics: tiles evicted" "$ev" 0
check "the least recently used tile (the first) was evicted" "$(tile_file "$first")" ""
kept=$(find cache -name '*.tile' | wc -l)
over "tiles kept" "$kept" 10

# What is left is served from the disk, as valid PNGs, without a render.
find cache -name '*@2x.tile' | sed -E 's|.*/([0-9]+)/([0-9]+)/([0-9]+)@2x\.tile$|\1/\2/\3|' >kept.txt
rendered=$(metric parceldb_tiles_rendered_total)
hits=$(metric parceldb_tile_disk_hits_total)
check "the kept tiles are served" "$(fetch_all kept.txt again | sort -u)" 200
bad=0
for f in again/*.png; do valid_png "$f" || bad=$((bad + 1)); done
check "the kept tiles are valid PNGs" "$bad" 0
check "the kept tiles come from the disk" "$(metric parceldb_tile_disk_hits_total)" "$((hits + kept))"
check "the kept tiles are not rendered again" "$(metric parceldb_tiles_rendered_total)" "$rendered"

# The evicted tile is rendered again, and cached again.
get "/tiles/$first@2x.png"
check "the evicted tile: status" "$STATUS" 200
cp body evicted.png
if valid_png evicted.png; then ok "the evicted tile: a valid PNG"; else fail "the evicted tile: not a PNG"; fi
check "the evicted tile: rendered again" "$(metric parceldb_tiles_rendered_total)" "$((rendered + 1))"
check "the evicted tile: in the cache again" "$(tile_file "$first" | wc -l)" 1

# Least recently *used*, not written: two kept tiles made the oldest by
# hand (both times an hour back); one of them is read once. Then 30 new
# tiles (a few batches, fewer than the cache holds) force evictions: the
# one read stays, the other goes. As root, the server sees the cache
# through a noatime mount (a private mount namespace), where reads leave
# the access time alone: only the server's own update keeps the tile.
stop_server
if [ "$(id -u)" -eq 0 ]; then
    SERVE_WRAP=(unshare -m --propagation private sh -c "mount --bind '$WORK/cache' '$WORK/cache' &&
        mount -o remount,bind,noatime '$WORK/cache' && exec \"\$0\" \"\$@\"")
fi
start_server --cache "$WORK/cache" --cache-max-mb 1 --cache-mb 0 || { finish; exit 1; }
# shellcheck disable=SC2034 # read by lib.sh (serve_with_port_file)
SERVE_WRAP=()
read_one=$(sed -n 1p kept.txt)
unread=$(sed -n 2p kept.txt)
touch -d '1 hour ago' "$(tile_file "$read_one")" "$(tile_file "$unread")"
get "/tiles/$read_one@2x.png"
check "an old tile read: status" "$STATUS" 200
ev=$(metric parceldb_tile_disk_evictions_total)
head -30 tiles.txt >more.txt
check "30 evicted tiles asked for again" "$(fetch_all more.txt more | sort -u)" 200
over "more evictions" "$(metric parceldb_tile_disk_evictions_total)" "$ev"
check "the old tile read since stays" "$(tile_file "$read_one" | wc -l)" 1
check "the old tile not read is evicted" "$(tile_file "$unread" | wc -l)" 0
stop_server
bytes=$(cache_bytes)
at_most "after the stop: the cache's bytes" "$bytes" "$LIMIT"

# A restart learns the cache's size with one walk: the count goes on
# from there, not from zero.
start_server --cache cache --cache-max-mb 1 --cache-mb 0 || { finish; exit 1; }
check "restart: /metrics counts what is there" "$(metric parceldb_tile_disk_bytes)" "$bytes"
stop_server

# `parceldb seed` honours the same limit.
parcel_center 9208 1 0 0
west=$PLON south=$PLAT
parcel_center 9208 1000 20 20
"$PARCELDB" seed --db "$DB" --cache seeded --cache-max-mb 1 --zoom 20 --scale 2 --no-progress \
    --bbox "$west,$south,$PLON,$PLAT" >seed.out 2>&1
check "seed: exit status" "$?" 0
bytes=$(find seeded -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
at_most "seed: the cache's bytes" "$bytes" "$LIMIT"
seeded=$(find seeded -name '*.tile' | wc -l)
over "seed: tiles kept" "$seeded" 10
over "seed: tiles evicted" "$n" "$seeded"
"$PARCELDB" seed --cache seeded --cache-max-mb -1 --zoom 20 >seed.out 2>&1
check "seed: a bad limit, exit status" "$?" 2
finish
