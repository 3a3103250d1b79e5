/*
 * export_main.c: parceldb-export, the executable behind `parceldb export
 * --format GPKG|"ESRI Shapefile"|GeoJSON`: it links GDAL, as
 * parceldb-import does (main.c says why the parceldb command does not).
 * Run directly, it behaves the same.
 */
#include "cli.h"

int main(int argc, char **argv)
{
    static char name[] = "export";
    argv[0] = name;
    return cmd_export_files(argc, argv);
}
