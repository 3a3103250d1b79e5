/*
 * gpkg_write.c: a GeoPackage 1.3 written straight with SQLite (gpkg_write.h,
 * docs/export.md "How the GeoPackage is written").
 *
 * Why not GDAL's GPKG driver, which export.c uses for the other formats:
 * measured on the province (781,144 parcels, 148 communes), GDAL 3.6 spent
 * most of the export building an OGR feature per row and, at the close,
 * filling each R-tree with one INSERT per feature read back from the table.
 * Here rows go 64 to a prepared INSERT, each the caller's WKB behind a
 * header, and each R-tree is packed from boxes kept in memory straight into the
 * rtree module's tables (rtree_bulk; docs/export.md has the numbers).
 *
 * The layout is the one GDAL 3.6 writes (the same DDL, so that GDAL, QGIS
 * and the validator see what they know), with application_id "GPKG" and
 * user_version 10300 (GeoPackage 1.3.0). The triggers of the R-tree
 * extension call ST_IsEmpty, ST_MinX ... that only a GeoPackage reader
 * (GDAL, QGIS) defines: they are created after the rows are in, so that
 * this writer never fires them.
 */
#include "gpkg_write.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "GPKG" as a big-endian 32-bit number (GeoPackage 1.3, 1.1.1.1.1). */
#define GPKG_APPLICATION_ID 0x47504B47
/* GeoPackage 1.3.0 (1.1.1.1.1: MAJOR*10000 + MINOR*100 + PATCH). */
#define GPKG_USER_VERSION 10300
/* The header of a geometry blob: magic, version, flags, srs_id, then an
 * X/Y envelope of four doubles (GeoPackage 1.3, 2.1.3.1.1). */
#define GPB_HEADER_LEN (8 + 4 * 8)
/* Deepest nesting of collections accepted in a WKB. */
#define WKB_MAX_DEPTH 8
/* Rows per INSERT statement. SQLite's AUTOINCREMENT (which the standard
 * asks of a feature table's fid) looks its table up in sqlite_sequence by
 * scanning it at every statement, and that has a row per layer: one row per
 * statement cost 2.1 s of the province's export (148 layers), 64 rows per
 * statement make it nothing. */
#define ROWS_PER_INSERT 64

/* A feature's box, kept for the R-tree. */
typedef struct gpkg_box {
    int64_t fid;                   /* its row */
    double minx, maxx, miny, maxy; /* its envelope */
} gpkg_box;

/* One feature table. */
typedef struct gpkg_layer {
    char *name;              /* the table's name */
    int srs_id;              /* its CRS (EPSG code) */
    int ncolumns;            /* attribute columns after fid and geom */
    pdbi_gpkg_type *types;   /* their types */
    sqlite3_stmt *insert;    /* INSERT of ROWS_PER_INSERT rows */
    sqlite3_stmt *insert1;   /* INSERT of one row (a batch's remainder) */
    int64_t next_fid;        /* the fid of its next row */
    gpkg_box *boxes;         /* every row's box, in fid order */
    size_t nboxes, capboxes; /* used and allocated entries of boxes */
} gpkg_layer;

struct pdbi_gpkg {
    pdbi_ctx *ic;                          /* errors go here */
    sqlite3 *db;                           /* the file, in one open transaction */
    gpkg_layer *layers;                    /* the feature tables */
    int nlayers, caplayers;                /* used and allocated entries of layers */
    int batch_layer;                       /* the layer of the rows waiting in batch (-1: none) */
    int nbatch;                            /* rows waiting */
    size_t batch_blob[ROWS_PER_INSERT][2]; /* each one's geometry blob: offset, bytes in arena */
    int64_t batch_fid[ROWS_PER_INSERT];    /* each one's fid */
    pdbi_gpkg_value *batch_values; /* their values (text: an offset in arena + 1, or NULL) */
    int capvalues;                 /* allocated entries of batch_values */
    uint8_t *arena;                /* the waiting rows' blobs and texts */
    size_t narena, caparena;       /* used and allocated bytes of arena */
    char *path;                    /* the file's name, to sync it at the end */
};

static pdb_status fail_sql(pdbi_gpkg *g, const char *what)
{
    return pdbi__fail(g->ic, PDB_EIO, "writing the GeoPackage: %s: %s", what,
                      sqlite3_errmsg(g->db));
}

