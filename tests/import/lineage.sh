#!/usr/bin/env bash
# Lineage across re-surveys (issue 16; docs/changes.md): a commune from
# pdb-synth, then its re-survey (pdb-synth --resurvey: known renumberings,
# reshapes, merges and splits, every vertex measured again within 2 cm),
# imported over it. Every lineage edge the import records is compared
# with the manifest's ground truth (the unchanged parcels included, each
# to itself); the import's summary line and `info --changes` say the same
# counts and steps; `lookup --lineage` and GET .../lineage (curl) show the
# import steps with their dates; the same file imported again says all
# unchanged (also with duplicate numbers and repaired parcels); a parcel
# removed is retired, one moved where none was is new; the re-survey in
# WGS 84 over the commune in TM-3 gives the same classes. The store starts
# with the lineage table of the stores made before re-imports recorded
# lineage (its CHECK without 'unchanged'), which the first import upgrades.
# Runs on both stores (import_lineage_pg: tests/pg.cmake).
source "$(dirname "$0")/lib.sh"
need_synth
PY=/usr/bin/python3 # Debian's (scripts/install-deps.sh)
C=07894
N=600

new_store
# The lineage table as stores made before this feature have it.
OLD_KINDS="'split', 'merge', 'reshape', 'update', 'renumber'"
if [ "$PDB_TEST_STORE" = pg ]; then
    sql "ALTER TABLE lineage DROP CONSTRAINT lineage_kind_check, ADD CONSTRAINT lineage_kind_check
        CHECK (kind IN ($OLD_KINDS))" >/dev/null
    kinds_sql="SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'lineage_kind_check'"
else
    sql "DROP TABLE lineage; CREATE TABLE lineage (id INTEGER PRIMARY KEY,
        parent_id INTEGER NOT NULL REFERENCES parcels(id), child_id INTEGER NOT NULL REFERENCES
        parcels(id), kind TEXT NOT NULL CHECK (kind IN ($OLD_KINDS)), overlap_m2 REAL NOT NULL,
        change_id INTEGER REFERENCES changes(id), batch_id INTEGER REFERENCES import_batches(id),
        at TEXT NOT NULL)"
    kinds_sql="SELECT sql FROM sqlite_master WHERE name = 'lineage'"
fi
case $(sql "$kinds_sql") in *unchanged*) fail "the old lineage table was not made" ;; esac

"$SYNTH" --out v1 --communes $C --parcels-per-commune $N --format GPKG --defects none --quiet
"$SYNTH" --out v2 --communes $C --parcels-per-commune $N --format GPKG --defects none --quiet \
    --resurvey 4 --resurvey-noise 0.02

OUT=$("$PARCELDB" import --db "$DB" v1/$C.gpkg 2>&1) || fail "first import: $OUT"
contains "first import: every parcel new" "$OUT" \
    "changes $C: unchanged 0, renumbered 0, reshaped 0, split 0 -> 0, merged 0 -> 0, new $N, retired 0"
case $(sql "$kinds_sql") in
*unchanged*) ok "the lineage table was upgraded to the 'unchanged' kind" ;;
*) fail "the lineage table keeps its old CHECK: $(sql "$kinds_sql")" ;;
esac
check "first import: no edges" "$(sql "SELECT count(*) FROM lineage")" 0

OUT=$("$PARCELDB" import --db "$DB" v2/$C.gpkg 2>&1) || fail "re-survey import: $OUT"
B2=$(sql "SELECT max(id) FROM import_batches")

