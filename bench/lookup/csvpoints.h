/*
 * csvpoints.h: what both lookup anchors share: reading the points CSV (a
 * header with the columns id, lon and lat, in any order, no quoting: the
 * benchmark's generator writes none) and writing answers the way
 * `parceldb lookup --points` does (id,commune,sheet,parcel; a field quoted
 * when it holds a comma, a quote or a line break).
 */
#ifndef BENCH_CSVPOINTS_H
#define BENCH_CSVPOINTS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct csvpoints {
    FILE *in;             /* the CSV */
    char line[4096];      /* the current line */
    int col_id, col_lon, col_lat; /* column numbers from the header */
    const char *id;       /* the current point's id (into line) */
    double lon, lat;      /* the current point, degrees */
    long lineno;          /* 1-based number of the current line */
} csvpoints;

/* Splits line in place at commas into at most max fields; returns their count. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* Opens path and reads its header; prints why and returns -1 on failure. */
static int csvpoints_open(csvpoints *c, const char *path)
{
    char *f[64];
    int n;

    memset(c, 0, sizeof *c);
    c->col_id = c->col_lon = c->col_lat = -1;
    if ((c->in = fopen(path, "rb")) == NULL) {
        perror(path);
        return -1;
    }
    if (fgets(c->line, sizeof c->line, c->in) == NULL) {
        fprintf(stderr, "%s: empty file\n", path);
        return -1;
    }
    c->lineno = 1;
    n = csv_split(c->line, f, 64);
    for (int i = 0; i < n; i++) {
        if (strcasecmp(f[i], "id") == 0)
            c->col_id = i;
        else if (strcasecmp(f[i], "lon") == 0)
            c->col_lon = i;
        else if (strcasecmp(f[i], "lat") == 0)
            c->col_lat = i;
    }
    if (c->col_id < 0 || c->col_lon < 0 || c->col_lat < 0) {
        fprintf(stderr, "%s: the header needs the columns id, lon and lat\n", path);
        return -1;
    }
    return 0;
}

/* Reads the next point: 1, 0 at the end, -1 on a bad line (printed). */
static int csvpoints_next(csvpoints *c)
{
    char *f[64], *end;
    int n, need = c->col_id;

    need = c->col_lon > need ? c->col_lon : need;
    need = c->col_lat > need ? c->col_lat : need;
    for (;;) {
        if (fgets(c->line, sizeof c->line, c->in) == NULL)
            return 0;
        c->lineno++;
        if (c->line[0] != '\n' && c->line[0] != '\r')
            break;
    }
    n = csv_split(c->line, f, 64);
    if (n <= need) {
        fprintf(stderr, "line %ld: too few fields\n", c->lineno);
        return -1;
    }
    c->id = f[c->col_id];
    c->lon = strtod(f[c->col_lon], &end);
    if (*end != '\0') {
        fprintf(stderr, "line %ld: lon is not a number\n", c->lineno);
        return -1;
    }
    c->lat = strtod(f[c->col_lat], &end);
    if (*end != '\0') {
        fprintf(stderr, "line %ld: lat is not a number\n", c->lineno);
        return -1;
    }
    return 1;
}

static void csv_put(FILE *out, const char *s)
{
    if (s[strcspn(s, ",\"\r\n")] == '\0') {
        fputs(s, out);
        return;
    }
    putc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', out);
        putc(*s, out);
    }
    putc('"', out);
}

/* Writes one answer line; commune NULL for none. */
static void csv_answer(FILE *out, const char *id, const char *commune, const char *sheet,
                       const char *parcel)
{
    csv_put(out, id);
    if (commune == NULL) {
        fputs(",,,\n", out);
        return;
    }
    putc(',', out);
    csv_put(out, commune);
    putc(',', out);
    csv_put(out, sheet);
    putc(',', out);
    csv_put(out, parcel);
    putc('\n', out);
}

#endif
