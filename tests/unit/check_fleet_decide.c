/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd/fleet_decide.c: whether a fleet grant is enforced on this host. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_decide.h"

static char *alice_groups[] = { "alice", "webops", NULL };
static char *bob_groups[] = { "bob", "security", NULL };
static char *carol_groups[] = { "carol", "security", NULL };
static char *none[] = { NULL };

static const struct principal alice = { .name = "alice", .uid = 1000, .groups = alice_groups };
static const struct principal bob = { .name = "bob", .uid = 1001, .groups = bob_groups };
static const struct principal carol = { .name = "carol", .uid = 1002, .groups = carol_groups };
static const struct principal mallory = { .name = "mallory", .uid = 1003, .groups = none };

static char *members[] = { "%webops", NULL };
static char *hosts[] = { "web-*", NULL };
static char *approvers[] = { "%security", NULL };
static char *scope_web[] = { "web-*", NULL };
static char *scope_db[] = { "db-*", NULL };

#define NOW 1700001000
static struct role role;
static struct config cfg;
static struct fleet_approval ap[3];
static struct fleet_grant g;

static void setup(void)
{
        role = (struct role) { .name = "web-admin", .members = members, .hosts = hosts, .approval = APPROVAL_PEER,
                               .approvers = approvers, .approvals = 1, .ticket = TICKET_OPTIONAL,
                               .default_duration = 3600, .max_duration = 4 * 3600 };
        cfg = (struct config) { .roles = &role, .n_roles = 1, .host = "web-01" };
        ap[0] = (struct fleet_approval) { .approver = "bob", .signature = "sig", .approved_at = NOW - 100,
                                          .who = &bob, .verified = FLEET_SIG_GOOD };
        ap[1] = (struct fleet_approval) { .approver = "carol", .signature = "sig", .approved_at = NOW - 50,
                                          .who = &carol, .verified = FLEET_SIG_GOOD };
        g = (struct fleet_grant) { .id = 7, .user = "alice", .role = "web-admin", .ticket = "", .scope = scope_web,
                                   .duration = 3600, .requested_at = NOW - 200, .who = &alice, .approvals = ap,
                                   .n_approvals = 1 };
}

static struct fleet_verdict decide(const char *host)
{
        struct fleet_verdict v;

        ck_assert_int_eq(fleet_decide(&cfg, host, true, &g, NOW, &v), 0);
        return v;
}

#define ck_refused(v, text) do { \
                struct fleet_verdict v_ = (v); \
                ck_assert_int_eq(v_.kind, FLEET_REFUSE); \
                ck_assert_msg(strstr(v_.why, text), "why: %s", v_.why); \
        } while (0)

START_TEST(test_apply)
{
        struct fleet_verdict v = decide("web-01");

        ck_assert_int_eq(v.kind, FLEET_APPLY);
        ck_assert_str_eq(v.approvers, "bob");
        ck_assert_uint_eq(v.approvals, 1);
        /* Counted from the approval, not from when this host heard of it. */
        ck_assert_int_eq(v.ends_at, NOW - 100 + 3600);
}
END_TEST

START_TEST(test_scope)
{
        ck_assert_int_eq(decide("db-01").kind, FLEET_NOT_HERE);
        g.scope = scope_db;
        ck_assert_int_eq(decide("web-01").kind, FLEET_NOT_HERE);
        ck_assert(fleet_scope_matches(scope_web, "web-02"));
        ck_assert(!fleet_scope_matches(scope_web, "web02"));
}
END_TEST

START_TEST(test_local_role_hosts)
{
        /* The scope names the host, the local role does not. */
        static char *everywhere[] = { "*", NULL };

        g.scope = everywhere;
        ck_refused(decide("db-01"), "does not apply to host db-01");
}
END_TEST

START_TEST(test_no_approval_waits)
{
        g.n_approvals = 0;
        ck_assert_int_eq(decide("web-01").kind, FLEET_WAIT);
}
END_TEST

