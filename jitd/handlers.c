/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request handlers. dispatch() has checked the coarse access level and
 * resolved the peer; each handler validates its own fields, decides the fine
 * access (own grant, approver of that role) and replies exactly once (or
 * streams, for list).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "duration.h"
#include "jitd.h"
#include "teardown.h"

/* How long a request or approval waits for the ticket system's first answer
 * before replying "pending" (jitctl's own timeout is 10 s). */
#define TICKET_REPLY_WAIT_MS 5000

struct actor request_actor(const struct request *req)
{
        return (struct actor) { .uid = req->peer->uid, .name = req->peer->name };
}

bool request_get_id(struct request *req, int64_t *ret)
{
        uint64_t v;

        if (!proto_get_u64(req->msg, PF_ID, &v)) {
                reply_error(req, EINVAL, "a grant id is required");
                return false;
        }
        if (v == 0 || v > INT64_MAX) {
                reply_error(req, EINVAL, "grant id %llu is out of range", (unsigned long long) v);
                return false;
        }
        *ret = (int64_t) v;
        return true;
}

static bool may_see_all(const struct request *req)
{
        return policy_is_admin(req->d->config, req->peer) || policy_is_any_approver(req->d->config, req->peer);
}

/* Load a grant the peer is allowed to see. A grant the peer may not see is
 * reported as missing, so ids do not leak who holds what. */
bool request_load_grant(struct request *req, int64_t id, struct jit_grant *ret)
{
        int r = store_grant_get(req->d->store, id, ret);

        if (r == -ENOENT || (r >= 0 && ret->uid != req->peer->uid && !may_see_all(req))) {
                reply_error(req, ENOENT, "no grant %lld", (long long) id);
                return false;
        }
        if (r < 0) {
                log_msg(LOG_ERR, "reading grant %lld: %s", (long long) id, store_last_error(req->d->store));
                reply_error(req, EIO, "cannot read grant %lld", (long long) id);
                return false;
        }
        return true;
}

static void format_time(int64_t t, char *buf, size_t size)
{
        struct tm tm;
        time_t tt = (time_t) t;

        if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, size, "%lld", (long long) t);
}

void reply_store_failure(struct request *req, int r, const char *what)
{
        log_msg(LOG_ERR, "%s: %s", what, store_last_error(req->d->store));
        reply_error(req, r == -ENOSPC ? ENOSPC : EIO, "%s failed: nothing was changed", what);
}

void handle_ping(struct request *req)
{
        struct proto_msg m;

        proto_init(&m, PROTO_REP_OK);
        /* Admins are told how many break-glass reviews are overdue: one
         * count in SQLite, not a walk of every grant inside the loop. */
        if (policy_is_admin(req->d->config, req->peer)) {
                uint64_t n;

                if (store_count_overdue_reviews(req->d->store,
                                                now_realtime() - (int64_t) req->d->config->review_within, &n) >= 0)
                        proto_set_u64(&m, PF_COUNT, n);
        }
        proto_set_str(&m, PF_VERSION, JIT_VERSION);
        proto_set_u64(&m, PF_NOW, (uint64_t) now_realtime());
        proto_set_str(&m, PF_HOST, req->d->config->host);
        proto_set_u64(&m, PF_UID, req->peer->uid);
        proto_set_str(&m, PF_USER, req->peer->name);
        reply_msg(req, &m);
}

struct check_walk {
        const struct config *config;
        const char *service;
        const char *host;
        int64_t now;
        struct jit_grant allow;
        bool allowed;
        struct jit_grant pending;
        bool has_pending;
};

static int check_one(const struct jit_grant *g, void *userdata)
{
        struct check_walk *w = userdata;
        const struct role *r = config_find_role(w->config, g->role);

        if (!r || strcmp(g->host, w->host) != 0 || !policy_service_matches(r, w->service) ||
            !policy_host_matches(r, w->host))
                return 0;
        /* The timer may lag by a moment; the clock decides. */
        if (g->state == GRANT_ACTIVE && g->starts_at <= w->now && g->expires_at > w->now && !w->allowed) {
                w->allow = *g;
                w->allowed = true;
        } else if ((g->state == GRANT_PENDING || g->state == GRANT_SCHEDULED) && !w->has_pending) {
                w->pending = *g;
                w->has_pending = true;
        }
        return 0;
}

