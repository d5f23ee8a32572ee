/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "rechash.h"
#include "util.h"

#define READ_CHUNK (64 * 1024)

struct rechash {
        int dfd;                        /* the recording's directory (or the file's) */
        char *names[RECHASH_FILES_MAX];
        size_t n, at;                   /* files, and the one being hashed */
        int fd;                         /* names[at], open; -1 between files */
        EVP_MD_CTX *file, *manifest;
        uint64_t size;
        bool done;
        char hex[RECHASH_HEX_LEN + 1];
};

void rechash_free(struct rechash *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n; i++)
                free(h->names[i]);
        if (h->fd >= 0)
                close(h->fd);
        if (h->dfd >= 0)
                close(h->dfd);
        EVP_MD_CTX_free(h->file);
        EVP_MD_CTX_free(h->manifest);
        free(h);
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void to_hex(const unsigned char *md, unsigned len, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (unsigned i = 0; i < len; i++) {
                out[2 * i] = digits[md[i] >> 4];
                out[2 * i + 1] = digits[md[i] & 15];
        }
        out[2 * len] = '\0';
}

/* The plain files of the directory dfd, sorted. */
static int list_dir(struct rechash *h)
{
        int fd = dup(h->dfd);
        DIR *dir;
        struct dirent *e;
        int r = 0;

        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                r = -errno;
                close(fd);
                return r;
        }
        rewinddir(dir);
        while ((errno = 0, e = readdir(dir))) {
                struct stat st;

                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (fstatat(h->dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (!S_ISREG(st.st_mode) || h->n >= RECHASH_FILES_MAX) {
                        r = -EBADMSG;
                        break;
                }
                if (!(h->names[h->n] = strdup(e->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                h->n++;
        }
        if (r == 0 && errno)
                r = -errno;
        closedir(dir);
        if (r == 0)
                qsort(h->names, h->n, sizeof(h->names[0]), cmp_names);
        return r;
}

int rechash_open(int dirfd, const char *path, struct rechash **ret)
{
        struct rechash *h;
        struct stat st;
        int fd, r;

        if (!path || !path[0] || !ret)
                return -EINVAL;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->dfd = h->fd = -1;
        h->file = EVP_MD_CTX_new();
        h->manifest = EVP_MD_CTX_new();
        if (!h->file || !h->manifest || EVP_DigestInit_ex(h->manifest, EVP_sha256(), NULL) != 1) {
                rechash_free(h);
                return -ENOMEM;
        }
        fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = errno == ELOOP ? -EBADMSG : -errno;
                rechash_free(h);
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                rechash_free(h);
                return r;
        }
        if (S_ISDIR(st.st_mode)) {
                h->dfd = fd;
                r = list_dir(h);
        } else if (S_ISREG(st.st_mode)) {
                /* One file: hashed by its own name, read through the open fd. */
                const char *base = strrchr(path, '/');

                h->fd = fd;
                h->names[0] = strdup(base ? base + 1 : path);
                h->n = 1;
                r = h->names[0] && h->names[0][0] ? 0 : -EBADMSG;
                if (r == 0 && EVP_DigestInit_ex(h->file, EVP_sha256(), NULL) != 1)
                        r = -ENOMEM;
        } else {
                close(fd);
                r = -EBADMSG;
        }
        if (r < 0) {
                rechash_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

static int finish_file(struct rechash *h)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        char line[2 * EVP_MAX_MD_SIZE + 8];
        unsigned len = 0;

        if (EVP_DigestFinal_ex(h->file, md, &len) != 1)
                return -EIO;
        to_hex(md, len, line);
        if (EVP_DigestUpdate(h->manifest, line, strlen(line)) != 1 || EVP_DigestUpdate(h->manifest, "  ", 2) != 1 ||
            EVP_DigestUpdate(h->manifest, h->names[h->at], strlen(h->names[h->at])) != 1 ||
            EVP_DigestUpdate(h->manifest, "\n", 1) != 1)
                return -EIO;
        close(h->fd);
        h->fd = -1;
        h->at++;
        return 0;
}

int rechash_step(struct rechash *h, size_t budget)
{
        static unsigned char buf[READ_CHUNK];

        if (!h)
                return -EINVAL;
        while (!h->done) {
                ssize_t n;

                if (h->at == h->n) {
                        unsigned char md[EVP_MAX_MD_SIZE];
                        unsigned len = 0;

                        if (EVP_DigestFinal_ex(h->manifest, md, &len) != 1 || len * 2 != RECHASH_HEX_LEN)
                                return -EIO;
                        to_hex(md, len, h->hex);
                        h->done = true;
                        break;
                }
                if (h->fd < 0) {
                        struct stat st;

                        h->fd = openat(h->dfd, h->names[h->at], O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
                                       O_NONBLOCK);
                        if (h->fd < 0)
                                return errno == ELOOP ? -EBADMSG : -errno;
                        if (fstat(h->fd, &st) < 0)
                                return -errno;
                        if (!S_ISREG(st.st_mode))
                                return -EBADMSG;
                        if (EVP_DigestInit_ex(h->file, EVP_sha256(), NULL) != 1)
                                return -ENOMEM;
                }
                if (budget == 0)
                        return 1;
                n = read(h->fd, buf, budget < sizeof(buf) ? budget : sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0) {
                        int r = finish_file(h);

                        if (r < 0)
                                return r;
                        continue;
                }
                if (EVP_DigestUpdate(h->file, buf, (size_t) n) != 1)
                        return -EIO;
                h->size += (uint64_t) n;
                budget -= (size_t) n;
        }
        return 0;
}

int rechash_result(const struct rechash *h, char hex[RECHASH_HEX_LEN + 1], uint64_t *ret_size)
{
        if (!h || !h->done)
                return -EINVAL;
        memcpy(hex, h->hex, RECHASH_HEX_LEN + 1);
        if (ret_size)
                *ret_size = h->size;
        return 0;
}

int rechash_path(int dirfd, const char *path, char hex[RECHASH_HEX_LEN + 1], uint64_t *ret_size)
{
        struct rechash *h = NULL;
        int r;

        r = rechash_open(dirfd, path, &h);
        if (r < 0)
                return r;
        do
                r = rechash_step(h, SIZE_MAX);
        while (r > 0);
        if (r == 0)
                r = rechash_result(h, hex, ret_size);
        rechash_free(h);
        return r;
}
