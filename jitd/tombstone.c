/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tombstone.h"
#include "util.h"
#include "vet.h"

#define TOMBSTONE_MAX (64 * 1024)

int tombstone_dir(const char *beside, char **ret, char *why, size_t why_size)
{
        _cleanup_free_ char *copy = strdup(beside), *dir = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        if (asprintf(&dir, "%s/ended", dirname(copy)) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                snprintf(why, why_size, "cannot make %s: %s", dir, strerror(-r));
                return r;
        }
        r = vet_dir(dir, why, why_size);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(dir);
        return 0;
}

static int write_file(int dfd, const char *name, const char *text)
{
        char tmp[64];
        size_t n = strlen(text);
        ssize_t w;
        int fd, r = 0;

        snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        w = write(fd, text, n);
        if (w < 0)
                r = -errno;
        else if ((size_t) w != n)
                r = -ENOSPC;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dfd, tmp, 0);
        return r;
}

int tombstone_put(const char *dir, const struct change *c)
{
        json_object *o = json_object_new_object(), *evs = json_object_new_array();
        char name[24];
        int dfd, r;

        if (!o || !evs) {
                json_object_put(o);
                json_object_put(evs);
                return -ENOMEM;
        }
        json_object_object_add(o, "id", json_object_new_int64(c->next.id));
        json_object_object_add(o, "state", json_object_new_string(grant_state_to_string(c->next.state)));
        json_object_object_add(o, "ended_at", json_object_new_int64(c->next.ended_at));
        json_object_object_add(o, "end_reason", json_object_new_string(c->next.end_reason));
        json_object_object_add(o, "effects", json_object_new_int64(c->effects));
        for (size_t i = 0; i < c->n; i++) {
                const struct change_event *e = &c->ev[i];
                json_object *x = json_object_new_object();

                if (!x)
                        break;
                json_object_object_add(x, "event", json_object_new_string(e->event));
                json_object_object_add(x, "actor_uid", json_object_new_int64(e->actor_uid));
                json_object_object_add(x, "actor", json_object_new_string(e->actor));
                json_object_object_add(x, "alert", json_object_new_boolean(e->alert));
                json_object_object_add(x, "at", json_object_new_int64(e->at));
                json_object_object_add(x, "details", json_object_new_string(e->details ? e->details : "{}"));
                json_object_array_add(evs, x);
        }
        json_object_object_add(o, "events", evs);
        snprintf(name, sizeof(name), "%" PRId64, c->next.id);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                json_object_put(o);
                return -errno;
        }
        r = json_object_array_length(evs) == c->n ?
            write_file(dfd, name, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : -ENOMEM;
        close(dfd);
        json_object_put(o);
        return r;
}

int tombstone_drop(const char *dir, int64_t grant_id)
{
        char path[PATH_MAX];

        if ((size_t) snprintf(path, sizeof(path), "%s/%" PRId64, dir, grant_id) >= sizeof(path))
                return -ENAMETOOLONG;
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static const char *str_of(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
               json_object_get_string(v) : NULL;
}

static bool int_of(json_object *o, const char *key, int64_t *ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

/* The change a file holds; -EBADMSG for anything but what tombstone_put writes. */
static int parse(const char *text, int64_t want_id, struct change *c)
{
        json_object *o = json_tokener_parse(text), *evs = NULL;
        const char *state, *reason;
        int64_t id = 0, ended = 0, effects = 0;
        int r = -EBADMSG;

        memset(c, 0, sizeof(*c));
        if (!o || !int_of(o, "id", &id) || id != want_id || !int_of(o, "ended_at", &ended) ||
            !int_of(o, "effects", &effects) || effects < 0 || effects > UINT32_MAX ||
            !(state = str_of(o, "state")) || grant_state_from_string(state, &c->next.state) < 0 ||
            grant_state_is_open(c->next.state) || !(reason = str_of(o, "end_reason")) ||
            strcpy_checked(c->next.end_reason, sizeof(c->next.end_reason), reason) < 0 ||
            !json_object_object_get_ex(o, "events", &evs) || !json_object_is_type(evs, json_type_array) ||
            json_object_array_length(evs) > CHANGE_EVENTS_MAX)
                goto out;
        c->next.id = id;
        c->next.ended_at = ended;
        c->effects = (unsigned) effects;
        for (size_t i = 0; i < json_object_array_length(evs); i++) {
                json_object *x = json_object_array_get_idx(evs, i), *alert;
                const char *event = str_of(x, "event"), *actor = str_of(x, "actor"), *details = str_of(x, "details");
                int64_t uid, at;
                struct actor a;

                if (!event || !actor || !details || !int_of(x, "actor_uid", &uid) || uid < 0 || uid > UINT32_MAX ||
                    !int_of(x, "at", &at) || !json_object_object_get_ex(x, "alert", &alert))
                        goto out;
                a = (struct actor) { .uid = (uid_t) uid, .name = actor };
                if (change_add_event(c, event, &a, at, details) < 0)
                        goto out;
                c->ev[c->n - 1].alert = json_object_get_boolean(alert);
        }
        r = 0;
out:
        json_object_put(o);
        if (r < 0)
                change_done(c);
        return r;
}

static int read_one(int dfd, const char *name, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;
        int fd, r = 0;

        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077) || st.st_size > TOMBSTONE_MAX)
                r = -EPERM;
        else if (!(buf = malloc((size_t) st.st_size + 1)))
                r = -ENOMEM;
        else if ((n = read(fd, buf, (size_t) st.st_size)) != st.st_size)
                r = n < 0 ? -errno : -EIO;
        close(fd);
        if (r < 0)
                return r;
        buf[st.st_size] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int cmp_id(const void *a, const void *b)
{
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return x < y ? -1 : x > y;
}

int tombstone_foreach(const char *dir, int (*cb)(int64_t id, struct change *c, void *userdata),
                      void (*bad)(const char *name, int r, void *userdata), void *userdata)
{
        int64_t *ids = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int dfd, r = 0;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                uint64_t v;
                char *e;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;       /* ".", "..", ".N.tmp" left by a crash */
                errno = 0;
                v = strtoull(de->d_name, &e, 10);
                if (errno || *e || v > INT64_MAX)
                        continue;
                if (array_reserve((void **) &ids, &cap, n, sizeof(*ids)) < 0) {
                        r = -ENOMEM;
                        break;
                }
                ids[n++] = (int64_t) v;
        }
        qsort(ids, n, sizeof(*ids), cmp_id);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *text = NULL;
                struct change c;
                char name[24];
                int k;

                snprintf(name, sizeof(name), "%" PRId64, ids[i]);
                k = read_one(dirfd(d), name, &text);
                if (k >= 0)
                        k = parse(text, ids[i], &c);
                if (k < 0) {
                        if (bad)
                                bad(name, k, userdata);
                        continue;
                }
                r = cb(ids[i], &c, userdata);
                change_done(&c);
        }
        free(ids);
        closedir(d);
        return r;
}
