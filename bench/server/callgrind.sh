#!/usr/bin/env bash
# Instructions per /parcels/at request under callgrind, which counts the
# same on a busy machine (issue 19): the server under valgrind, one thread,
# a warm-up over the URL list (so that every commune met is loaded), then
# N keep-alive requests; run for two N, the difference over the difference.
#   bench/server/callgrind.sh [BUILD_DIR] STORE URLS
#   URLS: /parcels/at?... paths, one a line (bench/server/run.sh writes
#   bench/work/server/run/urls-lookups.txt); the first 3,000 are used.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
B=${1:-build-rel}
S=$2
U=$3
W=$(mktemp -d /tmp/pdb-cg.XXXXXX)
trap 'rm -rf "$W"' EXIT
head -3000 "$U" >"$W/urls.txt"
run() {
    local n=$1
    callgrind_serve "$B" "$S" "$W/cg.$n.out"
    /usr/bin/python3 - "$CG_PORT" "$W/urls.txt" "$n" <<'PY'
import http.client, sys
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
urls = [l.strip() for l in open(path) if l.strip()]
c = http.client.HTTPConnection("127.0.0.1", port)
for u in urls:  # warm-up: every commune of the list loaded
    c.request("GET", u); r = c.getresponse(); r.read()
for i in range(n):
    c.request("GET", urls[i % len(urls)]); r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
    callgrind_stop "$W/cg.$n.out"
}
a=$(run 200)
b=$(run 1200)
echo "instructions per request: $(((b - a) / 1000)) (totals $a and $b)"
