# The parceldb command as a user runs it.
pdb_script_test(cli_bad_input ${CMAKE_CURRENT_SOURCE_DIR}/cli/bad_input.sh)
pdb_script_test(cli_lookup_id ${CMAKE_CURRENT_SOURCE_DIR}/cli/lookup_id.sh)
pdb_script_test(cli_import_exec ${CMAKE_CURRENT_SOURCE_DIR}/cli/import_exec.sh)
pdb_script_test(cli_install ${CMAKE_CURRENT_SOURCE_DIR}/cli/install.sh)
# A sanitized libparceldb needs a consumer linked with the same runtime.
if(PDB_SANITIZE)
    set_property(TEST cli_install APPEND PROPERTY ENVIRONMENT
                 "PDB_CONSUMER_CFLAGS=-fsanitize=address,undefined")
endif()
# scripts/test.sh's report of skipped tests, on a fake ctest tree.
pdb_script_test(cli_skip_report ${CMAKE_CURRENT_SOURCE_DIR}/cli/skip_report.sh)
# A store made with a commune list beyond Phu Tho (issue 17); tests/pg.cmake
# runs it again on PostgreSQL (cli_communes_pg).
pdb_script_test(cli_communes ${CMAKE_CURRENT_SOURCE_DIR}/cli/communes.sh)
set_property(TEST cli_communes APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
# The extract of the cadastral map (issue 14): PDF and PNG against OGR's numbers.
pdb_script_test(cli_extract ${CMAKE_CURRENT_SOURCE_DIR}/cli/extract.sh)
