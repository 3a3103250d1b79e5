/*
 * wms_caps.c: what the WMS says of itself: the operator's configuration
 * file, the styles it offers, and the capabilities documents of 1.3.0 (XML
 * Schema) and 1.1.1 (DTD).
 */
#include "wms.h"

#include "srv.h"
#include "worker.h"

#include <dirent.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_CONF_PATH "/etc/parceldb/wms.conf"
#define CONF_CHECK_US 1000000 /* the file's time is looked at at most this often */
#define DEFAULT_MAX_RENDERS 2 /* GetMap renders at once: the cores of the reference machine */
/* 0.28 mm in metres: the standardised rendering pixel of WMS 1.3.0 (7.2.4.6.9). */
#define PIXEL_M 0.00028

/* ------------------------------------------------------------------------ */
/* The configuration file                                                    */
/* ------------------------------------------------------------------------ */

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static pdb_srv_wms_conf conf_now;  /* guarded by conf_lock */
static int conf_loaded;            /* conf_now holds a reading */
static struct timespec conf_mtime; /* of the file when read (0 when absent) */
static uint64_t conf_checked_us;   /* when the file's time was last looked at */

/* The defaults say what to edit and where. */
static void conf_defaults(pdb_srv_wms_conf *c, const char *path)
{
    memset(c, 0, sizeof *c);
    snprintf(c->title, sizeof c->title, "Cadastral parcels (set title in %s)", path);
    snprintf(c->abstract, sizeof c->abstract,
             "Land parcels served by parceldb. The operator describes the service in %s "
             "(title, abstract, contact).",
             path);
    snprintf(c->keywords, sizeof c->keywords, "cadastre,parcels,VN-2000");
    snprintf(c->person, sizeof c->person, "set person in %s", path);
    snprintf(c->organization, sizeof c->organization, "set organization in %s", path);
    snprintf(c->position, sizeof c->position, "set position in %s", path);
    snprintf(c->address, sizeof c->address, "set address in %s", path);
    snprintf(c->city, sizeof c->city, "set city in %s", path);
    snprintf(c->province, sizeof c->province, "Phu Tho");
    snprintf(c->postcode, sizeof c->postcode, "set postcode in %s", path);
    snprintf(c->country, sizeof c->country, "Viet Nam");
    snprintf(c->fees, sizeof c->fees, "none");
    snprintf(c->access, sizeof c->access,
             "Owner names only to holders of a token (Authorization: Bearer)");
    c->max_px = PDB_SRV_WMS_DEFAULT_PX;
    c->max_renders = DEFAULT_MAX_RENDERS;
    snprintf(c->path, sizeof c->path, "%s", path);
}

/* One "key = value" line into c; 0, or -1 with the reason in c->error. */
static int conf_line(pdb_srv_wms_conf *c, char *line, int lineno)
{
    static const struct {
        const char *key;
        size_t off;
        size_t cap;
    } texts[] = {
#define T(k, f) {k, offsetof(pdb_srv_wms_conf, f), sizeof(((pdb_srv_wms_conf *)0)->f)}
        T("title", title),
        T("abstract", abstract),
        T("keywords", keywords),
        T("person", person),
        T("organization", organization),
        T("position", position),
        T("address", address),
        T("city", city),
        T("province", province),
        T("postcode", postcode),
        T("country", country),
        T("phone", phone),
        T("email", email),
        T("fees", fees),
        T("access_constraints", access),
#undef T
    };
    char *eq = strchr(line, '=');
    if (eq == NULL) {
        snprintf(c->error, sizeof c->error, "%.120s:%d: not 'key = value'", c->path, lineno);
        return -1;
    }
    char *k = line, *v = eq + 1, *e = eq;
    *eq = '\0';
    while (*k == ' ' || *k == '\t')
        k++;
    while (e > k && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    while (*v == ' ' || *v == '\t')
        v++;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strcmp(k, texts[i].key) == 0) {
            snprintf((char *)c + texts[i].off, texts[i].cap, "%s", v);
            return 0;
        }
    if (strcmp(k, "max_size") == 0 || strcmp(k, "max_renders") == 0) {
        char *end;
        long n = strtol(v, &end, 10);
        long hi = k[4] == 's' ? PDBT_VIEW_MAX_PX : 64;
        if (end == v || *end != '\0' || n < 1 || n > hi) {
            snprintf(c->error, sizeof c->error, "%.120s:%d: %.16s must be 1 to %ld", c->path,
                     lineno, k, hi);
            return -1;
        }
        if (k[4] == 's')
            c->max_px = (int)n;
        else
            c->max_renders = (int)n;
        return 0;
    }
    snprintf(c->error, sizeof c->error, "%.120s:%d: unknown key '%.32s'", c->path, lineno, k);
    return -1;
}

