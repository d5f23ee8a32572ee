/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What approvers and admins ask: approve and deny (approvers of the grant's
 * role, never the requester), revoke, review, the audit trail and its
 * verification, reload, the report (admins, and approvers for the report).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"
#include "audit_stream.h"
#include "conn.h"
#include "grants.h"
#include "handlers.h"
#include "fleet_audit.h"
#include "fleet_report.h"
#include "fleet_review.h"
#include "handlers_fleet.h"
#include "json_reply.h"
#include "log.h"
#include "record_verify.h"
#include "reload.h"
#include "report.h"
#include "store.h"
#include "ticketflow.h"

#define TICKET_REPLY_WAIT_MS 5000

/* Approve and deny share their checks: the role still exists, the peer
 * approves for it (eligible as NSS says now), and is not the requester.
 * NULL after replying. */
static const struct role *approver_checks(struct request *req, const struct jit_grant *g, const char *verb)
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
        return r;
}

/* Is the requester still eligible, as NSS says now? Approving someone who
 * left the group would hand out what policy no longer gives. false after
 * replying. */
static bool requester_still_eligible(struct request *req, const struct jit_grant *g, const struct role *r)
{
        struct principal *p = NULL;
        char why[256] = "";
        int k = principal_from_name(req->d->config, g->user, &p);
        bool ok;

        if (k < 0 && k != -ENOENT) {
                reply_error(req, EIO, "cannot look %s up to check eligibility: %s; nothing was changed", g->user,
                            strerror(-k));
                return false;
        }
        ok = p && policy_eligible(r, p, req->d->config->host, why, sizeof(why));
        principal_free(p);
        if (!ok)
                reply_error(req, EPERM, "%s is no longer eligible for role %s%s%s; nothing was changed", g->user,
                            r->name, why[0] ? ": " : "", why);
        return ok;
}

static int approve_extension(struct request *req, struct jit_grant *g, const struct role *r)
{
        struct actor a = request_actor(req);
        const char *note = proto_get_str(req->msg, PF_NOTE);
        bool applied = false;
        char why[256] = "", msg[256];
        int k;

        k = grants_extension_approve(req->d, g, &a, note, false, &applied, why, sizeof(why));
        if (k == -ENOENT)
                return reply_error(req, EALREADY, "grant %lld is %s, not pending", (long long) g->id,
                                   grant_state_to_string(g->state)), HANDLED;
        if (k == -EEXIST)
                return reply_error(req, EALREADY, "%s", why), HANDLED;
        if (k < 0 && k != -EBUSY && why[0])
                return reply_error(req, EIO, "grant %lld could not be extended: %s", (long long) g->id, why), HANDLED;
        if (k < 0)
                return reply_store_failure(req, k, "storing the approval");
        if (applied) {
                reply_grant(req, g, "extended");
                return HANDLED;
        }
        if ((r->approval & APPROVAL_TICKET) && ticketflow_check(req->d, g) >= 0) {
                ticketflow_defer(req->d, request_hold(req), g->id, TICKET_REPLY_WAIT_MS);
                return HANDLED_LATER;
        }
        snprintf(msg, sizeof(msg), "extension of grant %lld approved: waiting for more approvals", (long long) g->id);
        reply_grant(req, g, msg);
        return HANDLED;
}

