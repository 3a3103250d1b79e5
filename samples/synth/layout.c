/*
 * layout.c: where each commune lies in the province.
 *
 * The province (lon 104.80-105.78, lat 20.40-21.90) is cut into a grid of
 * cells of 0.07 x 0.065 degrees (about 7.3 x 7.2 km). Each commune takes the
 * free cell nearest to the rough centre of its former district (communes are
 * numbered by district, so the code tells the district), in code order; no
 * two communes share a cell, so no two overlap. Hoa Binh's districts lie in
 * the south and west, Vinh Phuc's in the east, Phu Tho's in the north and
 * west, as on the real map. The district centres are approximate (to a few
 * km): the point is a plausible map, not a gazetteer.
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_LON0 104.80
#define GRID_LAT0 20.40
#define CELL_LON 0.07
#define CELL_LAT 0.065
#define GRID_COLS 14
#define GRID_ROWS 23

/* The first commune code of each former district, and its rough centre. */
static const struct {
    int from_code;   /* codes from here up to the next entry */
    double lat, lon; /* degrees */
} districts[] = {
    {4792, 20.82, 105.33}, /* Hoa Binh city */
    {4831, 20.93, 105.13}, /* Da Bac */
    {4891, 20.88, 105.40}, /* Ky Son */
    {4924, 20.86, 105.55}, /* Luong Son */
    {4978, 20.68, 105.55}, /* Kim Boi */
    {5047, 20.72, 105.33}, /* Cao Phong */
    {5116, 20.62, 105.22}, /* Tan Lac */
    {5191, 20.66, 105.02}, /* Mai Chau */
    {5266, 20.47, 105.42}, /* Lac Son */
    {5323, 20.43, 105.62}, /* Yen Thuy */
    {5392, 20.50, 105.74}, /* Lac Thuy */
    {7894, 21.32, 105.40}, /* Viet Tri city */
    {7942, 21.40, 105.23}, /* Phu Tho town */
    {7969, 21.62, 105.18}, /* Doan Hung */
    {8038, 21.57, 105.01}, /* Ha Hoa */
    {8143, 21.49, 105.14}, /* Thanh Ba */
    {8203, 21.46, 105.29}, /* Phu Ninh */
    {8275, 21.33, 104.98}, /* Yen Lap */
    {8338, 21.37, 105.12}, /* Cam Khe */
    {8431, 21.28, 105.24}, /* Tam Nong */
    {8479, 21.33, 105.31}, /* Lam Thao */
    {8542, 21.17, 105.17}, /* Thanh Son */
    {8560, 21.20, 104.95}, /* Tan Son */
    {8584, 21.10, 105.13}, /* Thanh Son (south) */
    {8656, 21.14, 105.27}, /* Thanh Thuy */
    {8707, 21.31, 105.60}, /* Vinh Yen city */
    {8740, 21.25, 105.72}, /* Phuc Yen */
    {8761, 21.42, 105.46}, /* Lap Thach */
    {8812, 21.50, 105.42}, /* Song Lo */
    {8869, 21.37, 105.55}, /* Tam Duong */
    {8911, 21.46, 105.63}, /* Tam Dao */
    {8935, 21.31, 105.68}, /* Binh Xuyen */
    {9025, 21.21, 105.58}, /* Yen Lac */
    {9076, 21.23, 105.49}, /* Vinh Tuong */
};

static void anchor_of(int code, double *lat, double *lon)
{
    size_t k = 0;
    for (size_t i = 0; i < sizeof districts / sizeof districts[0]; i++)
        if (code >= districts[i].from_code)
            k = i;
    *lat = districts[k].lat;
    *lon = districts[k].lon;
}

/* Places all communes once (the result depends only on the list). */
static void place_all(const pdb_commune_ref *refs, size_t n, int *cell_of)
{
    char taken[GRID_ROWS][GRID_COLS];
    memset(taken, 0, sizeof taken);
    for (size_t i = 0; i < n; i++) {
        double lat, lon, best = INFINITY;
        int bc = 0, br = 0;
        anchor_of(atoi(refs[i].code), &lat, &lon);
        for (int r = 0; r < GRID_ROWS; r++) {
            for (int col = 0; col < GRID_COLS; col++) {
                if (taken[r][col])
                    continue;
                double clat = GRID_LAT0 + (r + 0.5) * CELL_LAT;
                double clon = GRID_LON0 + (col + 0.5) * CELL_LON;
                double dy = (clat - lat) * 110.6;
                double dx = (clon - lon) * 103.5; /* km per degree at 21 N */
                double d = dx * dx + dy * dy;
                if (d < best) {
                    best = d;
                    bc = col;
                    br = r;
                }
            }
        }
        taken[br][bc] = 1;
        cell_of[i] = br * GRID_COLS + bc;
    }
}

void synth_layout_commune(const pdb_commune_ref *refs, size_t n, size_t index, synth_commune *c)
{
    int *cell_of = calloc(n, sizeof *cell_of);
    int code = atoi(refs[index].code);
    int next = (index + 1 < n) ? atoi(refs[index + 1].code) : code + 9;

    if (cell_of == NULL)
        return; /* the caller sees an empty cell and fails */
    /* The provinces beyond Phu Tho have a layout of their own (national.c). */
    if (synth_national_cell(refs[index].code, c->cell) != 0) {
        place_all(refs, n, cell_of);
        int r = cell_of[index] / GRID_COLS, col = cell_of[index] % GRID_COLS;
        c->cell[0] = GRID_LON0 + col * CELL_LON;
        c->cell[1] = GRID_LAT0 + r * CELL_LAT;
        c->cell[2] = c->cell[0] + CELL_LON;
        c->cell[3] = c->cell[1] + CELL_LAT;
    }
    free(cell_of);

    /* Commune codes step by 3; the codes between this one and the next
     * commune's were the communes merged into it in 2025 (up to 4). */
    c->nformers = 0;
    for (int k = code; k < next && c->nformers < SYNTH_MAX_FORMERS; k += 3)
        snprintf(c->formers[c->nformers++], sizeof c->formers[0], "%05d", k % 100000);
    if (c->nformers == 0)
        snprintf(c->formers[c->nformers++], sizeof c->formers[0], "%05d", code % 100000);
    c->urban = strncmp(refs[index].name, "Phường", strlen("Phường")) == 0;
}
