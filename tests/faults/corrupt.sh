#!/usr/bin/env bash
# A damaged store file: `parceldb info`, `lookup` and `serve` refuse it at
# open with one clear line on stderr and exit status 1, never a crash (no
# signal, no sanitizer report, no hang). The damage: a truncated file (to
# half, to less than a page), a zeroed header, the schema page or the
# table the open reads (meta) or the first query reads (communes)
# overwritten with random bytes, a file that is not SQLite (text, random
# bytes) and an empty file.
#
# Random bytes in the middle of the parcels (pages the open does not read)
# cannot be seen at open without reading the whole file: there each
# command either works or refuses in one line, never crashes; a server
# started on it answers every request with a status (200, or a JSON 500/
# 503), never drops a connection, and stops cleanly; and `info --check`
# (the full integrity check, as `parceldb backup` runs on its copy)
# refuses it when the bytes broke the file's structure (bytes inside
# values, a geometry or a name, break none, and must not crash a reader).
source "$(dirname "$0")/lib.sh"

SEED=${PDB_FAULTS_SEED:-$(($(date +%s) % 100000))}
echo "seed $SEED (replay: PDB_FAULTS_SEED=$SEED)"
RANDOM=$SEED

make_fault_store || exit 1
big_gpkg big.gpkg 3000
"$PARCELDB" import --quiet --db "$DB" big.gpkg >import.out 2>&1 || fail "import: $(cat import.out)"
rm -f "$DB-wal" "$DB-shm"
check "the clean store: integrity" "$(integrity)" ok
SIZE=$(stat -c %s "$DB")
PAGE=$(sql "PRAGMA page_size")
C=$WORK/damaged.sqlite

# run_cmd NAME ARGS...: runs parceldb ARGS on the damaged copy (fresh, with
# no -wal or -shm beside it); sets RC, leaves stderr in cmd.err.
run_cmd() {
    rm -f "$C-wal" "$C-shm"
    timeout 60 "$PARCELDB" "$@" >cmd.out 2>cmd.err
    RC=$?
}

# refused WHAT: the three commands refuse the file at open.
refused() {
    local what=$1 cmd
    for cmd in info lookup serve; do
        case $cmd in
        info) run_cmd info --db "$C" ;;
        lookup) run_cmd lookup --db "$C" --lon "$LON" --lat "$LAT" ;;
        serve)
            rm -f "$WORK/port"
            run_cmd serve --db "$C" --listen 127.0.0.1:0 --port-file "$WORK/port" \
                $([ "$(id -u)" -eq 0 ] && echo --allow-root)
            [ -s "$WORK/port" ] && fail "$what: serve started on it"
            ;;
        esac
        check "$what: $cmd: exit status" "$RC" 1
        one_line "$what: $cmd" cmd.err
        contains "$what: $cmd: says why" "$(cat cmd.err)" \
            'not a parceldb store|damaged|malformed|cannot be read|not an SQLite'
        no_sanitizer_report "$what: $cmd" cmd.err
    done
}

# page_of TABLE: the first page of a table or index.
page_of() { sql "SELECT rootpage FROM sqlite_master WHERE name = '$1'"; }
# smash OFFSET BYTES: random bytes over the copy.
smash() { dd if=/dev/urandom of="$C" bs=1 seek="$1" count="$2" conv=notrunc status=none; }

cp "$DB" "$C" && truncate -s $((SIZE / 2)) "$C"
refused "truncated to half"
cp "$DB" "$C" && truncate -s 1000 "$C"
refused "truncated to 1000 bytes"
cp "$DB" "$C" && dd if=/dev/zero of="$C" bs=100 count=1 conv=notrunc status=none
refused "zeroed header"
cp "$DB" "$C" && smash 100 $((PAGE - 100))
refused "the schema page overwritten"
cp "$DB" "$C" && smash $(($(page_of meta) * PAGE - PAGE)) "$PAGE"
refused "the meta table's page overwritten"
cp "$DB" "$C" && smash $(($(page_of communes) * PAGE - PAGE)) "$PAGE"
refused "the communes table's page overwritten"
printf 'parcel,area\n1,400\n' >"$C"
refused "a text file"
head -c 100000 /dev/urandom >"$C"
refused "random bytes"
: >"$C"
refused "an empty file"

# Random bytes in the middle, at seeded places.
for k in 1 2 3 4 5 6; do
    cp "$DB" "$C"
    pages=$((SIZE / PAGE))
    at=$(((RANDOM * RANDOM) % ((pages - 2) * PAGE) + 2 * PAGE))
    smash "$at" 4096
    what="4 KiB of random bytes at offset $at"
    run_cmd info --db "$C" --check
    if [ "$RC" -eq 0 ]; then
        # Bytes inside values (a geometry, a name) or in free pages break
        # no structure: the integrity check reads neither. The readers of
        # those values must still not crash (below).
        ok "$what: info --check finds no damage of the file's structure"
    else
        check "$what: info --check refuses" "$RC" 1
        contains "$what: info --check says so" "$(cat cmd.err)" 'integrity check failed|malformed|damaged'
    fi
    no_sanitizer_report "$what: info --check" cmd.err
    for args in "info" "lookup --lon $LON --lat $LAT" "lookup --id 07894/12/2999"; do
        # shellcheck disable=SC2086
        run_cmd $args --db "$C"
        if [ "$RC" -eq 0 ]; then ok "$what: $args works (the damage is elsewhere)"; else
            check "$what: $args: exit status" "$RC" 1
            one_line "$what: $args" cmd.err
        fi
        no_sanitizer_report "$what: $args" cmd.err
    done
    # A server on it: answers whatever it can, never drops a request.
    rm -f "$C-wal" "$C-shm"
    DB_SAVED=$DB
    DB=$C
    # (start_server would count a refusal as a failure: wait here instead.)
    rm -f "$WORK/port"
    "$PARCELDB" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$WORK/port" --cache-mb 4 \
        $([ "$(id -u)" -eq 0 ] && echo --allow-root) >"$WORK/server.out" 2>"$WORK/server.log" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    for _ in $(seq 1 200); do
        [ -s "$WORK/port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -s "$WORK/port" ]; then
        PORT=$(cat "$WORK/port")
        BASE="http://127.0.0.1:$PORT"
        statuses=
        for path in /health "/parcels/at?lon=$LON&lat=$LAT" /parcels/07894/12/1500 \
            "/parcels?bbox=105.3,21.2,105.6,21.5&limit=1000" /communes \
            /tiles/14/12991/7208.png /tiles/16/51966/28833.png; do
            get "$path"
            statuses="$statuses $STATUS"
            [ "$STATUS" = 000 ] && fail "$what: $path: no answer ($(cat "$WORK/curl.err"))"
        done
        ok "$what: the server answered$statuses"
        stop_server
        no_sanitizer_report "$what: serve" "$WORK/server.log"
    else
        wait "$SERVER_PID"
        RC=$?
        check "$what: serve refused it: $(tail -1 "$WORK/server.log")" "$RC" 1
        one_line "$what: serve" "$WORK/server.log"
        SERVER_PID=
    fi
    DB=$DB_SAVED
done
check "the original store is untouched" "$(integrity)" ok
finish
