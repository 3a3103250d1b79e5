/*
 * parcels.c: the parcels of one commune, as a cadastral map draws them.
 *
 * The commune's surveyed area is a grid of blocks separated by road gaps
 * (6-20 m, no parcel). Each block is cut into rows by lines that are nearly
 * east-west (slightly tilted), and each row into cells by nearly north-south
 * cut lines, also tilted, so parcels are irregular quadrilaterals. A block is
 * village (house plots of 150-600 m2 between DGT lanes, gardens, a school or
 * a shrine), rice (fields of 500-3000 m2 between DTL ditches, sometimes a DTL
 * canal through the whole block, sometimes a pond inside a field), forest
 * (lots of 1-6 ha), or a river strip (SON) above rice fields.
 *
 * Neighbouring parcels share their edges exactly: every vertex is created
 * once, in a pool, and rings hold vertex indices; where a cut line of one row
 * meets the boundary line shared with the next row, the vertex is inserted
 * into the rings of all the parcels along that line (no T-junction gaps), as
 * a topologically clean cadastral map has it. Coordinates are rounded to the
 * millimetre, as surveys give them.
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Pools                                                                     */
/* ------------------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static double mm(double v)
{
    return round(v * 1000.0) / 1000.0;
}

int synth_add_vertex(synth_commune *c, double e, double n, uint32_t *idx)
{
    return synth_add_vertex_exact(c, mm(e), mm(n), idx);
}

int synth_add_vertex_exact(synth_commune *c, double e, double n, uint32_t *idx)
{
    size_t cap = c->cap_v;
    if (grow((void **)&c->vx, &cap, c->nv + 1, sizeof *c->vx) != 0)
        return -1;
    cap = c->cap_v;
    if (grow((void **)&c->vy, &cap, c->nv + 1, sizeof *c->vy) != 0)
        return -1;
    c->cap_v = cap;
    c->vx[c->nv] = e;
    c->vy[c->nv] = n;
    *idx = (uint32_t)c->nv++;
    return 0;
}

int synth_add_ring(synth_commune *c, const uint32_t *idx, size_t n, int part, int hole)
{
    if (grow((void **)&c->ring_vertices, &c->cap_rv, c->nrv + n, sizeof *c->ring_vertices) != 0 ||
        grow((void **)&c->rings, &c->cap_rings, c->nrings + 1, sizeof *c->rings) != 0)
        return -1;
    memcpy(c->ring_vertices + c->nrv, idx, n * sizeof *idx);
    c->rings[c->nrings++] =
        (synth_ring){(uint32_t)c->nrv, (uint32_t)n, (uint16_t)part, (uint8_t)(hole != 0)};
    c->nrv += n;
    return 0;
}

double synth_ring_area(const synth_commune *c, const synth_ring *r)
{
    /* Relative to the origin, so that the products keep their precision. */
    const uint32_t *v = c->ring_vertices + r->off;
    double sum = 0.0;
    for (uint32_t i = 0; i < r->n; i++) {
        uint32_t a = v[i], b = v[(i + 1) % r->n];
        double ax = c->vx[a] - c->origin_e, ay = c->vy[a] - c->origin_n;
        double bx = c->vx[b] - c->origin_e, by = c->vy[b] - c->origin_n;
        sum += ax * by - bx * ay;
    }
    return sum / 2.0;
}

double synth_parcel_area(const synth_commune *c, const synth_parcel *p)
{
    double a = 0.0;
    for (uint16_t i = 0; i < p->nrings; i++)
        a += synth_ring_area(c, &c->rings[p->first_ring + i]); /* holes are clockwise: negative */
    return a;
}

static synth_parcel *new_parcel(synth_commune *c)
{
    if (grow((void **)&c->parcels, &c->cap_parcels, c->nparcels + 1, sizeof *c->parcels) != 0)
        return NULL;
    synth_parcel *p = &c->parcels[c->nparcels++];
    memset(p, 0, sizeof *p);
    p->first_ring = (uint32_t)c->nrings;
    return p;
}

void synth_commune_free(synth_commune *c)
{
    free(c->vx);
    free(c->vy);
    free(c->ring_vertices);
    free(c->rings);
    free(c->parcels);
    free(c->truth);
    c->truth = NULL;
    c->vx = c->vy = NULL;
    c->ring_vertices = NULL;
    c->rings = NULL;
    c->parcels = NULL;
}

/* ------------------------------------------------------------------------ */
/* Land use                                                                  */
/* ------------------------------------------------------------------------ */

/* What a cell is for; decides its size and its land-use codes. */
typedef enum cell_class {
    C_HOUSE,       /* a house plot, 150-400 m2 */
    C_HOUSE_LARGE, /* a house plot, 400-600 m2 */
    C_GARDEN,      /* a garden, 600-1500 m2 */
    C_INSTITUTION, /* school, clinic, office, shrine, pagoda: 1000-4000 m2 */
    C_FIELD,       /* a paddy field, 500-3000 m2 */
    C_FOREST,      /* a forest lot, 1-6 ha */
    C_LANE,        /* a village lane (DGT), the whole row */
    C_DITCH,       /* an irrigation ditch (DTL), the whole row */
    C_RIVER,       /* a river (SON), the whole row */
    C_CANAL        /* the canal through a rice block (one parcel for the block) */
} cell_class;

typedef struct weighted_code {
    const char *code; /* land-use code(s) as written */
    double weight;    /* relative frequency */
} weighted_code;

