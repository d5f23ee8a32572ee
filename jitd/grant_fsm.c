/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gating.h"
#include "grant_fsm.h"

static const char *const event_names[FSM_EVENT_MAX_] = {
        [FSM_REQUEST] = "request",
        [FSM_BREAK_GLASS] = "break-glass",
        [FSM_APPROVE] = "approve",
        [FSM_TICKET_APPROVED] = "ticket-approved",
        [FSM_TICKET_REJECTED] = "ticket-rejected",
        [FSM_RETRY_ACTIVATION] = "retry-activation",
        [FSM_DENY] = "deny",
        [FSM_CANCEL] = "cancel",
        [FSM_RELEASE] = "release",
        [FSM_REVOKE] = "revoke",
        [FSM_EXPIRE] = "expire",
        [FSM_START] = "start",
        [FSM_PENDING_TIMEOUT] = "pending-timeout",
        [FSM_EXTENSION_REQUEST] = "extension-request",
        [FSM_EXTENSION_APPROVE] = "extension-approve",
        [FSM_EXTEND] = "extend",
        [FSM_USE] = "use",
        [FSM_USE_UP] = "use-up",
        [FSM_REVIEW] = "review",
};

const char *grant_fsm_event_name(enum fsm_event_type t)
{
        return (unsigned) t < FSM_EVENT_MAX_ ? event_names[t] : "?";
}

__attribute__((format(printf, 3, 4)))
static void say(char *why, size_t size, const char *fmt, ...)
{
        va_list ap;

        if (why && size) {
                va_start(ap, fmt);
                vsnprintf(why, size, fmt, ap);
                va_end(ap);
        }
}

static struct fsm_audit *audit_add(struct fsm_result *res, const char *event, bool by_jitd)
{
        struct fsm_audit *a = &res->audit[res->n_audit++];

        *a = (struct fsm_audit) { .event = event, .by_jitd = by_jitd };
        return a;
}

static void field_str(struct fsm_audit *a, const char *key, const char *v)
{
        /* Empty values are left out, as they always were in the trail. */
        if (v && v[0] && a->n_fields < FSM_FIELDS_MAX)
                a->fields[a->n_fields++] = (struct fsm_field) { .key = key, .str = v };
}

static void field_num(struct fsm_audit *a, const char *key, int64_t v)
{
        if (a->n_fields < FSM_FIELDS_MAX)
                a->fields[a->n_fields++] = (struct fsm_field) { .key = key, .num = v };
}

/* What a grant in this state holds on the host: a rule from the moment it
 * is scheduled (the rule's NOTBEFORE holds it back), sessions once active. */
static unsigned ending_effects(enum grant_state from)
{
        return from == GRANT_ACTIVE || from == GRANT_SCHEDULED ?
               FX_DROPIN_REMOVE | FX_SESSIONS_END | FX_TICKET_NOTE | FX_DEADLINE : FX_TICKET_NOTE | FX_DEADLINE;
}

static void end(struct fsm_result *res, enum grant_state from, enum grant_state to, const char *reason,
                bool by_jitd, int64_t now)
{
        struct jit_grant *x = &res->next;
        struct fsm_audit *a;

        x->state = to;
        x->ended_at = now;
        snprintf(x->end_reason, sizeof(x->end_reason), "%s", reason ? reason : "");
        a = audit_add(res, grant_state_to_string(to), by_jitd);
        field_str(a, "reason", x->end_reason);
        field_str(a, "from", grant_state_to_string(from));
        res->effects |= ending_effects(from);
}

/* Activation inside a change window (0 = unbounded): the clock starts at
 * activation, never earlier than the window and never past its end. A start
 * later than now makes the grant scheduled; its rule is written at once with
 * NOTBEFORE, so that it needs no jitd to begin. */
