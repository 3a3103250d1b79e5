# The HTTP server (tiler/server/, issue 5): parser and module unit tests,
# and integration tests that start `parceldb serve` on a free loopback port
# (port 0, read back from --port-file) and use real clients: curl, GDAL's
# GeoJSON and WMS/TMS drivers, headless Chromium.
if(NOT TARGET pdb_server)
    return()
endif()

foreach(t parse auth cache changes metrics response)
    pdb_unit_test(test_server_${t} SOURCES unit/test_server_${t}.c LIBS pdb_server)
endforeach()

# server_test(NAME SCRIPT [ARGS...]): a script of tests/server/ with the
# parceldb command and the trees in its environment.
function(server_test name script)
    add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/server/${script} ${ARGN})
    set_tests_properties(${name} PROPERTIES TIMEOUT 300 ENVIRONMENT
        "PARCELDB=$<TARGET_FILE:parceldb-cli>;PDB_SOURCE_DIR=${PROJECT_SOURCE_DIR};PDB_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

server_test(server_http http.sh)
server_test(server_ogr ogr.sh)
server_test(server_gdal_tms gdal_tms.sh)
server_test(server_chromium chromium.sh)
# The demo page on a phone, with geolocation through the DevTools protocol, and printed (issue 14).
server_test(server_phone phone.sh)
# The demo page's vector map: MapLibre GL JS on the vector tiles, against the PNG tiles (issue 18).
server_test(server_vector_page vector_page.sh)
set_property(TEST server_vector_page APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
server_test(server_reimport reimport.sh)
# Time travel (issue 16): lookups and tiles at a date, before and after a re-survey.
server_test(server_timetravel timetravel.sh)
server_test(server_timetravel_page timetravel.sh page)
# GET /qa/{commune} (issue 16): the quality report over HTTP, with a token.
server_test(server_qa_route qa_route.sh)
server_test(server_versions versions.sh)
server_test(server_store_upgrade upgrade.sh)
# Search and the audit of personal answers (issue 14).
server_test(server_search search.sh)
server_test(server_national national.sh)
server_test(server_search_page search_page.sh)
server_test(server_seed seed.sh)
server_test(server_lifecycle lifecycle.sh)
server_test(server_threads threads.sh)
server_test(server_lookup_id lookup_id.sh)
# Changes to single parcels and their lineage (issue 16): CLI and HTTP,
# refusals, two writers at once.
foreach(case cli http refused conflict)
    server_test(server_changes_${case} changes.sh ${case})
    set_property(TEST server_changes_${case} APPEND PROPERTY ENVIRONMENT
        "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
endforeach()
server_test(server_extract extract.sh)
server_test(server_tilejson tilejson.sh)
server_test(server_metrics_stale metrics_stale.sh)
server_test(server_stale_tmp stale_tmp.sh)
server_test(server_trap trap.sh)
server_test(server_render_wait render_wait.sh)
server_test(server_disk_limit disk_limit.sh)
foreach(case paths tile_numbers long_uri long_headers bbox limits body slow_client flood
             rate_limit)
    server_test(server_bad_${case} bad_input.sh ${case})
endforeach()
# OGC API - Features (issue 13): one case a test, each under 30 s under ASan.
foreach(case core ogr schema openapi crs errors personal datetime national)
    server_test(server_ogcapi_${case} ogcapi.sh ${case})
endforeach()
# Paging a 10,050-parcel commune: a thousand pages of 10 in a test of their own.
server_test(server_ogcapi_paging_10 ogcapi.sh paging 10)
server_test(server_ogcapi_paging_1000 ogcapi.sh paging "1000 10000")
set_property(TEST server_ogcapi_paging_10 server_ogcapi_paging_1000 server_ogcapi_national APPEND PROPERTY ENVIRONMENT
    "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
# The OpenAPI validator (tests/openapi, pinned by its package-lock.json):
# npm ci at build time into the build tree, so that the test itself needs
# no network.
find_program(PDB_NPM npm)
if(PDB_NPM)
    set(tests_npm ${PROJECT_BINARY_DIR}/tests-npm)
    add_custom_command(
        OUTPUT ${tests_npm}/node_modules/.bin/validate-api
        COMMAND ${CMAKE_COMMAND} -E make_directory ${tests_npm}
        COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_SOURCE_DIR}/openapi/package.json
                ${CMAKE_CURRENT_SOURCE_DIR}/openapi/package-lock.json ${tests_npm}/
        # Offline, the build goes on and server_ogcapi_openapi fails, naming
        # what is missing (never a skip).
        COMMAND bash -c "'${PDB_NPM}' ci --prefix '${tests_npm}' --no-audit --no-fund --ignore-scripts --loglevel=error || echo 'tests/openapi: npm ci failed: the OpenAPI validator is not installed' >&2"
        DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/openapi/package.json
                ${CMAKE_CURRENT_SOURCE_DIR}/openapi/package-lock.json
        COMMENT "Installing the OpenAPI validator (npm ci, tests/openapi)"
        VERBATIM)
    add_custom_target(pdb_tests_npm ALL DEPENDS ${tests_npm}/node_modules/.bin/validate-api)
endif()
# Root only: a server dropping to nobody with its files where only root reads.
server_test(server_private_files private_files.sh)
set_tests_properties(server_private_files PROPERTIES SKIP_RETURN_CODE 77)
