/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Governance requests: break-glass and its review, extensions, the audit
 * trail (export and verification), and reload.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "jitd.h"
#include "report.h"

/* The notify command learns about a break-glass grant through its
 * environment. It is started detached (double fork, the middle child reaped
 * at once) so that a slow pager never holds jitd up. */
static void notify_break_glass(struct jitd *d, const struct jit_grant *g)
{
        const char *cmd = d->config->notify;
        pid_t pid;

        if (!cmd || cmd[0] != '/')
                return;
        pid = fork();
        if (pid < 0) {
                log_msg(LOG_ERR, "break-glass grant %lld: cannot run notify: %m", (long long) g->id);
                return;
        }
        if (pid == 0) {
                char id[24], uid[16], expires[24], duration[24];
                char *env[16];
                int n = 0;

                if (fork() != 0)
                        _exit(0);
                snprintf(id, sizeof(id), "%lld", (long long) g->id);
                snprintf(uid, sizeof(uid), "%u", (unsigned) g->uid);
                snprintf(expires, sizeof(expires), "%lld", (long long) g->expires_at);
                snprintf(duration, sizeof(duration), "%llu", (unsigned long long) g->duration);
                if (asprintf(&env[n], "JIT_EVENT=break-glass") > 0) n++;
                if (asprintf(&env[n], "JIT_GRANT=%s", id) > 0) n++;
                if (asprintf(&env[n], "JIT_USER=%s", g->user) > 0) n++;
                if (asprintf(&env[n], "JIT_UID=%s", uid) > 0) n++;
                if (asprintf(&env[n], "JIT_ROLE=%s", g->role) > 0) n++;
                if (asprintf(&env[n], "JIT_HOST=%s", g->host) > 0) n++;
                if (asprintf(&env[n], "JIT_REASON=%s", g->reason) > 0) n++;
                if (asprintf(&env[n], "JIT_EXPIRES=%s", expires) > 0) n++;
                if (asprintf(&env[n], "JIT_DURATION=%s", duration) > 0) n++;
                env[n++] = (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
                env[n] = NULL;
                for (int fd = 3; fd < 1024; fd++)
                        close(fd);
                execle(cmd, cmd, (char *) NULL, env);
                _exit(127);
        }
        (void) waitpid(pid, NULL, 0);
}

struct open_role_walk {
        const char *role;
        struct jit_grant found;
        bool any;
};

static int find_started(const struct jit_grant *g, void *userdata)
{
        struct open_role_walk *w = userdata;

        if (!w->any && strcmp(g->role, w->role) == 0 && g->state != GRANT_PENDING) {
                w->found = *g;
                w->any = true;
        }
        return 0;
}

void handle_break_glass(struct request *req)
{
        struct jitd *d = req->d;
        const char *role_name = proto_get_str(req->msg, PF_ROLE);
        const char *reason = proto_get_str(req->msg, PF_REASON);
        struct store_filter f = { .user = req->peer->name, .states = GRANT_STATES_OPEN };
        struct open_role_walk w = {};
        struct actor a = request_actor(req);
        struct jit_grant g = {};
        const struct role *r;
        uint64_t duration = 0;
        char why[256], msg[256], left[32];
        int ret;

        if (!role_name || !valid_role_name(role_name) || !(r = config_find_role(d->config, role_name))) {
                reply_error(req, ENOENT, "break-glass needs a role of this host (-r ROLE)");
                return;
        }
        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX)) {
                reply_error(req, EINVAL, "break-glass needs a reason (-m REASON): it is reviewed afterwards");
                return;
        }
        if (!policy_break_glass_ok(r, req->peer) || !policy_host_matches(r, d->config->host)) {
                log_msg(LOG_WARNING, "break-glass for role %s refused to %s (uid %u): not on its break_glass list",
                        r->name, req->peer->name, (unsigned) req->peer->uid);
                reply_error(req, EPERM, "%s may not use break-glass for role %s on host %s", req->peer->name, r->name,
                            d->config->host);
                return;
        }
        proto_get_u64(req->msg, PF_DURATION, &duration);
        if (duration > r->break_glass_duration) {
                duration_format(r->break_glass_duration, left, sizeof(left));
                reply_error(req, ERANGE, "break-glass for role %s lasts at most %s", r->name, left);
                return;
        }
        w.role = r->name;
        ret = store_grant_foreach(d->store, &f, find_started, &w);
        if (ret >= 0 && w.any) {
                reply_error(req, EALREADY, "you already hold grant %lld (%s) for role %s", (long long) w.found.id,
                            grant_state_to_string(w.found.state), r->name);
                return;
        }
        strcpy_checked(g.user, sizeof(g.user), req->peer->name);
        g.uid = req->peer->uid;
        strcpy_checked(g.host, sizeof(g.host), d->config->host);
        strcpy_checked(g.role, sizeof(g.role), r->name);
        strcpy_checked(g.reason, sizeof(g.reason), reason);
        g.duration = duration ? duration : r->break_glass_duration;
        ret = grants_break_glass(d, &g, &a, why, sizeof(why));
        if (ret == -EAGAIN) {
                reply_error(req, EIO, "break-glass grant %lld could not be activated: %s", (long long) g.id, why);
                return;
        }
        if (ret < 0) {
                reply_store_failure(req, ret, "storing the break-glass grant");
                return;
        }
        notify_break_glass(d, &g);
        duration_format(g.duration, left, sizeof(left));
        snprintf(msg, sizeof(msg), "break-glass grant %lld for %s is active for %s; an admin will review it",
                 (long long) g.id, g.role, left);
        reply_grant(req, &g, msg);
}

