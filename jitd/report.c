/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The report's figures (schema and definitions in report.h): one walk over
 * every grant, one over the audit events since the window opened, and a scan
 * of sudoers. Grants come in id order, so the ids whose teardown is timed
 * are collected sorted and looked up by bisection while the audit log goes by.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "report.h"
#include "store_record.h"
#include "standing.h"
#include "util.h"

#define DEFAULT_REVIEW_WITHIN 86400

struct values {
        int64_t *v;
        size_t n, cap;
};

struct path_count {
        char name[sizeof(((struct jit_grant *) 0)->approval)];
        int64_t n;
};

/* A grant whose teardown is timed, and whether its first "torn-down"
 * event has been seen. */
struct timed {
        int64_t id;
        bool seen;
};

struct tally {
        int64_t since, now, review_within;
        int64_t total, active, denied, cancelled, released, expired, revoked;
        int64_t rev_admin, rev_ticket, rev_other;
        int64_t bg_uses, reviews_pending, reviews_overdue;
        uint64_t rec_sessions, rec_bytes;
        struct path_count *paths;
        size_t n_paths, cap_paths;
        struct values approve;          /* seconds */
        struct values revoke;           /* milliseconds */
        int64_t incomplete;
        struct timed *timed;
        size_t n_timed, cap_timed;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
        size_t ncap;
        void *nv;

        if (n < *cap)
                return 0;
        ncap = *cap ? *cap * 2 : 64;
        nv = reallocarray(*v, ncap, size);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        *cap = ncap;
        return 0;
}

static int values_add(struct values *x, int64_t v)
{
        if (grow((void **) &x->v, &x->cap, x->n, sizeof(*x->v)) < 0)
                return -ENOMEM;
        x->v[x->n++] = v;
        return 0;
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return (x > y) - (x < y);
}

/* Nearest rank on sorted values: x[ceil(p * n / 100)], 1-based. */
static int64_t percentile(const struct values *x, unsigned p)
{
        size_t rank = (p * x->n + 99) / 100;

        return x->v[rank > 0 ? rank - 1 : 0];
}

static int count_path(struct tally *t, const char *approval)
{
        const char *name = approval[0] ? approval : "none";
        size_t i;

        for (i = 0; i < t->n_paths; i++)
                if (strcmp(t->paths[i].name, name) == 0)
                        break;
        if (i == t->n_paths) {
                if (grow((void **) &t->paths, &t->cap_paths, t->n_paths, sizeof(*t->paths)) < 0)
                        return -ENOMEM;
                snprintf(t->paths[i].name, sizeof(t->paths[i].name), "%s", name);
                t->paths[i].n = 0;
                t->n_paths++;
        }
        t->paths[i].n++;
        return 0;
}

static int on_grant(const struct jit_grant *g, void *userdata)
{
        struct tally *t = userdata;
        bool review_pending = g->break_glass && strcmp(g->review, "pending") == 0;
        int r;

        /* Figures about now, whatever the window. */
        if (g->state == GRANT_ACTIVE && (g->expires_at == 0 || g->expires_at > t->now))
                t->active++;
        if (review_pending) {
                t->reviews_pending++;
                if (g->requested_at <= t->now - t->review_within)
                        t->reviews_overdue++;
        }

        if (g->requested_at < t->since)
                return 0;
        t->total++;
        r = count_path(t, g->approval);
        if (r < 0)
                return r;
        switch (g->state) {
        case GRANT_DENIED:
                t->denied++;
                break;
        case GRANT_CANCELLED:
                t->cancelled++;
                break;
        case GRANT_RELEASED:
                t->released++;
                break;
        case GRANT_EXPIRED:
                t->expired++;
                break;
        case GRANT_REVOKED:
                t->revoked++;
                if (strncmp(g->end_reason, "revoked by ", 11) == 0)
                        t->rev_admin++;
                else if (strncmp(g->end_reason, "ticket ", 7) == 0)
                        t->rev_ticket++;
                else
                        t->rev_other++;
                break;
        default:
                break;
        }
        if (g->break_glass)
                t->bg_uses++;
        if (g->approved_at && !g->break_glass) {
                r = values_add(&t->approve, g->approved_at > g->requested_at ? g->approved_at - g->requested_at : 0);
                if (r < 0)
                        return r;
        }
        /* Only grants that held a rule have a revocation to time. */
        if (g->approved_at &&
            (g->state == GRANT_EXPIRED || g->state == GRANT_REVOKED || g->state == GRANT_RELEASED)) {
                if (grow((void **) &t->timed, &t->cap_timed, t->n_timed, sizeof(*t->timed)) < 0)
                        return -ENOMEM;
                t->timed[t->n_timed++] = (struct timed) { .id = g->id };
        }
        return 0;
}

static int cmp_timed(const void *key, const void *elem)
{
        int64_t id = *(const int64_t *) key, e = ((const struct timed *) elem)->id;

        return (id > e) - (id < e);
}

