#!/usr/bin/env bash
# The PostgreSQL store opened by GIS clients (docs/postgresql.md, "Opening
# the PostgreSQL store in QGIS"): PostGIS's geometry_columns answers (the
# first stores' CHECK on ST_SRID broke it for the whole database), GDAL
# and QGIS see the views gis_parcels (WGS 84) and gis_parcels_9208 (the
# survey's zone) with their SRID and every current parcel, ogr2ogr copies
# a view whose parcels are those `parceldb lookup` finds, and the
# read-only role parceldb_gis reads those views but no owner or
# certificate. Then a store made with the old CHECK is upgraded at its
# first read-write open (not at a read-only one).
. "$(dirname "$0")/../cli/lib.sh"
: "${PDB_BINARY_DIR:?}"
[ "$PDB_TEST_STORE" = pg ] || { echo "pg_gis runs on the test cluster (PDB_TEST_STORE=pg)" >&2; exit 1; }
P=$PARCELDB
PYTHON=/usr/bin/python3
export CPL_LOG=/dev/null

# A survey written by GDAL (pdb-synth): commune 07894, 60 parcels, EPSG:9208.
expect_ok "$PDB_BINARY_DIR/samples/pdb-synth" --out "$TMP/src" --communes 07894 \
    --parcels-per-commune 60 --defects none --quiet || { finish; exit 1; }
N=60

L=$(pg_new_db gis) || { fail "a new database"; finish; exit 1; }
DBN=$(pg_db_name "$L")
C="host=$PDB_PG_DIR port=$PDB_PG_PORT dbname=$DBN"
q() { pg_psql "$DBN" -c "$1" 2>&1; }

# The reading role, as docs/postgresql.md makes it, before the first
# import: the zone view that import makes is granted to it then.
GIS=gis_$$
expect_ok "$P" init --db "$L"
q "CREATE ROLE $GIS LOGIN; GRANT USAGE ON SCHEMA parceldb TO $GIS;
   GRANT SELECT ON parceldb.gis_parcels, parceldb.gis_communes TO $GIS;" >/dev/null
expect_ok "$P" import --quiet --db "$L" "$TMP/src"

# geometry_columns answers, with each view's SRID and type.
expect_eq "geometry_columns of the views" \
    "$(q "SELECT f_table_name || ' ' || srid || ' ' || type FROM geometry_columns WHERE f_table_name LIKE 'gis_%' ORDER BY 1")" \
    "gis_communes 4326 MULTIPOLYGON
gis_parcels 4326 MULTIPOLYGON
gis_parcels_9208 9208 MULTIPOLYGON"

# GDAL: each view with its CRS and every current parcel.
for v in gis_parcels:4326 gis_parcels_9208:9208; do
    ogrinfo -ro -so "PG:$C user=postgres" "parceldb.${v%:*}" >"$TMP/info" 2>"$TMP/info.err"
    expect_eq "ogrinfo ${v%:*}: errors" "$(cat "$TMP/info.err")" ""
    expect_eq "ogrinfo ${v%:*}: features" "$(sed -n 's/^Feature Count: //p' "$TMP/info")" "$N"
    expect_eq "ogrinfo ${v%:*}: CRS" "$(grep -c "^    ID\[\"EPSG\",${v#*:}\]\]" "$TMP/info")" 1
done
expect_eq "ogrinfo gis_communes: features" \
    "$(ogrinfo -ro -so "PG:$C user=postgres" parceldb.gis_communes | sed -n 's/^Feature Count: //p')" 1

# ogr2ogr copies the zone view, as the GIS role, to a GeoPackage; a point
# inside each of ten of its parcels, looked up by parceldb, is that parcel.
expect_ok ogr2ogr -f GPKG "$TMP/zone.gpkg" "PG:$C user=$GIS" parceldb.gis_parcels_9208 -nln parcels
expect_eq "ogr2ogr: parcels copied" \
    "$(ogrinfo -ro -so "$TMP/zone.gpkg" parcels | sed -n 's/^Feature Count: //p')" "$N"
ogr2ogr -q -f CSV /vsistdout/ "$TMP/zone.gpkg" -dialect SQLite -sql \
    "SELECT sheet, parcel, ST_X(ST_PointOnSurface(geom)) AS e, ST_Y(ST_PointOnSurface(geom)) AS n FROM parcels ORDER BY id LIMIT 10" |
    tail -n +2 | tr -d '"' >"$TMP/points"
expect_eq "points read from the GeoPackage" "$(wc -l <"$TMP/points")" 10
while IFS=, read -r sheet parcel e n; do
    got=$("$P" lookup --db "$L" --srs EPSG:9208 --en "$e,$n" |
        "$PYTHON" -c 'import json, sys; p = json.load(sys.stdin)["features"][0]["properties"]; print(p["sheet"], p["parcel"])')
    expect_eq "lookup at $e,$n" "$got" "$sheet $parcel"