static const struct role *first_covering_role(const struct config *c, const struct principal *p,
                                              const char *service, const char *host)
{
        for (size_t i = 0; i < c->n_roles; i++) {
                const struct role *r = &c->roles[i];

                if (policy_service_matches(r, service) && policy_eligible(r, p, host, NULL, 0))
                        return r;
        }
        return NULL;
}

/* The user and service of a PAM request, validated; false after replying. */
bool request_pam_subject(struct request *req, const char **ret_user, const char **ret_service)
{
        const char *user = proto_get_str(req->msg, PF_USER);
        const char *service = proto_get_str(req->msg, PF_SERVICE);

        if (!user || !valid_user_name(user)) {
                reply_error(req, EINVAL, "%s needs a valid user name", proto_type_name(req->msg->type));
                return false;
        }
        if (!service || !valid_service_name(service)) {
                reply_error(req, EINVAL, "%s needs a valid service name", proto_type_name(req->msg->type));
                return false;
        }
        *ret_user = user;
        *ret_service = service;
        return true;
}

/* The grants of user that bear on service here: the active one that lets
 * the user through, if any, and a pending one to mention. */
static int grants_for_service(struct jitd *d, const char *user, const char *service, struct check_walk *ret)
{
        struct store_filter f = { .user = user, .states = GRANT_STATES_OPEN };

        *ret = (struct check_walk) { .config = d->config, .service = service, .host = d->config->host,
                                     .now = now_realtime() };
        return store_grant_foreach(d->store, &f, check_one, ret);
}

void handle_check(struct request *req)
{
        const struct config *c = req->d->config;
        const char *user, *service;
        struct check_walk w;
        struct principal *p = NULL;
        const struct role *covering = NULL;
        bool covered = false;
        struct proto_msg m;
        char msg[512], when[64];
        int r;

        if (!request_pam_subject(req, &user, &service))
                return;
        r = grants_for_service(req->d, user, service, &w);
        if (r < 0) {
                reply_store_failure(req, r, "reading grants");
                return;
        }
        proto_init(&m, PROTO_REP_DECISION);
        if (w.allowed) {
                format_time(w.allow.expires_at, when, sizeof(when));
                snprintf(msg, sizeof(msg), "grant %lld (%s) active until %s", (long long) w.allow.id,
                         w.allow.role, when);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_ALLOW);
                proto_set_u64(&m, PF_ID, (uint64_t) w.allow.id);
                proto_set_str(&m, PF_ROLE, w.allow.role);
                proto_set_u64(&m, PF_EXPIRES_AT, (uint64_t) w.allow.expires_at);
                proto_set_str(&m, PF_MESSAGE, msg);
                reply_msg(req, &m);
                return;
        }
        if (principal_from_name(user, &p) >= 0) {
                covering = first_covering_role(c, p, service, c->host);
                /* Someone only on a break_glass list is gated too: without a
                 * grant they must be denied, not left to the rest of the stack. */
                covered = covering || policy_covers(c, p, service, c->host);
        }
        principal_free(p);
        if (covered || w.has_pending) {
                if (w.has_pending)
                        snprintf(msg, sizeof(msg), "pam_jit: grant %lld for role %s on %s is %s; see: jitctl show %lld",
                                 (long long) w.pending.id, w.pending.role, c->host,
                                 w.pending.state == GRANT_PENDING ? "waiting for approval" : "scheduled",
                                 (long long) w.pending.id);
                else if (covering)
                        snprintf(msg, sizeof(msg),
                                 "pam_jit: no active elevation for %s on %s; request one: jitctl request -r %s%s",
                                 user, c->host, covering->name,
                                 covering->ticket == TICKET_REQUIRED ? " -t TICKET" : "");
                else
                        snprintf(msg, sizeof(msg), "pam_jit: no active elevation for %s on %s; in an emergency: "
                                 "jitctl break-glass -r ROLE -m REASON", user, c->host);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_DENY);
                if (w.has_pending || covering)
                        proto_set_str(&m, PF_ROLE, w.has_pending ? w.pending.role : covering->name);
                proto_set_str(&m, PF_HOST, c->host);
        } else {
                snprintf(msg, sizeof(msg), "%s is not covered by any role for %s on %s", user, service, c->host);
                proto_set_u64(&m, PF_DECISION, PROTO_DECISION_IGNORE);
        }
        proto_set_str(&m, PF_MESSAGE, msg);
        reply_msg(req, &m);
}

