/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nsscache.h"
#include "util.h"

#define NSSCACHE_MAX    1024            /* entries; past it the cache starts over */
#define FILE_MAX        (64u << 20)     /* a passwd or group file larger than this is not read */

enum { F_NSSWITCH, F_PASSWD, F_GROUP, F_COUNT };

struct stamp {
        bool ok;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtim, ctim;
};

struct entry {
        char *name;
        struct principal *p;
};

struct nsscache {
        char *path[F_COUNT];
        struct stamp st[F_COUNT];
        bool cacheable;                 /* nsswitch.conf puts files first, plainly */
        bool group_files_only;          /* group: files, nothing after it */
        struct entry *v;
        size_t n, cap;
        uint64_t hits, misses;
};

static const char *const default_path[F_COUNT] = {
        [F_NSSWITCH] = "/etc/nsswitch.conf", [F_PASSWD] = "/etc/passwd", [F_GROUP] = "/etc/group",
};

int nsscache_new(const struct nsscache_files *files, struct nsscache **ret)
{
        struct nsscache *c = calloc(1, sizeof(*c));
        const char *given[F_COUNT] = {
                files ? files->nsswitch : NULL, files ? files->passwd : NULL, files ? files->group : NULL,
        };

        if (!c)
                return -ENOMEM;
        for (int i = 0; i < F_COUNT; i++)
                if (!(c->path[i] = strdup(given[i] ? given[i] : default_path[i]))) {
                        nsscache_free(c);
                        return -ENOMEM;
                }
        *ret = c;
        return 0;
}

void nsscache_flush(struct nsscache *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->v[i].name);
                principal_free(c->v[i].p);
        }
        c->n = 0;
}

void nsscache_free(struct nsscache *c)
{
        if (!c)
                return;
        nsscache_flush(c);
        free(c->v);
        for (int i = 0; i < F_COUNT; i++)
                free(c->path[i]);
        free(c);
}

void nsscache_counts(const struct nsscache *c, uint64_t *ret_hits, uint64_t *ret_misses)
{
        *ret_hits = c ? c->hits : 0;
        *ret_misses = c ? c->misses : 0;
}

static void stamp_of(const char *path, struct stamp *s)
{
        struct stat st;

        memset(s, 0, sizeof(*s));
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        *s = (struct stamp) { .ok = true, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
                              .mtim = st.st_mtim, .ctim = st.st_ctim };
}

static bool stamp_eq(const struct stamp *a, const struct stamp *b)
{
        return a->ok && b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
               a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static char *slurp(const char *path)
{
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t got = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_size > FILE_MAX ||
            !(buf = malloc((size_t) st.st_size + 1))) {
                close(fd);
                return NULL;
        }
        while (got < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + got, (size_t) st.st_size - got);

                if (k <= 0)
                        break;
                got += (size_t) k;
        }
        close(fd);
        if (got != (size_t) st.st_size)
                return NULL;
        buf[got] = '\0';
        return TAKE_PTR(buf);
}

/* The sources of one database ("passwd:") in nsswitch.conf: files first and
 * no [STATUS=action] on the line; *ret_only when files is all there is. */
static bool files_first(const char *conf, const char *db, bool *ret_only)
{
        size_t n = strlen(db);
        const char *line = conf;

        while (line && *line) {
                const char *end = strchr(line, '\n'), *p = line;
                size_t len;

                if (!end)
                        end = line + strlen(line);
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if ((size_t) (end - p) > n && strncmp(p, db, n) == 0 && p[n] == ':') {
                        char words[256], *w, *save = NULL;

                        p += n + 1;
                        len = (size_t) (end - p);
                        /* A comment ends the line. */
                        if (memchr(p, '#', len))
                                len = (size_t) ((const char *) memchr(p, '#', len) - p);
                        if (len >= sizeof(words) || memchr(p, '[', len))
                                return false;
                        memcpy(words, p, len);
                        words[len] = '\0';
                        w = strtok_r(words, " \t", &save);
                        if (!w || strcmp(w, "files") != 0)
                                return false;
                        *ret_only = strtok_r(NULL, " \t", &save) == NULL;
                        return true;
                }
                line = *end ? end + 1 : end;
        }
        return false;       /* not named: glibc's own default, which is not ours to guess */
}