done <"$TMP/points"

# The GIS role: the views, no personal data, not the table.
g() { psql -X -q -At "$C user=$GIS" -c "$1" 2>&1; }
expect_eq "gis role: parcels in the zone view" "$(g "SELECT count(*) FROM parceldb.gis_parcels_9208")" "$N"
expect_eq "gis role: owner in the view" "$(g "SELECT owner FROM parceldb.gis_parcels LIMIT 1")" \
    'ERROR:  column "owner" does not exist
LINE 1: SELECT owner FROM parceldb.gis_parcels LIMIT 1
               ^'
case $(g "SELECT certificate FROM parceldb.gis_parcels_9208 LIMIT 1") in
*'column "certificate" does not exist'*) ;;
*) fail "gis role: certificate in the zone view is not refused" ;;
esac
expect_eq "gis role: owner in the table" "$(g "SELECT owner FROM parceldb.parcels LIMIT 1")" \
    "ERROR:  permission denied for table parcels"
expect_eq "gis role: geometry_columns lists only the views" \
    "$(g "SELECT string_agg(f_table_name, ' ' ORDER BY f_table_name) FROM geometry_columns")" \
    "gis_communes gis_parcels gis_parcels_9208"

# QGIS (python3-qgis, offscreen), as the GIS role.
if ! QT_QPA_PLATFORM=offscreen "$PYTHON" -c 'import qgis.core' 2>"$TMP/qgis.err"; then
    fail "python3-qgis is not importable ($(tail -1 "$TMP/qgis.err")): scripts/install-deps.sh installs it"
else
    got=$(HOME=$TMP QT_QPA_PLATFORM=offscreen "$PYTHON" "$(dirname "$0")/gis_qgis.py" \
        "$C user=$GIS" gis_parcels:4326 gis_parcels_9208:9208 2>"$TMP/qgis.err")
    expect_eq "QGIS layers (valid, CRS, features)" "$got" "gis_parcels 1 EPSG:4326 $N
gis_parcels_9208 1 EPSG:9208 $N"
fi

# --- A store made with the old CHECK ---------------------------------------
# The first stores' DDL: CHECK (ST_SRID(source_geom) = source_srid)
# (PostgreSQL names it parcels_check) and none of the GIS objects.
O=$(pg_new_db gisold) || { fail "a new database"; finish; exit 1; }
ODB=$(pg_db_name "$O")
expect_ok "$P" init --db "$O"
expect_ok "$P" import --quiet --db "$O" "$TMP/src"
pg_psql "$ODB" -c "DROP TRIGGER communes_gis_zone_views ON parceldb.communes;
    DROP FUNCTION parceldb.gis_zone_views_trigger(); DROP FUNCTION parceldb.gis_zone_views();
    DROP VIEW parceldb.gis_parcels, parceldb.gis_communes, parceldb.gis_parcels_9208;
    ALTER TABLE parceldb.parcels DROP CONSTRAINT parcels_source_srid,
        ADD CHECK (ST_SRID(source_geom) = source_srid);" >/dev/null 2>&1 ||
    fail "making the old schema"
oq() { pg_psql "$ODB" -c "$1" 2>&1; }
expect_eq "old store: geometry_columns fails" "$(oq "SELECT count(srid) FROM geometry_columns")" \
    'ERROR:  invalid input syntax for type integer: "source_srid"'
expect_ok "$P" info --db "$O"
expect_eq "old store: a read-only open leaves it" "$(oq "SELECT to_regclass('parceldb.gis_parcels')")" ""
# A read-write open (an import, here of nothing new) upgrades it.
expect_ok "$P" import --quiet --db "$O" "$TMP/src"
expect_eq "upgraded: the CHECK" \
    "$(oq "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'parceldb.parcels'::regclass AND contype = 'c'")" \
    "parcels_source_srid CHECK ((source_srid = st_srid(source_geom)))"
expect_eq "upgraded: geometry_columns of the views" \
    "$(oq "SELECT f_table_name || ' ' || srid FROM geometry_columns WHERE f_table_name LIKE 'gis_%' ORDER BY 1")" \
    "gis_communes 4326
gis_parcels 4326
gis_parcels_9208 9208"
expect_eq "upgraded: the zone view's parcels" "$(oq "SELECT count(*) FROM parceldb.gis_parcels_9208")" "$N"
# The rule the CHECK keeps: a source geometry is in its row's source_srid.
case $(oq "UPDATE parceldb.parcels SET source_srid = 9209 WHERE id = (SELECT min(id) FROM parceldb.parcels)") in
*'violates check constraint "parcels_source_srid"'*) ;;
*) fail "upgraded: a source_srid unlike its geometry's is not refused" ;;
esac

finish