/* Reads the file into c (defaults first). A file that is absent leaves
 * the defaults; one with a bad line keeps the defaults too, and says so
 * in c->error (logged once by the caller). */
static void conf_read(pdb_srv_wms_conf *c, const char *path)
{
    char line[1024];
    int lineno = 0;
    conf_defaults(c, path);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    pdb_srv_wms_conf tmp = *c;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\0')
            continue;
        if (conf_line(&tmp, p, lineno) != 0) {
            snprintf(c->error, sizeof c->error, "%s", tmp.error);
            fclose(f);
            return;
        }
    }
    fclose(f);
    *c = tmp;
}

void pdb_srv_wms_conf_get(pdb_srv_wms_conf *out)
{
    const char *path = getenv("PARCELDB_WMS_CONFIG");
    if (path == NULL || *path == '\0')
        path = DEFAULT_CONF_PATH;
    pthread_mutex_lock(&conf_lock);
    uint64_t now = pdb_srv_now_us();
    if (!conf_loaded || now - conf_checked_us > CONF_CHECK_US) {
        struct stat st;
        struct timespec m = {0, 0};
        if (stat(path, &st) == 0)
            m = st.st_mtim;
        conf_checked_us = now;
        if (!conf_loaded || m.tv_sec != conf_mtime.tv_sec || m.tv_nsec != conf_mtime.tv_nsec ||
            strcmp(conf_now.path, path) != 0) {
            conf_read(&conf_now, path);
            conf_mtime = m;
            conf_loaded = 1;
            if (conf_now.error[0] != '\0')
                fprintf(stderr, "parceldb: wms: %s (defaults used)\n", conf_now.error);
        }
    }
    *out = conf_now;
    pthread_mutex_unlock(&conf_lock);
}

/* ------------------------------------------------------------------------ */
/* Styles                                                                    */
/* ------------------------------------------------------------------------ */

static pthread_once_t styles_once = PTHREAD_ONCE_INIT;
static pdb_srv_wms_style styles[PDB_SRV_WMS_MAX_STYLES]; /* set once */
static size_t nstyles;                                   /* entries of styles */

static int style_cmp(const void *a, const void *b)
{
    return strcmp(((const pdb_srv_wms_style *)a)->name, ((const pdb_srv_wms_style *)b)->name);
}

static void styles_load(void)
{
    char path[1024], dir[1024];
    pdbt_ctx *ctx = NULL;
    if (pdbt_ctx_new(NULL, &ctx) != PDB_OK)
        return;
    if (pdbt_style_default_path(path, sizeof path) == 0) {
        snprintf(dir, sizeof dir, "%s", path);
        char *d = dirname(dir);
        DIR *dh = opendir(d);
        struct dirent *e;
        while (dh != NULL && (e = readdir(dh)) != NULL && nstyles < PDB_SRV_WMS_MAX_STYLES) {
            size_t n = strlen(e->d_name);
            if (n < 6 || n > 60 || strcmp(e->d_name + n - 5, ".json") != 0 ||
                strspn(e->d_name, "abcdefghijklmnopqrstuvwxyz0123456789_-.") != n)
                continue;
            char file[1200];
            pdbt_style *s = NULL;
            snprintf(file, sizeof file, "%s/%s", d, e->d_name);
            if (pdbt_style_load(ctx, file, &s) != PDB_OK) {
                fprintf(stderr, "parceldb: wms: style %s not offered: %s\n", file,
                        pdbt_errmsg(ctx));
                continue;
            }
            pdb_srv_wms_style *ws = &styles[nstyles++];
            snprintf(ws->name, sizeof ws->name, "%.*s", (int)(n - 5), e->d_name);
            snprintf(ws->title, sizeof ws->title, "%s",
                     pdbt_style_name(s)[0] ? pdbt_style_name(s) : ws->name);
            ws->style = s;
        }
        if (dh != NULL)
            closedir(dh);
    }
    if (nstyles == 0 && pdbt_style_builtin(ctx, &styles[0].style) == PDB_OK) {
        snprintf(styles[0].name, sizeof styles[0].name, "landuse");
        snprintf(styles[0].title, sizeof styles[0].title, "%s", pdbt_style_name(styles[0].style));
        nstyles = 1;
    }
    qsort(styles, nstyles, sizeof styles[0], style_cmp);
    pdbt_ctx_free(ctx);
}

