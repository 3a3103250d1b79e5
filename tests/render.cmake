# The renderer (tiler/), the styles (styles/) and the overviews
# (engine/src/overview.c): issue 4.
include_guard(GLOBAL)

if(NOT TARGET pdb_tiler)
    add_subdirectory(${PROJECT_SOURCE_DIR}/tiler ${PROJECT_BINARY_DIR}/tiler)
endif()

# Pure parts: tile arithmetic, styles and expressions, PNG encoding.
pkg_check_modules(PDB_TEST_CAIRO REQUIRED IMPORTED_TARGET cairo)
pdb_unit_test(test_render_style SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_render_style.c
              LIBS pdb_tiler PkgConfig::PDB_TEST_CAIRO)
pdb_unit_test(test_render_png SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_render_png.c
              LIBS pdb_tiler PNG::PNG)
# Rendering fixtures made with ogr2ogr and loaded through the engine.
pdb_unit_test(test_render SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_render.c
              ${CMAKE_CURRENT_LIST_DIR}/lib/fixture.c LIBS pdb_tiler PNG::PNG GDAL::GDAL)
# A WMS map's grid transformation against PROJ (tiler/approx.c).
pdb_unit_test(test_render_approx SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_render_approx.c
              LIBS pdb_tiler)
# The vector tile encoder's pure parts (tiler/mvt.c).
pdb_unit_test(test_mvt SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/test_mvt.c LIBS pdb_tiler)
set_tests_properties(test_render_style test_render_png test_render test_render_approx test_mvt
                     PROPERTIES LABELS "unit;render")

# `parceldb render` as a user runs it.
add_test(NAME render_cli COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/render/cli.sh)
set_tests_properties(render_cli PROPERTIES LABELS "cli;render" ENVIRONMENT
    "PARCELDB=$<TARGET_FILE:parceldb-cli>;PDB_SOURCE_DIR=${PROJECT_SOURCE_DIR}")

# bench/render: the PNG encoder's level and filter measurement (not a test;
# built on demand: cmake --build BUILD --target pdb-png-levels).
add_executable(pdb-png-levels EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/bench/render/png_levels.c)
target_link_libraries(pdb-png-levels PRIVATE pdb_tiler pdb_build_flags)

# A commune whose overviews cannot be built, through the parceldb command
# (issue 12): the import's exit status, `info --check`, no endless retry.
add_test(NAME overview_failure COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/render/overview_failure.sh)
set_tests_properties(overview_failure PROPERTIES LABELS "cli;render" ENVIRONMENT
    "PARCELDB=$<TARGET_FILE:parceldb-cli>")
# Communes built on a thread per core write what each built alone writes
# (issue 19).
add_test(NAME overview_threads COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/render/overview_threads.sh)
set_tests_properties(overview_threads PROPERTIES LABELS "cli;render" ENVIRONMENT
    "PARCELDB=$<TARGET_FILE:parceldb-cli>;PDB_SYNTH=$<TARGET_FILE:pdb-synth>;PDB_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