struct review_walk {
        struct request *req;
        int err;
        uint64_t n;
};

static int review_one(const struct jit_grant *g, void *userdata)
{
        struct review_walk *w = userdata;

        if (!g->break_glass || strcmp(g->review, "pending") != 0)
                return 0;
        w->err = reply_grant(w->req, g, NULL);
        w->n++;
        return w->err;
}

void handle_review(struct request *req)
{
        const char *note = proto_get_str(req->msg, PF_NOTE);
        struct actor a = request_actor(req);
        struct jit_grant g;
        uint64_t flags = 0;
        int64_t id;
        int r;

        if (!proto_has(req->msg, PF_ID)) {
                struct store_filter f = { .states = GRANT_STATES_ALL };
                struct review_walk w = { .req = req };
                struct proto_msg end;

                r = store_grant_foreach(req->d->store, &f, review_one, &w);
                if (r < 0 && !w.err) {
                        reply_store_failure(req, r, "listing reviews");
                        return;
                }
                if (w.err)
                        return;
                proto_init(&end, PROTO_REP_END);
                proto_set_u64(&end, PF_COUNT, w.n);
                reply_msg(req, &end);
                return;
        }
        if (!request_get_id(req, &id) || !request_load_grant(req, id, &g))
                return;
        proto_get_u64(req->msg, PF_FLAGS, &flags);
        if (flags != PROTO_F_ACCEPT && flags != PROTO_F_REJECT) {
                reply_error(req, EINVAL, "a review either accepts or rejects");
                return;
        }
        if (!note || !note[0]) {
                reply_error(req, EINVAL, "a review needs a note saying why");
                return;
        }
        if (!g.break_glass) {
                reply_error(req, EINVAL, "grant %lld is not a break-glass grant", (long long) id);
                return;
        }
        if (strcmp(g.review, "pending") != 0) {
                reply_error(req, EALREADY, "grant %lld was already reviewed (%s)", (long long) id, g.review);
                return;
        }
        if (g.uid == req->peer->uid) {
                reply_error(req, EPERM, "you cannot review your own break-glass grant %lld", (long long) id);
                return;
        }
        r = grants_review(req->d, &g, flags == PROTO_F_ACCEPT, &a, note);
        if (r < 0) {
                reply_store_failure(req, r, "storing the review");
                return;
        }
        reply_grant(req, &g, NULL);
}

struct audit_walk {
        struct request *req;
        uint64_t n;
        int err;
};

static int audit_one(const struct audit_event *e, void *userdata)
{
        struct audit_walk *w = userdata;
        struct proto_msg m;
        int r;

        proto_init(&m, PROTO_REP_EVENT);
        proto_set_u64(&m, PF_COUNT, (uint64_t) e->seq);
        proto_set_u64(&m, PF_NOW, (uint64_t) e->at);
        proto_set_u64(&m, PF_UID, e->actor_uid);
        proto_set_str(&m, PF_ACTOR, e->actor);
        if (e->grant_id)
                proto_set_u64(&m, PF_ID, (uint64_t) e->grant_id);
        proto_set_str(&m, PF_EVENT, e->event);
        proto_set_str(&m, PF_HASH, e->hash);
        if (proto_set_str(&m, PF_DETAILS, e->details ? e->details : "{}") < 0)
                proto_set_str(&m, PF_DETAILS, "{\"truncated\":true}");
        r = reply_msg(w->req, &m);
        if (r < 0) {
                w->err = r;
                return r;
        }
        w->n++;
        return 0;
}