static const weighted_code lu_house[] = {
    {"ONT", 62}, {"ONT+CLN", 22}, {"CLN", 8}, {"TMD", 4}, {"SKC", 2}, {"DSH", 1}, {"TIN", 1},
};
static const weighted_code lu_house_urban[] = {
    {"ODT", 70}, {"ODT+CLN", 14}, {"TMD", 7}, {"CLN", 4}, {"SKC", 2}, {"DCH", 1}, {"DSH", 2},
};
static const weighted_code lu_garden[] = {{"CLN", 70}, {"ONT+CLN", 20}, {"HNK", 10}};
static const weighted_code lu_garden_urban[] = {{"CLN", 70}, {"ODT+CLN", 20}, {"HNK", 10}};
static const weighted_code lu_institution[] = {
    {"DGD", 30}, {"DYT", 10}, {"TSC", 10}, {"DVH", 10},
    {"DSH", 15}, {"TIN", 10}, {"TON", 10}, {"NTD", 5},
};
static const weighted_code lu_field[] = {
    {"LUC", 68}, {"LUK", 17}, {"HNK", 6}, {"NTS", 4},
    {"CLN", 2},  {"BHK", 1},  {"NTD", 1}, {"BCS", 1},
};
static const weighted_code lu_forest[] = {
    {"RSX", 78}, {"RPH", 8}, {"CLN", 6}, {"DCS", 4}, {"RSN", 2}, {"NTD", 2},
};

static const char *pick_code(synth_rng *r, const weighted_code *w, size_t n)
{
    double weights[16];
    for (size_t i = 0; i < n; i++)
        weights[i] = w[i].weight;
    return w[synth_weighted(r, weights, n)].code;
}
#define PICK(r, table) pick_code((r), (table), sizeof(table) / sizeof((table)[0]))

static const char *landuse_for(synth_rng *r, cell_class cls, int urban)
{
    switch (cls) {
    case C_HOUSE:
    case C_HOUSE_LARGE:
        return urban ? PICK(r, lu_house_urban) : PICK(r, lu_house);
    case C_GARDEN:
        return urban ? PICK(r, lu_garden_urban) : PICK(r, lu_garden);
    case C_INSTITUTION:
        return PICK(r, lu_institution);
    case C_FIELD:
        return PICK(r, lu_field);
    case C_FOREST:
        return PICK(r, lu_forest);
    case C_LANE:
        return "DGT";
    case C_DITCH:
        return "DTL";
    case C_RIVER:
        return "SON";
    case C_CANAL:
        return "DTL";
    }
    return "BCS";
}

/* ------------------------------------------------------------------------ */
/* Rows and cuts of one block                                                */
/* ------------------------------------------------------------------------ */

typedef enum row_kind { ROW_PLOT, ROW_LANE, ROW_FIELD, ROW_DITCH, ROW_FOREST, ROW_RIVER } row_kind;

typedef struct cut {
    double xb;   /* x on the row's lower line (metres from the cluster's west edge) */
    double xt;   /* x on the row's upper line */
    uint8_t cls; /* cell_class of the cell to the right of this cut */
} cut;

typedef struct brow {
    row_kind kind; /* what the row holds */
    double h;      /* nominal height, metres */
    cut *cuts;     /* sorted west to east; first and last are the block edges */
    size_t n, cap; /* cuts used, allocated */
} brow;

typedef struct lpoint {
    double x;   /* position along the line */
    uint32_t v; /* vertex index */
} lpoint;

typedef struct bline {
    double yc;   /* y at the block's middle x (metres, negative southwards) */
    double s;    /* slope dy/dx */
    lpoint *pts; /* vertices on this line, sorted by x */
    size_t n, cap;
} bline;

typedef struct block {
    double x0, x1, y0, y1; /* west, east, south, north edges (relative metres) */
    double xm;             /* middle x, where lines are anchored */
    synth_zone zone;       /* what kind of block */
    int former;            /* former commune index */
    int hamlet;            /* village number, 1-based */
    int has_canal;         /* 1 when a canal crosses the block north-south */
    double cl, cr;         /* canal west and east edges */
    brow *rows;            /* north to south */
    size_t nrows, caprows;
    bline *lines; /* nrows + 1 lines, north to south */
} block;

static double line_y(const bline *l, const block *b, double x)
{
    return l->yc + l->s * (x - b->xm);
}

static int is_thin(row_kind k)
{
    return k == ROW_LANE || k == ROW_DITCH || k == ROW_RIVER;
}

/* Height range of a row kind, metres. */
static void row_height_range(row_kind k, double *lo, double *hi)
{
    switch (k) {
    case ROW_PLOT:
        *lo = 16;
        *hi = 30;
        break;
    case ROW_LANE:
        *lo = 3;
        *hi = 5;
        break;
    case ROW_FIELD:
        *lo = 25;
        *hi = 55;
        break;
    case ROW_DITCH:
        *lo = 2;
        *hi = 3;
        break;
    case ROW_FOREST:
        *lo = 70;
        *hi = 160;
        break;
    case ROW_RIVER:
        *lo = 40;
        *hi = 80;
        break;
    }
}

static int push_cut(brow *row, double xb, double xt, int cls)
{
    if (grow((void **)&row->cuts, &row->cap, row->n + 1, sizeof *row->cuts) != 0)
        return -1;
    row->cuts[row->n++] = (cut){xb, xt, (uint8_t)cls};
    return 0;
}

