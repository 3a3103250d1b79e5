# lib.sh: what the importer's script tests share. Sourced, not run.
#
# Fixtures are made here at test time by real tools: the base points come
# from cs2cs (PROJ), the files from ogr2ogr, from a small CSV with WKT that
# these functions write.
set -euo pipefail

: "${PARCELDB:?PARCELDB must name the parceldb command}"
: "${PDB_SOURCE_DIR:?}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-import-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'echo "FAIL: ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND exited $?" >&2' ERR
cd "$WORK"
export CPL_LOG=/dev/null

FAILS=0
PASSES=0

ok() {
    PASSES=$((PASSES + 1))
    echo "ok: $*"
}

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
}

# check NAME ACTUAL EXPECTED
check() {
    if [ "$2" = "$3" ]; then ok "$1 ($2)"; else fail "$1: got '$2', expected '$3'"; fi
}

# contains NAME TEXT PATTERN: TEXT matches the grep -E pattern. A here-
# string, not `printf | grep -q`: bash's printf writes line by line, grep -q
# exits at the first matching line, and a later write then dies of SIGPIPE,
# which pipefail turned into a failed match (more often the busier the
# machine: import_fields and import_encoding under -j2).
contains() {
    if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else
        fail "$1: '$3' not in: $(head -c 4000 <<<"$2")"
    fi
}

finish() {
    echo "$PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}

# The store: a file, or with PDB_TEST_STORE=pg a PostgreSQL database.
source "$PDB_SOURCE_DIR/tests/lib/store.sh"

# sql SQL: runs SQL on the store (store_sql). The tests that also run on
# PostgreSQL (tests/pg.cmake) write SQL that both read: no group_concat, a
# flag as (flags & N) <> 0, an area as CAST(area * 10 AS INTEGER) (SQLite
# prints 400.0 where PostgreSQL prints 400).
sql() {
    store_sql "$DB" "$1"
}

# need_synth: SYNTH is pdb-synth, part of every build (samples/): without
# it the test fails, it does not skip.
need_synth() {
    SYNTH=${PDB_SYNTH:-${PDB_BINARY_DIR:-}/samples/pdb-synth}
    if [ ! -x "$SYNTH" ]; then
        echo "FAIL: pdb-synth is not built ($SYNTH)" >&2
        exit 1
    fi
}

# new_store [NAME]: DB is a new, initialised store (store_location).
new_store() {
    DB=$(store_location "$WORK" "${1:-parcels}")
    "$PARCELDB" init --db "$DB" >/dev/null
}

# base_point EPSG LON LAT: sets BX BY to the point in EPSG's easting/northing.
base_point() {
    local out
    out=$(echo "$3 $2" | cs2cs -f "%.3f" EPSG:4326 "EPSG:$1")
    BX=$(echo "$out" | awk '{print $1}')
    BY=$(echo "$out" | awk '{print $2}')
}

# The reference points of DESIGN.md, one per former province.
base_phutho() { base_point 9208 105.4020 21.3220; }
base_vinhphuc() { base_point 5897 105.5970 21.3090; }
base_hoabinh() { base_point 9211 105.3380 20.8170; }

# square X Y SIDE: a WKT square with its south-west corner at X Y.
square() {
    awk -v x="$1" -v y="$2" -v s="$3" 'BEGIN {
        printf "POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))",
            x, y, x + s, y, x + s, y + s, x, y + s, x, y }'
}

# grid_csv FILE N COMMUNE [SHEET]: N valid 20 m x 20 m parcels in rows of 50
# from (BX, BY), with typical attributes. Field names can be renamed later.
grid_csv() {
    local file=$1 n=$2 commune=$3 sheet=${4:-12}
    awk -v n="$n" -v bx="$BX" -v by="$BY" -v c="$commune" -v sh="$sheet" 'BEGIN {
        print "WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi"
        split("ONT LUA CLN BHK ONT+CLN", lu, " ")
        for (i = 0; i < n; i++) {
            x = bx + (i % 50) * 25; y = by + int(i / 50) * 25
            printf "\"POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))\",%s,%s,%d,%s,%.1f,Nguyen Van %d,Xom %d\n",
                x, y, x + 20, y, x + 20, y + 20, x, y + 20, x, y, c, sh, i + 1, lu[i % 5 + 1], 400, i, i % 7
        }
    }' > "$file"
}

# import ARGS...: runs the import; sets OUT (stdout+stderr) and RC.
import() {
    set +e
    OUT=$("$PARCELDB" import --db "$DB" "$@" 2>&1)
    RC=$?
    set -e
}

# to_format CSV OUT DRIVER [ogr2ogr options...]: converts with ogr2ogr.
to_format() {
    local src=$1 dst=$2 drv=$3
    shift 3
    mkdir -p "$(dirname "$dst")"
    ogr2ogr -q -f "$drv" "$dst" "$src" -oo GEOM_POSSIBLE_NAMES=WKT -oo KEEP_GEOM_COLUMNS=NO \
        -nln parcels "$@"
}

# mf FILE PATH: a value of a JSON manifest of pdb-synth (sqlite3's JSON
# functions).
mf() {
    sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"
}

# manifest_rejects NAME MANIFEST WHERE [EXTRA]: the rejects matching WHERE,
# by reason, against what the manifest promises (EXTRA more records
# without numbers: CAD parts, tests/import/synth.sh).
manifest_rejects() {
    local name=$1 m=$2 where=$3 extra=${4:-0} reason want
    for reason in null-geometry empty-geometry not-polygon invalid-geometry; do
        want=$(mf "$m" "\$.expected.rejected_by_reason.\"$reason\"")
        check "$name: $reason" "$(sql "SELECT count(*) FROM rejects WHERE $where AND reason = '$reason'")" "${want:-0}"
    done
    check "$name: missing sheet or parcel number" \
        "$(sql "SELECT count(*) FROM rejects WHERE $where AND reason IN ('missing-sheet', 'missing-parcel')")" \
        "$(($(mf "$m" '$.expected.rejected_by_reason."missing-number"') + extra))"
    check "$name: repaired, original kept" \
        "$(sql "SELECT count(*) FROM rejects WHERE $where AND reason = 'repaired-geometry' AND stored = 1")" \
        "$(mf "$m" '$.expected.repaired')"
}