START_TEST(test_role_user_duration_ticket)
{
        g.role = "db-admin";
        ck_refused(decide("web-01"), "no role db-admin on this host");
        g.role = "web-admin";
        g.who = NULL;
        ck_refused(decide("web-01"), "no user alice on this host");
        g.who = &mallory;
        g.user = "mallory";
        ck_refused(decide("web-01"), "not eligible for role web-admin here: not a member");
        g.who = &alice;
        g.user = "alice";
        g.duration = 4 * 3600 + 1;
        ck_refused(decide("web-01"), "more than role web-admin allows here (4h)");
        g.duration = 4 * 3600;
        ck_assert_int_eq(decide("web-01").kind, FLEET_APPLY);
        role.ticket = TICKET_REQUIRED;
        ck_refused(decide("web-01"), "ticket required");
        g.break_glass = true;
        ck_refused(decide("web-01"), "break-glass");
}
END_TEST

START_TEST(test_approval_paths)
{
        {
                struct fleet_verdict v;

                ck_assert_int_eq(fleet_decide(&cfg, "web-01", false, &g, NOW, &v), 0);
                ck_refused(v, "allowed_signers is not set");
        }
}
END_TEST

START_TEST(test_signatures)
{
        ap[0].verified = FLEET_SIG_UNKNOWN;
        {
                struct fleet_verdict v = decide("web-01");

                ck_assert_int_eq(v.kind, FLEET_VERIFY);
                ck_assert_uint_eq(v.verify, 0);
        }
        ap[0].verified = FLEET_SIG_BAD;
        ck_refused(decide("web-01"), "0 of 1 approval valid here: the signature of bob does not verify");
        /* A later good approval completes it, and the end counts from it. */
        g.n_approvals = 2;
        {
                struct fleet_verdict v = decide("web-01");

                ck_assert_int_eq(v.kind, FLEET_APPLY);
                ck_assert_str_eq(v.approvers, "carol");
                ck_assert_int_eq(v.ends_at, NOW - 50 + 3600);
        }
}
END_TEST

START_TEST(test_approvers_local)
{
        /* The requester, and someone the LOCAL role does not name, never count. */
        ap[0] = (struct fleet_approval) { .approver = "alice", .signature = "s", .approved_at = NOW, .who = &alice,
                                          .verified = FLEET_SIG_GOOD };
        ck_refused(decide("web-01"), "alice cannot approve their own grant");
        ap[0] = (struct fleet_approval) { .approver = "mallory", .signature = "s", .approved_at = NOW,
                                          .who = &mallory, .verified = FLEET_SIG_GOOD };
        ck_refused(decide("web-01"), "mallory is not an approver of role web-admin here");
        ap[0].who = NULL;
        ck_refused(decide("web-01"), "not an approver");
        /* Two needed here: one is not enough, two are. */
        setup();
        role.approvals = 2;
        ck_refused(decide("web-01"), "1 of 2 approvals valid here");
        g.n_approvals = 2;
        {
                struct fleet_verdict v = decide("web-01");

                ck_assert_int_eq(v.kind, FLEET_APPLY);
                ck_assert_str_eq(v.approvers, "bob,carol");
                ck_assert_uint_eq(v.approvals, 2);
        }
        /* The same approver twice is one approval. */
        ap[1] = ap[0];
        ck_refused(decide("web-01"), "1 of 2 approvals");
}
END_TEST

/* approval = ticket here: this host's own lookup decides, whatever the
 * database holds as approvals. */
static void ticket_role(void)
{
        role.approval = APPROVAL_TICKET;
        role.ticket = TICKET_REQUIRED;
        role.approvals = 0;
        cfg.ticket.provider = "redmine";
        g.ticket = "CHG42";
        g.n_approvals = 0;
}

START_TEST(test_ticket_lookup_here)
{
        struct fleet_verdict v;

        ticket_role();
        v = decide("web-01");
        ck_assert_int_eq(v.kind, FLEET_TICKET);
        ck_assert_str_eq(v.approvers, "");
        ck_assert_uint_eq(v.approvals, 0);
        /* Never longer than its duration from the request, however late
         * this host's lookup says yes: the fleet's one common time. */
        ck_assert_int_eq(v.ends_at, NOW - 200 + 3600);
        /* Signatures in the database change nothing: the ticket decides. */
        g.n_approvals = 1;
        ck_assert_int_eq(decide("web-01").kind, FLEET_TICKET);
        /* auto with ticket waits for the ticket, as it does locally. */
        role.approval = APPROVAL_TICKET | APPROVAL_AUTO;
        ck_assert_int_eq(decide("web-01").kind, FLEET_TICKET);
        /* No allowed_signers is no matter: nothing is verified. */
        ck_assert_int_eq(fleet_decide(&cfg, "web-01", false, &g, NOW, &v), 0);
        ck_assert_int_eq(v.kind, FLEET_TICKET);
        /* Out of scope: nothing to say. */
        ck_assert_int_eq(decide("db-01").kind, FLEET_NOT_HERE);
}
END_TEST