/* Draws the class and target area of the next cell of a row. */
static int next_cell(synth_rng *r, row_kind kind, double *area)
{
    double u = synth_unif(r);
    switch (kind) {
    case ROW_PLOT:
        if (u < 0.70) {
            *area = synth_range(r, 150, 400);
            return C_HOUSE;
        }
        if (u < 0.90) {
            *area = synth_range(r, 400, 600);
            return C_HOUSE_LARGE;
        }
        if (u < 0.96) {
            *area = synth_range(r, 600, 1500);
            return C_GARDEN;
        }
        *area = synth_range(r, 1000, 4000);
        return C_INSTITUTION;
    case ROW_FIELD:
        *area = 500 + 2500 * pow(synth_unif(r), 1.6);
        return C_FIELD;
    case ROW_FOREST:
        *area = synth_range(r, 10000, 60000);
        return C_FOREST;
    case ROW_LANE:
        *area = INFINITY;
        return C_LANE;
    case ROW_DITCH:
        *area = INFINITY;
        return C_DITCH;
    case ROW_RIVER:
        *area = INFINITY;
        return C_RIVER;
    }
    *area = INFINITY;
    return C_FIELD;
}

/* Nearest x among the previous row's lower cut positions (sorted). */
static double nearest_prev(const brow *prev, double x)
{
    double best = INFINITY;
    if (prev == NULL)
        return best;
    size_t lo = 0, hi = prev->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (prev->cuts[mid].xb < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < prev->n)
        best = prev->cuts[lo].xb;
    if (lo > 0 && fabs(prev->cuts[lo - 1].xb - x) < fabs(best - x))
        best = prev->cuts[lo - 1].xb;
    return best;
}

/* Cuts one segment [sa, sb] of a row (both lines cross the segment ends at
 * the same x: block edges and canal edges are vertical). */
static int cut_segment(synth_rng *r, brow *row, const brow *prev, double sa, double sb)
{
    double pb = sa, pt = sa;
    double area;
    int cls = next_cell(r, row->kind, &area);

    for (;;) {
        double w = area / row->h;
        /* Frontages: a house 5-30 m, a garden up to 60 m, a school up to 80 m. */
        double wmax = cls == C_HOUSE || cls == C_HOUSE_LARGE ? 30.0
                      : cls == C_GARDEN                      ? 60.0
                      : cls == C_INSTITUTION                 ? 80.0
                                                             : INFINITY;
        if (w > wmax)
            w = wmax;
        if (w < 5.0)
            w = 5.0;
        if (sb - pb < 1.6 * w || sb - pt < 1.6 * w) {
            /* The rest of the segment is the last cell, or the last two
             * when it is much wider than the cell drawn. */
            row->cuts[row->n - 1].cls = (uint8_t)cls;
            if (fmin(sb - pb, sb - pt) > 1.25 * w && fmin(sb - pb, sb - pt) >= 8.0) {
                if (push_cut(row, pb + (sb - pb) / 2.0, pt + (sb - pt) / 2.0, cls) != 0)
                    return -1;
            }
            return push_cut(row, sb, sb, cls);
        }
        double j = fmin(2.0, 0.15 * w);
        double nb = pb + w + synth_range(r, -j, j);
        double nt = pt + w + synth_range(r, -j, j);
        /* Meet a cut of the row above where one is close: boundaries
         * continue across a line more often than not on real maps. */
        double near = nearest_prev(prev, nt);
        if (fabs(near - nt) < 0.6 && near - pt >= 3.0 && sb - near >= 3.0)
            nt = near;
        if (nb - pb < 3.0)
            nb = pb + 3.0;
        if (nt - pt < 3.0)
            nt = pt + 3.0;
        row->cuts[row->n - 1].cls = (uint8_t)cls;
        if (push_cut(row, nb, nt, cls) != 0)
            return -1;
        pb = nb;
        pt = nt;
        cls = next_cell(r, row->kind, &area);
    }
}

static int cut_row(synth_rng *r, block *b, brow *row, const brow *prev)
{
    row->n = 0;
    if (push_cut(row, b->x0, b->x0, C_FIELD) != 0)
        return -1;
    if (b->has_canal) {
        if (cut_segment(r, row, prev, b->x0, b->cl) != 0)
            return -1;
        row->cuts[row->n - 1].cls = C_CANAL;
        if (push_cut(row, b->cr, b->cr, C_FIELD) != 0)
            return -1;
        return cut_segment(r, row, prev, b->cr, b->x1);
    }
    return cut_segment(r, row, prev, b->x0, b->x1);
}

