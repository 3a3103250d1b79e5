#!/usr/bin/env bash
# A replica reading a hot standby (issue 17, "Stateless replicas"): a
# cluster of this test's own as the primary, a standby of it made and
# started by scripts/pg-replica.sh, `parceldb serve --db` the standby. An
# import on the primary shows on the replica once the standby has
# replayed it (no NOTIFY reaches a standby: the engine's 1 s poll): its
# data version, the lookup answer and the new parcel.
source "$(dirname "$0")/../server/lib.sh"
source "$PDB_SOURCE_DIR/tests/lib/pg.sh"

pg_own_cluster

# The store on the primary: 07894, 40 parcels.
DB=$(pg_new_db standby) || exit 1
DBNAME=$(pg_db_name "$DB")
"$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; exit 1; }
base_phutho
grid_csv pt.csv 40 07894 12
to_gpkg pt.csv pt.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" pt.gpkg >import.log 2>&1 ||
    { fail "parceldb import: $(cat import.log)"; exit 1; }

# The standby (scripts/pg-replica.sh, which prints its location).
pg_standby_start || { fail "the standby"; exit 1; }
ok "pg-replica.sh made the standby and printed its location"
SBLOC="host=$PG_SB_DIR port=$PG_SB_PORT dbname=$DBNAME user=postgres"
check "the standby is in recovery" \
    "$(psql -X -At "$SBLOC" -c 'SELECT pg_is_in_recovery()')" t
pg_standby_replayed "$DBNAME" || fail "the standby did not replay the import"

DB=$SBLOC
start_server --threads 2 || exit 1
parcel_center 9208 1
LOOKUP="/parcels/at?lon=$PLON&lat=$PLAT"
get "$LOOKUP"
contains "lookup on the standby's replica" "$BODY" '"landuse":"ONT"'
get /health
check "/health of the standby's replica" "$STATUS" 200
contains "its database is ok" "$BODY" '"database":"ok"'
V1=$(sed -n 's/.*"data_version":\([0-9]*\).*/\1/p' <<<"$BODY")

# A re-import on the primary.
grid_csv pt2.csv 41 07894 12 ODT LUA
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --quiet --db "$(pg_location "$DBNAME")" pt2.gpkg >import.log 2>&1 ||
    { fail "the re-import: $(cat import.log)"; exit 1; }
pg_standby_replayed "$DBNAME" || fail "the standby did not replay the re-import"
for _ in $(seq 1 100); do
    get /health
    V2=$(sed -n 's/.*"data_version":\([0-9]*\).*/\1/p' <<<"$BODY")
    [ "${V2:-0}" -gt "$V1" ] && break
    sleep 0.1
done
[ "${V2:-0}" -gt "$V1" ] && ok "the replica's data version moved ($V1 -> $V2)" ||
    fail "the replica's data version stayed $V1"
# Each worker reads the version at most every PDB_PG_DV_POLL_MS (1 s) on
# a standby, and a public lookup trusts the version its worker read: the
# worker that answers may not be the one /health asked, so the answer
# comes within the poll, not at once.
for _ in $(seq 1 30); do
    get "$LOOKUP"
    grep -q '"landuse":"ODT"' <<<"$BODY" && break
    sleep 0.1
done
contains "the lookup answers the re-import within the poll" "$BODY" '"landuse":"ODT"'
get /parcels/07894/12/41
check "parcel 41 of the re-import" "$STATUS" 200

stop_server
finish
