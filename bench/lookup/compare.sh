# compare.sh: the lookup benchmark's correctness check, sourced by
# bench/lookup/run.sh. compare_answers compares the answers of parceldb,
# SpatiaLite SQL and PostGIS point by point and explains every
# disagreement from the store itself (SpatiaLite SQL through sqlite3), by
# class:
#   boundary  parceldb gives parcel X, both anchors none: the point lies on
#             X's boundary (distance 0, to 1e-12 degrees), where ST_Contains
#             is false by definition, and X is the parcel just east of the
#             point (X holds the point 1e-9 degrees east, or on an east-west
#             edge 1e-12 north of that): parceldb's half-open rule
#             (docs/store.md, "A point on a shared edge").
#   rounding  the answers differ and every parcel named lies within 1e-12
#             degrees (0.1 micrometre) of the point: the point is on a shared
#             edge to within a unit in the last place (an edge's midpoint
#             rounded to a double), and each tool's orientation test rounds
#             its own way (GEOS exactly, PostGIS and parceldb in doubles).
# Anything else is unexplained: listed, and the run fails.
#
# compare_answers STORE POINTS PARCELDB.csv SPATIALITE.csv POSTGIS.csv OUT
#   writes OUT.csv (every disagreement with its class and the distances)
#   and OUT.txt (counts by class and kind); prints the counts; returns 1
#   when a disagreement is unexplained or a file lacks answers.
compare_answers() {
    local store=$1 points=$2 p=$3 s=$4 g=$5 out=$6 n
    n=$(($(wc -l <"$points") - 1))
    for f in "$p" "$s" "$g"; do
        [ "$(($(wc -l <"$f") - 1))" -eq "$n" ] || {
            echo "$f: $(($(wc -l <"$f") - 1)) answers for $n points" >&2
            return 1
        }
    done
    # id,lon,lat,p_c,p_s,p_p,s_c,s_s,s_p,g_c,g_s,g_p for the points where
    # the three answers are not all the same (ids are in the same order in
    # every file; the ids and codes hold no commas).
    paste -d, "$points" "$p" "$s" "$g" | tail -n +2 |
        awk -F, '{ if ($1 != $4 || $1 != $8 || $1 != $12) { print "misordered " $1 > "/dev/stderr"; exit 1 }
                   a = $5 "/" $6 "/" $7; b = $9 "/" $10 "/" $11; c = $13 "/" $14 "/" $15
                   if (a != b || a != c) print $1 "," $2 "," $3 "," $5 "," $6 "," $7 "," $9 "," $10 "," $11 "," $13 "," $14 "," $15 }' \
            >"$out.raw"
    {
        echo ".load mod_spatialite"
        echo "CREATE TEMP TABLE d(pid TEXT, lon TEXT, lat TEXT, p_c, p_s, p_p, s_c, s_s, s_p, g_c, g_s, g_p);"
        echo ".mode csv"
        echo ".import '$out.raw' d"
        echo ".headers on"
        cat <<'SQL'
-- The parcel a tool named: among the current parcels with that number
-- (numbers repeat across former communes), the nearest to the point.
-- lon and lat stay text, as the points file has them, for the listing.
CREATE TEMP VIEW named AS
SELECT pid, lon, lat, CAST(lon AS REAL) AS x, CAST(lat AS REAL) AS y, p_c, p_s, p_p, s_c, s_s, s_p,
       g_c, g_s, g_p, MakePoint(CAST(lon AS REAL), CAST(lat AS REAL), 4326) AS pt FROM d;
CREATE TEMP VIEW dist AS
SELECT pid, lon, lat, p_c || '/' || p_s || '/' || p_p AS p, s_c || '/' || s_s || '/' || s_p AS s,
       g_c || '/' || g_s || '/' || g_p AS g,
       (SELECT min(ST_Distance(ST_Boundary(geom), pt)) FROM parcels
         WHERE valid_to IS NULL AND commune = p_c AND sheet = p_s AND parcel = p_p
           AND ST_Distance(geom, pt) < 1e-9) AS p_dist,
       (SELECT max(ST_Contains(geom, MakePoint(x + 1e-9, y, 4326)) OR
                   ST_Contains(geom, MakePoint(x + 1e-9, y + 1e-12, 4326))) FROM parcels
         WHERE valid_to IS NULL AND commune = p_c AND sheet = p_s AND parcel = p_p
           AND ST_Distance(geom, pt) < 1e-9) AS p_east,
       (SELECT min(ST_Distance(ST_Boundary(geom), pt)) FROM parcels
         WHERE valid_to IS NULL AND commune = s_c AND sheet = s_s AND parcel = s_p
           AND ST_Distance(geom, pt) < 1e-9) AS s_dist,
       (SELECT min(ST_Distance(ST_Boundary(geom), pt)) FROM parcels
         WHERE valid_to IS NULL AND commune = g_c AND sheet = g_s AND parcel = g_p
           AND ST_Distance(geom, pt) < 1e-9) AS g_dist
FROM named;
SELECT pid, lon, lat, p AS parceldb, s AS spatialite, g AS postgis, p_dist, s_dist, g_dist, p_east,
       CASE
         WHEN s = '//' AND g = '//' AND p <> '//' AND p_dist <= 1e-12 AND p_east = 1 THEN 'boundary'
         WHEN (p = '//' OR p_dist <= 1e-12) AND (s = '//' OR s_dist <= 1e-12)
              AND (g = '//' OR g_dist <= 1e-12) THEN 'rounding'
         ELSE 'UNEXPLAINED'
       END AS class
FROM dist;
SQL
    } | sqlite3 "$store" >"$out.csv"
    rm -f "$out.raw"
    [ -s "$out.csv" ] || # no rows: sqlite3 prints no header either
        echo "pid,lon,lat,parceldb,spatialite,postgis,p_dist,s_dist,g_dist,p_east,class" >"$out.csv"
    # Counts by class and by kind of point (the id's prefix).
    awk -F, 'NR > 1 { split($1, k, "-"); n[$NF " " k[1]]++; c[$NF]++ }
             END { for (x in c) print "class", x, c[x]; for (x in n) print "kind", x, n[x] }' \
        "$out.csv" | sort >"$out.txt"
    local total unexplained
    total=$(($(wc -l <"$out.csv") - 1))
    unexplained=$(awk '$1 == "class" && $2 == "UNEXPLAINED" {print $3}' "$out.txt")
    echo "$total" >"$out.total"
    if [ -n "$unexplained" ]; then
        echo "UNEXPLAINED disagreements ($unexplained of $total, in $out.csv):" >&2
        grep UNEXPLAINED "$out.csv" | head -20 >&2
        return 1
    fi
    return 0
}
