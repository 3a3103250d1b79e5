#!/usr/bin/env bash
# The server started as root does not keep root: with --user nobody it runs
# as nobody (every id of every thread, /proc/PID/status), serves tiles,
# lookups and a re-import made meanwhile, writes its disk cache as nobody,
# and cannot write the store (opened read-only; with the server's ids a
# write is refused). As root without --user it refuses to start unless
# --allow-root; a bad --user is a one-line error. Skips (77) when not root.
source "$(dirname "$0")/../server/lib.sh"

needs_root_and_nobody

# The test's files live in a world-traversable directory (lib.sh's $WORK is
# root-only 0700): the store directory and the store are root's and only
# readable by others; the cache and the run directory (port file) are
# nobody's; the token file is root's, readable by nobody's group.
make_store || exit 1
public_store || exit 1
mkdir -m 0755 "$PUB/cache"
chown nobody:"$(id -gn nobody)" "$PUB/cache" "$PUB/run"
echo "ops-privileges-token-0123456789" >"$PUB/tokens"
chown root:"$(id -gn nobody)" "$PUB/tokens"
chmod 0640 "$PUB/tokens"
sum_before=$(sha256sum <"$DB")

# --- refusals: one line on stderr, exit 1, before listening
refused() { # NAME PATTERN ARGS...
    local name=$1 pattern=$2
    shift 2
    "$PARCELDB" serve --db "$DB" --listen 127.0.0.1:0 "$@" >/dev/null 2>"$WORK/refused.err"
    check "$name: exit status" "$?" 1
    check "$name: one line" "$(wc -l <"$WORK/refused.err")" 1
    contains "$name: says why" "$(cat "$WORK/refused.err")" "$pattern"
}
refused "root without --user" 'refusing to run as root: give --user NAME .* or --allow-root'
refused "no such user" '--user no-such-user-pdb: no such user' --user no-such-user-pdb
refused "--user root" '--user root is root' --user root
# The files of the configuration are read before root is dropped: a token
# file only root can read still serves the owner (tests/server/
# private_files.sh tests the rest: style, demo page, SIGHUP).
chmod 0600 "$PUB/tokens"
start_as --user nobody --tokens "$PUB/tokens" --audit-db "$AUDIT_DB" || exit 1
get "/parcels/07894/12/7" -H "Authorization: Bearer ops-privileges-token-0123456789"
contains "a token file only root can read: read before the drop" "$BODY" '"owner":"Nguyen Van Chu 7"'
stop_server
chmod 0640 "$PUB/tokens"
out=$(setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups \
    "$PARCELDB" serve --db "$DB" --listen 127.0.0.1:0 --user daemon 2>&1 >/dev/null)
contains "--user from an unprivileged start" "$out" '--user daemon needs the server started as root'

# --- --user nobody
start_as --user nobody --cache "$PUB/cache" --tokens "$PUB/tokens" --audit-db "$AUDIT_DB" || exit 1
contains "start-up line: uid" "$(cat "$WORK/server.log")" "serving .* 1 token\(s\), uid $NOBODY_UID\)"
status=/proc/$SERVER_PID/status
check "Uid: real, effective, saved, filesystem" "$(awk '/^Uid:/ {print $2,$3,$4,$5}' "$status")" \
    "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID"
check "Gid: real, effective, saved, filesystem" "$(awk '/^Gid:/ {print $2,$3,$4,$5}' "$status")" \
    "$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID"
