# Writes a C file holding a file's bytes, so that the default style is part
# of the binary (the last fallback when no styles/landuse.json can be read).
# Run at build time: cmake -DIN=FILE -DOUT=FILE.c -DSYMBOL=NAME -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR len "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line, so that the generated file stays readable.
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
get_filename_component(name "${IN}" NAME)
file(WRITE "${OUT}.tmp"
     "/* Generated at build time from ${name} by tiler/embed.cmake: do not edit. */\n"
     "#include <stddef.h>\n\n"
     "const unsigned char ${SYMBOL}[] = {\n    ${bytes}0x00};\n"
     "const size_t ${SYMBOL}_len = ${len};\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
