#!/usr/bin/env bash
# pg-replica.sh: makes a streaming-replication hot standby of a PostgreSQL
# primary and starts it, for `parceldb serve` replicas that read a standby
# instead of the primary (docs/scale-out.md).
#
#   scripts/pg-replica.sh --primary CONNINFO --dir DIR [--port PORT]
#                         [--socket-dir DIR] [--listen ADDRESSES]
#
# --primary   how to reach the primary for replication, a libpq conninfo
#             or URI (e.g. "host=db1 user=replicator"); the role needs the
#             REPLICATION attribute and the primary's pg_hba.conf a
#             "replication" line for it
# --dir       the standby's data directory: must not exist or be empty
# --port      the standby's port (default 5433)
# --socket-dir  where its Unix socket goes (default: DIR)
# --listen    listen_addresses (default '': the Unix socket only)
#
# pg_basebackup -R copies the primary and writes the standby's connection
# to it (primary_conninfo, standby.signal); WAL is streamed during the copy
# (-X stream), so the copy is consistent without archiving. The standby
# then runs from DIR with its own port and socket, read-only (hot
# standby), and follows the primary until stopped:
#   pg_ctl -D DIR stop
# Run as the user that owns the PostgreSQL files (as root: the user
# postgres, which this script switches to). Prints the location for
# `parceldb serve --db` on the last line.
set -euo pipefail

PRIMARY= DIR= PORT=5433 SOCKDIR= LISTEN=
while [ $# -gt 0 ]; do
    case $1 in
    --primary) PRIMARY=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --socket-dir) SOCKDIR=$2; shift 2 ;;
    --listen) LISTEN=$2; shift 2 ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pg-replica.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$PRIMARY" ] && [ -n "$DIR" ] || { echo "pg-replica.sh: --primary and --dir are required (see --help)" >&2; exit 2; }
case $PORT in '' | *[!0-9]*) echo "pg-replica.sh: --port takes a number" >&2; exit 2 ;; esac
if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    echo "pg-replica.sh: $DIR is not empty; a standby is made into a new directory" >&2
    exit 1
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/pg_ctl" ] && [ -x "$BIN/pg_basebackup" ] ||
    { echo "pg-replica.sh: no PostgreSQL server found under /usr/lib/postgresql (package postgresql)" >&2; exit 1; }
DIR=$(realpath -m "$DIR")
SOCKDIR=$(realpath -m "${SOCKDIR:-$DIR}")

# as CMD...: CMD as the owner of the files (postgres when we are root),
# from a directory that user can enter.
as() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}
mkdir -p "$DIR" "$SOCKDIR"
chmod 700 "$DIR"
[ "$(id -u)" -ne 0 ] || chown postgres: "$DIR" "$SOCKDIR"

if ! as "$BIN/pg_basebackup" -D "$DIR" -R -X stream --checkpoint=fast --no-password \
    -d "$PRIMARY" 2>"$DIR.basebackup.log"; then
    echo "pg-replica.sh: pg_basebackup failed: $(head -1 "$DIR.basebackup.log")" >&2
    exit 1
fi
rm -f "$DIR.basebackup.log"
# Its own place to listen, and the limits a standby must have at least as
# high as the primary's (it refuses to replay otherwise), read from the
# running primary: they may come from its command line, which the copy
# does not hold. postgresql.auto.conf is read last: these win over the
# copied files.
LIMITS=$(as psql -X -At --no-password -d "$PRIMARY" -c "SELECT name || ' = ' || setting FROM
    pg_settings WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',
    'max_prepared_transactions', 'max_locks_per_transaction')" 2>/dev/null) ||
    echo "pg-replica.sh: could not read the primary's limits; the standby keeps its copied ones" >&2
{
    echo "port = $PORT"
    echo "unix_socket_directories = '$SOCKDIR'"
    echo "listen_addresses = '$LISTEN'"
    echo "hot_standby = on"
    [ -z "$LIMITS" ] || echo "$LIMITS"
} >>"$DIR/postgresql.auto.conf"
rm -f "$DIR/postmaster.pid" "$DIR/postmaster.opts"
if ! as "$BIN/pg_ctl" -D "$DIR" -l "$DIR/standby.log" -w -t 120 start >/dev/null; then
    echo "pg-replica.sh: the standby did not start: $(grep -m1 -E 'FATAL|PANIC' "$DIR/standby.log" || tail -1 "$DIR/standby.log")" >&2
    exit 1
fi
echo "standby running from $DIR on port $PORT (socket in $SOCKDIR); stop it with: pg_ctl -D $DIR stop"
echo "parceldb serve --db 'host=$SOCKDIR port=$PORT dbname=DBNAME'"
