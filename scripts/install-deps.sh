#!/usr/bin/env bash
# Installs every build and test dependency of parceldb from Debian's packages.
# Idempotent: a second run installs nothing new. Needs root (or sudo).
set -euo pipefail

packages=(
    build-essential cmake pkg-config git curl time   # time: peak memory in bench/
    libgdal-dev gdal-bin            # import, fixtures, and the GDAL clients tests use
    libssl-dev                      # SHA-256 of imported files (libcrypto)
    libproj-dev proj-bin proj-data  # coordinates; cs2cs/projinfo check them in tests
    libgeos-dev                     # geometry validation and repair (C API)
    libspatialite-dev libsqlite3-mod-spatialite spatialite-bin
    libsqlite3-dev sqlite3
    libpng-dev libjansson-dev libcmocka-dev
    libcairo2-dev fonts-dejavu-core libmicrohttpd-dev
    libfreetype-dev zlib1g-dev libpng-tools  # renderer: label fonts by file, zlib, pngfix
    libdeflate-dev                  # renderer: the PNG encoder's deflate
    libunistring-dev                # NFC normalisation and UTF-8 checks (import/vnenc.c)
    nodejs                          # the demo page's build: Leaflet from the npm registry (web/)
    chromium                        # headless browser for the demo page's tests (tests/server/)
    wrk nginx-light                 # server benchmarks: load generator, static-file anchor
    postgresql postgresql-15-postgis-3 postgis libpq-dev  # the PostgreSQL store (libpq), its tests' own cluster (tests/lib/pg.sh), the lookup benchmark's anchor
    gnuplot-nox                     # benchmark plots
    clang libclang-rt-14-dev        # libFuzzer targets of tests/fuzz (scripts/fuzz.sh): clang and its fuzzer runtime
    pngcheck                        # fault tests: every tile served after a server crash is a whole PNG
    python3-jsonschema              # tests/server/tilejson.sh: /tiles.json against the official TileJSON schema
    python3-yaml                    # tests/server/ogc_schema.py: the OGC API - Features schemas are YAML
    poppler-utils python3-gdal      # extract tests: pdftotext/pdffonts/pdfinfo/pdftocairo; OGR's own numbers; tests/server/change_parts.py cuts split parts with OGR/GEOS; tests/export: validate_gpkg.py, gpkg_spat.py
    python3-owslib libxml2-utils libjpeg-dev  # WMS (tests/server/wms.sh: OWSLib, xmllint); GetMap's JPEG
    python3-qgis qgis-providers     # tests/server/qgis.sh: headless QGIS (offscreen) adds /wms and /ogcapi layers; tests/pg/gis.sh: PostGIS layers (the postgres provider is in qgis-providers)
    python3-shapely                 # tests/qa/qa.sh: the independent GEOS count of overlaps and gaps (Shapely)
    mapserver-bin cgi-mapserver spawn-fcgi  # bench/ogc: the MapServer anchor (mapserv under spawn-fcgi, FastCGI behind nginx)
)
# npm comes apart from Debian's nodejs, inside NodeSource's (which conflicts with it).
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
