/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What any local user may ask, about their own grants (approvers and admins
 * see everyone's in listings): ping, request, cancel, release, list, show,
 * extend, break-glass. The subject is always the peer's kernel credentials.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conn.h"
#include "duration.h"
#include "ending.h"
#include "fleet_mirror.h"
#include "grants.h"
#include "handlers.h"
#include "handlers_fleet.h"
#include "log.h"
#include "store.h"
#include "ticketflow.h"

/* How long a request waits for the ticket system's first answer before
 * replying "pending" (jitctl's own timeout is 10 s). */
#define TICKET_REPLY_WAIT_MS 5000
/* Open requests (pending or scheduled) one user may have at a time: each
 * may cost a ticket lookup and an approver's attention. */
#define OPEN_REQUESTS_PER_USER 8
/* A listing's page: grants per database read. */

int handle_ping(struct request *req)
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
        if (req->d->fleet) {
                char fleet[384];

                fleet_mirror_status(req->d->fleet, fleet, sizeof(fleet));
                proto_set_str(&m, PF_FLEET, fleet);
        }
        reply_msg(req, &m);
        return HANDLED;
}

/* Without -r: the only role who may request here (that gates service, when
 * one is given). NULL after replying. */
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

struct open_walk {
        const char *role;
        struct jit_grant found;
        bool any;
        unsigned waiting;               /* pending or scheduled, any role */
};

static int find_open(const struct jit_grant *g, void *userdata)
{
        struct open_walk *w = userdata;

        if (g->state == GRANT_PENDING || g->state == GRANT_SCHEDULED)
                w->waiting++;
        if (!w->any && (!w->role || strcmp(g->role, w->role) == 0)) {
                w->found = *g;
                w->any = true;
        }
        return 0;
}

