/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Making grants real on the host: the sudoers drop-in while a grant is active,
 * its removal and the killing of the grant's sessions when it ends, and the
 * reconciliation that repairs both after a crash or behind-the-back edits.
 *
 * Order at the end of a grant: the state change is committed first (so PAM's
 * second lock closes at once), then the drop-in goes, then the sessions die. A
 * crash between those steps is repaired by enforce_reconcile() at the next
 * start: drop-ins without an active grant are removed, sessions of ended
 * grants are killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "duration.h"
#include "gating.h"
#include "jitd.h"
#include "sudoers.h"
#include "teardown.h"

int enforce_install(struct jitd *d, const struct jit_grant *g, const struct role *r, char *why, size_t size)
{
        _cleanup_free_ char *text = NULL;
        int ret;

        if (!gating_role_needs_sudoers(r))
                return 0;
        ret = sudoers_render(g, r, &text);
        if (ret < 0) {
                snprintf(why, size, "cannot render the sudoers rule: %s", strerror(-ret));
                return ret;
        }
        ret = sudoers_install(d->config->sudoers_dir, g->id, text, d->config->visudo);
        if (ret == -EBADMSG)
                snprintf(why, size, "visudo rejected the sudoers drop-in");
        else if (ret == -EPERM)
                snprintf(why, size, "%s is not root-owned or is writable by group or others",
                         d->config->sudoers_dir);
        else if (ret < 0)
                snprintf(why, size, "cannot write the sudoers drop-in in %s: %s", d->config->sudoers_dir,
                         strerror(-ret));
        return ret;
}

struct session_list {
        struct jit_session *v;
        size_t n, cap;
};

static int collect_open(const struct jit_session *x, void *userdata)
{
        struct session_list *l = userdata;

        if (array_reserve((void **) &l->v, &l->cap, l->n, sizeof(*l->v)) < 0)
                return -ENOMEM;
        l->v[l->n++] = *x;
        return 0;
}

/* Grants are taken away in chunks: the sessions and grants of one chunk are
 * held in memory at once, so ten thousand grants ending together do not need
 * ten thousand of each. */
#define END_CHUNK 256

/* One grant being taken away: its drop-in's removal, then its sessions. */
struct ending {
        const struct jit_grant *g;
        int err;                /* the first failure; 0 when all went well */
        unsigned killed;
};

static int64_t now_realtime_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Removes the drop-ins of n grants with one flush of the directory; errs[i]
 * receives grant ids[i]'s failure. */
static void remove_dropins(struct jitd *d, const int64_t *ids, size_t n, int *errs)
{
        int r = sudoers_remove_many(d->config->sudoers_dir, ids, n, errs);

        for (size_t i = 0; i < n; i++) {
                if (r < 0)
                        errs[i] = r;
                if (errs[i] < 0)
                        log_msg(LOG_ERR, "grant %lld: cannot remove %s/jit-%lld: %s", (long long) ids[i],
                                d->config->sudoers_dir, (long long) ids[i], strerror(-errs[i]));
        }
}

/* Kills every session of the chunk's grants not yet torn down, closed ones
 * included (a closed sudo session may have left `cmd &` behind), all at once,
 * and marks those that died in one transaction; a session that could not be
 * killed stays live so reconciliation retries. */
