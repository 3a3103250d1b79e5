/*
 * progress.c: a progress bar on a terminal (records/s, ETA), plain log
 * lines otherwise.
 */
#include "imp.h"

#include <string.h>
#include <time.h>

/* A log line every this many seconds when the output is not a terminal. */
#define LOG_INTERVAL_S 10.0
/* The bar is redrawn at most this often. */
#define BAR_INTERVAL_S 0.1

double pdbi__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void pdbi__progress_start(pdbi_meter *p, FILE *out, pdbi_progress mode, const char *label,
                          int64_t total)
{
    memset(p, 0, sizeof *p);
    p->out = mode == PDBI_PROGRESS_NONE ? NULL : out;
    p->mode = mode;
    p->label = label;
    p->total = total;
    p->t0 = p->last = pdbi__now();
}

/* "1:05" or "1:02:05". */
static void fmt_duration(double s, char *buf, size_t len)
{
    if (s < 0 || s > 1e7) {
        snprintf(buf, len, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void draw(pdbi_meter *p, int64_t done, double now)
{
    double elapsed = now - p->t0;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    char eta[32];
    const char *name = strrchr(p->label, '/');
    name = name ? name + 1 : p->label;

    if (p->total > 0 && rate > 0)
        fmt_duration((double)(p->total - done) / rate, eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, "--:--");
    if (p->mode == PDBI_PROGRESS_BAR) {
        char bar[31];
        int width = 30;
        int fill = p->total > 0 ? (int)((double)done * width / (double)p->total) : 0;
        if (fill > width)
            fill = width;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(width - fill));
        bar[width] = '\0';
        fprintf(p->out, "\r%-24.24s [%s] %3d%% %9lld/%-9lld %7.0f rec/s  ETA %s \x1b[K", name, bar,
                p->total > 0 ? (int)(100.0 * (double)done / (double)p->total) : 0, (long long)done,
                (long long)p->total, rate, eta);
        p->drawn = 1;
    } else {
        fprintf(p->out, "%s: %lld of %lld records, %.0f rec/s, ETA %s\n", p->label, (long long)done,
                (long long)p->total, rate, eta);
    }
    fflush(p->out);
}

void pdbi__progress_update(pdbi_meter *p, int64_t done)
{
    if (p->out == NULL)
        return;
    double now = pdbi__now();
    double every = p->mode == PDBI_PROGRESS_BAR ? BAR_INTERVAL_S : LOG_INTERVAL_S;
    if (now - p->last < every)
        return;
    p->last = now;
    draw(p, done, now);
}

void pdbi__progress_end(pdbi_meter *p, int64_t done)
{
    if (p->out == NULL)
        return;
    if (p->mode == PDBI_PROGRESS_BAR) {
        draw(p, done, pdbi__now());
        fputc('\n', p->out);
        p->drawn = 0;
        fflush(p->out);
    }
}
