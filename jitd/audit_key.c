/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_key.h"
#include "util.h"
#include "vet.h"

#define KEY_FILE_MAX (AUDIT_KEYS_MAX * (AUDIT_KEY_MAX + 2) + 4096)

void audit_keys_wipe(struct audit_keyring *k)
{
        if (k)
                explicit_bzero(k, sizeof(*k));
}

/* The directory that holds path, as (dev, ino). */
static int parent_id(const char *path, dev_t *ret_dev, ino_t *ret_ino)
{
        _cleanup_free_ char *copy = strdup(path);
        struct stat st;

        if (!copy)
                return -ENOMEM;
        if (stat(dirname(copy), &st) < 0)
                return -errno;
        *ret_dev = st.st_dev;
        *ret_ino = st.st_ino;
        return 0;
}

static int check_stat(const char *path, const struct stat *st, char *why, size_t why_size)
{
        if (!S_ISREG(st->st_mode) || st->st_nlink != 1) {
                snprintf(why, why_size, "audit_key %s is not a plain file of its own", path);
                return -EPERM;
        }
        if (st->st_uid != geteuid()) {
                snprintf(why, why_size, "audit_key %s is owned by uid %u, not by root", path, (unsigned) st->st_uid);
                return -EPERM;
        }
        if (st->st_mode & (S_IRWXG | S_IRWXO)) {
                snprintf(why, why_size, "audit_key %s is open to group or others (mode %04o); it must be 0600 or "
                         "tighter", path, (unsigned) (st->st_mode & 07777));
                return -EPERM;
        }
        if (st->st_size >= (off_t) KEY_FILE_MAX) {
                snprintf(why, why_size, "audit_key %s is larger than %d bytes", path, KEY_FILE_MAX - 1);
                return -EINVAL;
        }
        return 0;
}

static int parse(const char *path, char *buf, size_t n, struct audit_keyring *k, char *why, size_t why_size)
{
        unsigned lineno = 0;
        char *line = buf, *end = buf + n;

        k->n = 0;
        while (line < end) {
                char *nl = memchr(line, '\n', (size_t) (end - line));
                char *e = nl ? nl : end;
                size_t len;

                lineno++;
                while (line < e && (*line == ' ' || *line == '\t'))
                        line++;
                while (e > line && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                        e--;
                len = (size_t) (e - line);
                if (len && line[0] != '#') {
                        if (memchr(line, '\0', len)) {
                                snprintf(why, why_size, "%s:%u: a key must be text (no NUL bytes)", path, lineno);
                                return -EINVAL;
                        }
                        if (len < AUDIT_KEY_MIN || len > AUDIT_KEY_MAX) {
                                snprintf(why, why_size, "%s:%u: a key is %d to %d characters (openssl rand -hex 32 "
                                         "makes one), this one is %zu", path, lineno, AUDIT_KEY_MIN, AUDIT_KEY_MAX,
                                         len);
                                return -EINVAL;
                        }
                        if (k->n == AUDIT_KEYS_MAX) {
                                snprintf(why, why_size, "%s:%u: at most %d keys", path, lineno, AUDIT_KEYS_MAX);
                                return -EINVAL;
                        }
                        memcpy(k->key[k->n].bytes, line, len);
                        k->key[k->n].len = len;
                        k->n++;
                }
                line = nl ? nl + 1 : end;
        }
        if (k->n == 0) {
                snprintf(why, why_size, "%s holds no key", path);
                return -EINVAL;
        }
        return 0;
}

int audit_keys_load(const char *path, const char *database, struct audit_keyring *ret, char *why, size_t why_size)
{
        char buf[KEY_FILE_MAX];
        struct audit_keyring k;
        dev_t kdev, ddev;
        ino_t kino, dino;
        struct stat st;
        ssize_t n;
        int fd, r;

        if (path[0] != '/') {
                snprintf(why, why_size, "audit_key %s: not an absolute path", path);
                return -EINVAL;
        }
        r = vet_parent_dir(path, why, why_size);
        if (r < 0)
                return r;
        if ((r = parent_id(path, &kdev, &kino)) < 0 || (r = parent_id(database, &ddev, &dino)) < 0) {
                snprintf(why, why_size, "audit_key %s: %s", path, strerror(-r));
                return r;
        }
        if (kdev == ddev && kino == dino) {
                snprintf(why, why_size, "audit_key %s is in the database's directory: a copy of that directory "
                         "would carry the key with it; keep it elsewhere (e.g. /etc/jit/audit.key)", path);
                return -EPERM;
        }
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                snprintf(why, why_size, "audit_key %s: %s", path, r == -ELOOP ? "a symlink" : strerror(-r));
                return r == -ELOOP ? -EPERM : r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(why, why_size, "audit_key %s: %s", path, strerror(-r));
                close(fd);
                return r;
        }
        r = check_stat(path, &st, why, why_size);
        if (r < 0) {
                close(fd);
                return r;
        }
        n = read(fd, buf, sizeof(buf));
        r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0) {
                snprintf(why, why_size, "audit_key %s: %s", path, strerror(-r));
                return r;
        }
        if ((size_t) n >= sizeof(buf)) {
                explicit_bzero(buf, sizeof(buf));
                snprintf(why, why_size, "audit_key %s is larger than %zu bytes", path, sizeof(buf) - 1);
                return -EINVAL;
        }
        r = parse(path, buf, (size_t) n, &k, why, why_size);
        explicit_bzero(buf, sizeof(buf));
        if (r < 0) {
                audit_keys_wipe(&k);
                return r;
        }
        *ret = k;
        audit_keys_wipe(&k);
        return 0;
}