static int on_event(const struct audit_event *e, void *userdata)
{
        struct tally *t = userdata;
        json_object *det, *v;
        struct timed *x;
        int64_t ms;
        int r = 0;

        if (strcmp(e->event, "torn-down") != 0 || t->n_timed == 0)
                return 0;
        x = bsearch(&e->grant_id, t->timed, t->n_timed, sizeof(*t->timed), cmp_timed);
        if (!x || x->seen)
                return 0;
        det = e->details ? json_tokener_parse(e->details) : NULL;
        /* An event without a usable latency is not a measurement: wait for the next one. */
        if (det && json_object_object_get_ex(det, "latency_ms", &v) && json_object_is_type(v, json_type_int)) {
                ms = json_object_get_int64(v);
                r = values_add(&t->revoke, ms > 0 ? ms : 0);
                x->seen = true;
                if (json_object_object_get_ex(det, "complete", &v) && json_object_is_type(v, json_type_boolean) &&
                    !json_object_get_boolean(v))
                        t->incomplete++;
        }
        json_object_put(det);
        return r;
}

static void tally_done(struct tally *t)
{
        free(t->paths);
        free(t->approve.v);
        free(t->revoke.v);
        free(t->timed);
}

/* Building the JSON with a sticky error: one check at the end instead of
 * one after every one of the fifty calls. */
struct builder {
        int err;
};

static json_object *add(struct builder *b, json_object *o, const char *key, json_object *v)
{
        if (!v || !o || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                b->err = -ENOMEM;
                return NULL;
        }
        return v;
}

static void add_int(struct builder *b, json_object *o, const char *key, int64_t v)
{
        add(b, o, key, json_object_new_int64(v));
}

/* Control bytes, DEL and broken UTF-8 as '?': the text travels in protocol
 * strings that refuse them, and ends up on terminals. */
static char *clean(const char *s)
{
        const unsigned char *p = (const unsigned char *) s;
        char *out = malloc(strlen(s) + 1), *o = out;

        if (!out)
                return NULL;
        while (*p) {
                size_t n = 0;

                if (*p >= 0x20 && *p < 0x7f)
                        n = 1;
                else if (*p >= 0xc2 && *p <= 0xdf)
                        n = 2;
                else if (*p >= 0xe0 && *p <= 0xef)
                        n = 3;
                else if (*p >= 0xf0 && *p <= 0xf4)
                        n = 4;
                for (size_t i = 1; i < n; i++)
                        if ((p[i] & 0xc0) != 0x80)
                                n = 0;
                if (n == 0) {
                        *o++ = '?';
                        p++;
                        continue;
                }
                memcpy(o, p, n);
                o += n;
                p += n;
        }
        *o = '\0';
        return out;
}

static void add_string(struct builder *b, json_object *array, const char *s)
{
        char *c = clean(s);
        json_object *v = c ? json_object_new_string(c) : NULL;

        free(c);
        if (!v || json_object_array_add(array, v) < 0) {
                json_object_put(v);
                b->err = -ENOMEM;
        }
}

static json_object *add_stats(struct builder *b, json_object *o, const char *key, struct values *x)
{
        json_object *s = add(b, o, key, json_object_new_object());
        int64_t sum = 0;

        if (!s)
                return NULL;
        if (x->n)       /* qsort(NULL, 0, ...) is undefined */
                qsort(x->v, x->n, sizeof(*x->v), cmp_i64);
        for (size_t i = 0; i < x->n; i++)
                sum += x->v[i];
        add_int(b, s, "count", (int64_t) x->n);
        add_int(b, s, "sum", sum);
        if (x->n) {
                add_int(b, s, "median", percentile(x, 50));
                add_int(b, s, "p95", percentile(x, 95));
        } else if (json_object_object_add(s, "median", NULL) < 0 || json_object_object_add(s, "p95", NULL) < 0) {
                /* (A NULL value is JSON null.) */
                b->err = -ENOMEM;
        }
        return s;
}

static int cmp_path(const void *a, const void *b)
{
        return strcmp(((const struct path_count *) a)->name, ((const struct path_count *) b)->name);
}

static void add_standing(struct builder *b, json_object *root, const struct standing *st)
{
        json_object *o = add(b, root, "standing_sudo", json_object_new_object()), *locations, *errors;

        add_int(b, o, "rules", (int64_t) st->n_rules);
        add_int(b, o, "root_rules", (int64_t) st->n_root);
        locations = add(b, o, "locations", json_object_new_array());
        for (size_t i = 0; locations && i < st->n_rules; i++) {
                _cleanup_free_ char *s = NULL;

                if (standing_rule_format(&st->rules[i], &s) < 0) {
                        b->err = -ENOMEM;
                        break;
                }
                add_string(b, locations, s);
        }
        errors = add(b, o, "errors", json_object_new_array());
        for (size_t i = 0; errors && i < st->n_errors; i++)
                add_string(b, errors, st->errors[i]);
}