/* Does the file (passwd or group format) have a line for name? */
static bool has_line(const char *text, const char *name)
{
        size_t n = strlen(name);

        for (const char *line = text; line && *line;) {
                if (strncmp(line, name, n) == 0 && line[n] == ':')
                        return true;
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return false;
}

/* Checks the files against what the cache was filled from; empties it when
 * they changed. true when the cache may answer. */
static bool files_unchanged(struct nsscache *c)
{
        struct stamp now[F_COUNT];
        bool same = true;

        for (int i = 0; i < F_COUNT; i++) {
                stamp_of(c->path[i], &now[i]);
                same = same && stamp_eq(&now[i], &c->st[i]);
        }
        if (same)
                return c->cacheable;
        nsscache_flush(c);
        memcpy(c->st, now, sizeof(now));
        c->cacheable = false;
        if (now[F_NSSWITCH].ok && now[F_PASSWD].ok && now[F_GROUP].ok) {
                _cleanup_free_ char *conf = slurp(c->path[F_NSSWITCH]);
                bool passwd_only = false;

                c->cacheable = conf && files_first(conf, "passwd", &passwd_only) &&
                               files_first(conf, "group", &c->group_files_only);
        }
        return c->cacheable;
}

/* Did files answer for every part of p: the user, and each group the config
 * names (held by /etc/group, or by nothing when group lists files alone)? */
static bool answered_by_files(const struct nsscache *c, const struct config *cfg, const char *name)
{
        _cleanup_free_ char *passwd = slurp(c->path[F_PASSWD]), *group = slurp(c->path[F_GROUP]);

        if (!passwd || !group || !has_line(passwd, name))
                return false;
        for (size_t i = 0; i <= cfg->n_roles; i++) {
                char **const lists[] = {
                        i < cfg->n_roles ? cfg->roles[i].members : NULL,
                        i < cfg->n_roles ? cfg->roles[i].approvers : NULL,
                        i < cfg->n_roles ? cfg->roles[i].break_glass : NULL,
                };

                for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                        for (char **e = lists[l]; e && *e; e++)
                                if ((*e)[0] == '%' && !has_line(group, *e + 1) && !c->group_files_only)
                                        return false;
        }
        return !cfg->admin_group || has_line(group, cfg->admin_group) || c->group_files_only;
}

int nsscache_principal(struct nsscache *c, const struct config *cfg, const char *name, struct principal **ret)
{
        struct principal *p = NULL;
        struct stamp before[F_COUNT];
        int r;

        if (!c || !cfg || !name || !*name)
                return principal_from_name(cfg, name, ret);
        if (files_unchanged(c))
                for (size_t i = 0; i < c->n; i++)
                        if (strcmp(c->v[i].name, name) == 0) {
                                c->hits++;
                                return principal_copy(c->v[i].p, ret);
                        }
        c->misses++;
        memcpy(before, c->st, sizeof(before));
        r = principal_from_name(cfg, name, &p);
        if (r < 0)
                return r;
        /* Kept only if files gave the whole answer and did not change while
         * NSS was asked. */
        if (c->cacheable && answered_by_files(c, cfg, name) && files_unchanged(c) &&
            memcmp(before, c->st, sizeof(before)) == 0) {
                struct principal *keep = NULL;
                char *key = strdup(name);

                if (c->n == NSSCACHE_MAX)
                        nsscache_flush(c);
                if (key && principal_copy(p, &keep) >= 0 &&
                    array_reserve((void **) &c->v, &c->cap, c->n, sizeof(*c->v)) >= 0) {
                        c->v[c->n++] = (struct entry) { .name = key, .p = keep };
                        key = NULL;
                        keep = NULL;
                }
                free(key);
                principal_free(keep);
        }
        *ret = p;
        return 0;
}
