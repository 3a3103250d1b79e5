#!/usr/bin/env bash
# The PostgreSQL store answers what the file store answers (issue 17):
# the bundled sample (samples/phu-tho-sample, as scripts/run-sample.sh
# loads it) imported into a SQLite file and into a PostGIS database, then
# every command run on both and its output compared: init, import, info,
# lookup (points, projected points, numbers, history, personal data, a
# CSV of points), render (tiles byte for byte), seed (the cached tiles),
# serve (lookups, boxes, communes, TileJSON and tiles over HTTP, with
# their ETags). Then `backup` of the PostgreSQL store: a pg_dump archive
# that pg_restore loads into a new database, which `info` and lookups then
# show the same.
#
# Where the two stores are meant to differ, the difference is named and
# left out of the comparison: the location in messages ("created LOC"),
# times and rates, info's "schema:" line (each store kind has its own
# schema version and journal), and the disk cache's 32-byte header, whose
# epoch names the store (tiler/server/disk.c); the tiles after it must be
# the same bytes.
source "$(dirname "$0")/../server/lib.sh"
[ "$PDB_TEST_STORE" = pg ] || { echo "pg_same_output runs on the test cluster (PDB_TEST_STORE=pg)" >&2; exit 1; }
SAMPLE=$PDB_SOURCE_DIR/samples/phu-tho-sample

SQ=$WORK/sample.sqlite
PG=$(pg_new_db same) || { fail "a PostgreSQL database"; finish; exit 1; }

# mask LOC FILE: FILE with the text LOC replaced by STORE, and what
# differs from one run to the next by a word: the import table's last
# column (records per second, right-aligned), "in 1.2 s", "123.4
# tiles/s", the times of ISO 8601 timestamps (valid_from: when each store
# was imported; the format must still be the same), the server's port,
# and info's schema line.
mask() {
    awk -v loc="$1" '{
        while ((i = index($0, loc)) > 0)
            $0 = substr($0, 1, i - 1) "STORE" substr($0, i + length(loc))
        if ($0 ~ /^(samples\/|total )/)
            sub(/ +[0-9]+$/, " N")
        gsub(/ in [0-9]+(\.[0-9]+)? s/, " in N s")
        gsub(/[0-9]+(\.[0-9]+)? tiles\/s/, "N tiles/s")
        gsub(/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?/, "DATE")
        gsub(/127\.0\.0\.1:[0-9]+/, "127.0.0.1:PORT")
        if ($0 ~ /^schema: /)
            $0 = "schema: (the store kind'"'"'s own)"
        print
    }' "$2"
}

# both NAME ARGS...: runs parceldb ARGS once on the file and once on the
# PostgreSQL store (each @DB@ in ARGS replaced by the location), and
# checks that the exit status, stdout and stderr (mask) are the same.
# Leaves them in $WORK/sq.out and $WORK/pg.out.
both() {
    local name=$1 which loc a args
    shift
    for which in sq pg; do
        if [ $which = sq ]; then loc=$SQ; else loc=$PG; fi
        args=()
        # The location quoted: bash 5.2 reads & in a bare replacement as
        # the matched text, and a URL's query has &s.
        for a in "$@"; do args+=("${a//@DB@/"$loc"}"); done
        (cd "$WORK/$which" && "$PARCELDB" "${args[@]}") >"$WORK/$which.raw" 2>"$WORK/$which.err.raw"
        echo "exit $?" >>"$WORK/$which.err.raw"
        mask "$loc" "$WORK/$which.raw" >"$WORK/$which.out"
        mask "$loc" "$WORK/$which.err.raw" >"$WORK/$which.err"
    done
    same "$name: stdout" "$WORK/sq.out" "$WORK/pg.out"
    same "$name: stderr and exit status" "$WORK/sq.err" "$WORK/pg.err"
}

# same NAME FILE_SQ FILE_PG: the two files are the same bytes (the first
# lines of their difference otherwise).
same() {
    if cmp -s "$2" "$3"; then
        ok "$1 ($(wc -c <"$2") bytes)"
    else
        fail "$1 differs (< file store, > PostgreSQL): $(diff "$2" "$3" | head -8)"
    fi
}
mkdir -p "$WORK/sq" "$WORK/pg"

# --- init, import, info ---------------------------------------------------
both init init --db @DB@
both import import --db @DB@ "$SAMPLE"
contains "import: the sample is stored" "$(cat "$WORK/sq.out")" '^total .* 2192 '
both info info --db @DB@
contains "info on PostgreSQL: its schema version" "$(cat "$WORK/pg.raw")" '^schema: +1 \(journal postgresql\)$'
both "info --communes" info --db @DB@ --communes
both "info --check" info --db @DB@ --check
check "info --check on PostgreSQL: exit status" "$(tail -1 "$WORK/pg.err")" "exit 0"

