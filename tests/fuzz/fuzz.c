/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[256];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
        (void) sb, (void) flag, (void) ftw;
        return remove(p);
}

static void remove_dir(void)
{
        if (dir[0])
                nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_dir(void)
{
        if (!dir[0]) {
                const char *base = getenv("TMPDIR");

                snprintf(dir, sizeof(dir), "%s/jitfuzz.XXXXXX",
                         base && base[0] == '/' && strlen(base) < 200 ? base : "/tmp");
                if (!mkdtemp(dir)) {
                        perror("mkdtemp");
                        abort();
                }
                atexit(remove_dir);
        }
        return dir;
}

const char *fuzz_write(const char *name, const void *data, size_t n)
{
        static char path[256];
        const char *p = data;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                perror(path);
                abort();
        }
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        perror(path);
                        abort();
                }
                p += k;
                n -= (size_t) k;
        }
        close(fd);
        return path;
}

size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **starts, size_t *lens, size_t max)
{
        const size_t seplen = sizeof(FUZZ_SPLIT) - 1;
        size_t n = 0;

        while (n + 1 < max) {
                const uint8_t *sep = memmem(data, size, FUZZ_SPLIT, seplen);

                if (!sep)
                        break;
                starts[n] = data;
                lens[n] = (size_t) (sep - data);
                n++;
                size -= (size_t) (sep - data) + seplen;
                data = sep + seplen;
        }
        starts[n] = data;
        lens[n] = size;
        return n + 1;
}

void fuzz_fail(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fputs("fuzz invariant broken: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        abort();
}