static pdb_status exec(pdbi_gpkg *g, const char *sql)
{
    if (sqlite3_exec(g->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_sql(g, sql);
    return PDB_OK;
}

/* sqlite3_mprintf's %w is an identifier's quoting ("a""b"). */
static pdb_status execf(pdbi_gpkg *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (sql == NULL)
        return pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
    pdb_status st = exec(g, sql);
    sqlite3_free(sql);
    return st;
}

/* The metadata tables, as GDAL 3.6 creates them, with the three CRS rows
 * the standard requires (1.1.2.1.2). */
static const char *const SQL_SCHEMA =
    "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,srs_id INTEGER NOT NULL PRIMARY "
    "KEY,organization TEXT NOT NULL,organization_coordsys_id INTEGER NOT NULL,definition  TEXT NOT "
    "NULL,description TEXT);"
    "INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined Cartesian SRS',-1,'NONE',-1,'undefined',"
    "'undefined Cartesian coordinate reference system');"
    "INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS',0,'NONE',0,'undefined',"
    "'undefined geographic coordinate reference system');"
    "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic',4326,'EPSG',4326,'GEOGCS[\"WGS "
    "84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS "
    "84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],"
    "AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT["
    "\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS["
    "\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]','longitude/latitude coordinates in decimal "
    "degrees on the WGS 84 spheroid');"
    "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,data_type TEXT NOT "
    "NULL,identifier TEXT UNIQUE,description TEXT DEFAULT '',last_change DATETIME NOT NULL DEFAULT "
    "(strftime('%Y-%m-%dT%H:%M:%fZ','now')),min_x DOUBLE, min_y DOUBLE,max_x DOUBLE, max_y "
    "DOUBLE,srs_id INTEGER,CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES "
    "gpkg_spatial_ref_sys(srs_id));"
    "CREATE TABLE gpkg_ogr_contents(table_name TEXT NOT NULL PRIMARY KEY,feature_count INTEGER "
    "DEFAULT NULL);"
    "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL,column_name TEXT NOT "
    "NULL,geometry_type_name TEXT NOT NULL,srs_id INTEGER NOT NULL,z TINYINT NOT NULL,m TINYINT "
    "NOT "
    "NULL,CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),CONSTRAINT "
    "uk_gc_table_name "
    "UNIQUE (table_name),CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES "
    "gpkg_contents(table_name),CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES "
    "gpkg_spatial_ref_sys (srs_id));"
    "CREATE TABLE gpkg_extensions (table_name TEXT,column_name TEXT,extension_name TEXT NOT "
    "NULL,definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE (table_name, "
    "column_name, extension_name));";

pdb_status pdbi_gpkg_create(pdbi_ctx *ic, const char *path, pdbi_gpkg **out)
{
    pdb_status st;
    *out = NULL;
    pdbi_gpkg *g = calloc(1, sizeof *g);
    if (g == NULL || (g->path = strdup(path)) == NULL) {
        free(g);
        return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    }
    g->ic = ic;
    g->batch_layer = -1;
    if (sqlite3_open_v2(path, &g->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        st = pdbi__fail(ic, PDB_EIO, "cannot create %s: %s", path,
                        g->db ? sqlite3_errmsg(g->db) : "out of memory");
        goto fail;
    }
    /* The file is written under a temporary name that nobody opens and is
     * removed on failure (export.c), so a rollback journal would guard
     * nothing: no journal, no sync per commit, and one sync of the whole
     * file at the end (pdbi_gpkg_finish). 16 KiB pages: on the province
     * 0.3 s less CPU than SQLite's and GDAL's 4 KiB (fewer B-tree pages to
     * balance) for a file 2% larger; 64 KiB pages were no faster and made
     * it 17% larger (each commune's small tables round up to whole pages).
     * The R-tree nodes stay 1228 bytes (51 cells, rtree.c's cap). The cache
     * (64 MB) holds the pages being appended to and each R-tree's. */
    if ((st = exec(g, "PRAGMA page_size = 16384; PRAGMA journal_mode = OFF; "
                      "PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; "
                      "PRAGMA cache_size = -65536;")) != PDB_OK ||
        (st = execf(g, "PRAGMA application_id = %d; PRAGMA user_version = %d;", GPKG_APPLICATION_ID,
                    GPKG_USER_VERSION)) != PDB_OK ||
        (st = exec(g, "BEGIN")) != PDB_OK || (st = exec(g, SQL_SCHEMA)) != PDB_OK)
        goto fail;
    *out = g;
    return PDB_OK;
fail:
    pdbi_gpkg_free(g);
    return st;
}

pdb_status pdbi_gpkg_layer_add(pdbi_gpkg *g, const char *name, int epsg, const char *srs_name,
                               const char *wkt, const char *const *columns,
                               const pdbi_gpkg_type *types, int ncolumns, int *layer)
{
    pdb_status st;
    if (g->nlayers == g->caplayers) {
        int cap = g->caplayers ? 2 * g->caplayers : 16;
        gpkg_layer *l = realloc(g->layers, (size_t)cap * sizeof *l);
        if (l == NULL)
            return pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
        g->layers = l;
        g->caplayers = cap;
    }
    gpkg_layer *l = &g->layers[g->nlayers];
    memset(l, 0, sizeof *l);
    l->srs_id = epsg;
    l->ncolumns = ncolumns;
    l->name = strdup(name);
    l->types = malloc((size_t)(ncolumns ? ncolumns : 1) * sizeof *l->types);
    if (l->name == NULL || l->types == NULL) {
        free(l->name);
        free(l->types);
        return pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
    }
    memcpy(l->types, types, (size_t)ncolumns * sizeof *types);
    g->nlayers++; /* pdbi_gpkg_free frees it from here on */

    if ((st = execf(g,
                    "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (%Q, %d, 'EPSG', %d, %Q, "
                    "NULL)",
                    srs_name, epsg, epsg, wkt)) != PDB_OK)
        return st;
    /* The table as GDAL 3.6 declares it: fid, geom, then the columns. */
    sqlite3_str *ddl = sqlite3_str_new(g->db);
    sqlite3_str *ins = sqlite3_str_new(g->db);
    sqlite3_str *row = sqlite3_str_new(g->db);
    sqlite3_str_appendf(ddl,
                        "CREATE TABLE \"%w\" ( \"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT "
                        "NULL, \"geom\" GEOMETRY",
                        name);
    sqlite3_str_appendf(ins, "INSERT INTO \"%w\" VALUES ", name);
    sqlite3_str_appendall(row, "(?, ?");
    for (int i = 0; i < ncolumns; i++) {
        sqlite3_str_appendf(ddl, ", \"%w\" %s", columns[i],
                            types[i] == PDBI_GPKG_REAL ? "REAL" : "TEXT");
        sqlite3_str_appendall(row, ", ?");
    }
    sqlite3_str_appendall(ddl, ")");
    sqlite3_str_appendall(row, ")");
    char *ddl_sql = sqlite3_str_finish(ddl);
    char *row_sql = sqlite3_str_finish(row);
    for (int i = 0; i < ROWS_PER_INSERT && row_sql != NULL; i++)
        sqlite3_str_appendf(ins, "%s%s", i ? ", " : "", row_sql);
    char *ins_sql = sqlite3_str_finish(ins);
    /* The one-row INSERT is the batch's first row and nothing after it. */
    size_t one_len =
        ins_sql && row_sql ? strlen(ins_sql) - (ROWS_PER_INSERT - 1) * (strlen(row_sql) + 2) : 0;
    l->next_fid = 1;
    if (ddl_sql == NULL || ins_sql == NULL || row_sql == NULL) {
        st = pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
    } else {
        st = exec(g, ddl_sql);
        if (st == PDB_OK &&
            (sqlite3_prepare_v3(g->db, ins_sql, -1, SQLITE_PREPARE_PERSISTENT, &l->insert, NULL) !=
                 SQLITE_OK ||
             sqlite3_prepare_v3(g->db, ins_sql, (int)one_len, SQLITE_PREPARE_PERSISTENT,
                                &l->insert1, NULL) != SQLITE_OK))
            st = fail_sql(g, "preparing the INSERT");
    }
    sqlite3_free(ddl_sql);
    sqlite3_free(row_sql);
    sqlite3_free(ins_sql);
    if (st != PDB_OK)
        return st;
    /* Extents are entered at the end (pdbi_gpkg_finish). */
    if ((st = execf(g,
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                    "srs_id) VALUES (%Q, 'features', %Q, '', %d);"
                    "INSERT INTO gpkg_geometry_columns VALUES (%Q, 'geom', 'GEOMETRY', %d, 0, 0);"
                    "INSERT INTO gpkg_ogr_contents VALUES (%Q, 0);",
                    name, name, epsg, name, epsg, name)) != PDB_OK)
        return st;
    *layer = g->nlayers - 1;
    return PDB_OK;
}

/* A little-endian or big-endian WKB being read for its envelope. */
typedef struct wkb_reader {
    const uint8_t *p, *end;        /* next byte and the end */
    double minx, maxx, miny, maxy; /* the envelope so far */
    size_t npoints;                /* points seen */
} wkb_reader;

static int rd_u32(wkb_reader *r, int le, uint32_t *v)
{
    if (r->end - r->p < 4)
        return -1;
    const uint8_t *b = r->p;
    *v = le ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
            : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    r->p += 4;
    return 0;
}

static double rd_f64(const uint8_t *b, int le)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)b[le ? i : 7 - i] << (8 * i);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* n points of dims doubles each: X and Y go into the envelope. */
static int rd_points(wkb_reader *r, int le, uint32_t n, int dims)
{
    size_t bytes = (size_t)8 * (size_t)dims;
    if ((size_t)(r->end - r->p) / bytes < n)
        return -1;
    for (uint32_t i = 0; i < n; i++, r->p += bytes) {
        double x = rd_f64(r->p, le), y = rd_f64(r->p + 8, le);
        if (x != x || y != y) /* an empty point (NaN) adds nothing */
            continue;
        if (r->npoints++ == 0) {
            r->minx = r->maxx = x;
            r->miny = r->maxy = y;
            continue;
        }
        r->minx = x < r->minx ? x : r->minx;
        r->maxx = x > r->maxx ? x : r->maxx;
        r->miny = y < r->miny ? y : r->miny;
        r->maxy = y > r->maxy ? y : r->maxy;
    }
    return 0;
}

/* One geometry (ISO, or with the EWKB Z/M flags); -1 when malformed. */
static int rd_geometry(wkb_reader *r, int depth)
{
    uint32_t type, n, rings;
    if (depth > WKB_MAX_DEPTH || r->p >= r->end || *r->p > 1)
        return -1;
    int le = *r->p++ == 1;
    if (rd_u32(r, le, &type) != 0)
        return -1;
    int dims = 2 + ((type & 0x80000000u) != 0) + ((type & 0x40000000u) != 0);
    type &= 0x0FFFFFFFu;
    if (type >= 1000) {
        uint32_t zm = type / 1000;
        if (zm > 3)
            return -1;
        dims = 2 + (zm == 1 || zm == 3) + (zm == 2 || zm == 3);
        type %= 1000;
    }
    switch (type) {
    case 1: /* Point */
        return rd_points(r, le, 1, dims);
    case 2: /* LineString */
        return rd_u32(r, le, &n) != 0 ? -1 : rd_points(r, le, n, dims);
    case 3: /* Polygon */
        if (rd_u32(r, le, &rings) != 0)
            return -1;
        for (uint32_t i = 0; i < rings; i++)
            if (rd_u32(r, le, &n) != 0 || rd_points(r, le, n, dims) != 0)
                return -1;
        return 0;
    case 4:
    case 5:
    case 6:
    case 7: /* Multi*, GeometryCollection */
        if (rd_u32(r, le, &n) != 0)
            return -1;
        for (uint32_t i = 0; i < n; i++)
            if (rd_geometry(r, depth + 1) != 0)
                return -1;
        return 0;
    default:
        return -1;
    }
}

static void put_f64(uint8_t *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(u >> (8 * i));
}

/* Room for one more row of l in the batch, need bytes of it in the arena. */
static pdb_status batch_reserve(pdbi_gpkg *g, const gpkg_layer *l, size_t need)
{
    if (g->narena + need > g->caparena) {
        size_t cap = 2 * (g->narena + need) + 65536;
        uint8_t *a = realloc(g->arena, cap);
        if (a == NULL)
            return pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
        g->arena = a;
        g->caparena = cap;
    }
    int want = ROWS_PER_INSERT * (l->ncolumns ? l->ncolumns : 1);
    if (want > g->capvalues) {
        pdbi_gpkg_value *v = realloc(g->batch_values, (size_t)want * sizeof *v);
        if (v == NULL)
            return pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
        g->batch_values = v;
        g->capvalues = want;
    }
    return PDB_OK;
}

/* Binds waiting row k to s from parameter first on. */
static int bind_row(pdbi_gpkg *g, const gpkg_layer *l, sqlite3_stmt *s, int first, int k)
{
    int rc = sqlite3_bind_int64(s, first, g->batch_fid[k]);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(s, first + 1, g->arena + g->batch_blob[k][0],
                               (int)g->batch_blob[k][1], SQLITE_STATIC);
    const pdbi_gpkg_value *v = &g->batch_values[k * l->ncolumns];
    for (int i = 0; i < l->ncolumns && rc == SQLITE_OK; i++) {
        int at = first + 2 + i;
        if (l->types[i] == PDBI_GPKG_REAL)
            rc = v[i].real == v[i].real ? sqlite3_bind_double(s, at, v[i].real)
                                        : sqlite3_bind_null(s, at);
        else if (v[i].text == NULL)
            rc = sqlite3_bind_null(s, at);
        else
            rc = sqlite3_bind_text(s, at, (const char *)g->arena + ((uintptr_t)v[i].text - 1), -1,
                                   SQLITE_STATIC);
    }
    return rc;
}

/* Writes the waiting rows: one statement for a full batch, one per row for
 * the rest of a layer. */
static pdb_status batch_flush(pdbi_gpkg *g)
{
    if (g->nbatch == 0)
        return PDB_OK;
    gpkg_layer *l = &g->layers[g->batch_layer];
    int per_row = 2 + l->ncolumns, rc = SQLITE_OK;
    if (g->nbatch == ROWS_PER_INSERT) {
        for (int k = 0; k < g->nbatch && rc == SQLITE_OK; k++)
            rc = bind_row(g, l, l->insert, 1 + k * per_row, k);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(l->insert);
        sqlite3_reset(l->insert);
    } else {
        for (int k = 0; k < g->nbatch && (rc == SQLITE_OK || rc == SQLITE_DONE); k++) {
            rc = bind_row(g, l, l->insert1, 1, k);
            if (rc == SQLITE_OK)
                rc = sqlite3_step(l->insert1);
            sqlite3_reset(l->insert1);
        }
    }
    g->nbatch = 0;
    g->narena = 0;
    return rc == SQLITE_DONE ? PDB_OK : fail_sql(g, l->name);
}

pdb_status pdbi_gpkg_feature_add(pdbi_gpkg *g, int layer, const uint8_t *wkb, size_t wkb_len,
                                 const pdbi_gpkg_value *values)
{
    gpkg_layer *l = &g->layers[layer];
    wkb_reader r = {.p = wkb, .end = wkb + wkb_len};
    if (rd_geometry(&r, 0) != 0 || r.p != r.end)
        return pdbi__fail(g->ic, PDB_EGEOM, "a geometry of layer %s is not well-formed WKB",
                          l->name);
    int empty = r.npoints == 0;
    size_t head = empty ? 8 : GPB_HEADER_LEN;
    pdb_status st;
    if (g->nbatch > 0 && (g->batch_layer != layer || g->nbatch == ROWS_PER_INSERT) &&
        (st = batch_flush(g)) != PDB_OK)
        return st;
    /* The row waits in the batch: its blob and texts are copied into the
     * arena, as the caller's memory may be gone by the time it is written. */
    size_t need = head + wkb_len;
    for (int i = 0; i < l->ncolumns; i++)
        need += l->types[i] == PDBI_GPKG_TEXT && values[i].text ? strlen(values[i].text) + 1 : 0;
    if ((st = batch_reserve(g, l, need)) != PDB_OK)
        return st;
    int k = g->nbatch++;
    g->batch_layer = layer;
    g->batch_fid[k] = l->next_fid++;
    g->batch_blob[k][0] = g->narena;
    g->batch_blob[k][1] = head + wkb_len;
    /* GeoPackage 1.3, 2.1.3.1.1: "GP", version 0, flags (bit 0: the
     * header's numbers are little-endian; bits 1-3: envelope 1 = X/Y;
     * bit 4: empty geometry, then no envelope), srs_id, envelope. */
    uint8_t *b = g->arena + g->narena;
    b[0] = 'G';
    b[1] = 'P';
    b[2] = 0;
    b[3] = empty ? 0x11 : 0x03;
    uint32_t srs = (uint32_t)l->srs_id;
    for (int i = 0; i < 4; i++)
        b[4 + i] = (uint8_t)(srs >> (8 * i));
    if (!empty) {
        put_f64(b + 8, r.minx);
        put_f64(b + 16, r.maxx);
        put_f64(b + 24, r.miny);
        put_f64(b + 32, r.maxy);
    }
    memcpy(b + head, wkb, wkb_len);
    g->narena += head + wkb_len;
    pdbi_gpkg_value *v = &g->batch_values[k * l->ncolumns];
    for (int i = 0; i < l->ncolumns; i++) {
        v[i] = values[i];
        if (l->types[i] != PDBI_GPKG_TEXT || values[i].text == NULL)
            continue;
        size_t n = strlen(values[i].text) + 1;
        memcpy(g->arena + g->narena, values[i].text, n);
        v[i].text = (const char *)(uintptr_t)(g->narena + 1); /* an offset until written */
        g->narena += n;
    }
    if (empty) /* the standard's triggers keep empty geometries out of the R-tree */
        return PDB_OK;
    if (l->nboxes == l->capboxes) {
        size_t cap = l->capboxes ? 2 * l->capboxes : 4096;
        gpkg_box *nb = realloc(l->boxes, cap * sizeof *nb);
        if (nb == NULL)
            return pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
        l->boxes = nb;
        l->capboxes = cap;
    }
    l->boxes[l->nboxes++] = (gpkg_box){
        .fid = g->batch_fid[k], .minx = r.minx, .maxx = r.maxx, .miny = r.miny, .maxy = r.maxy};
    return PDB_OK;
}

/* An entry of an R-tree node being packed: a feature (leaf) or a child
 * node, with its box as the rtree module stores it (32-bit floats). */
typedef struct rt_entry {
    int64_t id;   /* the feature's fid, or the child's node number */
    float box[4]; /* minx, maxx, miny, maxy */
} rt_entry;

/* SQLite's rtree.c rounds a double bound outward to a float so that the
 * float box always holds the double one (rtreeValueDown/Up); the same
 * here, so that the tree is the one the module would have built. */
#define RT_TOWARDS (1.0 - 1.0 / 8388608.0)
#define RT_AWAY (1.0 + 1.0 / 8388608.0)
static float rt_down(double d)
{
    float f = (float)d;
    return f > d ? (float)(d * (d < 0 ? RT_AWAY : RT_TOWARDS)) : f;
}
static float rt_up(double d)
{
    float f = (float)d;
    return f < d ? (float)(d * (d < 0 ? RT_TOWARDS : RT_AWAY)) : f;
}

static int by_cx(const void *a, const void *b)
{
    const rt_entry *x = a, *y = b;
    float cx = x->box[0] + x->box[1], cy = y->box[0] + y->box[1];
    return cx < cy ? -1 : cx > cy;
}
static int by_cy(const void *a, const void *b)
{
    const rt_entry *x = a, *y = b;
    float cx = x->box[2] + x->box[3], cy = y->box[2] + y->box[3];
    return cx < cy ? -1 : cx > cy;
}

/* Sort-tile-recursive order (Leutenegger et al. 1997) for nodes of m
 * entries: vertical slices of about sqrt(nodes) nodes by X, each sorted by
 * Y, so that consecutive runs of m entries are compact tiles. */
static void str_order(rt_entry *e, size_t n, size_t m)
{
    size_t nodes = (n + m - 1) / m;
    size_t slices = (size_t)ceil(sqrt((double)nodes));
    size_t per = slices * m; /* entries per slice */
    qsort(e, n, sizeof *e, by_cx);
    for (size_t i = 0; i < n; i += per)
        qsort(e + i, n - i < per ? n - i : per, sizeof *e, by_cy);
}

static void put_be(uint8_t *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* rtree.c's node: a 16-bit depth (the root's only), a 16-bit cell count,
 * then per cell a 64-bit id and four 32-bit floats, all big-endian, the
 * rest zeros up to the node size. */
static void node_write(uint8_t *node, size_t size, int depth, const rt_entry *e, size_t n)
{
    memset(node, 0, size);
    put_be(node, (uint64_t)depth, 2);
    put_be(node + 2, n, 2);
    uint8_t *c = node + 4;
    for (size_t i = 0; i < n; i++, c += 24) {
        put_be(c, (uint64_t)e[i].id, 8);
        for (int k = 0; k < 4; k++) {
            uint32_t u;
            memcpy(&u, &e[i].box[k], sizeof u);
            put_be(c + 8 + 4 * k, u, 4);
        }
    }
}

static pdb_status step_done(pdbi_gpkg *g, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? PDB_OK : fail_sql(g, what);
}

/* Packs the layer's boxes into its R-tree's shadow tables (_node, _rowid,
 * _parent) bottom up, sort-tile-recursive, every node full but each
 * level's last: what the rtree module reads as its own, without its one
 * descent and node rewrite per INSERT (docs/export.md: 4.7 s of the
 * province's export when inserted, even in Hilbert order). */
static pdb_status rtree_bulk(pdbi_gpkg *g, gpkg_layer *l)
{
    pdb_status st = PDB_OK;
    sqlite3_stmt *sz = NULL, *ins_node = NULL, *root = NULL, *ins_rowid = NULL, *ins_parent = NULL,
                 *ins_rowids = NULL;
    rt_entry *e = NULL, *up = NULL;
    int64_t *leaf_of = NULL; /* leaf node of fid f at f - first_fid (boxes are in fid order) */
    uint8_t *node = NULL;
    const char *t = l->name;
    size_t n = l->nboxes;
    sqlite3_str *many = sqlite3_str_new(g->db);
    sqlite3_str_appendf(many, "INSERT INTO \"rtree_%w_geom_rowid\" (rowid, nodeno) VALUES (?, ?)",
                        t);
    for (int i = 1; i < ROWS_PER_INSERT; i++)
        sqlite3_str_appendall(many, ", (?, ?)");
    char *sql[6] = {
        sqlite3_mprintf("SELECT length(data) FROM \"rtree_%w_geom_node\" WHERE nodeno = 1", t),
        sqlite3_mprintf("INSERT INTO \"rtree_%w_geom_node\" VALUES (?, ?)", t),
        sqlite3_mprintf("UPDATE \"rtree_%w_geom_node\" SET data = ? WHERE nodeno = 1", t),
        sqlite3_mprintf("INSERT INTO \"rtree_%w_geom_rowid\" (rowid, nodeno) VALUES (?, ?)", t),
        sqlite3_mprintf("INSERT INTO \"rtree_%w_geom_parent\" VALUES (?, ?)", t),
        sqlite3_str_finish(many)};
    sqlite3_stmt **stmts[6] = {&sz, &ins_node, &root, &ins_rowid, &ins_parent, &ins_rowids};
    for (int i = 0; i < 6; i++) {
        if (sql[i] == NULL) {
            st = pdbi__fail(g->ic, PDB_ENOMEM, "out of memory");
            goto done;
        }
        if (sqlite3_prepare_v2(g->db, sql[i], -1, stmts[i], NULL) != SQLITE_OK) {
            st = fail_sql(g, sql[i]);
            goto done;
        }
    }
    /* The node size the module chose at CREATE (from the page size) is the
     * root's length, and what it reads every node with. */
    if (sqlite3_step(sz) != SQLITE_ROW) {
        st = fail_sql(g, "the R-tree's root");
        goto done;
    }
    size_t node_size = (size_t)sqlite3_column_int64(sz, 0);
    size_t m = (node_size - 4) / 24; /* cells per node */
    if (n == 0)
        goto done; /* the empty root CREATE wrote */
    if (node_size < 4 + 2 * 24 || (e = malloc(n * sizeof *e)) == NULL ||
        (up = malloc(((n + m - 1) / m) * sizeof *up)) == NULL ||
        (leaf_of = malloc((size_t)(l->boxes[n - 1].fid - l->boxes[0].fid + 1) * sizeof *leaf_of)) ==
            NULL ||
        (node = malloc(node_size)) == NULL) {
        st = pdbi__fail(g->ic, PDB_ENOMEM, "out of memory for the R-tree of %s", t);
        goto done;
    }
    int64_t first_fid = l->boxes[0].fid;
    for (size_t i = 0; i < n; i++) {
        const gpkg_box *b = &l->boxes[i];
        e[i] =
            (rt_entry){.id = b->fid,
                       .box = {rt_down(b->minx), rt_up(b->maxx), rt_down(b->miny), rt_up(b->maxy)}};
    }
    int64_t next_node = 2; /* 1 is the root */
    for (int depth = 0; st == PDB_OK; depth++) {
        if (n <= m) { /* the root: its cells are this level's entries */
            node_write(node, node_size, depth, e, n);
            sqlite3_bind_blob(root, 1, node, (int)node_size, SQLITE_STATIC);
            if ((st = step_done(g, root, "the R-tree's root")) != PDB_OK)
                break;
            for (size_t i = 0; i < n && st == PDB_OK; i++) {
                if (depth == 0) {
                    leaf_of[e[i].id - first_fid] = 1;
                    continue;
                }
                sqlite3_bind_int64(ins_parent, 1, e[i].id);
                sqlite3_bind_int64(ins_parent, 2, 1);
                st = step_done(g, ins_parent, "the R-tree's parents");
            }
            break;
        }
        str_order(e, n, m);
        size_t nup = 0;
        for (size_t i = 0; i < n && st == PDB_OK; i += m) {
            size_t k = n - i < m ? n - i : m;
            int64_t id = next_node++;
            rt_entry *u = &up[nup++];
            u->id = id;
            memcpy(u->box, e[i].box, sizeof u->box);
            for (size_t j = i; j < i + k; j++) {
                u->box[0] = e[j].box[0] < u->box[0] ? e[j].box[0] : u->box[0];
                u->box[1] = e[j].box[1] > u->box[1] ? e[j].box[1] : u->box[1];
                u->box[2] = e[j].box[2] < u->box[2] ? e[j].box[2] : u->box[2];
                u->box[3] = e[j].box[3] > u->box[3] ? e[j].box[3] : u->box[3];
                if (depth == 0) {
                    leaf_of[e[j].id - first_fid] = id;
                } else {
                    sqlite3_bind_int64(ins_parent, 1, e[j].id);
                    sqlite3_bind_int64(ins_parent, 2, id);
                    if ((st = step_done(g, ins_parent, "the R-tree's parents")) != PDB_OK)
                        break;
                }
            }
            node_write(node, node_size, 0, e + i, k);
            sqlite3_bind_int64(ins_node, 1, id);
            sqlite3_bind_blob(ins_node, 2, node, (int)node_size, SQLITE_STATIC);
            if (st == PDB_OK)
                st = step_done(g, ins_node, "the R-tree's nodes");
        }
        memcpy(e, up, nup * sizeof *e); /* the level above: one entry per node */
        n = nup;
    }
    /* Each feature's leaf, in fid order (appends to the table's B-tree),
     * ROWS_PER_INSERT a statement as the rows. */
    for (size_t i = 0; i < l->nboxes && st == PDB_OK;) {
        int k = l->nboxes - i >= ROWS_PER_INSERT ? ROWS_PER_INSERT : 1;
        sqlite3_stmt *s = k > 1 ? ins_rowids : ins_rowid;
        for (int j = 0; j < k; j++, i++) {
            sqlite3_bind_int64(s, 2 * j + 1, l->boxes[i].fid);
            sqlite3_bind_int64(s, 2 * j + 2, leaf_of[l->boxes[i].fid - first_fid]);
        }
        st = step_done(g, s, "the R-tree's rowids");
    }
done:
    for (int i = 0; i < 6; i++) {
        sqlite3_finalize(*stmts[i]);
        sqlite3_free(sql[i]);
    }
    free(e);
    free(up);
    free(leaf_of);
    free(node);
    return st;
}

/* The layer's R-tree (GeoPackage 1.3, F.3), its extension row and its
 * triggers, its extent and feature count. */
static pdb_status finish_layer(pdbi_gpkg *g, gpkg_layer *l)
{
    pdb_status st;
    const char *t = l->name;
    double minx = 0, maxx = 0, miny = 0, maxy = 0;
    for (size_t i = 0; i < l->nboxes; i++) {
        const gpkg_box *b = &l->boxes[i];
        minx = i == 0 || b->minx < minx ? b->minx : minx;
        maxx = i == 0 || b->maxx > maxx ? b->maxx : maxx;
        miny = i == 0 || b->miny < miny ? b->miny : miny;
        maxy = i == 0 || b->maxy > maxy ? b->maxy : maxy;
    }
    if ((st = execf(g,
                    "CREATE VIRTUAL TABLE \"rtree_%w_geom\" USING rtree(id, minx, maxx, miny, "
                    "maxy)",
                    t)) != PDB_OK ||
        (st = rtree_bulk(g, l)) != PDB_OK)
        return st;

    /* The triggers of GeoPackage 1.3 F.3, as GDAL 3.6 writes them, and
     * GDAL's pair that keeps gpkg_ogr_contents' count. */
    if ((st = execf(
             g,
             "INSERT INTO gpkg_extensions VALUES (%Q, 'geom', 'gpkg_rtree_index', "
             "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');"
             "CREATE TRIGGER \"rtree_%w_geom_insert\" AFTER INSERT ON \"%w\" WHEN (new.\"geom\" "
             "NOT NULL AND NOT ST_IsEmpty(NEW.\"geom\")) BEGIN INSERT OR REPLACE INTO "
             "\"rtree_%w_geom\" VALUES (NEW.\"fid\",ST_MinX(NEW.\"geom\"), "
             "ST_MaxX(NEW.\"geom\"),ST_MinY(NEW.\"geom\"), ST_MaxY(NEW.\"geom\")); END;"
             "CREATE TRIGGER \"rtree_%w_geom_update1\" AFTER UPDATE OF \"geom\" ON \"%w\" WHEN "
             "OLD.\"fid\" = NEW.\"fid\" AND (NEW.\"geom\" NOTNULL AND NOT "
             "ST_IsEmpty(NEW.\"geom\")) BEGIN INSERT OR REPLACE INTO \"rtree_%w_geom\" VALUES "
             "(NEW.\"fid\",ST_MinX(NEW.\"geom\"), ST_MaxX(NEW.\"geom\"),ST_MinY(NEW.\"geom\"), "
             "ST_MaxY(NEW.\"geom\")); END;"
             "CREATE TRIGGER \"rtree_%w_geom_update2\" AFTER UPDATE OF \"geom\" ON \"%w\" WHEN "
             "OLD.\"fid\" = NEW.\"fid\" AND (NEW.\"geom\" ISNULL OR ST_IsEmpty(NEW.\"geom\")) "
             "BEGIN DELETE FROM \"rtree_%w_geom\" WHERE id = OLD.\"fid\"; END;"
             "CREATE TRIGGER \"rtree_%w_geom_update3\" AFTER UPDATE ON \"%w\" WHEN OLD.\"fid\" "
             "!= NEW.\"fid\" AND (NEW.\"geom\" NOTNULL AND NOT ST_IsEmpty(NEW.\"geom\")) BEGIN "
             "DELETE FROM \"rtree_%w_geom\" WHERE id = OLD.\"fid\"; INSERT OR REPLACE INTO "
             "\"rtree_%w_geom\" VALUES (NEW.\"fid\",ST_MinX(NEW.\"geom\"), "
             "ST_MaxX(NEW.\"geom\"),ST_MinY(NEW.\"geom\"), ST_MaxY(NEW.\"geom\")); END;"
             "CREATE TRIGGER \"rtree_%w_geom_update4\" AFTER UPDATE ON \"%w\" WHEN OLD.\"fid\" "
             "!= NEW.\"fid\" AND (NEW.\"geom\" ISNULL OR ST_IsEmpty(NEW.\"geom\")) BEGIN DELETE "
             "FROM \"rtree_%w_geom\" WHERE id IN (OLD.\"fid\", NEW.\"fid\"); END;"
             "CREATE TRIGGER \"rtree_%w_geom_delete\" AFTER DELETE ON \"%w\" WHEN old.\"geom\" "
             "NOT NULL BEGIN DELETE FROM \"rtree_%w_geom\" WHERE id = OLD.\"fid\"; END;",
             t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t)) != PDB_OK)
        return st;
    return execf(g,
                 "CREATE TRIGGER \"trigger_insert_feature_count_%w\" AFTER INSERT ON \"%w\" BEGIN "
                 "UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 WHERE "
                 "lower(table_name) = lower(%Q); END;"
                 "CREATE TRIGGER \"trigger_delete_feature_count_%w\" AFTER DELETE ON \"%w\" BEGIN "
                 "UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 WHERE "
                 "lower(table_name) = lower(%Q); END;"
                 "UPDATE gpkg_ogr_contents SET feature_count = %lld WHERE table_name = %Q;"
                 "UPDATE gpkg_contents SET min_x = %!.17g, min_y = %!.17g, max_x = %!.17g, "
                 "max_y = %!.17g WHERE table_name = %Q;",
                 t, t, t, t, t, t, (long long)(l->next_fid - 1), t, minx, miny, maxx, maxy, t);
}

pdb_status pdbi_gpkg_finish(pdbi_gpkg *g)
{
    pdb_status st = batch_flush(g);
    if (st != PDB_OK)
        return st;
    for (int i = 0; i < g->nlayers; i++) {
        gpkg_layer *l = &g->layers[i];
        sqlite3_finalize(l->insert);
        sqlite3_finalize(l->insert1);
        l->insert = l->insert1 = NULL;
        if ((st = finish_layer(g, l)) != PDB_OK)
            return st;
        free(l->boxes);
        l->boxes = NULL;
        l->nboxes = l->capboxes = 0;
    }
    if ((st = exec(g, "COMMIT")) != PDB_OK)
        return st;
    if (sqlite3_close(g->db) != SQLITE_OK)
        return fail_sql(g, "closing");
    g->db = NULL;
    /* synchronous = OFF never synced: the file reaches the disk before it
     * is renamed into place. */
    int fd = open(g->path, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return pdbi__fail(g->ic, PDB_EIO, "%s: %s", g->path, strerror(e));
    }
    close(fd);
    return PDB_OK;
}

void pdbi_gpkg_free(pdbi_gpkg *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->nlayers; i++) {
        sqlite3_finalize(g->layers[i].insert);
        sqlite3_finalize(g->layers[i].insert1);
        free(g->layers[i].name);
        free(g->layers[i].types);
        free(g->layers[i].boxes);
    }
    free(g->layers);
    if (g->db != NULL) {
        sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(g->db);
    }
    free(g->arena);
    free(g->batch_values);
    free(g->path);
    free(g);
}
