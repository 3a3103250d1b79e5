#!/usr/bin/env bash
# The DGN v7 reader of the sheet import (import/dgn7.c, docs/import.md "The
# DGN v7 reader"): on the generator's sheets it reads the elements GDAL's
# DGN driver reads (in file order: level, kind, every coordinate as the
# same double, every text's bytes), the import gives the parcels it gave
# through GDAL, a sheet holding an element it does not read goes through
# GDAL with a note, and hand-cut bad files give one-line errors naming the
# element's offset, nothing stored.
#   usage: dgn7.sh DGN7_DUMP (tests/unit/dgn7_dump.c)
source "$(dirname "$0")/lib.sh"

DUMP=${1:?the dgn7_dump program}
need_synth

# 07900: four sheets of three former communes, planted defects (the frame
# outlines over 100 vertices are complex chains).
"$SYNTH" --out "$WORK/dgn" --communes 07900 --parcels-per-commune 1200 --seed 5 --quiet \
    --format DGN --sheets lines
F=dgn/07900.dgn

same_as_gdal() { # NAME FILE EXPECTED_LEVELS
    local out
    "$DUMP" "$2" >"$2.dump"
    out=$(/usr/bin/python3 "$PDB_SOURCE_DIR/tests/import/dgn7_compare.py" "$2.dump" "$2")
    check "$1: the same elements as GDAL's driver" "$(tail -1 <<<"$out")" same
    check "$1: per level" "$(head -1 <<<"$out")" "$3"
}
LEVELS="levels 10:line=2621 13:text=1205 14:text=1204 15:text=1204 23:line=821 28:line=96 63:line=10 63:multi=7 63:text=15"
same_as_gdal "generator's sheet" "$F" "$LEVELS"
contains "the TCB: 1 UOR a subunit, 1000 subunits a metre, 2D" "$(head -1 "$F.dump")" "^units 1 1000 2 "
contains "texts in TCVN3 bytes, as they are" "$(grep -c '^text 63 ' "$F.dump")" "^15$"
# The same drawing as a 3D file (GDAL's writer: another TCB, 12-byte vertices).
ogr2ogr -f DGN -dsco 3D=YES sheet3d_07900.dgn "$F"
same_as_gdal "the sheet as a 3D file" sheet3d_07900.dgn \
    "levels 10:line=2621 13:text=1205 14:text=1204 15:text=1204 23:line=821 28:line=96 63:line=24 63:text=15"
contains "3D: the TCB's flag read" "$(head -1 sheet3d_07900.dgn.dump)" "^units 1 100 3 "

# The file's elements, offsets and sizes (python3's struct, no GDAL).
cat >elements.py <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
off = 0
while off + 4 <= len(b) and b[off:off + 2] != b"\xff\xff":
    size = 4 + 2 * (b[off + 2] | b[off + 3] << 8)
    print(off, size, b[off + 1] & 0x7F, b[off] & 0x3F)
    off += size
PY
python3 elements.py "$F" >elements.txt
# The 3000th element: a line string of the boundary level, as it happens.
read -r E_OFF E_SIZE E_TYPE _ <<<"$(sed -n 3000p elements.txt)"
read -r L_OFF L_SIZE _ <<<"$(tail -1 elements.txt)"
TCB_SIZE=$(head -1 elements.txt | cut -d' ' -f2)

# write.py OUT: the sheet with bytes spliced: --cut OFF (the file up to OFF,
# then the end-of-design marker), --words OFF W (the words to follow of the
# element at OFF), --insert OFF HEX (bytes inserted at OFF).
cat >write.py <<'PY'
import sys
src, out, op = sys.argv[1], sys.argv[2], sys.argv[3]
b = bytearray(open(src, "rb").read())
if op == "--cut":
    b = b[: int(sys.argv[4])] + b"\xff\xff"
elif op == "--words":
    o, w = int(sys.argv[4]), int(sys.argv[5])
    b[o + 2], b[o + 3] = w & 0xFF, w >> 8
