/*
 * pg_schema.h: the PostgreSQL/PostGIS store's schema, the counterpart of
 * schema.h: the same tables with the same columns and meanings, in the
 * schema PDB_PG_SCHEMA. Differences, each for PostgreSQL's sake:
 * geometries are PostGIS geometry columns (parcels.geom and overviews.geom
 * MULTIPOLYGON in EPSG:4326, parcels.source_geom in each row's
 * source_srid), indexed with GiST (no separate R-tree tables); ids are
 * bigint identities; the schema version sits in meta ('schema_version'),
 * not in a file header. Times stay ISO 8601 text, as in SQLite, so that
 * both stores answer the same strings.
 */
#ifndef PDB_PG_SCHEMA_H
#define PDB_PG_SCHEMA_H

#define PDB_PG_SCHEMA "parceldb"

/* The schema version of a PostgreSQL store; its own sequence (the file
 * store's is PDB_SCHEMA_VERSION). Bumped with every change below that an
 * older engine could not read. */
#define PDB_PG_SCHEMA_VERSION 1

/* The communes the store adds to Phu Tho's built-in 148 (registry.c,
 * pg_registry.c), as schema.h's commune_registry. Part of every new store;
 * a store made before it gets the table when communes are first added to
 * it (IF NOT EXISTS, in that transaction), and reads as having none until
 * then. No schema version bump: an older engine ignores the table and
 * refuses those communes' codes, it never writes anything wrong. */
#define PDB_PG_REGISTRY_SCHEMA_SQL                                                                 \
    "CREATE TABLE IF NOT EXISTS parceldb.commune_registry (\n"                                     \
    "  code text PRIMARY KEY CHECK (length(code) = 5),\n"                                          \
    "  name text NOT NULL,\n"                                                                      \
    "  former_province text NOT NULL,\n"                                                           \
    "  epsg integer NOT NULL);\n"

/* The search index (pg_search.c): folded owner and address of every
 * current parcel, with GIN indexes on their 'simple' tsvectors.
 * parceldb.fold() is fold.c's folding in SQL: NFD, combining marks
 * (U+0300-U+036F) dropped, đ -> d, lower case (ASCII: all that is left of
 * Vietnamese letters after NFD), other characters separate words. Part of
 * new stores, and made at the first read-write open of older ones. */
#define PDB_PG_SEARCH_SCHEMA_SQL                                                                   \
    "CREATE OR REPLACE FUNCTION parceldb.fold(t text) RETURNS text LANGUAGE sql IMMUTABLE "        \
    "PARALLEL SAFE AS $$ SELECT btrim(regexp_replace(lower(translate(regexp_replace("              \
    "normalize(coalesce(t, ''), NFD), '[\\u0300-\\u036f]', '', 'g'), 'Đđ', 'dd')), "             \
    "'[^a-z0-9]+', ' ', 'g')) $$;\n"                                                               \
    "CREATE TABLE IF NOT EXISTS parceldb.parcel_search (\n"                                        \
    "  id bigint PRIMARY KEY,\n"                                                                   \
    "  commune text NOT NULL,\n"                                                                   \
    "  landuse text NOT NULL,\n"                                                                   \
    "  owner_f text NOT NULL,\n"                                                                   \
    "  address_f text NOT NULL);\n"                                                                \
    "CREATE INDEX IF NOT EXISTS parcel_search_commune ON parceldb.parcel_search(commune);\n"       \
    "CREATE INDEX IF NOT EXISTS parcel_search_owner ON parceldb.parcel_search USING gin "          \
    "(to_tsvector('simple', owner_f));\n"                                                          \
    "CREATE INDEX IF NOT EXISTS parcel_search_address ON parceldb.parcel_search USING gin "        \
    "(to_tsvector('simple', address_f));\n"                                                        \
    "CREATE INDEX IF NOT EXISTS parcel_search_any ON parceldb.parcel_search USING gin "            \
    "(to_tsvector('simple', owner_f || ' ' || address_f));\n"