void handle_audit(struct request *req)
{
        struct audit_walk w = { .req = req };
        uint64_t since = 0, id = 0;
        struct proto_msg end;
        int r;

        proto_get_u64(req->msg, PF_SINCE, &since);
        proto_get_u64(req->msg, PF_ID, &id);
        if (since > INT64_MAX || id > INT64_MAX) {
                reply_error(req, EINVAL, "since or grant out of range");
                return;
        }
        r = store_audit_foreach(req->d->store, (int64_t) since, (int64_t) id, audit_one, &w);
        if (r < 0 && !w.err) {
                reply_store_failure(req, r, "reading the audit trail");
                return;
        }
        if (w.err)
                return;
        proto_init(&end, PROTO_REP_END);
        proto_set_u64(&end, PF_COUNT, w.n);
        reply_msg(req, &end);
}

void handle_audit_verify(struct request *req)
{
        struct proto_msg m;
        int64_t seq = 0;
        char why[256] = "";
        int r;

        r = store_audit_verify(req->d->store, &seq, why, sizeof(why));
        if (r == -EBADMSG) {
                log_msg(LOG_ALERT, "audit chain broken: %s", why);
                reply_error(req, EBADMSG, "audit chain broken: %s", why);
                return;
        }
        if (r < 0) {
                reply_store_failure(req, r, "verifying the audit trail");
                return;
        }
        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_COUNT, (uint64_t) seq);
        proto_set_str(&m, PF_MESSAGE, "audit chain intact");
        reply_msg(req, &m);
}

void handle_reload(struct request *req)
{
        struct proto_msg m;
        char why[2048];

        if (jitd_reload(req->d, why, sizeof(why)) < 0) {
                log_msg(LOG_ERR, "reload by %s refused, the old configuration stays in force: %s", req->peer->name,
                        why);
                reply_error(req, EINVAL, "reload refused, the old configuration stays in force: %s", why);
                return;
        }
        log_msg(LOG_NOTICE, "%s (asked by %s)", why, req->peer->name);
        proto_init(&m, PROTO_REP_OK);
        proto_set_str(&m, PF_MESSAGE, why);
        reply_msg(req, &m);
}

struct extended_walk {
        unsigned n;
};

static int count_extended(const struct audit_event *e, void *userdata)
{
        if (strcmp(e->event, "extended") == 0)
                ((struct extended_walk *) userdata)->n++;
        return 0;
}

/* Apply a pending extension whose approvals are complete. */
static int apply_extension(struct request *req, struct jit_grant *g, const struct jit_extension *x,
                           const struct actor *a)
{
        char why[256];
        int r;

        r = grants_extend(req->d, g, x->duration, a, x->reason, why, sizeof(why));
        if (r < 0) {
                reply_error(req, EIO, "grant %lld could not be extended: %s", (long long) g->id,
                            why[0] ? why : strerror(-r));
                return r;
        }
        if (store_begin(req->d->store) >= 0) {
                if (store_extension_delete(req->d->store, g->id) >= 0)
                        store_commit(req->d->store);
                else
                        store_rollback(req->d->store);
        }
        return 0;
}

