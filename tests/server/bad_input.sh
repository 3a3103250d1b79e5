#!/usr/bin/env bash
# Bad input, one case per CTest test (bad_input.sh CASE): every malformed
# request gets a 4xx answer (JSON where the server writes it) or a closed
# connection; never a crash, a hang or a leak. After each case the server
# still answers and exits 0 on SIGTERM (under ASan: with no leak report).
source "$(dirname "$0")/lib.sh"

CASE=${1:?usage: bad_input.sh CASE}

# expect_4xx NAME PATH [curl options]: a 4xx with a JSON error body.
expect_4xx() {
    local name=$1 path=$2
    shift 2
    get "$path" "$@"
    case "$STATUS" in
    4??) if grep -Eq '^\{"error":"[^"]*"\}$' <<<"$BODY"; then ok "$name ($STATUS)"; else
        fail "$name: $STATUS without a JSON error: $(head -c 200 "$WORK/body")"; fi ;;
    *) fail "$name: got $STATUS, want 4xx: $(head -c 200 "$WORK/body")" ;;
    esac
}

# expect_4xx_or_closed NAME CURL-ARGS...: a 4xx, or the connection closed.
expect_4xx_or_closed() {
    local name=$1 code rc
    shift
    code=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "$@" 2>/dev/null)
    rc=$?
    case "$code" in
    4??) ok "$name ($code)" ;;
    000) if [ "$rc" -eq 52 ] || [ "$rc" -eq 56 ] || [ "$rc" -eq 7 ]; then ok "$name (closed, curl $rc)"; else
        fail "$name: curl failed with $rc"; fi ;;
    *) fail "$name: got $code, want 4xx or a closed connection" ;;
    esac
}

alive() {
    get /health
    check "still answering after $CASE" "$STATUS" 200
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$SERVER_PID/status"; }

make_store || exit 1

case "$CASE" in
paths)
    start_server || exit 1
    for p in /nope /tiles /tiles/ /tiles/1/2 /tiles/1/2/3/4.png /parcels/ /parcels/at/x \
        /parcels/1/2 /parcels/1/2/3/4 /communes/x '//' '/%' '/%zz' '/%00' '/a%2' '/..' \
        '/../../etc/passwd' '/%2e%2e/%2e%2e/etc/passwd' '/./health' '/parcels/07894/%2e%2e/1' \
        '/parcels/0789/12/1' '/parcels/07894/12/%0d%0aSet-Cookie:x' '/index.html%00.png' \
        '/leaflet/../../../../etc/passwd' '/health?x=%' '/health?=1' "/$(printf 'a%.0s' $(seq 300))"; do
        expect_4xx "path $p" "$p"
    done
    expect_4xx_or_closed "a raw space in the path" --request-target "/a b" "$BASE/"
    expect_4xx_or_closed "an absolute-form target" --request-target "http://evil.test/health" "$BASE/"
    expect_4xx_or_closed "an asterisk target" --request-target "*" "$BASE/"
    OUT=$(printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage\r\n\r\n' |
        timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; timeout 5 cat <&3" 2>/dev/null)
    contains "garbage after a request: the request is answered" "$OUT" '^HTTP/1.1 200'
    OUT=$(printf 'BREW /pot HTCPCP/1.0\r\n\r\n' |
        timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; timeout 5 cat <&3" 2>/dev/null)
    contains "not HTTP at all: a 4xx or nothing" "${OUT:-closed}" '^(HTTP/1.[01] 4|closed)'
    ;;
tile_numbers)
    start_server || exit 1
    for p in /tiles/a/0/0.png /tiles/0/a/0.png /tiles/0/0/a.png /tiles/-1/0/0.png \
        /tiles/1/-1/0.png /tiles/1/0/-1.png /tiles/21/0/0.png /tiles/99/0/0.png \
        /tiles/4294967296/0/0.png /tiles/99999999999999999999999999/0/0.png \
        /tiles/1/2/0.png /tiles/1/0/2.png /tiles/20/1048576/0.png /tiles/20/0/1048576.png \
        /tiles/20/99999999999999999999999999/0.png /tiles/1/0/0@3x.png /tiles/1/0/0@2x@2x.png \
        /tiles/1/0/0.jpg /tiles/1/0/0.PNG '/tiles/1.5/0/0.png' '/tiles/1e1/0/0.png' \
        '/tiles/0x1/0/0.png' '/tiles/%2B1/0/0.png' '/tiles/1/0/%20.png' '/tiles/1/0/.png'; do
        expect_4xx "tile $p" "$p"
    done
    get /tiles/20/1048575/1048575.png
    check "the last tile of z20 is fine" "$STATUS" 200
    ;;
long_uri)
    start_server || exit 1
    q=$(head -c 3000 /dev/zero | tr '\0' 'x')
    get "/parcels/at?lon=105&lat=21&pad=$q"
    check "a 3 KB URI: 414" "$STATUS" 414
    contains "a 3 KB URI: JSON error" "$BODY" '^\{"error":"the request URI is longer'
    q=$(head -c 100000 /dev/zero | tr '\0' 'x')
    expect_4xx_or_closed "a 100 KB URI" "$BASE/parcels/at?pad=$q"
    q=$(head -c 2030 /dev/zero | tr '\0' 'x')
    get "/x$q"
    check "a URI just under the limit: parsed (404)" "$STATUS" 404
    ;;
