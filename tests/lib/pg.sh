# pg.sh: the test suite's private PostgreSQL + PostGIS cluster. Sourced,
# not run.
#
# One cluster serves a whole CTest run: the fixture test pg_cluster_start
# (tests/pg/cluster.sh start STATE) starts it and writes where it listens
# into the state file STATE in the build tree; every test labelled `pg`
# requires that fixture and finds the cluster through PDB_PG_STATE (set by
# tests/pg.cmake); pg_cluster_stop removes it once they are done.
#
# The cluster is a fresh initdb in a `mktemp -d` under /tmp, never in the
# checkout: the checkout may be 0700 (CI tests a root-only clone), and the
# server runs as the user postgres when we are root (initdb refuses root),
# so it could not reach anything in there. It listens on a Unix socket in
# that directory only (listen_addresses=''), with fsync off (a test
# cluster lives for minutes; a crash only loses the run). Trust
# authentication: the socket's directory is reachable only by us (0700 as
# an ordinary user; as root, postgres's own, which only root and postgres
# enter), and every test connects as the superuser postgres.
#
# Missing PostgreSQL, PostGIS or their client tools are a failure with a
# message naming the package, never a skip: scripts/install-deps.sh
# installs them all.

# pg_bin: sets PG_BIN to the newest installed server's bin directory and
# checks that everything the suite uses is there; fails with one line
# naming the missing package otherwise.
pg_bin() {
    local ver need file pkg
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    ver=$(basename "$(dirname "${PG_BIN:-/none/bin}")")
    # What the suite runs, each with the Debian package that brings it.
    for need in "${PG_BIN:-/usr/lib/postgresql/VERSION/bin}/initdb:postgresql" \
        "/usr/share/postgresql/$ver/extension/postgis.control:postgresql-$ver-postgis-3" \
        "$(command -v psql || echo psql):postgresql-client" \
        "$(command -v pg_dump || echo pg_dump):postgresql-client" \
        "$(command -v pg_restore || echo pg_restore):postgresql-client"; do
        file=${need%:*} pkg=${need##*:}
        [ -e "$file" ] ||
            { echo "pg.sh: $file is missing: run scripts/install-deps.sh (package $pkg)" >&2; return 1; }
    done
}

# pg_as DIR CMD...: runs CMD as the cluster's owner, from DIR: postgres
# when we are root, ourselves otherwise. From DIR because initdb and
# pg_ctl look up their working directory, which postgres cannot do in a
# 0700 checkout ("could not identify current directory").
pg_as() {
    local dir=$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

# pg_cluster_start STATE: initdb and start a cluster, make the template
# database pdb_template (PostGIS installed), and write STATE, a file of
# shell assignments: PDB_PG_DIR (the cluster's directory: data/ and the
# socket), PDB_PG_PORT, PDB_PG_BIN. A cluster an interrupted run left
# behind under the same STATE is stopped and removed first.
pg_cluster_start() {
    local state=$1 dir port
    pg_bin || return 1
    [ ! -f "$state" ] || pg_cluster_stop "$state"
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "pg.sh: no user postgres (the postgresql package makes it)" >&2
        return 1
    fi
    dir=$(mktemp -d /tmp/pdb-pg.XXXXXX) || return 1
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    # The socket is in a directory of its own, so the port only names its
    # file and any number is free; a random one keeps PostgreSQL's System V
    # shared memory key apart from other clusters' (it would step past a
    # taken key anyway).
    port=$((20000 + RANDOM % 30000))
    if ! pg_as "$dir" "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        echo "pg.sh: initdb failed: $(tail -3 "$dir/initdb.log" | tr '\n' ' ')" >&2
        rm -rf "$dir"
        return 1
    fi
    if ! pg_as "$dir" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses= -k $dir -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c jit=off" \
        start >/dev/null 2>&1; then
        echo "pg.sh: the server did not start: $(tail -3 "$dir/server.log" | tr '\n' ' ')" >&2
        rm -rf "$dir"
        return 1
    fi
    printf 'PDB_PG_DIR=%q\nPDB_PG_PORT=%q\nPDB_PG_BIN=%q\n' "$dir" "$port" "$PG_BIN" >"$state"
    PDB_PG_DIR=$dir PDB_PG_PORT=$port PDB_PG_BIN=$PG_BIN
    # Every test database is a copy of this one: CREATE EXTENSION postgis
    # once (about a second) instead of once per test.
    pg_psql postgres -c "CREATE DATABASE pdb_template" &&
        pg_psql pdb_template -c "CREATE EXTENSION postgis" &&
        pg_psql postgres -c "ALTER DATABASE pdb_template WITH ALLOW_CONNECTIONS false" ||
        { pg_cluster_stop "$state"; return 1; }
    echo "pg.sh: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') with PostGIS" \
        "$(pg_psql postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")" \
        "on $dir/.s.PGSQL.$port"
}

# pg_cluster_stop STATE: stops the cluster STATE names (and its standby,
# pg_standby_start) and removes its directory and STATE.
pg_cluster_stop() {
    local state=$1 PDB_PG_DIR= PDB_PG_PORT= PDB_PG_BIN=
    [ -f "$state" ] || return 0
    # shellcheck disable=SC1090
    . "$state"
    if [ -n "$PDB_PG_DIR" ] && [ -f "$PDB_PG_DIR/standby/postmaster.pid" ]; then
        pg_as / "$PDB_PG_BIN/pg_ctl" -D "$PDB_PG_DIR/standby" -m immediate -w stop >/dev/null 2>&1
    fi
    if [ -n "$PDB_PG_DIR" ] && [ -d "$PDB_PG_DIR/data" ]; then
        pg_as "$PDB_PG_DIR" "$PDB_PG_BIN/pg_ctl" -D "$PDB_PG_DIR/data" -m immediate -w stop \
            >/dev/null 2>&1
    fi
    case $PDB_PG_DIR in /tmp/pdb-pg.*) rm -rf "$PDB_PG_DIR" ;; esac
    rm -f "$state"
}

