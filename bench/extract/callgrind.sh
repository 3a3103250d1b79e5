#!/usr/bin/env bash
# Instructions per extract under callgrind, which counts the same on a busy
# machine (bench/extract/run.sh's extracts per second do not): the server
# under valgrind, one thread, one warm-up extract (fonts, PROJ, the
# commune), then the first N of bench/extract/run.sh's pseudo-random list
# of current parcels; run for two N, the difference of the totals over the
# difference of N, so that start-up and shut-down cancel out.
#   [FORMAT=png|pdf] [QUERY='dpi=120'] [OUT=FILE] \
#     bench/extract/callgrind.sh [BUILD_DIR] STORE [N1 N2]
# The callgrind file of the larger run is kept as OUT (default
# /tmp/pdb-extract-cg.out), for callgrind_annotate.
# Instructions are not time: on a sheet's long runs of one colour
# libdeflate's level 1 runs fewer instructions than level 2 and takes more
# time (docs/extract.md, "Speed"); read them beside run.sh's CPU seconds.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
B=${1:-build}
S=$2
N1=${3:-5}
N2=${4:-25}
FORMAT=${FORMAT:-png}
OUT=${OUT:-/tmp/pdb-extract-cg.out}
W=$(mktemp -d /tmp/pdb-extract-cg.XXXXXX)
trap 'rm -rf "$W"' EXIT
sqlite3 "$S" "SELECT commune || '/' || sheet || '/' || parcel FROM parcels
    WHERE valid_to IS NULL ORDER BY (id * 2654435761) % 4294967291 LIMIT $N2" >"$W/ids"
[ "$(wc -l <"$W/ids")" -eq "$N2" ] || { echo "fewer than $N2 parcels in $S" >&2; exit 1; }
run() {
    local n=$1
    callgrind_serve "$B" "$S" "$W/cg.$n.out"
    /usr/bin/python3 - "$CG_PORT" "$W/ids" "$n" "$FORMAT" "${QUERY:-}" <<'PY'
import http.client, sys
port, path, n, fmt, query = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ids = [l.strip() for l in open(path) if l.strip()]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
for i in [0] + list(range(n)):  # the first is the warm-up
    c.request("GET", "/parcels/%s/extract.%s?%s" % (ids[i], fmt, query))
    r = c.getresponse(); r.read()
    assert r.status == 200, (ids[i], r.status)
PY
    callgrind_stop "$W/cg.$n.out"
}
a=$(run "$N1")
b=$(run "$N2")
cp "$W/cg.$N2.out" "$OUT"
echo "$FORMAT${QUERY:+?$QUERY}: instructions per extract: $(((b - a) / (N2 - N1))) (totals $a at N=$N1, $b at N=$N2)"
