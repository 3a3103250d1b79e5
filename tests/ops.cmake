# Operations and security (issue 7): the server's privileges and the
# personal-data review. Scripts in tests/ops/, with the command and the
# trees in their environment (pdb_script_test).
if(NOT TARGET pdb_server)
    return()
endif()
pdb_script_test(ops_privileges ${CMAKE_CURRENT_SOURCE_DIR}/ops/privileges.sh)
set_tests_properties(ops_privileges PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
