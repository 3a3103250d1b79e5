/*
 * schema.h: the store's schema in one place: every table, index and
 * trigger the engine creates, and what each read-write open runs again so
 * that older stores follow (IF NOT EXISTS). The modules that use a table
 * (overview.c, lookup.c, writer.c, query.c) hold its queries; its shape is
 * here. Bump PDB_SCHEMA_VERSION with every change that an older engine
 * could not read.
 */
#ifndef PDB_SCHEMA_H
#define PDB_SCHEMA_H

/* "PDB1": marks the file as ours, so that any other SQLite file is refused. */
#define PDB_APPLICATION_ID 0x50444231
/* Bumped with every change to the schema below. 2: communes.data_version
 * (an engine that does not stamp it must not write the store, so older
 * engines refuse it). 3: the search index parcel_search (an engine that
 * does not keep it current must not write the store either). 4: the
 * search index is search_words (postings), parcel_search is gone. */
#define PDB_SCHEMA_VERSION 4

/* SpatiaLite keeps its R-tree and its bookkeeping with per-row triggers
 * that prepare SQL on every insert (RTreeAlign), check the geometry type
 * in a subquery, and stamp geometry_columns_time on every insert and every
 * update of any column (so superseding a commune fired one per parcel).
 * They made an import several times slower. The writer inserts the very
 * boxes into idx_parcels_geom itself and writes only geometries it built,
 * so those insert and update triggers go; the ones that guard updates of
 * geom and deletes by other tools stay. Dropped again at every read-write
 * open, so stores made before this change follow. */
#define PDB_WRITER_TRIGGERS_SQL                                                                    \
    "DROP TRIGGER IF EXISTS ggi_parcels_geom;\n"                                                   \
    "DROP TRIGGER IF EXISTS gii_parcels_geom;\n"                                                   \
    "DROP TRIGGER IF EXISTS tmi_parcels_geom;\n"                                                   \
    "DROP TRIGGER IF EXISTS tmu_parcels_geom;\n"

/* The overviews (overview.c), their R-tree, the communes whose overviews
 * are stale, and those whose last rebuild failed or needed a fallback; IF
 * NOT EXISTS so that stores made before overviews get them on their first
 * read-write open. overviews_band: a tile's R-tree candidates are every
 * band's and kind's shapes over it; this covering index drops the others
 * before their rows, a page each (most hold a large land-use shape), are
 * read (store.c, STMT_OVERVIEW_FEATURES); overviews_outline: a band's
 * outlines by box (STMT_OVERVIEW_OUTLINES). A store opened read-only
 * before they exist is read by the same statements through the rows. */
#define PDB_OVERVIEW_SCHEMA_SQL                                                                    \
    "CREATE TABLE IF NOT EXISTS overviews (\n"                                                     \
    "  id INTEGER PRIMARY KEY,\n"                                                                  \
    "  commune TEXT NOT NULL,\n"                                                                   \
    "  band INTEGER NOT NULL,\n"                                                                   \
    "  kind INTEGER NOT NULL,\n"                                                                   \
    "  landuse_main TEXT,\n"                                                                       \
    "  area_m2 REAL NOT NULL,\n"                                                                   \
    "  min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL,\n"                     \
    "  max_lat REAL NOT NULL,\n"                                                                   \
    "  geom BLOB NOT NULL);\n"                                                                     \
    "CREATE INDEX IF NOT EXISTS overviews_commune ON overviews(commune);\n"                        \
    "CREATE INDEX IF NOT EXISTS overviews_band ON overviews(band, id, kind);\n"                    \
    "CREATE INDEX IF NOT EXISTS overviews_outline ON overviews(band, kind, max_lon, min_lon, "     \
    "max_lat, min_lat);\n"                                                                         \
    "CREATE VIRTUAL TABLE IF NOT EXISTS overviews_rtree USING rtree(id, min_lon, max_lon, "        \
    "min_lat, max_lat);\n"                                                                         \
    "CREATE TABLE IF NOT EXISTS overviews_stale (\n"                                               \
    "  commune TEXT PRIMARY KEY,\n"                                                                \
    "  since TEXT NOT NULL);\n"                                                                    \
    "CREATE TABLE IF NOT EXISTS overview_problems (\n"                                             \
    "  commune TEXT PRIMARY KEY,\n"                                                                \
    "  state TEXT NOT NULL CHECK (state IN ('failed', 'fallback')),\n"                             \
    "  since TEXT NOT NULL,\n"                                                                     \
    "  reason TEXT NOT NULL);\n"

