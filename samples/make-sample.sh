#!/usr/bin/env bash
# Regenerates samples/phu-tho-sample: two communes of the synthetic province,
# one per TM-3 zone of the bigger former provinces, as Shapefiles (UTF-8, with
# .prj and .cpg) with the default small defect rate and their manifests.
#   07900 Phường Việt Trì (Phu Tho, EPSG:9208)   08773 Xã Yên Lãng (Vinh Phuc, EPSG:5897)
# Usage: samples/make-sample.sh [path/to/pdb-synth]   (or set PDB_SYNTH)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
synth=${1:-${PDB_SYNTH:-}}
if [ -z "$synth" ]; then
    for candidate in "$here"/../build/samples/pdb-synth "$here"/../build-*/samples/pdb-synth; do
        if [ -x "$candidate" ]; then
            synth=$candidate
            break
        fi
    done
fi
[ -n "$synth" ] && [ -x "$synth" ] || {
    echo "make-sample: pdb-synth not found; build it (cmake --build build --target pdb-synth)" \
        "or pass its path" >&2
    exit 1
}

out="$here/phu-tho-sample"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phu-tho-sample.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$synth" --out "$tmp" --communes 07900,08773 --parcels-per-commune 1100 --seed 2025 \
    --format "ESRI Shapefile" --encoding utf8 --field-names standard --defects default
mkdir -p "$out"
rm -f "$out"/07900.* "$out"/08773.*
cp "$tmp"/* "$out"/
size=$(du -sk "$out" | cut -f1)
echo "make-sample: $out, ${size} KB"
if [ "$size" -ge 1024 ]; then
    echo "make-sample: the sample is over 1 MB" >&2
    exit 1
fi
