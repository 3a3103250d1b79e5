# Fuzz targets (tests/fuzz, docs/fuzzing.md). Every target is built in
# every build as a replay program (tests/fuzz/replay.c), which CTest runs
# over the target's seed corpus and every past crasher; with -DPDB_FUZZ=ON
# (clang) it is also built as a libFuzzer executable, which
# scripts/fuzz.sh runs for a bounded time.
set(PDB_FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)
find_package(OpenSSL REQUIRED COMPONENTS Crypto) # the token file hashes (auth.c)

# pdb_fuzz_target(NAME SOURCES... [INCLUDES dirs] [LIBS libs] [TIMEOUT s]
#                 [SEEDS_MADE dir]): SEEDS_MADE, a seeds directory made at
# test time (not in git), replayed too.
function(pdb_fuzz_target name)
    cmake_parse_arguments(F "" "TIMEOUT;SEEDS_MADE" "SOURCES;INCLUDES;LIBS" ${ARGN})
    set(variants fuzz_replay_${name})
    if(PDB_FUZZ)
        list(APPEND variants ${name})
    endif()
    foreach(exe ${variants})
        if(exe STREQUAL name)
            add_executable(${exe} ${F_SOURCES})
            target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
        else()
            add_executable(${exe} ${PDB_FUZZ_DIR}/replay.c ${F_SOURCES})
        endif()
        target_include_directories(${exe} PRIVATE ${F_INCLUDES})
        target_link_libraries(${exe} PRIVATE ${F_LIBS} pdb_build_flags)
    endforeach()
    # The replay over the seeds, the minimised corpus the fuzzer grew, and
    # every past crasher or regression input.
    add_test(NAME fuzz_replay_${name}
             COMMAND fuzz_replay_${name} ${PDB_FUZZ_DIR}/${name}/seeds
                     ${PDB_FUZZ_DIR}/${name}/corpus ${PDB_FUZZ_DIR}/${name}/crashers
                     ${PDB_FUZZ_DIR}/${name}/regressions ${F_SEEDS_MADE})
    if(NOT F_TIMEOUT)
        set(F_TIMEOUT 300)
    endif()
    set_tests_properties(fuzz_replay_${name} PROPERTIES TIMEOUT ${F_TIMEOUT} LABELS fuzz)
endfunction()

pdb_fuzz_target(fuzz_http_request
    SOURCES ${PDB_FUZZ_DIR}/fuzz_http_request.c ${PROJECT_SOURCE_DIR}/tiler/server/parse.c
            ${PROJECT_SOURCE_DIR}/tiler/server/util.c
    INCLUDES ${PROJECT_SOURCE_DIR}/tiler/server
    LIBS pdb_tiler)

# The OGC API - Features query (issue 13), behind the request parser.
pdb_fuzz_target(fuzz_ogcapi
    SOURCES ${PDB_FUZZ_DIR}/fuzz_ogcapi.c ${PROJECT_SOURCE_DIR}/tiler/server/ogcapi_parse.c
            ${PROJECT_SOURCE_DIR}/tiler/server/parse.c ${PROJECT_SOURCE_DIR}/tiler/server/util.c
    INCLUDES ${PROJECT_SOURCE_DIR}/tiler/server
    LIBS pdb_tiler Threads::Threads)
# The WMS request (issue 13), behind the request parser.
pdb_fuzz_target(fuzz_wms
    SOURCES ${PDB_FUZZ_DIR}/fuzz_wms.c ${PROJECT_SOURCE_DIR}/tiler/server/wms_parse.c
            ${PROJECT_SOURCE_DIR}/tiler/server/parse.c ${PROJECT_SOURCE_DIR}/tiler/server/util.c
    INCLUDES ${PROJECT_SOURCE_DIR}/tiler/server
    LIBS pdb_tiler m)

pdb_fuzz_target(fuzz_tokens
    SOURCES ${PDB_FUZZ_DIR}/fuzz_tokens.c ${PROJECT_SOURCE_DIR}/tiler/server/auth.c
            ${PROJECT_SOURCE_DIR}/tiler/server/util.c
    INCLUDES ${PROJECT_SOURCE_DIR}/tiler/server
    LIBS pdb_tiler OpenSSL::Crypto) # pdb_tiler: the hex-digit decoder (tiler/hex.h)

pdb_fuzz_target(fuzz_points_csv
    SOURCES ${PDB_FUZZ_DIR}/fuzz_points_csv.c ${PROJECT_SOURCE_DIR}/cli/csv.c
    INCLUDES ${PROJECT_SOURCE_DIR}/cli)

if(TARGET pdb_tiler)
    pdb_fuzz_target(fuzz_style
        SOURCES ${PDB_FUZZ_DIR}/fuzz_style.c
        LIBS pdb_tiler m)
endif()

pdb_fuzz_target(fuzz_field_map
    SOURCES ${PDB_FUZZ_DIR}/fuzz_field_map.c
    LIBS pdb_import)

pdb_fuzz_target(fuzz_wkb
    SOURCES ${PDB_FUZZ_DIR}/fuzz_wkb.c
    LIBS parceldb_internal_for_tests PkgConfig::JANSSON m)

pdb_fuzz_target(fuzz_import
    SOURCES ${PDB_FUZZ_DIR}/fuzz_import.c
    LIBS pdb_import
    TIMEOUT 900)

# The search's query parser and folding (issue 14).
pdb_fuzz_target(fuzz_search_query
    SOURCES ${PDB_FUZZ_DIR}/fuzz_search_query.c
    LIBS parceldb_internal_for_tests)

# The GeoJSON parts of a change (POST bodies, --parts files; issue 16).
pdb_fuzz_target(fuzz_change_parts
    SOURCES ${PDB_FUZZ_DIR}/fuzz_change_parts.c
    LIBS parceldb_internal_for_tests)

# What a date given to --at or ?at= means (issue 16, time travel).
pdb_fuzz_target(fuzz_instant
    SOURCES ${PDB_FUZZ_DIR}/fuzz_instant.c
    LIBS parceldb_internal_for_tests)

# The DGN v7 element reader of the sheet import (import/dgn7.c). Its seeds
# are the generator's DGN files, made at test time by dgn7-seeds.sh.
pdb_fuzz_target(fuzz_dgn7
    SOURCES ${PDB_FUZZ_DIR}/fuzz_dgn7.c
    LIBS pdb_import m
    SEEDS_MADE ${CMAKE_BINARY_DIR}/fuzz-seeds/fuzz_dgn7)
add_test(NAME fuzz_dgn7_seeds
         COMMAND bash ${PDB_FUZZ_DIR}/dgn7-seeds.sh $<TARGET_FILE:pdb-synth>
                 ${CMAKE_BINARY_DIR}/fuzz-seeds/fuzz_dgn7)
set_tests_properties(fuzz_dgn7_seeds PROPERTIES FIXTURES_SETUP fuzz_dgn7_seeds LABELS fuzz)
set_tests_properties(fuzz_replay_fuzz_dgn7 PROPERTIES FIXTURES_REQUIRED fuzz_dgn7_seeds)

# The record dates of the national attribute set as surveys write them
# (issue 16, import/values.c).
pdb_fuzz_target(fuzz_survey_date
    SOURCES ${PDB_FUZZ_DIR}/fuzz_survey_date.c
    LIBS pdb_import)
