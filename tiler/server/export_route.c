/*
 * export_route.c: GET /export. The server knows nothing of GDAL (DESIGN.md),
 * so the file is made by parceldb-export, the program behind `parceldb
 * export`, run as a child with the store's path and the request's
 * parameters (never through a shell), into a directory of its own made
 * with mkdtemp. Its exit status and its one-line message become the
 * answer's status and error; its file is opened, unlinked and sent from
 * the descriptor, so that nothing is left on disk whatever the client
 * does. With a personal token the child records the audit row for the
 * token's name (--audit-as) before the file exists under its name: no
 * row, no owners.
 */
#include "export_route.h"

#include "server.h"
#include "srv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* parceldb-export's exit statuses that are the request's fault
 * (docs/export.md, "Exit status"; cli/cmd_export_files.c). */
enum {
    EXPORTER_BAD_INPUT = 2, /* a parameter it cannot use: 400 */
    EXPORTER_NOTHING = 3,   /* a commune or selection without parcels: 404 */
};

/* Exports in progress, over all threads. */
static atomic_int in_progress;

/* The formats, as the query names them. */
static const struct {
    const char *query; /* format= */
    const char *gdal;  /* parceldb-export --format */
    const char *ext;   /* the file's name ends so */
    const char *type;  /* Content-Type */
} formats[] = {
    {"gpkg", "GPKG", ".gpkg", "application/geopackage+sqlite3"},
    {"shp", "ESRI Shapefile", ".shp.zip", "application/zip"},
    {"geojson", "GeoJSON", ".geojson", "application/geo+json"},
};

/* A parameter value safe to pass on (no control characters; the child gets
 * it as one argv entry, never through a shell). */
