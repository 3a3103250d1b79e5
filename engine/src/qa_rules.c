/*
 * qa_rules.c: the quality checks' names, default rules and the rules file
 * ("check.key = value" lines, docs/qa.md).
 */
#include "internal.h"
#include "qa.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One threshold a rules file may set. */
typedef struct qa_param {
    const char *key; /* as written after "check." */
    double value;    /* default */
} qa_param;

static const struct {
    const char *name;                   /* stable name */
    pdb_qa_severity severity;           /* default severity */
    qa_param params[PDB_QA_MAX_PARAMS]; /* thresholds, NULL key ends */
} checks[PDB_QA_CHECK_COUNT] = {
    /* min_width_m: twice the most two surveys rounded to the millimetre can
     * leave between their copies of a vertex (1.4 mm; 1.0 mm measured between
     * zones), below the narrowest planted overlap (a corner moved 0.3 m at a
     * nearly straight angle: 4.5 mm). docs/qa.md gives the measurements. */
    [PDB_QA_OVERLAP] = {"overlap", PDB_QA_ERROR, {{"min_area_m2", 0.01}, {"min_width_m", 0.003}}},
    [PDB_QA_OVERLAP_COMMUNE] = {"overlap_commune",
                                PDB_QA_ERROR,
                                {{"min_area_m2", 0.01}, {"min_width_m", 0.003}}},
    [PDB_QA_GAP] = {"gap", PDB_QA_ERROR, {{"max_width_m", 0.2}, {"max_area_m2", 1.0}}},
    [PDB_QA_OUTSIDE_COMMUNE] = {"outside_commune", PDB_QA_ERROR, {{NULL, 0}}},
    [PDB_QA_DUPLICATE_NUMBER] = {"duplicate_number", PDB_QA_ERROR, {{NULL, 0}}},
    [PDB_QA_MISSING_NUMBER] = {"missing_number", PDB_QA_INFO, {{NULL, 0}}},
    [PDB_QA_AREA_MISMATCH] = {"area_mismatch",
                              PDB_QA_WARNING,
                              {{"a_m2", 0.0}, {"b_m", 0.4}, {"scale", 2000.0}, {"min_rel", 0.005}}},
    [PDB_QA_INVALID] = {"invalid", PDB_QA_ERROR, {{NULL, 0}}},
    [PDB_QA_REPAIRED] = {"repaired", PDB_QA_WARNING, {{NULL, 0}}},
    [PDB_QA_TINY] = {"tiny", PDB_QA_WARNING, {{"min_area_m2", 1.0}}},
    [PDB_QA_NEEDLE] = {"needle", PDB_QA_WARNING, {{"min_ratio", 0.05}, {"check_linear", 0}}},
    [PDB_QA_CLOSE_VERTICES] = {"close_vertices", PDB_QA_WARNING, {{"min_distance_m", 0.001}}},
    [PDB_QA_UNKNOWN_LANDUSE] = {"unknown_landuse", PDB_QA_WARNING, {{NULL, 0}}},
    [PDB_QA_OVERLAP_SLIVER] = {"overlap_sliver", PDB_QA_INFO, {{NULL, 0}}},
};

static const char *const severity_names[] = {"off", "info", "warning", "error"};

const char *pdb_qa_check_name(pdb_qa_check check)
{
    if ((int)check < 0 || check >= PDB_QA_CHECK_COUNT)
        return NULL;
    return checks[check].name;
}

const char *pdb_qa_severity_name(pdb_qa_severity sev)
{
    if ((int)sev < 0 || (size_t)sev >= PDB_COUNTOF(severity_names))
        return "?";
    return severity_names[sev];
}

pdb_qa_severity pdb_qa_rules_severity(const pdb_qa_rules *rules, pdb_qa_check check)
{
    if (rules == NULL || (int)check < 0 || check >= PDB_QA_CHECK_COUNT)
        return PDB_QA_OFF;
    return rules->severity[check];
}

