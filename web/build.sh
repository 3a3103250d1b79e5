#!/usr/bin/env bash
# build.sh OUT NPMDIR: assembles the demo page into OUT: index.html, app.js,
# vector.js, style.css, leaflet/ (Leaflet's dist: leaflet.js, leaflet.css,
# images/, LICENSE) and maplibre/ (MapLibre GL JS's ES modules, CSS and
# licence). Both come from the npm registry (npm ci in NPMDIR, pinned by
# package-lock.json); offline, Debian's libjs-leaflet is used if installed,
# and the page has no vector map.
# Called by the build (tiler/server/CMakeLists.txt, target pdb_web).
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
npmdir=$2
mkdir -p "$out" "$npmdir"

stamp="$npmdir/node_modules/leaflet/package.json"
# (one npm ci installs Leaflet and MapLibre GL JS alike: the stamp is
# Leaflet's, and a newer lock file installs both again)
if [ ! -f "$stamp" ] || [ "$src/package-lock.json" -nt "$stamp" ]; then
    cp "$src/package.json" "$src/package-lock.json" "$npmdir/"
    if command -v npm >/dev/null 2>&1; then
        (cd "$npmdir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
            echo "web/build.sh: npm ci failed; looking for Debian's libjs-leaflet" >&2
        [ -f "$stamp" ] && touch "$stamp"
    fi
fi
if [ -f "$npmdir/node_modules/leaflet/dist/leaflet.js" ]; then
    dist="$npmdir/node_modules/leaflet/dist"
    license="$npmdir/node_modules/leaflet/LICENSE"
elif [ -f /usr/share/javascript/leaflet/leaflet.js ]; then
    dist=/usr/share/javascript/leaflet
    license=/usr/share/doc/libjs-leaflet/copyright
else
    echo "web/build.sh: Leaflet is not available: npm could not fetch it and libjs-leaflet" \
        "is not installed (configure with -DPDB_WEB=OFF to build without the demo page)" >&2
    exit 1
fi

rm -rf "$out/leaflet.tmp"
mkdir -p "$out/leaflet.tmp"
cp "$dist/leaflet.js" "$dist/leaflet.css" "$out/leaflet.tmp/"
cp -r "$dist/images" "$out/leaflet.tmp/"
[ -f "$license" ] && cp "$license" "$out/leaflet.tmp/LICENSE"
rm -rf "$out/leaflet"
mv "$out/leaflet.tmp" "$out/leaflet"
# MapLibre GL JS for the vector map (web/vector.js): its ES module, the
# worker module it starts from beside itself, its CSS and licence. Without
# it (npm offline) the page still works and says so when the vector map is
# asked for.
ml=$npmdir/node_modules/maplibre-gl
rm -rf "$out/maplibre"
if [ -f "$ml/dist/maplibre-gl.mjs" ] && [ -f "$ml/dist/maplibre-gl-worker.mjs" ]; then
    mkdir -p "$out/maplibre.tmp"
    cp "$ml/dist/maplibre-gl.mjs" "$ml/dist/maplibre-gl-worker.mjs" "$ml/dist/maplibre-gl.css" \
        "$ml/LICENSE.txt" "$out/maplibre.tmp/"
    mv "$out/maplibre.tmp" "$out/maplibre"
else
    echo "web/build.sh: maplibre-gl is not available (npm could not fetch it): the demo page" \
        "will have no vector map" >&2
fi
cp "$src/index.html" "$src/errors.js" "$src/app.js" "$src/vector.js" "$src/style.css" "$out/"
