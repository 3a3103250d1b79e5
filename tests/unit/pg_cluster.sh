#!/usr/bin/env bash
# pg_cluster.sh: a private PostgreSQL + PostGIS cluster for test_pg_store
# when PDB_TEST_PG does not name one (helper C's tests/lib/pg.sh, once
# merged, is the suite's shared one; this is the engine test's own).
#   pg_cluster.sh start DIR   initdb in DIR (made with mktemp -d under /tmp:
#                             the checkout may be 0700 and the server runs as
#                             postgres when we are root), start it on a Unix
#                             socket in DIR only; prints the base conninfo
#                             (no dbname) on stdout.
#   pg_cluster.sh stop DIR    stops it and removes DIR.
# Missing PostgreSQL or PostGIS is a failure naming the package, not a skip.
set -euo pipefail
cmd=$1 dir=$2
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] ||
    { echo "pg_cluster.sh: PostgreSQL is not installed: run scripts/install-deps.sh" >&2; exit 1; }
ver=$(basename "$(dirname "$PG_BIN")")
[ -f "/usr/share/postgresql/$ver/extension/postgis.control" ] ||
    { echo "pg_cluster.sh: PostGIS for PostgreSQL $ver is not installed: run scripts/install-deps.sh" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

case $cmd in
start)
    # The socket lives in DIR, so the port only names its file.
    port=$((20000 + RANDOM % 30000))
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
        --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses= -k $dir -p $port -c fsync=off -c max_connections=40" \
        start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
    echo "host=$dir port=$port user=postgres"
    ;;
stop)
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
esac
