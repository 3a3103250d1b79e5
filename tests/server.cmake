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
server_test(server_reimport reimport.sh)
server_test(server_versions versions.sh)
server_test(server_store_upgrade upgrade.sh)
server_test(server_seed seed.sh)
server_test(server_lifecycle lifecycle.sh)
server_test(server_lookup_id lookup_id.sh)
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
# Root only: a server dropping to nobody with its files where only root reads.
server_test(server_private_files private_files.sh)
set_tests_properties(server_private_files PROPERTIES SKIP_RETURN_CODE 77)