START_TEST(test_ticket_refusals)
{
        ticket_role();
        cfg.ticket.provider = "none";
        ck_refused(decide("web-01"), "this host has no [ticket] provider");
        cfg.ticket.provider = NULL;
        ck_refused(decide("web-01"), "this host has no [ticket] provider");
        cfg.ticket.provider = "jira";
        g.ticket = "";
        ck_refused(decide("web-01"), "ticket required");
        role.ticket = TICKET_OPTIONAL;
        ck_refused(decide("web-01"), "has no ticket");
        g.ticket = "CHG 1;rm";
        ck_refused(decide("web-01"), "invalid ticket");
        g.ticket = "CHG42";
        /* Its time is counted from the request. */
        g.requested_at = NOW - 3600;
        ck_refused(decide("web-01"), "its time was over");
        g.requested_at = NOW - 200;
        /* The policy checks of every fleet grant come first. */
        g.who = &mallory;
        g.user = "mallory";
        ck_refused(decide("web-01"), "not eligible for role web-admin here");
        g.who = &alice;
        g.user = "alice";
        g.duration = 5 * 3600;
        ck_refused(decide("web-01"), "more than role web-admin allows here");
        g.duration = 3600;
        g.break_glass = true;
        ck_refused(decide("web-01"), "break-glass");
        g.break_glass = false;
}
END_TEST

/* approval = ticket, peer here: the signatures, then this host's own
 * lookup of the ticket; neither alone stands for the grant. */
static void ticket_peer_role(void)
{
        role.approval = APPROVAL_TICKET | APPROVAL_PEER;
        role.ticket = TICKET_REQUIRED;
        cfg.ticket.provider = "redmine";
        g.ticket = "CHG42";
}

START_TEST(test_ticket_peer_waits_for_signatures)
{
        ticket_peer_role();
        /* Nobody signed yet: nothing to say, and no lookup. */
        g.n_approvals = 0;
        ck_assert_int_eq(decide("web-01").kind, FLEET_WAIT);
        /* Not yet verified: verified first. */
        g.n_approvals = 1;
        ap[0].verified = FLEET_SIG_UNKNOWN;
        {
                struct fleet_verdict v = decide("web-01");

                ck_assert_int_eq(v.kind, FLEET_VERIFY);
                ck_assert_uint_eq(v.verify, 0);
        }
        /* Two needed here, one signed: not enforced, saying so. */
        ap[0].verified = FLEET_SIG_GOOD;
        role.approvals = 2;
        ck_refused(decide("web-01"), "1 of 2 approvals valid here");
        /* Out of scope: nothing to say. */
        ck_assert_int_eq(decide("db-01").kind, FLEET_NOT_HERE);
}
END_TEST

START_TEST(test_ticket_peer_signed_then_lookup)
{
        struct fleet_verdict v;

        ticket_peer_role();
        /* Signed by an approver this host's role names: this host's own
         * lookup of the ticket has the last word. */
        v = decide("web-01");
        ck_assert_int_eq(v.kind, FLEET_TICKET);
        ck_assert_str_eq(v.approvers, "bob");
        ck_assert_uint_eq(v.approvals, 1);
        /* Its end counts from the approval that completed it (the fleet's
         * common time), not from the request nor from this host's lookup. */
        ck_assert_int_eq(v.ends_at, NOW - 100 + 3600);
        /* Two needed: the second approval completes it, and its end counts
         * from that one. */
        role.approvals = 2;
        g.n_approvals = 2;
        v = decide("web-01");
        ck_assert_int_eq(v.kind, FLEET_TICKET);
        ck_assert_str_eq(v.approvers, "bob,carol");
        ck_assert_uint_eq(v.approvals, 2);
        ck_assert_int_eq(v.ends_at, NOW - 50 + 3600);
        /* Completed too long ago: over before this host learned of it. */
        g.requested_at = NOW - 4000;
        ap[0].approved_at = NOW - 3700;
        ap[1].approved_at = NOW - 3600;
        ck_refused(decide("web-01"), "its time was over");
}
END_TEST

