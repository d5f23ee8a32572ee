/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vet.h"

static int check_owner_mode(const char *path, const struct stat *st, const char *what, char *why, size_t why_size)
{
        if (st->st_uid != geteuid()) {
                snprintf(why, why_size, "%s %s is owned by uid %u, not by root", what, path, (unsigned) st->st_uid);
                return -EPERM;
        }
        if (st->st_mode & (S_IWGRP | S_IWOTH)) {
                snprintf(why, why_size, "%s %s is writable by group or others (mode %04o)", what, path,
                         (unsigned) (st->st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

int vet_dir(const char *path, char *why, size_t why_size)
{
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                snprintf(why, why_size, "directory %s: %s", path,
                         r == -ENOTDIR || r == -ELOOP ? "not a directory (or a symlink)" : strerror(-r));
                return r == -ELOOP ? -ENOTDIR : r;
        }
        r = fstat(fd, &st) < 0 ? -errno : 0;
        close(fd);
        if (r < 0) {
                snprintf(why, why_size, "directory %s: %s", path, strerror(-r));
                return r;
        }
        return check_owner_mode(path, &st, "directory", why, why_size);
}

int vet_parent_dir(const char *path, char *why, size_t why_size)
{
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        return vet_dir(dirname(copy), why, why_size);
}

static int vet_file(const char *path, bool must_exist, char *why, size_t why_size)
{
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT && !must_exist)
                        return 0;
                snprintf(why, why_size, "%s: %s", path, r == -ELOOP ? "a symlink" : strerror(-r));
                return r == -ELOOP ? -EPERM : r;
        }
        r = fstat(fd, &st) < 0 ? -errno : 0;
        close(fd);
        if (r < 0) {
                snprintf(why, why_size, "%s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
                snprintf(why, why_size, "%s is not a plain file of its own (a device, a FIFO, a hard link)", path);
                return -EPERM;
        }
        return check_owner_mode(path, &st, "file", why, why_size);
}

int vet_database(const char *path, char *why, size_t why_size)
{
        static const char *const companions[] = { "", "-wal", "-shm", "-journal" };
        int r = vet_parent_dir(path, why, why_size);

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(companions); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s", path, companions[i]) < 0)
                        return -ENOMEM;
                r = vet_file(p, false, why, why_size);
        }
        return r;
}
