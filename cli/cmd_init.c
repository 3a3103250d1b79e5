/* cmd_init.c: being written. */
#include "cli.h"
int cmd_init(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_error("init: not built yet");
}