/* The point-lookup index (lookup.c): one packed BLOB per commune. */
#define PDB_LOOKUP_SCHEMA_SQL                                                                      \
    "CREATE TABLE IF NOT EXISTS lookup_index (\n"                                                  \
    "  commune TEXT PRIMARY KEY,\n"                                                                \
    "  batch_id INTEGER NOT NULL,\n"                                                               \
    "  parcels INTEGER NOT NULL,\n"                                                                \
    "  min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,\n"                                  \
    "  data BLOB NOT NULL);\n"

/* The communes the store adds to Phu Tho's built-in 148 (registry.c):
 * written by `parceldb init --communes FILE`, registered process-wide by
 * every open. IF NOT EXISTS, so that older stores get the (empty) table at
 * their first read-write open; no schema version bump: an older engine
 * ignores the table and refuses those communes' codes with its usual
 * "not a commune of Phu Tho", it never writes anything wrong. */
#define PDB_REGISTRY_SCHEMA_SQL                                                                    \
    "CREATE TABLE IF NOT EXISTS commune_registry (\n"                                              \
    "  code TEXT PRIMARY KEY CHECK (length(code) = 5),\n"                                          \
    "  name TEXT NOT NULL,\n"                                                                      \
    "  former_province TEXT NOT NULL,\n"                                                           \
    "  epsg INTEGER NOT NULL);\n"

/* The search index (search.c): postings. word is a tag letter (search.h)
 * and one folded word (fold.h), or an upper-case tag and two neighbouring
 * words ("Onguyen van", for phrases); ids the commune's current parcels
 * having it, ascending, as delta varints. The writer folds and groups in
 * memory and writes one row a word at each commune's commit; a query
 * reads a word's rows, or a prefix's range of words, and intersects
 * them. Keyed by commune first: a commit writes one range of the table
 * (keyed by word, every commune's rows interleaved, the province's import
 * took 13% longer); queries go through the index on (word, commune).
 * Made, and filled from the current parcels, at the first read-write open of a
 * store without it (pdb__sq_search_backfill), which drops schema 3's FTS5
 * table parcel_search and sets schema 4. */
#define PDB_SEARCH_SCHEMA_SQL                                                                      \
    "CREATE TABLE IF NOT EXISTS search_words (commune TEXT NOT NULL, word TEXT NOT NULL, "         \
    "ids BLOB NOT NULL, PRIMARY KEY (commune, word)) WITHOUT ROWID;\n"                             \
    "CREATE INDEX IF NOT EXISTS search_words_word ON search_words(word, commune);\n"

/* The audit of answers that showed owner names (audit.c): append-only,
 * the triggers refuse any UPDATE or DELETE through SQL. who is a token's
 * name or a user name, never a token; parcels the ids shown, comma-
 * separated. IF NOT EXISTS: older stores get it at a read-write open. */
#define PDB_AUDIT_SCHEMA_SQL                                                                       \
    "CREATE TABLE IF NOT EXISTS audit_log (\n"                                                     \
    "  id INTEGER PRIMARY KEY,\n"                                                                  \
    "  at TEXT NOT NULL,\n"                                                                        \
    "  who TEXT NOT NULL,\n"                                                                       \
    "  what TEXT NOT NULL,\n"                                                                      \
    "  parcels TEXT NOT NULL);\n"                                                                  \
    "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);\n"                                  \
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log BEGIN "           \
    "SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"                                  \
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log BEGIN "           \
    "SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"

/* The changes to single parcels between surveys (change.c): one row per
 * change (kind, when, who, why, the document, the parcels before and
 * after as "C/S/P#id" lists), and the lineage edges, parent to child, with
 * the area they share and the change (or, for edges an import records,
 * the batch) that made them. IF NOT EXISTS at every read-write open, no
 * schema version bump: an older engine's import leaves both tables alone
 * and writes nothing they contradict (lineage ends at its parcels). */