/* Lays out the rows of a block (north to south) and their boundary lines. */
static int plan_rows(synth_rng *r, block *b)
{
    double height = b->y1 - b->y0, remaining = height, y = b->y1;
    double min_normal, hi;
    row_kind normal = (b->zone == ZONE_VILLAGE)  ? ROW_PLOT
                      : (b->zone == ZONE_FOREST) ? ROW_FOREST
                                                 : ROW_FIELD;
    int step = 0, fields_in_cycle = 3 + (int)synth_below(r, 3);

    row_height_range(normal, &min_normal, &hi);
    double hi_normal = hi;
    b->nrows = 0;
    while (remaining > 0.0) {
        row_kind kind = normal;
        if (b->zone == ZONE_RIVER && b->nrows == 0)
            kind = ROW_RIVER;
        else if (b->zone == ZONE_VILLAGE && step % 3 == 2)
            kind = ROW_LANE;
        else if ((b->zone == ZONE_RICE || b->zone == ZONE_RIVER) && step == fields_in_cycle)
            kind = ROW_DITCH;
        double lo, h;
        row_height_range(kind, &lo, &hi);
        h = synth_range(r, lo, hi);
        if (remaining - h < min_normal) {
            /* The last row is always a normal one, taking what is left (or
             * half of it, when that is more than a row's height). */
            kind = normal;
            h = (remaining > hi_normal) ? remaining / 2.0 : remaining;
        }
        if (grow((void **)&b->rows, &b->caprows, b->nrows + 1, sizeof *b->rows) != 0)
            return -1;
        brow *row = &b->rows[b->nrows++];
        row->kind = kind;
        row->h = h;
        row->cuts = NULL;
        row->n = row->cap = 0;
        remaining -= h;
        y -= h;
        if (kind == ROW_RIVER)
            continue;
        step++;
        if (kind == ROW_DITCH) {
            step = 0;
            fields_in_cycle = 3 + (int)synth_below(r, 3);
        }
    }
    /* Lines: the block's north and south edges are straight east-west; the
     * lines between rows tilt a little, except the lower line of a thin row
     * (lane, ditch, river), which stays parallel to its upper line so that
     * the row keeps its width. */
    b->lines = calloc(b->nrows + 1, sizeof *b->lines);
    if (b->lines == NULL)
        return -1;
    b->lines[0].yc = b->y1;
    y = b->y1;
    double half = (b->x1 - b->x0) / 2.0;
    for (size_t k = 0; k < b->nrows; k++) {
        const bline *up = &b->lines[k];
        bline *lo = &b->lines[k + 1];
        y -= b->rows[k].h;
        lo->yc = y;
        if (k + 1 == b->nrows)
            lo->s = 0.0;
        else if (is_thin(b->rows[k].kind))
            lo->s = up->s;
        else
            lo->s = synth_range(r, -0.012, 0.012);
        if (fabs(lo->s - up->s) * half > 0.3 * b->rows[k].h)
            lo->s = up->s;
    }
    return 0;
}

static int line_add(bline *l, double x)
{
    if (grow((void **)&l->pts, &l->cap, l->n + 1, sizeof *l->pts) != 0)
        return -1;
    l->pts[l->n++] = (lpoint){x, 0};
    return 0;
}

static int lpoint_cmp(const void *a, const void *b)
{
    double x = ((const lpoint *)a)->x, y = ((const lpoint *)b)->x;
    return (x > y) - (x < y);
}

/* Collects every cut end on every line, and makes one vertex per distinct
 * position: that is what makes neighbours share their vertices. */
static int make_line_vertices(synth_commune *c, block *b)
{
    for (size_t k = 0; k <= b->nrows; k++) {
        bline *l = &b->lines[k];
        if (k > 0)
            for (size_t i = 0; i < b->rows[k - 1].n; i++)
                if (line_add(l, b->rows[k - 1].cuts[i].xb) != 0)
                    return -1;
        if (k < b->nrows)
            for (size_t i = 0; i < b->rows[k].n; i++)
                if (line_add(l, b->rows[k].cuts[i].xt) != 0)
                    return -1;
        qsort(l->pts, l->n, sizeof *l->pts, lpoint_cmp);
        size_t m = 0;
        for (size_t i = 0; i < l->n; i++)
            if (m == 0 || l->pts[i].x != l->pts[m - 1].x)
                l->pts[m++] = l->pts[i];
        l->n = m;
        for (size_t i = 0; i < l->n; i++) {
            double x = l->pts[i].x;
            if (synth_add_vertex(c, c->origin_e + x, c->origin_n + line_y(l, b, x), &l->pts[i].v) !=
                0)
                return -1;
        }
    }
    return 0;
}

static size_t line_find(const bline *l, double x)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->pts[mid].x < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo; /* exact: every cut end is on its line */
}

/* The ring of cell i of row k (counter-clockwise), into idx. */
static size_t cell_ring(const block *b, size_t k, size_t i, uint32_t *idx, size_t cap)
{
    const bline *up = &b->lines[k], *lo = &b->lines[k + 1];
    const cut *ca = &b->rows[k].cuts[i], *cb = &b->rows[k].cuts[i + 1];
    size_t n = 0;
    size_t l0 = line_find(lo, ca->xb), l1 = line_find(lo, cb->xb);
    size_t u0 = line_find(up, ca->xt), u1 = line_find(up, cb->xt);

    for (size_t j = l0; j <= l1 && n < cap; j++)
        idx[n++] = lo->pts[j].v;
    for (size_t j = u1 + 1; j-- > u0 && n < cap;)
        idx[n++] = up->pts[j].v;
    return n;
}

/* ------------------------------------------------------------------------ */
/* The commune                                                               */
/* ------------------------------------------------------------------------ */

typedef struct numbering {
    int sheet[SYNTH_MAX_FORMERS];       /* current sheet per former commune */
    size_t in_sheet[SYNTH_MAX_FORMERS]; /* parcels in it so far */
    size_t target[SYNTH_MAX_FORMERS];   /* when to start the next one */
} numbering;

/* Folds each former commune's last sheet into the one before when it is
 * small (the commune's last block, cut short by the parcel count), then
 * counts sheets and their sizes. */