lacks "no root among the groups" "$(awk '/^Groups:/ {$1 = ""; print " " $0 " "}' "$status")" ' 0 '
check "no capabilities left" "$(awk '/^CapEff:/ {print $2}' "$status")" 0000000000000000
threads=$(ls "/proc/$SERVER_PID/task" | wc -l)
not_nobody=$(for t in /proc/"$SERVER_PID"/task/*; do awk '/^Uid:/ {print $2,$3,$4,$5}' "$t/status"; done |
    grep -vc "^$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID$")
check "every one of the $threads threads runs as nobody" "$not_nobody" 0

get /health
check "health" "$STATUS" 200
base_phutho
parcel_center 9208 7
get "/parcels/at?lon=$PLON&lat=$PLAT"
check "lookup as nobody: status" "$STATUS" 200
contains "lookup as nobody: parcel 7" "$BODY" '"parcel":"7"'
read -r TZ TX TY < <(awk -v lon="$PLON" -v lat="$PLAT" 'BEGIN {
    z = 17; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d %d %d\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')
get "/tiles/$TZ/$TX/$TY.png"
check "tile as nobody: status" "$STATUS" 200
check "tile as nobody: a PNG" "$(head -c 8 "$WORK/body" | od -An -tx1 | tr -d ' ')" 89504e470d0a1a0a
get "/parcels/07894/12/7" -H "Authorization: Bearer ops-privileges-token-0123456789"
contains "the token file read as nobody: owner served" "$BODY" '"owner":"Nguyen Van Chu 7"'
check "the owners shown as nobody: recorded in the audit store nobody may write" \
    "$(sqlite3 "$AUDIT_DB" 'SELECT count(*) FROM audit_log')" 2

# The disk cache: written, and everything in it is nobody's.
for _ in $(seq 1 50); do
    [ -n "$(find "$PUB/cache" -name '*.tile' -print -quit)" ] && break
    sleep 0.1
done
contains "the disk cache holds the tile" "$(find "$PUB/cache" -name '*.tile')" "/$TZ/$TX/$TY\.tile$"
check "nothing in the cache belongs to anyone but nobody" \
    "$(find "$PUB/cache" -mindepth 1 ! -user nobody | wc -l)" 0

# The store: the server's descriptors on it are read-only, and with the
# server's ids the store, its WAL and its directory cannot be written.
ro=1
for fd in /proc/"$SERVER_PID"/fd/*; do
    target=$(readlink "$fd")
    case $target in "$DB" | "$DB-wal") ;; *) continue ;; esac
    flags=$(awk '/^flags:/ {print $2}' "/proc/$SERVER_PID/fdinfo/${fd##*/}")
    [ $((8#$flags & 3)) -eq 0 ] || { ro=0; fail "$target is open for writing (flags $flags)"; }
done
check "the store and its WAL are open read-only" "$ro" 1
# refused_as_server NAME CMD...: CMD, run with the server's uid, gid and
# groups, must fail.
refused_as_server() {
    local name=$1
    shift
    if setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --init-groups "$@" >/dev/null 2>&1; then
        fail "as the server's user: $name succeeded"
    else ok "as the server's user: $name is refused"; fi
}
refused_as_server "appending to the store" sh -c ": >>'$DB'"
refused_as_server "a write through SQLite" sqlite3 "$DB" "PRAGMA user_version = 7"
refused_as_server "appending to the WAL" sh -c ": >>'$DB-wal'"
refused_as_server "creating a file beside the store" sh -c ": >'$PUB/store/replacement'"
refused_as_server "renaming the store" mv "$DB" "$DB.moved"
# and the check itself can succeed: the same user may write its cache
if setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --init-groups sh -c ": >'$PUB/cache/probe'"; then
    ok "as the server's user: writing the cache works (the refusals above are not vacuous)"
    rm -f "$PUB/cache/probe"
else fail "as the server's user: cannot even write its cache"; fi
check "the -wal and -shm beside the store are root's" \
    "$(find "$PUB/store" -name 'parcels.sqlite-*' ! -user root | wc -l)" 0

check "after serving: the store's bytes are unchanged" "$(sha256sum <"$DB")" "$sum_before"

# A re-import (by root) while the server reads as nobody: picked up.
grid_csv pt2.csv 41 07894 12 ODT
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" pt2.gpkg >import2.log 2>&1
check "re-import while serving as nobody" "$?" 0
for _ in $(seq 1 100); do
    get /parcels/07894/12/41
    [ "$STATUS" = 200 ] && break
    sleep 0.1
done
check "the re-imported parcel 41 is served by nobody" "$STATUS" 200
get "/parcels/at?lon=$PLON&lat=$PLAT"
contains "lookup after the re-import: the new land use" "$BODY" '"parcel":"7","landuse":"ODT"'

# SIGHUP: the reload reads the files again, as nobody; it succeeds.
hup_and_wait
contains "SIGHUP as nobody: reloaded" "$(cat "$WORK/server.log")" 'reloaded: style .* 1 token\(s\)'
stop_server


# --allow-root: kept as root, said so at start.
start_as --allow-root || exit 1
check "--allow-root: runs as root" "$(awk '/^Uid:/ {print $3}' "/proc/$SERVER_PID/status")" 0
contains "--allow-root: start-up line says uid 0" "$(cat "$WORK/server.log")" 'uid 0\)'
stop_server
finish
