#!/usr/bin/env bash
# Bad PostgreSQL locations and databases through the parceldb command
# (issue 17, "Bad input"): an unreachable server, a malformed URL, a
# database that does not exist, a database without PostGIS, a store of
# another schema version, a role that may only read. Each is one line on
# stderr and a non-zero exit (tests/cli/lib.sh: expect_error), and psql
# then shows that nothing was half-written: no schema left by a failed
# init, no import batch, parcel or data version change left by a refused
# import.
. "$(dirname "$0")/../cli/lib.sh"
: "${PDB_BINARY_DIR:?}"
[ "$PDB_TEST_STORE" = pg ] || { echo "pg_bad_input runs on the test cluster (PDB_TEST_STORE=pg)" >&2; exit 1; }
P=$PARCELDB
export CPL_LOG=/dev/null

# A survey written by GDAL (pdb-synth): commune 07894, 60 parcels.
expect_ok "$PDB_BINARY_DIR/samples/pdb-synth" --out "$TMP/src" --communes 07894 \
    --parcels-per-commune 60 --defects none --quiet || { finish; exit 1; }

# q DB SQL: one value from a database of the cluster (psql).
q() { pg_psql "$1" -c "$2" 2>&1; }

# has_schema DB: 1 when the database holds the schema parceldb.
has_schema() { q "$1" "SELECT count(*) FROM pg_namespace WHERE nspname = 'parceldb'"; }

# --- Where no store can be reached --------------------------------------

# No server on that socket (a directory with no socket in it), no server
# on that TCP port (1: nothing listens there), a host name that does not
# resolve: libpq's first line, one line.
expect_error "connect|connection|no such file" \
    "$P" info --db "postgresql:///parcels?host=$TMP&port=1&user=postgres"
expect_error "connect|connection|refused" \
    "$P" info --db "host=127.0.0.1 port=1 dbname=parcels user=postgres connect_timeout=5"
expect_error "connect|translate host name|resolve|unknown" \
    "$P" lookup --db "postgresql://no-such-host.invalid/parcels?connect_timeout=5" --lon 105.4 --lat 21.3
# A malformed URL and a conninfo with an unknown keyword: libpq's parser.
expect_error "invalid|URI|unexpected|port" \
    "$P" info --db "postgresql://[::1/parcels?host=$PDB_PG_DIR"
expect_error "invalid|option|no_such_keyword" \
    "$P" info --db "host=$PDB_PG_DIR port=$PDB_PG_PORT dbname=postgres no_such_keyword=1"
# init on an unreachable server: the same, and nothing anywhere to check.
expect_error "connect|connection|no such file" \
    "$P" init --db "postgresql:///parcels?host=$TMP&port=1&user=postgres"

# A database that does not exist: neither opened nor created (init does
# not create databases: that is the administrator's CREATE DATABASE).
missing=nosuchdb_$$_$RANDOM
expect_error "does not exist|$missing" "$P" info --db "$(pg_location "$missing")"
expect_error "does not exist|$missing" "$P" init --db "$(pg_location "$missing")"
expect_eq "no database made by init" \
    "$(q postgres "SELECT count(*) FROM pg_database WHERE datname = '$missing'")" 0

# --- A database that is not a parceldb store ------------------------------

# Without PostGIS (made from template0), owned by a role that is not a
# superuser, as a database an administrator hands over: init cannot
# create the extension (PostGIS is not a trusted extension), refuses in
# one line naming PostGIS, and leaves no schema behind; the other commands
# say there is no store.
q postgres "CREATE ROLE owner_$$ LOGIN" >/dev/null
nopostgis_db=nopostgis_$$_$RANDOM
q postgres "CREATE DATABASE $nopostgis_db OWNER owner_$$ TEMPLATE template0" >/dev/null
nopostgis="postgresql:///$nopostgis_db?host=$PDB_PG_DIR&port=$PDB_PG_PORT&user=owner_$$"
expect_error "postgis" "$P" init --db "$nopostgis"
expect_eq "without PostGIS: no schema parceldb left by init" "$(has_schema "$nopostgis_db")" 0
expect_eq "without PostGIS: no extension installed by init" \
    "$(q "$nopostgis_db" "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")" 0
expect_error "not a parceldb store|no parceldb|postgis" "$P" info --db "$nopostgis"
expect_error "not a parceldb store|no parceldb|postgis" \
    "$P" import --quiet --db "$nopostgis" "$TMP/src"
expect_eq "without PostGIS: no schema parceldb left by import" "$(has_schema "$nopostgis_db")" 0