static int activate(const struct jit_grant *g, const struct role *r, const struct fsm_event *ev, int64_t now,
                    int64_t win_start, int64_t win_end, bool by_jitd, struct fsm_result *res, char *why,
                    size_t why_size)
{
        struct jit_grant *x = &res->next;
        struct fsm_audit *a;

        if (ev->activation_failed) {
                a = audit_add(res, "activation-failed", by_jitd);
                field_str(a, "why", ev->activation_failed);
                return 0;
        }
        if (!r) {
                say(why, why_size, "role %s no longer exists", g->role);
                return -ENOENT;
        }
        if (!x->approved_at)
                x->approved_at = now;
        x->starts_at = win_start > now ? win_start : now;
        x->expires_at = x->starts_at + (int64_t) x->duration;
        if (win_end && x->expires_at > win_end)
                x->expires_at = win_end;
        if (x->expires_at <= x->starts_at || x->expires_at <= now) {
                say(why, why_size, "its window (the ticket's change window, or the fleet's end) is already over");
                return -ETIME;
        }
        x->state = x->starts_at > now ? GRANT_SCHEDULED : GRANT_ACTIVE;
        a = audit_add(res, x->state == GRANT_ACTIVE ? "activated" : "scheduled", by_jitd);
        field_str(a, "approval", x->approval);
        field_num(a, "starts_at", x->starts_at);
        field_num(a, "expires_at", x->expires_at);
        res->effects |= FX_TICKET_NOTE | FX_DEADLINE | (gating_role_needs_sudoers(r) ? FX_DROPIN_PLACE : 0);
        return 0;
}

static int not_in(const struct jit_grant *g, const char *what, char *why, size_t why_size)
{
        say(why, why_size, "grant %lld is %s%s%s", (long long) g->id, grant_state_to_string(g->state),
             what ? ", not " : "", what ? what : "");
        return -EALREADY;
}

static void append_approver(struct jit_grant *x, const char *name)
{
        size_t len = strlen(x->approvers);

        if (name && name[0] && len + 1 + strlen(name) < sizeof(x->approvers))
                snprintf(x->approvers + len, sizeof(x->approvers) - len, "%s%s", len ? "," : "", name);
}

int grant_fsm_step(const struct jit_grant *g, const struct role *r, const struct fsm_event *ev, int64_t now,
                   struct fsm_result *ret, char *why, size_t why_size)
{
        struct fsm_result res = { .next = *g };
        struct jit_grant *x = &res.next;
        struct fsm_audit *a;
        enum grant_state from = g->state;
        char local[256];
        int k = 0;

        /* A reason can become the grant's end reason, so there is always room
         * for one, whether the caller wants it or not. */
        if (!why || why_size == 0) {
                why = local;
                why_size = sizeof(local);
        }
        why[0] = '\0';
        if (!ev || (unsigned) ev->type >= FSM_EVENT_MAX_) {
                say(why, why_size, "unknown grant event");
                return -EINVAL;
        }
        /* A new grant has no past; everything else about a grant that ended
         * is history. */
        if (ev->type != FSM_REQUEST && ev->type != FSM_BREAK_GLASS && ev->type != FSM_REVIEW &&
            !grant_state_is_open(from))
                return not_in(g, NULL, why, why_size);