START_TEST(test_ticket_peer_refusals)
{
        struct fleet_verdict v;

        ticket_peer_role();
        /* A bad signature does not count. */
        ap[0].verified = FLEET_SIG_BAD;
        ck_refused(decide("web-01"), "0 of 1 approval valid here: the signature of bob does not verify");
        /* Nor the requester's own, however good. */
        ap[0] = (struct fleet_approval) { .approver = "alice", .signature = "s", .approved_at = NOW - 100,
                                          .who = &alice, .verified = FLEET_SIG_GOOD };
        ck_refused(decide("web-01"), "alice cannot approve their own grant");
        /* Nor someone the local role does not name. */
        ap[0] = (struct fleet_approval) { .approver = "mallory", .signature = "s", .approved_at = NOW - 100,
                                          .who = &mallory, .verified = FLEET_SIG_GOOD };
        ck_refused(decide("web-01"), "mallory is not an approver of role web-admin here");
        setup();
        ticket_peer_role();
        /* Nothing verifies here without allowed_signers. */
        ck_assert_int_eq(fleet_decide(&cfg, "web-01", false, &g, NOW, &v), 0);
        ck_refused(v, "allowed_signers is not set");
        /* No ticket system to ask here. */
        cfg.ticket.provider = NULL;
        ck_refused(decide("web-01"), "this host has no [ticket] provider");
        cfg.ticket.provider = "redmine";
        /* The ticket fits the local role first. */
        g.ticket = "";
        ck_refused(decide("web-01"), "ticket required");
        role.ticket = TICKET_OPTIONAL;
        ck_refused(decide("web-01"), "has no ticket");
        g.ticket = "CHG42";
        ck_assert_int_eq(decide("web-01").kind, FLEET_TICKET);
        /* And the policy checks of every fleet grant. */
        g.who = &mallory;
        g.user = "mallory";
        ck_refused(decide("web-01"), "not eligible for role web-admin here");
}
END_TEST

START_TEST(test_role_unknown_here_waits)
{
        /* Without the role, this host cannot tell a ticket grant from a
         * peer one nobody approved yet: it waits (a peer grant's approval
         * brings the refusal). */
        g.role = "db-admin";
        g.n_approvals = 0;
        ck_assert_int_eq(decide("web-01").kind, FLEET_WAIT);
        g.n_approvals = 1;
        ck_refused(decide("web-01"), "no role db-admin on this host");
}
END_TEST

START_TEST(test_auto_here)
{
        struct fleet_verdict v;

        /* approval = auto here: this host's own policy approves it at once,
         * with or without allowed_signers, and nobody's signature counts. */
        role.approval = APPROVAL_AUTO;
        role.approvals = 0;
        g.n_approvals = 0;
        v = decide("web-01");
        ck_assert_int_eq(v.kind, FLEET_APPLY);
        ck_assert_uint_eq(v.approvals, 0);
        ck_assert_str_eq(v.approvers, "");
        ck_assert_int_eq(v.ends_at, NOW - 200 + 3600);
        ck_assert_int_eq(fleet_decide(&cfg, "web-01", false, &g, NOW, &v), 0);
        ck_assert_int_eq(v.kind, FLEET_APPLY);
        g.n_approvals = 1;
        ck_assert_int_eq(decide("web-01").kind, FLEET_APPLY);
        /* Local policy still: member, duration, ticket, late. */
        g.who = &mallory;
        g.user = "mallory";
        ck_refused(decide("web-01"), "not eligible");
        g.who = &alice;
        g.user = "alice";
        g.duration = 5 * 3600;
        ck_refused(decide("web-01"), "more than role web-admin allows here");
        g.duration = 3600;
        g.requested_at = NOW - 3600;
        ck_refused(decide("web-01"), "its time was over");
        /* Peer here, auto where it was asked: it waits for approvals. */
        setup();
        g.n_approvals = 0;
        ck_assert_int_eq(decide("web-01").kind, FLEET_WAIT);
}
END_TEST

