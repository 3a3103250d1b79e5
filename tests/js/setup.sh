#!/usr/bin/env bash
# setup.sh DIR: installs the JavaScript clients of the vector tile tests
# (tests/js/package.json, pinned by package-lock.json: @mapbox/vector-tile,
# pbf, @mapbox/mvt-fixtures, @maplibre/maplibre-gl-style-spec) into
# DIR/node_modules with npm ci, as web/build.sh installs Leaflet, and again
# only when the lock file changed. The CTest fixture pdb_mvt_js runs it
# (tests/mvt.cmake); the tests that need it fail, not skip, when it did.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: setup.sh DIR}
mkdir -p "$dir"
stamp="$dir/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$src/package-lock.json" -nt "$stamp" ]; then
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    command -v npm >/dev/null || { echo "setup.sh: npm is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
    touch "$stamp"
fi
for m in @mapbox/vector-tile pbf @mapbox/mvt-fixtures @maplibre/maplibre-gl-style-spec; do
    [ -f "$dir/node_modules/$m/package.json" ] || { echo "setup.sh: $m did not install" >&2; exit 1; }
done
echo "setup.sh: JavaScript clients ready in $dir"
