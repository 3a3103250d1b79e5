/* cmd_import.c: being written. */
#include "cli.h"
int cmd_import(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("import: not built yet");
}
