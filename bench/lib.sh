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

# callgrind_serve BUILD STORE OUT: starts `parceldb serve` (one thread, no
# web page) on STORE under callgrind, its counts to OUT and its log to
# OUT.log, and waits for its port; sets CG_PID and CG_PORT. callgrind_stop
# then stops it and prints the instructions it ran (the file's summary).
callgrind_serve() {
    local build=$1 store=$2 out=$3 as_root=()
    [ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
    rm -f "$out.port"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$build/cli/parceldb" serve \
        --db "$store" --listen 127.0.0.1:0 --port-file "$out.port" --no-web --quiet --threads 1 \
        "${as_root[@]}" >"$out.log" 2>&1 &
    CG_PID=$!
    for _ in $(seq 300); do [ -s "$out.port" ] && break; sleep 0.2; done
    CG_PORT=$(cat "$out.port")
}

callgrind_stop() {
    kill -INT "$CG_PID"
    wait "$CG_PID" || true
    sed -n 's/^summary: //p' "$1"
}

# bench_args NAME "$@": what every benchmark with a smoke mode starts with.
# Takes its one optional argument, --smoke (sets smoke to 1, else 0; any
# other argument: the usage, exit 2), finds the build it measures (BUILD,
# from PDB_BINARY_DIR, build-rel by default; P the parceldb binary and
# SYNTH pdb-synth in it, or says how to build and exits 1) and goes to the
# checkout's root.
bench_args() {
    local name=$1
    shift
    smoke=0
    case ${1:-} in
    --smoke) smoke=1 ;;
    "") ;;
    *)
        echo "usage: bench/$name/run.sh [--smoke]" >&2
        exit 2
        ;;
    esac
    BUILD=${PDB_BINARY_DIR:-$BENCH_ROOT/build-rel}
    P=$BUILD/cli/parceldb
    SYNTH=$BUILD/samples/pdb-synth
    [ -x "$P" ] && [ -x "$SYNTH" ] || {
        echo "build first: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel" >&2
        exit 1
    }
    cd "$BENCH_ROOT" || exit 1
}

# bench_need HINT TOOL...: each TOOL is on PATH (or in /usr/sbin), else
# says which is missing, then HINT (what installs it), and exits 1.
bench_need() {
    local hint=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
            echo "$tool is not installed: $hint" >&2
            exit 1
        }
    done
}