struct open_walk {
        const char *role;
        struct jit_grant found;
        bool any;
};

static int find_open(const struct jit_grant *g, void *userdata)
{
        struct open_walk *w = userdata;

        if (!w->any && (!w->role || strcmp(g->role, w->role) == 0)) {
                w->found = *g;
                w->any = true;
        }
        return 0;
}

/* Without -r: the only role who may request here (that gates service, when
 * one is given). */
static const struct role *pick_role(struct request *req, const struct principal *who, const char *service)
{
        const struct config *c = req->d->config;
        const struct role *found = NULL;
        char names[512] = "";
        size_t n = 0;

        for (size_t i = 0; i < c->n_roles; i++) {
                if (!policy_eligible(&c->roles[i], who, c->host, NULL, 0) ||
                    (service && !policy_service_matches(&c->roles[i], service)))
                        continue;
                found = &c->roles[i];
                if (n++)
                        strncat(names, ", ", sizeof(names) - strlen(names) - 1);
                strncat(names, found->name, sizeof(names) - strlen(names) - 1);
        }
        if (n == 0) {
                reply_error(req, EPERM, "%s is not eligible for any role on host %s%s%s", who->name, c->host,
                            service ? " for " : "", service ? service : "");
                return NULL;
        }
        if (n > 1) {
                reply_error(req, EINVAL, "several roles are possible (%s): choose one with -r", names);
                return NULL;
        }
        return found;
}

/* A request for an elevation, from the user (request) or from pam_jit's
 * prompt in the user's name (request-for). */
struct new_request {
        const struct principal *who;
        const char *role_name, *ticket, *reason;
        const char *service;        /* request-for: the role must gate it */
        int reply_wait_ms;          /* how long the reply may wait for the ticket system */
};

