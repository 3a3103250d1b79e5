/*
 * dgn7_dump: prints what the importer's DGN v7 reader (import/dgn7.c)
 * reads in a file, one element a line, for tests/import/dgn7.sh to
 * compare with GDAL's DGN driver:
 *   units UOR_PER_SUB SUB_PER_MASTER DIMENSION ORIGIN_X ORIGIN_Y
 *   line LEVEL N X Y X Y ...          (a line or line string)
 *   polygon LEVEL N X Y ...           (a shape: its ring)
 *   multi LEVEL PARTS N X Y ... N ... (a complex chain or shape: its parts)
 *   text LEVEL X Y HEXBYTES
 *   unread TYPE COUNT                 (element types not read)
 * Doubles are printed with 17 significant digits (they read back as the
 * same double). On a read failure: the message on stderr, exit 1.
 */
#include "dgn7.h"

#include <stdio.h>
#include <string.h>

static void coords(const pdbi_dgn7 *d, const pdbi_dgn7_part *p)
{
    printf(" %zu", p->n);
    for (size_t v = 0; v < p->n; v++)
        printf(" %.17g %.17g", d->xy[2 * (p->first + v)], d->xy[2 * (p->first + v) + 1]);
}

int main(int argc, char **argv)
{
    pdbi_ctx ic;
    pdbi_dgn7 d;
    if (argc != 2) {
        fprintf(stderr, "usage: dgn7_dump FILE.dgn\n");
        return 2;
    }
    pdbi__ctx_init(&ic, NULL);
    if (pdbi__dgn7_read_file(&ic, argv[1], &d) != PDB_OK) {
        fprintf(stderr, "dgn7_dump: %s: %s\n", argv[1], pdbi_errmsg(&ic));
        return 1;
    }
    printf("units %ld %ld %d %.17g %.17g\n", d.uor_per_subunit, d.subunits_per_master, d.dimension,
           d.origin[0], d.origin[1]);
    for (size_t i = 0; i < d.nelems; i++) {
        const pdbi_dgn7_elem *el = &d.elems[i];
        if (el->type == PDBI_DGN7_TEXT) {
            printf("text %d %.17g %.17g ", el->level, el->x, el->y);
            for (const char *s = d.chars + el->text; *s; s++)
                printf("%02x", (unsigned char)*s);
            printf("\n");
            continue;
        }
        const char *kind = el->type == PDBI_DGN7_SHAPE ? "polygon"
                           : el->type == PDBI_DGN7_LINE || el->type == PDBI_DGN7_LINE_STRING
                               ? "line"
                               : "multi";
        printf("%s %d", kind, el->level);
        if (strcmp(kind, "multi") == 0)
            printf(" %zu", el->nparts);
        for (size_t k = 0; k < el->nparts; k++)
            coords(&d, &d.parts[el->first_part + k]);
        printf("\n");
    }
    for (int t = 0; t < 128; t++)
        if (d.by_type[t] > 0)
            printf("unread %d %zu\n", t, d.by_type[t]);
    pdbi__dgn7_free(&d);
    return 0;
}
