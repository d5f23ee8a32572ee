/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading jitd.conf as a trusted file, and reloading it while running
 * (SIGHUP or `jitctl reload`): a broken file is refused whole and the old
 * configuration stays in force; after a good one, grants of users who are no
 * longer eligible for their role end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "jitd.h"
#include "sudoers.h"

static int add_line(struct config_errors *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add_line(struct config_errors *e, const char *fmt, ...)
{
        char **v = realloc(e->lines, (e->n + 1) * sizeof(*v));
        va_list ap;
        int r;

        if (!v)
                return -ENOMEM;
        e->lines = v;
        va_start(ap, fmt);
        r = vasprintf(&e->lines[e->n], fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        e->n++;
        return 0;
}

/* The config decides who gets root: it must be a regular file owned by root
 * and writable by nobody else. Tests run as root, so the rule holds there too. */
static int config_file_trusted(const char *path, struct config_errors *e)
{
        struct stat st;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY), r;

        if (fd < 0) {
                r = -errno;
                add_line(e, "%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        r = fstat(fd, &st) < 0 ? -errno : 0;
        close(fd);
        if (r < 0) {
                add_line(e, "%s: cannot stat: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                add_line(e, "%s: not a regular file", path);
                return -EINVAL;
        }
        if (st.st_uid != 0) {
                add_line(e, "%s: owned by uid %u, must be owned by root", path, (unsigned) st.st_uid);
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                add_line(e, "%s: writable by group or others (mode %04o); chmod go-w it", path,
                         (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

int config_load_trusted(const char *path, struct config **ret, struct config_errors *e)
{
        int r = config_file_trusted(path, e);

        if (r < 0)
                return r;
        r = config_load(path, ret, e);
        if (r < 0 && e->n == 0)
                add_line(e, "%s: %s", path, strerror(-r));
        return r;
}

struct eligibility_walk {
        struct jitd *d;
        struct jit_grant *v;
        size_t n, cap;
};

static int collect_ineligible(const struct jit_grant *g, void *userdata)
{
        struct eligibility_walk *w = userdata;
        const struct role *r = config_find_role(w->d->config, g->role);
        struct principal *p = NULL;
        bool ok;

        /* Break-glass grants stand on the break_glass list, not membership. */
        ok = r && principal_from_name(g->user, &p) >= 0 &&
             (g->break_glass ? policy_break_glass_ok(r, p) && policy_host_matches(r, w->d->config->host)
                             : policy_eligible(r, p, w->d->config->host, NULL, 0));
        principal_free(p);
        if (ok)
                return 0;
        if (array_reserve((void **) &w->v, &w->cap, w->n, sizeof(*w->v)) < 0)
                return -ENOMEM;
        w->v[w->n++] = *g;
        return 0;
}

/* After a reload: whoever is no longer eligible loses pending, scheduled and
 * active grants of that role, teardown included. */
static unsigned revoke_ineligible(struct jitd *d)
{
        struct store_filter f = { .states = GRANT_STATES_OPEN };
        struct eligibility_walk w = { .d = d };
        unsigned n = 0;

        if (store_grant_foreach(d->store, &f, collect_ineligible, &w) >= 0)
                for (size_t i = 0; i < w.n; i++) {
                        char reason[JIT_REASON_MAX + 1];

                        snprintf(reason, sizeof(reason),
                                 config_find_role(d->config, w.v[i].role)
                                 ? "no longer eligible for role %s after a configuration reload"
                                 : "role %s no longer exists after a configuration reload", w.v[i].role);
                        if (grants_end(d, &w.v[i], GRANT_REVOKED, &actor_jitd, reason) >= 0)
                                n++;
                }
        free(w.v);
        return n;
}

int jitd_reload(struct jitd *d, char *why, size_t size)
{
        struct config_errors e = {};
        struct config *c = NULL;
        unsigned revoked;
        int r;

        r = config_load_trusted(d->config_path, &c, &e);
        if (r >= 0 && strcmp(c->sudoers_dir, d->config->sudoers_dir) != 0 &&
            (r = sudoers_dir_check(c->sudoers_dir)) < 0)
                add_line(&e, "%s: sudoers_dir %s: %s", d->config_path, c->sudoers_dir,
                         r == -EPERM ? "must be owned by root and not writable by group or others" : strerror(-r));
        if (r < 0) {
                size_t off = 0;

                why[0] = '\0';
                for (size_t i = 0; i < e.n && off + 1 < size; i++)
                        off += (size_t) snprintf(why + off, size - off, "%s%s", i ? "; " : "", e.lines[i]);
                config_errors_clear(&e);
                config_free(c);
                return r;
        }
        config_errors_clear(&e);
        /* The socket and the database are jitd's identity while it runs. */
        if (strcmp(c->socket, d->config->socket) != 0 || strcmp(c->database, d->config->database) != 0)
                log_msg(LOG_WARNING, "reload: socket and database changes take effect at the next start");
        free(c->socket);
        free(c->database);
        c->socket = strdup(d->config->socket);
        c->database = strdup(d->config->database);
        if (!c->socket || !c->database) {
                config_free(c);
                snprintf(why, size, "out of memory");
                return -ENOMEM;
        }
        config_free(d->config);
        d->config = c;
        revoked = revoke_ineligible(d);
        /* Drop-ins follow the roles' new runas/commands/services. */
        enforce_reconcile(d);
        grants_rearm_timer(d);
        governance_arm_metrics(d);
        snprintf(why, size, "configuration reloaded: %zu role%s; %u grant%s of users no longer eligible revoked",
                 c->n_roles, c->n_roles == 1 ? "" : "s", revoked, revoked == 1 ? "" : "s");
        return 0;
}