const pdb_srv_wms_style *pdb_srv_wms_styles(size_t *n)
{
    pthread_once(&styles_once, styles_load);
    *n = nstyles;
    return styles;
}

size_t pdb_srv_wms_default_style(pdb_srv_wms_layer l)
{
    size_t n;
    const pdb_srv_wms_style *s = pdb_srv_wms_styles(&n);
    const char *want = l == PDB_SRV_WMS_OUTLINE ? "outline" : "landuse";
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, want) == 0)
            return i;
    return 0;
}

unsigned pdb_srv_wms_layer_bits(pdb_srv_wms_layer l)
{
    return l == PDB_SRV_WMS_COMMUNES ? PDBT_LAYERS_COMMUNES : PDBT_LAYERS_PARCELS;
}

/* ------------------------------------------------------------------------ */
/* The document                                                              */
/* ------------------------------------------------------------------------ */

/* Writes text with XML's five characters escaped. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            /* Control characters are not XML 1.0 characters. */
            if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
                fputc(*s, f);
        }
    }
}

/* <name>text</name>, on its own line when indented. */
static void elem(FILE *f, const char *indent, const char *name, const char *text)
{
    fprintf(f, "%s<%s>", indent, name);
    xml_text(f, text);
    fprintf(f, "</%s>%s", name, indent[0] ? "\n" : "");
}

/* <OnlineResource .../>: in 1.1.1 with its own xlink namespace, which the
 * DTD fixes there (so the root may not declare it) and which parsers that
 * do not read the DTD need. */
static void online_resource(FILE *f, int v130, const char *url)
{
    fprintf(f, "<OnlineResource %sxlink:type=\"simple\" xlink:href=\"",
            v130 ? "" : "xmlns:xlink=\"http://www.w3.org/1999/xlink\" ");
    xml_text(f, url);
    fprintf(f, "\"/>");
}

/* The CRSs offered, in the capabilities' order. */
static size_t crs_codes(int *out, size_t cap)
{
    size_t n = 0, m;
    const pdb_crs_info *list = pdb_crs_list(&m);
    out[n++] = 3857;
    for (size_t i = 0; i < m && n < cap; i++)
        out[n++] = list[i].epsg;
    return n;
}

/* The scale denominator of Web Mercator zoom z at the standard pixel. */
static double scale_of_zoom(double z)
{
    return 2 * PDBT_MERC_MAX / (PDBT_TILE_SIZE * pow(2, z)) / PIXEL_M;
}

/* The CRS list and the boxes of one layer (or of the root layer). */
static void layer_extent(FILE *f, pdbt_ctx *ctx, int v130, const double ll[4], int with_crs)
{
    int codes[64];
    size_t n = crs_codes(codes, 64);
    if (with_crs) {
        for (size_t i = 0; i < n; i++)
            fprintf(f, "      <%s>EPSG:%d</%s>\n", v130 ? "CRS" : "SRS", codes[i],
                    v130 ? "CRS" : "SRS");
        if (v130)
            fprintf(f, "      <CRS>CRS:84</CRS>\n");
    }
    if (v130)
        fprintf(f,
                "      <EX_GeographicBoundingBox><westBoundLongitude>%.6f</westBoundLongitude>"
                "<eastBoundLongitude>%.6f</eastBoundLongitude><southBoundLatitude>%.6f"
                "</southBoundLatitude><northBoundLatitude>%.6f</northBoundLatitude>"
                "</EX_GeographicBoundingBox>\n",
                ll[0], ll[2], ll[1], ll[3]);
    else
        fprintf(f,
                "      <LatLonBoundingBox minx=\"%.6f\" miny=\"%.6f\" maxx=\"%.6f\" "
                "maxy=\"%.6f\"/>\n",
                ll[0], ll[1], ll[2], ll[3]);
    for (size_t i = 0; i < n; i++) {
        double b[4];
        if (pdbt_box_transform(ctx, PDB_EPSG_WGS84, codes[i], ll, b) != PDB_OK)
            continue;
        int geo = pdb_srv_wms_lat_first(codes[i]);
        const char *fmt = geo ? "%.6f" : "%.2f";
        char v[4][48];
        /* 1.3.0 writes each CRS's axes in its own order: latitude first
         * for EPSG:4326 and EPSG:4756 (QGIS builds its GetMap from these). */
        int swap = v130 && geo;
        for (int k = 0; k < 4; k++)
            snprintf(v[k], sizeof v[k], fmt, b[swap ? k ^ 1 : k]);
        fprintf(f,
                "      <BoundingBox %s=\"EPSG:%d\" minx=\"%s\" miny=\"%s\" maxx=\"%s\" "
                "maxy=\"%s\"/>\n",
                v130 ? "CRS" : "SRS", codes[i], v[0], v[1], v[2], v[3]);
    }
    if (v130)
        fprintf(f,
                "      <BoundingBox CRS=\"CRS:84\" minx=\"%.6f\" miny=\"%.6f\" maxx=\"%.6f\" "
                "maxy=\"%.6f\"/>\n",
                ll[0], ll[1], ll[2], ll[3]);
}

