# pg.sh: a private PostgreSQL + PostGIS cluster for the benchmarks, sourced
# by bench/lookup/run.sh (after bench/lib.sh). The cluster lives in
# $WORK/pg, listens only on a Unix socket in $WORK/pgsock (no TCP, so its
# port cannot clash with anything: the port only names the socket file) and
# is stopped by pg_stop, which the caller puts in its EXIT trap. Run as
# root, the server runs as the postgres user (initdb refuses root).

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGDATA_DIR=$WORK/pg
PGSOCK_DIR=$WORK/pgsock
PG_PORT=${PG_PORT:-55432}
PG_STARTED=

pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_conninfo() { # pg_conninfo DBNAME
    echo "host=$PGSOCK_DIR port=$PG_PORT dbname=$1 user=postgres"
}

pg_psql() { # pg_psql DBNAME SQL...
    local db=$1
    shift
    psql -X -q -v ON_ERROR_STOP=1 "$(pg_conninfo "$db")" "$@"
}

# Starts the cluster (initdb on first use). Fails with a clear message when
# PostgreSQL or PostGIS is missing: a benchmark that quietly skipped its
# anchor would prove nothing.
pg_start() {
    local ver
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb):" \
            "run bench/setup.sh or scripts/install-deps.sh (postgresql, postgis, libpq-dev)" >&2
        return 1
    fi
    ver=$(basename "$(dirname "$PG_BIN")")
    if [ ! -f "/usr/share/postgresql/$ver/extension/postgis.control" ]; then
        echo "PostGIS for PostgreSQL $ver is not installed:" \
            "run bench/setup.sh or scripts/install-deps.sh (postgresql-$ver-postgis-3)" >&2
        return 1
    fi
    command -v psql >/dev/null || { echo "psql is missing (postgresql-client)" >&2; return 1; }
    mkdir -p "$PGSOCK_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "no postgres user (the postgresql package makes it)" >&2; return 1; }
        mkdir -p "$PGDATA_DIR"
        chown postgres "$PGDATA_DIR" "$PGSOCK_DIR"
    fi
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        pg_as "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C \
            --no-sync >"$WORK/pg-initdb.log" 2>&1 ||
            { cat "$WORK/pg-initdb.log" >&2; return 1; }
    fi
    # A server left running by an interrupted run of this script is stopped.
    pg_as "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1 &&
        pg_as "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
    # shared_buffers holds the largest table (the 4x province's 3.1 million
    # parcels) so that the timed runs read memory, as parceldb's do (the
    # page cache). fsync=off only speeds up the load; the timed runs read.
    # No parallel workers: on the 4x province the planner otherwise starts
    # one for each point (its ST_Contains estimate is 0.1% of the rows),
    # which costs milliseconds a lookup; a user tuning for lookups turns it off.
    pg_as "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 120 \
        -o "-c listen_addresses= -k $PGSOCK_DIR -p $PG_PORT -c shared_buffers=${PG_SHARED_BUFFERS:-2GB} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off -c max_parallel_workers_per_gather=0 -c max_connections=20" \
        start >/dev/null || { tail -20 "$PGDATA_DIR/server.log" >&2; return 1; }
    PG_STARTED=1
}

pg_stop() {
    [ -n "$PG_STARTED" ] || return 0
    pg_as "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
    PG_STARTED=
}

# pg_load DBNAME STORE: the store's current parcels in table parcels of
# database DBNAME, with a GiST index, analysed. Skipped when the database
# already holds these very parcels (same count, largest id and sum of ids
# of the current parcels: a re-import gives new ids; derived data such as
# the lookup index does not matter).
pg_load() {
    local db=$1 store=$2 stamp want have
    stamp=$(sqlite3 -separator : "$store" "SELECT total(id), max(id), count(*) FROM parcels WHERE valid_to IS NULL")
    have=$(pg_psql postgres -At -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db'")
    if [ "$have" = "$stamp" ]; then
        return 0
    fi
    pg_psql postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    pg_psql "$db" -c "CREATE EXTENSION postgis"
    # What a user would run: ogr2ogr from the store, current parcels only.
    ogr2ogr -f PostgreSQL PG:"$(pg_conninfo "$db")" "$store" \
        -sql "SELECT id, commune, sheet, parcel, geom FROM parcels WHERE valid_to IS NULL" \
        -nln parcels -nlt MULTIPOLYGON -a_srs EPSG:4326 \
        -lco GEOMETRY_NAME=geom -lco FID=fid -lco SPATIAL_INDEX=NONE --config PG_USE_COPY YES
    pg_psql "$db" -c "CREATE INDEX parcels_geom_gist ON parcels USING gist (geom)" \
        -c "ANALYZE parcels" -c "COMMENT ON DATABASE $db IS '$stamp'"
    want=${stamp##*:}
    have=$(pg_psql "$db" -At -c "SELECT count(*) FROM parcels")
    [ "$have" = "$want" ] || { echo "PostGIS holds $have of $want parcels" >&2; return 1; }
}
