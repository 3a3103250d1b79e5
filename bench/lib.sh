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

# timed LABEL CMD...: runs CMD, appends "LABEL seconds peak_kib" to $WORK/times.
timed() {
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$WORK/.time" "$@"
    echo "$label $(cat "$WORK/.time")" >>"$WORK/times"
}

# median LABEL FIELD: the median of a label's timings (field 2 = seconds,
# field 3 = peak KiB).
median() {
    awk -v l="$1" -v f="$2" '$1 == l {print $f}' "$WORK/times" | sort -g |
        awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
