#!/usr/bin/env bash
# Configures and builds parceldb. Usage: scripts/build.sh [--sanitize]
#   plain build in build/, or an AddressSanitizer + UndefinedBehaviorSanitizer
#   build in build-asan/ with --sanitize. Warnings are errors in both.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPDB_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
    dir=build-asan
    flags=(-DCMAKE_BUILD_TYPE=Debug -DPDB_WERROR=ON -DPDB_SANITIZE=ON)
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
echo "build: $dir ready"