pdb_status pdb_qa_rules_default(pdb_ctx *ctx, pdb_qa_rules **out)
{
    pdb_qa_rules *r = calloc(1, sizeof *r);
    *out = NULL;
    if (r == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    for (int c = 0; c < PDB_QA_CHECK_COUNT; c++) {
        r->severity[c] = checks[c].severity;
        for (int k = 0; k < PDB_QA_MAX_PARAMS && checks[c].params[k].key; k++)
            r->param[c][k] = checks[c].params[k].value;
    }
    *out = r;
    return pdb__ok(ctx);
}

void pdb_qa_rules_free(pdb_qa_rules *rules)
{
    free(rules);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* One "check.key = value" line into r; a message in msg on failure. */
static int rules_line(pdb_qa_rules *r, char *line, char *msg, size_t cap)
{
    char *eq = strchr(line, '='), *dot;
    if (eq == NULL) {
        snprintf(msg, cap, "expected 'check.key = value', got '%.60s'", line);
        return -1;
    }
    *eq = '\0';
    char *name = trim(line), *value = trim(eq + 1);
    if ((dot = strchr(name, '.')) == NULL) {
        snprintf(msg, cap, "expected 'check.key', got '%.60s'", name);
        return -1;
    }
    *dot = '\0';
    const char *key = dot + 1;
    int c = 0;
    while (c < PDB_QA_CHECK_COUNT && strcmp(checks[c].name, name) != 0)
        c++;
    if (c == PDB_QA_CHECK_COUNT) {
        snprintf(msg, cap, "unknown check '%.60s'", name);
        return -1;
    }
    if (strcmp(key, "severity") == 0) {
        for (size_t s = 0; s < PDB_COUNTOF(severity_names); s++)
            if (strcmp(value, severity_names[s]) == 0) {
                r->severity[c] = (pdb_qa_severity)s;
                return 0;
            }
        snprintf(msg, cap, "%s.severity: '%.40s' is not error, warning, info or off", name, value);
        return -1;
    }
    for (int k = 0; k < PDB_QA_MAX_PARAMS && checks[c].params[k].key; k++) {
        if (strcmp(key, checks[c].params[k].key) != 0)
            continue;
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (*value == '\0' || *end != '\0' || errno != 0 || !isfinite(v)) {
            snprintf(msg, cap, "%s.%s: '%.40s' is not a number", name, key, value);
            return -1;
        }
        if (v < 0) {
            snprintf(msg, cap, "%s.%s: %g is negative", name, key, v);
            return -1;
        }
        r->param[c][k] = v;
        return 0;
    }
    snprintf(msg, cap, "check %s has no setting '%.40s'", name, key);
    return -1;
}

pdb_status pdb_qa_rules_read(pdb_ctx *ctx, const char *path, pdb_qa_rules **out)
{
    pdb_status st;
    pdb_qa_rules *r = NULL;
    char line[512], msg[200];
    int lineno = 0;
    FILE *f;

    *out = NULL;
    if ((f = fopen(path, "r")) == NULL)
        return pdb__fail(ctx, errno == ENOENT ? PDB_ENOTFOUND : PDB_EIO, "%s: %s", path,
                         strerror(errno));
    if ((st = pdb_qa_rules_default(ctx, &r)) != PDB_OK)
        goto done;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            st = pdb__fail(ctx, PDB_EINVAL, "%s:%d: line longer than %zu bytes", path, lineno,
                           sizeof line - 2);
            goto done;
        }
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        if (rules_line(r, s, msg, sizeof msg) != 0) {
            st = pdb__fail(ctx, PDB_EINVAL, "%s:%d: %s", path, lineno, msg);
            goto done;
        }
    }
    if (ferror(f)) {
        st = pdb__fail(ctx, PDB_EIO, "%s: read error", path);
        goto done;
    }
    *out = r;
    r = NULL;
    st = pdb__ok(ctx);
done:
    fclose(f);
    pdb_qa_rules_free(r);
    return st;
}
