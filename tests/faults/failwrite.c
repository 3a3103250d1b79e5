/*
 * failwrite.c: an LD_PRELOAD shim that fills the disk on demand. Writes
 * to regular files under FAILWRITE_PATH (a path prefix) succeed until
 * FAILWRITE_BYTES bytes have been written in all, then fail with ENOSPC,
 * as a full filesystem does. Other files (the terminal, pipes, files
 * elsewhere) are never touched. For tests where no small filesystem can
 * be mounted (tests/faults/diskfull.sh); not part of any installed program.
 *
 * With ASan in the program, run it with ASAN_OPTIONS=verify_asan_link_order=0
 * (this shim carries no sanitizer and only forwards calls).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long budget = -1; /* bytes that may be written under prefix; -1: not read yet */
static const char *prefix;    /* only files under this path count */
static size_t prefix_len;     /* strlen(prefix) */
static long long spent;       /* bytes written under prefix so far */

static void init(void)
{
    if (__atomic_load_n(&budget, __ATOMIC_ACQUIRE) != -1)
        return;
    const char *b = getenv("FAILWRITE_BYTES");
    prefix = getenv("FAILWRITE_PATH");
    prefix_len = prefix ? strlen(prefix) : 0;
    __atomic_store_n(&budget, b ? atoll(b) : LLONG_MAX, __ATOMIC_RELEASE);
}

/* Whether fd is a regular file under the prefix. */
static int counted(int fd)
{
    struct stat sb;
    char link[64], path[PATH_MAX];
    if (prefix_len == 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return strncmp(path, prefix, prefix_len) == 0;
}

/* Charges n bytes to the budget; 0 when they fit, -1 (errno ENOSPC) when
 * the disk is "full". */
static int charge(int fd, size_t n)
{
    init();
    if (!counted(fd))
        return 0;
    long long after = __atomic_add_fetch(&spent, (long long)n, __ATOMIC_RELAXED);
    if (after > budget) {
        __atomic_sub_fetch(&spent, (long long)n, __ATOMIC_RELAXED);
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*posix_fallocate_fn)(int, off_t, off_t);

/* The next definition of name (libc's), looked up once. */
#define REAL(name)                                                                                 \
    static name##_fn real_##name;                                                                  \
    if (real_##name == NULL)                                                                       \
        real_##name = (name##_fn)dlsym(RTLD_NEXT, #name);

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    if (charge(fd, n) != 0)
        return -1;
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite);
    if (charge(fd, n) != 0)
        return -1;
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    REAL(pwrite64);
    if (charge(fd, n) != 0)
        return -1;
    return real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev);
    size_t n = 0;
    for (int i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    if (charge(fd, n) != 0)
        return -1;
    return real_writev(fd, iov, cnt);
}

/* SQLite may grow a file with fallocate() before writing into it. */
int posix_fallocate(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate);
    init();
    if (counted(fd) && __atomic_load_n(&spent, __ATOMIC_RELAXED) >= budget)
        return ENOSPC;
    return real_posix_fallocate(fd, off, len);
}
