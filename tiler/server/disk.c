/*
 * disk.c: the disk tile cache. Plain files, one per tile, found by name:
 * no index to corrupt, and the kernel's page cache does the rest.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "disk.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEADER_SIZE 32
#define MAGIC "PDBTILE1"
#define MAX_STATE_BYTES (4u << 20)

struct pdb_srv_disk {
    char *root;              /* DIR/s-<style hash> */
    atomic_uint tmp_counter; /* makes temporary names unique within the process */
};

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    return 0;
}

int pdb_srv_disk_open(const char *dir, uint64_t style_hash, pdb_srv_disk **out, char *err,
                      size_t errcap)
{
    pdb_srv_disk *d = calloc(1, sizeof *d);
    struct stat sb;

    *out = NULL;
    if (d == NULL)
        return pdb_srv_fail(err, errcap, "out of memory");
    size_t n = strlen(dir) + 32;
    if ((d->root = malloc(n)) == NULL) {
        free(d);
        return pdb_srv_fail(err, errcap, "out of memory");
    }
    snprintf(d->root, n, "%s/s-%016llx", dir, (unsigned long long)style_hash);
    if (mkdir_p(d->root) != 0 || stat(d->root, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        access(d->root, W_OK) != 0) {
        pdb_srv_fail(err, errcap, "cache directory %s: %s", d->root, strerror(errno));
        pdb_srv_disk_close(d);
        return -1;
    }
    atomic_init(&d->tmp_counter, 0);
    *out = d;
    return 0;
}

void pdb_srv_disk_close(pdb_srv_disk *d)
{
    if (d == NULL)
        return;
    free(d->root);
    free(d);
}

/* nftw has no argument for its callback: the sweep's state, one sweep at
 * a time (the server's start). */
static pthread_mutex_t sweep_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t sweep_before;  /* files last written before this are stale */
static size_t sweep_removed; /* files removed */

static int sweep_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    if (type == FTW_F && S_ISREG(sb->st_mode) && strstr(path + ftw->base, ".tile.tmp.") != NULL &&
        sb->st_mtime < sweep_before && unlink(path) == 0)
        sweep_removed++;
    return 0;
}

size_t pdb_srv_disk_sweep_tmp(pdb_srv_disk *d)
{
    pthread_mutex_lock(&sweep_lock);
    sweep_before = time(NULL) - PDB_SRV_DISK_TMP_STALE_S;
    sweep_removed = 0;
    nftw(d->root, sweep_one, 16, FTW_PHYS);
    size_t n = sweep_removed;
    pthread_mutex_unlock(&sweep_lock);
    return n;
}

const char *pdb_srv_disk_path(const pdb_srv_disk *d)
{
    return d->root;
}

static void tile_path(const pdb_srv_disk *d, const pdb_srv_tile_key *k, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%u/%u/%u%s.tile", d->root, (unsigned)k->z, (unsigned)k->x,
             (unsigned)k->y, k->scale == 2 ? "@2x" : "");
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

pdb_srv_blob *pdb_srv_disk_get(pdb_srv_disk *d, const pdb_srv_tile_key *key, uint64_t epoch,
                               int64_t min_version, int64_t *version)
{
    char path[4200];
    unsigned char h[HEADER_SIZE];
    pdb_srv_blob *b = NULL;
    struct stat sb;
    int fd;

    tile_path(d, key, path, sizeof path);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    if (fstat(fd, &sb) != 0 || sb.st_size < HEADER_SIZE ||
        sb.st_size > (off_t)PDB_SRV_DISK_MAX_TILE + HEADER_SIZE ||
        read(fd, h, HEADER_SIZE) != HEADER_SIZE || memcmp(h, MAGIC, 8) != 0)
        goto done;
    uint64_t len = get_u64(h + 24);
    int64_t v = (int64_t)get_u64(h + 16);
    if (get_u64(h + 8) != epoch || v < min_version || len != (uint64_t)sb.st_size - HEADER_SIZE)
        goto done;
    if ((b = pdb_srv_blob_new(NULL, (size_t)len)) == NULL)
        goto done;
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, b->data + got, (size_t)len - got);
        if (r <= 0) {
            pdb_srv_blob_unref(b);
            b = NULL;
            goto done;
        }
        got += (size_t)r;
    }
    *version = v;
done:
    close(fd);
    return b;
}

/* Writes buf to path through a temporary file in the same directory. */
static int write_atomic(pdb_srv_disk *d, const char *path, const void *head, size_t hlen,
                        const void *body, size_t blen)
{
    char tmp[4300];
    unsigned n = atomic_fetch_add(&d->tmp_counter, 1);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), n);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const unsigned char *parts[2] = {head, body};
    size_t lens[2] = {hlen, blen};
    for (int i = 0; i < 2; i++)
        for (size_t off = 0; off < lens[i];) {
            ssize_t w = write(fd, parts[i] + off, lens[i] - off);
            if (w <= 0) {
                int e = errno;
                close(fd);
                unlink(tmp);
                errno = e ? e : EIO;
                return -1;
            }
            off += (size_t)w;
        }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int pdb_srv_disk_put(pdb_srv_disk *d, const pdb_srv_tile_key *key, uint64_t epoch, int64_t version,
                     const pdb_srv_blob *png)
{
    char path[4200], dir[4200];
    unsigned char h[HEADER_SIZE];

    if (png->len > PDB_SRV_DISK_MAX_TILE) {
        errno = EFBIG;
        return -1;
    }
    tile_path(d, key, path, sizeof path);
    snprintf(dir, sizeof dir, "%s/%u/%u", d->root, (unsigned)key->z, (unsigned)key->x);
    memcpy(h, MAGIC, 8);
    put_u64(h + 8, epoch);
    put_u64(h + 16, (uint64_t)version);
    put_u64(h + 24, png->len);
    if (write_atomic(d, path, h, sizeof h, png->data, png->len) == 0)
        return 0;
    if (errno != ENOENT || mkdir_p(dir) != 0)
        return -1;
    return write_atomic(d, path, h, sizeof h, png->data, png->len);
}

char *pdb_srv_disk_state_read(pdb_srv_disk *d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/state", d->root);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(MAX_STATE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_STATE_BYTES + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > MAX_STATE_BYTES) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int pdb_srv_disk_state_write(pdb_srv_disk *d, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/state", d->root);
    return write_atomic(d, path, "", 0, text, strlen(text));
}