#define PDB_CHANGES_SCHEMA_SQL                                                                     \
    "CREATE TABLE IF NOT EXISTS changes (\n"                                                       \
    "  id INTEGER PRIMARY KEY,\n"                                                                  \
    "  kind TEXT NOT NULL CHECK (kind IN ('split', 'merge', 'update', 'reshape')),\n"              \
    "  at TEXT NOT NULL,\n"                                                                        \
    "  actor TEXT NOT NULL,\n"                                                                     \
    "  reason TEXT NOT NULL,\n"                                                                    \
    "  document TEXT NOT NULL,\n"                                                                  \
    "  commune TEXT NOT NULL,\n"                                                                   \
    "  batch_id INTEGER NOT NULL REFERENCES import_batches(id),\n"                                 \
    "  before TEXT NOT NULL,\n"                                                                    \
    "  after TEXT NOT NULL);\n"                                                                    \
    "CREATE TABLE IF NOT EXISTS " PDB_LINEAGE_TABLE_SQL("lineage") PDB_LINEAGE_INDEX_SQL

/* The lineage table (named, for the upgrade below). 'unchanged' is the
 * kind of a re-import's edge between two versions of an unchanged parcel
 * (lineage_match.c); stores made before it get it at a read-write open. */
#define PDB_LINEAGE_TABLE_SQL(name)                                                                \
    name                                                                                           \
        " (\n"                                                                                     \
        "  id INTEGER PRIMARY KEY,\n"                                                              \
        "  parent_id INTEGER NOT NULL REFERENCES parcels(id),\n"                                   \
        "  child_id INTEGER NOT NULL REFERENCES parcels(id),\n"                                    \
        "  kind TEXT NOT NULL CHECK (kind IN ('split', 'merge', 'reshape', 'update', 'renumber', " \
        "'unchanged')),\n"                                                                         \
        "  overlap_m2 REAL NOT NULL,\n"                                                            \
        "  change_id INTEGER REFERENCES changes(id),\n"                                            \
        "  batch_id INTEGER REFERENCES import_batches(id),\n"                                      \
        "  at TEXT NOT NULL);\n"
#define PDB_LINEAGE_INDEX_SQL                                                                      \
    "CREATE INDEX IF NOT EXISTS lineage_parent ON lineage(parent_id);\n"                           \
    "CREATE INDEX IF NOT EXISTS lineage_child ON lineage(child_id);\n"                             \
    "CREATE INDEX IF NOT EXISTS lineage_batch ON lineage(batch_id);\n"

/* A lineage table whose CHECK lacks 'unchanged' (made before re-imports
 * recorded lineage), rebuilt as SQLite documents for a changed constraint:
 * a new table, the rows copied with their ids, the old one dropped (no
 * table references lineage), the new one renamed, its indexes made. Run
 * by pdb__sq_lineage_upgrade in one write transaction. */
#define PDB_LINEAGE_UPGRADE_SQL                                                                    \
    "CREATE TABLE " PDB_LINEAGE_TABLE_SQL(                                                         \
        "lineage_upgrade") "INSERT INTO lineage_upgrade (id, parent_id, child_id, kind, "          \
                           "overlap_m2, change_id, "                                               \
                           "batch_id, at) SELECT id, parent_id, child_id, kind, overlap_m2, "      \
                           "change_id, batch_id, at "                                              \
                           "FROM lineage;\n"                                                       \
                           "DROP TABLE lineage;\n"                                                 \
                           "ALTER TABLE lineage_upgrade RENAME TO "                                \
                           "lineage;\n" PDB_LINEAGE_INDEX_SQL

/* The national attribute set of a parcel (docs/import.md): previous
 * sheet and number, the certificate's serial (personal data, read only as
 * the owner is), the record's start and end dates as the survey gives
 * them. Added after geom in stores made before them, by
 * pdb__sq_national_upgrade at their first read-write open (ALTER TABLE
 * ADD COLUMN); no schema version bump: every read and write names its
 * columns, so an older engine reads and writes such a store as before and
 * leaves the five NULL in what it writes. A read-only open of an older
 * store reads them as NULL through PDB_NATIONAL_VIEW_SQL. */