# --- lookups ----------------------------------------------------------------
# The points: a 12 x 12 grid over each commune's box (from the file store;
# they are only inputs): inside parcels, on the gaps between them, outside.
sqlite3 -separator ' ' "$SQ" "SELECT code, min_lon, min_lat, max_lon, max_lat FROM communes ORDER BY code" |
    awk 'BEGIN { print "id,lon,lat,note" }
        { for (i = 0; i < 12; i++) for (j = 0; j < 12; j++)
            printf "%s-%d-%d,%.9f,%.9f,x\n", $1, i, j, $2 + ($4 - $2) * (i + 0.5) / 12, $3 + ($5 - $3) * (j + 0.5) / 12 }' \
    >"$WORK/points.csv"
both "lookup --points (288 points)" lookup --db @DB@ --points "$WORK/points.csv"
check "lookup --points: a line per point" "$(wc -l <"$WORK/sq.out")" 289
contains "lookup --points: parcels found" "$(cat "$WORK/sq.out")" ',0790[0-9],[0-9]+,[0-9]+$'
# Single points, every 23rd of the grid, public and with --personal.
mapfile -t POINTS < <(awk -F, 'NR > 1 && NR % 23 == 2 { print $2 " " $3 }' "$WORK/points.csv")
for pt in "${POINTS[@]}"; do
    read -r lon lat <<<"$pt"
    both "lookup --lon $lon --lat $lat" lookup --db @DB@ --lon "$lon" --lat "$lat"
    both "lookup --personal at $lon $lat" lookup --db @DB@ --personal --lon "$lon" --lat "$lat"
done
read -r LON LAT <<<"${POINTS[1]}"
E_N=$(echo "$LAT $LON" | cs2cs -f "%.3f" EPSG:4326 EPSG:9208 | awk '{ print $1 "," $2 }')
both "lookup --srs EPSG:9208 --en $E_N" lookup --db @DB@ --srs EPSG:9208 --en "$E_N"
# Numbers: the first parcels of each commune, the duplicated ones (kept
# and flagged: every match), one that is not there, and with --history.
mapfile -t IDS < <(sqlite3 "$SQ" "SELECT * FROM (SELECT commune || '/' || sheet || '/' || parcel FROM parcels
        WHERE valid_to IS NULL ORDER BY id LIMIT 3)
    UNION ALL SELECT * FROM (SELECT commune || '/' || sheet || '/' || parcel FROM parcels
        WHERE valid_to IS NULL GROUP BY commune, sheet, parcel HAVING count(*) > 1 LIMIT 3)
    UNION ALL SELECT '08773/999/999'")
check "lookup --id: numbers to look up" "${#IDS[@]}" 7
for id in "${IDS[@]}"; do
    both "lookup --id $id" lookup --db @DB@ --personal --id "$id"
done
both "lookup --id --history" lookup --db @DB@ --id "${IDS[0]}" --history

# --- a re-import: history on both -------------------------------------------
both "import --force (a re-import)" import --quiet --db @DB@ --force "$SAMPLE/07900.shp"
both "lookup --id --history after a re-import" lookup --db @DB@ --id "${IDS[0]}" --history
both "info after a re-import" info --db @DB@ --communes

# --- tiles -------------------------------------------------------------------
# The tiles holding three of the points, z8 to z18, and a 1x and 2x render.
for pt in "${POINTS[@]:0:3}"; do
    read -r lon lat <<<"$pt"
    for z in 8 10 12 13 14 15 16 17 18; do
        tile_path "$lon" "$lat" "$z"
    done
done | sort -u >"$WORK/tiles.paths"
sed -e 's|^/tiles/||' -e 's|\.png$||' -e 's|/| |g' "$WORK/tiles.paths" >"$WORK/tiles.txt"
echo "$(wc -l <"$WORK/tiles.txt") tiles"
for scale in 1 2; do
    both "render --tiles (scale $scale)" render --db @DB@ --scale $scale --tiles "$WORK/tiles.txt" \
        --out "render$scale"
    n=0 differ=0 suffix=
    [ $scale = 1 ] || suffix=@${scale}x
    while read -r z x y; do
        n=$((n + 1))
        f=$z/$x/$y$suffix.png
        [ -s "$WORK/sq/render$scale/$f" ] || fail "render --tiles: no $f"
        cmp -s "$WORK/sq/render$scale/$f" "$WORK/pg/render$scale/$f" ||
            { differ=$((differ + 1)) && echo "differs: $z/$x/$y (scale $scale)"; }
    done <"$WORK/tiles.txt"
    check "render --tiles (scale $scale): tiles with other bytes, of $n" "$differ" 0
done
read -r z x y < <(sed -n 5p "$WORK/tiles.txt")
"$PARCELDB" render --db "$SQ" "$z/$x/$y" -o - >"$WORK/sq.png"
"$PARCELDB" render --db "$PG" "$z/$x/$y" -o - >"$WORK/pg.png"
same "render $z/$x/$y -o -" "$WORK/sq.png" "$WORK/pg.png"

