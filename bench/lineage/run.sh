#!/usr/bin/env bash
# Lineage benchmark (issue 16: "lineage of a re-surveyed commune of 20,000
# parcels in under 5 s"): a commune from pdb-synth and its re-survey
# (--resurvey 50: 50 renumberings, reshapes, merges and splits; every
# vertex measured again within 2 cm, so that no parcel takes the
# same-bytes shortcut and every one is matched by overlap), side by side
# in each round:
#   reimport  `parceldb import` of the re-survey over the commune: its
#             parcels superseded, the new ones written, and the lineage
#             matched and stored in the same transaction
#   fresh     the same file into an empty store (no old parcels: no
#             lineage), the anchor
# lineage = reimport - fresh, wall and CPU (user + system), medians over
# ROUNDS alternating rounds. Before anything is reported the re-import's
# change summary must give the ground truth's counts.
#
#   bench/lineage/run.sh [--smoke]
#   --smoke   a commune of 600 parcels with 4 of each change, 1 round (CI).
# Environment: ROUNDS (3), PARCELS (20000), PDB_BINARY_DIR (build-rel),
# RESULTS (bench/work/results). Writes RESULTS/lineage.md and
# RESULTS/lineage-summary.txt.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
bench_args lineage "$@"
rounds=${ROUNDS:-3}
parcels=${PARCELS:-20000}
changes=50
C=07894
if [ $smoke -eq 1 ]; then
    rounds=1 parcels=600 changes=4
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdblin.XXXXXX")
    RESULTS=${RESULTS:-$WORK/results}
fi
RESULTS=${RESULTS:-$WORK/results}
LW=$WORK/lineage
rm -rf "$LW"
mkdir -p "$LW" "$RESULTS"
cleanup() {
    rm -rf "$LW"
    if [ $smoke -eq 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
TIMES=$LW/times

"$SYNTH" --out "$LW/v1" --communes $C --parcels-per-commune "$parcels" --format GPKG --defects none \
    --quiet
"$SYNTH" --out "$LW/v2" --communes $C --parcels-per-commune "$parcels" --format GPKG --defects none \
    --quiet --resurvey $changes --resurvey-noise 0.02

# run LABEL STORE FILE: one import, its wall and CPU seconds into TIMES.
run() {
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$LW/cpu" "$P" import --no-overviews --db "$2" "$3" >"$LW/$1.out" 2>&1 ||
        { echo "lineage bench: $1 import failed: $(tail -3 "$LW/$1.out")" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$1 $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $(awk '{print $1 + $2}' "$LW/cpu")" \
        >>"$TIMES"
}

unchanged=$(($(grep -o '"parcels": [0-9]*' "$LW/v1/$C.gpkg.manifest.json" | head -1 | grep -o '[0-9]*$') - 5 * changes))
want="changes $C: unchanged $unchanged, renumbered $changes, reshaped $changes, split $changes -> $((2 * changes)), merged $((2 * changes)) -> $changes, new 0, retired 0"
for r in $(seq "$rounds"); do
    rm -f "$LW"/old.sqlite* "$LW"/empty.sqlite*
    "$P" init --db "$LW/old.sqlite" >/dev/null
    "$P" init --db "$LW/empty.sqlite" >/dev/null
    "$P" import --quiet --no-overviews --db "$LW/old.sqlite" "$LW/v1/$C.gpkg"
    if [ $((r % 2)) -eq 1 ]; then
        run reimport "$LW/old.sqlite" "$LW/v2/$C.gpkg"
        run fresh "$LW/empty.sqlite" "$LW/v2/$C.gpkg"
    else
        run fresh "$LW/empty.sqlite" "$LW/v2/$C.gpkg"
        run reimport "$LW/old.sqlite" "$LW/v2/$C.gpkg"
    fi
    grep -qxF "$want" "$LW/reimport.out" || {
        echo "lineage bench: the re-import's summary is not the ground truth's:" >&2
        echo "  want: $want" >&2
        echo "  got:  $(grep '^changes' "$LW/reimport.out")" >&2
        exit 1
    }
done
wr=$(median reimport 2) wf=$(median fresh 2) cr=$(median reimport 3) cf=$(median fresh 3)
wl=$(awk -v a="$wr" -v b="$wf" 'BEGIN {printf "%.2f", a - b}')
cl=$(awk -v a="$cr" -v b="$cf" 'BEGIN {printf "%.2f", a - b}')
verdict=$(awk -v l="$wl" 'BEGIN {print (l < 5.0) ? "under" : "OVER"}')
{
    echo "## Lineage of a re-surveyed commune"
    echo
    echo "Machine: $(machine); load after: $(loadavg). Commune $C, $parcels parcels, re-survey with $changes of each change and 2 cm noise on every vertex; $rounds rounds, median; commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)."
    echo
    echo "| run | wall s | CPU s |"
    echo "| --- | ---: | ---: |"
    echo "| re-import over the commune (with lineage) | $wr | $cr |"
    echo "| the same file into an empty store (anchor) | $wf | $cf |"
    echo "| lineage (the difference) | $wl | $cl |"
    echo
    echo "Summary line checked against the ground truth: \`$want\`"
} >"$RESULTS/lineage.md"
echo "lineage ${parcels} parcels: ${wl} s wall (${cl} s CPU), $verdict the 5 s target; re-import ${wr} s, fresh import ${wf} s" \
    >"$RESULTS/lineage-summary.txt"
cat "$RESULTS/lineage.md"
cat "$RESULTS/lineage-summary.txt"
exit 0
}
