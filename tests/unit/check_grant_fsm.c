/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for jitd/grant_fsm.c: every state x event pair from a table
 * (the legal ones with their next state and effects, every other one
 * refused without touching the result), then the details: approvals,
 * windows, activation failures, extensions, single use, reviews. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grant_fsm.h"
#include "util.h"

#define NOW 1800000000
#define ENDING (FX_DROPIN_REMOVE | FX_SESSIONS_END | FX_TICKET_NOTE | FX_DEADLINE)
#define ACTIVATE (FX_DROPIN_PLACE | FX_TICKET_NOTE | FX_DEADLINE)
#define ENDED_QUIET (FX_TICKET_NOTE | FX_DEADLINE)

static struct role peer_role(void)
{
        return (struct role) { .name = (char *) "ops", .approval = APPROVAL_PEER, .approvals = 1 };
}

/* A grant in the given state, at the moment each clock event is due: a
 * scheduled grant starts now, an active one ends now. */
static struct jit_grant grant_in(enum grant_state s)
{
        struct jit_grant g = { .id = 7, .uid = 1000, .duration = 3600, .state = s, .approvals_needed = 1,
                               .requested_at = NOW - 100 };

        strcpy(g.user, "alice");
        strcpy(g.host, "web01");
        strcpy(g.role, "ops");
        strcpy(g.approval, "peer");
        if (s == GRANT_SCHEDULED) {
                g.approved_at = NOW - 50;
                g.starts_at = NOW;
                g.expires_at = NOW + 3600;
        } else if (s == GRANT_ACTIVE) {
                g.approved_at = NOW - 3600;
                g.starts_at = NOW - 3600;
                g.expires_at = NOW;
        } else if (s != GRANT_PENDING) {
                g.ended_at = NOW - 10;
        }
        return g;
}

struct legal {
        enum grant_state from;
        enum fsm_event_type ev;
        int rc;
        enum grant_state to;
        unsigned effects;
};

/* Every pair not listed here is refused with -EALREADY, except review of a
 * grant that is not break-glass (-EINVAL, from any state). */
static const struct legal legal[] = {
        { GRANT_PENDING,   FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_SCHEDULED, FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_ACTIVE,    FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_EXPIRED,   FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_REVOKED,   FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_RELEASED,  FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_DENIED,    FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_CANCELLED, FSM_REQUEST,           0, GRANT_PENDING,   0 },
        { GRANT_PENDING,   FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_SCHEDULED, FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_ACTIVE,    FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_EXPIRED,   FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_REVOKED,   FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_RELEASED,  FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_DENIED,    FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_CANCELLED, FSM_BREAK_GLASS,       0, GRANT_ACTIVE,    ACTIVATE | FX_NOTIFY },
        { GRANT_PENDING,   FSM_APPROVE,           0, GRANT_ACTIVE,    ACTIVATE },
        { GRANT_PENDING,   FSM_TICKET_APPROVED,   0, GRANT_ACTIVE,    ACTIVATE },
        { GRANT_PENDING,   FSM_TICKET_REJECTED,   0, GRANT_DENIED,    ENDED_QUIET },
        { GRANT_SCHEDULED, FSM_TICKET_REJECTED,   0, GRANT_REVOKED,   ENDING },
        { GRANT_ACTIVE,    FSM_TICKET_REJECTED,   0, GRANT_REVOKED,   ENDING },
        { GRANT_PENDING,   FSM_RETRY_ACTIVATION,  0, GRANT_ACTIVE,    ACTIVATE },
        { GRANT_PENDING,   FSM_DENY,              0, GRANT_DENIED,    ENDED_QUIET },
        { GRANT_PENDING,   FSM_CANCEL,            0, GRANT_CANCELLED, ENDED_QUIET },
        { GRANT_SCHEDULED, FSM_CANCEL,            0, GRANT_CANCELLED, ENDING },
        { GRANT_SCHEDULED, FSM_RELEASE,           0, GRANT_RELEASED,  ENDING },
        { GRANT_ACTIVE,    FSM_RELEASE,           0, GRANT_RELEASED,  ENDING },
        { GRANT_PENDING,   FSM_REVOKE,            0, GRANT_REVOKED,   ENDED_QUIET },
        { GRANT_SCHEDULED, FSM_REVOKE,            0, GRANT_REVOKED,   ENDING },
        { GRANT_ACTIVE,    FSM_REVOKE,            0, GRANT_REVOKED,   ENDING },
        { GRANT_ACTIVE,    FSM_EXPIRE,            0, GRANT_EXPIRED,   ENDING },
        { GRANT_SCHEDULED, FSM_START,             0, GRANT_ACTIVE,    FX_DEADLINE },
        { GRANT_PENDING,   FSM_PENDING_TIMEOUT,   0, GRANT_EXPIRED,   ENDED_QUIET },
        { GRANT_ACTIVE,    FSM_EXTENSION_REQUEST, 0, GRANT_ACTIVE,    0 },
        { GRANT_ACTIVE,    FSM_EXTENSION_APPROVE, 0, GRANT_ACTIVE,    0 },
        { GRANT_ACTIVE,    FSM_EXTEND,            0, GRANT_ACTIVE,    FX_DROPIN_PLACE | FX_TICKET_NOTE | FX_DEADLINE },
        { GRANT_ACTIVE,    FSM_USE,               0, GRANT_ACTIVE,    FX_DROPIN_REMOVE },
};