static void request_grant(struct request *req, const struct new_request *nr)
{
        struct jitd *d = req->d;
        const struct config *c = d->config;
        const struct principal *who = nr->who;
        const char *role_name = nr->role_name, *ticket = nr->ticket, *reason = nr->reason;
        struct store_filter f = { .user = who->name, .states = GRANT_STATES_OPEN };
        struct open_walk ow = {};
        struct actor a = { .uid = who->uid, .name = who->name };
        struct jit_grant g = {};
        const struct role *r;
        uint64_t requested = 0, duration;
        char why[256], dbuf[32], msg[512];
        int ret;

        if (role_name) {
                if (!valid_role_name(role_name)) {
                        reply_error(req, EINVAL, "invalid role name");
                        return;
                }
                r = config_find_role(c, role_name);
                if (!r) {
                        reply_error(req, ENOENT, "no role '%s' on host %s", role_name, c->host);
                        return;
                }
        } else if (!(r = pick_role(req, who, nr->service)))
                return;

        if (nr->service && !policy_service_matches(r, nr->service)) {
                reply_error(req, EPERM, "role %s does not gate %s", r->name, nr->service);
                return;
        }
        if (!policy_eligible(r, who, c->host, why, sizeof(why))) {
                reply_error(req, EPERM, "not eligible for role %s on host %s: %s", r->name, c->host, why);
                return;
        }
        if (ticket && !valid_ticket(ticket)) {
                reply_error(req, EINVAL, "invalid ticket: letters, digits and _ . : / # - only, at most %d",
                            JIT_TICKET_MAX);
                return;
        }
        if (!policy_ticket_ok(r, ticket ? ticket : "", why, sizeof(why))) {
                reply_error(req, EINVAL, "role %s: %s", r->name, why);
                return;
        }
        if (reason && !valid_text(reason, JIT_REASON_MAX)) {
                reply_error(req, EINVAL, "invalid reason");
                return;
        }
        proto_get_u64(req->msg, PF_DURATION, &requested);
        if (proto_has(req->msg, PF_DURATION) && (requested == 0 || requested > DURATION_MAX_SEC)) {
                reply_error(req, EINVAL, "duration out of range");
                return;
        }
        ret = policy_duration(r, requested, &duration, why, sizeof(why));
        if (ret < 0) {
                reply_error(req, -ret, "role %s: %s", r->name, why);
                return;
        }
        if (ticketflow_needed(r) && !d->tickets) {
                reply_error(req, EOPNOTSUPP, "role %s needs ticket approval but no [ticket] provider is configured",
                            r->name);
                return;
        }
        if (ticketflow_needed(r) && (!ticket || !ticket[0])) {
                reply_error(req, EINVAL, "role %s is approved through its ticket: give one with -t TICKET", r->name);
                return;
        }
        /* One open grant per user and role: a second request is almost always
         * a mistake, and it would make "release" ambiguous. */
        ow.role = r->name;
        ret = store_grant_foreach(d->store, &f, find_open, &ow);
        if (ret < 0) {
                reply_store_failure(req, ret, "reading grants");
                return;
        }
        if (ow.any) {
                reply_error(req, EALREADY, "you already have grant %lld (%s) for role %s", (long long) ow.found.id,
                            grant_state_to_string(ow.found.state), r->name);
                return;
        }

        strcpy_checked(g.user, sizeof(g.user), who->name);
        g.uid = who->uid;
        strcpy_checked(g.host, sizeof(g.host), c->host);
        strcpy_checked(g.role, sizeof(g.role), r->name);
        strcpy_checked(g.ticket, sizeof(g.ticket), ticket ? ticket : "");
        strcpy_checked(g.reason, sizeof(g.reason), reason ? reason : "");
        g.duration = duration;
        g.approvals_needed = r->approval & APPROVAL_PEER ? r->approvals : 0;
        approval_format(r->approval, g.approval, sizeof(g.approval));

        ret = grants_create(d, &g, r, &a, why, sizeof(why));
        if (ret == -EAGAIN) {
                reply_error(req, EIO, "grant %lld for %s could not be activated: %s; it stays pending and "
                            "jitd retries", (long long) g.id, r->name, why);
                return;
        }
        if (ret < 0) {
                reply_store_failure(req, ret, "storing the request");
                return;
        }
        if (ticketflow_needed(r)) {
                /* Answer with what the ticket says, not a bare "pending":
                 * the reply waits for the first lookup (a few seconds at
                 * most; after that the grant goes on waiting without us). */
                ret = ticketflow_check(d, &g);
                if (ret >= 0) {
                        ticketflow_defer(req, g.id, nr->reply_wait_ms);
                        return;
                }
                log_msg(LOG_WARNING, "grant %lld: cannot look ticket %s up: %s", (long long) g.id, g.ticket,
                        strerror(-ret));
        }
        duration_format(g.duration, dbuf, sizeof(dbuf));
        if (g.state == GRANT_ACTIVE)
                snprintf(msg, sizeof(msg), "grant %lld for %s is active for %s", (long long) g.id, r->name, dbuf);
        else
                snprintf(msg, sizeof(msg), "grant %lld for %s is pending: needs %u approval%s", (long long) g.id,
                         r->name, g.approvals_needed, g.approvals_needed == 1 ? "" : "s");
        reply_grant(req, &g, msg);
}

void handle_request(struct request *req)
{
        struct new_request nr = {
                .who = req->peer,
                .role_name = proto_get_str(req->msg, PF_ROLE),
                .ticket = proto_get_str(req->msg, PF_TICKET),
                .reason = proto_get_str(req->msg, PF_REASON),
                .reply_wait_ms = TICKET_REPLY_WAIT_MS,
        };

        request_grant(req, &nr);
}

/* pam_jit's prompt (sudo's auth phase, as root): the user typed a ticket. The
 * reply waits for the ticket system at most as long as the module does. */