static void end_sessions(struct jitd *d, struct ending *e, size_t n)
{
        struct session_list l = {};
        _cleanup_free_ const char **handles = NULL;
        _cleanup_free_ int *errs = NULL;
        _cleanup_free_ size_t *owner = NULL;
        int64_t now = now_realtime();
        size_t owned = 0;
        bool any = false;
        int r = 0;

        for (size_t j = 0; j < n; j++) {
                r = store_session_foreach_live(d->store, e[j].g->id, collect_open, &l);
                if (r < 0) {
                        log_msg(LOG_ERR, "grant %lld: cannot read its sessions: %s", (long long) e[j].g->id,
                                store_last_error(d->store));
                        e[j].err = r;
                        l.n = owned;
                        continue;
                }
                if (l.n > owned) {
                        size_t *o = realloc(owner, l.n * sizeof(*owner));

                        if (!o) {
                                e[j].err = -ENOMEM;
                                l.n = owned;
                                continue;
                        }
                        owner = o;
                        for (; owned < l.n; owned++)
                                owner[owned] = j;
                }
        }
        if (l.n == 0)
                goto out;
        handles = calloc(l.n, sizeof(*handles));
        errs = calloc(l.n, sizeof(*errs));
        if (!handles || !errs) {
                for (size_t j = 0; j < n; j++)
                        e[j].err = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < l.n; i++)
                handles[i] = l.v[i].handle;
        r = teardown_kill_many(d->teardown, handles, l.n, errs);
        for (size_t i = 0; i < l.n; i++) {
                struct ending *x = &e[owner[i]];
                int k = r < 0 ? r : errs[i];

                if (k < 0) {
                        log_msg(LOG_ERR, "grant %lld: cannot kill session %lld (pid %d, %s): %s",
                                (long long) x->g->id, (long long) l.v[i].id, (int) l.v[i].pid, l.v[i].handle,
                                strerror(-k));
                        x->err = k;
                        l.v[i].id = 0;
                } else {
                        x->killed++;
                        any = true;
                }
        }
        if (!any)
                goto out;
        r = store_begin_relaxed(d->store);
        for (size_t i = 0; r >= 0 && i < l.n; i++)
                if (l.v[i].id)
                        r = store_session_torn_down(d->store, l.v[i].id, now,
                                                    grant_state_to_string(e[owner[i]].g->state));
        if (r >= 0)
                r = store_commit(d->store);
        else
                store_rollback(d->store);
        if (r < 0)
                log_msg(LOG_ERR, "cannot record %zu torn-down sessions: %s", l.n, store_last_error(d->store));
out:
        free(l.v);
}

/* The evidence for time-to-revoke: from the grant's end (its expiry, or the
 * moment it was revoked or released) to the moment its privilege was gone. */
static int audit_teardown(struct jitd *d, const struct ending *e, int64_t done)
{
        const struct jit_grant *g = e->g;
        int64_t end = g->state == GRANT_EXPIRED && g->expires_at ? g->expires_at : g->ended_at;
        json_object *det = json_object_new_object();
        int r;

        json_object_object_add(det, "end", json_object_new_int64(end));
        json_object_object_add(det, "done_ms", json_object_new_int64(done));
        json_object_object_add(det, "latency_ms", json_object_new_int64(done - end * 1000));
        json_object_object_add(det, "sessions_killed", json_object_new_int64(e->killed));
        json_object_object_add(det, "complete", json_object_new_boolean(e->err >= 0));
        r = store_audit_append(d->store, done / 1000, 0, "jitd", g->id, "torn-down",
                               json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN), NULL);
        json_object_put(det);
        return r;
}

/* After the drop-ins of the chunk are gone: the sessions, then one
 * transaction with every grant's torn-down event. */
static void end_chunk(struct jitd *d, struct ending *e, size_t n)
{
        int64_t done;
        int r;

        end_sessions(d, e, n);
        done = now_realtime_ms();
        r = store_begin(d->store);
        for (size_t j = 0; r >= 0 && j < n; j++)
                r = audit_teardown(d, &e[j], done);
        if (r >= 0)
                r = store_commit(d->store);
        else
                store_rollback(d->store);
        if (r < 0)
                log_msg(LOG_ERR, "cannot audit the teardown of %zu grant%s (first %lld): %s", n,
                        n == 1 ? "" : "s", (long long) e[0].g->id, store_last_error(d->store));
        for (size_t j = 0; j < n; j++)
                if (e[j].killed)
                        log_msg(LOG_NOTICE, "grant %lld (%s, %s) %s: %u session%s killed", (long long) e[j].g->id,
                                e[j].g->user, e[j].g->role, grant_state_to_string(e[j].g->state), e[j].killed,
                                e[j].killed == 1 ? "" : "s");
}

int enforce_end(struct jitd *d, const struct jit_grant *g)
{
        struct ending e = { .g = g };

        if (!grant_state_is_open(g->state))
                ticketflow_note(d, g);
        remove_dropins(d, &g->id, 1, &e.err);
        end_chunk(d, &e, 1);
        return e.err;
}

bool enforce_pending(const struct jitd *d)
{
        return d->ending_pos < d->ending_n;
}