int handle_approve(struct request *req)
{
        const char *note = proto_get_str(req->msg, PF_NOTE);
        struct actor a = request_actor(req);
        const struct role *r;
        struct jit_grant g;
        int64_t id;
        char msg[256], why[256] = "";
        int ret;

        ret = request_fleet_ref(req, &id);
        if (ret < 0)
                return HANDLED;
        if (ret > 0 || proto_has(req->msg, PF_SIGNATURE)) {
                /* A fleet grant, signed by the approver (jitctl approve F12). */
                if (ret == 0 || !proto_has(req->msg, PF_SIGNATURE))
                        return reply_error(req, EINVAL, "a fleet grant (F12) is approved with a signature, and a "
                                           "signature is for a fleet grant"), HANDLED;
                return fleet_approve(req);
        }
        if (!request_get_id(req, &id))
                return HANDLED;
        if (!request_load_grant(req, id, &g, &ret))
                return ret;
        if (note && !valid_text(note, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "invalid note"), HANDLED;
        if (!(r = approver_checks(req, &g, "approve")))
                return HANDLED;
        /* A fleet grant's copy counts the fleet's signed approvals (a copy
         * of a role approved by ticket and peer waits here for its ticket
         * with them): an approval of this host alone would be one nobody
         * else can check. */
        {
                int64_t fleet_id;

                ret = store_fleet_id_of(req->d->store, id, &fleet_id);
                if (ret >= 0)
                        return reply_error(req, EPERM, "grant %lld is this host's copy of fleet grant F%lld: approve "
                                           "F%lld, signed with your key", (long long) id, (long long) fleet_id,
                                           (long long) fleet_id), HANDLED;
                if (ret != -ENOENT)
                        return reply_store_failure(req, ret, "looking the fleet grant up");
        }
        if (g.state == GRANT_ACTIVE)
                return approve_extension(req, &g, r);
        if (g.state != GRANT_PENDING)
                return reply_error(req, EALREADY, "grant %lld is %s, not pending", (long long) id,
                                   grant_state_to_string(g.state)), HANDLED;
        if (!requester_still_eligible(req, &g, r))
                return HANDLED;
        ret = grants_approve(req->d, &g, &a, note, why, sizeof(why));
        if (ret == -EAGAIN)
                return reply_error(req, EIO, "grant %lld approved, but it could not be activated: %s; it stays "
                                   "pending and jitd retries", (long long) id, why), HANDLED;
        if (ret == -EEXIST)
                return reply_error(req, EALREADY, "you already approved grant %lld", (long long) id), HANDLED;
        if (ret < 0)
                return reply_store_failure(req, ret, "storing the approval");
        if (g.state == GRANT_PENDING && ticketflow_needed(r) && ticketflow_check(req->d, &g) >= 0) {
                ticketflow_defer(req->d, request_hold(req), g.id, TICKET_REPLY_WAIT_MS);
                return HANDLED_LATER;
        }
        if (g.state == GRANT_ACTIVE)
                snprintf(msg, sizeof(msg), "grant %lld approved: active", (long long) id);
        else
                snprintf(msg, sizeof(msg), "grant %lld approved: still pending more approvals", (long long) id);
        reply_grant(req, &g, msg);
        return HANDLED;
}

int handle_deny(struct request *req)
{
        const char *note = proto_get_str(req->msg, PF_NOTE);
        struct actor a = request_actor(req);
        struct jit_grant g;
        char reason[JIT_REASON_MAX + 1], why[256] = "";
        struct fsm_event ev = { .type = FSM_DENY, .text = reason };
        int64_t id;
        int ret;

        ret = request_fleet_ref(req, &id);
        if (ret < 0)
                return HANDLED;
        if (!note || !note[0] || !valid_text(note, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "a denial needs a note saying why"), HANDLED;
        if (ret > 0)
                return fleet_deny(req, id);
        if (!request_get_id(req, &id))
                return HANDLED;
        if (!request_load_grant(req, id, &g, &ret))
                return ret;
        if (!approver_checks(req, &g, "deny"))
                return HANDLED;
        if (g.state != GRANT_PENDING)
                return reply_error(req, EALREADY, "grant %lld is %s, not pending", (long long) id,
                                   grant_state_to_string(g.state)), HANDLED;
        snprintf(reason, sizeof(reason), "denied by %s: %s", req->peer->name, note);
        ret = grants_step(req->d, &g, &ev, &a, why, sizeof(why));
        if (ret == -EALREADY)
                return reply_error(req, EALREADY, "%s", why), HANDLED;
        if (ret < 0)
                return reply_store_failure(req, ret, "storing the denial");
        ticketflow_forget(req->d, &g);
        reply_grant(req, &g, "denied");
        return HANDLED;
}

int handle_revoke(struct request *req)
{
        const char *reason = proto_get_str(req->msg, PF_REASON);
        struct actor a = request_actor(req);
        struct jit_grant g;
        char text[JIT_REASON_MAX + 1], why[256] = "", msg[256];
        struct fsm_event ev = { .type = FSM_REVOKE, .text = text };
        int64_t id;
        int ret;

        if (proto_has(req->msg, PF_USER))
                return revoke_user_all(req);
        ret = request_fleet_ref(req, &id);
        if (ret != 0)
                return ret > 0 ? fleet_revoke(req, id) : HANDLED;       /* F12: a fleet grant */
        if (!request_get_id(req, &id))
                return HANDLED;
        if (!reason || !reason[0] || !valid_text(reason, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "a revocation needs a reason"), HANDLED;
        if (!request_load_grant(req, id, &g, &ret))
                return ret;
        /* A plain id is this host's grant (break-glass, the PAM prompt's
         * request...); the copy of a fleet grant is one grant of the fleet,
         * revoked everywhere. */
        if (req->d->fleet) {
                int64_t fleet_id;

                ret = store_fleet_id_of(req->d->store, id, &fleet_id);
                if (ret >= 0)
                        return fleet_revoke(req, fleet_id);
                if (ret != -ENOENT)
                        return reply_store_failure(req, ret, "looking the fleet grant up");
        }
        if (!grant_state_is_open(g.state))
                return reply_error(req, EALREADY, "grant %lld already ended (%s)", (long long) id,
                                   grant_state_to_string(g.state)), HANDLED;
        snprintf(text, sizeof(text), "revoked by %s: %s", req->peer->name, reason);
        ret = grants_step(req->d, &g, &ev, &a, why, sizeof(why));
        if (ret == 1) {
                snprintf(msg, sizeof(msg), "revoked: its rule is gone and its sessions are killed; the record waits "
                         "for the database (jitd retries)");
                reply_grant(req, &g, msg);
                return HANDLED;
        }
        if (ret == -EALREADY)
                return reply_error(req, EALREADY, "%s", why), HANDLED;
        if (ret < 0)
                return reply_store_failure(req, ret, "revoking");
        ticketflow_forget(req->d, &g);
        reply_grant(req, &g, "revoked");
        return HANDLED;
}

int handle_review(struct request *req)
{
        const char *note = proto_get_str(req->msg, PF_NOTE);
        struct actor a = request_actor(req);
        struct jit_grant g;
        uint64_t flags = 0;
        char why[256] = "";
        struct fsm_event ev = { .type = FSM_REVIEW, .text = note };
        int64_t id;
        int r;

        r = request_fleet_ref(req, &id);
        if (r != 0)
                return r > 0 ? reply_error(req, EINVAL, "F%lld is a fleet grant: reviews are of this host's "
                                           "break-glass grants", (long long) id), HANDLED : HANDLED;
        if (!proto_has(req->msg, PF_ID)) {
                struct store_filter f = { .states = GRANT_STATES_ALL };

                /* With [fleet], the other hosts' pending reviews follow. */
                if (req->d->fleet)
                        return fleet_review_list(req, &f);
                return list_stream_start(req, &f, true);
        }
        if (!request_get_id(req, &id))
                return HANDLED;
        if (!request_load_grant(req, id, &g, &r))
                return r;
        proto_get_u64(req->msg, PF_FLAGS, &flags);
        if (flags != PROTO_F_ACCEPT && flags != PROTO_F_REJECT)
                return reply_error(req, EINVAL, "a review either accepts or rejects"), HANDLED;
        if (!note || !note[0] || !valid_text(note, JIT_REASON_MAX))
                return reply_error(req, EINVAL, "a review needs a note saying why"), HANDLED;
        if (g.uid == req->peer->uid)
                return reply_error(req, EPERM, "you cannot review your own break-glass grant %lld", (long long) id),
                       HANDLED;
        ev.accept = flags == PROTO_F_ACCEPT;
        r = grants_step(req->d, &g, &ev, &a, why, sizeof(why));
        if (r == -EINVAL || r == -EALREADY)
                return reply_error(req, -r, "%s", why), HANDLED;
        if (r < 0)
                return reply_store_failure(req, r, "storing the review");
        reply_grant(req, &g, NULL);
        return HANDLED;
}

int handle_audit(struct request *req)
{
        const char *host = proto_get_str(req->msg, PF_HOST);
        uint64_t since = 0, id = 0, flags = 0;
        int64_t fleet_id = 0;
        int r;

        proto_get_u64(req->msg, PF_SINCE, &since);
        proto_get_u64(req->msg, PF_ID, &id);
        proto_get_u64(req->msg, PF_FLAGS, &flags);
        if (since > INT64_MAX || id > INT64_MAX)
                return reply_error(req, EINVAL, "since or grant out of range"), HANDLED;
        if (flags & ~(uint64_t) PROTO_F_LOCAL)
                return reply_error(req, EINVAL, "unknown audit flags"), HANDLED;
        if (host && !fleet_pattern_valid(host))
                return reply_error(req, EINVAL, "invalid host pattern '%s'", host), HANDLED;
        r = request_fleet_ref(req, &fleet_id);
        if (r < 0)
                return HANDLED;
        /* With [fleet], every host's events (a plain --grant is this host's
         * grant: its trail here). */
        if (r > 0 || (req->d->fleet && !id && !(flags & PROTO_F_LOCAL)))
                return fleet_audit_stream(req, (int64_t) since, fleet_id, host);
        if (host && !policy_pattern_matches(host, req->d->config->host)) {
                struct proto_msg end;

                proto_init(&end, PROTO_REP_END);
                proto_set_u64(&end, PF_COUNT, 0);
                reply_msg(req, &end);
                return HANDLED;
        }
        return audit_local_stream(req, (int64_t) since, (int64_t) id, NULL);
}

int handle_audit_verify(struct request *req)
{
        const char *host = proto_get_str(req->msg, PF_HOST);
        struct proto_msg m;
        json_object *local;
        uint64_t flags = 0;
        int64_t seq = 0;
        char why[256] = "";
        int r;

        proto_get_u64(req->msg, PF_FLAGS, &flags);
        if (flags & ~(uint64_t) PROTO_F_DOCUMENT)
                return reply_error(req, EINVAL, "unknown audit verify flags"), HANDLED;
        if (host && !fleet_pattern_valid(host))
                return reply_error(req, EINVAL, "invalid host pattern '%s'", host), HANDLED;
        r = audit_verify(req->d->audit, req->d->store, &seq, why, sizeof(why));
        if (r == -EBADMSG)
                log_msg(LOG_ALERT, "audit chain broken: %s", why);
        if (r < 0 && r != -EBADMSG)
                return reply_store_failure(req, r, "verifying the audit trail");
        if (flags & PROTO_F_DOCUMENT) {
                /* This host's chain and its sealed recordings, then (with
                 * [fleet]) every host's chain from the fleet copy: one
                 * document. */
                local = json_object_new_object();
                if (!local)
                        return reply_error(req, ENOMEM, "out of memory"), HANDLED;
                json_object_object_add(local, "host", json_object_new_string(req->d->config->host));
                json_object_object_add(local, "intact", json_object_new_boolean(r == 0));
                json_object_object_add(local, r == 0 ? "events" : "bad_seq", json_object_new_int64(seq));
                if (r < 0)
                        json_object_object_add(local, "why", json_object_new_string(why));
                if (r == 0) {
                        r = record_verify_start(req, seq, local, host, fleet_audit_verify_later);
                        if (r < 0) {
                                json_object_put(local);
                                return reply_store_failure(req, r, "reading the sealed recordings");
                        }
                        if (r > 0)
                                return HANDLED_LATER;
                }
                return fleet_audit_verify(req, local, host);
        }
        if (r == -EBADMSG)
                return reply_error(req, EBADMSG, "audit chain broken: %s", why), HANDLED;
        r = record_verify_start(req, seq, NULL, NULL, NULL);
        if (r < 0)
                return reply_store_failure(req, r, "reading the sealed recordings");
        if (r > 0)
                return HANDLED_LATER;
        proto_init(&m, PROTO_REP_OK);
        proto_set_u64(&m, PF_COUNT, (uint64_t) seq);
        proto_set_str(&m, PF_MESSAGE, "audit chain intact");
        reply_msg(req, &m);
        return HANDLED;
}

int handle_reload(struct request *req)
{
        struct proto_msg m;
        char why[2048];

        if (jitd_reload(req->d, why, sizeof(why)) < 0) {
                log_msg(LOG_ERR, "reload by %s refused, the old configuration stays in force: %s", req->peer->name,
                        why);
                return reply_error(req, EINVAL, "reload refused, the old configuration stays in force: %s", why),
                       HANDLED;
        }
        log_msg(LOG_NOTICE, "%s (asked by %s)", why, req->peer->name);
        proto_init(&m, PROTO_REP_OK);
        proto_set_str(&m, PF_MESSAGE, why);
        reply_msg(req, &m);
        return HANDLED;
}

/* The governance figures, for admins and approvers: the JSON object in
 * slices of at most REPORT_CHUNK_MAX bytes, then END {count = slices}. */
int handle_report(struct request *req)
{
        const char *host = proto_get_str(req->msg, PF_HOST);
        uint64_t since = 0;
        char *json = NULL;
        int r;

        if (!policy_is_admin(req->d->config, req->peer) && !policy_is_any_approver(req->d->config, req->peer))
                return reply_error(req, EPERM, "the report is for admins and approvers"), HANDLED;
        if (host && !fleet_pattern_valid(host))
                return reply_error(req, EINVAL, "invalid host pattern '%s'", host), HANDLED;
        proto_get_u64(req->msg, PF_SINCE, &since);
        r = report_build(req->d->store, req->d->config, NULL, since > INT64_MAX ? 0 : (int64_t) since,
                         now_realtime(), &json);
        if (r < 0)
                return reply_store_failure(req, r, "building the report");
        /* With [fleet], the fleet's figures follow as its "fleet" key. */
        if (req->d->fleet)
                return fleet_report(req, json, since > INT64_MAX ? 0 : (int64_t) since, host);
        return reply_json(req, json);
}