# With PostGIS but no store in it: not a parceldb store.
empty=$(pg_new_db empty) || { fail "an empty database"; finish; exit 1; }
expect_error "not a parceldb store|no parceldb|schema" "$P" info --db "$empty"
expect_error "not a parceldb store|no parceldb|schema" "$P" lookup --db "$empty" --lon 105.4 --lat 21.3
expect_eq "an empty database: no schema made by a read" "$(has_schema "$(pg_db_name "$empty")")" 0

# A schema parceldb of another application (what a store's meta says).
other=$(pg_new_db other) || { fail "a database with another schema"; finish; exit 1; }
q "$(pg_db_name "$other")" "CREATE SCHEMA parceldb; CREATE TABLE parceldb.t (x int)" >/dev/null
expect_error "not a parceldb store|another application|meta" "$P" info --db "$other"
expect_error "already|exists|another" "$P" init --db "$other"
expect_eq "another application's schema: untouched by init" \
    "$(q "$(pg_db_name "$other")" "SELECT string_agg(relname, ',') FROM pg_class WHERE relnamespace = 'parceldb'::regnamespace")" t

# --- A store, then a schema of another version ----------------------------

store=$(pg_new_db store) || { fail "a store database"; finish; exit 1; }
sdb=$(pg_db_name "$store")
expect_ok "$P" init --db "$store"
expect_error "already|exists" "$P" init --db "$store"
expect_ok "$P" import --quiet --no-overviews --db "$store" "$TMP/src"

# state: what a half-written import would change: batches, parcel rows,
# the data version.
state() {
    q "$sdb" "SELECT (SELECT count(*) FROM parceldb.import_batches) || '/' ||
        (SELECT count(*) FROM parceldb.parcels) || '/' ||
        (SELECT value FROM parceldb.meta WHERE key = 'data_version')"
}
before=$(state)
expect_eq "the store after one import: 1 batch, 60 parcels" "${before%/*}" "1/60"

# A newer engine's store (schema_version 99): every command refuses in one
# line naming the version, and an import writes nothing.
q "$sdb" "UPDATE parceldb.meta SET value = '99' WHERE key = 'schema_version'" >/dev/null
expect_error "version|schema" "$P" info --db "$store"
expect_error "version|schema" "$P" lookup --db "$store" --lon 105.4 --lat 21.3
expect_error "version|schema" "$P" import --quiet --force --db "$store" "$TMP/src"
expect_eq "schema 99: nothing written by the import" "$(state)" "$before"
# An older one (0): refused the same way, not upgraded by a reader.
q "$sdb" "UPDATE parceldb.meta SET value = '0' WHERE key = 'schema_version'" >/dev/null
expect_error "version|schema" "$P" info --db "$store"
expect_eq "schema 0: not changed by info" \
    "$(q "$sdb" "SELECT value FROM parceldb.meta WHERE key = 'schema_version'")" 0
q "$sdb" "UPDATE parceldb.meta SET value = '1' WHERE key = 'schema_version'" >/dev/null
expect_ok "$P" info --db "$store"

# --- A role that may only read --------------------------------------------

# reader: LOGIN, USAGE on the schema and SELECT on its tables, nothing more
# (what an administrator gives a map server's role).
q "$sdb" "CREATE ROLE reader_$$ LOGIN;
    GRANT USAGE ON SCHEMA parceldb TO reader_$$;
    GRANT SELECT ON ALL TABLES IN SCHEMA parceldb TO reader_$$" >/dev/null
as_reader="postgresql:///$sdb?host=$PDB_PG_DIR&port=$PDB_PG_PORT&user=reader_$$"
# It reads: info and a lookup work as for the owner.
expect_ok "$P" info --db "$as_reader"
expect_eq "the reader sees what the owner sees" "$(cat "$TMP/out")" \
    "$("$P" info --db "$store" 2>&1)"
# It cannot write: the import is one line (permission), and nothing of it
# is in the store, not even a batch row marked failed.
expect_error "permission|read-only|denied|rights" \
    "$P" import --quiet --force --db "$as_reader" "$TMP/src"
expect_eq "the reader's import: nothing written" "$(state)" "$before"
# Nor can it make a store in a database of its own without CREATE rights.
fresh=$(pg_new_db fresh) || { fail "a fresh database"; finish; exit 1; }
fdb=$(pg_db_name "$fresh")
expect_error "permission|denied|rights" \
    "$P" init --db "postgresql:///$fdb?host=$PDB_PG_DIR&port=$PDB_PG_PORT&user=reader_$$"
expect_eq "the reader's init: no schema" "$(has_schema "$fdb")" 0

finish
