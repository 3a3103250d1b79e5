#!/usr/bin/env bash
# A store of schema 1 (before per-commune data versions: made here from a
# new one with sqlite3, the column dropped and user_version 1) is read as
# it is by read-only opens (`parceldb info`, the server), where a change of
# its data version drops every cached tile (nothing says what changed). The
# first read-write open (an import) upgrades it in place to schema 2, each
# commune stamped with the data version of the upgrade; the server, still
# running, then follows exactly: the other commune's tile stays cached.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
sqlite3 "$DB" "ALTER TABLE communes DROP COLUMN data_version; PRAGMA user_version = 1;" ||
    { fail "making a schema 1 store with sqlite3"; finish; exit 1; }

INFO=$("$PARCELDB" info --db "$DB" --communes 2>&1)
check "info reads a schema 1 store" "$?" 0
contains "info says schema 1" "$INFO" '^schema: +1 '
contains "info: 07894 without a version" "$INFO" '^07894 +40 +EPSG:9208 +v\? '
contains "info: 08707 without a version" "$INFO" '^08707 +30 +EPSG:5897 +v\? '
check "a read-only open does not upgrade" "$(sqlite3 "$DB" 'PRAGMA user_version')" 1
V0=$("$PARCELDB" info --db "$DB" | awk '/^data version:/ { print $3 }')

start_server --cache-mb 64 || exit 1
store_tiles 17
A17=$TILE_A B17=$TILE_B
get "$A17"
check "schema 1: tile of 07894" "$STATUS" 200
get "$B17"
check "schema 1: tile of 08707" "$STATUS" 200
ETAG_B=$(header ETag)
get /parcels/07894/12/1
contains "schema 1: lookup by number" "$BODY" '"landuse":"ONT"'

# A write by an engine that does not stamp communes: the version moves,
# nothing says where: every cached tile is dropped.
sqlite3 "$DB" "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'"
wait_seen $((V0 + 1))
get "$B17" -H "If-None-Match: $ETAG_B"
check "schema 1, version moved: tile of 08707 stale" "$STATUS" 200
ETAG_B=$(header ETag)
get "$A17"
ETAG_A=$(header ETag)

# An import upgrades the store, then commits 07894 and rebuilds it.
base_phutho
grid_csv pt2.csv 41 07894 12 ODT LUA
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" pt2.gpkg >import2.log 2>&1
RC=$?
check "import into a schema 1 store" "$RC" 0
[ "$RC" -eq 0 ] || cat import2.log >&2
check "upgraded in place to the current schema (4: the search postings)" "$(sqlite3 "$DB" 'PRAGMA user_version')" 4
INFO=$("$PARCELDB" info --db "$DB" --communes 2>&1)
contains "info says schema 4" "$INFO" '^schema: +4 '
contains "08707 stamped with the version of the upgrade" "$INFO" "^08707 +30 +EPSG:5897 +v$((V0 + 1)) "
contains "07894 stamped with its rebuild" "$INFO" "^07894 +41 +EPSG:9208 +v$((V0 + 3)) "
check "integrity after the upgrade" "$("$PARCELDB" info --db "$DB" --check >/dev/null 2>&1; echo $?)" 0

wait_seen $((V0 + 3))
RENDERED=$(metric parceldb_tiles_rendered_total)
get "$B17" -H "If-None-Match: $ETAG_B"
check "after the upgrade: tile of 08707 still 304 on its ETag" "$STATUS" 304
get "$B17"
check "after the upgrade: tile of 08707 from the cache" "$(metric parceldb_tiles_rendered_total)" \
    "$RENDERED"
get "$A17" -H "If-None-Match: $ETAG_A"
check "after the upgrade: tile of 07894 rendered again" "$STATUS" 200
get /parcels/07894/12/41
check "after the upgrade: the new parcel 41 is served" "$STATUS" 200
get /parcels/07894/12/1
contains "after the upgrade: parcel 1's new land use" "$BODY" '"landuse":"ODT"'
stop_server
finish
