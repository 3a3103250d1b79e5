/*
 * approx.c: a map's transformation through a checked grid (approx.h).
 */
#include "approx.h"

#include <math.h>
#include <string.h>

#define N PDBT_APPROX_N
#define NODES ((N + 1) * (N + 1))

/* Bilinear interpolation at grid coordinates (u, v), 0 <= u, v <= N. */
static inline void interp(const pdbt_approx *a, double u, double v, double *x, double *y)
{
    int i = (int)u, j = (int)v;
    i = i >= N ? N - 1 : i;
    j = j >= N ? N - 1 : j;
    double fu = u - i, fv = v - j;
    int k = j * (N + 1) + i;
    double w00 = (1 - fu) * (1 - fv), w10 = fu * (1 - fv), w01 = (1 - fu) * fv, w11 = fu * fv;
    *x = w00 * a->gx[k] + w10 * a->gx[k + 1] + w01 * a->gx[k + N + 1] + w11 * a->gx[k + N + 2];
    *y = w00 * a->gy[k] + w10 * a->gy[k + 1] + w01 * a->gy[k + N + 1] + w11 * a->gy[k + N + 2];
}

void pdbt__approx_build(pdb_ctx *db, pdbt_approx *a, int from, int to, const double box[4],
                        double tol_x, double tol_y)
{
    memset(a, 0, sizeof *a);
    a->from = from;
    a->to = to;
    a->max_err = INFINITY;
    double w = box[2] - box[0], h = box[3] - box[1];
    if (!(w > 0) || !(h > 0) || !isfinite(w) || !isfinite(h) || !(tol_x > 0) || !(tol_y > 0))
        return;
    a->x0 = box[0];
    a->y0 = box[1];
    a->inv_dx = N / w;
    a->inv_dy = N / h;
    for (int j = 0; j <= N; j++)
        for (int i = 0; i <= N; i++) {
            a->gx[j * (N + 1) + i] = box[0] + w * i / N;
            a->gy[j * (N + 1) + i] = box[1] + h * j / N;
        }
    if (pdb_crs_transform(db, from, to, a->gx, a->gy, NODES) != PDB_OK)
        return;
    /* The check: every cell's middle, exactly and through the grid. */
    double mx[N * N], my[N * N];
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++) {
            mx[j * N + i] = box[0] + w * (i + 0.5) / N;
            my[j * N + i] = box[1] + h * (j + 0.5) / N;
        }
    if (pdb_crs_transform(db, from, to, mx, my, N * N) != PDB_OK)
        return;
    double worst = 0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++) {
            double x, y;
            interp(a, i + 0.5, j + 0.5, &x, &y);
            double e = fmax(fabs(x - mx[j * N + i]) / tol_x, fabs(y - my[j * N + i]) / tol_y);
            worst = e > worst || isnan(e) ? e : worst;
        }
    a->max_err = worst;
    a->ok = worst <= 1;
}

int pdbt__approx_apply(const pdbt_approx *a, double *x, double *y, size_t n)
{
    if (!a->ok)
        return 0;
    for (size_t i = 0; i < n; i++) {
        double u = (x[i] - a->x0) * a->inv_dx, v = (y[i] - a->y0) * a->inv_dy;
        if (!(u >= 0 && u <= N && v >= 0 && v <= N))
            return 0;
    }
    for (size_t i = 0; i < n; i++)
        interp(a, (x[i] - a->x0) * a->inv_dx, (y[i] - a->y0) * a->inv_dy, &x[i], &y[i]);
    return 1;
}