        switch (ev->type) {
        case FSM_REQUEST:
                x->state = GRANT_PENDING;
                x->requested_at = now;
                x->approved_at = x->starts_at = x->expires_at = x->ended_at = 0;
                a = audit_add(&res, "requested", false);
                field_str(a, "ticket", x->ticket);
                field_str(a, "reason", x->reason);
                field_num(a, "duration", (int64_t) x->duration);
                field_str(a, "approval", x->approval);
                /* auto alone: policy approves at once. auto with another
                 * path waits for that one. win_end: a fleet grant's end
                 * (0 for a local request). */
                if (r && r->approval == APPROVAL_AUTO)
                        k = activate(g, r, ev, now, 0, ev->win_end, true, &res, why, why_size);
                break;

        case FSM_BREAK_GLASS:
                x->state = GRANT_PENDING;
                x->requested_at = now;
                x->approved_at = x->starts_at = x->expires_at = x->ended_at = 0;
                x->break_glass = true;
                snprintf(x->review, sizeof(x->review), "pending");
                snprintf(x->approval, sizeof(x->approval), "break-glass");
                a = audit_add(&res, "break-glass", false);
                a->alert = true;
                /* The role too: the fleet sees a host's break-glass through
                 * its uploaded events only (doc/FLEET.md, Uploads). */
                field_str(a, "role", x->role);
                field_str(a, "reason", x->reason);
                field_num(a, "duration", (int64_t) x->duration);
                k = activate(g, r, ev, now, 0, 0, false, &res, why, why_size);
                if (k == 0 && !ev->activation_failed)
                        res.effects |= FX_NOTIFY;
                break;

        case FSM_APPROVE:
                if (from != GRANT_PENDING)
                        return not_in(g, "pending", why, why_size);
                append_approver(x, ev->actor);
                a = audit_add(&res, "approved", false);
                field_str(a, "note", ev->text);
                field_num(a, "approvals", ev->approvals);
                field_num(a, "needed", x->approvals_needed);
                /* With ticket approval too, the ticket has the last word.
                 * win_end: a fleet grant ends when the fleet says, however
                 * late this host learned of it (0 for a local approval). */
                if (ev->approvals >= x->approvals_needed && !(r && (r->approval & APPROVAL_TICKET)))
                        k = activate(g, r, ev, now, 0, ev->win_end, false, &res, why, why_size);
                break;

        case FSM_TICKET_APPROVED:
                if (from != GRANT_PENDING)
                        return not_in(g, "pending", why, why_size);
                if (r && (r->approval & APPROVAL_PEER) && ev->approvals < x->approvals_needed) {
                        say(why, why_size, "ticket %s is approved; waiting for %u more approval%s", g->ticket,
                             x->approvals_needed - ev->approvals,
                             x->approvals_needed - ev->approvals == 1 ? "" : "s");
                        return -EAGAIN;
                }
                k = activate(g, r, ev, now, ev->win_start, ev->win_end, true, &res, why, why_size);
                if (k == -ETIME) {
                        /* Too late to be of use: the change it stood for is over. */
                        res = (struct fsm_result) { .next = *g };
                        end(&res, from, GRANT_DENIED, why, true, now);
                        k = 0;
                }
                break;

        case FSM_TICKET_REJECTED:
                end(&res, from, from == GRANT_PENDING ? GRANT_DENIED : GRANT_REVOKED, ev->text, true, now);
                break;

        case FSM_RETRY_ACTIVATION:
                if (from != GRANT_PENDING)
                        return not_in(g, "pending", why, why_size);
                /* win_end: a fleet grant keeps the fleet's end however late
                 * its activation succeeds here (0 for a local grant). */
                k = activate(g, r, ev, now, 0, ev->win_end, true, &res, why, why_size);
                if (k == -ETIME) {
                        res = (struct fsm_result) { .next = *g };
                        end(&res, from, GRANT_DENIED, why, true, now);
                        k = 0;
                }
                break;

        case FSM_DENY:
                if (from != GRANT_PENDING)
                        return not_in(g, "pending", why, why_size);
                end(&res, from, GRANT_DENIED, ev->text, false, now);
                break;

        case FSM_CANCEL:
                if (from != GRANT_PENDING && from != GRANT_SCHEDULED)
                        return not_in(g, "pending or scheduled", why, why_size);
                end(&res, from, GRANT_CANCELLED, ev->text, false, now);
                break;

        case FSM_RELEASE:
                if (from != GRANT_ACTIVE && from != GRANT_SCHEDULED)
                        return not_in(g, "active", why, why_size);
                end(&res, from, GRANT_RELEASED, ev->text, false, now);
                break;

        case FSM_REVOKE:
                end(&res, from, GRANT_REVOKED, ev->text, false, now);
                break;

        case FSM_EXPIRE:
                if (from != GRANT_ACTIVE)
                        return not_in(g, "active", why, why_size);
                if (g->expires_at > now) {
                        say(why, why_size, "grant %lld is not due until %lld", (long long) g->id,
                             (long long) g->expires_at);
                        return -EALREADY;
                }
                end(&res, from, GRANT_EXPIRED, "expired", true, now);
                break;

        case FSM_START:
                if (from != GRANT_SCHEDULED)
                        return not_in(g, "scheduled", why, why_size);
                if (g->starts_at > now) {
                        say(why, why_size, "grant %lld does not start until %lld", (long long) g->id,
                             (long long) g->starts_at);
                        return -EALREADY;
                }
                x->state = GRANT_ACTIVE;
                a = audit_add(&res, "activated", true);
                field_num(a, "expires_at", x->expires_at);
                res.effects |= FX_DEADLINE;
                break;

        case FSM_PENDING_TIMEOUT:
                if (from != GRANT_PENDING)
                        return not_in(g, "pending", why, why_size);
                end(&res, from, GRANT_EXPIRED, ev->text ? ev->text : "the ticket was not approved within pending_timeout",
                    true, now);
                break;

        case FSM_EXTENSION_REQUEST:
        case FSM_EXTENSION_APPROVE:
        case FSM_EXTEND:
                if (from != GRANT_ACTIVE)
                        return not_in(g, "active", why, why_size);
                if (g->break_glass) {
                        say(why, why_size, "break-glass grants are not extended: request the role normally");
                        return -EPERM;
                }
                if (ev->type == FSM_EXTENSION_APPROVE) {
                        a = audit_add(&res, "extension-approved", false);
                        field_str(a, "note", ev->text);
                        field_num(a, "approvals", ev->approvals);
                        field_num(a, "needed", x->approvals_needed);
                        break;
                }
                if (ev->duration == 0 || ev->duration > (uint64_t) INT64_MAX - (uint64_t) g->expires_at) {
                        say(why, why_size, "an extension needs a duration");
                        return -EINVAL;
                }
                if (ev->type == FSM_EXTENSION_REQUEST) {
                        a = audit_add(&res, "extension-requested", false);
                        field_str(a, "reason", ev->text);
                        field_num(a, "duration", (int64_t) ev->duration);
                        break;
                }
                x->expires_at = g->expires_at + (int64_t) ev->duration;
                x->duration = g->duration + ev->duration;
                a = audit_add(&res, "extended", false);
                field_str(a, "reason", ev->text);
                field_num(a, "added", (int64_t) ev->duration);
                field_num(a, "from", g->expires_at);
                field_num(a, "until", x->expires_at);
                /* The new NOTAFTER is a grant of more time: after the commit. */
                res.effects |= FX_TICKET_NOTE | FX_DEADLINE | (gating_role_needs_sudoers(r) ? FX_DROPIN_PLACE : 0);
                break;

        case FSM_USE:
                if (from != GRANT_ACTIVE)
                        return not_in(g, "active", why, why_size);
                a = audit_add(&res, "used", true);
                field_str(a, "what", "its single session opened; its sudoers rule is withdrawn");
                /* The one session may run; no second sudo may start. */
                res.effects |= FX_DROPIN_REMOVE;
                break;

        case FSM_USE_UP:
                if (from != GRANT_ACTIVE)
                        return not_in(g, "active", why, why_size);
                /* A second from now, through the normal expiry: the process
                 * that closes the session (sudo, sshd) is still in it,
                 * returning from close_session. */
                if (g->expires_at <= now + 1) {
                        say(why, why_size, "grant %lld ends within a second anyway", (long long) g->id);
                        return -EALREADY;
                }
                x->expires_at = now + 1;
                a = audit_add(&res, "used-up", true);
                field_num(a, "was_until", g->expires_at);
                res.effects |= FX_DEADLINE;
                break;

        case FSM_REVIEW:
                if (!g->break_glass) {
                        say(why, why_size, "grant %lld is not a break-glass grant", (long long) g->id);
                        return -EINVAL;
                }
                if (strcmp(g->review, "pending") != 0) {
                        say(why, why_size, "grant %lld was already reviewed (%s)", (long long) g->id, g->review);
                        return -EALREADY;
                }
                snprintf(x->review, sizeof(x->review), "%s", ev->accept ? "accepted" : "rejected");
                a = audit_add(&res, "reviewed", false);
                field_str(a, "decision", x->review);
                field_str(a, "note", ev->text);
                break;

        case FSM_EVENT_MAX_:
                break;
        }
        if (k < 0)
                return k;
        *ret = res;
        /* Audit strings that point into this step's copy of the grant point
         * into the caller's copy from now on. */
        for (size_t i = 0; i < ret->n_audit; i++)
                for (size_t j = 0; j < ret->audit[i].n_fields; j++) {
                        const char *p = ret->audit[i].fields[j].str;
                        const char *lo = (const char *) &res.next, *hi = lo + sizeof(res.next);

                        if (p && p >= lo && p < hi)
                                ret->audit[i].fields[j].str = (const char *) &ret->next + (p - lo);
                }
        return 0;
}
