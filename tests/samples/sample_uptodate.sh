#!/usr/bin/env bash
# The bundled sample (samples/phu-tho-sample) is what samples/make-sample.sh
# makes with the current pdb-synth, byte for byte, and stays under 1 MB. When
# this fails after a change to the generator, run samples/make-sample.sh.
set -euo pipefail

SYNTH=${PDB_SYNTH:?PDB_SYNTH must name the pdb-synth binary}
SRC=${PDB_SOURCE_DIR:?}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-sample-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# make-sample.sh's own arguments, read from it so that the two cannot drift.
args=$(sed -n '/"\$synth" --out "\$tmp"/,/--defects/p' "$SRC/samples/make-sample.sh" |
    sed -e 's/.*"\$synth" --out "\$tmp"//' -e 's/\\$//' | tr -d '\n')
[ -n "$args" ] || { echo "FAIL: cannot read pdb-synth's arguments from make-sample.sh"; exit 1; }
eval "set -- $args"
"$SYNTH" --out "$WORK/sample" --quiet "$@"

status=0
(cd "$SRC/samples/phu-tho-sample" && ls) >"$WORK/committed.txt"
(cd "$WORK/sample" && ls) >"$WORK/made.txt"
if ! cmp -s "$WORK/committed.txt" "$WORK/made.txt"; then
    echo "FAIL: the sample's files differ from what make-sample.sh makes:"
    diff "$WORK/committed.txt" "$WORK/made.txt" || true
    status=1
fi
while read -r f; do
    if [ -f "$WORK/sample/$f" ] && ! cmp -s "$SRC/samples/phu-tho-sample/$f" "$WORK/sample/$f"; then
        echo "FAIL: samples/phu-tho-sample/$f is out of date (run samples/make-sample.sh)"
        status=1
    fi
done <"$WORK/committed.txt"
size=$(du -sk "$SRC/samples/phu-tho-sample" | cut -f1)
if [ "$size" -ge 1024 ]; then
    echo "FAIL: samples/phu-tho-sample is ${size} KB, over 1 MB"
    status=1
fi
[ "$status" -eq 0 ] && echo "sample_uptodate: the sample is current (${size} KB)"
exit "$status"
