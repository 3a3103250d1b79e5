#!/usr/bin/env bash
# Instructions per GetMap under callgrind, which counts the same on a busy
# machine (issue 13): the server under valgrind, one thread, one warm-up
# GetMap (renderer, fonts, PROJ objects made), then N keep-alive GetMaps of
# the same URL; run for two N, the difference over the difference, so that
# start-up and shutdown cancel out.
#   bench/server/wms_callgrind.sh BUILD_DIR STORE URL [N1 N2]
#   URL: a /wms?... path, e.g. a 1024x768 GetMap in EPSG:9208 at a commune's
#   extent. N1, N2 default to 2 and 7 (a GetMap costs far more than a lookup).
set -euo pipefail
B=$1
S=$2
U=$3
N1=${4:-2}
N2=${5:-7}
W=$(mktemp -d /tmp/pdb-cgwms.XXXXXX)
trap 'rm -rf "$W"' EXIT
as_root=()
[ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
run() {
    local n=$1
    rm -f "$W/port"
    valgrind --tool=callgrind --callgrind-out-file="$W/cg.$n.out" "$B/cli/parceldb" serve \
        --db "$S" --listen 127.0.0.1:0 --port-file "$W/port" --no-web --quiet --threads 1 \
        "${as_root[@]}" >"$W/log.$n" 2>&1 &
    local pid=$!
    for _ in $(seq 300); do [ -s "$W/port" ] && break; sleep 0.2; done
    /usr/bin/python3 - "$(cat "$W/port")" "$U" "$n" <<'PY'
import http.client, sys
port, url, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
for i in range(n + 1):  # the first is the warm-up
    c.request("GET", url); r = c.getresponse(); body = r.read()
    assert r.status == 200 and r.getheader("Content-Type") == "image/png", (r.status, body[:300])
PY
    kill -INT "$pid"
    wait "$pid" || true
    sed -n 's/^summary: //p' "$W/cg.$n.out"
}
a=$(run "$N1")
b=$(run "$N2")
echo "instructions per GetMap: $(((b - a) / (N2 - N1))) (totals $a at $N1 and $b at $N2)"
