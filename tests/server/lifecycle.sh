#!/usr/bin/env bash
# The server's life: SIGHUP reloads the style (new ETags, new pixels) and
# keeps the running one when the new file is broken; SIGTERM stops taking
# connections, lets a request in flight finish (a 20 MB answer to a client
# that reads it late), and exits 0; a client that never reads is cut off
# after --drain seconds, and the exit status is still 0.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
cp "$PDB_SOURCE_DIR/styles/landuse.json" style.json
mkdir web
head -c 20000000 /dev/urandom >web/big.bin
echo '<!doctype html><title>t</title>' >web/index.html
start_server --style style.json --web web --drain 20 || exit 1

base_phutho
parcel_center 9208 1
read -r T < <(awk -v lon="$PLON" -v lat="$PLAT" 'BEGIN {
    z = 17; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    printf "/tiles/%d/%d/%d.png\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')

# --- SIGHUP: the style
get "$T"
E1=$(header ETag)
cp "$WORK/body" t1.png
sed -i 's/"ONT", "#[0-9a-fA-F]*"/"ONT", "#00ff00"/' style.json
hup_and_wait
get "$T"
E2=$(header ETag)
check "new style: a new ETag" "$([ "$E1" != "$E2" ] && echo new)" new
check "new style: new pixels" "$(cmp -s "$WORK/body" t1.png && echo same || echo different)" different
echo '{ "version": 8, "layers": [ { "type": "nonsense" } ] }' >style.json
hup_and_wait
contains "broken style: reload refused" "$(cat "$WORK/server.log")" 'reload failed, keeping the running configuration: style: '
get "$T"
check "broken style: still the last good one" "$(header ETag)" "$E2"

# --- SIGTERM with a request in flight
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n' >&3
sleep 1 # the server has sent what the socket buffers hold, and waits
T0=$(date +%s)
kill -TERM "$SERVER_PID"
sleep 1
check "draining: still running" "$(kill -0 "$SERVER_PID" 2>/dev/null && echo running)" running
curl -s --max-time 5 -o /dev/null "$BASE/health"
check "draining: new connections refused" "$?" 7
BYTES=$(timeout 60 cat <&3 | wc -c)
exec 3<&- 3>&-
if [ "$BYTES" -gt 20000000 ]; then ok "the request in flight finished ($BYTES bytes)"; else
    fail "the request in flight was cut: $BYTES bytes"; fi
RC=
for _ in $(seq 1 200); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then wait "$SERVER_PID"; RC=$?; break; fi
    sleep 0.1
done
check "drained: exit status 0" "$RC" 0
SERVER_PID=
contains "drained: logged" "$(cat "$WORK/server.log")" 'draining 1 request\(s\) in flight'
contains "drained: cleanly" "$(cat "$WORK/server.log")" 'stopped cleanly'

# --- a client that never reads: cut off after --drain
cp "$PDB_SOURCE_DIR/styles/landuse.json" style.json
start_server --web web --drain 2 || exit 1
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n' >&3
sleep 1
T0=$(date +%s)
kill -TERM "$SERVER_PID"
RC=
for _ in $(seq 1 200); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then wait "$SERVER_PID"; RC=$?; break; fi
    sleep 0.1
done
ELAPSED=$(($(date +%s) - T0))
exec 3<&- 3>&-
check "a stuck client: exit status 0 all the same" "$RC" 0
if [ "$ELAPSED" -ge 1 ] && [ "$ELAPSED" -le 10 ]; then ok "stopped after the drain time (${ELAPSED}s)"; else
    fail "stopped after ${ELAPSED}s (--drain 2)"; fi
SERVER_PID=
contains "a stuck client: logged" "$(cat "$WORK/server.log")" 'stopped with 1 request\(s\) unfinished'
lacks "no sanitizer report" "$(cat "$WORK/server.log")" 'AddressSanitizer|runtime error|LeakSanitizer'
finish