void handle_extend(struct request *req)
{
        struct jitd *d = req->d;
        const char *reason = proto_get_str(req->msg, PF_REASON);
        struct actor a = request_actor(req);
        struct extended_walk ew = {};
        struct jit_extension x = {};
        const struct role *r;
        struct jit_grant g;
        uint64_t duration = 0;
        char limit[32], msg[256];
        int64_t id, cap;
        int ret;

        if (!request_get_id(req, &id) || !request_load_grant(req, id, &g))
                return;
        if (g.uid != req->peer->uid) {
                reply_error(req, EPERM, "grant %lld is not yours to extend", (long long) id);
                return;
        }
        if (g.state != GRANT_ACTIVE) {
                reply_error(req, EALREADY, "grant %lld is %s; only an active grant can be extended", (long long) id,
                            grant_state_to_string(g.state));
                return;
        }
        if (!proto_get_u64(req->msg, PF_DURATION, &duration) || duration == 0 || duration > DURATION_MAX_SEC) {
                reply_error(req, EINVAL, "an extension needs a duration");
                return;
        }
        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX)) {
                reply_error(req, EINVAL, "an extension needs a reason");
                return;
        }
        r = config_find_role(d->config, g.role);
        if (!r) {
                reply_error(req, ENOENT, "role %s no longer exists", g.role);
                return;
        }
        if (g.break_glass) {
                reply_error(req, EPERM, "break-glass grants are not extended: request the role normally");
                return;
        }
        /* Limits: without max_extensions the grant never lasts past
         * max_duration from its activation; with it, up to that many
         * extensions of at most max_duration each. */
        ret = store_audit_foreach(d->store, 0, g.id, count_extended, &ew);
        if (ret < 0) {
                reply_store_failure(req, ret, "reading the grant's history");
                return;
        }
        duration_format(r->max_duration, limit, sizeof(limit));
        if (r->max_extensions == 0) {
                cap = g.starts_at + (int64_t) r->max_duration;
                if (g.expires_at + (int64_t) duration > cap) {
                        reply_error(req, ERANGE, "grant %lld would last past the role's maximum of %s from its "
                                    "activation (role %s allows no extensions beyond it)", (long long) id, limit,
                                    r->name);
                        return;
                }
        } else {
                if (ew.n >= r->max_extensions) {
                        reply_error(req, ERANGE, "grant %lld was already extended %u time%s, the role's maximum",
                                    (long long) id, ew.n, ew.n == 1 ? "" : "s");
                        return;
                }
                if (duration > r->max_duration) {
                        reply_error(req, ERANGE, "an extension of role %s adds at most %s", r->name, limit);
                        return;
                }
        }
        x.grant_id = g.id;
        x.duration = duration;
        strcpy_checked(x.reason, sizeof(x.reason), reason);
        x.requested_at = now_realtime();
        if (!(r->approval & (APPROVAL_PEER | APPROVAL_TICKET))) {
                /* auto: no approval to re-run. */
                if (apply_extension(req, &g, &x, &a) >= 0)
                        reply_grant(req, &g, "extended");
                return;
        }
        ret = store_begin(d->store);
        if (ret >= 0) {
                ret = store_extension_put(d->store, &x);
                if (ret >= 0)
                        ret = store_commit(d->store);
                else
                        store_rollback(d->store);
        }
        if (ret < 0) {
                reply_store_failure(req, ret, "storing the extension request");
                return;
        }
        log_event(LOG_NOTICE, "extension-requested", &g, a.uid, a.name, NULL);
        if (!(r->approval & APPROVAL_PEER) && ticketflow_check(d, &g) >= 0) {
                ticketflow_defer(req, g.id, 5000);
                return;
        }
        snprintf(msg, sizeof(msg), "extension of grant %lld waits for %u approval%s: jitctl approve %lld",
                 (long long) id, g.approvals_needed, g.approvals_needed == 1 ? "" : "s", (long long) id);
        reply_grant(req, &g, msg);
}

/* approve on an active grant: it approves the pending extension, with fresh
 * approvals (the ones that started the grant do not count again). true when
 * it replied. */
bool extension_approve(struct request *req, struct jit_grant *g, const struct role *r)
{
        struct jitd *d = req->d;
        struct actor a = request_actor(req);
        struct jit_extension x;
        char **names = NULL, msg[256];
        size_t have;
        int ret;

        if (g->state != GRANT_ACTIVE || store_extension_get(d->store, g->id, &x) < 0)
                return false;
        if (strv_split(x.approvers, ',', &names) < 0) {
                reply_error(req, ENOMEM, "out of memory");
                return true;
        }
        if (strv_contains(names, req->peer->name)) {
                strv_free(names);
                reply_error(req, EALREADY, "you already approved the extension of grant %lld", (long long) g->id);
                return true;
        }
        have = strv_length(names) + 1;
        strv_free(names);
        snprintf(x.approvers + strlen(x.approvers), sizeof(x.approvers) - strlen(x.approvers), "%s%s",
                 x.approvers[0] ? "," : "", req->peer->name);
        if (have < g->approvals_needed || (r->approval & APPROVAL_TICKET)) {
                ret = store_begin(d->store);
                if (ret >= 0) {
                        ret = store_extension_put(d->store, &x);
                        if (ret >= 0)
                                ret = store_commit(d->store);
                        else
                                store_rollback(d->store);
                }
                if (ret < 0) {
                        reply_store_failure(req, ret, "storing the approval");
                        return true;
                }
                log_event(LOG_NOTICE, "extension-approved", g, a.uid, a.name, NULL);
                if (have >= g->approvals_needed && ticketflow_check(d, g) >= 0) {
                        ticketflow_defer(req, g->id, 5000);
                        return true;
                }
                snprintf(msg, sizeof(msg), "extension of grant %lld approved: %zu of %u approvals",
                         (long long) g->id, have, g->approvals_needed);
                reply_grant(req, g, msg);
                return true;
        }
        if (apply_extension(req, g, &x, &a) >= 0)
                reply_grant(req, g, "extended");
        return true;
}