static int finish_sheets(synth_commune *c, const numbering *nb)
{
    for (int f = 0; f < c->nformers; f++) {
        int last = nb->sheet[f];
        if (last < 2 || nb->in_sheet[f] >= 60)
            continue;
        int32_t prev_max = 0;
        for (size_t i = 0; i < c->nparcels; i++)
            if (c->parcels[i].former == f && c->parcels[i].sheet == last - 1 &&
                c->parcels[i].number > prev_max)
                prev_max = c->parcels[i].number;
        for (size_t i = 0; i < c->nparcels; i++) {
            synth_parcel *p = &c->parcels[i];
            if (p->former == f && p->sheet == last) {
                p->sheet = last - 1;
                p->number += prev_max;
            }
        }
    }
    size_t total = 0;
    for (int f = 0; f < c->nformers; f++)
        total += (size_t)nb->sheet[f] + 1;
    size_t *count = calloc(total, sizeof *count), base = 0;
    if (count == NULL)
        return -1;
    c->nsheets = 0;
    c->sheet_min = c->sheet_max = 0;
    for (int f = 0; f < c->nformers; f++) {
        for (size_t i = 0; i < c->nparcels; i++)
            if (c->parcels[i].former == f)
                count[base + (size_t)c->parcels[i].sheet]++;
        for (int sh = 1; sh <= nb->sheet[f]; sh++) {
            size_t n = count[base + (size_t)sh];
            if (n == 0)
                continue;
            c->nsheets++;
            if (c->sheet_min == 0 || n < c->sheet_min)
                c->sheet_min = n;
            if (n > c->sheet_max)
                c->sheet_max = n;
        }
        base += (size_t)nb->sheet[f] + 1;
    }
    free(count);
    return 0;
}

/* Numbers the parcels [first, c->nparcels) of one block: sheets of about
 * 100-400 parcels made of whole blocks, parcels 1..N in each sheet. */
static void number_block(synth_commune *c, synth_rng *r, numbering *nb, int former, size_t first)
{
    size_t count = c->nparcels - first;
    if (count == 0)
        return;
    size_t *in = &nb->in_sheet[former];
    if (nb->sheet[former] == 0 || (*in >= 100 && *in + count > 400) || *in >= nb->target[former]) {
        nb->sheet[former]++;
        *in = 0;
        nb->target[former] = 150 + synth_below(r, 231);
    }
    for (size_t i = first; i < c->nparcels; i++) {
        c->parcels[i].former = (uint8_t)former;
        c->parcels[i].sheet = nb->sheet[former];
        c->parcels[i].number = (int32_t)(++*in);
    }
}