/* The audit of answers that showed owner names, as schema.h's audit_log:
 * append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). */
#define PDB_PG_AUDIT_SCHEMA_SQL                                                                    \
    "CREATE TABLE IF NOT EXISTS parceldb.audit_log (\n"                                            \
    "  id bigserial PRIMARY KEY,\n"                                                                \
    "  at text NOT NULL,\n"                                                                        \
    "  who text NOT NULL,\n"                                                                       \
    "  what text NOT NULL,\n"                                                                      \
    "  parcels text NOT NULL);\n"                                                                  \
    "CREATE INDEX IF NOT EXISTS audit_log_at ON parceldb.audit_log(at);\n"                         \
    "CREATE OR REPLACE FUNCTION parceldb.audit_log_append_only() RETURNS trigger "                 \
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;\n"       \
    "CREATE OR REPLACE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON "        \
    "parceldb.audit_log FOR EACH STATEMENT EXECUTE FUNCTION parceldb.audit_log_append_only();\n"

/* The national attribute set (schema.h's PDB_NATIONAL_COLUMNS_SQL), added
 * to stores made before it at their first read-write open, under the
 * writers' lock; no schema version bump, as in SQLite: every read and
 * write names its columns. */
#define PDB_PG_NATIONAL_UPGRADE_SQL                                                                \
    "ALTER TABLE parceldb.parcels ADD COLUMN IF NOT EXISTS prev_sheet text, ADD COLUMN IF NOT "    \
    "EXISTS prev_parcel text, ADD COLUMN IF NOT EXISTS certificate text, ADD COLUMN IF NOT "       \
    "EXISTS record_start text, ADD COLUMN IF NOT EXISTS record_end text"

/* The columns of the GIS views: a current parcel without its personal
 * data (owner, certificate; docs/security.md) nor its history. */
#define PDB_PG_GIS_COLUMNS                                                                         \
    "id, commune, former_commune, sheet, parcel, landuse, landuse_main, area_surveyed_m2, "        \
    "area_computed_m2, address, flags, source_srid, valid_from, prev_sheet, prev_parcel, "         \
    "record_start, record_end"

/* What QGIS and GDAL read (docs/postgresql.md, "Opening the PostgreSQL
 * store in QGIS"): views with typed geometry columns, so that PostGIS's
 * geometry_columns lists each with its SRID and type. gis_parcels: the
 * current parcels in WGS 84; gis_communes: the communes' outlines (the
 * overviews' finest band, kind PDB_OVERVIEW_COMMUNES); gis_parcels_EPSG:
 * the current parcels of one VN-2000 zone in their surveyed geometry,
 * one view per zone of the communes imported, made by gis_zone_views()
 * when an import first brings that zone (the trigger on communes, in the
 * import's transaction) and granted to every role granted gis_parcels
 * (calling parceldb.gis_zone_views() grants those made before).
 * The function runs as the store's owner (SECURITY DEFINER), because an
 * importer may lack the right to create views. The views run with their
 * owner's rights: a role granted only them reads no other column.
 *
 * The parcels' CHECK reads `source_srid = ST_SRID(source_geom)`, in that
 * order: geometry_columns takes every constraint anywhere in the
 * database matching '%srid(% = %' for a column's SRID and casts what
 * follows ' = ' to an integer, so the first stores' `ST_SRID(source_geom)
 * = source_srid` broke the view for the whole database. Part of new
 * stores; older ones get it at their first read-write open
 * (PDB_PG_GIS_UPGRADE_SQL). No schema version bump: an older engine
 * reads and writes the same tables. */