static const struct legal *find_legal(enum grant_state s, enum fsm_event_type e)
{
        for (size_t i = 0; i < ELEMENTSOF(legal); i++)
                if (legal[i].from == s && legal[i].ev == e)
                        return &legal[i];
        return NULL;
}

static struct fsm_event event_of(enum fsm_event_type t)
{
        return (struct fsm_event) { .type = t, .text = "because", .actor = "bob", .approvals = 1,
                                    .duration = 600, .accept = true };
}

/* The loop index is state * FSM_EVENT_MAX_ + event. */
START_TEST(test_every_pair)
{
        enum grant_state s = (enum grant_state) (_i / FSM_EVENT_MAX_);
        enum fsm_event_type e = (enum fsm_event_type) (_i % FSM_EVENT_MAX_);
        struct role r = peer_role();
        struct jit_grant g = grant_in(s);
        struct fsm_event ev = event_of(e);
        const struct legal *l = find_legal(s, e);
        struct fsm_result res, untouched;
        char why[256];
        int rc;

        memset(&res, 0xa5, sizeof(res));
        untouched = res;
        rc = grant_fsm_step(&g, &r, &ev, NOW, &res, why, sizeof(why));
        if (l) {
                ck_assert_msg(rc == l->rc, "%s + %s: rc %d, want %d (%s)", grant_state_to_string(s),
                              grant_fsm_event_name(e), rc, l->rc, why);
                ck_assert_msg(res.next.state == l->to, "%s + %s -> %s, want %s", grant_state_to_string(s),
                              grant_fsm_event_name(e), grant_state_to_string(res.next.state),
                              grant_state_to_string(l->to));
                ck_assert_msg(res.effects == l->effects, "%s + %s: effects %#x, want %#x", grant_state_to_string(s),
                              grant_fsm_event_name(e), res.effects, l->effects);
                ck_assert_uint_ge(res.n_audit, 1);
                ck_assert_uint_le(res.n_audit, FSM_AUDIT_MAX);
                for (size_t i = 0; i < res.n_audit; i++)
                        ck_assert_ptr_nonnull(res.audit[i].event);
                /* Identity never changes. */
                ck_assert_str_eq(res.next.user, g.user);
                ck_assert_str_eq(res.next.role, g.role);
                ck_assert_int_eq(res.next.uid, g.uid);
                if (!grant_state_is_open(res.next.state)) {
                        ck_assert_int_eq(res.next.ended_at, NOW);
                        ck_assert_str_eq(res.next.end_reason, e == FSM_EXPIRE ? "expired" : "because");
                }
        } else {
                int want = e == FSM_REVIEW ? -EINVAL : -EALREADY;

                ck_assert_msg(rc == want, "%s + %s: rc %d, want %d", grant_state_to_string(s),
                              grant_fsm_event_name(e), rc, want);
                ck_assert_msg(memcmp(&res, &untouched, sizeof(res)) == 0, "%s + %s: result touched on failure",
                              grant_state_to_string(s), grant_fsm_event_name(e));
                ck_assert_msg(why[0] != '\0', "%s + %s: no reason given", grant_state_to_string(s),
                              grant_fsm_event_name(e));
        }
}
END_TEST

