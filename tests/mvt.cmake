# Vector tiles (issue 18): /tiles/{z}/{x}/{y}.mvt, /tiles.mvt.json and
# /styles/landuse.json checked with real clients: GDAL's MVT driver,
# @mapbox/vector-tile with pbf, @mapbox/mvt-fixtures, the TileJSON 3.0.0
# schema and @maplibre/maplibre-gl-style-spec's validator. The JavaScript
# clients come from npm (tests/js/package-lock.json), installed once by the
# fixture below into the build tree.
if(NOT TARGET pdb_server)
    return()
endif()

add_test(NAME mvt_js_setup
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/js/setup.sh ${PROJECT_BINARY_DIR}/tests-js)
set_tests_properties(mvt_js_setup PROPERTIES FIXTURES_SETUP pdb_mvt_js LABELS server TIMEOUT 300)

foreach(case tiles fixtures tilejson_style http cli seed synth)
    add_test(NAME server_mvt_${case}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/server/mvt.sh ${case})
    set_tests_properties(server_mvt_${case} PROPERTIES
        TIMEOUT 300 LABELS server FIXTURES_REQUIRED pdb_mvt_js ENVIRONMENT
        "PARCELDB=$<TARGET_FILE:parceldb-cli>;PDB_SOURCE_DIR=${PROJECT_SOURCE_DIR};PDB_BINARY_DIR=${PROJECT_BINARY_DIR};PDB_JS_DIR=${PROJECT_BINARY_DIR}/tests-js")
endforeach()
