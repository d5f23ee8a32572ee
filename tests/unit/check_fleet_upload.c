/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd/fleet_upload.c: a local audit event as jit.audit_append's parameters,
 * what the database's answer means, and the retry delay. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_upload.h"

static const char H1[] = "1111111111111111111111111111111111111111111111111111111111111111";
static const char H0[] = "0000000000000000000000000000000000000000000000000000000000000000";

static struct audit_event event(void)
{
        struct audit_event e = { .seq = 12, .at = 1700000000, .actor_uid = 1000, .grant_id = 7,
                                 .details = "{\"reason\":\"pager\",\"duration\":600}" };

        strcpy(e.actor, "alice");
        strcpy(e.event, "break-glass");
        strcpy(e.prev_hash, H0);
        strcpy(e.hash, H1);
        return e;
}

START_TEST(test_params)
{
        struct audit_event e = event();
        struct fleet_upload_call c;

        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), 0);
        ck_assert_str_eq(c.params[0], "web-01");
        ck_assert_str_eq(c.params[1], "12");
        ck_assert_str_eq(c.params[2], "1700000000");
        ck_assert_str_eq(c.params[3], "1000");
        ck_assert_str_eq(c.params[4], "alice");
        ck_assert_str_eq(c.params[5], "7");             /* the host's own grant id, as hashed */
        ck_assert_ptr_null(c.params[6]);                /* no fleet grant: SQL NULL */
        ck_assert_str_eq(c.params[7], "break-glass");
        ck_assert_str_eq(c.params[8], e.details);      /* as hashed, byte for byte */
        ck_assert_str_eq(c.params[9], H0);
        ck_assert_str_eq(c.params[10], H1);

        /* A fleet grant's copy: both ids. */
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 42, &c), 0);
        ck_assert_str_eq(c.params[5], "7");
        ck_assert_str_eq(c.params[6], "42");

        /* Not about a grant: 0, as the hash has it. */
        e.grant_id = 0;
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), 0);
        ck_assert_str_eq(c.params[5], "0");
        ck_assert_ptr_null(c.params[6]);

        /* jitd's own events: uid 0, a negative time stays as it is. */
        e.actor_uid = 0;
        e.at = -5;
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), 0);
        ck_assert_str_eq(c.params[2], "-5");
        ck_assert_str_eq(c.params[3], "0");
}
END_TEST

/* What jit.audit's checks would refuse is refused here: such an event could
 * never be stored (it stops the upload, it is not skipped). */
START_TEST(test_params_refused)
{
        struct audit_event e;
        struct fleet_upload_call c;
        char *big;

        e = event();
        strcpy(e.event, "Break-glass");
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        e = event();
        strcpy(e.event, "a b");
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        e = event();
        e.event[0] = '\0';
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        e = event();
        e.hash[3] = 'G';
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        e = event();
        e.prev_hash[63] = '\0';
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        e = event();
        e.seq = 0;
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        e = event();
        e.details = NULL;
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        e = event();
        ck_assert_int_eq(fleet_upload_params(NULL, &e, 0, &c), -EINVAL);
        ck_assert_int_eq(fleet_upload_params("web-01", &e, -1, &c), -EINVAL);

        /* Details: 65536 bytes go, one more does not. */
        big = malloc(65538);
        ck_assert_ptr_nonnull(big);
        memset(big, 'x', 65537);
        big[65537] = '\0';
        e = event();
        e.details = big;
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), -EINVAL);
        big[65536] = '\0';
        ck_assert_int_eq(fleet_upload_params("web-01", &e, 0, &c), 0);
        free(big);
}
END_TEST

#define judge(r, answer, state, msg) fleet_upload_judge(r, answer, state, msg, 10, 9, &from)

