/*
 * geojson.h: the number formatting of the GeoJSON writer (geojson.c),
 * private to the engine and visible to its tests.
 *
 * The writer's text is what jansson wrote before it (json_dumps with
 * JSON_COMPACT | JSON_REAL_PRECISION(15)): the same keys in the same
 * order, the same escapes, the same digits. These functions are its
 * numbers; tests/unit/test_geojson.c holds them to snprintf.
 */
#ifndef PDB_GEOJSON_H
#define PDB_GEOJSON_H

#include <stddef.h>

#define PDB__JSON_REAL_MAX 40 /* bytes a formatted number can take, with the NUL */

/* v (finite) as jansson prints a real at precision 15: "%.15g" with a
 * '.' for a decimal point, ".0" appended when neither '.' nor 'e' shows,
 * and the exponent without '+' or leading zeros ("1e-9", "2.5e20").
 * A value that is the double nearest to a short decimal (an area, a
 * surveyed figure) takes an integer path with no printf; the text is the
 * same. Returns the length written to buf (NUL-terminated). */
size_t pdb__json_real(double v, char buf[PDB__JSON_REAL_MAX]);

/* A coordinate: v rounded to 1e-9 (round(v * 1e9) / 1e9; v itself when
 * that overflows), then as pdb__json_real prints it. Lon/lat-sized values
 * take an integer path with no printf; the text is the same. */
size_t pdb__json_coord(double v, char buf[PDB__JSON_REAL_MAX]);

#endif
