/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "fleet_decide.h"
#include "ticket.h"

bool fleet_scope_matches(char *const *scope, const char *host)
{
        for (size_t i = 0; scope && scope[i]; i++)
                if (fnmatch(scope[i], host, 0) == 0)
                        return true;
        return false;
}

__attribute__((format(printf, 2, 3)))
static void refuse(struct fleet_verdict *v, const char *fmt, ...)
{
        va_list ap;

        v->kind = FLEET_REFUSE;
        va_start(ap, fmt);
        vsnprintf(v->why, sizeof(v->why), fmt, ap);
        va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void refuse_ext(struct fleet_ext_verdict *v, const char *fmt, ...)
{
        va_list ap;

        v->kind = FLEET_EXT_REFUSE;
        va_start(ap, fmt);
        vsnprintf(v->why, sizeof(v->why), fmt, ap);
        va_end(ap);
}

/* Was approver counted already (one person, one approval)? */
static bool counted(const struct fleet_approval *a, size_t n, const bool *good, size_t i)
{
        for (size_t k = 0; k < n; k++)
                if (k != i && good[k] && strcmp(a[k].approver, a[i].approver) == 0)
                        return true;
        return false;
}

/* The approvals of a grant or of one extension, oldest first (as the
 * database gives them): who counts under the local role r, and whose
 * signature is good. */
struct tally {
        unsigned have;                  /* good ones counted, at most r->approvals */
        int64_t completed_at;           /* approved_at of the one that made have reach r->approvals */
        size_t first_unknown;           /* (size_t) -1: none left to verify */
        bool too_many;                  /* the approvers' names do not fit approvers */
        char missing[192];              /* the first reason an approval did not count */
};

static struct tally tally(const struct role *r, const char *user, const struct fleet_approval *ap, size_t n_ap,
                          char *approvers, size_t size)
{
        struct tally t = { .first_unknown = (size_t) -1 };
        bool good[FLEET_APPROVALS_MAX] = { false };
        size_t n = n_ap < FLEET_APPROVALS_MAX ? n_ap : FLEET_APPROVALS_MAX, len = 0;

        approvers[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                const struct fleet_approval *a = &ap[i];

                if (!a->approver || !a->approver[0])
                        continue;
                if (strcmp(a->approver, user) == 0) {
                        if (!t.missing[0])
                                snprintf(t.missing, sizeof(t.missing), "%s cannot approve their own grant",
                                         a->approver);
                        continue;
                }
                if (!a->who || !policy_is_approver(r, a->who)) {
                        if (!t.missing[0])
                                snprintf(t.missing, sizeof(t.missing), "%s is not an approver of role %s here",
                                         a->approver, r->name);
                        continue;
                }
                if (counted(ap, n, good, i))
                        continue;
                if (a->verified == FLEET_SIG_BAD) {
                        if (!t.missing[0])
                                snprintf(t.missing, sizeof(t.missing), "the signature of %s does not verify",
                                         a->approver);
                        continue;
                }
                if (a->verified == FLEET_SIG_UNKNOWN) {
                        if (t.first_unknown == (size_t) -1)
                                t.first_unknown = i;
                        continue;
                }
                good[i] = true;
                if (t.have < r->approvals) {
                        t.have++;
                        /* Its end is counted from the approval that completed it. */
                        if (t.have == r->approvals)
                                t.completed_at = a->approved_at;
                        len += (size_t) snprintf(approvers + len, len < size ? size - len : 0, "%s%s",
                                                 len ? "," : "", a->approver);
                        if (len >= size) {
                                t.too_many = true;
                                approvers[0] = '\0';
                                return t;
                        }
                }
        }
        return t;
}

/* Its end counted from the request, the one time every host shares (ticket
 * and auto grants have no approval in the database); refused when that is
 * over already. */
static int ends_from_request(const struct fleet_grant *g, int64_t now, struct fleet_verdict *v)
{
        if (g->requested_at <= 0 || (uint64_t) g->requested_at > (uint64_t) INT64_MAX - g->duration) {
                refuse(v, "request time out of range");
                return -ERANGE;
        }
        v->ends_at = g->requested_at + (int64_t) g->duration;
        if (v->ends_at <= now) {
                refuse(v, "its time was over before this host learned of it (it ends %llus after its request)",
                       (unsigned long long) g->duration);
                return -ETIME;
        }
        return 0;
}

/* Can this host look the grant's ticket up? Refused (false) when not. */
static bool ticket_lookup_possible(const struct config *c, const struct role *r, const struct fleet_grant *g,
                                   struct fleet_verdict *v)
{
        if (!ticket_system_configured(&c->ticket)) {
                refuse(v, "role %s is approved through its ticket here, and this host has no [ticket] provider to "
                       "look it up", r->name);
                return false;
        }
        if (!g->ticket || !g->ticket[0]) {
                refuse(v, "role %s is approved through its ticket here, and the grant has no ticket", r->name);
                return false;
        }
        return true;
}

static void decide_ticket(const struct config *c, const struct role *r, const struct fleet_grant *g, int64_t now,
                          struct fleet_verdict *v)
{
        if (!ticket_lookup_possible(c, r, g, v))
                return;
        if (ends_from_request(g, now, v) < 0)
                return;
        v->kind = FLEET_TICKET;
        v->approvals = 0;
}

int fleet_decide(const struct config *c, const char *host, bool allowed_signers, const struct fleet_grant *g,
                 int64_t now, struct fleet_verdict *ret)
{
        struct fleet_verdict v = { .kind = FLEET_WAIT };
        const struct role *r;
        struct tally t;
        char why[256], lim[32];
        unsigned have = 0;
        int64_t completed_at = 0;

        if (!c || !host || !g || !g->user || !g->role || !g->scope || g->id <= 0 || !ret ||
            (g->n_approvals && !g->approvals))
                return -EINVAL;

        if (!fleet_scope_matches(g->scope, host)) {
                *ret = (struct fleet_verdict) { .kind = FLEET_NOT_HERE };
                return 0;
        }
        r = config_find_role(c, g->role);
        /* A request nobody approved yet is not for this host to judge when
         * approvals are what would make it count here: a peer role, or a
         * role this host does not have (the approval, if one comes, brings
         * the refusal). A ticket or auto role here is judged at once. */
        if (g->n_approvals == 0 && (!r || (r->approval & APPROVAL_PEER))) {
                *ret = v;
                return 0;
        }
        if (!r) {
                refuse(&v, "no role %s on this host", g->role);
                goto out;
        }
        if (!policy_host_matches(r, host)) {
                refuse(&v, "role %s does not apply to host %s here", r->name, host);
                goto out;
        }
        /* Break-glass stands on one host's own judgement: it is never taken
         * from the fleet. */
        if (g->break_glass) {
                refuse(&v, "break-glass grants of other hosts are not enforced here");
                goto out;
        }
        if (!g->who) {
                refuse(&v, "no user %s on this host", g->user);
                goto out;
        }
        if (!policy_eligible(r, g->who, host, why, sizeof(why))) {
                refuse(&v, "%s is not eligible for role %s here: %s", g->user, r->name, why);
                goto out;
        }
        if (g->duration == 0 || g->duration > r->max_duration) {
                duration_format(r->max_duration, lim, sizeof(lim));
                refuse(&v, "duration %llus is more than role %s allows here (%s)", (unsigned long long) g->duration,
                       r->name, lim);
                goto out;
        }
        if (!policy_ticket_ok(r, g->ticket ? g->ticket : "", why, sizeof(why))) {
                refuse(&v, "role %s: %s", r->name, why);
                goto out;
        }
        if ((r->approval & APPROVAL_TICKET) && !(r->approval & APPROVAL_PEER)) {
                decide_ticket(c, r, g, now, &v);
                goto out;
        }
        if (!(r->approval & APPROVAL_PEER)) {
                /* auto: this host's policy approves it, as it would a local
                 * request; the database adds nothing to that. */
                if (ends_from_request(g, now, &v) == 0) {
                        v.kind = FLEET_APPLY;
                        v.approvals = 0;
                }
                goto out;
        }
        if (!allowed_signers) {
                refuse(&v, "[fleet] allowed_signers is not set: no approval signature verifies here");
                goto out;
        }
        /* Ticket and peer together: the signatures, then this host's own
         * lookup. One that cannot happen here refuses it before any
         * signature is verified. */
        if ((r->approval & APPROVAL_TICKET) && !ticket_lookup_possible(c, r, g, &v))
                goto out;

        t = tally(r, g->user, g->approvals, g->n_approvals, v.approvers, sizeof(v.approvers));
        if (t.too_many) {
                refuse(&v, "too many approvers to record");
                goto out;
        }
        have = t.have;
        completed_at = t.completed_at;
        if (have >= r->approvals) {
                if (completed_at <= 0 || (uint64_t) completed_at > (uint64_t) INT64_MAX - g->duration) {
                        refuse(&v, "approval time out of range");
                        goto out;
                }
                v.ends_at = completed_at + (int64_t) g->duration;
                if (v.ends_at <= now) {
                        refuse(&v, "its time was over before this host learned of it");
                        goto out;
                }
                /* With the ticket too, this host's own lookup has the last
                 * word; the end stays the one every host shares. */
                v.kind = r->approval & APPROVAL_TICKET ? FLEET_TICKET : FLEET_APPLY;
                v.approvals = have;
                goto out;
        }
        if (t.first_unknown != (size_t) -1) {
                v.kind = FLEET_VERIFY;
                v.verify = t.first_unknown;
                v.approvers[0] = '\0';
                goto out;
        }
        refuse(&v, "%u of %u approval%s valid here%s%s", have, r->approvals, r->approvals == 1 ? "" : "s",
               t.missing[0] ? ": " : "", t.missing);
out:
        if ((v.kind != FLEET_APPLY && v.kind != FLEET_TICKET) || v.approvals == 0)
                v.approvers[0] = '\0';
        *ret = v;
        return 0;
}

int fleet_decide_extension(const struct config *c, bool allowed_signers, const struct fleet_grant *g,
                           const struct fleet_extension *x, const struct fleet_copy *copy,
                           struct fleet_ext_verdict *ret)
{
        struct fleet_ext_verdict v = { .kind = FLEET_EXT_WAIT };
        const struct role *r;
        struct tally t;
        char lim[32];

        if (!c || !g || !g->user || !g->role || !x || !copy || !ret || x->n <= 0 || x->duration == 0 ||
            (x->n_approvals && !x->approvals))
                return -EINVAL;
        r = config_find_role(c, g->role);
        if (!r) {
                refuse_ext(&v, "no role %s on this host", g->role);
                goto out;
        }
        /* As a local grant's: only an active copy is extended. A copy still
         * waiting for its ticket's lookup takes it at a later change. */
        if (!copy->active)
                goto out;
        if (g->break_glass) {
                refuse_ext(&v, "break-glass grants are not extended");
                goto out;
        }
        /* The local role's limits, as handle_extend applies them: without
         * max_extensions the grant never lasts past max_duration from its
         * activation; with it, that many extensions of max_duration each. */
        duration_format(r->max_duration, lim, sizeof(lim));
        switch (policy_extension_limit(r, copy->starts_at, copy->expires_at, copy->extended, x->duration)) {
        case EXTENSION_PAST_MAX_DURATION:
                refuse_ext(&v, "it would make the grant last past role %s's maximum of %s from its activation here",
                           r->name, lim);
                goto out;
        case EXTENSION_TOO_MANY:
                refuse_ext(&v, "it was extended %u time%s here already, role %s's maximum", copy->extended,
                           copy->extended == 1 ? "" : "s", r->name);
                goto out;
        case EXTENSION_TOO_LONG:
                refuse_ext(&v, "it adds more than role %s allows here (%s)", r->name, lim);
                goto out;
        case EXTENSION_WITHIN:
                break;
        }
        /* Ticket (alone, or with auto): the copy is active because this
         * host's own lookup found the ticket approved, and it is looked up
         * again every poll; auto: local policy approves it at once. */
        if (!(r->approval & APPROVAL_PEER)) {
                v.kind = FLEET_EXT_APPLY;
                goto out;
        }
        if (!allowed_signers) {
                refuse_ext(&v, "[fleet] allowed_signers is not set: no approval signature verifies here");
                goto out;
        }
        t = tally(r, g->user, x->approvals, x->n_approvals, v.approvers, sizeof(v.approvers));
        if (t.too_many) {
                refuse_ext(&v, "too many approvers to record");
                goto out;
        }
        if (t.have >= r->approvals) {
                v.kind = FLEET_EXT_APPLY;
                v.approvals = t.have;
                goto out;
        }
        if (t.first_unknown != (size_t) -1) {
                v.kind = FLEET_EXT_VERIFY;
                v.verify = t.first_unknown;
                goto out;
        }
        /* Not a refusal: the approvers have not (all) signed it yet. */
        v.kind = FLEET_EXT_WAIT;
        snprintf(v.why, sizeof(v.why), "%u of %u approval%s valid here%s%s", t.have, r->approvals,
                 r->approvals == 1 ? "" : "s", t.missing[0] ? ": " : "", t.missing);
out:
        if (v.kind != FLEET_EXT_APPLY)
                v.approvers[0] = '\0';
        *ret = v;
        return 0;
}
