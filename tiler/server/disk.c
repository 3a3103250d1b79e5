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
#define USE_GRAIN_S 600 /* a read refreshes a tile's access time at most this often */

struct pdb_srv_disk {
    char *base;              /* DIR, the whole cache (every style's directory) */
    char *root;              /* DIR/s-<style hash> */
    uint64_t max_bytes;      /* the size limit of DIR, or 0 for none */
    atomic_uint tmp_counter; /* makes temporary names unique within the process */
};

/* The size accounting is the process's, not the handle's: after a SIGHUP
 * the old and the new configuration's handles write into the same DIR for
 * a moment, and the evictions counter must not start again from zero. A
 * process serves one cache directory. */
static atomic_uint_fast64_t disk_bytes;   /* bytes of the regular files under DIR, as counted */
static atomic_uint_fast64_t disk_evicted; /* tiles removed to keep DIR under its limit */
/* One eviction at a time; it also guards the walks' state below (nftw
 * has no argument for its callback). */
static pthread_mutex_t evict_lock = PTHREAD_MUTEX_INITIALIZER;

/* One tile file as the eviction sees it. */
typedef struct {
    int64_t used;  /* last written or read: max of mtime and atime, ns */
    uint64_t size; /* apparent size, bytes */
} tile_age;

static struct {
    uint64_t total;     /* bytes of the regular files walked */
    tile_age *tiles;    /* the *.tile files walked (pass 1) */
    size_t n, cap;      /* tiles used, allocated */
    int oom;            /* the array could not grow */
    int64_t cutoff;     /* pass 2: remove tiles used before this (ns)... */
    uint64_t at_cutoff; /* ...and this many bytes of those used exactly then */
    uint64_t removed;   /* pass 2: bytes removed */
    uint64_t nremoved;  /* pass 2: files removed */
} walk;

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

/* When a tile was last used, in ns: written (mtime) or read (atime, which
 * pdb_srv_disk_get sets). Nanoseconds, so that tiles written in the same
 * second still leave in order. */
static int64_t last_use(const struct stat *sb)
{
    int64_t m = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    int64_t a = (int64_t)sb->st_atim.tv_sec * 1000000000 + sb->st_atim.tv_nsec;
    return a > m ? a : m;
}

static int is_tile(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".tile") == 0;
}

/* Pass 1: the size of every regular file, and the age of every tile. */
static int walk_count(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    if (type != FTW_F || !S_ISREG(sb->st_mode))
        return 0;
    walk.total += (uint64_t)sb->st_size;
    if (walk.tiles == NULL || !is_tile(path + ftw->base))
        return 0;
    if (walk.n == walk.cap) {
        size_t cap = walk.cap ? 2 * walk.cap : 4096;
        tile_age *t = realloc(walk.tiles, cap * sizeof *t);
        if (t == NULL) {
            walk.oom = 1;
            return 1;
        }
        walk.tiles = t;
        walk.cap = cap;
    }
    walk.tiles[walk.n].used = last_use(sb);
    walk.tiles[walk.n++].size = (uint64_t)sb->st_size;
    return 0;
}

/* Pass 2: removes the tiles used before the cutoff, and those used at it
 * until their share is gone. */
static int walk_evict(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    if (type != FTW_F || !S_ISREG(sb->st_mode) || !is_tile(path + ftw->base))
        return 0;
    int64_t used = last_use(sb);
    if (used > walk.cutoff || (used == walk.cutoff && walk.at_cutoff == 0))
        return 0;
    if (unlink(path) != 0)
        return 0; /* another process sharing the cache removed it first */
    if (used == walk.cutoff)
        walk.at_cutoff =
            walk.at_cutoff > (uint64_t)sb->st_size ? walk.at_cutoff - (uint64_t)sb->st_size : 0;
    walk.removed += (uint64_t)sb->st_size;
    walk.nremoved++;
    return 0;
}

static int by_use(const void *a, const void *b)
{
    int64_t x = ((const tile_age *)a)->used, y = ((const tile_age *)b)->used;
    return (x > y) - (x < y);
}

/* One walk of DIR: its size now, the starting point of the counter. */
static void disk_measure(pdb_srv_disk *d)
{
    pthread_mutex_lock(&evict_lock);
    memset(&walk, 0, sizeof walk);
    nftw(d->base, walk_count, 16, FTW_PHYS);
    atomic_store(&disk_bytes, walk.total);
    pthread_mutex_unlock(&evict_lock);
}