elif op == "--insert":
    o = int(sys.argv[4])
    b = b[:o] + bytes.fromhex(sys.argv[5]) + b[o:]
open(out, "wb").write(b)
PY

# An element: level, type, flags and the bytes after the 4-byte header.
element() { # LEVEL TYPE FLAGS0 BODY_HEX -> hex
    python3 -c '
import sys
lv, ty, fl, body = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), bytes.fromhex(sys.argv[4])
w = len(body) // 2
print((bytes([lv | fl, ty, w & 0xFF, w >> 8]) + body).hex())' "$@"
}
# A 2D line from (X1, Y1) to (X2, Y2) in UOR: range and display header
# (32 bytes of zeros), then the four 32-bit integers, high word first.
line_body() {
    python3 -c '
import sys, struct
def vax(v):
    u = struct.pack("<i", v)
    return u[2:4] + u[0:2]
print((bytes(32) + b"".join(vax(int(a)) for a in sys.argv[1:])).hex())' "$@"
}
# The sheet's first vertex in UOR, so that inserted lines lie near it.
read -r X0 Y0 <<<"$(python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
o = int(sys.argv[2])
def i32(p): return struct.unpack("<i", b[p + 2:p + 4] + b[p:p + 2])[0]
print(i32(o + 38), i32(o + 42))' "$F" "$E_OFF")"

