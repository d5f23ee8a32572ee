/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Databases for the benchmarks, written through jitd's own store (so every
 * row is one jitd could have written) and far faster than requests through
 * the socket: one transaction, no visudo.
 *
 *   --ended N --users U     N grants of synthetic users P00000.. (U of them):
 *                           one in 100 open (pending or active, in --open-role,
 *                           which gates no sudo), the rest ended in --role
 *   --active LIST           one active grant in --role for each real user named,
 *                           with 9 ended ones each, and its drop-in
 *   --active-synthetic N    N active grants in --role for synthetic users
 *                           (--active-prefix), each with its drop-in
 *
 * Every grant gets its audit events ("requested" and how it ended). Drop-ins
 * are rendered by jitd's sudoers_render(), so jitd's start-up reconciliation
 * finds them exactly as it would have written them and runs no visudo.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "audit.h"
#include "jitbench.h"
#include "store.h"
#include "sudoers.h"

struct pop {
        struct store *store;
        struct audit_chain *chain;
        const struct config *config;
        const char *dropins;
        int64_t now, expires;
        size_t n_grants, n_dropins;
};

static int write_dropin(const char *dir, const struct jit_grant *g, const struct role *r)
{
        _cleanup_free_ char *text = NULL, *tmp = NULL, *path = NULL;
        size_t len;
        int fd, k;

        k = sudoers_render(g, r, &text);
        if (k < 0)
                return k;
        if (asprintf(&tmp, "%s/.jit-%lld.tmp", dir, (long long) g->id) < 0 ||
            asprintf(&path, "%s/jit-%lld", dir, (long long) g->id) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0440);
        if (fd < 0)
                return -errno;
        len = strlen(text);
        k = write(fd, text, len) == (ssize_t) len && fchown(fd, 0, 0) == 0 && fchmod(fd, 0440) == 0 ? 0 : -EIO;
        close(fd);
        if (k == 0 && rename(tmp, path) < 0)
                k = -errno;
        if (k < 0)
                unlink(tmp);
        return k;
}

static const char *event_of(enum grant_state s)
{
        return grant_state_to_string(s);
}

/* One audit event, chained as jitd chains it (jitd/audit.c). */
static int event(struct pop *p, int64_t at, uid_t uid, const char *actor, int64_t grant, const char *name,
                 const char *details)
{
        struct audit_event e = { .at = at, .actor_uid = uid, .grant_id = grant, .details = details };

        snprintf(e.actor, sizeof(e.actor), "%s", actor);
        snprintf(e.event, sizeof(e.event), "%s", name);
        return audit_append(p->chain, p->store, &e);
}

/* Insert one grant with its audit trail. */
static int put(struct pop *p, struct jit_grant *g)
{
        char details[128];
        int r;

        r = store_grant_insert(p->store, g);
        if (r < 0)
                return r;
        snprintf(details, sizeof(details), "{\"duration\":%llu,\"approval\":\"%s\"}",
                 (unsigned long long) g->duration, g->approval);
        r = event(p, g->requested_at, g->uid, g->user, g->id, "requested", details);
        if (r >= 0 && g->state != GRANT_PENDING)
                r = event(p, g->starts_at ? g->starts_at : g->requested_at, 0, "jitd", g->id,
                          g->state == GRANT_ACTIVE ? "activated" : event_of(g->state), "{}");
        p->n_grants++;
        return r;
}

static void grant_base(struct pop *p, struct jit_grant *g, const char *user, uint32_t uid, const char *role,
                       const char *approval)
{
        *g = (struct jit_grant) { .uid = uid, .duration = 3600 };
        snprintf(g->user, sizeof(g->user), "%s", user);
        snprintf(g->host, sizeof(g->host), "%s", p->config->host);
        snprintf(g->role, sizeof(g->role), "%s", role);
        snprintf(g->reason, sizeof(g->reason), "benchmark history");
        snprintf(g->approval, sizeof(g->approval), "%s", approval);
}

/* An ended grant, i-th of its kind: expired mostly, some released, revoked,
 * denied or cancelled. */
static int put_ended(struct pop *p, const char *user, uint32_t uid, const char *role, size_t i)
{
        static const enum grant_state ends[] = {
                GRANT_EXPIRED, GRANT_EXPIRED, GRANT_EXPIRED, GRANT_EXPIRED, GRANT_RELEASED,
                GRANT_RELEASED, GRANT_REVOKED, GRANT_DENIED, GRANT_CANCELLED, GRANT_EXPIRED,
        };
        struct jit_grant g;

        grant_base(p, &g, user, uid, role, "auto");
        g.state = ends[i % ELEMENTSOF(ends)];
        /* Spread over the last 30 days, oldest first. */
        g.requested_at = p->now - 30 * 86400 + (int64_t) (i % (29 * 86400));
        if (g.state == GRANT_DENIED || g.state == GRANT_CANCELLED) {
                g.ended_at = g.requested_at + 120;
                snprintf(g.end_reason, sizeof(g.end_reason), "%s", g.state == GRANT_DENIED ? "denied by bench" :
                         "cancelled by the requester");
        } else {
                g.approved_at = g.requested_at;
                g.starts_at = g.requested_at;
                g.expires_at = g.starts_at + 3600;
                g.ended_at = g.state == GRANT_EXPIRED ? g.expires_at : g.starts_at + 600;
                snprintf(g.end_reason, sizeof(g.end_reason), "%s", g.state == GRANT_EXPIRED ? "expired" :
                         g.state == GRANT_RELEASED ? "released by the user: task done" : "revoked by root: bench");
        }
        return put(p, &g);
}

