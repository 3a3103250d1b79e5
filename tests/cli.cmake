# The parceldb command as a user runs it.
pdb_script_test(cli_bad_input ${CMAKE_CURRENT_SOURCE_DIR}/cli/bad_input.sh)
pdb_script_test(cli_install ${CMAKE_CURRENT_SOURCE_DIR}/cli/install.sh)