# The edges expected from the ground truth: "kind old new" a line, the
# unchanged parcels (every number of v1 not in the truth) to themselves.
# A number is FORMER:SHEET/PARCEL: this commune merged former communes
# (2025) whose sheets repeat each other's numbers.
NUM="coalesce(former_commune, commune) || ':' || sheet || '/' || parcel"
sql "SELECT $NUM FROM parcels WHERE batch_id = 1" >v1.numbers
$PY "$PDB_SOURCE_DIR/tests/import/resurvey_edges.py" v2/$C.gpkg.manifest.json v1.numbers >expected.edges
sql "SELECT l.kind || ' ' || coalesce(pp.former_commune, pp.commune) || ':' || pp.sheet || '/' ||
    pp.parcel || ' ' || coalesce(pc.former_commune, pc.commune) || ':' || pc.sheet || '/' || pc.parcel
    FROM lineage l JOIN parcels pp ON pp.id = l.parent_id JOIN parcels pc ON pc.id = l.child_id
    WHERE l.batch_id = $B2" | LC_ALL=C sort >actual.edges
LC_ALL=C sort -o expected.edges expected.edges
check "re-survey: the truth lists 4 of each change" \
    "$(cut -d' ' -f1 expected.edges | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" \
    "merge=8 renumber=4 reshape=4 split=8 unchanged=$((N - 20)) "
if diff expected.edges actual.edges >edges.diff; then
    ok "re-survey: every one of $(wc -l <actual.edges) edges as the ground truth says"
else
    fail "re-survey: edges differ from the ground truth (< expected, > recorded): $(head -20 edges.diff)"
fi
SUMMARY="$C: unchanged $((N - 20)), renumbered 4, reshaped 4, split 4 -> 8, merged 8 -> 4, new 0, retired 0"
contains "re-survey: the import's summary" "$OUT" "changes $SUMMARY"

INFO=$("$PARCELDB" info --db "$DB" --changes "$B2") || fail "info --changes: $INFO"
contains "info --changes: the counts" "$INFO" "^$SUMMARY$"
# Its step lines (all but the unchanged), as "kind old new" without the commune.
grep -E '^(split|merge|renumber|reshape|new|retired) ' <<<"$INFO" |
    sed -E "s# $C/# #g; s/ -> / /; s/ [0-9.]+ m2$//; s/ +/ /g" | LC_ALL=C sort >info.steps
# (info names parcels C/S/P: the changed ones are all of former commune $C)
grep -v '^unchanged ' expected.edges | sed "s# $C:# #g" >expected.steps
if diff expected.steps info.steps >steps.diff; then
    ok "info --changes: one line per step that is not unchanged ($(wc -l <info.steps))"
else
    fail "info --changes: steps differ (< expected, > listed): $(head -20 steps.diff)"
fi

# lookup --lineage: a split's new parcel, its step from the import, dated.
read -r OLD NEW < <(awk '$1 == "split" {print $2, $3; exit}' expected.steps)
LIN=$("$PARCELDB" lookup --db "$DB" --id "$C/$NEW" --lineage) || fail "lookup --lineage: $LIN"
AT=$(sql "SELECT committed_at FROM import_files WHERE batch_id = $B2")
$PY - "$LIN" "$C/$OLD" "$C/$NEW" "$B2" "$AT" <<'PYEOF' && ok "lookup --lineage: the split by import $B2 at $AT" || fail "lookup --lineage: $LIN"
import json, sys
l, old, new, batch, at = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
steps = [s for s in l["ancestors"] if s["kind"] == "split"]
assert l["parcel"] == new, l["parcel"]
assert len(steps) == 1 and steps[0]["parent"] == old and steps[0]["child"] == new, steps
assert steps[0]["batch"] == batch and steps[0]["change"] is None and steps[0]["at"] == at, steps
assert steps[0]["overlap_m2"] > 0
PYEOF

# GET /parcels/{c}/{s}/{p}/lineage from a running server (curl), for a
# merge's new parcel (its number is new: unique in the commune, whose
# former communes repeat each other's old numbers): both parents, each a
# step of import $B2.
MERGED=$(awk '$1 == "merge" {print $3; exit}' expected.steps)
PARENTS=$(awk -v n="$MERGED" '$1 == "merge" && $3 == n {print $2}' expected.steps | tr '\n' ' ')
AS_ROOT=()
[ "$(id -u)" -eq 0 ] && AS_ROOT=(--allow-root)
"$PARCELDB" serve --db "$DB" --listen 127.0.0.1:0 --port-file port --no-web --quiet "${AS_ROOT[@]}" \
    >server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 300); do [ -s port ] && break; kill -0 $SERVER 2>/dev/null || break; sleep 0.1; done
