# The engine: codecs, store, writer, queries, GeoJSON.
pdb_unit_test(test_wkb SOURCES unit/test_wkb.c LIBS GDAL::GDAL)
pdb_unit_test(test_store SOURCES unit/test_store.c lib/fixture.c LIBS GDAL::GDAL)
find_package(Threads REQUIRED)
pdb_unit_test(test_ptree SOURCES unit/test_ptree.c)
# What a date means for lookups and tiles at a date (issue 16).
pdb_unit_test(test_timetravel SOURCES unit/test_timetravel.c)
# The GeoJSON writer against jansson, which it replaced (issue 19).
pdb_unit_test(test_geojson SOURCES unit/test_geojson.c LIBS GDAL::GDAL)
pdb_unit_test(test_lookup SOURCES unit/test_lookup.c LIBS Threads::Threads)
set_tests_properties(test_lookup PROPERTIES TIMEOUT 600)
# The lookup index on PostgreSQL against SQLite's (issue 17), on a cluster
# of its own: the test stops the server on purpose.
pdb_unit_test(test_pg_lookup SOURCES unit/test_pg_lookup.c)
set_tests_properties(test_pg_lookup PROPERTIES LABELS "unit;engine;pg" TIMEOUT 600)
# Overviews that never fail on valid parcels (issue 12): parcels made with
# GEOS and PROJ, one store read back with sqlite3 and SpatiaLite.
pdb_unit_test(test_overview SOURCES unit/test_overview.c)
set_tests_properties(test_overview PROPERTIES LABELS "unit;engine" TIMEOUT 300)
set_property(TEST test_overview APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
# The overviews' own coverage union, against GEOS's union (issue 19).
pdb_unit_test(test_geom_union SOURCES unit/test_geom_union.c)
set_tests_properties(test_geom_union PROPERTIES LABELS "unit;engine")
pdb_unit_test(test_geom_simple SOURCES unit/test_geom_simple.c)
set_tests_properties(test_geom_simple PROPERTIES LABELS "unit;engine")

# The import summary and `parceldb info` say rejected and repaired apart,
# with the same numbers (issue 12, item 4).
pdb_script_test(import_rejected_repaired ${CMAKE_CURRENT_LIST_DIR}/import/rejected_repaired.sh)
set_tests_properties(import_rejected_repaired PROPERTIES LABELS "cli;import")

# The PostgreSQL/PostGIS store's connection, schema, writes and backup
# against the SQLite store (issue 17): its own private cluster
# (unit/pg_cluster.sh) unless PDB_TEST_PG names a server.
pdb_unit_test(test_pg_store SOURCES unit/test_pg_store.c lib/fixture.c
              LIBS GDAL::GDAL PostgreSQL::PostgreSQL Threads::Threads)
set_tests_properties(test_pg_store PROPERTIES LABELS "unit;engine;pg" TIMEOUT 300)

# The PostgreSQL store's reads against the SQLite store's (issue 17): the
# same imports, every read asked of both, tiles rendered from each. On the
# CTest run's cluster (tests/pg.cmake's fixture pdb_pg), or PDB_TEST_PG.
pdb_unit_test(test_pg_query SOURCES unit/test_pg_query.c lib/fixture.c LIBS GDAL::GDAL)
set_tests_properties(test_pg_query PROPERTIES LABELS "unit;engine;pg" TIMEOUT 600
    FIXTURES_REQUIRED pdb_pg)
set_property(TEST test_pg_query APPEND PROPERTY ENVIRONMENT
    "PDB_PG_STATE=${PROJECT_BINARY_DIR}/Testing/pg-cluster.state")
# The process-wide commune registry (issue 17): stores' commune lists.
pdb_unit_test(test_registry SOURCES unit/test_registry.c LIBS Threads::Threads)
# The search's folding, word limits and FTS5 expressions (issue 14); the
# search and the audit on both stores: tests/import/search.sh (import_search,
# import_search_pg).
pdb_unit_test(test_search SOURCES unit/test_search.c)
set_tests_properties(test_search PROPERTIES LABELS "unit;engine")
# The quality checks (docs/qa.md): rules file, names, a run on known squares.
pdb_unit_test(test_qa SOURCES unit/test_qa.c lib/fixture.c LIBS GDAL::GDAL)
# The matching of a re-surveyed commune with the parcels it supersedes
# (issue 16, lineage_match.c), on cases read off their coordinates.
pdb_unit_test(test_lineage_match SOURCES unit/test_lineage_match.c)
set_tests_properties(test_lineage_match PROPERTIES LABELS "unit;engine")
# The overlap check's pair filter (qa_pair.c) against GEOS on tricky pairs
# and a jittered grid coverage.
pdb_unit_test(test_qa_pair SOURCES unit/test_qa_pair.c)
# The box read's candidates sorted in C and joined through pdb_idlist
# against the IN-subquery statement it replaced (issue 18).
pdb_unit_test(test_idlist SOURCES unit/test_idlist.c)