# A valid complex chain of two lines on level 40 (no role), after the TCB:
# read as one element with two parts, as GDAL reads it.
HDR=$(element 40 12 128 "$(python3 -c 'print((bytes(32) + bytes([0, 0, 2, 0])).hex())')")
C1=$(element 40 3 128 "$(line_body "$X0" "$Y0" $((X0 + 1000)) "$Y0")")
C2=$(element 40 3 128 "$(line_body $((X0 + 1000)) "$Y0" $((X0 + 1000)) $((Y0 + 1000)))")
# And a text in the 16-bit form (0xFF 0xFD, then little-endian words: 'A',
# U+1EA0, '1'), at the sheet's first vertex: GDAL makes bytes of it, a byte
# per character below 256, two (high first) above.
TXT=$(element 40 17 0 "$(python3 -c '
import struct, sys
def vax(v):
    u = struct.pack("<i", v)
    return u[2:4] + u[0:2]
text = b"\xff\xfd" + struct.pack("<3H", 0x41, 0x1EA0, 0x31)
print((bytes(46) + vax(int(sys.argv[1])) + vax(int(sys.argv[2])) + bytes([len(text), 0]) + text).hex())' "$X0" "$Y0")")
python3 write.py "$F" chain_07900.dgn --insert "$TCB_SIZE" "$HDR$C1$C2$TXT"
same_as_gdal "a complex chain of two lines, a 16-bit text" chain_07900.dgn \
    "${LEVELS/ 63:line/ 40:multi=1 40:text=1 63:line}"
contains "the chain's two parts" "$(grep '^multi 40 ' chain_07900.dgn.dump)" "^multi 40 2 2 "
contains "the 16-bit text's bytes" "$(grep '^text 40 ' chain_07900.dgn.dump)" " 411ea031$"

# Through the importer: the same parcels as through GDAL before (the
# sheets test checks them against the polygons) and a sheet holding an arc
# read through GDAL with a note.
PARCELS_SQL="SELECT former_commune, sheet, parcel, landuse, area_surveyed_m2, hex(source_geom)
             FROM parcels WHERE valid_to IS NULL ORDER BY 1, 2, 3"
new_store own
import --srs EPSG:9208 "$F"
check "sheet: imports" "$RC" 0
OWN=$(sql "$PARCELS_SQL")
check "sheet: 1197 parcels" "$(wc -l <<<"$OWN")" 1197
check "sheet: read by our reader, not GDAL's driver" "$(grep -c "read through GDAL" <<<"$OUT" || true)" 0
ARC=$(element 40 16 0 "$(python3 -c 'print(bytes(76).hex())')")
python3 write.py "$F" arc_07900.dgn --insert "$TCB_SIZE" "$ARC"
new_store arc
import --srs EPSG:9208 arc_07900.dgn
check "a sheet with an arc: imports" "$RC" 0
contains "a sheet with an arc: read through GDAL, said" "$OUT" \
    "arc_07900.dgn: DGN: 1 elements of types the sheet reader does not read \(.*arc: 1.*\): the file is read through GDAL's DGN driver"
check "a sheet with an arc: through GDAL, the parcels our reader gives" "$(sql "$PARCELS_SQL" | md5sum)" \
    "$(md5sum <<<"$OWN")"

# --- Hand-cut bad files: one line naming the offset, nothing stored. ---
new_store bad
bad() { # NAME FILE PATTERN
    import --srs EPSG:9208 "$2"
    check "$1: exit status" "$RC" 1
    check "$1: one error line" "$(grep -c 'FAILED: ' <<<"$OUT")" 1
    contains "$1: says why" "$(grep -E 'FAILED: ' <<<"$OUT")" "$3"
    check "$1: nothing stored" "$(sql "SELECT count(*) FROM parcels")" 0
    check "$1: no batch committed" "$(sql "SELECT count(*) FROM import_batches WHERE status = 'ok'")" 0
}
# An element cut in its middle (the end-of-design marker after the cut, so
# that the file does not look truncated from its end).
python3 write.py "$F" cut_07900.dgn --cut $((E_OFF + E_SIZE / 2))
bad "an element cut short" cut_07900.dgn \
    "DGN element at offset $E_OFF: its $(((E_SIZE - 4) / 2)) words to follow run past the end of the file"
# The last element's words to follow reach past the end.
python3 write.py "$F" words_07900.dgn --words "$L_OFF" 30000
bad "words to follow past the end" words_07900.dgn \
    "DGN element at offset $L_OFF: its 30000 words to follow run past the end of the file"
# A complex chain claiming three components, two following.
HDR3=$(element 40 12 128 "$(python3 -c 'print((bytes(32) + bytes([0, 0, 3, 0])).hex())')")
python3 write.py "$F" complex_07900.dgn --insert "$TCB_SIZE" "$HDR3$C1$C2"
bad "a complex header claiming more components than follow" complex_07900.dgn \
    "DGN complex chain at offset $TCB_SIZE claims 3 components, 2 follow \(an element not marked complex at offset $((TCB_SIZE + ${#HDR3} / 2 + ${#C1} / 2 + ${#C2} / 2))\)"
# A line string of one vertex.
python3 write.py "$F" one_07900.dgn --insert "$TCB_SIZE" \
    "$(element 10 4 0 "$(python3 -c 'print((bytes(32) + bytes([1, 0]) + bytes(8)).hex())')")"
bad "a line string of one vertex" one_07900.dgn "DGN element at offset $TCB_SIZE \(type 4\): 1 vertex, a line needs 2"
# A line string claiming more vertices than its element holds.
python3 write.py "$F" count_07900.dgn --insert "$TCB_SIZE" \
    "$(element 10 4 0 "$(python3 -c 'print((bytes(32) + bytes([9, 0]) + bytes(16)).hex())')")"
bad "vertices past the element" count_07900.dgn \
    "DGN element at offset $TCB_SIZE \(type 4\): 9 vertices need 110 bytes, the element has 54"
# A text whose length runs past its element.
python3 write.py "$F" text_07900.dgn --insert "$TCB_SIZE" \
    "$(element 13 17 0 "$(python3 -c 'print((bytes(54) + bytes([40, 0]) + b"12").hex())')")"
bad "a text past its element" text_07900.dgn "DGN text at offset $TCB_SIZE: its 40 characters run past its element \(62 bytes\)"

finish