static int plain(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n == 0 || n > max)
        return 0;
    for (const char *s = v; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Runs argv, its stderr's last line into msg; returns its exit status, or
 * -1 when it could not run, was killed or passed the deadline. */
static int run_child(char *const argv[], char *msg, size_t cap)
{
    int fds[2];
    pid_t pid;
    posix_spawn_file_actions_t fa;

    msg[0] = '\0';
    /* Both ends close on exec: another thread's child must not hold the
     * write end open (dup2 makes the child's stderr a copy without it). */
    if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        snprintf(msg, cap, "cannot run the exporter: pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        snprintf(msg, cap, "cannot run the exporter %s: %s", argv[0], strerror(err));
        return -1;
    }
    /* Its stderr, the last line kept, until it closes or time runs out. */
    char buf[1024];
    size_t used = 0;
    time_t deadline = time(NULL) + PDB_SRV_EXPORT_TIMEOUT_S;
    int timed_out = 0;
    for (;;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int left = (int)(deadline - time(NULL));
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        int r = poll(&p, 1, left * 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        if (used == sizeof buf - 1)
            used = 0; /* only the end matters */
        ssize_t n = read(fds[0], buf + used, sizeof buf - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buf[used] = '\0';
    while (used > 0 && buf[used - 1] == '\n')
        buf[--used] = '\0';
    const char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    /* "parceldb: export: why" and "parceldb export: why (try 'parceldb
     * export --help')" -> "why" */
    if (strncmp(last, "parceldb: ", 10) == 0)
        last += 10;
    else if (strncmp(last, "parceldb ", 9) == 0)
        last += 9;
    if (strncmp(last, "export: ", 8) == 0)
        last += 8;
    size_t len = strlen(last);
    static const char try_help[] = " (try 'parceldb export --help')";
    if (len >= sizeof try_help - 1 && strcmp(last + len - (sizeof try_help - 1), try_help) == 0)
        len -= sizeof try_help - 1;
    size_t keep = len < cap ? len : cap - 1;
    memcpy(msg, last, keep); /* a long message is cut */
    msg[keep] = '\0';
    if (timed_out) {
        snprintf(msg, cap, "the export took more than %d s", PDB_SRV_EXPORT_TIMEOUT_S);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void pdb_srv_export_route(pdb_srv_worker *w, const pdb_srv_request *req, const char *personal,
                          pdb_srv_response *out)
{
    const pdb_srv_options *o = &w->srv->opt;
    const char *commune = pdb_srv_param_get(req, "commune");
    const char *format = pdb_srv_param_get(req, "format");
    const char *at = pdb_srv_param_get(req, "at");
    const char *sheet = pdb_srv_param_get(req, "sheet");
    const char *srs = pdb_srv_param_get(req, "srs");
    size_t f = 0;

    if (commune == NULL || strlen(commune) != 5 || strspn(commune, "0123456789") != 5) {
        pdb_srv_error(out, 400, "commune must be a five-digit commune code");
        return;
    }
    while (format != NULL && f < sizeof formats / sizeof formats[0] &&
           strcmp(format, formats[f].query) != 0)
        f++;
    if (format == NULL || f == sizeof formats / sizeof formats[0]) {
        pdb_srv_error(out, 400, "format must be gpkg, shp or geojson");
        return;
    }
    if ((at != NULL && !plain(at, 40)) || (sheet != NULL && !plain(sheet, 16)) ||
        (srs != NULL && !plain(srs, 40))) {
        pdb_srv_error(out, 400, "at, sheet and srs take short plain text");
        return;
    }
    if (o->exporter == NULL) {
        pdb_srv_error(out, 503, "the exporter (parceldb-export) is not installed");
        return;
    }
    if (atomic_fetch_add(&in_progress, 1) >= PDB_SRV_EXPORT_MAX) {
        atomic_fetch_sub(&in_progress, 1);
        pdb_srv_error(out, 503, "%d exports are being made; try again", PDB_SRV_EXPORT_MAX);
        out->retry_after_s = 5;
        return;
    }

    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600], msg[512];
    snprintf(dir, sizeof dir, "%s/pdb-export-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        atomic_fetch_sub(&in_progress, 1);
        pdb_srv_error(out, 503, "cannot make a temporary directory: %s", strerror(errno));
        return;
    }
    snprintf(path, sizeof path, "%s/%s%s", dir, commune, formats[f].ext);
    const char *audit_db = o->audit_path ? o->audit_path : o->db_path;
    char *argv[24];
    int n = 0;
    argv[n++] = (char *)o->exporter;
    argv[n++] = "--db";
    argv[n++] = (char *)o->db_path;
    argv[n++] = "--format";
    argv[n++] = (char *)formats[f].gdal;
    argv[n++] = "--commune";
    argv[n++] = (char *)commune;
    if (at) {
        argv[n++] = "--at";
        argv[n++] = (char *)at;
    }
    if (sheet) {
        argv[n++] = "--sheet";
        argv[n++] = (char *)sheet;
    }
    if (srs) {
        argv[n++] = "--srs";
        argv[n++] = (char *)srs;
    }
    if (personal) {
        argv[n++] = "--personal";
        argv[n++] = "--audit-as";
        argv[n++] = (char *)personal;
        argv[n++] = "--audit-db";
        argv[n++] = (char *)audit_db;
    }
    argv[n++] = "-o";
    argv[n++] = path;
    argv[n] = NULL;

    int rc = run_child(argv, msg, sizeof msg);
    atomic_fetch_sub(&in_progress, 1);
    int fd = rc == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    unlink(path); /* the descriptor keeps the bytes until they are sent */
    rmdir(dir);
    if (rc != 0) {
        /* parceldb-export's exit status says whose the failure is
         * (docs/export.md, "Exit status"): 2 a parameter it cannot use,
         * 3 a commune or selection without parcels; 1 (the store, the
         * disk, memory), a kill or the deadline is the server's. */
        int status = rc == EXPORTER_BAD_INPUT ? 400 : rc == EXPORTER_NOTHING ? 404 : 503;
        pdb_srv_error(out, status, "%s", msg[0] ? msg : "the export failed");
        return;
    }
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        pdb_srv_error(out, 503, "the exporter left no file");
        return;
    }
    out->status = 200;
    out->content_type = formats[f].type;
    out->has_file = 1;
    out->file_fd = fd;
    out->len = (size_t)sb.st_size;
    snprintf(out->content_disposition, sizeof out->content_disposition,
             "attachment; filename=\"%s%s\"", commune, formats[f].ext);
    out->cache_control = "private, no-store";
    out->vary = "Authorization";
}
