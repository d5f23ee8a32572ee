/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_jit's option parser. The module's sources are not in a library the unit
 * tests link, so the one file under test is compiled in here. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../pam_jit/options.c"

static struct pam_jit_options defaults(void)
{
        struct pam_jit_options o;

        options_init(&o);
        return o;
}

START_TEST(test_defaults)
{
        struct pam_jit_options o = defaults();

        ck_assert_str_eq(o.socket, JIT_DEFAULT_SOCKET);
        ck_assert_int_eq(o.timeout_ms, PAM_JIT_TIMEOUT_DEFAULT);
        ck_assert_str_eq(o.role, "");
        ck_assert(!o.prompt && !o.strict && !o.debug);
}
END_TEST

/* The defaults go through the same checks as argv; make sure they pass them. */
START_TEST(test_defaults_pass_their_checks)
{
        struct pam_jit_options o = defaults();

        ck_assert_int_eq(options_set(&o, "socket", JIT_DEFAULT_SOCKET, NULL, 0), 0);
        ck_assert_int_eq(options_parse_arg(&o, "timeout=1500", NULL, 0), 0);
}
END_TEST

START_TEST(test_flags)
{
        struct pam_jit_options o = defaults();

        ck_assert_int_eq(options_parse_arg(&o, "prompt", NULL, 0), 0);
        ck_assert_int_eq(options_parse_arg(&o, "strict", NULL, 0), 0);
        ck_assert_int_eq(options_parse_arg(&o, "debug", NULL, 0), 0);
        ck_assert(o.prompt && o.strict && o.debug);
}
END_TEST

START_TEST(test_flag_with_value)
{
        struct pam_jit_options o = defaults();
        char why[128];

        ck_assert_int_eq(options_parse_arg(&o, "debug=yes", why, sizeof(why)), -EINVAL);
        ck_assert_str_eq(why, "option 'debug' takes no value");
        ck_assert(!o.debug);
}
END_TEST

START_TEST(test_timeout_range)
{
        static const char *const bad[] = {
                "timeout=0", "timeout=60001", "timeout=-5", "timeout=abc", "timeout=12ms",
                "timeout=", "timeout", "timeout=99999999999999999999999", "timeout=0x10",
        };
        struct pam_jit_options o = defaults();
        char why[128];

        ck_assert_int_eq(options_parse_arg(&o, "timeout=1", NULL, 0), 0);
        ck_assert_int_eq(o.timeout_ms, 1);
        ck_assert_int_eq(options_parse_arg(&o, "timeout=60000", NULL, 0), 0);
        ck_assert_int_eq(o.timeout_ms, 60000);
        ck_assert_int_eq(options_parse_arg(&o, "timeout=250", NULL, 0), 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                why[0] = '\0';
                ck_assert_msg(options_parse_arg(&o, bad[i], why, sizeof(why)) == -EINVAL, "%s accepted", bad[i]);
                ck_assert_msg(why[0] != '\0', "%s: no reason given", bad[i]);
                /* A bad value leaves the previous one in place. */
                ck_assert_int_eq(o.timeout_ms, 250);
        }
}
END_TEST

START_TEST(test_socket)
{
        struct pam_jit_options o = defaults();
        char longpath[200];
        char arg[220];
        char why[128];

        ck_assert_int_eq(options_parse_arg(&o, "socket=/tmp/x/jitd.sock", NULL, 0), 0);
        ck_assert_str_eq(o.socket, "/tmp/x/jitd.sock");
        /* Paths with '=' stay whole: only the first one separates. */
        ck_assert_int_eq(options_parse_arg(&o, "socket=/tmp/a=b", NULL, 0), 0);
        ck_assert_str_eq(o.socket, "/tmp/a=b");

        ck_assert_int_eq(options_parse_arg(&o, "socket=jitd.sock", why, sizeof(why)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "absolute"));
        ck_assert_int_eq(options_parse_arg(&o, "socket=", NULL, 0), -EINVAL);
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = '\0';
        snprintf(arg, sizeof(arg), "socket=%s", longpath);
        ck_assert_int_eq(options_parse_arg(&o, arg, NULL, 0), -EINVAL);
        ck_assert_str_eq(o.socket, "/tmp/a=b");
}
END_TEST

START_TEST(test_role)
{
        struct pam_jit_options o = defaults();

        ck_assert_int_eq(options_parse_arg(&o, "role=web-admin", NULL, 0), 0);
        ck_assert_str_eq(o.role, "web-admin");
        ck_assert_int_eq(options_parse_arg(&o, "role=%wheel", NULL, 0), -EINVAL);
        ck_assert_int_eq(options_parse_arg(&o, "role=", NULL, 0), -EINVAL);
        ck_assert_str_eq(o.role, "web-admin");
}
END_TEST

START_TEST(test_unknown)
{
        struct pam_jit_options before = defaults(), o = defaults();
        char why[128];
        char longname[100];

        ck_assert_int_eq(options_parse_arg(&o, "use_first_pass", why, sizeof(why)), -ENOENT);
        ck_assert_str_eq(why, "unknown option 'use_first_pass'");
        ck_assert_int_eq(options_parse_arg(&o, "retries=3", why, sizeof(why)), -ENOENT);
        ck_assert_str_eq(why, "unknown option 'retries'");
        /* Option names are case sensitive, like every Linux-PAM module's. */
        ck_assert_int_eq(options_parse_arg(&o, "DEBUG", NULL, 0), -ENOENT);
        ck_assert_int_eq(options_parse_arg(&o, "", NULL, 0), -ENOENT);
        ck_assert_int_eq(options_parse_arg(&o, "=x", NULL, 0), -ENOENT);
        memset(longname, 'n', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        longname[50] = '=';
        ck_assert_int_eq(options_parse_arg(&o, longname, why, sizeof(why)), -ENOENT);
        ck_assert_ptr_nonnull(strstr(why, "unknown option"));
        ck_assert_str_eq(o.socket, before.socket);
        ck_assert_int_eq(o.timeout_ms, before.timeout_ms);
        ck_assert_str_eq(o.role, before.role);
        ck_assert(o.prompt == before.prompt && o.strict == before.strict && o.debug == before.debug);
}
END_TEST

START_TEST(test_last_wins)
{
        struct pam_jit_options o = defaults();

        ck_assert_int_eq(options_parse_arg(&o, "timeout=100", NULL, 0), 0);
        ck_assert_int_eq(options_parse_arg(&o, "timeout=200", NULL, 0), 0);
        ck_assert_int_eq(o.timeout_ms, 200);
}
END_TEST

static Suite *options_suite(void)
{
        Suite *s = suite_create("pam_options");
        TCase *tc = tcase_create("options");

        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_defaults_pass_their_checks);
        tcase_add_test(tc, test_flags);
        tcase_add_test(tc, test_flag_with_value);
        tcase_add_test(tc, test_timeout_range);
        tcase_add_test(tc, test_socket);
        tcase_add_test(tc, test_role);
        tcase_add_test(tc, test_unknown);
        tcase_add_test(tc, test_last_wins);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(options_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