static int put_active(struct pop *p, const char *user, uint32_t uid, const char *role, bool dropin)
{
        const struct role *r = config_find_role(p->config, role);
        struct jit_grant g;
        int k;

        if (!r)
                return -ENOENT;
        grant_base(p, &g, user, uid, role, "auto");
        g.state = GRANT_ACTIVE;
        g.requested_at = g.approved_at = g.starts_at = p->now - 600;
        g.expires_at = p->expires;
        g.duration = (uint64_t) (g.expires_at - g.starts_at);
        k = put(p, &g);
        if (k >= 0 && dropin) {
                k = write_dropin(p->dropins, &g, r);
                p->n_dropins++;
        }
        return k;
}

static int put_open_synthetic(struct pop *p, const char *user, uint32_t uid, const char *role, size_t i)
{
        struct jit_grant g;

        grant_base(p, &g, user, uid, role, "peer");
        g.requested_at = p->now - 300;
        g.approvals_needed = 1;
        if (i % 2) {
                g.state = GRANT_ACTIVE;
                g.approved_at = g.starts_at = p->now - 200;
                g.expires_at = p->now + 86400;
                snprintf(g.approvers, sizeof(g.approvers), "root");
        }
        return put(p, &g);
}

static void usage(void)
{
        fprintf(stderr, "usage: jitbench populate --config CONF --db DB [--dropins DIR] [--role R]\n"
                "         [--ended N --users U --prefix P --open-role R2] [--active u1,u2,...]\n"
                "         [--active-synthetic N --active-prefix P] [--expires UNIXTIME]\n");
}

int cmd_populate(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "db", required_argument, NULL, 'd' },
                { "dropins", required_argument, NULL, 'D' },
                { "role", required_argument, NULL, 'r' },
                { "open-role", required_argument, NULL, 'o' },
                { "ended", required_argument, NULL, 'e' },
                { "users", required_argument, NULL, 'u' },
                { "prefix", required_argument, NULL, 'p' },
                { "active", required_argument, NULL, 'a' },
                { "active-synthetic", required_argument, NULL, 'A' },
                { "active-prefix", required_argument, NULL, 'P' },
                { "expires", required_argument, NULL, 'x' },
                {}
        };
        const char *conf = NULL, *db = NULL, *role = "ops", *open_role = "shell", *prefix = "jbs";
        const char *active_prefix = "jbr", *real = NULL;
        long ended = 0, users = 1, active_syn = 0, expires = 0;
        struct config *c = NULL;
        struct config_errors ce = {};
        struct pop p = {};
        char **realv = NULL;
        int64_t t0 = now_ns();
        int opt, r;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 'c': conf = optarg; break;
                case 'd': db = optarg; break;
                case 'D': p.dropins = optarg; break;
                case 'r': role = optarg; break;
                case 'o': open_role = optarg; break;
                case 'e': ended = opt_long("--ended", optarg, 0, 10000000); break;
                case 'u': users = opt_long("--users", optarg, 1, 1000000); break;
                case 'p': prefix = optarg; break;
                case 'a': real = optarg; break;
                case 'A': active_syn = opt_long("--active-synthetic", optarg, 0, 1000000); break;
                case 'P': active_prefix = optarg; break;
                case 'x': expires = opt_long("--expires", optarg, 1, 253402300799L); break;
                default: usage(); return 2;
                }
        }
        if (!conf || !db || ((real || active_syn) && !p.dropins)) {
                usage();
                return 2;
        }
        r = config_load(conf, &c, &ce);
        for (size_t i = 0; i < ce.n; i++)
                fprintf(stderr, "%s\n", ce.lines[i]);
        config_errors_clear(&ce);
        if (r < 0)
                return 1;
        r = audit_chain_new(&p.chain);
        if (r >= 0)
                r = store_open(db, &p.store);
        if (r < 0) {
                fprintf(stderr, "jitbench: %s: %s\n", db, strerror(-r));
                config_free(c);
                return 1;
        }
        p.config = c;
        p.now = now_real_ns() / 1000000000;
        p.expires = expires ? expires : p.now + 86400;
        realv = list_split(real, ',');

        r = store_begin(p.store);
        for (long i = 0; r >= 0 && i < ended; i++) {
                char user[JIT_USER_MAX + 1];
                long u = i % users;

                snprintf(user, sizeof(user), "%s%05ld", prefix, u);
                if (i % 100 == 99)
                        r = put_open_synthetic(&p, user, (uint32_t) (200000 + u), open_role, (size_t) i / 100);
                else
                        r = put_ended(&p, user, (uint32_t) (200000 + u), role, (size_t) i);
        }
        for (size_t i = 0; r >= 0 && realv[i]; i++) {
                struct passwd *pw = getpwnam(realv[i]);

                if (!pw) {
                        fprintf(stderr, "jitbench populate: no user %s\n", realv[i]);
                        r = -ENOENT;
                        break;
                }
                for (size_t k = 0; r >= 0 && k < 9; k++)
                        r = put_ended(&p, realv[i], pw->pw_uid, role, i * 9 + k);
                if (r >= 0)
                        r = put_active(&p, realv[i], pw->pw_uid, role, true);
        }
        for (long i = 0; r >= 0 && i < active_syn; i++) {
                char user[JIT_USER_MAX + 1];

                snprintf(user, sizeof(user), "%s%05ld", active_prefix, i);
                r = put_active(&p, user, (uint32_t) (300000 + i), role, true);
        }
        if (r >= 0)
                r = store_commit(p.store);
        else
                store_rollback(p.store);
        if (r < 0)
                fprintf(stderr, "jitbench populate: %s (%s)\n", strerror(-r), store_last_error(p.store));
        else
                printf("R populate.%s grants=%zu dropins=%zu seconds=%.1f\n", db, p.n_grants, p.n_dropins,
                       (double) (now_ns() - t0) / 1e9);
        store_free(p.store);
        audit_chain_free(p.chain);
        strv_free(realv);
        config_free(c);
        return r < 0 ? 1 : 0;
}