#define PDB_NATIONAL_COLUMNS_SQL                                                                   \
    "  prev_sheet TEXT, prev_parcel TEXT, certificate TEXT, record_start TEXT, record_end TEXT"
#define PDB_NATIONAL_UPGRADE_SQL                                                                   \
    "ALTER TABLE parcels ADD COLUMN prev_sheet TEXT;\n"                                            \
    "ALTER TABLE parcels ADD COLUMN prev_parcel TEXT;\n"                                           \
    "ALTER TABLE parcels ADD COLUMN certificate TEXT;\n"                                           \
    "ALTER TABLE parcels ADD COLUMN record_start TEXT;\n"                                          \
    "ALTER TABLE parcels ADD COLUMN record_end TEXT;\n"
/* The temporary view that shadows main.parcels (SQLite resolves an
 * unqualified name in temp first) on a read-only connection to a store
 * without the five columns; a simple view, flattened into every query. */
#define PDB_NATIONAL_VIEW_SQL                                                                      \
    "CREATE TEMP VIEW parcels AS SELECT *, NULL AS prev_sheet, NULL AS prev_parcel, NULL AS "      \
    "certificate, NULL AS record_start, NULL AS record_end FROM main.parcels"

/* The whole schema of a new store, in the order it is created. */
#define PDB_SCHEMA_SQL                                                                             \
    "CREATE TABLE meta (\n"                                                                        \
    "  key TEXT PRIMARY KEY,\n"                                                                    \
    "  value TEXT NOT NULL);\n"                                                                    \
    "INSERT INTO meta VALUES ('application', 'parceldb'), ('data_version', '0');\n"                \
    "CREATE TABLE import_batches (\n"                                                              \
    "  id INTEGER PRIMARY KEY,\n"                                                                  \
    "  description TEXT NOT NULL,\n"                                                               \
    "  started_at TEXT NOT NULL,\n"                                                                \
    "  finished_at TEXT,\n"                                                                        \
    "  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'partial')),\n"         \
    "  read INTEGER NOT NULL DEFAULT 0,\n"                                                         \
    "  stored INTEGER NOT NULL DEFAULT 0,\n"                                                       \
    "  repaired INTEGER NOT NULL DEFAULT 0,\n"                                                     \
    "  rejected INTEGER NOT NULL DEFAULT 0,\n"                                                     \
    "  flagged INTEGER NOT NULL DEFAULT 0);\n"                                                     \
    "CREATE TABLE import_files (\n"                                                                \
    "  id INTEGER PRIMARY KEY,\n"                                                                  \
    "  batch_id INTEGER NOT NULL REFERENCES import_batches(id),\n"                                 \
    "  commune TEXT NOT NULL,\n"                                                                   \
    "  file TEXT NOT NULL,\n"                                                                      \
    "  checksum TEXT NOT NULL,\n"                                                                  \
    "  source_srid INTEGER NOT NULL,\n"                                                            \
    "  read INTEGER NOT NULL,\n"                                                                   \
    "  stored INTEGER NOT NULL,\n"                                                                 \
    "  repaired INTEGER NOT NULL,\n"                                                               \
    "  rejected INTEGER NOT NULL,\n"                                                               \
    "  flagged INTEGER NOT NULL,\n"                                                                \
    "  committed_at TEXT NOT NULL);\n"                                                             \
    "CREATE INDEX import_files_checksum ON import_files(checksum);\n"                              \
    "CREATE TABLE communes (\n"                                                                    \
    "  code TEXT PRIMARY KEY,\n"                                                                   \
    "  name TEXT NOT NULL,\n"                                                                      \
    "  source_srid INTEGER NOT NULL,\n"                                                            \
    "  min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,\n"                                  \
    "  parcels INTEGER NOT NULL,\n"                                                                \
    "  last_batch INTEGER NOT NULL REFERENCES import_batches(id),\n"                               \
    "  updated_at TEXT NOT NULL,\n"                                                                \
    "  data_version INTEGER NOT NULL DEFAULT 0);\n"                                                \
    "CREATE TABLE parcels (\n"                                                                     \
    "  id INTEGER PRIMARY KEY,\n"                                                                  \
    "  commune TEXT NOT NULL,\n"                                                                   \
    "  former_commune TEXT,\n"                                                                     \
    "  sheet TEXT NOT NULL,\n"                                                                     \
    "  parcel TEXT NOT NULL,\n"                                                                    \
    "  landuse TEXT NOT NULL,\n"                                                                   \
    "  landuse_main TEXT NOT NULL,\n"                                                              \
    "  area_surveyed_m2 REAL,\n"                                                                   \
    "  area_computed_m2 REAL NOT NULL,\n"                                                          \
    "  address TEXT,\n"                                                                            \
    "  owner TEXT,\n"                                                                              \
    "  flags INTEGER NOT NULL DEFAULT 0,\n"                                                        \
    "  source_srid INTEGER NOT NULL,\n"                                                            \
    "  source_geom BLOB NOT NULL,\n"                                                               \
    "  batch_id INTEGER NOT NULL REFERENCES import_batches(id),\n"                                 \
    "  valid_from TEXT NOT NULL,\n"                                                                \
    "  valid_to TEXT,\n" PDB_NATIONAL_COLUMNS_SQL ");\n"                                           \
    "SELECT AddGeometryColumn('parcels', 'geom', 4326, 'MULTIPOLYGON', 'XY', 1);\n"                \
    "SELECT CreateSpatialIndex('parcels', 'geom');\n" PDB_WRITER_TRIGGERS_SQL                      \
    "CREATE INDEX parcels_number ON parcels(commune, sheet, parcel);\n"                            \
    "CREATE TABLE rejects (\n"                                                                     \
    "  id INTEGER PRIMARY KEY,\n"                                                                  \
    "  batch_id INTEGER NOT NULL REFERENCES import_batches(id),\n"                                 \
    "  commune TEXT NOT NULL,\n"                                                                   \
    "  file TEXT NOT NULL,\n"                                                                      \
    "  feature_index INTEGER NOT NULL,\n"                                                          \
    "  reason TEXT NOT NULL,\n"                                                                    \
    "  detail TEXT,\n"                                                                             \
    "  attributes TEXT,\n"                                                                         \
    "  geometry BLOB,\n"                                                                           \
    "  stored INTEGER NOT NULL);\n"                                                                \
    "CREATE INDEX rejects_batch ON rejects(batch_id);\n" PDB_OVERVIEW_SCHEMA_SQL                   \
        PDB_LOOKUP_SCHEMA_SQL PDB_REGISTRY_SCHEMA_SQL