void handle_request_for(struct request *req)
{
        const char *user, *service, *ticket = proto_get_str(req->msg, PF_TICKET);
        struct principal *who = NULL;
        struct new_request nr;
        char reason[64];
        uint64_t timeout = TICKET_REPLY_WAIT_MS;

        if (!request_pam_subject(req, &user, &service))
                return;
        if (!ticket || !ticket[0]) {
                reply_error(req, EINVAL, "a ticket is required");
                return;
        }
        if (principal_from_name(user, &who) < 0) {
                reply_error(req, ENOENT, "no user %s", user);
                return;
        }
        proto_get_u64(req->msg, PF_TIMEOUT, &timeout);
        /* Leave the module time to read the answer before its own deadline. */
        timeout = timeout > TICKET_REPLY_WAIT_MS ? TICKET_REPLY_WAIT_MS : timeout;
        timeout = timeout > 200 ? timeout - 150 : timeout / 2;
        snprintf(reason, sizeof(reason), "asked for at the %s prompt", service);
        nr = (struct new_request) {
                .who = who,
                .role_name = proto_get_str(req->msg, PF_ROLE),
                .ticket = ticket,
                .reason = reason,
                .service = service,
                .reply_wait_ms = (int) timeout,
        };
        request_grant(req, &nr);
        principal_free(who);
}

/* Approve and deny share their checks: the grant is pending, its role still
 * exists, the peer approves for it, and the peer is not the requester. */
static const struct role *approver_checks(struct request *req, struct jit_grant *g, const char *verb)
{
        const struct role *r;

        if (g->uid == req->peer->uid) {
                reply_error(req, EPERM, "you cannot %s your own request (grant %lld)", verb, (long long) g->id);
                return NULL;
        }
        r = config_find_role(req->d->config, g->role);
        if (!r) {
                reply_error(req, ENOENT, "role %s of grant %lld no longer exists", g->role, (long long) g->id);
                return NULL;
        }
        if (!(r->approval & APPROVAL_PEER) || !policy_is_approver(r, req->peer)) {
                reply_error(req, EPERM, "%s is not an approver for role %s", req->peer->name, r->name);
                return NULL;
        }
        if (g->state != GRANT_PENDING) {
                /* An active grant may have an extension waiting. */
                if (strcmp(verb, "approve") == 0 && extension_approve(req, g, r))
                        return NULL;
                reply_error(req, EALREADY, "grant %lld is %s, not pending", (long long) g->id,
                            grant_state_to_string(g->state));
                return NULL;
        }
        return r;
}

void handle_approve(struct request *req)
{
        const char *note = proto_get_str(req->msg, PF_NOTE);
        struct actor a = request_actor(req);
        const struct role *r;
        struct jit_grant g;
        int64_t id;
        char msg[256], why[256];
        int ret;

        if (!request_get_id(req, &id) || !request_load_grant(req, id, &g) || !(r = approver_checks(req, &g, "approve")))
                return;
        ret = grants_approve(req->d, &g, r, &a, note, why, sizeof(why));
        if (ret == -EAGAIN) {
                reply_error(req, EIO, "grant %lld approved, but it could not be activated: %s; it stays "
                            "pending and jitd retries", (long long) id, why);
                return;
        }
        if (ret == -EEXIST) {
                reply_error(req, EALREADY, "you already approved grant %lld", (long long) id);
                return;
        }
        if (ret < 0) {
                reply_store_failure(req, ret, "storing the approval");
                return;
        }
        if (g.state == GRANT_PENDING && ticketflow_needed(r) && ticketflow_check(req->d, &g) >= 0) {
                ticketflow_defer(req, g.id, TICKET_REPLY_WAIT_MS);
                return;
        }
        if (g.state == GRANT_ACTIVE)
                snprintf(msg, sizeof(msg), "grant %lld approved: active", (long long) id);
        else
                snprintf(msg, sizeof(msg), "grant %lld approved: still pending more approvals", (long long) id);
        reply_grant(req, &g, msg);
}