START_TEST(test_too_late_and_malformed)
{
        struct fleet_verdict v;

        g.duration = 60;
        ck_refused(decide("web-01"), "its time was over");
        ck_assert_int_eq(fleet_decide(&cfg, "web-01", true, NULL, NOW, &v), -EINVAL);
        g.id = 0;
        ck_assert_int_eq(fleet_decide(&cfg, "web-01", true, &g, NOW, &v), -EINVAL);
}
END_TEST

/* ---- extensions ---------------------------------------------------------- */

static struct fleet_approval xap[2];
static struct fleet_extension x;
static struct fleet_copy copy;

static void setup_ext(void)
{
        setup();
        xap[0] = (struct fleet_approval) { .approver = "bob", .signature = "sig", .approved_at = NOW - 10,
                                           .who = &bob, .verified = FLEET_SIG_GOOD };
        xap[1] = (struct fleet_approval) { .approver = "carol", .signature = "sig", .approved_at = NOW - 5,
                                           .who = &carol, .verified = FLEET_SIG_GOOD };
        x = (struct fleet_extension) { .n = 1, .duration = 1800, .requested_at = NOW - 20, .approvals = xap,
                                       .n_approvals = 1 };
        copy = (struct fleet_copy) { .active = true, .starts_at = NOW - 100, .expires_at = NOW - 100 + 3600 };
}

static struct fleet_ext_verdict decide_ext(void)
{
        struct fleet_ext_verdict v;

        ck_assert_int_eq(fleet_decide_extension(&cfg, true, &g, &x, &copy, &v), 0);
        return v;
}

#define ck_ext_refused(v, text) do { \
                struct fleet_ext_verdict v_ = (v); \
                ck_assert_int_eq(v_.kind, FLEET_EXT_REFUSE); \
                ck_assert_msg(strstr(v_.why, text), "why: %s", v_.why); \
        } while (0)

START_TEST(test_ext_signed)
{
        struct fleet_ext_verdict v = decide_ext();

        ck_assert_int_eq(v.kind, FLEET_EXT_APPLY);
        ck_assert_str_eq(v.approvers, "bob");
        ck_assert_uint_eq(v.approvals, 1);
        /* Not signed yet: it waits, it is not refused. */
        x.n_approvals = 0;
        ck_assert_int_eq(decide_ext().kind, FLEET_EXT_WAIT);
        /* Signed by the grant's own user, or by someone the local role does
         * not name: waits, saying why. */
        xap[0] = (struct fleet_approval) { .approver = "alice", .signature = "sig", .approved_at = NOW,
                                           .who = &alice, .verified = FLEET_SIG_GOOD };
        x.n_approvals = 1;
        v = decide_ext();
        ck_assert_int_eq(v.kind, FLEET_EXT_WAIT);
        ck_assert_msg(strstr(v.why, "alice cannot approve their own grant"), "%s", v.why);
        xap[0].approver = "mallory", xap[0].who = &mallory;
        v = decide_ext();
        ck_assert_int_eq(v.kind, FLEET_EXT_WAIT);
        ck_assert_msg(strstr(v.why, "not an approver of role web-admin here"), "%s", v.why);
        ck_assert_str_eq(v.approvers, "");
}
END_TEST

