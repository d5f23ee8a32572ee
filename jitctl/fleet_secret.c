/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet_secret.h"

int fleet_secret_new(char *buf, size_t size)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[FLEET_SECRET_BYTES];
        size_t got = 0;

        if (!buf || size < FLEET_SECRET_LEN + 1)
                return -EINVAL;
        /* Blocks only until the pool is first initialised, which is long
         * done on any host an admin runs this on. */
        while (got < sizeof(raw)) {
                ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t) n;
        }
        for (size_t i = 0; i < sizeof(raw); i++) {
                buf[2 * i] = hex[raw[i] >> 4];
                buf[2 * i + 1] = hex[raw[i] & 15];
        }
        buf[FLEET_SECRET_LEN] = '\0';
        explicit_bzero(raw, sizeof(raw));
        return 0;
}

int fleet_secret_create(const char *path, int *ret_fd)
{
        int fd;

        if (!path || path[0] != '/')
                return -EINVAL;
        /* O_EXCL with O_CREAT also refuses a symbolic link, dangling or not:
         * nothing is written through a link someone planted. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        /* The umask may have taken bits away, never added any; fchmod makes
         * it exactly 0600 so that what the man page says holds. */
        if (fchmod(fd, 0600) < 0) {
                int r = -errno;

                fleet_secret_discard(path, fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int fleet_secret_write(int fd, const char *secret)
{
        size_t n = strlen(secret), off = 0;
        char line[FLEET_SECRET_LEN + 2];

        if (n > FLEET_SECRET_LEN)
                return -EINVAL;
        memcpy(line, secret, n);
        line[n++] = '\n';
        while (off < n) {
                ssize_t k = write(fd, line + off, n - off);

                if (k < 0) {
                        int r = -errno;

                        if (r == -EINTR)
                                continue;
                        explicit_bzero(line, sizeof(line));
                        return r;
                }
                off += (size_t) k;
        }
        explicit_bzero(line, sizeof(line));
        return fsync(fd) < 0 ? -errno : 0;
}

void fleet_secret_discard(const char *path, int fd)
{
        struct stat a, b;

        if (fd < 0)
                return;
        if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                (void) unlink(path);
        close(fd);
}
