# Operations and security (issue 7): the server's privileges, the personal-
# data review, and a search of the whole run's server logs. Scripts in
# tests/ops/, with the command and the trees in their environment.
if(NOT TARGET pdb_server)
    return()
endif()
pdb_script_test(ops_privileges ${CMAKE_CURRENT_SOURCE_DIR}/ops/privileges.sh)
set_tests_properties(ops_privileges PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
pdb_script_test(ops_personal_data ${CMAKE_CURRENT_SOURCE_DIR}/ops/personal_data.sh)
set_tests_properties(ops_personal_data PROPERTIES TIMEOUT 600)

# ops_run_logs runs after every other test: it cleans up a fixture that all
# of them require (CTest runs a fixture's cleanup once all its users are
# done, also under -j, and adds it to any selection of them), and
# ops_run_logs_reset, its setup, empties the kept logs first. This file is
# the last fragment tests/CMakeLists.txt includes, so every test is
# defined by now.
add_test(NAME ops_run_logs_reset COMMAND ${CMAKE_COMMAND} -E rm -rf
         ${PROJECT_BINARY_DIR}/Testing/server-logs)
pdb_script_test(ops_run_logs ${CMAKE_CURRENT_SOURCE_DIR}/ops/run_logs.sh)
get_directory_property(pdb_all_tests TESTS)
list(REMOVE_ITEM pdb_all_tests ops_run_logs ops_run_logs_reset)
set_property(TEST ${pdb_all_tests} APPEND PROPERTY FIXTURES_REQUIRED pdb_run_logs)
set_tests_properties(ops_run_logs_reset PROPERTIES FIXTURES_SETUP pdb_run_logs)
set_tests_properties(ops_run_logs PROPERTIES FIXTURES_CLEANUP pdb_run_logs SKIP_RETURN_CODE 77)