START_TEST(test_event_names)
{
        for (int i = 0; i < FSM_EVENT_MAX_; i++) {
                ck_assert_str_ne(grant_fsm_event_name((enum fsm_event_type) i), "?");
                for (int j = 0; j < i; j++)
                        ck_assert_str_ne(grant_fsm_event_name((enum fsm_event_type) i),
                                         grant_fsm_event_name((enum fsm_event_type) j));
        }
        ck_assert_str_eq(grant_fsm_event_name(FSM_EVENT_MAX_), "?");
}
END_TEST

START_TEST(test_unknown_event)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = { .type = FSM_EVENT_MAX_ };
        struct fsm_result res;
        char why[64];

        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, why, sizeof(why)), -EINVAL);
        ck_assert_int_eq(grant_fsm_step(&g, &r, NULL, NOW, &res, why, sizeof(why)), -EINVAL);
}
END_TEST

START_TEST(test_request_auto)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = event_of(FSM_REQUEST);
        struct fsm_result res;

        r.approval = APPROVAL_AUTO;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
        ck_assert_int_eq(res.next.requested_at, NOW);
        ck_assert_int_eq(res.next.approved_at, NOW);
        ck_assert_int_eq(res.next.starts_at, NOW);
        ck_assert_int_eq(res.next.expires_at, NOW + 3600);
        ck_assert_uint_eq(res.n_audit, 2);
        ck_assert_str_eq(res.audit[0].event, "requested");
        ck_assert(!res.audit[0].by_jitd);
        ck_assert_str_eq(res.audit[1].event, "activated");
        ck_assert(res.audit[1].by_jitd);
        ck_assert_uint_eq(res.effects, ACTIVATE);

        /* A fleet grant's copy: no later than the fleet's end. */
        ev.win_end = NOW + 60;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
        ck_assert_int_eq(res.next.expires_at, NOW + 60);
        ev.win_end = NOW;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -ETIME);
        ev.win_end = 0;

        /* auto together with another path waits for that one. */
        r.approval = APPROVAL_AUTO | APPROVAL_PEER;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_PENDING);
        ck_assert_uint_eq(res.n_audit, 1);
}
END_TEST

START_TEST(test_activation_failed)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = event_of(FSM_REQUEST);
        struct fsm_result res;

        r.approval = APPROVAL_AUTO;
        ev.activation_failed = "visudo rejected the sudoers drop-in";
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_PENDING);
        ck_assert_uint_eq(res.effects, 0);
        ck_assert_uint_eq(res.n_audit, 2);
        ck_assert_str_eq(res.audit[1].event, "activation-failed");
        ck_assert_str_eq(res.audit[1].fields[0].str, "visudo rejected the sudoers drop-in");

        /* The same for an approval and for break-glass (no notify: nothing happened). */
        ev = event_of(FSM_APPROVE);
        ev.activation_failed = "disk full";
        r.approval = APPROVAL_PEER;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_PENDING);
        ck_assert_str_eq(res.audit[1].event, "activation-failed");
        ck_assert_str_eq(res.next.approvers, "bob");
        ev = event_of(FSM_BREAK_GLASS);
        ev.activation_failed = "disk full";
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_PENDING);
        ck_assert(res.next.break_glass);
        ck_assert_uint_eq(res.effects, 0);
}
END_TEST

START_TEST(test_approvals)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = event_of(FSM_APPROVE);
        struct fsm_result res;

        g.approvals_needed = 2;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_PENDING);
        ck_assert_str_eq(res.next.approvers, "bob");
        ck_assert_uint_eq(res.effects, 0);
        g = res.next;
        ev.actor = "carol";
        ev.approvals = 2;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
        ck_assert_str_eq(res.next.approvers, "bob,carol");
        ck_assert_str_eq(res.audit[1].event, "activated");
        ck_assert(!res.audit[1].by_jitd);

        /* With ticket approval too, approvals alone do not activate. */
        g = grant_in(GRANT_PENDING);
        r.approval = APPROVAL_PEER | APPROVAL_TICKET;
        ev.approvals = 1;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_PENDING);
}
END_TEST

