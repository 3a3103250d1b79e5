#!/usr/bin/env bash
# The main job on the bundled sample: installs the dependencies, builds,
# imports samples/phu-tho-sample into out/sample.sqlite, looks a parcel up,
# and serves the map on localhost (PORT, default 8080) until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh
P=build/cli/parceldb
DB=out/sample.sqlite

# As root, the server drops to nobody once the port is open (it refuses to
# keep root), and nobody must be able to read the store. In a checkout
# nobody cannot reach (a 0700 home or mktemp -d), the store goes to a
# directory of its own that nobody can read.
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    as_user=(--user nobody)
    if ! setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups test -r "$PWD/scripts/run-sample.sh" 2>/dev/null; then
        DB=$(mktemp -d "${TMPDIR:-/tmp}/parceldb-sample.XXXXXX")/sample.sqlite
        chmod 0755 "$(dirname "$DB")"
        echo "This checkout is private to root: the store is $DB, where the server (as nobody) can read it."
    fi
fi

mkdir -p out
rm -f "$DB" "$DB-wal" "$DB-shm"
$P init --db "$DB"
$P import --db "$DB" samples/phu-tho-sample/
$P info --db "$DB" --communes

# A point inside the first commune's first parcel, found from the store
# itself so that the demo does not depend on the generator's seed.
read -r lon lat < <(sqlite3 "$DB" "SELECT printf('%.9f %.9f', (min_lon + max_lon) / 2, (min_lat + max_lat) / 2) FROM communes ORDER BY code LIMIT 1")
echo
echo "parceldb lookup --lon $lon --lat $lat"
$P lookup --db "$DB" --lon "$lon" --lat "$lat"
echo
echo "The store is $DB; try: $P lookup --db $DB --id COMMUNE/SHEET/PARCEL"
echo
exec $P serve --db "$DB" --listen "127.0.0.1:${PORT:-8080}" "${as_user[@]}"
