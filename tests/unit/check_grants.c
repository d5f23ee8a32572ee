/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for jitd/grants.c, effects.c and ending.c on a real store: the
 * order of the core invariant (doc/CORE.md). A rule goes out only after its
 * commit and never when the commit fails; an end takes the rule away first
 * and records later when it must; the clock ends due grants whatever the
 * disk; an extension is one transaction.
 */
#include "jitd_fixture.h"

#include "grants.h"

#define ROLES "[role:ops]\nmembers = root\nservices = sudo\napproval = peer\napprovers = root\nticket = none\n\n" \
              "[role:auto]\nmembers = root\nservices = sudo\napproval = auto\nticket = none\n\n" \
              "[role:ext]\nmembers = root\nservices = sudo\napproval = auto\nticket = none\nmax_duration = 4h\n\n" \
              "[role:both]\nmembers = root\nservices = sudo\napproval = ticket, peer\napprovers = bob, carol\n" \
              "approvals = 2\nticket = optional\n"

static const struct actor root_actor = { .uid = 0, .name = "root" };

static struct jit_grant new_grant(const char *role, uint64_t duration, uint32_t needed)
{
        struct jit_grant g = { .uid = 0, .duration = duration, .approvals_needed = needed };

        strcpy(g.user, "root");
        strcpy(g.host, "testhost");
        strcpy(g.role, role);
        strcpy(g.approval, needed ? "peer" : "auto");
        return g;
}

