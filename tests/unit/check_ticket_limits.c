/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd/ticket_limits.c: what bounds a user's use of the ticket system through
 * jitd. The clock is passed in, so time is whatever the test says.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ticket_limits.h"
#include "util.h"

static struct ticket_limits *limits(uint64_t poll_s)
{
        struct ticket_limits *l = NULL;

        ck_assert_int_eq(ticket_limits_new(poll_s, &l), 0);
        ck_assert_ptr_nonnull(l);
        return l;
}

static struct ticket_result result(enum ticket_verdict v, bool requester_ok)
{
        struct ticket_result r = { .verdict = v, .requester_ok = requester_ok };

        snprintf(r.why, sizeof(r.why), "verdict %d", v);
        return r;
}

START_TEST(test_cache_time)
{
        struct ticket_limits *l;

        l = limits(2);
        ck_assert_int_eq(ticket_limits_cache_ms(l), 1000);     /* half the poll */
        ticket_limits_free(l);
        l = limits(60);
        ck_assert_int_eq(ticket_limits_cache_ms(l), TICKET_CACHE_MAX_MS);
        ticket_limits_free(l);
        l = limits(UINT64_MAX);
        ck_assert_int_eq(ticket_limits_cache_ms(l), TICKET_CACHE_MAX_MS);
        ticket_limits_free(l);
        ticket_limits_free(NULL);
}
END_TEST

START_TEST(test_cache)
{
        struct ticket_limits *l = limits(2);
        struct ticket_result r = result(TICKET_PENDING, true), got;

        ck_assert(!ticket_limits_cached(l, "OPS-1", "alice", 0, &got));
        ticket_limits_record(l, "OPS-1", "alice", 10000, &r);
        ck_assert(ticket_limits_cached(l, "OPS-1", "alice", 10999, &got));
        ck_assert_int_eq(got.verdict, TICKET_PENDING);
        ck_assert_str_eq(got.why, "verdict 2");
        ck_assert(!ticket_limits_cached(l, "OPS-1", "alice", 11000, &got));      /* stale */
        ck_assert(!ticket_limits_cached(l, "OPS-1", "bob", 10001, &got));        /* per user */
        ck_assert(!ticket_limits_cached(l, "OPS-2", "alice", 10001, &got));      /* per ticket */
        ck_assert(!ticket_limits_cached(l, "OPS-1", "alice", 9000, &got));       /* clock went back */

        /* An error is not an answer: not reused, and the last real answer
         * keeps its time. */
        r = result(TICKET_ERROR, false);
        ticket_limits_record(l, "OPS-1", "alice", 10500, &r);
        ck_assert(ticket_limits_cached(l, "OPS-1", "alice", 10600, &got));
        ck_assert_int_eq(got.verdict, TICKET_PENDING);
        ticket_limits_free(l);
}
END_TEST

START_TEST(test_requester_binding)
{
        struct ticket_limits *l = limits(60);
        struct ticket_result r;

        ck_assert(!ticket_limits_requester_ok(l, "OPS-1", "alice"));      /* never seen */
        r = result(TICKET_APPROVED, true);
        ticket_limits_record(l, "OPS-1", "alice", 1, &r);
        ck_assert(ticket_limits_requester_ok(l, "OPS-1", "alice"));
        ck_assert(!ticket_limits_requester_ok(l, "OPS-1", "eve"));
        /* Much later, still: a long grant's note at its end. */
        ck_assert(ticket_limits_requester_ok(l, "OPS-1", "alice"));

        /* A transient error changes nothing... */
        r = result(TICKET_ERROR, false);
        ticket_limits_record(l, "OPS-1", "alice", 2, &r);
        ck_assert(ticket_limits_requester_ok(l, "OPS-1", "alice"));
        /* ...an answer that no longer names her does. */
        r = result(TICKET_REFUSED, false);
        ticket_limits_record(l, "OPS-1", "alice", 3, &r);
        ck_assert(!ticket_limits_requester_ok(l, "OPS-1", "alice"));
        r = result(TICKET_CLOSED, true);
        ticket_limits_record(l, "OPS-1", "alice", 4, &r);
        ck_assert(ticket_limits_requester_ok(l, "OPS-1", "alice"));
        ticket_limits_free(l);
}
END_TEST