/* Brings DIR down to 90% of its limit, least recently used tiles first:
 * a batch, so that the walk is paid once per tenth of the limit written,
 * not once per tile. Walking DIR (not trusting the counter) also counts
 * what other processes sharing the cache wrote or removed. */
static void disk_evict(pdb_srv_disk *d)
{
    pthread_mutex_lock(&evict_lock);
    if (atomic_load(&disk_bytes) <= d->max_bytes)
        goto done; /* another thread evicted while this one waited */
    memset(&walk, 0, sizeof walk);
    walk.tiles = malloc(4096 * sizeof *walk.tiles);
    walk.cap = walk.tiles ? 4096 : 0;
    nftw(d->base, walk_count, 16, FTW_PHYS);
    if (walk.tiles == NULL || walk.oom || walk.n == 0 || walk.total <= d->max_bytes) {
        atomic_store(&disk_bytes, walk.total);
        goto done;
    }
    uint64_t target = d->max_bytes / 10 * 9, excess = walk.total - target, sum = 0;
    qsort(walk.tiles, walk.n, sizeof *walk.tiles, by_use);
    size_t i = 0;
    while (i < walk.n && sum + walk.tiles[i].size < excess)
        sum += walk.tiles[i++].size;
    if (i == walk.n)
        i = walk.n - 1;
    walk.cutoff = walk.tiles[i].used;
    /* The bytes still to remove among the tiles used at the cutoff instant:
     * the excess less those used before it. */
    for (size_t j = 0; j < i && walk.tiles[j].used < walk.cutoff; j++)
        excess -= walk.tiles[j].size;
    walk.at_cutoff = excess;
    nftw(d->base, walk_evict, 16, FTW_PHYS);
    atomic_store(&disk_bytes, walk.total - walk.removed);
    atomic_fetch_add(&disk_evicted, walk.nremoved);
done:
    free(walk.tiles);
    walk.tiles = NULL;
    pthread_mutex_unlock(&evict_lock);
}

uint64_t pdb_srv_disk_bytes(void)
{
    return atomic_load(&disk_bytes);
}

uint64_t pdb_srv_disk_evictions(void)
{
    return atomic_load(&disk_evicted);
}

int pdb_srv_disk_open(const char *dir, uint64_t style_hash, uint64_t max_bytes, pdb_srv_disk **out,
                      char *err, size_t errcap)
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
    d->max_bytes = max_bytes;
    if ((d->base = strdup(dir)) == NULL) {
        pdb_srv_disk_close(d);
        return pdb_srv_fail(err, errcap, "out of memory");
    }
    if (mkdir_p(d->root) != 0 || stat(d->root, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        access(d->root, W_OK) != 0) {
        pdb_srv_fail(err, errcap, "cache directory %s: %s", d->root, strerror(errno));
        pdb_srv_disk_close(d);
        return -1;
    }
    atomic_init(&d->tmp_counter, 0);
    if (max_bytes > 0)
        disk_measure(d);
    *out = d;
    return 0;
}

void pdb_srv_disk_close(pdb_srv_disk *d)
{
    if (d == NULL)
        return;
    free(d->base);
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
             (unsigned)k->y,
             k->kind == PDB_SRV_TILE_MVT ? ".mvt"
             : k->scale == 2             ? "@2x"
                                         : "");
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
    /* The eviction removes the least recently used tiles: a hit says so
     * through the file's access time, set explicitly (noatime and relatime
     * mounts do not), and at most every USE_GRAIN_S seconds, so that hot
     * tiles cost no write per read. */
    if (d->max_bytes > 0 && time(NULL) - sb.st_atime > USE_GRAIN_S)
        futimens(fd, (const struct timespec[2]){{.tv_nsec = UTIME_NOW}, {.tv_nsec = UTIME_OMIT}});
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
    struct stat old;
    uint64_t replaced = d->max_bytes > 0 && stat(path, &old) == 0 ? (uint64_t)old.st_size : 0;
    if (write_atomic(d, path, h, sizeof h, png->data, png->len) != 0 &&
        (errno != ENOENT || mkdir_p(dir) != 0 ||
         write_atomic(d, path, h, sizeof h, png->data, png->len) != 0))
        return -1;
    if (d->max_bytes == 0)
        return 0;
    /* Counted as written; the walk of an eviction corrects what a race
     * with another writer of the same tile miscounts. */
    uint64_t now = atomic_fetch_add(&disk_bytes, HEADER_SIZE + png->len) + HEADER_SIZE + png->len;
    if (replaced > 0)
        now = atomic_fetch_sub(&disk_bytes, replaced) - replaced;
    if (now > d->max_bytes)
        disk_evict(d);
    return 0;
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