void enforce_continue(struct jitd *d)
{
        struct ending e[END_CHUNK] = {};
        int64_t ids[END_CHUNK];
        int errs[END_CHUNK];
        struct jit_grant *gs;
        size_t n = 0;
        int r;

        if (!enforce_pending(d))
                return;
        gs = calloc(END_CHUNK, sizeof(*gs));
        if (!gs) {
                log_msg(LOG_ERR, "cannot end grants now: %s; retrying", strerror(ENOMEM));
                return;
        }
        while (d->ending_pos < d->ending_n && n < END_CHUNK)
                ids[n++] = d->ending[d->ending_pos++];
        /* Committed first, so that the state is right before the host is
         * changed; what fails here stays active and due, and is retried
         * through the timer once the queue is through. */
        r = grants_expire(d, ids, n, gs, &n);
        if (r < 0) {
                log_msg(LOG_ERR, "expiring %zu grants: %s", n, strerror(-r));
                n = 0;
        }
        for (size_t i = 0; i < n; i++)
                ids[i] = gs[i].id;
        remove_dropins(d, ids, n, errs);
        for (size_t i = 0; i < n; i++) {
                e[i] = (struct ending) { .g = &gs[i], .err = errs[i] };
                ticketflow_note(d, &gs[i]);
        }
        if (n)
                end_chunk(d, e, n);
        free(gs);
        if (!enforce_pending(d)) {
                free(d->ending);
                d->ending = NULL;
                d->ending_n = d->ending_pos = d->ending_cap = 0;
                grants_rearm_timer(d);
        }
}

void enforce_expire(struct jitd *d, const int64_t *ids, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (array_reserve((void **) &d->ending, &d->ending_cap, d->ending_n, sizeof(*d->ending)) < 0) {
                        /* The rest stays active and due: the timer comes
                         * back for it once the queue is through. */
                        log_msg(LOG_ERR, "cannot queue %zu grants to expire: %s", n - i, strerror(ENOMEM));
                        break;
                }
                d->ending[d->ending_n++] = ids[i];
        }
        enforce_continue(d);
}

void enforce_withdraw(struct jitd *d, int64_t grant_id)
{
        int err = 0;

        remove_dropins(d, &grant_id, 1, &err);
}

/* The terminal of a session, as PAM named it: "/dev/pts/3", "pts/3" or
 * "tty1". sshd says "ssh", which names no terminal: such sessions get no
 * notice. Only /dev/pts/N and /dev/ttyN are ever opened. */
static bool session_tty_path(const char *tty, char *buf, size_t size)
{
        const char *rest;
        size_t digits;

        if (strncmp(tty, "/dev/", 5) == 0)
                tty += 5;
        if (strncmp(tty, "pts/", 4) == 0)
                rest = tty + 4;
        else if (strncmp(tty, "tty", 3) == 0)
                rest = tty + 3;
        else
                return false;
        digits = strspn(rest, "0123456789");
        if (digits == 0 || digits > 6 || rest[digits] != '\0')
                return false;
        return snprintf(buf, size, "/dev/%s", tty) < (int) size;
}

static int warn_session(const struct jit_session *x, void *userdata)
{
        const char *text = userdata;
        char path[32];
        struct stat st;
        int fd;

        if (x->closed_at || !session_tty_path(x->tty, path, sizeof(path)))
                return 0;
        /* Non-blocking: a terminal that does not drain must not stall jitd. */
        fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode))
                (void) !write(fd, text, strlen(text));
        close(fd);
        return 0;
}

void enforce_warn(struct jitd *d, const struct jit_grant *g)
{
        char text[256], when[32], left[32];
        time_t t = (time_t) g->expires_at;
        struct tm tm;
        int64_t now = now_realtime();

        if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%H:%M:%S UTC", &tm))
                snprintf(when, sizeof(when), "%lld", (long long) g->expires_at);
        duration_format(g->expires_at > now ? (uint64_t) (g->expires_at - now) : 0, left, sizeof(left));
        snprintf(text, sizeof(text),
                 "\r\n*** jit: your elevation (grant %lld, role %s) ends at %s, in %s; this session will be "
                 "closed then. ***\r\n", (long long) g->id, g->role, when, left);
        store_session_foreach_live(d->store, g->id, warn_session, text);
        log_msg(LOG_INFO, "grant %lld ends in %s: its sessions were warned", (long long) g->id, left);
}

/* An audit event outside a state change (reconciliation repairs). */
static void audit_repair(struct jitd *d, const struct jit_grant *g, int64_t id, const char *event,
                         const char *what)
{
        json_object *det = json_object_new_object();
        int r;

        json_object_object_add(det, "what", json_object_new_string(what));
        r = store_begin(d->store);
        if (r >= 0)
                r = store_audit_append(d->store, now_realtime(), 0, "jitd", g ? g->id : id, event,
                                       json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN), NULL);
        if (r >= 0)
                r = store_commit(d->store);
        else
                store_rollback(d->store);
        if (r >= 0)
                log_event(LOG_WARNING, event, g, 0, "jitd",
                          json_object_to_json_string_ext(det, JSON_C_TO_STRING_PLAIN));
        else
                log_msg(LOG_ERR, "cannot audit %s: %s", event, store_last_error(d->store));
        json_object_put(det);
}

