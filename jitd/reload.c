/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "deadline.h"
#include "grants.h"
#include "log.h"
#include "metrics.h"
#include "nsscache.h"
#include "policy.h"
#include "reconcile.h"
#include "recording.h"
#include "reload.h"
#include "store.h"
#include "sudoers.h"

/* Past this a config is not read: it is not a config. */
#define CONFIG_MAX_BYTES (1024 * 1024)

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

/* The config decides who gets root: a regular file owned by root and
 * writable by nobody else, judged on the descriptor that is then parsed, so
 * that nothing can be swapped in between. */
int config_load_trusted(const char *path, struct config **ret, struct config_errors *e)
{
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                add_line(e, "%s: cannot open: %s", path, r == -ELOOP ? "it is a symlink" : strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                add_line(e, "%s: cannot stat: %s", path, strerror(-r));
        } else if (!S_ISREG(st.st_mode)) {
                add_line(e, "%s: not a regular file", path);
                r = -EINVAL;
        } else if (st.st_uid != geteuid()) {
                add_line(e, "%s: owned by uid %u, must be owned by root", path, (unsigned) st.st_uid);
                r = -EPERM;
        } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                add_line(e, "%s: writable by group or others (mode %04o); chmod go-w it", path,
                         (unsigned) (st.st_mode & 07777));
                r = -EPERM;
        } else if (st.st_size > CONFIG_MAX_BYTES) {
                add_line(e, "%s: %lld bytes is too big for a config", path, (long long) st.st_size);
                r = -EFBIG;
        } else {
                r = config_load_fd(fd, path, ret, e);
                if (r < 0 && e->n == 0)
                        add_line(e, "%s: %s", path, strerror(-r));
        }
        close(fd);
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
        int k;
        bool ok;

        k = r ? principal_from_name(w->d->config, g->user, &p) : -ENOENT;
        /* NSS could not say: not a reason to take anything away now. */
        if (r && k < 0 && k != -ENOENT)
                return 0;
        /* Break-glass grants stand on the break_glass list, not membership. */
        ok = r && p && (g->break_glass ? policy_break_glass_ok(r, p) && policy_host_matches(r, w->d->config->host)
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
                        char reason[JIT_REASON_MAX + 1], why[256];
                        struct fsm_event ev = { .type = FSM_REVOKE, .text = reason };

                        snprintf(reason, sizeof(reason),
                                 config_find_role(d->config, w.v[i].role)
                                 ? "no longer eligible for role %s after a configuration reload"
                                 : "role %s no longer exists after a configuration reload", w.v[i].role);
                        if (grants_step(d, &w.v[i], &ev, &actor_jitd, why, sizeof(why)) >= 0)
                                n++;
                }
        free(w.v);
        return n;
}

int jitd_reload(struct jitd *d, char *why, size_t size)
{
        struct config_errors e = {};
        struct config *c = NULL;
        char rwhy[512];
        unsigned revoked;
        int r;

        r = config_load_trusted(d->config_path, &c, &e);
        if (r >= 0 && strcmp(c->sudoers_dir, d->config->sudoers_dir) != 0 &&
            (r = sudoers_dir_check(c->sudoers_dir)) < 0)
                add_line(&e, "%s: sudoers_dir %s: %s", d->config_path, c->sudoers_dir,
                         r == -EPERM ? "must be owned by root and not writable by group or others" : strerror(-r));
        if (r >= 0 && config_records_any(c) && (r = recording_dir_check(c->record_dir, true, rwhy, sizeof(rwhy))) < 0)
                add_line(&e, "%s: %s", d->config_path, rwhy);
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
        /* The socket, the database and the audit key are jitd's identity
         * while it runs: the chain is keyed once, at start. */
        if (strcmp(c->socket, d->config->socket) != 0 || strcmp(c->database, d->config->database) != 0 ||
            !streq_ptr(c->audit_key, d->config->audit_key))
                log_msg(LOG_WARNING, "reload: socket, database and audit_key changes take effect at the next start");
        /* The fleet connection keeps what it started with (jitd/fleet_mirror.c
         * holds copies); allowed_signers is read at each verification. */
        if (!c->fleet.line != !d->config->fleet.line || !streq_ptr(c->fleet.database, d->config->fleet.database) ||
            !streq_ptr(c->fleet.write_database, d->config->fleet.write_database) ||
            !streq_ptr(c->fleet.password_file, d->config->fleet.password_file) || c->fleet.sync != d->config->fleet.sync)
                log_msg(LOG_WARNING, "reload: [fleet] database, write_database, password_file and sync changes take "
                        "effect at the next start");
        free(c->socket);
        free(c->database);
        free(c->audit_key);
        c->socket = strdup(d->config->socket);
        c->database = strdup(d->config->database);
        c->audit_key = d->config->audit_key ? strdup(d->config->audit_key) : NULL;
        if (!c->socket || !c->database || (d->config->audit_key && !c->audit_key)) {
                config_free(c);
                snprintf(why, size, "out of memory");
                return -ENOMEM;
        }
        config_free(d->config);
        d->config = c;
        /* The groups the config names may be others now. */
        nsscache_flush(d->nss);
        revoked = revoke_ineligible(d);
        /* Drop-ins follow the roles' new runas/commands/services. */
        reconcile(d);
        deadline_rearm(d);
        metrics_arm(d);
        snprintf(why, size, "configuration reloaded: %zu role%s; %u grant%s of users no longer eligible revoked",
                 c->n_roles, c->n_roles == 1 ? "" : "s", revoked, revoked == 1 ? "" : "s");
        return 0;
}
