#!/usr/bin/env bash
# make_tiles.sh STORE [COMMUNES]: the benchmark's second, friendly tile
# list (the headline one is sample_tiles.c's, drawn over the province), on
# stdout: around the middle of COMMUNES communes spread over the store's
# list (every Nth by code; default 20), 1 tile at z12, 1 at z14, 2x2 at
# z16 and 3x3 at z18 ("z x y" lines). The middles of the synthetic
# communes are their densest parts (village cores).
set -euo pipefail
store=$1
n=${2:-20}
sqlite3 -batch -noheader -separator ' ' "$store" \
    "SELECT lon, lat FROM (SELECT (min_lon + max_lon) / 2 AS lon, (min_lat + max_lat) / 2 AS lat,
            row_number() OVER (ORDER BY code) AS rn, count(*) OVER () AS total
            FROM communes WHERE parcels > 0)
     WHERE (rn - 1) % max(1, total / $n) = 0 LIMIT $n" |
awk 'BEGIN { pi = atan2(0, -1) }
{
    lon = $1; lat = $2; r = lat * pi / 180
    split("12 14 16 18", zs, " "); split("1 1 2 3", side, " ")
    for (k = 1; k <= 4; k++) {
        z = zs[k]; s = side[k]; n = 2 ^ z
        fx = (lon + 180) / 360 * n
        fy = (1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n
        x0 = int(fx - s / 2 + 0.5); y0 = int(fy - s / 2 + 0.5)
        if (s == 1) { x0 = int(fx); y0 = int(fy) }
        for (i = 0; i < s; i++) for (j = 0; j < s; j++) print z, x0 + i, y0 + j
    }
}'