# pg_attach: reads the state file PDB_PG_STATE (the running cluster of
# this CTest run) and checks that the cluster answers; fails with one line
# otherwise. Run by hand, outside CTest, start one first:
#   bash tests/pg/cluster.sh start /tmp/pg.state; export PDB_PG_STATE=/tmp/pg.state
pg_attach() {
    if [ -z "${PDB_PG_STATE:-}" ] || [ ! -f "$PDB_PG_STATE" ]; then
        echo "pg.sh: no running test cluster (PDB_PG_STATE='${PDB_PG_STATE:-}'):" \
            "run the test through ctest, which starts one (the fixture pg_cluster_start)" >&2
        return 1
    fi
    pg_bin || return 1
    # shellcheck disable=SC1090
    . "$PDB_PG_STATE"
    pg_psql postgres -c "SELECT 1" >/dev/null ||
        { echo "pg.sh: the test cluster in $PDB_PG_DIR does not answer" >&2; return 1; }
}

# pg_location DBNAME [FORM]: the location string of a database of the
# cluster for `parceldb --db`: FORM url (the default:
# postgresql:///DB?host=...&port=...&user=postgres, no spaces, so it
# passes through any quoting) or conninfo (host=... port=... dbname=...).
pg_location() {
    if [ "${2:-url}" = conninfo ]; then
        echo "host=$PDB_PG_DIR port=$PDB_PG_PORT dbname=$1 user=postgres"
    else
        echo "postgresql:///$1?host=$PDB_PG_DIR&port=$PDB_PG_PORT&user=postgres"
    fi
}

# pg_psql DBNAME ARGS...: psql on a database of the cluster as postgres,
# unaligned, tuples only, stopping at the first error.
pg_psql() {
    local db=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 "host=$PDB_PG_DIR port=$PDB_PG_PORT dbname=$db user=postgres" "$@"
}

# pg_new_db NAME [TEMPLATE]: makes a new database (with PostGIS: a copy of
# pdb_template; TEMPLATE template0 for one without) named NAME plus a
# suffix unique to this process, and prints its location (pg_location).
# PG_DB is set to the name only when called directly, not in $(...): use
# pg_db_name on the location for that.
pg_new_db() {
    local name
    name=$(printf '%s_%s_%s' "$1" "$$" "$RANDOM" | tr 'A-Z-' 'a-z_')
    pg_psql postgres -c "CREATE DATABASE $name TEMPLATE ${2:-pdb_template}" >/dev/null || return 1
    PG_DB=$name
    pg_location "$name"
}

# pg_db_name LOCATION: the database name of a location pg_location made.
pg_db_name() {
    local loc=$1
    case $loc in
    postgresql:///*) loc=${loc#postgresql:///} && echo "${loc%%\?*}" ;;
    *) sed -n 's/.*dbname=\([^ ]*\).*/\1/p' <<<"$loc" ;;
    esac
}

# pg_standby_start: makes a hot standby of the running cluster with
# scripts/pg-replica.sh, as an operator would, and starts it: in
# $PDB_PG_DIR/standby (where postgres may go when we are root; the
# test's own directory is root's then), on the next port, its socket in
# that directory. Sets PG_SB_DIR, PG_SB_PORT and PG_SB_LOG (its server
# log); pg_cluster_stop stops it too. Fails with one line on stderr.
pg_standby_start() {
    PG_SB_DIR=$PDB_PG_DIR/standby PG_SB_PORT=$((PDB_PG_PORT + 1))
    PG_SB_LOG=$PG_SB_DIR/standby.log
    local out
    out=$(bash "$PDB_SOURCE_DIR/scripts/pg-replica.sh" \
        --primary "host=$PDB_PG_DIR port=$PDB_PG_PORT user=postgres" \
        --dir "$PG_SB_DIR" --port "$PG_SB_PORT" 2>&1) ||
        { echo "pg-replica.sh: $out" >&2; return 1; }
    # Its last line is the location it tells the operator to use.
    case $(tail -1 <<<"$out") in
    *"host=$PG_SB_DIR port=$PG_SB_PORT"*) ;;
    *) echo "pg-replica.sh did not print the standby's location: $(tail -1 <<<"$out")" >&2
       return 1 ;;
    esac
}

# pg_standby_replayed DBNAME: 0 once the standby has replayed all the
# primary has written (10 s at most), 1 otherwise.
pg_standby_replayed() {
    local lsn
    lsn=$(pg_psql postgres -c "SELECT pg_current_wal_lsn()") || return 1
    for _ in $(seq 1 100); do
        [ "$(psql -X -At "host=$PG_SB_DIR port=$PG_SB_PORT dbname=$1 user=postgres" \
            -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && return 0
        sleep 0.1
    done
    return 1
}

# pg_own_cluster: for a server test (tests/server/lib.sh) that stops,
# replicates or promotes its cluster, so must not share the suite's:
# starts one of its own (STATE=$WORK/pg.state, sourced here), stopped
# with its standby at exit before lib.sh's cleanup. Exits the test when
# the cluster cannot start.
pg_own_cluster() {
    pg_bin || exit 1
    STATE=$WORK/pg.state
    trap 'pg_cluster_stop "$STATE"; cleanup' EXIT
    pg_cluster_start "$STATE" >/dev/null || exit 1
    # shellcheck disable=SC1090
    . "$STATE"
}