struct retime_walk {
        struct jit_grant *v;
        size_t n, cap;
};

static int collect(const struct jit_grant *g, void *userdata)
{
        struct retime_walk *w = userdata;

        if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 1024;
                struct jit_grant *v = realloc(w->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                w->v = v;
                w->cap = cap;
        }
        w->v[w->n++] = *g;
        return 0;
}

int retime(const char *conf, const char *db, const char *dropins, const char *role, int64_t expires,
           struct jit_grant **ret, size_t *ret_n)
{
        struct config *c = NULL;
        struct config_errors ce = {};
        struct store *s = NULL;
        struct retime_walk w = {};
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_ACTIVE), .role = role };
        const struct role *rr;
        int r;

        r = config_load(conf, &c, &ce);
        config_errors_clear(&ce);
        if (r < 0)
                return r;
        rr = config_find_role(c, role);
        r = rr ? store_open(db, &s) : -ENOENT;
        if (r >= 0)
                r = store_grant_foreach(s, &f, collect, &w);
        if (r >= 0)
                r = store_begin(s);
        for (size_t i = 0; r >= 0 && i < w.n; i++) {
                w.v[i].expires_at = expires;
                r = store_grant_update(s, &w.v[i]);
        }
        if (r >= 0)
                r = store_commit(s);
        else if (s)
                store_rollback(s);
        for (size_t i = 0; r >= 0 && i < w.n; i++)
                r = write_dropin(dropins, &w.v[i], rr);
        store_free(s);
        config_free(c);
        if (r < 0) {
                free(w.v);
                return r;
        }
        *ret = w.v;
        *ret_n = w.n;
        return 0;
}

/* With jitd stopped: every active grant of the role now ends at -x, and its
 * drop-in says so, as if it had been granted that way. */
int cmd_retime(int argc, char **argv)
{
        const char *conf = NULL, *db = NULL, *dropins = NULL, *role = NULL;
        struct jit_grant *v = NULL;
        size_t n = 0;
        long expires = 0;
        int opt, r;

        while ((opt = getopt(argc, argv, "c:d:D:r:x:")) >= 0) {
                switch (opt) {
                case 'c': conf = optarg; break;
                case 'd': db = optarg; break;
                case 'D': dropins = optarg; break;
                case 'r': role = optarg; break;
                case 'x': expires = opt_long("-x", optarg, 1, 253402300799L); break;
                default: return 2;
                }
        }
        if (!conf || !db || !dropins || !role || !expires) {
                fprintf(stderr, "usage: jitbench retime -c CONF -d DB -D DROPINS -r ROLE -x UNIXTIME\n");
                return 2;
        }
        r = retime(conf, db, dropins, role, expires, &v, &n);
        if (r < 0)
                fprintf(stderr, "jitbench retime: %s\n", strerror(-r));
        else
                printf("R retime grants=%zu expires=%ld\n", n, expires);
        free(v);
        return r < 0 ? 1 : 0;
}