START_TEST(test_judge)
{
        int64_t from = -1;

        /* true: stored now; false: stored by an earlier try. Both move on. */
        ck_assert_int_eq(judge(0, "t", NULL, NULL), FLEET_UPLOAD_STORED);
        ck_assert_int_eq(judge(0, "f", NULL, NULL), FLEET_UPLOAD_STORED);
        /* Not the function we know: never taken as stored. */
        ck_assert_int_eq(judge(0, NULL, NULL, NULL), FLEET_UPLOAD_STOP);
        ck_assert_int_eq(judge(0, "true", NULL, NULL), FLEET_UPLOAD_STOP);

        /* The connection went: when it is back. */
        ck_assert_int_eq(judge(-ECONNRESET, NULL, NULL, NULL), FLEET_UPLOAD_WAIT);
        ck_assert_int_eq(judge(-ENOTCONN, NULL, NULL, NULL), FLEET_UPLOAD_WAIT);

        /* Not now: serialization, deadlock, a cancel or timeout, a shutdown,
         * resources, a lock, the server's own trouble, or no SQLSTATE. */
        ck_assert_int_eq(judge(-EIO, NULL, "40001", "could not serialize"), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, "40P01", "deadlock detected"), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, "57014", "canceling statement due to statement timeout"),
                         FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, "57P01", "terminating connection"), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, "53100", "could not extend file"), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, "55P03", "lock not available"), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, "08006", "connection failure"), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, "XX000", "internal"), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-EIO, NULL, NULL, NULL), FLEET_UPLOAD_RETRY);
        ck_assert_int_eq(judge(-ENOMEM, NULL, NULL, NULL), FLEET_UPLOAD_RETRY);

        /* Not this: another event at its place, a chain that does not link,
         * a missing field, no such function (schema v1), not this host. */
        ck_assert_int_eq(judge(-EIO, NULL, "23505", "audit event web-01/10 is stored already, with another hash"),
                         FLEET_UPLOAD_STOP);
        ck_assert_int_eq(judge(-EIO, NULL, "22023", "audit event web-01/10 does not link to the event stored before it"),
                         FLEET_UPLOAD_STOP);
        ck_assert_int_eq(judge(-EIO, NULL, "42883", "function jit.audit_append(...) does not exist"),
                         FLEET_UPLOAD_STOP);
        ck_assert_int_eq(judge(-EIO, NULL, "42501", "host web-01 is not this session's"), FLEET_UPLOAD_STOP);
        ck_assert_int_eq(judge(-EIO, NULL, "P0001", "anything"), FLEET_UPLOAD_STOP);
        ck_assert_int_eq(from, -1);
}
END_TEST

/* "Out of order" with a next place at or before what the database had
 * confirmed: it lost events (a restore); they go again from there. Any other
 * "out of order" stops: nothing is skipped. */
START_TEST(test_judge_rewind)
{
        int64_t from = -1;

        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "22023", "audit event web-01/10 out of order: the next is 5",
                                            10, 9, &from), FLEET_UPLOAD_REWIND);
        ck_assert_int_eq(from, 4);
        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "22023", "audit event web-01/10 out of order: the next is 1",
                                            10, 9, &from), FLEET_UPLOAD_REWIND);
        ck_assert_int_eq(from, 0);
        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "22023", "audit event web-01/10 out of order: the next is 9",
                                            10, 9, &from), FLEET_UPLOAD_REWIND);
        ck_assert_int_eq(from, 8);
        from = -1;
        /* Past what was confirmed: a gap on our side would be skipped. */
        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "22023", "audit event web-01/10 out of order: the next is 11",
                                            10, 9, &from), FLEET_UPLOAD_STOP);
        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "22023", "audit event web-01/10 out of order: the next is 0",
                                            10, 9, &from), FLEET_UPLOAD_STOP);
        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "22023", "audit event web-01/10 out of order: the next is x",
                                            10, 9, &from), FLEET_UPLOAD_STOP);
        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "22023", "out of order: the next is 99999999999999999999999",
                                            10, 9, &from), FLEET_UPLOAD_STOP);
        /* The same words under another SQLSTATE are not the function's. */
        ck_assert_int_eq(fleet_upload_judge(-EIO, NULL, "23505", "out of order: the next is 5", 10, 9, &from),
                         FLEET_UPLOAD_STOP);
        ck_assert_int_eq(from, -1);
}
END_TEST

START_TEST(test_backoff)
{
        unsigned ms = 0, steps = 0;

        ck_assert_uint_eq(fleet_upload_backoff(0), 500);
        ck_assert_uint_eq(fleet_upload_backoff(500), 1000);
        ck_assert_uint_eq(fleet_upload_backoff(1000), 2000);
        ck_assert_uint_eq(fleet_upload_backoff(30000), 60000);
        ck_assert_uint_eq(fleet_upload_backoff(32000), 60000);
        ck_assert_uint_eq(fleet_upload_backoff(60000), 60000);
        /* Never spinning, never past a minute, there in a few steps. */
        do {
                ms = fleet_upload_backoff(ms);
                ck_assert_uint_ge(ms, 500);
                ck_assert_uint_le(ms, 60000);
        } while (ms < 60000 && ++steps < 100);
        ck_assert_uint_lt(steps, 10);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("fleet_upload");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_params);
        tcase_add_test(tc, test_params_refused);
        tcase_add_test(tc, test_judge);
        tcase_add_test(tc, test_judge_rewind);
        tcase_add_test(tc, test_backoff);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