static void operation(FILE *f, int v130, const char *name, const char *url,
                      const char *const *formats)
{
    fprintf(f, "      <%s>\n", name);
    for (; *formats; formats++)
        elem(f, "        ", "Format", *formats);
    fprintf(f, "        <DCPType><HTTP><Get>");
    online_resource(f, v130, url);
    fprintf(f, "</Get></HTTP></DCPType>\n      </%s>\n", name);
}

static const char *const layer_titles[PDB_SRV_WMS_LAYER_COUNT] = {
    [PDB_SRV_WMS_PARCELS] = "Parcels by land use (thửa đất theo loại đất)",
    [PDB_SRV_WMS_OUTLINE] = "Parcel outlines and numbers (ranh giới thửa)",
    [PDB_SRV_WMS_COMMUNES] = "Commune boundaries and names (địa giới xã)",
};

static void one_layer(FILE *f, pdbt_ctx *ctx, int v130, pdb_srv_wms_layer l, const double ll[4])
{
    size_t ns;
    const pdb_srv_wms_style *st = pdb_srv_wms_styles(&ns);
    size_t def = pdb_srv_wms_default_style(l);
    fprintf(f, "    <Layer queryable=\"%d\" opaque=\"0\">\n", l != PDB_SRV_WMS_COMMUNES);
    elem(f, "      ", "Name", pdb_srv_wms_layer_name(l));
    elem(f, "      ", "Title", layer_titles[l]);
    layer_extent(f, ctx, v130, ll, 0);
    /* The default style first: clients take the first as the default. */
    for (size_t k = 0; k <= ns; k++) {
        size_t i = k == 0 ? def : k - 1;
        if (k > 0 && i == def)
            continue;
        fprintf(f, "      <Style>");
        elem(f, "", "Name", st[i].name);
        elem(f, "", "Title", st[i].title);
        fprintf(f, "</Style>\n");
    }
    /* Where the default style draws nothing of the layer. */
    double zmin, zmax;
    if (pdbt_style_zoom_range(st[def].style, pdb_srv_wms_layer_bits(l), &zmin, &zmax) == 0) {
        if (v130) {
            if (isfinite(zmax))
                fprintf(f, "      <MinScaleDenominator>%.2f</MinScaleDenominator>\n",
                        scale_of_zoom(zmax));
            if (zmin > 0)
                fprintf(f, "      <MaxScaleDenominator>%.2f</MaxScaleDenominator>\n",
                        scale_of_zoom(zmin));
        } else if (zmin > 0 || isfinite(zmax)) {
            /* 1.1.1's ScaleHint: the ground size of a pixel's diagonal. */
            double lo = isfinite(zmax) ? scale_of_zoom(zmax) * PIXEL_M * M_SQRT2 : 0;
            double hi = zmin > 0 ? scale_of_zoom(zmin) * PIXEL_M * M_SQRT2 : 1e9;
            fprintf(f, "      <ScaleHint min=\"%.6f\" max=\"%.6f\"/>\n", lo, hi);
        }
    }
    fprintf(f, "    </Layer>\n");
}