/* What every read-write open runs: tables added since the first stores,
 * and the writer's triggers dropped again. */
#define PDB_UPGRADE_SQL                                                                            \
    PDB_OVERVIEW_SCHEMA_SQL PDB_LOOKUP_SCHEMA_SQL PDB_REGISTRY_SCHEMA_SQL PDB_WRITER_TRIGGERS_SQL  \
        PDB_AUDIT_SCHEMA_SQL PDB_CHANGES_SCHEMA_SQL

/* Schema 1 -> 2, run by the first read-write open of a schema 1 store, in
 * one write transaction with a check of user_version inside it (another
 * process may have upgraded meanwhile). Each commune row gets the data
 * version at which the commune last changed (its commit, its overviews'
 * rebuild or state change). Schema 1 kept no such thing; the global
 * version of the upgrade is a sound answer for every row: each changed at
 * or before it. A reader that saw this version before the upgrade finds
 * no commune newer than what it saw, so nothing it cached is dropped;
 * a reader that saw an older version finds every commune changed. */
#define PDB_UPGRADE_2_SQL                                                                          \
    "ALTER TABLE communes ADD COLUMN data_version INTEGER NOT NULL DEFAULT 0;\n"                   \
    "UPDATE communes SET data_version = (SELECT CAST(value AS INTEGER) FROM meta WHERE key = "     \
    "'data_version');\n"                                                                           \
    "PRAGMA user_version = 2;\n"

#endif
