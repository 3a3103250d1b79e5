#!/usr/bin/env bash
# build.sh OUT NPMDIR: assembles the demo page into OUT: index.html, app.js,
# style.css and leaflet/ (Leaflet's dist: leaflet.js, leaflet.css, images/,
# LICENSE). Leaflet comes from the npm registry (npm ci in NPMDIR, pinned by
# package-lock.json); offline, Debian's libjs-leaflet is used if installed.
# Called by the build (tiler/server/CMakeLists.txt, target pdb_web).
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
npmdir=$2
mkdir -p "$out" "$npmdir"

stamp="$npmdir/node_modules/leaflet/package.json"
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
cp "$src/index.html" "$src/app.js" "$src/style.css" "$out/"