/* Builds the parcels of a block, up to `limit` parcels in the commune. */
static int build_block(synth_commune *c, synth_rng *r, block *b, size_t limit)
{
    uint32_t idx[4096];
    size_t reserve = b->has_canal ? 1 : 0;
    size_t rows_built = 0;
    int done = 0;

    for (size_t k = 0; k < b->nrows && !done; k++) {
        const brow *row = &b->rows[k];
        synth_parcel *left_of_canal = NULL;
        for (size_t i = 0; i + 1 < row->n; i++) {
            int cls = row->cuts[i].cls;
            if (cls == C_CANAL)
                continue; /* part of the canal parcel, made below */
            size_t n = cell_ring(b, k, i, idx, sizeof idx / sizeof idx[0]);
            /* A field just east of the canal sometimes belongs to the same
             * owner as the one just west of it: one parcel in two parts. */
            if (left_of_canal != NULL && row->cuts[i].xb == b->cr && cls == C_FIELD &&
                c->nrings == left_of_canal->first_ring + left_of_canal->nrings &&
                synth_chance(r, 0.25)) {
                if (synth_add_ring(c, idx, n, 1, 0) != 0)
                    return -1;
                left_of_canal->nrings++;
                left_of_canal->nparts = 2;
                left_of_canal->area_m2 = synth_parcel_area(c, left_of_canal);
                c->multipolygons++;
                left_of_canal = NULL;
                continue;
            }
            if (c->nparcels + reserve >= limit) {
                done = 1;
                break;
            }
            synth_parcel *p = new_parcel(c);
            if (p == NULL || synth_add_ring(c, idx, n, 0, 0) != 0)
                return -1;
            p->nrings = 1;
            p->nparts = 1;
            p->zone = (uint8_t)b->zone;
            p->hamlet = (uint8_t)b->hamlet;
            snprintf(p->landuse, sizeof p->landuse, "%s",
                     landuse_for(r, (cell_class)cls, c->urban));
            p->area_m2 = synth_parcel_area(c, p);
            if (b->has_canal && i + 1 < row->n && row->cuts[i + 1].xb == b->cl && cls == C_FIELD) {
                left_of_canal = p;
                continue;
            }
            /* A pond inside a field: a hole, usually filled by its own
             * aquaculture parcel (an island), sometimes left unsurveyed. */
            if (cls == C_FIELD && p->area_m2 >= 1200 && synth_chance(r, 0.05)) {
                const cut *ca = &row->cuts[i], *cb = &row->cuts[i + 1];
                const bline *up = &b->lines[k], *lo = &b->lines[k + 1];
                double xa = fmax(ca->xb, ca->xt) + 4, xb = fmin(cb->xb, cb->xt) - 4;
                double ya = fmax(line_y(lo, b, xa), line_y(lo, b, xb)) + 4;
                double yb = fmin(line_y(up, b, xa), line_y(up, b, xb)) - 4;
                if (xb - xa >= 12 && yb - ya >= 12) {
                    double pw = (xb - xa) * synth_range(r, 0.35, 0.7);
                    double ph = (yb - ya) * synth_range(r, 0.35, 0.7);
                    double px = xa + synth_range(r, 0, xb - xa - pw);
                    double py = ya + synth_range(r, 0, yb - ya - ph);
                    double jx = 0.15 * pw, jy = 0.15 * ph;
                    double cx[4] = {px + synth_range(r, 0, jx), px + synth_range(r, 0, jx),
                                    px + pw - synth_range(r, 0, jx),
                                    px + pw - synth_range(r, 0, jx)};
                    double cy[4] = {py + synth_range(r, 0, jy), py + ph - synth_range(r, 0, jy),
                                    py + ph - synth_range(r, 0, jy), py + synth_range(r, 0, jy)};
                    uint32_t hv[4], iv[4];
                    for (int q = 0; q < 4; q++)
                        if (synth_add_vertex(c, c->origin_e + cx[q], c->origin_n + cy[q], &hv[q]) !=
                            0)
                            return -1;
                    /* hv goes up the west side first: clockwise, as a hole. */
                    if (synth_add_ring(c, hv, 4, 0, 1) != 0)
                        return -1;
                    p->nrings = 2;
                    p->area_m2 = synth_parcel_area(c, p);
                    c->with_holes++;
                    if (synth_chance(r, 0.67) && c->nparcels + reserve < limit) {
                        synth_parcel *isl = new_parcel(c);
                        if (isl == NULL)
                            return -1;
                        p = &c->parcels[c->nparcels - 2]; /* new_parcel may have moved it */
                        for (int q = 0; q < 4; q++)
                            iv[q] = hv[3 - q];
                        if (synth_add_ring(c, iv, 4, 0, 0) != 0)
                            return -1;
                        isl->nrings = 1;
                        isl->nparts = 1;
                        isl->zone = (uint8_t)b->zone;
                        isl->hamlet = (uint8_t)b->hamlet;
                        snprintf(isl->landuse, sizeof isl->landuse, "NTS");
                        isl->area_m2 = synth_parcel_area(c, isl);
                        c->islands++;
                    }
                }
            }
        }
        rows_built = k + 1;
    }
    if (b->has_canal && rows_built > 0 && c->nparcels < limit) {
        /* The canal: one parcel from the block's north edge down to the last
         * row built, through every line's vertex on its two edges. */
        size_t n = 0;
        size_t last = rows_built;
        idx[n++] = b->lines[last].pts[line_find(&b->lines[last], b->cl)].v;
        for (size_t k = last + 1; k-- > 0;)
            idx[n++] = b->lines[k].pts[line_find(&b->lines[k], b->cr)].v;
        for (size_t k = 0; k < last; k++)
            idx[n++] = b->lines[k].pts[line_find(&b->lines[k], b->cl)].v;
        synth_parcel *p = new_parcel(c);
        if (p == NULL || synth_add_ring(c, idx, n, 0, 0) != 0)
            return -1;
        p->nrings = 1;
        p->nparts = 1;
        p->zone = (uint8_t)b->zone;
        p->hamlet = (uint8_t)b->hamlet;
        snprintf(p->landuse, sizeof p->landuse, "DTL");
        p->area_m2 = synth_parcel_area(c, p);
    }
    return 0;
}

static void block_free(block *b)
{
    for (size_t k = 0; k < b->nrows; k++)
        free(b->rows[k].cuts);
    if (b->lines)
        for (size_t k = 0; k <= b->nrows; k++)
            free(b->lines[k].pts);
    free(b->rows);
    free(b->lines);
    memset(b, 0, sizeof *b);
}

/* Expected parcels per block of each zone (measured on generated blocks). */
static const double parcels_per_block[] = {
    [ZONE_VILLAGE] = 175,
    [ZONE_RICE] = 50,
    [ZONE_FOREST] = 4,
    [ZONE_RIVER] = 40,
};

typedef struct zone_plan {
    double forest_share, village_share; /* of blocks */
    int forest_west;                    /* 1: hills in the west; 0: in the north */
    size_t cols, rows_expected;         /* block grid */
    double forest_thr, village_thr;     /* score thresholds */
    double hx[16], hy[16];              /* hamlet centres, in block units */
    int nh;                             /* hamlets */
    int river_row;                      /* grid row with a river, -1 for none */
} zone_plan;

static double noise(uint64_t seed, const char *code, size_t gc, size_t gr, const char *what)
{
    synth_rng r;
    synth_rng_init(&r, seed ^ synth_hash(what), code, gr * 1000 + gc);
    return synth_unif(&r);
}

static double forest_score(const zone_plan *z, uint64_t seed, const char *code, size_t gc,
                           size_t gr)
{
    double base = z->forest_west ? 1.0 - (gc + 0.5) / (double)z->cols
                                 : 1.0 - (gr + 0.5) / (double)z->rows_expected;
    return base + 0.35 * noise(seed, code, gc, gr, "forest");
}