START_TEST(test_ext_verify_first)
{
        struct fleet_ext_verdict v;

        xap[0].verified = FLEET_SIG_UNKNOWN;
        v = decide_ext();
        ck_assert_int_eq(v.kind, FLEET_EXT_VERIFY);
        ck_assert_uint_eq(v.verify, 0);
        xap[0].verified = FLEET_SIG_BAD;
        v = decide_ext();
        ck_assert_int_eq(v.kind, FLEET_EXT_WAIT);
        ck_assert_msg(strstr(v.why, "signature of bob does not verify"), "%s", v.why);
        /* Two approvals needed: one is not enough. */
        role.approvals = 2;
        xap[0].verified = FLEET_SIG_GOOD;
        ck_assert_int_eq(decide_ext().kind, FLEET_EXT_WAIT);
        x.n_approvals = 2;
        v = decide_ext();
        ck_assert_int_eq(v.kind, FLEET_EXT_APPLY);
        ck_assert_str_eq(v.approvers, "bob,carol");
        /* One person, one approval. */
        xap[1].approver = "bob", xap[1].who = &bob;
        ck_assert_int_eq(decide_ext().kind, FLEET_EXT_WAIT);
        /* No allowed_signers here: refused. */
        xap[1].approver = "carol", xap[1].who = &carol;
        {
                struct fleet_ext_verdict w;

                ck_assert_int_eq(fleet_decide_extension(&cfg, false, &g, &x, &copy, &w), 0);
                ck_ext_refused(w, "allowed_signers is not set");
        }
}
END_TEST

START_TEST(test_ext_limits)
{
        /* Without max_extensions: never past max_duration (4h) from its
         * activation here. */
        x.duration = 3 * 3600;
        ck_assert_int_eq(decide_ext().kind, FLEET_EXT_APPLY);
        x.duration = 3 * 3600 + 1;
        ck_ext_refused(decide_ext(), "past role web-admin's maximum of 4h");
        /* With it: that many, of at most max_duration each. */
        role.max_extensions = 2;
        x.duration = 4 * 3600;
        copy.extended = 1;
        ck_assert_int_eq(decide_ext().kind, FLEET_EXT_APPLY);
        x.duration = 4 * 3600 + 1;
        ck_ext_refused(decide_ext(), "adds more than role web-admin allows here (4h)");
        x.duration = 60;
        copy.extended = 2;
        ck_ext_refused(decide_ext(), "extended 2 times here already");
}
END_TEST

START_TEST(test_ext_paths_and_copy)
{
        struct fleet_ext_verdict v;

        /* A copy not active (waiting for its ticket's lookup): not yet. */
        copy.active = false;
        ck_assert_int_eq(decide_ext().kind, FLEET_EXT_WAIT);
        copy.active = true;
        /* auto and ticket roles: the active copy is enough, no signature. */
        x.n_approvals = 0;
        role.approval = APPROVAL_AUTO;
        ck_assert_int_eq(decide_ext().kind, FLEET_EXT_APPLY);
        role.approval = APPROVAL_TICKET;
        v = decide_ext();
        ck_assert_int_eq(v.kind, FLEET_EXT_APPLY);
        ck_assert_uint_eq(v.approvals, 0);
        g.break_glass = true;
        ck_ext_refused(decide_ext(), "break-glass");
        g.break_glass = false;
        g.role = "db-admin";
        ck_ext_refused(decide_ext(), "no role db-admin on this host");
        x.duration = 0;
        ck_assert_int_eq(fleet_decide_extension(&cfg, true, &g, &x, &copy, &v), -EINVAL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("fleet_decide");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_apply);
        tcase_add_test(tc, test_scope);
        tcase_add_test(tc, test_local_role_hosts);
        tcase_add_test(tc, test_no_approval_waits);
        tcase_add_test(tc, test_role_user_duration_ticket);
        tcase_add_test(tc, test_approval_paths);
        tcase_add_test(tc, test_signatures);
        tcase_add_test(tc, test_approvers_local);
        tcase_add_test(tc, test_too_late_and_malformed);
        tcase_add_test(tc, test_ticket_lookup_here);
        tcase_add_test(tc, test_ticket_refusals);
        tcase_add_test(tc, test_role_unknown_here_waits);
        tcase_add_test(tc, test_auto_here);
        tcase_add_test(tc, test_ticket_peer_waits_for_signatures);
        tcase_add_test(tc, test_ticket_peer_signed_then_lookup);
        tcase_add_test(tc, test_ticket_peer_refusals);
        suite_add_tcase(s, tc);
        tc = tcase_create("extension");
        tcase_add_checked_fixture(tc, setup_ext, NULL);
        tcase_add_test(tc, test_ext_signed);
        tcase_add_test(tc, test_ext_verify_first);
        tcase_add_test(tc, test_ext_limits);
        tcase_add_test(tc, test_ext_paths_and_copy);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