void handle_deny(struct request *req)
{
        const char *note = proto_get_str(req->msg, PF_NOTE);
        struct actor a = request_actor(req);
        struct jit_grant g;
        char reason[JIT_REASON_MAX + 1];
        int64_t id;
        int ret;

        if (!request_get_id(req, &id))
                return;
        if (!note || !note[0]) {
                reply_error(req, EINVAL, "a denial needs a note saying why");
                return;
        }
        if (!request_load_grant(req, id, &g) || !approver_checks(req, &g, "deny"))
                return;
        snprintf(reason, sizeof(reason), "denied by %s: %s", req->peer->name, note);
        ret = grants_end(req->d, &g, GRANT_DENIED, &a, reason);
        if (ret < 0) {
                reply_store_failure(req, ret, "storing the denial");
                return;
        }
        reply_grant(req, &g, "denied");
}

void handle_cancel(struct request *req)
{
        struct actor a = request_actor(req);
        struct jit_grant g;
        int64_t id;
        int ret;

        if (!request_get_id(req, &id) || !request_load_grant(req, id, &g))
                return;
        if (g.uid != req->peer->uid) {
                reply_error(req, EPERM, "grant %lld is not yours to cancel", (long long) id);
                return;
        }
        if (g.state != GRANT_PENDING && g.state != GRANT_SCHEDULED) {
                reply_error(req, EALREADY, "grant %lld is %s; only pending or scheduled requests can be cancelled%s",
                            (long long) id, grant_state_to_string(g.state),
                            g.state == GRANT_ACTIVE ? " (use release)" : "");
                return;
        }
        ret = grants_end(req->d, &g, GRANT_CANCELLED, &a, "cancelled by the requester");
        if (ret < 0) {
                reply_store_failure(req, ret, "cancelling");
                return;
        }
        reply_grant(req, &g, "cancelled");
}

struct active_walk {
        struct jit_grant first;
        unsigned n;
        char ids[256];
};

static int collect_active(const struct jit_grant *g, void *userdata)
{
        struct active_walk *w = userdata;
        size_t len = strlen(w->ids);

        if (w->n++ == 0)
                w->first = *g;
        snprintf(w->ids + len, sizeof(w->ids) - len, "%s%lld", len ? ", " : "", (long long) g->id);
        return 0;
}

void handle_release(struct request *req)
{
        struct actor a = request_actor(req);
        struct jit_grant g;
        int64_t id;
        int ret;

        if (proto_has(req->msg, PF_ID)) {
                if (!request_get_id(req, &id) || !request_load_grant(req, id, &g))
                        return;
        } else {
                struct store_filter f = { .user = req->peer->name,
                                          .states = GRANT_STATE_MASK(GRANT_ACTIVE) | GRANT_STATE_MASK(GRANT_SCHEDULED) };
                struct active_walk w = {};

                ret = store_grant_foreach(req->d->store, &f, collect_active, &w);
                if (ret < 0) {
                        reply_store_failure(req, ret, "reading grants");
                        return;
                }
                if (w.n == 0) {
                        reply_error(req, ENOENT, "you have no active grant to release");
                        return;
                }
                if (w.n > 1) {
                        reply_error(req, EINVAL, "you have several active grants (%s): name one", w.ids);
                        return;
                }
                g = w.first;
                id = g.id;
        }
        if (g.uid != req->peer->uid) {
                reply_error(req, EPERM, "grant %lld is not yours to release", (long long) id);
                return;
        }
        if (g.state != GRANT_ACTIVE && g.state != GRANT_SCHEDULED) {
                reply_error(req, EALREADY, "grant %lld is %s, not active", (long long) id,
                            grant_state_to_string(g.state));
                return;
        }
        ret = grants_end(req->d, &g, GRANT_RELEASED, &a, "released by the user: task done");
        if (ret < 0) {
                reply_store_failure(req, ret, "releasing");
                return;
        }
        reply_grant(req, &g, "released");
}