static json_object *build(struct tally *t, const struct standing *st, int *ret_err)
{
        struct builder b = {};
        json_object *root = json_object_new_object(), *o, *paths;

        if (!root) {
                *ret_err = -ENOMEM;
                return NULL;
        }
        add_int(&b, root, "version", REPORT_VERSION);
        add_int(&b, root, "now", t->now);
        add_int(&b, root, "since", t->since);
        add_standing(&b, root, st);

        o = add(&b, root, "grants", json_object_new_object());
        add_int(&b, o, "total", t->total);
        add_int(&b, o, "active", t->active);
        add_int(&b, o, "denied", t->denied);
        add_int(&b, o, "cancelled", t->cancelled);
        add_int(&b, o, "released", t->released);
        add_int(&b, o, "expired", t->expired);
        add_int(&b, o, "revoked", t->revoked);

        o = add(&b, root, "approval", json_object_new_object());
        paths = add(&b, o, "by_path", json_object_new_object());
        if (t->n_paths)
                qsort(t->paths, t->n_paths, sizeof(*t->paths), cmp_path);
        for (size_t i = 0; paths && i < t->n_paths; i++) {
                _cleanup_free_ char *name = clean(t->paths[i].name);

                if (!name)
                        b.err = -ENOMEM;
                else
                        add_int(&b, paths, name, t->paths[i].n);
        }
        add_stats(&b, o, "time_to_approve_s", &t->approve);

        o = add(&b, root, "revocation", json_object_new_object());
        add_int(&b, o, "admin", t->rev_admin);
        add_int(&b, o, "ticket", t->rev_ticket);
        add_int(&b, o, "other", t->rev_other);
        o = add_stats(&b, o, "time_to_revoke_ms", &t->revoke);
        add_int(&b, o, "incomplete", t->incomplete);

        o = add(&b, root, "break_glass", json_object_new_object());
        add_int(&b, o, "uses", t->bg_uses);
        add_int(&b, o, "reviews_pending", t->reviews_pending);
        add_int(&b, o, "reviews_overdue", t->reviews_overdue);
        add_int(&b, o, "review_within_s", t->review_within);

        o = add(&b, root, "recording", json_object_new_object());
        add_int(&b, o, "sessions", (int64_t) t->rec_sessions);
        add_int(&b, o, "bytes", (int64_t) t->rec_bytes);

        if (b.err < 0) {
                json_object_put(root);
                *ret_err = b.err;
                return NULL;
        }
        return root;
}

int report_build(struct store *s, const struct config *c, const char *sudoers, int64_t since, int64_t now,
                 char **ret_json)
{
        struct tally t = {
                .since = since > 0 ? since : 0,
                .now = now,
                .review_within = c && c->review_within ? (int64_t) c->review_within : DEFAULT_REVIEW_WITHIN,
        };
        const struct store_filter all = {};
        struct standing *st = NULL;
        json_object *root = NULL;
        const char *text;
        char *out = NULL;
        int r;

        if (!s || !ret_json)
                return -EINVAL;
        r = store_grant_foreach(s, &all, on_grant, &t);
        /* A teardown comes after its grant's request, so events before the
         * window cannot be about a grant in it. */
        if (r >= 0)
                r = store_audit_foreach(s, &(struct store_audit_filter) { .since = t.since }, on_event, &t);
        if (r >= 0)
                r = store_recording_totals(s, t.since, &t.rec_sessions, &t.rec_bytes);
        if (r >= 0)
                r = standing_scan(sudoers, &st);
        if (r >= 0) {
                root = build(&t, st, &r);
                if (root)
                        r = 0;
        }
        if (r >= 0) {
                text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                out = text ? strdup(text) : NULL;
                if (!out)
                        r = -ENOMEM;
        }
        json_object_put(root);
        standing_free(st);
        tally_done(&t);
        if (r < 0)
                return r;
        *ret_json = out;
        return 0;
}

/* ".NAME.XXXXXX" next to path: same file system, so rename() is atomic. */
static int temp_path(const char *path, char *buf, size_t size)
{
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        int dirlen = slash ? (int) (slash - path + 1) : 0;
        unsigned char rnd[6];
        char suffix[7];

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return -EIO;
        for (size_t i = 0; i < sizeof(rnd); i++)
                suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
        suffix[6] = '\0';
        if (snprintf(buf, size, "%.*s.%s.%s", dirlen, path, base, suffix) >= (int) size)
                return -ENAMETOOLONG;
        return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int report_write_metrics_file(const char *path, const char *text)
{
        char tmp[PATH_MAX];
        const char *slash;
        int fd = -1, r;

        if (!path || !path[0] || !text)
                return -EINVAL;
        slash = strrchr(path, '/');
        if (slash && !slash[1])
                return -EISDIR;
        for (int tries = 0;; tries++) {
                r = temp_path(path, tmp, sizeof(tmp));
                if (r < 0)
                        return r;
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || tries >= 16)
                        return -errno;
        }
        /* The umask must not decide who may read the metrics. */
        r = fchmod(fd, 0644) < 0 ? -errno : 0;
        if (r >= 0)
                r = write_all(fd, text, strlen(text));
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}