START_TEST(test_table_bounded)
{
        struct ticket_limits *l = limits(60);
        struct ticket_result r = result(TICKET_APPROVED, true), got;
        char t[32];

        ticket_limits_record(l, "KEEP-1", "alice", 0, &r);
        for (int i = 0; i < TICKET_SEEN_MAX; i++) {
                snprintf(t, sizeof(t), "T-%d", i);
                ticket_limits_record(l, t, "eve", 1 + i, &r);
                /* One that is used keeps its place. */
                if (i % 100 == 0)
                        ck_assert(ticket_limits_cached(l, "KEEP-1", "alice", 1 + i, &got));
        }
        ck_assert(ticket_limits_requester_ok(l, "KEEP-1", "alice"));
        ck_assert(!ticket_limits_requester_ok(l, "T-0", "eve"));        /* the oldest went */
        ck_assert(ticket_limits_requester_ok(l, "T-1023", "eve"));
        ticket_limits_free(l);
}
END_TEST

START_TEST(test_budget)
{
        struct ticket_limits *l = limits(60);
        int64_t wait = 0, now = 1000000;

        for (int i = 0; i < TICKET_BUDGET_BURST; i++)
                ck_assert_int_eq(ticket_limits_charge(l, "eve", now, &wait), 0);
        ck_assert_int_eq(ticket_limits_charge(l, "eve", now, &wait), -EAGAIN);
        ck_assert_int_eq(wait, TICKET_BUDGET_REFILL_MS);
        ck_assert_int_eq(ticket_limits_charge(l, "alice", now, &wait), 0);     /* per user */
        ck_assert_int_eq(ticket_limits_charge(l, "eve", now + 1000, &wait), -EAGAIN);
        ck_assert_int_eq(wait, TICKET_BUDGET_REFILL_MS - 1000);
        now += TICKET_BUDGET_REFILL_MS;
        ck_assert_int_eq(ticket_limits_charge(l, "eve", now, &wait), 0);
        ck_assert_int_eq(ticket_limits_charge(l, "eve", now, &wait), -EAGAIN);
        /* A long pause fills it up again, but only to the burst. */
        now += 3600 * 1000;
        for (int i = 0; i < TICKET_BUDGET_BURST; i++)
                ck_assert_int_eq(ticket_limits_charge(l, "eve", now, &wait), 0);
        ck_assert_int_eq(ticket_limits_charge(l, "eve", now, &wait), -EAGAIN);
        ticket_limits_free(l);
}
END_TEST

/* Many users at once: an unknown user starts with a full budget, whichever
 * entry it takes over. */
START_TEST(test_budget_many_users)
{
        struct ticket_limits *l = limits(60);
        char u[32];

        for (int i = 0; i < 3 * TICKET_BUDGETS_MAX; i++) {
                snprintf(u, sizeof(u), "user%d", i);
                ck_assert_int_eq(ticket_limits_charge(l, u, i, NULL), 0);
        }
        for (int i = 0; i < TICKET_BUDGET_BURST; i++)
                ck_assert_int_eq(ticket_limits_charge(l, "eve", 5000, NULL), 0);
        ck_assert_int_eq(ticket_limits_charge(l, "eve", 5000, NULL), -EAGAIN);
        ticket_limits_free(l);
}
END_TEST

START_TEST(test_notes)
{
        struct ticket_limits *l = limits(60);
        int64_t now = 0;

        for (int i = 0; i < TICKET_NOTES_PER_HOUR; i++)
                ck_assert_int_eq(ticket_limits_note(l, "OPS-1", now + i), 0);
        ck_assert_int_eq(ticket_limits_note(l, "OPS-1", now + 60000), -EDQUOT);
        ck_assert_int_eq(ticket_limits_note(l, "OPS-2", now + 60000), 0);       /* per ticket */
        ck_assert_int_eq(ticket_limits_note(l, "OPS-1", now + 3599999), -EDQUOT);
        ck_assert_int_eq(ticket_limits_note(l, "OPS-1", now + 3600000), 0);     /* a new hour */
        ticket_limits_free(l);
}
END_TEST

static Suite *limits_suite(void)
{
        Suite *s = suite_create("ticket_limits");
        TCase *tc = tcase_create("limits");

        tcase_add_test(tc, test_cache_time);
        tcase_add_test(tc, test_cache);
        tcase_add_test(tc, test_requester_binding);
        tcase_add_test(tc, test_table_bounded);
        tcase_add_test(tc, test_budget);
        tcase_add_test(tc, test_budget_many_users);
        tcase_add_test(tc, test_notes);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(limits_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