void handle_revoke(struct request *req)
{
        const char *reason = proto_get_str(req->msg, PF_REASON);
        struct actor a = request_actor(req);
        struct jit_grant g;
        char text[JIT_REASON_MAX + 1];
        int64_t id;
        int ret;

        if (!request_get_id(req, &id))
                return;
        if (!reason || !reason[0]) {
                reply_error(req, EINVAL, "a revocation needs a reason");
                return;
        }
        if (!request_load_grant(req, id, &g))
                return;
        if (!grant_state_is_open(g.state)) {
                reply_error(req, EALREADY, "grant %lld already ended (%s)", (long long) id,
                            grant_state_to_string(g.state));
                return;
        }
        snprintf(text, sizeof(text), "revoked by %s: %s", req->peer->name, reason);
        ret = grants_end(req->d, &g, GRANT_REVOKED, &a, text);
        if (ret < 0) {
                reply_store_failure(req, ret, "revoking");
                return;
        }
        reply_grant(req, &g, "revoked");
}

struct list_walk {
        struct request *req;
        uint64_t count;
        int err;
};

static int list_one(const struct jit_grant *g, void *userdata)
{
        struct list_walk *w = userdata;
        int r = reply_grant(w->req, g, NULL);

        if (r < 0) {
                w->err = r;
                return r;
        }
        w->count++;
        return 0;
}

void handle_list(struct request *req)
{
        const char *user = proto_get_str(req->msg, PF_USER);
        const char *state = proto_get_str(req->msg, PF_STATE);
        const char *role = proto_get_str(req->msg, PF_ROLE);
        struct store_filter f = { .role = role };
        struct list_walk w = { .req = req };
        struct proto_msg end;
        uint64_t flags = 0, since = 0;
        enum grant_state st;
        int r;

        proto_get_u64(req->msg, PF_FLAGS, &flags);
        if (flags & ~(uint64_t) PROTO_F_ALL) {
                reply_error(req, EINVAL, "unknown list flags");
                return;
        }
        if (proto_get_u64(req->msg, PF_SINCE, &since) && since <= INT64_MAX)
                f.since = (int64_t) since;
        if (state) {
                if (grant_state_from_string(state, &st) < 0) {
                        reply_error(req, EINVAL, "unknown state '%s'", state);
                        return;
                }
                f.states = GRANT_STATE_MASK(st);
        } else
                f.states = flags & PROTO_F_ALL ? GRANT_STATES_ALL : GRANT_STATES_OPEN;
        if (user && !valid_user_name(user)) {
                reply_error(req, EINVAL, "invalid user name");
                return;
        }
        if (!may_see_all(req)) {
                if (user && strcmp(user, req->peer->name) != 0) {
                        reply_error(req, EPERM, "you may list only your own grants");
                        return;
                }
                user = req->peer->name;
        }
        f.user = user;
        r = store_grant_foreach(req->d->store, &f, list_one, &w);
        if (r < 0 && !w.err) {
                reply_store_failure(req, r, "listing grants");
                return;
        }
        if (w.err)
                return;
        proto_init(&end, PROTO_REP_END);
        proto_set_u64(&end, PF_COUNT, w.count);
        reply_msg(req, &end);
}

void handle_show(struct request *req)
{
        struct jit_grant g;
        int64_t id;

        if (!request_get_id(req, &id) || !request_load_grant(req, id, &g))
                return;
        reply_grant(req, &g, NULL);
}

/* Sessions: the peer is the process that opened the PAM session (sudo, or
 * sshd's per-connection process); its pid comes from SO_PEERCRED, never from
 * the message. Children it forks afterwards are caught by the teardown
 * mechanism (cgroup or systemd scope).
 *
 * This is on the path of every sudo and ssh login, so it is one transaction:
 * the row (whose id names the cgroup or scope), the attach, the handle, one
 * commit. The reply goes out only after that commit: by then the process is
 * under teardown and the handle that finds it again is stored, so nothing the
 * session forks later can outlive the grant unnoticed. The log line follows
 * the reply. */
