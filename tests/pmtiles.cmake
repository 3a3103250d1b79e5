# PMTiles archives (issue 18): the writer and reader (tiler/pmtiles.c),
# `parceldb export --format pmtiles` and `serve --pmtiles`, checked with
# the `pmtiles` npm package (tests/js/pmtiles), python's struct and nginx
# with range requests (tests/pmtiles/pmtiles.sh).
if(NOT TARGET pdb_server)
    return()
endif()

pdb_unit_test(test_pmtiles SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_pmtiles.c LIBS pdb_tiler)
set_tests_properties(test_pmtiles PROPERTIES LABELS "unit;pmtiles")

# The pmtiles library, pinned by tests/js/pmtiles/package-lock.json: npm ci
# at build time into the build tree, so that the tests need no network.
# Offline, the build goes on and the tests fail, naming what is missing
# (never a skip).
set(PDB_PMTILES_NPM ${PROJECT_BINARY_DIR}/tests-npm-pmtiles)
find_program(PDB_NPM npm)
if(PDB_NPM)
    set(js_dir ${CMAKE_CURRENT_SOURCE_DIR}/js/pmtiles)
    add_custom_command(
        OUTPUT ${PDB_PMTILES_NPM}/node_modules/pmtiles/package.json
        COMMAND ${CMAKE_COMMAND} -E make_directory ${PDB_PMTILES_NPM}
        COMMAND ${CMAKE_COMMAND} -E copy ${js_dir}/package.json ${js_dir}/package-lock.json
                ${PDB_PMTILES_NPM}/
        COMMAND bash -c "'${PDB_NPM}' ci --prefix '${PDB_PMTILES_NPM}' --no-audit --no-fund --ignore-scripts --loglevel=error || echo 'tests/js/pmtiles: npm ci failed: the pmtiles library is not installed' >&2"
        DEPENDS ${js_dir}/package.json ${js_dir}/package-lock.json
        COMMENT "Installing the pmtiles library (npm ci, tests/js/pmtiles)"
        VERBATIM)
    add_custom_target(pdb_tests_npm_pmtiles ALL
                      DEPENDS ${PDB_PMTILES_NPM}/node_modules/pmtiles/package.json)
endif()

foreach(case roundtrip mvt runlength bad_input nginx)
    add_test(NAME pmtiles_${case}
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pmtiles/pmtiles.sh ${case})
    set_tests_properties(pmtiles_${case} PROPERTIES TIMEOUT 300 LABELS pmtiles ENVIRONMENT
        "PARCELDB=$<TARGET_FILE:parceldb-cli>;PDB_SOURCE_DIR=${PROJECT_SOURCE_DIR};PDB_BINARY_DIR=${PROJECT_BINARY_DIR};PDB_PMTILES_NPM=${PDB_PMTILES_NPM}")
endforeach()