long_headers)
    start_server || exit 1
    big=$(head -c 9000 /dev/zero | tr '\0' 'h')
    get /health -H "X-Big: $big"
    check "a 9 KB header: 431" "$STATUS" 431
    # At every limit but inside it, in one request: a 2 KB URI, and with
    # curl's Host, User-Agent and Accept 64 header lines of about 8,100
    # bytes (the limits are 2,048 and 64 and 8,192): answered as usual.
    q=$(head -c 2000 /dev/zero | tr '\0' 'x')
    v=$(head -c 127 /dev/zero | tr '\0' 'v')
    args=()
    for i in $(seq 1 61); do args+=(-H "X-H$i: $v"); done
    get "/health?pad=$q" "${args[@]}"
    check "a request at the URI and header limits: answered" "$STATUS" 200
    args=()
    for i in $(seq 1 80); do args+=(-H "X-H$i: v"); done
    get /health "${args[@]}"
    check "80 header lines: 431" "$STATUS" 431
    big=$(head -c 100000 /dev/zero | tr '\0' 'h')
    expect_4xx_or_closed "a 100 KB header" -H "X-Big: $big" "$BASE/health"
    get /tiles/17/103913/57587.png -H "If-None-Match: $(head -c 4000 /dev/zero | tr '\0' '"')"
    check "a malformed If-None-Match: a full answer" "$STATUS" 200
    get /parcels/07894/12/7 -H "Authorization: Bearer $(head -c 6000 /dev/zero | tr '\0' 'a')"
    check "an overlong bearer token: 401" "$STATUS" 401
    ;;
bbox)
    start_server || exit 1
    for b in '' '1' '1,2,3' '1,2,3,4,5' '105.5,21,105.4,21.5' '105,21.5,105.5,21.4' \
        '105,21,105,21' 'a,b,c,d' '181,0,182,1' '0,-91,1,0' 'nan,0,1,1' 'inf,0,1,1' \
        '1e999,0,1,1' '0x1,0,1,1' '1;2;3;4' '105,21,105.5,21.5,' '%00'; do
        expect_4xx "bbox '$b'" "/parcels?bbox=$b"
    done
    expect_4xx "no bbox" "/parcels"
    expect_4xx "bbox twice" "/parcels?bbox=105,21,106,22&bbox=105,21,106,22"
    get "/parcels?bbox=-180,-90,180,90&limit=5"
    check "the whole world: answered, limited" "$STATUS" 200
    contains "the whole world: five" "$BODY" '"numberReturned":5,'
    ;;