/* The ticket of a grant with a pending extension answered "approved". */
void extension_ticket_approved(struct jitd *d, struct jit_grant *g)
{
        const struct role *r = config_find_role(d->config, g->role);
        struct jit_extension x;
        char **names = NULL, why[256];

        if (!r || g->state != GRANT_ACTIVE || store_extension_get(d->store, g->id, &x) < 0)
                return;
        if ((r->approval & APPROVAL_PEER) &&
            (strv_split(x.approvers, ',', &names) < 0 || strv_length(names) < g->approvals_needed)) {
                strv_free(names);
                return;
        }
        strv_free(names);
        if (grants_extend(d, g, x.duration, &actor_jitd, x.reason, why, sizeof(why)) < 0) {
                log_msg(LOG_ERR, "grant %lld: extension approved by its ticket could not be applied: %s",
                        (long long) g->id, why);
                return;
        }
        if (store_begin(d->store) >= 0) {
                if (store_extension_delete(d->store, g->id) >= 0)
                        store_commit(d->store);
                else
                        store_rollback(d->store);
        }
}

/* The governance figures, for admins and approvers: the JSON object in
 * slices of at most REPORT_CHUNK_MAX bytes, then END {count = slices}. */
void handle_report(struct request *req)
{
        _cleanup_free_ char *json = NULL;
        struct proto_msg m;
        uint64_t since = 0, n = 0;
        size_t len;
        int r;

        if (!policy_is_admin(req->d->config, req->peer) && !policy_is_any_approver(req->d->config, req->peer)) {
                reply_error(req, EPERM, "the report is for admins and approvers");
                return;
        }
        proto_get_u64(req->msg, PF_SINCE, &since);
        r = report_build(req->d->store, req->d->config, NULL, since > INT64_MAX ? 0 : (int64_t) since,
                         now_realtime(), &json);
        if (r < 0) {
                reply_store_failure(req, r, "building the report");
                return;
        }
        len = strlen(json);
        for (size_t off = 0; off < len; off += REPORT_CHUNK_MAX) {
                char piece[REPORT_CHUNK_MAX + 1];
                size_t k = len - off < REPORT_CHUNK_MAX ? len - off : REPORT_CHUNK_MAX;

                memcpy(piece, json + off, k);
                piece[k] = '\0';
                proto_init(&m, PROTO_REP_OK);
                if (proto_set_str(&m, PF_DETAILS, piece) < 0 || reply_msg(req, &m) < 0)
                        return;
                n++;
        }
        proto_init(&m, PROTO_REP_END);
        proto_set_u64(&m, PF_COUNT, n);
        reply_msg(req, &m);
}

/* Only with metrics_file set does the timer run: an idle jitd sleeps. */
void governance_arm_metrics(struct jitd *d)
{
        struct itimerspec its = {};

        if (d->config->metrics_file) {
                its.it_value.tv_sec = 1;
                its.it_interval.tv_sec = 60;
        }
        (void) timerfd_settime(d->metrics_fd, 0, &its, NULL);
}

/* [jitd] metrics_file: the Prometheus textfile, rewritten every minute. */
void governance_write_metrics(struct jitd *d)
{
        _cleanup_free_ char *json = NULL, *text = NULL;
        int r;

        if (!d->config->metrics_file)
                return;
        r = report_build(d->store, d->config, NULL, 0, now_realtime(), &json);
        if (r >= 0)
                r = report_prometheus(json, &text);
        if (r >= 0)
                r = report_write_metrics_file(d->config->metrics_file, text);
        if (r < 0)
                log_msg(LOG_ERR, "metrics_file %s: %s", d->config->metrics_file, strerror(-r));
}