START_TEST(test_ticket_windows)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = event_of(FSM_TICKET_APPROVED);
        struct fsm_result res;
        char why[128];

        r.approval = APPROVAL_TICKET | APPROVAL_PEER;
        ev.approvals = 0;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, why, sizeof(why)), -EAGAIN);
        ck_assert_ptr_nonnull(strstr(why, "waiting for 1 more approval"));

        r.approval = APPROVAL_TICKET;
        /* A window in the future: scheduled, starting at its start. */
        ev.win_start = NOW + 600;
        ev.win_end = 0;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_SCHEDULED);
        ck_assert_int_eq(res.next.starts_at, NOW + 600);
        ck_assert_int_eq(res.next.expires_at, NOW + 4200);
        ck_assert_str_eq(res.audit[0].event, "scheduled");
        /* The rule goes out at once, with NOTBEFORE. */
        ck_assert_uint_eq(res.effects, ACTIVATE);

        /* The window's end caps the grant. */
        ev.win_start = NOW - 600;
        ev.win_end = NOW + 60;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
        ck_assert_int_eq(res.next.starts_at, NOW);
        ck_assert_int_eq(res.next.expires_at, NOW + 60);

        /* A window that is over denies the request. */
        ev.win_start = NOW - 600;
        ev.win_end = NOW;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_DENIED);
        ck_assert_str_eq(res.next.end_reason, "its window (the ticket's change window, or the fleet's end) is already over");
        ck_assert_uint_eq(res.effects, ENDED_QUIET);
}
END_TEST

/* A fleet grant whose activation failed and is retried later keeps the
 * fleet's end: a late success must not give it a full duration from now. */
START_TEST(test_retry_keeps_the_fleet_end)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = event_of(FSM_RETRY_ACTIVATION);
        struct fsm_result res;

        ev.win_end = NOW + 60;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
        ck_assert_int_eq(res.next.expires_at, NOW + 60);

        /* Past its end: it never starts here. */
        ev.win_end = NOW - 1;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_DENIED);
        ck_assert_uint_eq(res.effects, ENDED_QUIET);

        /* A local grant (no end from outside): its own duration. */
        ev.win_end = 0;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.expires_at, NOW + 3600);
}
END_TEST

START_TEST(test_pending_timeout_reason)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = { .type = FSM_PENDING_TIMEOUT };
        struct fsm_result res;

        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_EXPIRED);
        ck_assert_str_eq(res.next.end_reason, "the ticket was not approved within pending_timeout");
        /* A fleet grant's copy says whose time ran out. */
        ev.text = "its fleet time ran out";
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_str_eq(res.next.end_reason, "its fleet time ran out");
}
END_TEST

START_TEST(test_role_gone_or_not_sudo)
{
        char *sshd[] = { (char *) "sshd", NULL };
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = event_of(FSM_APPROVE);
        struct fsm_result res;
        char why[128];

        ck_assert_int_eq(grant_fsm_step(&g, NULL, &ev, NOW, &res, why, sizeof(why)), -ENOENT);
        ck_assert_str_eq(why, "role ops no longer exists");
        /* Ending needs no role. */
        ev = event_of(FSM_REVOKE);
        ck_assert_int_eq(grant_fsm_step(&g, NULL, &ev, NOW, &res, NULL, 0), 0);

        /* A role for sshd only hands out no sudo rule. */
        r.services = sshd;
        ev = event_of(FSM_APPROVE);
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
        ck_assert_uint_eq(res.effects, FX_TICKET_NOTE | FX_DEADLINE);
}
END_TEST