limits)
    start_server --max-limit 50 || exit 1
    B="/parcels?bbox=105,21,106,22"
    for l in -1 1.5 abc 99999999999999999999999 '' 0x10 '%205' '5%00'; do
        expect_4xx "limit '$l'" "$B&limit=$l"
    done
    for o in -1 1.5 99999999999999999999999 1000001; do
        expect_4xx "offset '$o'" "$B&offset=$o"
    done
    get "$B&limit=4000000000"
    contains "a huge limit is capped" "$BODY" '^\{"limit":50,'
    get "$B&limit=50&offset=1000000"
    contains "the deepest offset: empty" "$BODY" '"numberReturned":0,'
    args=""
    for i in $(seq 1 36); do args="$args&p$i=1"; done
    expect_4xx "more than 32 parameters" "$B$args"
    expect_4xx "a parameter twice" "/parcels/at?lon=105.4&lat=21.3&lat=21.3"
    expect_4xx "a parameter twice, once encoded" "/parcels/at?lon=105.4&lat=21.3&l%61t=1"
    expect_4xx "lon out of range" "/parcels/at?lon=1000&lat=21"
    expect_4xx "lon not finite" "/parcels/at?lon=inf&lat=21"
    expect_4xx "huge easting" "/parcels/at?e=1e300&n=1&srs=EPSG:9208"
    expect_4xx "unknown zone" "/parcels/at?x=2358740&y=567440&zone=999-99"
    expect_4xx "an overlong zone" "/parcels/at?x=2358740&y=567440&zone=$(head -c 500 /dev/zero | tr '\0' '9')"
    ;;
body)
    start_server || exit 1
    STATUS=$(curl -s --max-time 10 -o "$WORK/body" -w '%{http_code}' -X GET --data-binary 'x=1' "$BASE/health")
    check "GET with a body: 413" "$STATUS" 413
    STATUS=$(curl -s --max-time 10 -o "$WORK/body" -w '%{http_code}' --data-binary @/dev/null "$BASE/health")
    check "POST without a body: 405" "$STATUS" 405
    head -c 5000000 /dev/zero >big.bin
    expect_4xx_or_closed "POST of 5 MB" --data-binary @big.bin "$BASE/parcels"
    expect_4xx_or_closed "chunked upload" -H 'Transfer-Encoding: chunked' --data-binary @big.bin "$BASE/health"
    for m in PUT DELETE PATCH TRACE CONNECT PROPFIND; do
        STATUS=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X "$m" "$BASE/health")
        case "$STATUS" in 4??) ok "$m: $STATUS" ;; *) fail "$m: $STATUS" ;; esac
    done
    ;;
slow_client)
    start_server --timeout 2 || exit 1
    # A client that sends half a request and then nothing.
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&5
    # Others are served meanwhile, at once.
    T0=$(date +%s%N)
    get /health
    check "served while a slow client holds a connection" "$STATUS" 200
    check "served quickly (under 1 s)" "$(( ($(date +%s%N) - T0) / 1000000000 ))" 0
    # The server closes the slow connection after its idle timeout.
    T0=$(date +%s)
    OUT=$(timeout 15 cat <&5 2>/dev/null; echo "eof $?")
    exec 5<&- 5>&-
    contains "the slow connection is closed" "$OUT" 'eof 0'
    ELAPSED=$(( $(date +%s) - T0 ))
    if [ "$ELAPSED" -ge 1 ] && [ "$ELAPSED" -le 8 ]; then ok "closed after the timeout (${ELAPSED}s)"; else
        fail "closed after ${ELAPSED}s, want about 2"; fi
    # An idle keep-alive connection is closed the same way.
    exec 6<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&6
    OUT=$(timeout 15 cat <&6 2>/dev/null; echo "eof $?")
    exec 6<&- 6>&-
    contains "idle keep-alive: answered" "$OUT" '^HTTP/1.1 200'
    contains "idle keep-alive: then closed" "$OUT" 'eof 0$'
    ;;