#define PDB_PG_GIS_SCHEMA_SQL                                                                      \
    "CREATE OR REPLACE VIEW parceldb.gis_parcels AS SELECT " PDB_PG_GIS_COLUMNS ", geom FROM "     \
    "parceldb.parcels WHERE valid_to IS NULL;\n"                                                   \
    "CREATE OR REPLACE VIEW parceldb.gis_communes AS SELECT o.commune AS code, c.name, "           \
    "c.source_srid, o.geom FROM parceldb.overviews o LEFT JOIN parceldb.communes c ON c.code = "   \
    "o.commune WHERE o.kind = 2 AND o.band = 3;\n"                                                 \
    "CREATE OR REPLACE FUNCTION parceldb.gis_zone_views() RETURNS void LANGUAGE plpgsql "          \
    "SECURITY DEFINER SET search_path = pg_catalog, public AS $$\n"                                \
    "DECLARE z integer; r text; v text;\n"                                                         \
    "BEGIN\n"                                                                                      \
    "  FOR z IN SELECT DISTINCT source_srid FROM parceldb.communes ORDER BY 1 LOOP\n"              \
    "    v := 'gis_parcels_' || z;\n"                                                              \
    "    IF to_regclass('parceldb.' || v) IS NULL THEN\n"                                          \
    "      EXECUTE format('CREATE VIEW parceldb.%I AS SELECT " PDB_PG_GIS_COLUMNS ", "             \
    "ST_Multi(source_geom)::geometry(MultiPolygon, %s) AS geom FROM parceldb.parcels WHERE "       \
    "valid_to IS NULL AND source_srid = %s', v, z, z);\n"                                          \
    "    END IF;\n"                                                                                \
    "    FOR r IN SELECT a.grantee::regrole::text FROM pg_class c, aclexplode(c.relacl) a WHERE "  \
    "c.oid = 'parceldb.gis_parcels'::regclass AND a.privilege_type = 'SELECT' AND a.grantee "      \
    "NOT IN (0, c.relowner) AND NOT has_table_privilege(a.grantee, 'parceldb.' || v, 'SELECT') "   \
    "LOOP\n"                                                                                       \
    "      EXECUTE format('GRANT SELECT ON parceldb.%I TO %s', v, r);\n"                           \
    "    END LOOP;\n"                                                                              \
    "  END LOOP;\n"                                                                                \
    "END $$;\n"                                                                                    \
    "CREATE OR REPLACE FUNCTION parceldb.gis_zone_views_trigger() RETURNS trigger LANGUAGE "       \
    "plpgsql AS $$ BEGIN PERFORM parceldb.gis_zone_views(); RETURN NULL; END $$;\n"                \
    "CREATE OR REPLACE TRIGGER communes_gis_zone_views AFTER INSERT OR UPDATE ON "                 \
    "parceldb.communes FOR EACH STATEMENT EXECUTE FUNCTION parceldb.gis_zone_views_trigger();\n"

/* Whether a store has the GIS views and the parcels' CHECK in the form
 * geometry_columns reads (PDB_PG_GIS_SCHEMA_SQL): 't' or 'f'. */
#define PDB_PG_GIS_CURRENT_SQL                                                                     \
    "SELECT to_regclass('parceldb.gis_communes') IS NOT NULL AND "                                 \
    "to_regclass('parceldb.gis_parcels') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "               \
    "pg_constraint WHERE conrelid = 'parceldb.parcels'::regclass AND contype = 'c' AND "           \
    "pg_get_constraintdef(oid) ILIKE '%srid(% = %')"

/* The upgrade of an older store: its CHECK replaced (PostgreSQL named it
 * parcels_check), the views and the zone views made. */
