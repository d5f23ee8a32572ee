/* SPDX-License-Identifier: BSD-3-Clause */
/* jitd/tokens.c: the account decision's token is used once, by the process
 * it was given to, for that user and service; tokens are distinct across
 * refills of the random pool; the ring drops the oldest. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

START_TEST(test_once_and_only_by_its_owner)
{
        struct tokens *t;
        char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];
        int64_t grant = 0;

        ck_assert_int_eq(tokens_new(&t), 0);
        ck_assert_int_eq(tokens_issue(t, 100, 7, "alice", "sudo", 42, a, sizeof(a)), 0);
        ck_assert_int_eq((int) strlen(a), TOKEN_HEX_LEN);
        ck_assert_int_eq(tokens_take(t, a, 100, 7, "alice", "sudo", &grant), 0);
        ck_assert_int_eq(grant, 42);
        ck_assert_int_eq(tokens_take(t, a, 100, 7, "alice", "sudo", &grant), -ENOENT);

        /* Another process behind the same pid (a recycled pid): refused and spent. */
        ck_assert_int_eq(tokens_issue(t, 100, 7, "alice", "sudo", 42, b, sizeof(b)), 0);
        ck_assert_int_eq(tokens_take(t, b, 100, 8, "alice", "sudo", NULL), -EPERM);
        ck_assert_int_eq(tokens_take(t, b, 100, 7, "alice", "sudo", NULL), -ENOENT);

        /* Another user or service. */
        ck_assert_int_eq(tokens_issue(t, 100, 7, "alice", "sudo", 42, b, sizeof(b)), 0);
        ck_assert_int_eq(tokens_take(t, b, 100, 7, "bob", "sudo", NULL), -EPERM);
        ck_assert_int_eq(tokens_issue(t, 100, 7, "alice", "sudo", 42, b, sizeof(b)), 0);
        ck_assert_int_eq(tokens_take(t, b, 100, 7, "alice", "sshd", NULL), -EPERM);
        /* sudo and sudo -i are one gate. */
        ck_assert_int_eq(tokens_issue(t, 100, 7, "alice", "sudo", 42, b, sizeof(b)), 0);
        ck_assert_int_eq(tokens_take(t, b, 100, 7, "alice", "sudo-i", NULL), 0);
        tokens_free(t);
}
END_TEST

static int cmp(const void *a, const void *b)
{
        return strcmp(a, b);
}

START_TEST(test_distinct_across_refills)
{
        /* 4096-byte pool, 16 bytes a token: 1000 tokens cross three refills. */
        enum { N = 1000 };
        static char all[N][TOKEN_HEX_LEN + 1];
        struct tokens *t;

        ck_assert_int_eq(tokens_new(&t), 0);
        for (int i = 0; i < N; i++)
                ck_assert_int_eq(tokens_issue(t, 1, 1, "u", "sudo", i, all[i], sizeof(all[i])), 0);
        qsort(all, N, sizeof(all[0]), cmp);
        for (int i = 1; i < N; i++)
                ck_assert_str_ne(all[i - 1], all[i]);
        tokens_free(t);
}
END_TEST

START_TEST(test_ring_drops_the_oldest)
{
        struct tokens *t;
        char first[TOKEN_HEX_LEN + 1], x[TOKEN_HEX_LEN + 1], last[TOKEN_HEX_LEN + 1];

        ck_assert_int_eq(tokens_new(&t), 0);
        ck_assert_int_eq(tokens_issue(t, 1, 1, "u", "sudo", 1, first, sizeof(first)), 0);
        for (int i = 0; i < TOKENS_MAX - 1; i++)
                ck_assert_int_eq(tokens_issue(t, 1, 1, "u", "sudo", 2, x, sizeof(x)), 0);
        ck_assert_int_eq(tokens_issue(t, 1, 1, "u", "sudo", 3, last, sizeof(last)), 0);
        ck_assert_int_eq(tokens_take(t, first, 1, 1, "u", "sudo", NULL), -ENOENT);
        ck_assert_int_eq(tokens_take(t, last, 1, 1, "u", "sudo", NULL), 0);
        ck_assert_int_eq(tokens_issue(t, 1, 1, "u", "sudo", 1, x, 8), -EINVAL);
        tokens_free(t);
}
END_TEST

int main(void)
{
        Suite *su = suite_create("tokens");
        TCase *tc = tcase_create("tokens");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_once_and_only_by_its_owner);
        tcase_add_test(tc, test_distinct_across_refills);
        tcase_add_test(tc, test_ring_drops_the_oldest);
        suite_add_tcase(su, tc);
        sr = srunner_create(su);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
