#!/usr/bin/env bash
# Previous numbers as lineage evidence on a generated re-survey (issue 16;
# docs/changes.md): pdb-synth --national writes the national attribute
# set, and with --resurvey its renumbered, split and merged parcels name
# their previous numbers, and 4 pairs of neighbours get a boundary moved
# 3 m (both renumbered, each naming its old number). Imported over the
# commune, every lineage edge is compared with the manifest's ground
# truth, where each moved boundary is two reshapes; the same re-survey
# without the national fields (ogr2ogr -select) is matched by geometry
# alone, and those pairs are merges of both into both: the numbers decided.
# Runs on both stores (import_lineage_national_pg: tests/pg.cmake).
source "$(dirname "$0")/lib.sh"
need_synth
PY=/usr/bin/python3 # Debian's (scripts/install-deps.sh)
C=07894
N=600

"$SYNTH" --out v1 --communes $C --parcels-per-commune $N --format GPKG --defects none --quiet --national
"$SYNTH" --out v2 --communes $C --parcels-per-commune $N --format GPKG --defects none --quiet \
    --national --resurvey 4 --resurvey-noise 0.02
check "the manifest names the national fields" \
    "$(mf v2/$C.gpkg.manifest.json '$.national_fields.prev_parcel')" SoThuTuThuaCu

# expected_edges MANIFEST NUMBERS: "kind old new" a line, sorted, from the
# ground truth (resurvey_edges.py, as tests/import/lineage.sh).
expected_edges() {
    $PY "$PDB_SOURCE_DIR/tests/import/resurvey_edges.py" "$1" "$2" | LC_ALL=C sort
}
NUM="coalesce(former_commune, commune) || ':' || sheet || '/' || parcel"
# recorded_edges BATCH: the lineage the batch recorded, as expected_edges.
recorded_edges() {
    sql "SELECT l.kind || ' ' || coalesce(pp.former_commune, pp.commune) || ':' || pp.sheet || '/' ||
        pp.parcel || ' ' || coalesce(pc.former_commune, pc.commune) || ':' || pc.sheet || '/' || pc.parcel
        FROM lineage l JOIN parcels pp ON pp.id = l.parent_id JOIN parcels pc ON pc.id = l.child_id
        WHERE l.batch_id = $1" | LC_ALL=C sort
}

new_store
import v1/$C.gpkg
check "first import exits 0" "$RC" 0
check "the certificates are stored" "$(sql "SELECT count(*) FROM parcels WHERE certificate LIKE 'CS %'")" $N
sql "SELECT $NUM FROM parcels WHERE batch_id = 1" >v1.numbers
import v2/$C.gpkg
check "re-survey import exits 0" "$RC" 0
B2=$(sql "SELECT max(id) FROM import_batches")
expected_edges v2/$C.gpkg.manifest.json v1.numbers >expected.edges
recorded_edges "$B2" >actual.edges
check "the truth: 4 of each change, and 4 moved boundaries as 8 reshapes" \
    "$(cut -d' ' -f1 expected.edges | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" \
    "merge=8 renumber=4 reshape=12 split=8 unchanged=$((N - 28)) "
if diff expected.edges actual.edges >edges.diff; then
    ok "with the numbers: every one of $(wc -l <actual.edges) edges as the ground truth says"
else
    fail "with the numbers: edges differ (< expected, > recorded): $(head -20 edges.diff)"
fi
contains "the summary" "$OUT" \
    "changes $C: unchanged $((N - 28)), renumbered 4, reshaped 12, split 4 -> 8, merged 8 -> 4, new 0, retired 0"
check "every previous number named a superseded parcel it overlaps" \
    "$(sql "SELECT count(*) FROM rejects WHERE reason LIKE 'prev-number-%'")" 0

# The same file again: every parcel unchanged (the same bytes under the
# same number), and its previous numbers, which name parcels of the
# survey before, are not checked again.
import --force v2/$C.gpkg
contains "the same re-survey again: all unchanged, nothing to report" "$OUT" \
    "changes $C: unchanged $N, renumbered 0, reshaped 0, split 0 -> 0, merged 0 -> 0, new 0, retired 0$"

# The same re-survey without the national fields: geometry alone.
LAYER=$(ogrinfo -ro -q v2/$C.gpkg | head -1 | awk '{print $2}')
KEEP=$(ogrinfo -ro -so v2/$C.gpkg "$LAYER" | sed -nE 's/^([A-Za-z_0-9]+): (String|Integer|Real).*/\1/p' |
    grep -vE '^(SoHieuToBanDoCu|SoThuTuThuaCu|SoHieuGCN|ThoiDiemBatDau|ThoiDiemKetThuc)$' |
    paste -sd, -)
mkdir -p plain
ogr2ogr -f GPKG plain/$C.gpkg v2/$C.gpkg -select "$KEEP"
check "the plain copy has no national field" \
    "$(ogrinfo -ro -so plain/$C.gpkg "$LAYER" | grep -cE '^(SoHieuToBanDoCu|SoThuTuThuaCu):' || true)" 0
new_store geometry
import v1/$C.gpkg
import plain/$C.gpkg
check "geometry alone: the import exits 0" "$RC" 0
B2=$(sql "SELECT max(id) FROM import_batches")
recorded_edges "$B2" >plain.edges
# Each moved boundary, by geometry: both old parcels into the one that
# grew, the other into the other: 3 merge edges a pair, no reshape.
check "geometry alone: the moved boundaries are merges" \
    "$(cut -d' ' -f1 plain.edges | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" \
    "merge=20 renumber=4 reshape=4 split=8 unchanged=$((N - 28)) "
finish