int request_grant(struct request *req, const struct new_request *nr)
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
        char why[256] = "", dbuf[32], msg[512];
        int ret;

        if (role_name) {
                if (!valid_role_name(role_name))
                        return reply_error(req, EINVAL, "invalid role name"), HANDLED;
                r = config_find_role(c, role_name);
                if (!r)
                        return reply_error(req, ENOENT, "no role '%s' on host %s", role_name, c->host), HANDLED;
        } else if (!(r = pick_role(req, who, nr->service)))
                return HANDLED;

        if (nr->service && !policy_service_matches(r, nr->service))
                return reply_error(req, EPERM, "role %s does not gate %s", r->name, nr->service), HANDLED;
        /* A fleet request is for the hosts of its scope (checked against the
         * role's hosts patterns), not for this host: membership only. */
        if (d->fleet && !nr->service) {
                if (!policy_list_matches(r->members, who))
                        return reply_error(req, EPERM, "not eligible for role %s: not a member", r->name), HANDLED;
        } else if (!policy_eligible(r, who, c->host, why, sizeof(why)))
                return reply_error(req, EPERM, "not eligible for role %s on host %s: %s", r->name, c->host, why),
                       HANDLED;
        if (ticket && !valid_ticket(ticket))
                return reply_error(req, EINVAL, "invalid ticket: letters, digits and _ . : / # - only, at most %d",
                                   JIT_TICKET_MAX), HANDLED;
        if (!policy_ticket_ok(r, ticket ? ticket : "", why, sizeof(why)))
                return reply_error(req, EINVAL, "role %s: %s", r->name, why), HANDLED;
        if (reason && !valid_text(reason, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "invalid reason"), HANDLED;
        proto_get_u64(req->msg, PF_DURATION, &requested);
        if (proto_has(req->msg, PF_DURATION) && (requested == 0 || requested > DURATION_MAX_SEC))
                return reply_error(req, EINVAL, "duration out of range"), HANDLED;
        ret = policy_duration(r, requested, &duration, why, sizeof(why));
        if (ret < 0)
                return reply_error(req, -ret, "role %s: %s", r->name, why), HANDLED;
        /* With [fleet], a user's request is the fleet's (pam_jit's prompt
         * stays local: it asks for this host's service). */
        if (d->fleet && !nr->service)
                return fleet_request(req, who, r, duration, ticket, reason);
        if (proto_has(req->msg, PF_HOST))
                return reply_error(req, EINVAL, "a host scope (-H) is for fleet requests; host %s has no [fleet]",
                                   c->host), HANDLED;
        if (ticketflow_needed(r) && !d->tickets)
                return reply_error(req, EOPNOTSUPP, "role %s needs ticket approval but no [ticket] provider is "
                                   "configured", r->name), HANDLED;
        if (ticketflow_needed(r) && (!ticket || !ticket[0]))
                return reply_error(req, EINVAL, "role %s is approved through its ticket: give one with -t TICKET",
                                   r->name), HANDLED;
        /* One open grant per user and role: a second request is almost always
         * a mistake, and it would make "release" ambiguous. */
        ow.role = r->name;
        ret = store_grant_foreach(d->store, &f, find_open, &ow);
        if (ret < 0)
                return reply_store_failure(req, ret, "reading grants");
        if (ow.any)
                return reply_error(req, EALREADY, "you already have grant %lld (%s) for role %s",
                                   (long long) ow.found.id, grant_state_to_string(ow.found.state), r->name), HANDLED;
        if (ow.waiting >= OPEN_REQUESTS_PER_USER)
                return reply_error(req, EAGAIN, "you have %u requests waiting already; cancel one first",
                                   ow.waiting), HANDLED;

        strcpy_checked(g.user, sizeof(g.user), who->name);
        g.uid = who->uid;
        strcpy_checked(g.host, sizeof(g.host), c->host);
        strcpy_checked(g.role, sizeof(g.role), r->name);
        strcpy_checked(g.ticket, sizeof(g.ticket), ticket ? ticket : "");
        strcpy_checked(g.reason, sizeof(g.reason), reason ? reason : "");
        g.duration = duration;
        g.approvals_needed = r->approval & APPROVAL_PEER ? r->approvals : 0;
        approval_format(r->approval, g.approval, sizeof(g.approval));

        ret = grants_create(d, &g, FSM_REQUEST, &a, why, sizeof(why));
        if (ret == -EAGAIN)
                return reply_error(req, EIO, "grant %lld for %s could not be activated: %s; it stays pending and "
                                   "jitd retries", (long long) g.id, r->name, why), HANDLED;
        if (ret < 0)
                return reply_store_failure(req, ret, "storing the request");
        if (ticketflow_needed(r)) {
                /* Answer with what the ticket says, not a bare "pending":
                 * the reply waits for the first lookup (a few seconds at
                 * most; after that the grant goes on waiting without us). */
                ret = ticketflow_check(d, &g);
                if (ret >= 0) {
                        ticketflow_defer(d, request_hold(req), g.id, nr->reply_wait_ms);
                        return HANDLED_LATER;
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
        return HANDLED;
}

int handle_request(struct request *req)
{
        struct new_request nr = {
                .who = req->peer,
                .role_name = proto_get_str(req->msg, PF_ROLE),
                .ticket = proto_get_str(req->msg, PF_TICKET),
                .reason = proto_get_str(req->msg, PF_REASON),
                .reply_wait_ms = TICKET_REPLY_WAIT_MS,
        };

        return request_grant(req, &nr);
}

/* The outcome of an end asked for by a person. */
static int reply_end(struct request *req, int r, const struct jit_grant *g, const char *what, const char *why)
{
        char msg[256];

        if (r == 1) {
                snprintf(msg, sizeof(msg), "%s: its rule is gone and its sessions are killed; the record waits for "
                         "the database (jitd retries)", what);
                reply_grant(req, g, msg);
                return HANDLED;
        }
        if (r == -EALREADY)
                return reply_error(req, EALREADY, "%s", why[0] ? why : "the grant already ended"), HANDLED;
        if (r < 0)
                return reply_store_failure(req, r, what);
        reply_grant(req, g, what);
        return HANDLED;
}

int handle_cancel(struct request *req)
{
        struct actor a = request_actor(req);
        struct fsm_event ev = { .type = FSM_CANCEL, .text = "cancelled by the requester" };
        struct jit_grant g;
        char why[256] = "";
        int64_t id;
        int r;

        r = request_fleet_ref(req, &id);
        if (r != 0)
                return r > 0 ? fleet_cancel(req, id) : HANDLED;
        if (!request_get_id(req, &id))
                return HANDLED;
        if (!request_load_grant(req, id, &g, &r))
                return r;
        if (g.uid != req->peer->uid)
                return reply_error(req, EPERM, "grant %lld is not yours to cancel", (long long) id), HANDLED;
        if (g.state != GRANT_PENDING && g.state != GRANT_SCHEDULED)
                return reply_error(req, EALREADY, "grant %lld is %s; only pending or scheduled requests can be "
                                   "cancelled%s", (long long) id, grant_state_to_string(g.state),
                                   g.state == GRANT_ACTIVE ? " (use release)" : ""), HANDLED;
        r = grants_step(req->d, &g, &ev, &a, why, sizeof(why));
        if (r >= 0)
                ticketflow_forget(req->d, &g);
        return reply_end(req, r, &g, "cancelled", why);
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

int handle_release(struct request *req)
{
        struct actor a = request_actor(req);
        struct fsm_event ev = { .type = FSM_RELEASE, .text = "released by the user: task done" };
        struct jit_grant g;
        char why[256] = "";
        int64_t id;
        int r;

        int64_t fleet_id;

        /* F12: a fleet grant; a plain id is this host's grant, and the copy
         * of a fleet grant here is released in the fleet too (as without
         * an id). */
        r = request_fleet_ref(req, &fleet_id);
        if (r != 0)
                return r > 0 ? fleet_release(req, fleet_id) : HANDLED;
        if (proto_has(req->msg, PF_ID)) {
                if (!request_get_id(req, &id))
                        return HANDLED;
                if (!request_load_grant(req, id, &g, &r))
                        return r;
                if (req->d->fleet && g.uid == req->peer->uid) {
                        r = store_fleet_id_of(req->d->store, id, &fleet_id);
                        if (r >= 0)
                                return fleet_release(req, fleet_id);
                        if (r != -ENOENT)
                                return reply_store_failure(req, r, "looking the fleet grant up");
                }
        } else {
                struct store_filter f = { .user = req->peer->name,
                                          .states = GRANT_STATE_MASK(GRANT_ACTIVE) | GRANT_STATE_MASK(GRANT_SCHEDULED) };
                struct active_walk w = {};

                r = store_grant_foreach(req->d->store, &f, collect_active, &w);
                if (r < 0)
                        return reply_store_failure(req, r, "reading grants");
                if (w.n == 0)
                        return reply_error(req, ENOENT, "you have no active grant to release"), HANDLED;
                if (w.n > 1)
                        return reply_error(req, EINVAL, "you have several active grants (%s): name one", w.ids),
                               HANDLED;
                id = w.first.id;
                if (grants_get(req->d, id, &g) < 0)
                        g = w.first;
                /* A fleet grant's copy: released in the fleet too. */
                if (req->d->fleet && g.uid == req->peer->uid) {
                        r = store_fleet_id_of(req->d->store, id, &fleet_id);
                        if (r >= 0)
                                return fleet_release(req, fleet_id);
                        if (r != -ENOENT)
                                return reply_store_failure(req, r, "looking the fleet grant up");
                }
        }
        if (g.uid != req->peer->uid)
                return reply_error(req, EPERM, "grant %lld is not yours to release", (long long) id), HANDLED;
        if (g.state != GRANT_ACTIVE && g.state != GRANT_SCHEDULED)
                return reply_error(req, EALREADY, "grant %lld is %s, not active", (long long) id,
                                   grant_state_to_string(g.state)), HANDLED;
        r = grants_step(req->d, &g, &ev, &a, why, sizeof(why));
        return reply_end(req, r, &g, "released", why);
}

/* ---- listings (the stream itself: listing.c) --------------------------- */

int handle_list(struct request *req)
{
        const char *user = proto_get_str(req->msg, PF_USER);
        const char *state = proto_get_str(req->msg, PF_STATE);
        const char *role = proto_get_str(req->msg, PF_ROLE);
        const char *host = proto_get_str(req->msg, PF_HOST);
        struct store_filter f = { .role = role };
        uint64_t flags = 0, since = 0;
        enum grant_state st;

        proto_get_u64(req->msg, PF_FLAGS, &flags);
        if (flags & ~(uint64_t) PROTO_F_ALL)
                return reply_error(req, EINVAL, "unknown list flags"), HANDLED;
        if (proto_get_u64(req->msg, PF_SINCE, &since) && since <= INT64_MAX)
                f.since = (int64_t) since;
        if (state) {
                if (grant_state_from_string(state, &st) < 0)
                        return reply_error(req, EINVAL, "unknown state '%s'", state), HANDLED;
                f.states = GRANT_STATE_MASK(st);
        } else
                f.states = flags & PROTO_F_ALL ? GRANT_STATES_ALL : GRANT_STATES_OPEN;
        if (user && !valid_user_name(user))
                return reply_error(req, EINVAL, "invalid user name"), HANDLED;
        if (role && !valid_role_name(role))
                return reply_error(req, EINVAL, "invalid role name"), HANDLED;
        if (!request_may_see_all(req)) {
                if (user && strcmp(user, req->peer->name) != 0)
                        return reply_error(req, EPERM, "you may list only your own grants"), HANDLED;
                user = req->peer->name;
        }
        f.user = user;
        if (host && !fleet_pattern_valid(host))
                return reply_error(req, EINVAL, "invalid host pattern '%s'", host), HANDLED;
        /* With [fleet], the fleet's open grants follow (not for --state:
         * its words are this host's). */
        if (req->d->fleet && !state)
                return fleet_list(req, &f, host);
        /* --host: this host's grants are listed when its name matches. */
        return list_stream_start_full(req, &f, host && !policy_pattern_matches(host, req->d->config->host), NULL, 0);
}

int handle_show(struct request *req)
{
        struct jit_grant g;
        int64_t id;
        int r;

        r = request_fleet_ref(req, &id);
        if (r != 0)
                return r > 0 ? fleet_show(req, id) : HANDLED;
        if (!request_get_id(req, &id))
                return HANDLED;
        if (!request_load_grant(req, id, &g, &r))
                return r;
        /* A fleet grant's copy says whose copy it is. */
        if (req->d->fleet && store_fleet_id_of(req->d->store, id, &g.fleet_id) < 0)
                g.fleet_id = 0;
        reply_grant(req, &g, NULL);
        return HANDLED;
}

/* ---- extensions ------------------------------------------------------- */

struct extended_walk {
        unsigned n;
};

static int count_extended(const struct audit_event *e, void *userdata)
{
        if (strcmp(e->event, "extended") == 0)
                ((struct extended_walk *) userdata)->n++;
        return 0;
}

int handle_extend(struct request *req)
{
        struct jitd *d = req->d;
        const char *reason = proto_get_str(req->msg, PF_REASON);
        struct actor a = request_actor(req);
        struct extended_walk ew = {};
        struct store_audit_filter af = {};
        const struct role *r;
        struct jit_grant g;
        uint64_t duration = 0;
        char limit[32], msg[256], why[256] = "";
        int64_t id, fleet_id;
        int ret;

        ret = request_fleet_ref(req, &id);
        if (ret != 0)
                return ret > 0 ? fleet_extend(req, id) : HANDLED;
        if (!request_get_id(req, &id))
                return HANDLED;
        if (!request_load_grant(req, id, &g, &ret))
                return ret;
        if (g.uid != req->peer->uid)
                return reply_error(req, EPERM, "grant %lld is not yours to extend", (long long) id), HANDLED;
        /* Its copy here: more time on this host alone would outlast the
         * fleet grant elsewhere, so it is the fleet grant that is extended. */
        if (d->fleet) {
                ret = store_fleet_id_of(d->store, id, &fleet_id);
                if (ret >= 0)
                        return fleet_extend(req, fleet_id);
                if (ret != -ENOENT)
                        return reply_store_failure(req, ret, "looking the fleet grant up");
        }
        if (g.state != GRANT_ACTIVE || ending_contains(d->ending, g.id))
                return reply_error(req, EALREADY, "grant %lld is %s; only an active grant can be extended",
                                   (long long) id, grant_state_to_string(g.state)), HANDLED;
        if (!proto_get_u64(req->msg, PF_DURATION, &duration) || duration == 0 || duration > DURATION_MAX_SEC)
                return reply_error(req, EINVAL, "an extension needs a duration"), HANDLED;
        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "an extension needs a reason"), HANDLED;
        r = config_find_role(d->config, g.role);
        if (!r)
                return reply_error(req, ENOENT, "role %s no longer exists", g.role), HANDLED;
        if (g.break_glass)
                return reply_error(req, EPERM, "break-glass grants are not extended: request the role normally"),
                       HANDLED;
        /* Limits: without max_extensions the grant never lasts past
         * max_duration from its activation; with it, up to that many
         * extensions of at most max_duration each. */
        af.grant_id = g.id;
        ret = store_audit_foreach(d->store, &af, count_extended, &ew);
        if (ret < 0)
                return reply_store_failure(req, ret, "reading the grant's history");
        duration_format(r->max_duration, limit, sizeof(limit));
        switch (policy_extension_limit(r, g.starts_at, g.expires_at, ew.n, duration)) {
        case EXTENSION_PAST_MAX_DURATION:
                return reply_error(req, ERANGE, "grant %lld would last past the role's maximum of %s from its "
                                   "activation (role %s allows no extensions beyond it)", (long long) id, limit,
                                   r->name), HANDLED;
        case EXTENSION_TOO_MANY:
                return reply_error(req, ERANGE, "grant %lld was already extended %u time%s, the role's maximum",
                                   (long long) id, ew.n, ew.n == 1 ? "" : "s"), HANDLED;
        case EXTENSION_TOO_LONG:
                return reply_error(req, ERANGE, "an extension of role %s adds at most %s", r->name, limit), HANDLED;
        case EXTENSION_WITHIN:
                break;
        }
        if (!(r->approval & (APPROVAL_PEER | APPROVAL_TICKET))) {
                /* auto: no approval to run again. */
                ret = grants_extend(d, &g, duration, reason, &a, why, sizeof(why));
                if (ret < 0 && ret != -EBUSY && why[0])
                        return reply_error(req, EIO, "grant %lld could not be extended: %s", (long long) id, why),
                               HANDLED;
                if (ret < 0)
                        return reply_store_failure(req, ret, "extending");
                reply_grant(req, &g, "extended");
                return HANDLED;
        }
        ret = grants_extension_request(d, &g, duration, reason, &a, why, sizeof(why));
        if (ret < 0)
                return reply_store_failure(req, ret, "storing the extension request");
        if (!(r->approval & APPROVAL_PEER) && ticketflow_check(d, &g) >= 0) {
                ticketflow_defer(d, request_hold(req), g.id, TICKET_REPLY_WAIT_MS);
                return HANDLED_LATER;
        }
        snprintf(msg, sizeof(msg), "extension of grant %lld waits for %u approval%s: jitctl approve %lld",
                 (long long) id, g.approvals_needed, g.approvals_needed == 1 ? "" : "s", (long long) id);
        reply_grant(req, &g, msg);
        return HANDLED;
}

/* ---- break-glass ------------------------------------------------------ */

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

int handle_break_glass(struct request *req)
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
        char why[256] = "", msg[256], left[32];
        int ret;

        if (!role_name || !valid_role_name(role_name) || !(r = config_find_role(d->config, role_name)))
                return reply_error(req, ENOENT, "break-glass needs a role of this host (-r ROLE)"), HANDLED;
        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "break-glass needs a reason (-m REASON): it is reviewed afterwards"),
                       HANDLED;
        if (!policy_break_glass_ok(r, req->peer) || !policy_host_matches(r, d->config->host)) {
                log_msg(LOG_WARNING, "break-glass for role %s refused to %s (uid %u): not on its break_glass list",
                        r->name, req->peer->name, (unsigned) req->peer->uid);
                return reply_error(req, EPERM, "%s may not use break-glass for role %s on host %s", req->peer->name,
                                   r->name, d->config->host), HANDLED;
        }
        proto_get_u64(req->msg, PF_DURATION, &duration);
        if (duration > r->break_glass_duration) {
                duration_format(r->break_glass_duration, left, sizeof(left));
                return reply_error(req, ERANGE, "break-glass for role %s lasts at most %s", r->name, left), HANDLED;
        }
        w.role = r->name;
        ret = store_grant_foreach(d->store, &f, find_started, &w);
        if (ret < 0)
                return reply_store_failure(req, ret, "reading grants");
        if (w.any)
                return reply_error(req, EALREADY, "you already hold grant %lld (%s) for role %s",
                                   (long long) w.found.id, grant_state_to_string(w.found.state), r->name), HANDLED;
        strcpy_checked(g.user, sizeof(g.user), req->peer->name);
        g.uid = req->peer->uid;
        strcpy_checked(g.host, sizeof(g.host), d->config->host);
        strcpy_checked(g.role, sizeof(g.role), r->name);
        strcpy_checked(g.reason, sizeof(g.reason), reason);
        g.duration = duration ? duration : r->break_glass_duration;
        ret = grants_create(d, &g, FSM_BREAK_GLASS, &a, why, sizeof(why));
        if (ret == -EAGAIN)
                return reply_error(req, EIO, "break-glass grant %lld could not be activated: %s", (long long) g.id,
                                   why), HANDLED;
        if (ret < 0)
                return reply_store_failure(req, ret, "storing the break-glass grant");
        duration_format(g.duration, left, sizeof(left));
        /* With [fleet] it stays this host's grant; the fleet learns of it
         * from this host's audit events (fleet_upload.c), now or later. */
        snprintf(msg, sizeof(msg), "break-glass grant %lld for %s is active for %s; an admin will review it%s",
                 (long long) g.id, g.role, left, !d->fleet ? "" : fleet_mirror_connected(d->fleet) ?
                 "; recorded here, and in the fleet with this host's audit events" :
                 "; recorded here: the fleet database is unreachable, it gets the record when it is back");
        reply_grant(req, &g, msg);
        return HANDLED;
}