START_TEST(test_rule_after_commit)
{
        struct fixture f;
        struct jit_grant g = new_grant("auto", 3600, 0);
        char why[256];

        fixture_start(&f, ROLES, "/bin/true");
        ck_assert_int_eq(grants_create(&f.d, &g, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(g.state, GRANT_ACTIVE);
        ck_assert(fixture_dropin(&f, g.id));
        ck_assert_int_eq(fixture_dropin_files(&f), 1);
        ck_assert_int_eq(fixture_count(&f, "activated", g.id), 1);
        fixture_stop(&f);
}
END_TEST

/* The disk is full: the auto-approved request cannot be recorded, so no rule
 * may exist, not even a temporary file, and the caller hears so. */
START_TEST(test_no_rule_without_a_grant)
{
        struct fixture f;
        struct jit_grant g = new_grant("auto", 3600, 0), p = new_grant("ops", 3600, 1);
        char why[256];
        int r;

        fixture_start(&f, ROLES, "/bin/true");
        ck_assert_int_eq(grants_create(&f.d, &p, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        fixture_fill_disk(&f);
        r = grants_create(&f.d, &g, FSM_REQUEST, &root_actor, why, sizeof(why));
        ck_assert_int_eq(r, -ENOSPC);
        ck_assert_int_eq(g.id, 0);
        /* An approval that would activate, likewise. */
        r = grants_approve(&f.d, &p, &(struct actor) { .uid = 1, .name = "bob" }, "ok", why, sizeof(why));
        ck_assert_int_eq(r, -ENOSPC);
        ck_assert_int_eq(fixture_dropin_files(&f), 0);
        ck_assert_int_eq(store_grant_get(f.d.store, p.id, &p), 0);
        ck_assert_int_eq(p.state, GRANT_PENDING);
        fixture_stop(&f);
}
END_TEST

/* visudo says no: the approval stands, the grant stays pending, the failure
 * is in the trail, nothing is left in the directory. */
START_TEST(test_activation_failed)
{
        struct fixture f;
        struct jit_grant g = new_grant("ops", 3600, 1);
        char why[256] = "";

        fixture_start(&f, ROLES, "/bin/false");
        ck_assert_int_eq(grants_create(&f.d, &g, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(grants_approve(&f.d, &g, &(struct actor) { .uid = 1, .name = "bob" }, "ok", why,
                                        sizeof(why)), -EAGAIN);
        ck_assert_ptr_nonnull(strstr(why, "visudo rejected"));
        ck_assert_int_eq(g.state, GRANT_PENDING);
        ck_assert_int_eq(fixture_count(&f, "approved", g.id), 1);
        ck_assert_int_eq(fixture_count(&f, "activation-failed", g.id), 1);
        ck_assert_int_eq(fixture_dropin_files(&f), 0);
        fixture_stop(&f);
}
END_TEST

/* A revocation on a full disk: the rule goes at once, the grant counts as
 * ended everywhere, and the record follows when there is room again. */
START_TEST(test_end_first_record_later)
{
        struct fixture f;
        struct jit_grant g = new_grant("auto", 3600, 0), seen;
        struct fsm_event ev = { .type = FSM_REVOKE, .text = "incident over" };
        char why[256];

        fixture_start(&f, ROLES, "/bin/true");
        ck_assert_int_eq(grants_create(&f.d, &g, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        ck_assert(fixture_dropin(&f, g.id));
        fixture_fill_disk(&f);
        ck_assert_int_eq(grants_step(&f.d, &g, &ev, &root_actor, why, sizeof(why)), 1);
        ck_assert(!fixture_dropin(&f, g.id));
        ck_assert_int_eq(g.state, GRANT_REVOKED);
        ck_assert(ending_contains(f.d.ending, g.id));
        ck_assert_int_eq(grants_get(&f.d, g.id, &seen), 0);
        ck_assert_int_eq(seen.state, GRANT_REVOKED);
        ck_assert_int_eq(store_grant_get(f.d.store, g.id, &seen), 0);
        ck_assert_int_eq(seen.state, GRANT_ACTIVE);
        /* A second end of the same grant is refused: it ended. */
        ck_assert_int_eq(grants_step(&f.d, &g, &ev, &root_actor, why, sizeof(why)), -EALREADY);

        ck_assert_int_eq(store_limit_pages(f.d.store, 0), 0);
        ending_flush(f.d.ending);
        ck_assert(!ending_contains(f.d.ending, g.id));
        ck_assert_int_eq(store_grant_get(f.d.store, g.id, &seen), 0);
        ck_assert_int_eq(seen.state, GRANT_REVOKED);
        ck_assert_int_eq(fixture_count(&f, "revoked", g.id), 1);
        fixture_run(&f, 50);
        ck_assert_int_eq(fixture_count(&f, "torn-down", g.id), 1);
        fixture_stop(&f);
}
END_TEST

/* The clock ends due grants on a full disk: rules gone, records waiting,
 * and the timer does not fire again and again for them. */
START_TEST(test_expiry_on_full_disk)
{
        struct fixture f;
        struct jit_grant a = new_grant("auto", 1, 0), b = new_grant("auto", 1, 0);
        int64_t ids[2];
        char why[256];

        fixture_start(&f, ROLES, "/bin/true");
        ck_assert_int_eq(grants_create(&f.d, &a, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(grants_create(&f.d, &b, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        ids[0] = a.id;
        ids[1] = b.id;
        sleep(2);
        fixture_fill_disk(&f);
        ck_assert_uint_eq(grants_expire(&f.d, ids, 2), 2);
        ck_assert(!fixture_dropin(&f, a.id));
        ck_assert(!fixture_dropin(&f, b.id));
        ck_assert_uint_eq(ending_count(f.d.ending), 2);
        /* Both are left out of the next deadline. */
        {
                int64_t when = 0;

                ck_assert_int_eq(store_next_deadline_skipping(f.d.store, ending_skip, f.d.ending, &when), -ENOENT);
        }
        ck_assert_int_eq(store_limit_pages(f.d.store, 0), 0);
        ending_flush(f.d.ending);
        ck_assert_uint_eq(ending_count(f.d.ending), 0);
        ck_assert_int_eq(fixture_count(&f, "expired", 0), 2);
        fixture_stop(&f);
}
END_TEST

/* An extension that needs no approval: the grant, its event and the
 * extension row in one transaction; NOTAFTER follows after the commit. */
START_TEST(test_extension_one_transaction)
{
        struct fixture f;
        struct jit_grant g = new_grant("ext", 600, 0);
        struct jit_extension x;
        char why[256];
        int64_t was;

        fixture_start(&f, ROLES, "/bin/true");
        ck_assert_int_eq(grants_create(&f.d, &g, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        was = g.expires_at;
        ck_assert_int_eq(grants_extend(&f.d, &g, 300, "more", &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(g.expires_at, was + 300);
        ck_assert_int_eq(fixture_count(&f, "extended", g.id), 1);
        ck_assert_int_eq(store_extension_get(f.d.store, g.id, &x), -ENOENT);
        /* On a full disk it is refused whole: the rule keeps its old end. */
        fixture_fill_disk(&f);
        ck_assert_int_lt(grants_extend(&f.d, &g, 300, "more", &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(fixture_dropin_files(&f), 1);
        ck_assert_int_eq(store_grant_get(f.d.store, g.id, &g), 0);
        ck_assert_int_eq(g.expires_at, was + 300);
        fixture_stop(&f);
}
END_TEST

/* Extension requests and approvals are audit events in the table, and the
 * approval that completes them applies the extension in the same
 * transaction. */
START_TEST(test_extension_approvals)
{
        struct fixture f;
        struct jit_grant g = new_grant("ops", 600, 1);
        struct jit_extension x;
        bool applied = false;
        char why[256];
        int64_t was;

        fixture_start(&f, ROLES, "/bin/true");
        ck_assert_int_eq(grants_create(&f.d, &g, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(grants_approve(&f.d, &g, &(struct actor) { .uid = 1, .name = "bob" }, NULL, why,
                                        sizeof(why)), 0);
        ck_assert_int_eq(g.state, GRANT_ACTIVE);
        was = g.expires_at;
        ck_assert_int_eq(grants_extension_request(&f.d, &g, 120, "more", &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(fixture_count(&f, "extension-requested", g.id), 1);
        ck_assert_int_eq(store_extension_get(f.d.store, g.id, &x), 0);
        ck_assert_int_eq(grants_extension_approve(&f.d, &g, &(struct actor) { .uid = 1, .name = "bob" }, "ok", false,
                                                  &applied, why, sizeof(why)), 0);
        ck_assert(applied);
        ck_assert_int_eq(g.expires_at, was + 120);
        ck_assert_int_eq(fixture_count(&f, "extension-approved", g.id), 1);
        ck_assert_int_eq(fixture_count(&f, "extended", g.id), 1);
        ck_assert_int_eq(store_extension_get(f.d.store, g.id, &x), -ENOENT);
        fixture_stop(&f);
}
END_TEST

/* A scheduled grant (a future window) has its rule from the start. */
START_TEST(test_scheduled_has_its_rule)
{
        struct fixture f;
        struct jit_grant g = new_grant("ops", 600, 0);
        char why[256];

        fixture_start(&f, ROLES, "/bin/true");
        ck_assert_int_eq(grants_create(&f.d, &g, FSM_REQUEST, &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(g.state, GRANT_PENDING);
        ck_assert_int_eq(grants_ticket_approved(&f.d, &g, now_realtime() + 3600, 0, why, sizeof(why)), 0);
        ck_assert_int_eq(g.state, GRANT_SCHEDULED);
        ck_assert(fixture_dropin(&f, g.id));
        fixture_stop(&f);
}
END_TEST

/* A fleet grant's copy of a role approved by ticket and peer: made pending,
 * approved by the fleet's signers (the mirror verified and counted them);
 * this host's ticket verdict activates it with those approvals, until the
 * fleet's end. Without them it keeps waiting. */
START_TEST(test_fleet_ticket_and_peer_copy)
{
        struct fixture f;
        struct jit_grant g = new_grant("both", 3600, 2), bare = new_grant("both", 3600, 2);
        int64_t ends_at = now_realtime() + 600;
        char why[256];

        fixture_start(&f, ROLES, "/bin/true");
        strcpy(g.ticket, "CHG1");
        ck_assert_int_eq(grants_mirror(&f.d, &g, 42, "bob,carol", 2, ends_at, &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(g.state, GRANT_PENDING);
        ck_assert_str_eq(g.approvers, "bob,carol");
        ck_assert_int_eq(fixture_count(&f, "approved", g.id), 1);
        ck_assert(!fixture_dropin(&f, g.id));
        /* Counted from its approvers, not the store's local approval rows
         * (there are none). */
        ck_assert_int_eq(grants_ticket_approved(&f.d, &g, 0, 0, why, sizeof(why)), 0);
        ck_assert_int_eq(g.state, GRANT_ACTIVE);
        ck_assert_int_eq(g.expires_at, ends_at);
        ck_assert(fixture_dropin(&f, g.id));
        /* A copy nobody approved (never made so by the mirror): the ticket
         * alone does not activate it. */
        strcpy(bare.ticket, "CHG2");
        ck_assert_int_eq(grants_mirror(&f.d, &bare, 43, "", 0, ends_at, &root_actor, why, sizeof(why)), 0);
        ck_assert_int_eq(grants_ticket_approved(&f.d, &bare, 0, 0, why, sizeof(why)), -EAGAIN);
        ck_assert_msg(strstr(why, "waiting for 2 more approvals"), "why: %s", why);
        ck_assert_int_eq(bare.state, GRANT_PENDING);
        fixture_stop(&f);
}
END_TEST

static Suite *grants_suite(void)
{
        Suite *s = suite_create("grants");
        TCase *tc = tcase_create("invariant");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_rule_after_commit);
        tcase_add_test(tc, test_no_rule_without_a_grant);
        tcase_add_test(tc, test_activation_failed);
        tcase_add_test(tc, test_end_first_record_later);
        tcase_add_test(tc, test_expiry_on_full_disk);
        tcase_add_test(tc, test_extension_one_transaction);
        tcase_add_test(tc, test_extension_approvals);
        tcase_add_test(tc, test_scheduled_has_its_rule);
        tcase_add_test(tc, test_fleet_ticket_and_peer_copy);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(grants_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