START_TEST(test_clock_events_not_due)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_ACTIVE);
        struct fsm_event ev = event_of(FSM_EXPIRE);
        struct fsm_result res;

        g.expires_at = NOW + 1;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -EALREADY);
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW + 1, &res, NULL, 0), 0);
        g = grant_in(GRANT_SCHEDULED);
        g.starts_at = NOW + 5;
        ev = event_of(FSM_START);
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -EALREADY);
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW + 5, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
}
END_TEST

START_TEST(test_extend)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_ACTIVE);
        struct fsm_event ev = event_of(FSM_EXTEND);
        struct fsm_result res;

        g.expires_at = NOW + 100;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.expires_at, NOW + 700);
        ck_assert_uint_eq(res.next.duration, 4200);
        ck_assert_str_eq(res.audit[0].event, "extended");
        ev.duration = 0;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -EINVAL);
        ev.duration = UINT64_MAX;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -EINVAL);
        ev.duration = 60;
        g.break_glass = true;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -EPERM);
}
END_TEST

START_TEST(test_single_use)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_ACTIVE);
        struct fsm_event ev = event_of(FSM_USE_UP);
        struct fsm_result res;

        g.expires_at = NOW + 3600;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_int_eq(res.next.expires_at, NOW + 1);
        ck_assert_int_eq(res.next.state, GRANT_ACTIVE);
        ck_assert_uint_eq(res.effects, FX_DEADLINE);
        g = res.next;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -EALREADY);
}
END_TEST

START_TEST(test_review)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_EXPIRED);
        struct fsm_event ev = event_of(FSM_REVIEW);
        struct fsm_result res;

        g.break_glass = true;
        strcpy(g.review, "pending");
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_str_eq(res.next.review, "accepted");
        ck_assert_int_eq(res.next.state, GRANT_EXPIRED);
        ck_assert_uint_eq(res.effects, 0);
        g = res.next;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), -EALREADY);
        strcpy(g.review, "pending");
        ev.accept = false;
        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert_str_eq(res.next.review, "rejected");
}
END_TEST

START_TEST(test_break_glass)
{
        struct role r = peer_role();
        struct jit_grant g = grant_in(GRANT_PENDING);
        struct fsm_event ev = event_of(FSM_BREAK_GLASS);
        struct fsm_result res;

        ck_assert_int_eq(grant_fsm_step(&g, &r, &ev, NOW, &res, NULL, 0), 0);
        ck_assert(res.next.break_glass);
        ck_assert_str_eq(res.next.review, "pending");
        ck_assert_str_eq(res.next.approval, "break-glass");
        ck_assert_str_eq(res.audit[0].event, "break-glass");
        ck_assert(res.audit[0].alert);
        /* The role is in the event: the fleet sees break-glass only through
         * a host's uploaded events. */
        ck_assert_int_ge(res.audit[0].n_fields, 1);
        ck_assert_str_eq(res.audit[0].fields[0].key, "role");
        ck_assert_str_eq(res.audit[0].fields[0].str, g.role);
        ck_assert_str_eq(res.audit[1].event, "activated");
        ck_assert(!res.audit[1].by_jitd);
}
END_TEST

static Suite *fsm_suite(void)
{
        Suite *s = suite_create("grant_fsm");
        TCase *tc = tcase_create("pairs");

        tcase_add_loop_test(tc, test_every_pair, 0, GRANT_STATE_MAX_ * FSM_EVENT_MAX_);
        suite_add_tcase(s, tc);
        tc = tcase_create("details");
        tcase_add_test(tc, test_event_names);
        tcase_add_test(tc, test_retry_keeps_the_fleet_end);
        tcase_add_test(tc, test_unknown_event);
        tcase_add_test(tc, test_request_auto);
        tcase_add_test(tc, test_activation_failed);
        tcase_add_test(tc, test_approvals);
        tcase_add_test(tc, test_ticket_windows);
        tcase_add_test(tc, test_pending_timeout_reason);
        tcase_add_test(tc, test_role_gone_or_not_sudo);
        tcase_add_test(tc, test_clock_events_not_due);
        tcase_add_test(tc, test_extend);
        tcase_add_test(tc, test_single_use);
        tcase_add_test(tc, test_review);
        tcase_add_test(tc, test_break_glass);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(fsm_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
