# Fault injection (issue 7): each test injects one fault into a store, an
# import or a server, then checks PRAGMA integrity_check, the parcel counts
# and that the server still answers. The scripts re-run themselves in a
# private mount namespace when they may (tests/faults/lib.sh), for the
# small and read-only filesystems some faults need.
function(fault_test name script)
    add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/faults/${script} ${ARGN})
    # 77: the fault cannot be made here (no mount namespace for root).
    set_tests_properties(${name} PROPERTIES TIMEOUT 900 LABELS faults SKIP_RETURN_CODE 77 ENVIRONMENT
        "PARCELDB=$<TARGET_FILE:parceldb-cli>;PDB_SOURCE_DIR=${PROJECT_SOURCE_DIR};PDB_BINARY_DIR=${PROJECT_BINARY_DIR};PDB_FAILWRITE=$<TARGET_FILE:pdb_failwrite>")
endfunction()

# failwrite.so: an LD_PRELOAD shim that makes writes fail with ENOSPC once
# a budget of bytes is spent, for a full disk where no small filesystem
# can be mounted.
add_library(pdb_failwrite MODULE ${CMAKE_CURRENT_SOURCE_DIR}/faults/failwrite.c)
set_target_properties(pdb_failwrite PROPERTIES PREFIX "" OUTPUT_NAME failwrite)
target_compile_options(pdb_failwrite PRIVATE -Wall -Wextra)
target_link_libraries(pdb_failwrite PRIVATE dl)

fault_test(faults_backup backup.sh)
fault_test(faults_diskfull diskfull.sh)
fault_test(faults_readonly readonly.sh)
fault_test(faults_replace replace.sh)
fault_test(faults_kill_import kill_import.sh)
fault_test(faults_kill_server kill_server.sh)
fault_test(faults_corrupt corrupt.sh)
fault_test(faults_replace_user replace_user.sh)
