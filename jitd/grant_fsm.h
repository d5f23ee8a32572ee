/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The grant state machine, pure: (grant, role, event, now) -> (next grant,
 * audit events, effects). No I/O, no clock, no allocation: everything it
 * decides can be tested with a table (tests/unit/check_grant_fsm.c).
 *
 * grants.c wraps each step in one transaction with its audit events; the
 * effects it returns are carried out by effects.c in the order the core
 * invariant demands (doc/CORE.md): granting effects (a sudoers rule, a ticket
 * note, the break-glass hook) only after the commit, ending effects (the rule
 * removed, the sessions killed) before the record.
 *
 *   pending ──approve/ticket/auto──> active  (or scheduled, then active at its start)
 *      │                               │
 *      ├─ deny / ticket no ─> denied   ├─ expire (clock) ───> expired
 *      ├─ cancel ──────────> cancelled ├─ release ──────────> released
 *      ├─ revoke ──────────> revoked   ├─ revoke / ticket no > revoked
 *      └─ pending_timeout ─> expired   └─ extend, use-up, review: stay active
 *
 * Ended states are final: every event on an ended grant is -EALREADY.
 */
#ifndef JITD_GRANT_FSM_H
#define JITD_GRANT_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "grant.h"

enum fsm_event_type {
        FSM_REQUEST,            /* a new request: the grant's fields are filled, its state is ignored */
        FSM_BREAK_GLASS,        /* a new break-glass grant: active at once, review pending */
        FSM_APPROVE,            /* a peer approved; approvals counts this one */
        FSM_TICKET_APPROVED,    /* the ticket says yes; win_start/win_end bound the grant */
        FSM_TICKET_REJECTED,    /* the ticket says no (closed, refused, not found); text says how */
        FSM_RETRY_ACTIVATION,   /* approvals were complete but activation failed earlier */
        FSM_DENY,               /* an approver said no */
        FSM_CANCEL,             /* the requester withdrew */
        FSM_RELEASE,            /* the user is done */
        FSM_REVOKE,             /* an admin, or policy (ineligible, role gone) */
        FSM_EXPIRE,             /* the clock: expires_at has come */
        FSM_START,              /* the clock: a scheduled grant's starts_at has come */
        FSM_PENDING_TIMEOUT,    /* the ticket did not approve within pending_timeout (or text's time) */
        FSM_EXTENSION_REQUEST,  /* the user asked for duration more; approval runs again */
        FSM_EXTENSION_APPROVE,  /* an approver approved the extension; approvals counts this one */
        FSM_EXTEND,             /* the extension is approved (or needs none): duration more */
        FSM_USE,                /* single use: its one session opened; no more sudo rule */
        FSM_USE_UP,             /* single use: that session closed; the grant ends a second later */
        FSM_REVIEW,             /* an admin settled a break-glass grant's review (accept) */
        FSM_EVENT_MAX_,
};

struct fsm_event {
        enum fsm_event_type type;
        const char *text;               /* reason, note or why; may be NULL */
        const char *actor;              /* FSM_APPROVE: the approver's name, appended to approvers */
        unsigned approvals;             /* FSM_APPROVE, FSM_TICKET_APPROVED, FSM_EXTENSION_APPROVE */
        int64_t win_start, win_end;     /* FSM_TICKET_APPROVED: the change window, 0 = unbounded;
                                         * FSM_APPROVE, FSM_REQUEST (auto), FSM_RETRY_ACTIVATION:
                                         * win_end alone, a fleet grant's end */
        uint64_t duration;              /* FSM_EXTEND, FSM_EXTENSION_REQUEST */
        bool accept;                    /* FSM_REVIEW */
        /* Set when the sudoers rule an activation needs could not be
         * prepared: wherever the step would activate, it records
         * "activation-failed" with this text instead and stays pending. */
        const char *activation_failed;
};

enum fsm_effect {
        FX_DROPIN_PLACE  = 1 << 0,      /* granting: next's rule, prepared before the commit, placed after it */
        FX_DROPIN_REMOVE = 1 << 1,      /* ending: the rule goes before the record */
        FX_SESSIONS_END  = 1 << 2,      /* ending: sessions killed (or moved to a covering grant) before the record */
        FX_TICKET_NOTE   = 1 << 3,      /* after the commit: a note on the ticket */
        FX_NOTIFY        = 1 << 4,      /* after the commit: the break-glass hook */
        FX_DEADLINE      = 1 << 5,      /* a time that the timer waits for changed */
};

#define FSM_FIELDS_MAX 6
/* A fleet grant is requested, approved and activated in one step: three. */
#define FSM_AUDIT_MAX  3

/* One detail of an audit event. Strings point into the event, the result's
 * next grant, or static storage: valid as long as both live. */
struct fsm_field {
        const char *key;
        const char *str;                /* NULL: num is the value */
        int64_t num;
};

struct fsm_audit {
        const char *event;              /* "requested", "activated", ... (static) */
        bool by_jitd;                   /* jitd acted, not the caller's actor */
        bool alert;                     /* logged at alert priority: it pages somebody */
        size_t n_fields;
        struct fsm_field fields[FSM_FIELDS_MAX];
};

struct fsm_result {
        struct jit_grant next;
        unsigned effects;               /* enum fsm_effect */
        size_t n_audit;
        struct fsm_audit audit[FSM_AUDIT_MAX];
};

/* One step. r is the grant's role (NULL when it is gone from the config).
 * Returns 0 with *ret filled, or:
 *   -EALREADY  the event does not apply in this state (an ended grant, an
 *              approval of an active one, an expiry that is not due),
 *   -ENOENT    activation needs the role and it is gone,
 *   -EAGAIN    FSM_TICKET_APPROVED while peer approvals are still missing,
 *   -EINVAL    a malformed event (unknown type, zero duration, review of a
 *              grant that is not break-glass),
 * with why saying it in one line. *ret is set only on success. */
int grant_fsm_step(const struct jit_grant *g, const struct role *r, const struct fsm_event *ev, int64_t now,
                   struct fsm_result *ret, char *why, size_t why_size);

/* "request", "approve", ... for logs and tests. */
const char *grant_fsm_event_name(enum fsm_event_type t);

/* Ending effects: the grant's privilege goes before the record says so. */
static inline bool fsm_result_is_ending(const struct fsm_result *res)
{
        return res->effects & (FX_DROPIN_REMOVE | FX_SESSIONS_END);
}

#endif