[ -s port ] || fail "the server did not start: $(tail -3 server.log)"
HTTP=$(curl -sS --max-time 30 "http://127.0.0.1:$(cat port)/parcels/$C/$MERGED/lineage") ||
    fail "GET lineage: $HTTP"
kill -TERM $SERVER && wait $SERVER || true
trap 'rm -rf "$WORK"' EXIT
$PY - "$HTTP" "$C" "$MERGED" "$PARENTS" "$B2" <<'PYEOF' && ok "GET lineage: $C/$MERGED merged from $PARENTS by import $B2" || fail "GET lineage: $HTTP"
import json, sys
l, c, new, want, batch = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].split(), int(sys.argv[5])
assert l["parcel"] == "%s/%s" % (c, new), l["parcel"]
steps = [s for s in l["ancestors"] if s["kind"] == "merge"]
assert sorted(s["parent"] for s in steps) == sorted("%s/%s" % (c, n) for n in want), steps
assert all(s["child"] == l["parcel"] and s["batch"] == batch and s["change"] is None and s["at"]
           for s in steps), steps
PYEOF

# The same file again (--force): every parcel unchanged, to itself.
OUT=$("$PARCELDB" import --db "$DB" --force v2/$C.gpkg 2>&1) || fail "same file again: $OUT"
B3=$(sql "SELECT max(id) FROM import_batches")
contains "same file again: all unchanged" "$OUT" \
    "changes $C: unchanged $N, renumbered 0, reshaped 0, split 0 -> 0, merged 0 -> 0, new 0, retired 0"
check "same file again: each edge to the same number" \
    "$(sql "SELECT count(*) FROM lineage l JOIN parcels pp ON pp.id = l.parent_id JOIN parcels pc
        ON pc.id = l.child_id WHERE l.batch_id = $B3 AND l.kind = 'unchanged'
        AND pp.sheet = pc.sheet AND pp.parcel = pc.parcel")" "$N"

# New and retired: the re-survey less one parcel, and another moved 3 km
# east (where no parcel was): the first retired, the second new and its
# old self retired; both chosen among the new numbers (unique in the
# commune). Written with GDAL's Python API.
read -r GONE MOVED _ < <(awk '$1 == "renumber" {printf "%s ", $3} END {print ""}' expected.steps)
$PY - v2/$C.gpkg v3.gpkg "$GONE" "$MOVED" <<'PYEOF'
import sys
from osgeo import ogr
src = ogr.Open(sys.argv[1])
lyr = src.GetLayer(0)
dst = ogr.GetDriverByName("GPKG").CreateDataSource(sys.argv[2])
out = dst.CreateLayer(lyr.GetName(), lyr.GetSpatialRef(), lyr.GetGeomType())
for i in range(lyr.GetLayerDefn().GetFieldCount()):
    out.CreateField(lyr.GetLayerDefn().GetFieldDefn(i))
for f in lyr:
    key = "%s/%s" % (f.GetField("SoHieuToBanDo"), f.GetField("SoThuTuThua"))
    if key == sys.argv[3]:
        continue
    g = f.GetGeometryRef().Clone()
    if key == sys.argv[4]:
        for k in range(g.GetGeometryCount()):
            poly = g.GetGeometryRef(k)
            for j in range(poly.GetGeometryCount()):
                ring = poly.GetGeometryRef(j)
                for p in range(ring.GetPointCount()):
                    ring.SetPoint_2D(p, ring.GetX(p) + 3000, ring.GetY(p))
    o = ogr.Feature(out.GetLayerDefn())
    o.SetFrom(f)
    o.SetGeometry(g)
    out.CreateFeature(o)
