# The PostgreSQL/PostGIS store (issue 17): every test labelled `pg` runs
# against one cluster per CTest run, which the fixture pdb_pg starts
# (pg_cluster_start: initdb in a new directory under /tmp, a Unix socket
# only; tests/lib/pg.sh) and stops once they are done (pg_cluster_stop).
# `ctest -L pg` runs them all, `ctest -LE pg` none; selecting any one adds
# the fixture's two tests. A machine without PostgreSQL or PostGIS fails
# pg_cluster_start with a line naming the package: never a skip.
set(PDB_PG_STATE ${PROJECT_BINARY_DIR}/Testing/pg-cluster.state)
add_test(NAME pg_cluster_start
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/pg/cluster.sh start ${PDB_PG_STATE})
add_test(NAME pg_cluster_stop
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/pg/cluster.sh stop ${PDB_PG_STATE})
set_tests_properties(pg_cluster_start PROPERTIES FIXTURES_SETUP pdb_pg LABELS pg TIMEOUT 120)
set_tests_properties(pg_cluster_stop PROPERTIES FIXTURES_CLEANUP pdb_pg LABELS pg TIMEOUT 120)

# pdb_on_pg(TEST...): the tests run on the cluster: label pg, the
# fixture, and PDB_TEST_STORE=pg (tests/lib/store.sh), so that their
# stores are PostgreSQL databases.
function(pdb_on_pg)
    foreach(t ${ARGN})
        set_property(TEST ${t} APPEND PROPERTY LABELS pg)
        set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED pdb_pg)
        set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                     "PDB_TEST_STORE=pg;PDB_PG_STATE=${PDB_PG_STATE}")
    endforeach()
endfunction()

# The new tests of the PostgreSQL store itself (tests/pg/): bad locations
# and rights, every command's output against the file store's, no
# password of a location ever printed, and GDAL, QGIS and a GIS role on
# the GIS views (gis).
foreach(script bad_input same_output password_hidden gis)
    pdb_script_test(pg_${script} ${CMAKE_CURRENT_LIST_DIR}/pg/${script}.sh)
    set_tests_properties(pg_${script} PROPERTIES TIMEOUT 600)
    pdb_on_pg(pg_${script})
endforeach()
# Replicas behind nginx, one on a hot standby, and one through a failover
# (the primary stopped, the standby promoted): clusters of the tests' own
# (they stop, start, replicate and promote them).
foreach(script replicas standby failover)
    pdb_script_test(pg_${script} ${CMAKE_CURRENT_LIST_DIR}/pg/${script}.sh)
    set_tests_properties(pg_${script} PROPERTIES LABELS pg TIMEOUT 600)
endforeach()

# The existing tests that make sense on both stores, a second time on
# PostgreSQL (the same script, named *_pg). Those about the SQLite file
# itself stay SQLite-only: the file replaced, its WAL, a full disk or a
# read-only file, its permissions, a backup as a file copy, a schema
# upgrade of the file (server_store_upgrade), a corrupt file. So do those
# whose checks are SQLite's SQL (json_extract, group_concat, PRAGMA):
# import_defects, import_kill (faults_kill_import_pg kills imports on
# PostgreSQL), import_synth, import_rejected_repaired; and those that do
# not reach the store (the HTTP parser's cases, server_trap,
# server_stale_tmp, server_chromium's page).
if(TARGET pdb_server)
    foreach(t http ogr gdal_tms reimport versions seed lifecycle lookup_id tilejson
              metrics_stale render_wait disk_limit search extract timetravel qa_route national)
        server_test(server_${t}_pg ${t}.sh)
        pdb_on_pg(server_${t}_pg)
    endforeach()
    # The HTTP parser's cases do not reach the store; these two query it.
    foreach(case bbox limits)
        server_test(server_bad_${case}_pg bad_input.sh ${case})
        pdb_on_pg(server_bad_${case}_pg)
    endforeach()
    # OGC API - Features (issue 13): the cases that read the store only
    # through HTTP (server_ogcapi_ogr asks SpatiaLite on the file).
    foreach(case core schema crs errors personal datetime national)
        server_test(server_ogcapi_${case}_pg ogcapi.sh ${case})
        pdb_on_pg(server_ogcapi_${case}_pg)
    endforeach()
    set_property(TEST server_ogcapi_national_pg APPEND PROPERTY ENVIRONMENT
                 "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
    # Vector tiles (tests/mvt.cmake): the cases that read the store (through
    # HTTP and the parceldb command).
    foreach(case tiles http cli)
        server_test(server_mvt_${case}_pg mvt.sh ${case})
        set_property(TEST server_mvt_${case}_pg APPEND PROPERTY ENVIRONMENT
                     "PDB_JS_DIR=${PROJECT_BINARY_DIR}/tests-js")
        set_property(TEST server_mvt_${case}_pg APPEND PROPERTY FIXTURES_REQUIRED pdb_mvt_js)
        pdb_on_pg(server_mvt_${case}_pg)
    endforeach()
    server_test(server_ogcapi_paging_1000_pg ogcapi.sh paging "1000 10000")
    set_property(TEST server_ogcapi_paging_1000_pg APPEND PROPERTY ENVIRONMENT
                 "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
    pdb_on_pg(server_ogcapi_paging_1000_pg)
    # Changes to single parcels and their lineage (issue 16), on PostgreSQL.
    foreach(case cli http refused conflict)
        server_test(server_changes_${case}_pg changes.sh ${case})
        set_property(TEST server_changes_${case}_pg APPEND PROPERTY ENVIRONMENT
                     "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
        pdb_on_pg(server_changes_${case}_pg)
    endforeach()
    fault_test(faults_kill_server_pg kill_server.sh)
    fault_test(faults_kill_import_pg kill_import.sh)
    pdb_on_pg(faults_kill_server_pg faults_kill_import_pg)
endif()
pdb_script_test(cli_lookup_id_pg ${CMAKE_CURRENT_LIST_DIR}/cli/lookup_id.sh)
pdb_script_test(cli_extract_pg ${CMAKE_CURRENT_LIST_DIR}/cli/extract.sh)
foreach(script crs empty reimport encoding fields formats search lineage national lineage_national)
    pdb_script_test(import_${script}_pg ${CMAKE_CURRENT_LIST_DIR}/import/${script}.sh)
endforeach()
pdb_on_pg(cli_lookup_id_pg cli_extract_pg import_crs_pg import_empty_pg import_reimport_pg import_encoding_pg
          import_fields_pg import_formats_pg import_search_pg import_lineage_pg
          import_national_pg import_lineage_national_pg)
# Exports to GIS files (issue 15) read the store through the public
# interface alone: the round trips (bit-exact), the line-and-label sheets
# and GET /export on PostgreSQL.
foreach(script roundtrip sheets)
    pdb_script_test(export_${script}_pg ${CMAKE_CURRENT_LIST_DIR}/export/${script}.sh)
    set_tests_properties(export_${script}_pg PROPERTIES LABELS export TIMEOUT 900)
endforeach()
if(TARGET pdb_server)
    pdb_script_test(export_http_pg ${CMAKE_CURRENT_LIST_DIR}/export/http.sh)
    set_tests_properties(export_http_pg PROPERTIES LABELS export TIMEOUT 300)
    pdb_on_pg(export_http_pg)
endif()
pdb_on_pg(export_roundtrip_pg export_sheets_pg)
# The store's commune list (issue 17, national scale) on PostgreSQL.
pdb_script_test(cli_communes_pg ${CMAKE_CURRENT_LIST_DIR}/cli/communes.sh)
set_property(TEST cli_communes_pg APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
pdb_on_pg(cli_communes_pg)
