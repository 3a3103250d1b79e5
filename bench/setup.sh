#!/usr/bin/env bash
# setup.sh: every anchor the benchmark suite measures against, from
# Debian's packages: PostgreSQL with PostGIS and libpq (lookups), wrk and
# nginx-light (the server), gnuplot (the plots), then Mapnik and MapServer
# through bench/render/setup.sh (rendering). Idempotent; needs root or sudo.
# Not part of scripts/install-deps.sh for the render anchors: only the
# benchmarks use them (CI installs the lookup and server ones there too, for
# the smoke runs).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
packages=(
    postgresql postgresql-15-postgis-3 postgis  # lookup anchor: PostGIS (GiST, ST_Contains)
    libpq-dev                                   # anchor_postgis.c is a libpq client
    libsqlite3-mod-spatialite libsqlite3-dev    # anchor_spatialite.c: SpatiaLite SQL
    gdal-bin                                    # ogr2ogr loads PostGIS from the store
    wrk nginx-light                             # server: load generator, static-file anchor
    gnuplot-nox                                 # the plots in docs/
    time build-essential                        # peak memory; cc for the anchors
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "bench/setup.sh: all ${#packages[@]} packages present"
else
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    echo "bench/setup.sh: installed ${missing[*]}"
fi
bash "$HERE/render/setup.sh"
