# check.sh: what a script test sources first: a work directory removed on
# exit, and `check WHAT GOT WANT`, which counts; `check_done` prints the
# closing line and sets the exit status. Needs PARCELDB.
set -u
: "${PARCELDB:?PARCELDB must name the parceldb command}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-${0##*/}.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
export CPL_LOG=/dev/null
PASSES=0 FAILS=0

check() {
    if [ "$2" = "$3" ]; then
        PASSES=$((PASSES + 1)) && echo "ok: $1 ($2)"
    else
        FAILS=$((FAILS + 1)) && echo "FAIL: $1: got '$2', want '$3'" >&2
    fi
}

check_done() {
    echo "$PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}
