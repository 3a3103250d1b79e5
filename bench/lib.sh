# lib.sh: what the benchmarks share: the machine's description, timing a
# command with its peak memory, and medians. Benchmarks print ratios
# against an anchor measured in the same run, never absolute targets.
set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-$BENCH_ROOT/bench/work}
mkdir -p "$WORK"

machine() {
    local cpu
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
    echo "$(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
}

# timed LABEL CMD...: runs CMD, appends "LABEL seconds peak_kib" to $TIMES
# (default $WORK/times; a benchmark may point it elsewhere). Seconds are
# wall-clock to 0.1 ms (time's own %e has 10 ms steps, too coarse for a
# start-up), peak memory is time's %M.
timed() {
    local label=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$WORK/.time.$$" "$@"
    t1=$(date +%s.%N)
    echo "$label $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $(tail -1 "$WORK/.time.$$")" \
        >>"${TIMES:-$WORK/times}"
    rm -f "$WORK/.time.$$"
}

# median LABEL FIELD: the median of a label's timings (field 2 = seconds,
# field 3 = peak KiB) in $TIMES.
median() {
    awk -v l="$1" -v f="$2" '$1 == l {print $f}' "${TIMES:-$WORK/times}" | sort -g |
        awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# loadavg: the 1, 5 and 15-minute load averages, to say whether a run had
# the machine to itself.
loadavg() {
    cut -d' ' -f1-3 /proc/loadavg
}