void pdb_srv_wms_capabilities(pdb_srv *srv, pdb_srv_worker *w, int v130, const char *base,
                              const double bounds[4], pdb_srv_response *out)
{
    pdb_srv_wms_conf c;
    char *text = NULL, url[600];
    size_t len = 0;
    double ll[4];
    (void)srv;

    pdb_srv_wms_conf_get(&c);
    memcpy(ll, bounds, sizeof ll);
    if (isnan(ll[0])) {
        /* An empty store: the province (Phu Tho after the 2025 merger). */
        ll[0] = 104.8, ll[1] = 20.5, ll[2] = 106.0, ll[3] = 21.9;
    }
    snprintf(url, sizeof url, "%s/wms?", base);
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    static const char *const map_formats[] = {"image/png", "image/jpeg", NULL};
    static const char *const info_formats[] = {"text/plain", "application/json", "text/html",
                                               "application/vnd.ogc.gml", NULL};
    static const char *const caps130[] = {"text/xml", NULL};
    static const char *const caps111[] = {"application/vnd.ogc.wms_xml", NULL};
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (v130)
        fprintf(f, "<WMS_Capabilities version=\"1.3.0\" xmlns=\"http://www.opengis.net/wms\" "
                   "xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
                   "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                   "xsi:schemaLocation=\"http://www.opengis.net/wms "
                   "http://schemas.opengis.net/wms/1.3.0/capabilities_1_3_0.xsd\">\n");
    else
        fprintf(f, "<!DOCTYPE WMT_MS_Capabilities SYSTEM "
                   "\"http://schemas.opengis.net/wms/1.1.1/WMS_MS_Capabilities.dtd\">\n"
                   "<WMT_MS_Capabilities version=\"1.1.1\">\n");
    fprintf(f, "  <Service>\n");
    elem(f, "    ", "Name", v130 ? "WMS" : "OGC:WMS");
    elem(f, "    ", "Title", c.title);
    elem(f, "    ", "Abstract", c.abstract);
    fprintf(f, "    <KeywordList>");
    for (const char *p = c.keywords; *p;) {
        size_t n = strcspn(p, ",");
        char kw[PDB_SRV_WMS_TEXT];
        snprintf(kw, sizeof kw, "%.*s", (int)n, p);
        if (n > 0)
            elem(f, "", "Keyword", kw);
        p += n + (p[n] == ',');
    }
    fprintf(f, "</KeywordList>\n    ");
    online_resource(f, v130, url);
    fprintf(f, "\n    <ContactInformation>\n      <ContactPersonPrimary>\n");
    elem(f, "        ", "ContactPerson", c.person);
    elem(f, "        ", "ContactOrganization", c.organization);
    fprintf(f, "      </ContactPersonPrimary>\n");
    elem(f, "      ", "ContactPosition", c.position);
    fprintf(f, "      <ContactAddress>\n");
    elem(f, "        ", "AddressType", "postal");
    elem(f, "        ", "Address", c.address);
    elem(f, "        ", "City", c.city);
    elem(f, "        ", "StateOrProvince", c.province);
    elem(f, "        ", "PostCode", c.postcode);
    elem(f, "        ", "Country", c.country);
    fprintf(f, "      </ContactAddress>\n");
    if (c.phone[0])
        elem(f, "      ", "ContactVoiceTelephone", c.phone);
    if (c.email[0])
        elem(f, "      ", "ContactElectronicMailAddress", c.email);
    fprintf(f, "    </ContactInformation>\n");
    elem(f, "    ", "Fees", c.fees);
    elem(f, "    ", "AccessConstraints", c.access);
    if (v130)
        fprintf(f,
                "    <LayerLimit>%d</LayerLimit>\n    <MaxWidth>%d</MaxWidth>\n"
                "    <MaxHeight>%d</MaxHeight>\n",
                PDB_SRV_WMS_MAX_LAYERS, c.max_px, c.max_px);
    fprintf(f, "  </Service>\n  <Capability>\n    <Request>\n");
    operation(f, v130, "GetCapabilities", url, v130 ? caps130 : caps111);
    operation(f, v130, "GetMap", url, map_formats);
    operation(f, v130, "GetFeatureInfo", url, info_formats);
    fprintf(f, "    </Request>\n    <Exception>\n");
    if (v130)
        fprintf(f, "      <Format>XML</Format>\n      <Format>INIMAGE</Format>\n"
                   "      <Format>BLANK</Format>\n");
    else
        fprintf(f, "      <Format>application/vnd.ogc.se_xml</Format>\n"
                   "      <Format>application/vnd.ogc.se_inimage</Format>\n"
                   "      <Format>application/vnd.ogc.se_blank</Format>\n");
    fprintf(f, "    </Exception>\n    <Layer>\n");
    elem(f, "      ", "Title", c.title);
    layer_extent(f, w->tctx, v130, ll, 1);
    for (int l = 0; l < PDB_SRV_WMS_LAYER_COUNT; l++)
        one_layer(f, w->tctx, v130, (pdb_srv_wms_layer)l, ll);
    fprintf(f, "    </Layer>\n  </Capability>\n</%s>\n",
            v130 ? "WMS_Capabilities" : "WMT_MS_Capabilities");
    pdb_srv_wms_send(out, f, &text, &len,
                     v130 ? "text/xml; charset=utf-8" : "application/vnd.ogc.wms_xml", "no-cache");
}
