/* cmd_lookup.c: being written. */
#include "cli.h"
int cmd_lookup(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("lookup: not built yet");
}