void handle_session_open(struct request *req)
{
        struct jitd *d = req->d;
        const char *user, *service, *tty = proto_get_str(req->msg, PF_TTY);
        const char *rhost = proto_get_str(req->msg, PF_RHOST);
        struct jit_session x = { .pid = req->cred.pid, .opened_at = now_realtime() };
        _cleanup_free_ char *handle = NULL;
        struct check_walk w;
        struct proto_msg m;
        int r, attached;

        if (!request_pam_subject(req, &user, &service))
                return;
        r = grants_for_service(d, user, service, &w);
        if (r < 0) {
                reply_store_failure(req, r, "reading grants");
                return;
        }
        if (!w.allowed) {
                reply_error(req, ENOENT, "%s holds no active grant for %s", user, service);
                return;
        }
        x.grant_id = w.allow.id;
        strcpy_checked(x.service, sizeof(x.service), service);
        if (tty)
                snprintf(x.tty, sizeof(x.tty), "%s", tty);
        if (rhost)
                snprintf(x.rhost, sizeof(x.rhost), "%s", rhost);
        r = store_begin_relaxed(d->store);
        if (r >= 0)
                r = store_session_insert(d->store, &x);
        if (r < 0) {
                store_rollback(d->store);
                reply_store_failure(req, r, "registering the session");
                return;
        }
        attached = teardown_attach(d->teardown, x.grant_id, (uint64_t) x.id, x.pid, &handle);
        /* A failed attach is kept as a session that ended at once, so that the
         * attempt stays on record. */
        r = attached >= 0 ? store_session_set_handle(d->store, x.id, handle) :
                            store_session_close(d->store, x.id, now_realtime(), "attach failed");
        if (r >= 0)
                r = store_commit(d->store);
        if (r < 0)
                store_rollback(d->store);
        if (attached < 0) {
                log_msg(LOG_ERR, "grant %lld: cannot attach session %lld (pid %d) for teardown: %s",
                        (long long) x.grant_id, (long long) x.id, (int) x.pid, strerror(-attached));
                reply_error(req, EIO, "cannot register the session: %s", strerror(-attached));
                return;
        }
        if (r < 0) {
                /* Attached but not on record: the same as a session that could
                 * not be registered at all (the stack lists this module
                 * optional). Should the id come round again, the attach of
                 * that later session finds this one's leftovers and ends
                 * them (see teardown_attach). */
                reply_store_failure(req, r, "registering the session");
                return;
        }
        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_ID, (uint64_t) x.id);
        reply_msg(req, &m);
        log_msg(LOG_INFO, "grant %lld: session %lld opened by %s via %s (pid %d%s%s)", (long long) x.grant_id,
                (long long) x.id, user, service, (int) x.pid, rhost ? " from " : "", rhost ? rhost : "");
}

/* Closing is bookkeeping, not a lock: teardown at the end of the grant still
 * ends whatever a closed session left behind (it walks sessions not torn
 * down, closed or not), and a single-use grant ends a second later anyway
 * (grants_use_up). So the peer is answered as soon as its session is found,
 * and the record follows the reply; jitd handles nothing else in between. A
 * close lost to a crash or a failed commit leaves the session open on record,
 * which the teardown treats the same. */
void handle_session_close(struct request *req)
{
        struct jitd *d = req->d;
        const char *user, *service;
        struct jit_session x;
        struct jit_grant g;
        const struct role *role;
        struct proto_msg m;
        int r;

        if (!request_pam_subject(req, &user, &service))
                return;
        r = store_session_find_open(d->store, req->cred.pid, &x);
        if (r == -ENOENT) {
                reply_error(req, ENOENT, "no open session for pid %d", (int) req->cred.pid);
                return;
        }
        if (r < 0) {
                reply_store_failure(req, r, "closing the session");
                return;
        }
        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_ID, (uint64_t) x.id);
        reply_msg(req, &m);

        r = store_begin_relaxed(d->store);
        if (r >= 0) {
                r = store_session_close(d->store, x.id, now_realtime(), "closed");
                if (r >= 0)
                        r = store_commit(d->store);
                if (r < 0)
                        store_rollback(d->store);
        }
        if (r < 0)
                log_msg(LOG_ERR, "grant %lld: recording the close of session %lld failed: %s",
                        (long long) x.grant_id, (long long) x.id, store_last_error(d->store));
        if (store_grant_get(d->store, x.grant_id, &g) >= 0 && g.state == GRANT_ACTIVE &&
            (role = config_find_role(d->config, g.role)) && role->uses == 1 &&
            grants_use_up(d, &g, &actor_jitd) < 0)
                log_msg(LOG_ERR, "grant %lld: single use, but ending it failed", (long long) g.id);
}
