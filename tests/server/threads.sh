#!/usr/bin/env bash
# Connections spread over the HTTP threads: the server accepts itself and
# gives each new connection to the thread with the fewest open
# (tiler/server/http.c), so clients that connect at once (a browser's
# several for a map's tiles, two GIS desktops) are not served by one
# thread while another idles; the per-address and total limits still hold.
# Seen through /metrics (parceldb_http_thread_connections) and plain TCP
# connections from bash; no timing is asserted.
source "$(dirname "$0")/lib.sh"

make_store || exit 1

# thread_counts: the per-thread gauges, "N0 N1 ..." in thread order.
thread_counts() {
    curl -s --max-time 10 "$BASE/metrics" |
        awk '/^parceldb_http_thread_connections\{/ { split($1, a, "\""); n[a[2]] = $2; if (a[2] + 1 > k) k = a[2] + 1 }
             END { for (i = 0; i < k; i++) printf "%s%s", (i ? " " : ""), n[i]; print "" }'
}
# wait_total N: until the gauges add up to N (at most 10 s).
wait_total() {
    for _ in $(seq 1 100); do
        [ "$(thread_counts | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; print s }')" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

start_server --threads 2 || exit 1
check "two HTTP threads in /metrics" "$(thread_counts | awk '{ print NF }')" 2

# Six idle connections opened at once, then the scrape's own: 3 and 3, and
# the scrape on one of them.
fds=()
for _ in 1 2 3 4 5 6; do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" && fds+=("$fd")
done
check "six connections opened" "${#fds[@]}" 6
if wait_total 7; then ok "the server counts six idle connections and the scrape"; else
    fail "the gauges never added up to 7: $(thread_counts)"; fi
read -r A B <<<"$(thread_counts)"
if [ "$A" -ge 3 ] && [ "$B" -ge 3 ]; then ok "connections spread: $A and $B"; else
    fail "connections not spread over the threads: $A and $B"; fi

# Each idle connection still gets its answer (keep-alive on its thread).
for fd in "${fds[@]}"; do
    printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&"$fd"
done
answered=0
for fd in "${fds[@]}"; do
    line=$(timeout 10 head -1 <&"$fd" | tr -d '\r')
    [ "$line" = "HTTP/1.1 200 OK" ] && answered=$((answered + 1))
    exec {fd}<&-
done
check "every one of the six answered 200" "$answered" 6
if wait_total 1; then ok "the gauges come back down as connections close"; else
    fail "the gauges stayed at $(thread_counts)"; fi
stop_server

# The per-address limit is the acceptor's now: three idle connections from
# 127.0.0.1 fill it; a fourth is refused (closed) until one goes.
start_server --threads 2 --max-per-ip 3 || exit 1
fds=()
for _ in 1 2 3; do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" && fds+=("$fd")
done
code=000
for _ in $(seq 1 20); do # until the server has taken the three
    code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$BASE/health")
    [ "$code" = 000 ] && break
    sleep 0.1
done
check "a fourth connection from the address is refused" "$code" 000
exec {fds[0]}<&-
code=000
for _ in $(seq 1 50); do
    code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$BASE/health")
    [ "$code" = 200 ] && break
    sleep 0.1
done
check "with one closed, a new connection is answered" "$code" 200
for fd in "${fds[@]:1}"; do exec {fd}<&-; done
stop_server
finish
