# Run with cmake -P by the test engine_internals_private: the engine's
# private headers (engine/src) must not be on the include path that
# linking parceldb_static (or a library built on it) gives, so that only
# the tests, through parceldb_internal_for_tests, can include them.
# -DTARGET=name -DDIRS=<its INTERFACE_INCLUDE_DIRECTORIES> -DSRC=<engine/src>
foreach(dir IN LISTS DIRS)
    get_filename_component(dir "${dir}" REALPATH)
    get_filename_component(src "${SRC}" REALPATH)
    if(dir STREQUAL src)
        message(FATAL_ERROR "${TARGET} puts ${SRC} on its users' include path: "
                            "engine internals would be reachable from outside the tests")
    endif()
endforeach()
message(STATUS "${TARGET}: no engine/src in its users' include path")