# seed: the same tiles in the cache, after each file's header (the
# cache's state file holds the store's identity: not compared).
both "seed z12-15" seed --db @DB@ --cache cache --zoom 12-15 --no-progress
(cd "$WORK/sq/cache" && find . -type f -name '*.tile' | sort) >"$WORK/sq.files"
(cd "$WORK/pg/cache" && find . -type f -name '*.tile' | sort) >"$WORK/pg.files"
same "seed: the same cache files" "$WORK/sq.files" "$WORK/pg.files"
differ=0
while read -r f; do
    cmp -s <(tail -c +33 "$WORK/sq/cache/$f") <(tail -c +33 "$WORK/pg/cache/$f") ||
        { differ=$((differ + 1)) && echo "differs: $f"; }
done <"$WORK/sq.files"
check "seed: cached tiles with other bytes, of $(wc -l <"$WORK/sq.files")" "$differ" 0

# --- serve -------------------------------------------------------------------
{
    echo /communes
    echo /tiles.json
    for pt in "${POINTS[@]}"; do
        read -r lon lat <<<"$pt"
        echo "/parcels/at?lon=$lon&lat=$lat"
    done
    for id in "${IDS[@]}"; do echo "/parcels/$id"; done
    sqlite3 -separator , "$SQ" "SELECT min_lon, min_lat, max_lon, max_lat FROM communes" |
        awk '{ print "/parcels?bbox=" $0 "&limit=40&offset=7" }'
    cat "$WORK/tiles.paths"
    sed 's|\.png$|@2x.png|' "$WORK/tiles.paths"
} >"$WORK/http.paths"
# Each answer: its status, its ETag without the first part (the epoch,
# which tiler/server/tiles.c derives from the store's identity: two stores
# differ there by design; the data version and the style follow), and its
# body (PNG bytes as they are, text through mask).
for which in sq pg; do
    if [ $which = sq ]; then DB=$SQ; else DB=$PG; fi
    start_server || { finish; exit 1; }
    mkdir -p "$WORK/$which/http"
    i=0
    while read -r path; do
        i=$((i + 1))
        get "$path"
        {
            echo "$STATUS $(header ETag | sed 's/^"[0-9a-f]*-/"EPOCH-/')"
            case $(header Content-Type) in
            image/*) cat "$WORK/body" ;;
            *) mask "$DB" "$WORK/body" ;;
            esac
        } >"$WORK/$which/http/$i"
    done <"$WORK/http.paths"
    stop_server
done
n=0 differ=0
while read -r path; do
    n=$((n + 1))
    cmp -s "$WORK/sq/http/$n" "$WORK/pg/http/$n" ||
        { differ=$((differ + 1)) && echo "differs: $path: $(diff -a "$WORK/sq/http/$n" "$WORK/pg/http/$n" | head -c 300)"; }
done <"$WORK/http.paths"
check "serve: answers (status, ETag, body) that differ, of $n" "$differ" 0
contains "serve: a lookup found a parcel" "$(cat "$WORK/sq/http/3")" '^200 '

# --- backup: pg_dump and pg_restore ----------------------------------------------
DUMP=$WORK/pg.dump
"$PARCELDB" backup --db "$PG" -o "$DUMP" >"$WORK/backup.out" 2>&1
check "backup: exit status" "$?" 0
contains "backup: names the data version" "$(cat "$WORK/backup.out")" \
    "data version $("$PARCELDB" info --db "$PG" | awk '/^data version:/ { print $3 }')"
if pg_restore -l "$DUMP" >"$WORK/dump.list" 2>&1; then
    ok "backup: a pg_dump archive (pg_restore -l reads it)"
else
    fail "backup: not a pg_dump archive: $(head -3 "$WORK/dump.list")"
fi
contains "backup: the archive holds the parcels" "$(cat "$WORK/dump.list")" 'TABLE DATA parceldb parcels'
RESTORED=$(pg_new_db restored) || { fail "a database for the restore"; finish; exit 1; }
pg_restore --no-owner -d "$RESTORED" "$DUMP" >"$WORK/restore.log" 2>&1
check "pg_restore into a new database: exit status" "$?" 0
[ -s "$WORK/restore.log" ] && echo "pg_restore said: $(head -5 "$WORK/restore.log")"
"$PARCELDB" info --db "$PG" --communes >"$WORK/info.orig" 2>&1
"$PARCELDB" info --db "$RESTORED" --communes >"$WORK/info.restored" 2>&1
same "the restored store: info --communes" "$WORK/info.orig" "$WORK/info.restored"
"$PARCELDB" lookup --db "$PG" --points "$WORK/points.csv" >"$WORK/points.orig" 2>&1
"$PARCELDB" lookup --db "$RESTORED" --points "$WORK/points.csv" >"$WORK/points.restored" 2>&1
same "the restored store: lookup --points" "$WORK/points.orig" "$WORK/points.restored"

finish
