#!/usr/bin/env bash
# The disk cache and `parceldb seed`: seeded tiles are served without a
# render; a re-import (with the server running, or while it is stopped)
# makes exactly the changed commune's tiles render again, never serving a
# stale one from disk; the other commune's tiles keep coming from disk.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
CACHE="$WORK/cache"

store_tiles 17

# --- seeding
OUT=$("$PARCELDB" seed --db "$DB" --cache "$CACHE" --zoom 14-17 --progress 2>&1)
check "seed: exit 0" "$?" 0
contains "seed: a progress bar" "$OUT" 'seed \[#+\] 100\.0%'
contains "seed: a summary" "$OUT" 'parceldb seed: [0-9]+ tiles, z14-17: [1-9][0-9]* rendered, 0 already current, 0 failed'
SEEDED=$(grep -o '[0-9]* rendered' <<<"$OUT" | grep -o '[0-9]*')
OUT=$("$PARCELDB" seed --db "$DB" --cache "$CACHE" --zoom 14-17 --no-progress 2>&1)
contains "seed again: nothing to do" "$OUT" ": 0 rendered, $SEEDED already current, 0 failed"
lacks "seed --no-progress: no bar" "$OUT" 'seed \['
OUT=$("$PARCELDB" seed --db "$DB" --zoom 14-17 2>&1)
check "seed without --cache: usage error" "$?" 2
OUT=$("$PARCELDB" seed --db "$DB" --cache "$CACHE" --zoom 17-14 2>&1)
check "seed with zooms backwards: usage error" "$?" 2
OUT=$("$PARCELDB" seed --db "$DB" --cache "$CACHE" --zoom 0-20 --max-tiles 1000 2>&1)
check "seed over --max-tiles: refused" "$?" 1
contains "seed over --max-tiles: says so" "$OUT" 'more than the limit of 1000'
check "seed refusal: one line" "$(wc -l <<<"$OUT")" 1

# --- serving seeded tiles
start_server --cache "$CACHE" || exit 1
get "$TILE_A"
check "seeded tile A: 200" "$STATUS" 200
ETAG_A=$(header ETag)
get "$TILE_B"
ETAG_B=$(header ETag)
check "seeded tiles: none rendered" "$(metric parceldb_tiles_rendered_total)" 0
check "seeded tiles: read from disk" "$(metric parceldb_tile_disk_hits_total)" 2

# --- a re-import while the server runs
base_phutho
grid_csv pt2.csv 40 07894 12 ODT LUA
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" pt2.gpkg >import2.log 2>&1
check "re-import 07894" "$?" 0
get "$TILE_A"
check "tile A after the import: rendered again, not the disk's" "$(metric parceldb_tiles_rendered_total)" 1
check "tile A after the import: a new ETag" "$([ "$(header ETag)" != "$ETAG_A" ] && echo new)" new
NEW_A=$(header ETag)
get "$TILE_B" -H "If-None-Match: $ETAG_B"
check "tile B: still current (304)" "$STATUS" 304
stop_server

# --- a restart: the state on disk carries the change log over
start_server --cache "$CACHE" || exit 1
get "$TILE_A"
check "after a restart: tile A from disk" "$(header ETag)" "$NEW_A"
get "$TILE_B"
check "after a restart: tile B from disk" "$(header ETag)" "$ETAG_B"
check "after a restart: nothing rendered" "$(metric parceldb_tiles_rendered_total)" 0
stop_server

# --- a re-import while the server is stopped
base_vinhphuc
grid_csv vp2.csv 30 08707 3 CLN
to_gpkg vp2.csv vp2.gpkg 5897
"$PARCELDB" import --quiet --db "$DB" vp2.gpkg >import3.log 2>&1
check "re-import 08707 while stopped" "$?" 0
start_server --cache "$CACHE" || exit 1
get "$TILE_B"
check "tile B changed while stopped: rendered again" "$(metric parceldb_tiles_rendered_total)" 1
check "tile B: a new ETag" "$([ "$(header ETag)" != "$ETAG_B" ] && echo new)" new
get "$TILE_A"
check "tile A (unchanged meanwhile): still from disk" "$(header ETag)" "$NEW_A"
check "tile A: not rendered" "$(metric parceldb_tiles_rendered_total)" 1
stop_server
finish
