/*
 * tile.c: XYZ tile arithmetic in EPSG:3857 (spherical Web Mercator on the
 * WGS 84 semi-major axis). Pure functions: no I/O, no state but the
 * failure message on the caller's context.
 */
#include "ctx.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EARTH_RADIUS_M 6378137.0
#define DEG2RAD (M_PI / 180.0)

double pdbt_merc_x(double lon_deg)
{
    return EARTH_RADIUS_M * lon_deg * DEG2RAD;
}

double pdbt_merc_y(double lat_deg)
{
    if (lat_deg > PDBT_MERC_MAX_LAT)
        lat_deg = PDBT_MERC_MAX_LAT;
    if (lat_deg < -PDBT_MERC_MAX_LAT)
        lat_deg = -PDBT_MERC_MAX_LAT;
    return EARTH_RADIUS_M * log(tan(M_PI / 4.0 + lat_deg * DEG2RAD / 2.0));
}

double pdbt_merc_lon(double x_m)
{
    return x_m / EARTH_RADIUS_M / DEG2RAD;
}

double pdbt_merc_lat(double y_m)
{
    return (2.0 * atan(exp(y_m / EARTH_RADIUS_M)) - M_PI / 2.0) / DEG2RAD;
}

int pdbt_tile_valid(int z, uint32_t x, uint32_t y, int max_zoom)
{
    if (z < 0 || z > max_zoom || z > PDBT_TILE_MAX_ZOOM)
        return 0;
    uint64_t n = (uint64_t)1 << z;
    return x < n && y < n;
}

double pdbt_tile_resolution(int z, int scale)
{
    return 2.0 * PDBT_MERC_MAX / ((double)PDBT_TILE_SIZE * scale * ldexp(1.0, z));
}

void pdbt_tile_bounds_merc(int z, uint32_t x, uint32_t y, double out[4])
{
    double span = 2.0 * PDBT_MERC_MAX / ldexp(1.0, z); /* metres per tile */
    out[0] = -PDBT_MERC_MAX + x * span;
    out[2] = -PDBT_MERC_MAX + (x + 1.0) * span;
    out[3] = PDBT_MERC_MAX - y * span;
    out[1] = PDBT_MERC_MAX - (y + 1.0) * span;
}

void pdbt_tile_bounds_lonlat(int z, uint32_t x, uint32_t y, double out[4])
{
    double m[4];
    pdbt_tile_bounds_merc(z, x, y, m);
    out[0] = pdbt_merc_lon(m[0]);
    out[1] = pdbt_merc_lat(m[1]);
    out[2] = pdbt_merc_lon(m[2]);
    out[3] = pdbt_merc_lat(m[3]);
}

void pdbt_tile_at(double lon_deg, double lat_deg, int z, uint32_t *x, uint32_t *y)
{
    double n = ldexp(1.0, z);
    double fx = (pdbt_merc_x(lon_deg) + PDBT_MERC_MAX) / (2.0 * PDBT_MERC_MAX) * n;
    double fy = (PDBT_MERC_MAX - pdbt_merc_y(lat_deg)) / (2.0 * PDBT_MERC_MAX) * n;
    fx = fmin(fmax(floor(fx), 0.0), n - 1.0);
    fy = fmin(fmax(floor(fy), 0.0), n - 1.0);
    *x = (uint32_t)fx;
    *y = (uint32_t)fy;
}

/* Reads a decimal number of at most 10 digits (no sign, no blank);
 * advances *p. */
static int read_uint(const char **p, unsigned long long *v)
{
    const char *s = *p;
    size_t n = 0;
    unsigned long long acc = 0;
    while (isdigit((unsigned char)s[n]) && n < 11) {
        acc = acc * 10 + (unsigned)(s[n] - '0');
        n++;
    }
    if (n == 0 || n > 10)
        return -1;
    *v = acc;
    *p = s + n;
    return 0;
}

pdb_status pdbt_tile_parse(pdbt_ctx *ctx, const char *text, int max_zoom, pdbt_tile *out)
{
    unsigned long long v[3];
    const char *p = text;

    char sep = 0; /* '/' or ' ', the same between all three numbers */

    pdbt__ok(ctx);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (sep == 0)
                sep = *p;
            if ((sep != '/' && sep != ' ') || *p != sep)
                goto bad;
            p++;
            while (sep == ' ' && *p == ' ')
                p++;
        }
        if (read_uint(&p, &v[i]) != 0)
            goto bad;
    }
    out->scale = 1;
    if (strncmp(p, "@2x", 3) == 0) {
        out->scale = 2;
        p += 3;
    }
    if (strcmp(p, ".png") == 0)
        p += 4;
    if (*p != '\0')
        goto bad;
    if (v[0] > (unsigned long long)max_zoom || v[0] > PDBT_TILE_MAX_ZOOM)
        return pdbt__fail(ctx, PDB_EINVAL, "zoom %llu is over the maximum of %d", v[0], max_zoom);
    unsigned long long n = 1ULL << v[0];
    if (v[1] >= n || v[2] >= n)
        return pdbt__fail(ctx, PDB_EINVAL,
                          "tile %llu/%llu/%llu: x and y must be below %llu at zoom %llu", v[0],
                          v[1], v[2], n, v[0]);
    out->z = (int)v[0];
    out->x = (uint32_t)v[1];
    out->y = (uint32_t)v[2];
    return PDB_OK;
bad:
    return pdbt__fail(ctx, PDB_EINVAL, "'%.40s' is not a tile (want Z/X/Y, e.g. 14/13003/7195)",
                      text);
}