#define PDB_PG_GIS_UPGRADE_SQL                                                                     \
    "DO $$ DECLARE c name; BEGIN\n"                                                                \
    "  FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'parceldb.parcels'::regclass "  \
    "AND contype = 'c' AND pg_get_constraintdef(oid) ILIKE '%srid(% = %' LOOP\n"                   \
    "    EXECUTE format('ALTER TABLE parceldb.parcels DROP CONSTRAINT %I', c);\n"                  \
    "  END LOOP;\n"                                                                                \
    "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = "                               \
    "'parceldb.parcels'::regclass AND conname = 'parcels_source_srid') THEN\n"                     \
    "    ALTER TABLE parceldb.parcels ADD CONSTRAINT parcels_source_srid CHECK (source_srid = "    \
    "ST_SRID(source_geom));\n"                                                                     \
    "  END IF;\n"                                                                                  \
    "END $$;\n" PDB_PG_GIS_SCHEMA_SQL "SELECT parceldb.gis_zone_views();\n"

#define PDB_PG_SCHEMA_SQL                                                                          \
    "CREATE SCHEMA parceldb;\n"                                                                    \
    "CREATE TABLE parceldb.meta (\n"                                                               \
    "  key text PRIMARY KEY,\n"                                                                    \
    "  value text NOT NULL);\n"                                                                    \
    "INSERT INTO parceldb.meta VALUES ('application', 'parceldb'), ('data_version', '0'), "        \
    "('schema_version', '1');\n"                                                                   \
    "CREATE TABLE parceldb.import_batches (\n"                                                     \
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                  \
    "  description text NOT NULL,\n"                                                               \
    "  started_at text NOT NULL,\n"                                                                \
    "  finished_at text,\n"                                                                        \
    "  status text NOT NULL CHECK (status IN ('running', 'done', 'failed', 'partial')),\n"         \
    "  read bigint NOT NULL DEFAULT 0,\n"                                                          \
    "  stored bigint NOT NULL DEFAULT 0,\n"                                                        \
    "  repaired bigint NOT NULL DEFAULT 0,\n"                                                      \
    "  rejected bigint NOT NULL DEFAULT 0,\n"                                                      \
    "  flagged bigint NOT NULL DEFAULT 0);\n"                                                      \
    "CREATE TABLE parceldb.import_files (\n"                                                       \
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                  \
    "  batch_id bigint NOT NULL REFERENCES parceldb.import_batches(id),\n"                         \
    "  commune text NOT NULL,\n"                                                                   \
    "  file text NOT NULL,\n"                                                                      \
    "  checksum text NOT NULL,\n"                                                                  \
    "  source_srid integer NOT NULL,\n"                                                            \
    "  read bigint NOT NULL,\n"                                                                    \
    "  stored bigint NOT NULL,\n"                                                                  \
    "  repaired bigint NOT NULL,\n"                                                                \
    "  rejected bigint NOT NULL,\n"                                                                \
    "  flagged bigint NOT NULL,\n"                                                                 \
    "  committed_at text NOT NULL);\n"                                                             \
    "CREATE INDEX import_files_checksum ON parceldb.import_files(checksum);\n"                     \
    "CREATE TABLE parceldb.communes (\n"                                                           \
    "  code text PRIMARY KEY,\n"                                                                   \
    "  name text NOT NULL,\n"                                                                      \
    "  source_srid integer NOT NULL,\n"                                                            \
    "  min_lon double precision, min_lat double precision,\n"                                      \
    "  max_lon double precision, max_lat double precision,\n"                                      \
    "  parcels bigint NOT NULL,\n"                                                                 \
    "  last_batch bigint NOT NULL REFERENCES parceldb.import_batches(id),\n"                       \
    "  updated_at text NOT NULL,\n"                                                                \
    "  data_version bigint NOT NULL DEFAULT 0);\n"                                                 \
    "CREATE TABLE parceldb.parcels (\n"                                                            \
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                  \
    "  commune text NOT NULL,\n"                                                                   \
    "  former_commune text,\n"                                                                     \
    "  sheet text NOT NULL,\n"                                                                     \
    "  parcel text NOT NULL,\n"                                                                    \
    "  landuse text NOT NULL,\n"                                                                   \
    "  landuse_main text NOT NULL,\n"                                                              \
    "  area_surveyed_m2 double precision,\n"                                                       \
    "  area_computed_m2 double precision NOT NULL,\n"                                              \
    "  address text,\n"                                                                            \
    "  owner text,\n"                                                                              \
    "  flags integer NOT NULL DEFAULT 0,\n"                                                        \
    "  source_srid integer NOT NULL,\n"                                                            \
    "  source_geom geometry NOT NULL,\n"                                                           \
    "  batch_id bigint NOT NULL REFERENCES parceldb.import_batches(id),\n"                         \
    "  valid_from text NOT NULL,\n"                                                                \
    "  valid_to text,\n"                                                                           \
    "  geom geometry(MultiPolygon, 4326) NOT NULL,\n"                                              \
    "  prev_sheet text, prev_parcel text, certificate text, record_start text, record_end text,\n" \
    "  CONSTRAINT parcels_source_srid CHECK (source_srid = ST_SRID(source_geom)));\n"              \
    "CREATE INDEX parcels_geom ON parceldb.parcels USING gist (geom);\n"                           \
    "CREATE INDEX parcels_number ON parceldb.parcels(commune, sheet, parcel);\n"                   \
    "CREATE INDEX parcels_current ON parceldb.parcels(commune) WHERE valid_to IS NULL;\n"          \
    "CREATE TABLE parceldb.rejects (\n"                                                            \
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                  \
    "  batch_id bigint NOT NULL REFERENCES parceldb.import_batches(id),\n"                         \
    "  commune text NOT NULL,\n"                                                                   \
    "  file text NOT NULL,\n"                                                                      \
    "  feature_index bigint NOT NULL,\n"                                                           \
    "  reason text NOT NULL,\n"                                                                    \
    "  detail text,\n"                                                                             \
    "  attributes text,\n"                                                                         \
    "  geometry bytea,\n"                                                                          \
    "  stored integer NOT NULL);\n"                                                                \
    "CREATE INDEX rejects_batch ON parceldb.rejects(batch_id);\n"                                  \
    "CREATE TABLE parceldb.overviews (\n"                                                          \
    "  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                  \
    "  commune text NOT NULL,\n"                                                                   \
    "  band integer NOT NULL,\n"                                                                   \
    "  kind integer NOT NULL,\n"                                                                   \
    "  landuse_main text,\n"                                                                       \
    "  area_m2 double precision NOT NULL,\n"                                                       \
    "  geom geometry(MultiPolygon, 4326) NOT NULL);\n"                                             \
    "CREATE INDEX overviews_commune ON parceldb.overviews(commune);\n"                             \
    "CREATE INDEX overviews_geom ON parceldb.overviews USING gist (geom);\n"                       \
    "CREATE TABLE parceldb.overviews_stale (\n"                                                    \
    "  commune text PRIMARY KEY,\n"                                                                \
    "  since text NOT NULL);\n"                                                                    \
    "CREATE TABLE parceldb.overview_problems (\n"                                                  \
    "  commune text PRIMARY KEY,\n"                                                                \
    "  state text NOT NULL CHECK (state IN ('failed', 'fallback')),\n"                             \
    "  since text NOT NULL,\n"                                                                     \
    "  reason text NOT NULL);\n"                                                                   \
    "CREATE TABLE parceldb.lookup_index (\n"                                                       \
    "  commune text PRIMARY KEY,\n"                                                                \
    "  batch_id bigint NOT NULL,\n"                                                                \
    "  parcels bigint NOT NULL,\n"                                                                 \
    "  min_lon double precision, min_lat double precision,\n"                                      \
    "  max_lon double precision, max_lat double precision,\n"                                      \
    "  data bytea NOT NULL);\n" PDB_PG_REGISTRY_SCHEMA_SQL PDB_PG_SEARCH_SCHEMA_SQL                \
        PDB_PG_AUDIT_SCHEMA_SQL PDB_PG_GIS_SCHEMA_SQL

#endif
