/*
 * qa_main.c: parceldb-qa, the executable behind `parceldb qa`: it links
 * GDAL for the GeoPackage report, as parceldb-import does (main.c says why
 * the parceldb command does not). Run directly, it behaves the same.
 */
#include "cli.h"

int main(int argc, char **argv)
{
    static char name[] = "qa";
    argv[0] = name;
    return cmd_qa(argc, argv);
}
