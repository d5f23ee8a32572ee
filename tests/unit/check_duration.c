/* SPDX-License-Identifier: BSD-3-Clause */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "util.h"

static const struct {
        const char *s;
        uint64_t sec;
} good[] = {
        { "1s", 1 },
        { "90s", 90 },
        { "15m", 900 },
        { "1h", 3600 },
        { "1h30m", 5400 },
        { "2d", 172800 },
        { "1d2h3m4s", 93784 },
        { "0h1s", 1 },
        { "01m", 60 },
        { "90m", 5400 },
        { "366d", DURATION_MAX_SEC },
        { "365d23h59m60s", DURATION_MAX_SEC },
};

static const char *const bad_syntax[] = {
        "", "0", "0s", "0d0h0m0s", "-5m", "+5m", "5", "1x", "1H", "1.5h", "1h1h", "30m1h", "1s1d",
        "1 h", " 1h", "1h ", "h", "d1", "1hm", "1h-1m", "1h\n", "99999999dx", "1e3s", "0x10s",
};

static const char *const too_long[] = {
        "99999999d", "367d", "366d1s", "8785h", "31622401s",
        "18446744073709551616s", "99999999999999999999999999999999d",
};

START_TEST(test_parse_good)
{
        uint64_t sec = 0;

        ck_assert_msg(duration_parse(good[_i].s, &sec) == 0, "'%s' refused", good[_i].s);
        ck_assert_uint_eq(sec, good[_i].sec);
}
END_TEST

START_TEST(test_parse_bad_syntax)
{
        uint64_t sec = 42;

        ck_assert_msg(duration_parse(bad_syntax[_i], &sec) == -EINVAL, "'%s' not refused with -EINVAL",
                      bad_syntax[_i]);
        ck_assert_uint_eq(sec, 42);
}
END_TEST

START_TEST(test_parse_too_long)
{
        uint64_t sec = 42;

        ck_assert_msg(duration_parse(too_long[_i], &sec) == -ERANGE, "'%s' not refused with -ERANGE",
                      too_long[_i]);
        ck_assert_uint_eq(sec, 42);
}
END_TEST

START_TEST(test_parse_null)
{
        uint64_t sec = 42;

        ck_assert_int_eq(duration_parse(NULL, &sec), -EINVAL);
        ck_assert_uint_eq(sec, 42);
}
END_TEST

START_TEST(test_format)
{
        static const struct {
                uint64_t sec;
                const char *s;
        } t[] = {
                { 0, "0s" },       { 1, "1s" },        { 59, "59s" },           { 60, "1m" },
                { 90, "1m30s" },   { 3600, "1h" },     { 5400, "1h30m" },       { 86400, "1d" },
                { 90061, "1d1h1m1s" }, { 86401, "1d1s" }, { DURATION_MAX_SEC, "366d" },
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                duration_format(t[i].sec, buf, sizeof(buf));
                ck_assert_str_eq(buf, t[i].s);
        }
}
END_TEST

START_TEST(test_format_huge_and_small_buffers)
{
        char buf[32], tiny[4];

        duration_format(UINT64_MAX, buf, sizeof(buf));
        ck_assert_str_eq(buf, "213503982334601d7h15s");

        memset(tiny, 'x', sizeof(tiny));
        duration_format(5400, tiny, sizeof(tiny));
        ck_assert_uint_lt(strlen(tiny), sizeof(tiny));

        memset(tiny, 'x', sizeof(tiny));
        duration_format(5400, tiny, 0);
        ck_assert_int_eq(tiny[0], 'x');
}
END_TEST

START_TEST(test_round_trip)
{
        char buf[32];
        uint64_t back;

        for (uint64_t sec = 1; sec <= DURATION_MAX_SEC; sec = sec * 3 + 7) {
                duration_format(sec, buf, sizeof(buf));
                ck_assert_msg(duration_parse(buf, &back) == 0, "'%s' refused", buf);
                ck_assert_uint_eq(back, sec);
        }
}
END_TEST

START_TEST(test_strerror)
{
        ck_assert_ptr_nonnull(strstr(duration_strerror(-EINVAL), "1h30m"));
        ck_assert_ptr_nonnull(strstr(duration_strerror(-ERANGE), "366d"));
        ck_assert_str_ne(duration_strerror(-EINVAL), duration_strerror(-ERANGE));
        ck_assert_ptr_nonnull(duration_strerror(-ENOMEM));
}
END_TEST

static Suite *duration_suite(void)
{
        Suite *s = suite_create("duration");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_parse_good, 0, (int) ELEMENTSOF(good));
        tcase_add_loop_test(tc, test_parse_bad_syntax, 0, (int) ELEMENTSOF(bad_syntax));
        tcase_add_loop_test(tc, test_parse_too_long, 0, (int) ELEMENTSOF(too_long));
        tcase_add_test(tc, test_parse_null);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_format_huge_and_small_buffers);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_strerror);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(duration_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
