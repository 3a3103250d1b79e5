# dev-hook.cmake: builds the renderer and its tests in a private build tree
# before tests/CMakeLists.txt lists the "render" fragment:
#   cmake -S . -B build-render -DCMAKE_PROJECT_parceldb_INCLUDE=$PWD/tests/render/dev-hook.cmake
# Once the fragment is listed this file is not needed (render.cmake guards
# against being included twice).
get_filename_component(_pdb_render_cmake ${CMAKE_CURRENT_LIST_DIR}/../render.cmake ABSOLUTE)
cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY \"${CMAKE_SOURCE_DIR}\" CALL include \"${_pdb_render_cmake}\")")