flood)
    start_server --max-per-ip 20 --max-connections 64 || exit 1
    get /health
    RSS0=$(rss_kb)
    for round in 1 2 3; do
        # Hold 60 connections open (more than the per-address limit).
        fds=()
        for i in $(seq 1 60); do
            { exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null && fds+=("$fd")
        done
        # Meanwhile a request is answered or refused, never hangs.
        expect_4xx_or_closed_or_ok() {
            local code
            code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$BASE/health")
            case "$code" in 200 | 4?? | 503 | 000) ok "request during flood $round: $code" ;;
            *) fail "request during flood $round: $code" ;; esac
        }
        expect_4xx_or_closed_or_ok
        for fd in "${fds[@]}"; do exec {fd}<&-; done
        # 2000 short requests, 50 connections at once (one curl, in parallel).
        for i in $(seq 1 2000); do
            printf 'url = "%s/parcels/07894/12/%d"\noutput = "/dev/null"\n' "$BASE" "$i"
        done >urls.txt
        curl -s --no-progress-meter -Z --parallel-max 50 --max-time 20 -w '%{http_code}\n' \
            --config urls.txt >codes.txt 2>/dev/null
        BAD=$(grep -cvE '^(200|404|000)$' codes.txt)
        check "flood $round: 2000 requests, only 200/404 or refused" "$BAD" 0
    done
    # Everything in flight has finished; memory did not run away.
    for _ in $(seq 1 50); do
        [ "$(metric parceldb_http_requests_in_flight)" = 1 ] && break # this scrape itself
        sleep 0.1
    done
    check "no request left in flight" "$(metric parceldb_http_requests_in_flight)" 1
    RSS1=$(rss_kb)
    GROWTH=$(( (RSS1 - RSS0) / 1024 ))
    if [ "$GROWTH" -lt 64 ]; then ok "RSS grew ${GROWTH} MiB over the floods"; else
        fail "RSS grew ${GROWTH} MiB over the floods ($RSS0 kB -> $RSS1 kB)"; fi
    ;;
rate_limit)
    # One request every 2 s on average, bursts of 10: slow enough that a
    # loaded machine cannot refill the bucket while the test runs.
    start_server --rate-limit 0.5 --rate-burst 10 || exit 1
    for i in $(seq 1 40); do
        printf 'url = "%s/parcels/07894/12/%d"\noutput = "/dev/null"\n' "$BASE" "$i"
    done >urls.txt
    curl -s --no-progress-meter --max-time 20 -w '%{http_code}\n' --config urls.txt >codes.txt 2>/dev/null
    N429=$(grep -c '^429$' codes.txt)
    NOK=$(grep -c '^200$' codes.txt)
    if [ "$NOK" -ge 10 ] && [ "$NOK" -le 14 ]; then ok "a burst of 10 (and the refill) answered: $NOK"; else
        fail "answered $NOK of 40 (want about 10)"; fi
    check "the rest refused" "$((N429 + NOK))" 40
    get /parcels/07894/12/1
    check "over the rate: 429" "$STATUS" 429
    contains "429: Retry-After" "$(header Retry-After)" '^[1-9]'
    contains "429: JSON error" "$BODY" '^\{"error":"too many requests'
    contains "429s are counted" "$(metric parceldb_http_rate_limited_total)" '^[1-9]'
    sleep 2.5
    get /parcels/07894/12/1
    check "after waiting: answered again" "$STATUS" 200
    ;;
*)
    echo "unknown case $CASE" >&2
    exit 2
    ;;
esac

alive
stop_server
lacks "no sanitizer report" "$(cat "$WORK/server.log")" 'AddressSanitizer|runtime error|LeakSanitizer'
finish
