#!/usr/bin/env bash
# Per-commune data versions make the server's invalidation exact: one
# `parceldb import` run commits commune 07894 twice (two re-surveys, the
# second with the same row: same count, same box) and rebuilds its
# overviews, three data versions in all. Tiles of the other commune, 08707,
# at z17 (parcels) and z12 (overviews), stay cached: 304 on their ETag,
# the same ETag, not rendered again. 07894's tiles at both zooms get new
# ETags and are rendered again. `parceldb info --communes` names the
# version each commune last changed at. (Before the versions, the server
# could not account for the three steps and dropped every cached tile.)
source "$(dirname "$0")/lib.sh"

make_store || exit 1
start_server --cache-mb 64 || exit 1

# data_version: the store's, as `parceldb info` prints it.
data_version() { "$PARCELDB" info --db "$DB" | awk '/^data version:/ { print $3 }'; }
# commune_version CODE: the "vN" column of `parceldb info --communes`.
commune_version() {
    "$PARCELDB" info --db "$DB" --communes | awk -v c="$1" '$1 == c { sub(/^v/, "", $4); print $4 }'
}

store_tiles 17
A17=$TILE_A B17=$TILE_B
store_tiles 12
A12=$TILE_A B12=$TILE_B
check "the two communes' z12 tiles differ" "$([ "$A12" != "$B12" ] && echo yes)" yes

declare -A ETAG
for t in "$A17" "$A12" "$B17" "$B12"; do
    get "$t"
    check "$t before" "$STATUS" 200
    ETAG[$t]=$(header ETag)
done
get "$A17"
cp "$WORK/body" a17_before.png
V0=$(data_version)
check "after the first import: 08707 last changed at the store's version" \
    "$(commune_version 08707)" "$V0"

# Two re-surveys of 07894 in one run: 41 parcels each, other land uses.
base_phutho
grid_csv pt2.csv 41 07894 12 ODT LUA
to_gpkg pt2.csv pt2.gpkg 9208
grid_csv pt3.csv 41 07894 12 CLN BHK
to_gpkg pt3.csv pt3.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" pt2.gpkg pt3.gpkg >import2.log 2>&1
check "one run, the same commune twice" "$?" 0
V1=$(data_version)
check "two commits and one rebuild: three versions" "$((V1 - V0))" 3
check "07894 last changed at the rebuild" "$(commune_version 07894)" "$V1"
check "08707 unchanged" "$(commune_version 08707)" "$V0"

# The server follows within a second or at the next tile request; a
# /metrics request does not render anything.
wait_seen "$V1"
RENDERED=$(metric parceldb_tiles_rendered_total)
for t in "$B17" "$B12"; do
    get "$t" -H "If-None-Match: ${ETAG[$t]}"
    check "$t (08707): still 304 on its ETag" "$STATUS" 304
    get "$t"
    check "$t (08707): the same ETag" "$(header ETag)" "${ETAG[$t]}"
done
check "08707's tiles served from the cache, not rendered again" \
    "$(metric parceldb_tiles_rendered_total)" "$RENDERED"
for t in "$A17" "$A12"; do
    get "$t" -H "If-None-Match: ${ETAG[$t]}"
    check "$t (07894): the old ETag no longer matches" "$STATUS" 200
    check "$t (07894): a new ETag" "$([ "$(header ETag)" != "${ETAG[$t]}" ] && echo changed)" changed
done
get "$A17"
check "$A17: new pixels" "$(cmp -s "$WORK/body" a17_before.png && echo same || echo different)" \
    different
if [ "$(metric parceldb_tiles_rendered_total)" -ge $((RENDERED + 2)) ]; then
    ok "07894's tiles were rendered again"
else
    fail "07894's tiles were not rendered again ($RENDERED -> $(metric parceldb_tiles_rendered_total))"
fi
stop_server
contains "the log says only the changed communes' tiles were dropped" "$(cat "$WORK/server.log")" \
    'tiles of the changed communes dropped'
lacks "the log never says every tile was dropped" "$(cat "$WORK/server.log")" \
    'every cached tile dropped'
finish
