/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * deny F12 and cancel F12: ends of a fleet grant that was never approved,
 * decided on this host (doc/FLEET.md, "The verbs").
 *
 * The database has no "pending": a grant is open until someone ends it, and
 * each host counts its approvals against its own jitd.conf. So "not yet
 * approved" is this host's count: the approvals recorded are fewer than the
 * role's `approvals` here. Past that, the grant is someone's privilege
 * somewhere: an admin revokes it, its user releases it. A host whose own
 * role asks for fewer approvals may already enforce it: it ends its copy
 * when the end reaches it (the mirror ends a grant ended in the fleet,
 * whatever the kind).
 *
 * The grant is read from the database first (who asked, for which role,
 * how many approvals), so with the database unreachable nothing is denied
 * or cancelled: the answer says so. The end itself goes through the store's
 * fleet_ends queue, as a revoke's does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_mirror.h"
#include "grants.h"
#include "handlers_fleet.h"
#include "store.h"
#include "ticketflow.h"

static const char read_sql[] =
        "SELECT g.user_name, g.role, g.state, "
        "(SELECT pg_catalog.count(*) FROM jit.approvals a WHERE a.grant_id = g.id) "
        "FROM jit.grants g WHERE g.id = $1::bigint";

struct end_req {
        struct jitd *d;
        uint64_t serial;
        int64_t id;
        bool deny;                      /* else cancel */
        struct principal *peer;
        char note[JIT_REASON_MAX + 1];
};

static void end_req_free(struct end_req *e)
{
        if (!e)
                return;
        principal_free(e->peer);
        free(e);
}

/* This host's copy, if it has one, ends first. */
static void end_here(struct end_req *e, const char *text, char *here, size_t size)
{
        struct jitd *d = e->d;
        struct actor a = { .uid = e->peer->uid, .name = e->peer->name };
        struct fsm_event ev = { .type = FSM_REVOKE, .text = text };
        struct jit_grant g;
        char why[256] = "";
        int64_t local = 0;

        int r;

        snprintf(here, size, "not enforced on host %s", d->config->host);
        /* A store that cannot answer is not "not enforced": say so; the
         * mirror ends the copy when the fleet's end reaches it. */
        r = store_fleet_lookup(d->store, e->id, &local);
        if (r < 0 && r != -ENOENT) {
                snprintf(here, size, "its copy on host %s could not be looked up (%s): it ends when the fleet's end "
                         "reaches this host", d->config->host, strerror(-r));
                return;
        }
        if (r < 0 || grants_get(d, local, &g) < 0 || !grant_state_is_open(g.state))
                return;
        if (grants_step(d, &g, &ev, &a, why, sizeof(why)) >= 0) {
                ticketflow_forget(d, &g);
                snprintf(here, size, "ended on host %s (local grant %" PRId64 ")", d->config->host, local);
        } else
                snprintf(here, size, "its copy on host %s (local grant %" PRId64 ") could not be ended here: %s",
                         d->config->host, local, why[0] ? why : "a database error");
}

static void on_read(int r, const PGresult *res, const char *why, void *userdata)
{
        struct end_req *e = userdata;
        const struct config *c = e->d->config;
        const char *verb = e->deny ? "denied" : "cancelled";
        const char *user, *role_name, *state;
        const struct role *role;
        char text[JIT_REASON_MAX + 1], here[200];
        long long n;

        if (r == -ECANCELED)
                goto out;
        if (r < 0) {
                later_reply_error(e->d, e->serial, r == -EIO ? EIO : EHOSTUNREACH, "fleet grant F%" PRId64 ": the "
                                  "fleet database %s: %s; nothing was %s", e->id,
                                  r == -EIO ? "refused the read" : "went away before it answered",
                                  why ? why : strerror(-r), verb);
                goto out;
        }
        if (PQntuples(res) != 1) {
                later_reply_error(e->d, e->serial, ENOENT, "no fleet grant F%" PRId64, e->id);
                goto out;
        }
        user = PQgetvalue(res, 0, 0);
        role_name = PQgetvalue(res, 0, 1);
        state = PQgetvalue(res, 0, 2);
        n = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        role = config_find_role(c, role_name);
        if (e->deny) {
                if (strcmp(user, e->peer->name) == 0) {
                        later_reply_error(e->d, e->serial, EPERM, "you cannot deny your own request (fleet grant F%"
                                          PRId64 "): cancel it instead", e->id);
                        goto out;
                }
                if (!role || !(role->approval & APPROVAL_PEER) || !policy_is_approver(role, e->peer)) {
                        later_reply_error(e->d, e->serial, EPERM, "%s is not an approver of role %s on host %s%s",
                                          e->peer->name, role_name, c->host,
                                          role ? "" : " (this host has no such role)");
                        goto out;
                }
        } else if (strcmp(user, e->peer->name) != 0) {
                /* Only its user may cancel it; not even a word on whose. */
                later_reply_error(e->d, e->serial, EPERM, "fleet grant F%" PRId64 " is not yours to cancel", e->id);
                goto out;
        }
        if (strcmp(state, "open") != 0) {
                later_reply_error(e->d, e->serial, EALREADY, "fleet grant F%" PRId64 " has ended (%s)", e->id, state);
                goto out;
        }
        /* Approved as this host counts: somebody's privilege, not a request. */
        if (n > 0 && (!role || (unsigned long long) n >= role->approvals)) {
                later_reply_error(e->d, e->serial, EALREADY, "fleet grant F%" PRId64 " is approved (%lld approval%s): "
                                  "%s", e->id, n, n == 1 ? "" : "s",
                                  e->deny ? "an admin revokes it (jitctl revoke)" : "release it (jitctl release)");
                goto out;
        }
        if (e->deny) {
                /* Cut short if it must: the reason is for people. */
                if (snprintf(text, sizeof(text), "denied by %s: %.400s", e->peer->name, e->note) < 0)
                        text[0] = '\0';
        } else
                snprintf(text, sizeof(text), "cancelled by the requester");
        end_here(e, text, here, sizeof(here));
        fleet_end_queue(e->d, e->serial, e->id, verb, e->peer->name, here,
                        e->deny ? e->note : "cancelled by the requester");
out:
        end_req_free(e);
}

static int fleet_end_start(struct request *req, int64_t id, bool deny)
{
        const char *note = proto_get_str(req->msg, PF_NOTE);
        const char *verb = deny ? "denied" : "cancelled";
        struct end_req *e;
        const char *params[1];
        char sid[24];
        int r;

        e = calloc(1, sizeof(*e));
        if (!e || principal_copy(req->peer, &e->peer) < 0) {
                end_req_free(e);
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        }
        e->d = req->d;
        e->id = id;
        e->deny = deny;
        snprintf(e->note, sizeof(e->note), "%s", note ? note : "");
        snprintf(sid, sizeof(sid), "%" PRId64, id);
        params[0] = sid;
        r = fleet_mirror_query(req->d->fleet, read_sql, 1, params, on_read, e);
        if (r < 0) {
                end_req_free(e);
                if (r == -ENOTCONN)
                        return reply_error(req, EHOSTUNREACH, "the fleet database is unreachable; nothing was %s",
                                           verb), HANDLED;
                return reply_error(req, -r, "cannot ask the fleet database: %s; nothing was %s", strerror(-r), verb),
                       HANDLED;
        }
        e->serial = request_hold(req);
        return HANDLED_LATER;
}

int fleet_deny(struct request *req, int64_t id)
{
        return fleet_end_start(req, id, true);
}

int fleet_cancel(struct request *req, int64_t id)
{
        return fleet_end_start(req, id, false);
}
