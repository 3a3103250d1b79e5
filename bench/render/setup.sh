#!/usr/bin/env bash
# setup.sh: what the rendering benchmark needs besides the build: Mapnik
# and MapServer through their Python bindings, from Debian's packages.
# Not part of scripts/install-deps.sh: only the benchmark uses them.
set -euo pipefail
packages=(python3-mapnik python3-mapscript sqlite3 gdal-bin)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "bench/render/setup.sh: all ${#packages[@]} packages present"
    exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bench/render/setup.sh: installed ${missing[*]}"