static void reconcile_dropins(struct jitd *d)
{
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0;
        int r;

        r = sudoers_list(d->config->sudoers_dir, &ids, &n);
        if (r < 0 && r != -ENOENT) {
                log_msg(LOG_ERR, "reconcile: cannot list %s: %s", d->config->sudoers_dir, strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct jit_grant g;
                bool have = store_grant_get(d->store, ids[i], &g) >= 0;
                const struct role *role = have ? config_find_role(d->config, g.role) : NULL;

                if (have && g.state == GRANT_ACTIVE && gating_role_needs_sudoers(role))
                        continue;
                r = sudoers_remove(d->config->sudoers_dir, ids[i]);
                if (r < 0) {
                        log_msg(LOG_ERR, "reconcile: cannot remove jit-%lld: %s", (long long) ids[i], strerror(-r));
                        continue;
                }
                audit_repair(d, have ? &g : NULL, ids[i], "dropin-removed",
                             !have ? "drop-in of an unknown grant" : g.state == GRANT_ACTIVE ?
                             "role no longer gates sudo" : "drop-in of a grant that is not active");
        }
}

static int restore_one(const struct jit_grant *g, void *userdata)
{
        struct jitd *d = userdata;
        const struct role *r = config_find_role(d->config, g->role);
        _cleanup_free_ char *want = NULL, *have = NULL;
        char why[256];
        int ret;

        if (!gating_role_needs_sudoers(r) || sudoers_render(g, r, &want) < 0)
                return 0;
        ret = sudoers_read(d->config->sudoers_dir, g->id, &have);
        if (ret >= 0 && strcmp(want, have) == 0)
                return 0;
        if (enforce_install(d, g, r, why, sizeof(why)) < 0) {
                log_msg(LOG_ERR, "reconcile: grant %lld: %s", (long long) g->id, why);
                return 0;
        }
        audit_repair(d, g, g->id, "dropin-restored", ret == -ENOENT ? "drop-in was missing" : "drop-in was altered");
        return 0;
}

/* Sessions of grants that are no longer active are torn down now (jitd may
 * have crashed between ending a grant and killing them); open sessions of
 * active grants whose processes are all gone are marked closed. */
static void reconcile_sessions(struct jitd *d)
{
        struct session_list l = {};
        int64_t now = now_realtime();
        int r;

        r = store_session_foreach_live(d->store, 0, collect_open, &l);
        if (r < 0)
                log_msg(LOG_ERR, "reconcile: reading sessions: %s", strerror(-r));
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                const struct jit_session *x = &l.v[i];
                struct jit_grant g;
                bool alive = true, active;

                active = store_grant_get(d->store, x->grant_id, &g) >= 0 && g.state == GRANT_ACTIVE;
                if (active) {
                        if (x->closed_at || teardown_alive(d->teardown, x->handle, &alive) < 0 || alive)
                                continue;
                } else if (teardown_kill(d->teardown, x->handle) < 0) {
                        log_msg(LOG_ERR, "reconcile: cannot kill session %lld of grant %lld", (long long) x->id,
                                (long long) x->grant_id);
                        continue;
                } else
                        log_msg(LOG_NOTICE, "reconcile: tore down session %lld (pid %d) of ended grant %lld",
                                (long long) x->id, (int) x->pid, (long long) x->grant_id);
                if (store_begin_relaxed(d->store) < 0)
                        continue;
                if ((active ? store_session_close(d->store, x->id, now, "session ended")
                            : store_session_torn_down(d->store, x->id, now, "killed: grant ended")) >= 0)
                        store_commit(d->store);
                else
                        store_rollback(d->store);
        }
        free(l.v);
}

void enforce_reconcile(struct jitd *d)
{
        struct store_filter f = { .states = GRANT_STATE_MASK(GRANT_ACTIVE) };
        int r;

        reconcile_dropins(d);
        r = store_grant_foreach(d->store, &f, restore_one, d);
        if (r < 0)
                log_msg(LOG_ERR, "reconcile: %s", store_last_error(d->store));
        /* Queued sessions are being ended in order already. */
        if (!enforce_pending(d))
                reconcile_sessions(d);
        grants_retry_activation(d);
}