PYEOF
OUT=$("$PARCELDB" import --db "$DB" v3.gpkg 2>&1) || fail "import of v3: $OUT"
B4=$(sql "SELECT max(id) FROM import_batches")
contains "one gone, one moved away: the summary" "$OUT" \
    "changes $C: unchanged $((N - 2)), renumbered 0, reshaped 0, split 0 -> 0, merged 0 -> 0, new 1, retired 2"
INFO=$("$PARCELDB" info --db "$DB" --changes "$B4") || fail "info --changes $B4: $INFO"
check "one gone, one moved away: info --changes lists them" \
    "$(grep -E '^(new|retired) ' <<<"$INFO" | sed -E 's/ [0-9.]+ m2$//; s/ +/ /g' | LC_ALL=C sort | tr '\n' ';')" \
    "$(printf '%s\n' "new - -> $C/$MOVED" "retired $C/$GONE -> -" "retired $C/$MOVED -> -" |
        LC_ALL=C sort | tr '\n' ';')"

# The same file again, with the defects real registers have (duplicate
# numbers, repaired and rejected records), in another commune and zone:
# every parcel stored is unchanged, to itself.
D=08707
"$SYNTH" --out vd --communes $D --parcels-per-commune 300 --format GPKG --defects 3 --quiet
"$PARCELDB" import --quiet --db "$DB" vd/$D.gpkg 2>/dev/null || fail "import of $D"
STORED=$(sql "SELECT count(*) FROM parcels WHERE commune = '$D' AND valid_to IS NULL")
DUPS=$(sql "SELECT count(*) FROM parcels WHERE commune = '$D' AND valid_to IS NULL AND (flags & 1) <> 0")
OUT=$("$PARCELDB" import --db "$DB" --force vd/$D.gpkg 2>&1) || fail "same file with defects again: $OUT"
contains "same file with defects ($DUPS parcels of duplicate numbers) again: all unchanged" "$OUT" \
    "changes $D: unchanged $STORED, renumbered 0, reshaped 0, split 0 -> 0, merged 0 -> 0, new 0, retired 0"
[ "$DUPS" -gt 0 ] || fail "pdb-synth --defects 3 made no duplicate numbers"

# The re-survey delivered in another CRS (WGS 84, reprojected by ogr2ogr)
# over the commune surveyed in TM-3: matched in the commune's TM-3 metres,
# the same classes (reprojection moves no vertex by a centimetre).
ogr2ogr -f GPKG -t_srs EPSG:4326 v2-wgs84.gpkg v2/$C.gpkg
MAIN_DB=$DB
new_store other
"$PARCELDB" import --quiet --db "$DB" v1/$C.gpkg || fail "import of v1 into a second store"
OUT=$("$PARCELDB" import --db "$DB" v2-wgs84.gpkg 2>&1) || fail "re-survey in WGS 84: $OUT"
contains "re-survey in WGS 84 over TM-3: the same summary" "$OUT" "changes $SUMMARY"
DB=$MAIN_DB

# Bad input: a batch that does not exist, a batch that is not a number.
ERR=$("$PARCELDB" info --db "$DB" --changes 99 2>&1) && fail "info --changes 99 succeeded"
check "unknown batch: one line" "$ERR" "parceldb: --changes: no import batch 99"
ERR=$("$PARCELDB" info --db "$DB" --changes x 2>&1) && fail "info --changes x succeeded"
check "a batch that is not a number: one line" "$(wc -l <<<"$ERR")" 1
ERR=$("$PARCELDB" info --db "$DB" --changes 2 --check 2>&1) && fail "info --changes --check succeeded"
check "--changes with --check: one line" "$(wc -l <<<"$ERR")" 1
# ... and the generator's: noise without a re-survey, noise out of range.
for args in "--resurvey-noise 0.01" "--resurvey 2 --resurvey-noise 0.5" "--resurvey x"; do
    # shellcheck disable=SC2086 # the options are split on purpose
    ERR=$("$SYNTH" --out bad --communes $C $args 2>&1) && fail "pdb-synth $args succeeded"
    check "pdb-synth $args: one line" "$(wc -l <<<"$ERR")" 1
done
finish