static double village_score(const zone_plan *z, uint64_t seed, const char *code, size_t gc,
                            size_t gr, int *hamlet)
{
    double best = 0.0, bestd = INFINITY;
    for (int h = 0; h < z->nh; h++) {
        double dx = gc + 0.5 - z->hx[h], dy = gr + 0.5 - z->hy[h];
        double d2 = dx * dx + dy * dy;
        double s = exp(-d2 / 2.0);
        if (s > best)
            best = s;
        if (d2 < bestd) {
            bestd = d2;
            *hamlet = h + 1;
        }
    }
    return best + 0.3 * noise(seed, code, gc, gr, "village");
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void plan_zones(const synth_options *o, synth_commune *c, synth_rng *r, zone_plan *z)
{
    const char *prov = c->ref->former_province;
    double e;
    int dummy;

    if (c->urban) {
        z->forest_share = 0.05;
        z->village_share = 0.65;
    } else if (strcmp(prov, "Hoa Binh") == 0) {
        z->forest_share = 0.30;
        z->village_share = 0.25;
    } else if (strcmp(prov, "Phu Tho") == 0) {
        z->forest_share = 0.15;
        z->village_share = 0.30;
    } else {
        z->forest_share = 0.08;
        z->village_share = 0.30;
    }
    z->forest_west = strcmp(prov, "Vinh Phuc") != 0; /* Tam Dao's hills are north */
    e = z->forest_share * parcels_per_block[ZONE_FOREST] +
        z->village_share * parcels_per_block[ZONE_VILLAGE] +
        (1.0 - z->forest_share - z->village_share) * parcels_per_block[ZONE_RICE];
    double blocks = ceil((double)o->parcels_per_commune / e);
    z->cols = (size_t)ceil(sqrt(blocks * 1.2));
    if (z->cols < 2)
        z->cols = 2;
    z->rows_expected = (size_t)ceil(blocks / (double)z->cols);
    if (z->rows_expected < 1)
        z->rows_expected = 1;
    z->nh = 2 + (int)(blocks / 8.0);
    if (z->nh > 16)
        z->nh = 16;
    for (int h = 0; h < z->nh; h++) {
        z->hx[h] = synth_range(r, 0, (double)z->cols);
        z->hy[h] = synth_range(r, 0, (double)z->rows_expected);
    }
    /* Thresholds so that the expected grid has the planned shares. */
    size_t nb = z->cols * z->rows_expected, nv = 0;
    double *fs = calloc(nb, sizeof *fs), *vs = calloc(nb, sizeof *vs);
    if (fs == NULL || vs == NULL) {
        free(fs);
        free(vs);
        z->forest_thr = z->village_thr = INFINITY;
        return;
    }
    for (size_t gr = 0; gr < z->rows_expected; gr++)
        for (size_t gc = 0; gc < z->cols; gc++)
            fs[gr * z->cols + gc] = forest_score(z, o->seed, c->ref->code, gc, gr);
    qsort(fs, nb, sizeof *fs, dbl_cmp);
    size_t nf = (size_t)llround(z->forest_share * (double)nb);
    z->forest_thr = (nf == 0) ? INFINITY : fs[nb - nf];
    for (size_t gr = 0; gr < z->rows_expected; gr++)
        for (size_t gc = 0; gc < z->cols; gc++)
            if (forest_score(z, o->seed, c->ref->code, gc, gr) < z->forest_thr)
                vs[nv++] = village_score(z, o->seed, c->ref->code, gc, gr, &dummy);
    qsort(vs, nv, sizeof *vs, dbl_cmp);
    size_t nvil = (size_t)llround(z->village_share * (double)nb);
    if (nvil > nv)
        nvil = nv;
    z->village_thr = (nvil == 0) ? INFINITY : vs[nv - nvil];
    free(fs);
    free(vs);
    z->river_row = (z->rows_expected >= 3 && synth_chance(r, 0.5))
                       ? 1 + (int)synth_below(r, z->rows_expected - 2)
                       : -1;
}

static synth_zone zone_of(const zone_plan *z, const synth_options *o, const synth_commune *c,
                          size_t gc, size_t gr, int *hamlet)
{
    double v = village_score(z, o->seed, c->ref->code, gc, gr, hamlet);
    if (forest_score(z, o->seed, c->ref->code, gc, gr) >= z->forest_thr)
        return ZONE_FOREST;
    if ((int)gr == z->river_row)
        return ZONE_RIVER;
    return v >= z->village_thr ? ZONE_VILLAGE : ZONE_RICE;
}

/* Transforms the cluster's corners to WGS 84 and checks they are inside
 * the commune's cell. */
static int fits_cell(pdb_ctx *ctx, const synth_commune *c, double w, double h, char *err,
                     size_t errlen)
{
    double x[4] = {c->origin_e, c->origin_e + w, c->origin_e, c->origin_e + w};
    double y[4] = {c->origin_n, c->origin_n, c->origin_n - h, c->origin_n - h};
    if (pdb_crs_transform(ctx, c->epsg, PDB_EPSG_WGS84, x, y, 4) != PDB_OK) {
        snprintf(err, errlen, "commune %s: %s", c->ref->code, pdb_errmsg(ctx));
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        if (x[i] < c->cell[0] || x[i] > c->cell[2] || y[i] < c->cell[1] || y[i] > c->cell[3]) {
            snprintf(err, errlen,
                     "commune %s: %zu parcels need %.1f x %.1f km, more than the commune's "
                     "place in the province (about 7 x 7 km); use fewer --parcels-per-commune",
                     c->ref->code, c->nparcels, w / 1000.0, h / 1000.0);
            return 0;
        }
    }
    return 1;
}

int synth_parcels_generate(pdb_ctx *ctx, const synth_options *o, synth_commune *c, char *err,
                           size_t errlen)
{
    synth_rng r, rz;
    zone_plan z;
    numbering nb;
    double colx[512], colend[512];
    size_t limit = o->parcels_per_commune;

    memset(&z, 0, sizeof z);
    memset(&nb, 0, sizeof nb);
    synth_rng_init(&r, o->seed, c->ref->code, 1);
    synth_rng_init(&rz, o->seed, c->ref->code, 2);
    plan_zones(o, c, &rz, &z);
    if (z.cols + 1 > sizeof colx / sizeof colx[0]) {
        snprintf(err, errlen, "--parcels-per-commune %zu is too large", limit);
        return -1;
    }
    /* Column edges (west edge of each block column), with road gaps. */
    double x = 0.0;
    for (size_t gc = 0; gc < z.cols; gc++) {
        colx[gc] = x;
        x += synth_range(&rz, 200, 320);
        colend[gc] = x;
        x += (gc % 3 == 2) ? synth_range(&rz, 14, 20) : synth_range(&rz, 6, 12);
    }
    colx[z.cols] = x;
    double width = colend[z.cols - 1], expected_h = (double)z.rows_expected * 220.0;

    /* The cluster sits in the middle of the commune's cell, in TM-3. */
    double cx = (c->cell[0] + c->cell[2]) / 2.0, cy = (c->cell[1] + c->cell[3]) / 2.0;
    if (pdb_crs_transform(ctx, PDB_EPSG_WGS84, c->epsg, &cx, &cy, 1) != PDB_OK) {
        snprintf(err, errlen, "commune %s: %s", c->ref->code, pdb_errmsg(ctx));
        return -1;
    }
    c->origin_e = round(cx - width / 2.0);
    c->origin_n = round(cy + expected_h / 2.0);

    double y = 0.0; /* north edge of the current block row; negative southwards */
    for (size_t gr = 0; c->nparcels < limit; gr++) {
        double bh = synth_range(&rz, 160, 260);
        int former = (int)((gr * (size_t)c->nformers) / z.rows_expected);
        if (former >= c->nformers)
            former = c->nformers - 1;
        for (size_t gc = 0; gc < z.cols && c->nparcels < limit; gc++) {
            block b;
            memset(&b, 0, sizeof b);
            b.x0 = colx[gc];
            b.x1 = colend[gc];
            b.y1 = y;
            b.y0 = y - bh;
            b.xm = (b.x0 + b.x1) / 2.0;
            b.zone = zone_of(&z, o, c, gc, gr, &b.hamlet);
            b.former = former;
            if (b.zone == ZONE_RICE && b.x1 - b.x0 >= 180 && synth_chance(&r, 0.35)) {
                b.has_canal = 1;
                b.cl = b.x0 + (b.x1 - b.x0) * synth_range(&r, 0.3, 0.7);
                b.cr = b.cl + synth_range(&r, 3, 6);
            }
            size_t first = c->nparcels;
            int rc = plan_rows(&r, &b);
            for (size_t k = 0; rc == 0 && k < b.nrows; k++)
                rc = cut_row(&r, &b, &b.rows[k], k > 0 ? &b.rows[k - 1] : NULL);
            if (rc == 0)
                rc = make_line_vertices(c, &b);
            if (rc == 0)
                rc = build_block(c, &r, &b, limit);
            block_free(&b);
            if (rc != 0) {
                snprintf(err, errlen, "out of memory generating commune %s", c->ref->code);
                return -1;
            }
            number_block(c, &r, &nb, former, first);
        }
        y -= bh + ((gr % 3 == 2) ? synth_range(&rz, 14, 20) : synth_range(&rz, 6, 12));
        c->width_m = width;
        c->height_m = -y;
        if (gr > 10000)
            break;
    }
    if (finish_sheets(c, &nb) != 0) {
        snprintf(err, errlen, "out of memory numbering commune %s", c->ref->code);
        return -1;
    }
    /* The grid grew as far south as the parcels needed: move the cluster by
     * whole metres to the middle of the cell again (vertices stay shared:
     * they are moved once each, in the pool). */
    double shift = round(cy - (c->origin_n - c->height_m / 2.0));
    if (shift != 0.0) {
        for (size_t i = 0; i < c->nv; i++)
            c->vy[i] = mm(c->vy[i] + shift);
        c->origin_n += shift;
    }
    if (!fits_cell(ctx, c, c->width_m, c->height_m, err, errlen))
        return -1;

    if (o->curve_spacing > 0) {
        if (synth_curve_edges(c, o->curve_spacing) != 0) {
            snprintf(err, errlen, "out of memory curving commune %s", c->ref->code);
            return -1;
        }
        for (size_t i = 0; i < c->nparcels; i++)
            c->parcels[i].area_m2 = synth_parcel_area(c, &c->parcels[i]);
    }
    /* Surveyed areas: the computed area within survey noise (0.2%), to 0.1 m2. */
    for (size_t i = 0; i < c->nparcels; i++) {
        synth_parcel *p = &c->parcels[i];
        p->surveyed_m2 = round(p->area_m2 * (1.0 + synth_range(&r, -0.002, 0.002)) * 10.0) / 10.0;
    }
    return 0;
}
