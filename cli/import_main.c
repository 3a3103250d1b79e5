/*
 * import_main.c: parceldb-import, the executable behind `parceldb import`
 * (see main.c for why it is separate). `parceldb import ARGS` execs it as
 * "import ARGS"; run directly, it behaves the same.
 */
#include "cli.h"

int main(int argc, char **argv)
{
    static char name[] = "import";
    argv[0] = name;
    return cmd_import(argc, argv);
}
