/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl/fleet_host.c without a database: which host names join a fleet,
 * the role each gets, and what add-host refuses before it touches the
 * database (the rest is tests/integration/fleet_schema.sh). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet_host.h"

static void name_ok(const char *host, const char *want)
{
        char buf[FLEET_HOST_MAX + 1];

        ck_assert_msg(fleet_host_name(host, buf, sizeof(buf)) == 0, "'%s' refused", host);
        ck_assert_str_eq(buf, want);
}

static void name_bad(const char *host, int want)
{
        char buf[FLEET_HOST_MAX + 1] = "untouched";

        ck_assert_msg(fleet_host_name(host, buf, sizeof(buf)) == want, "'%s' not refused with %d", host, want);
        ck_assert_str_eq(buf, "untouched");
}

START_TEST(test_host_names)
{
        char max[FLEET_HOST_MAX + 2];

        name_ok("web01", "web01");
        name_ok("WEB01.Example.COM", "web01.example.com");      /* host names are case-insensitive */
        name_ok("db-1.eu-west", "db-1.eu-west");
        name_ok("1", "1");
        name_ok("a.b.c", "a.b.c");
        memset(max, 'a', FLEET_HOST_MAX);
        max[FLEET_HOST_MAX] = '\0';
        name_ok(max, max);

        max[FLEET_HOST_MAX] = 'a';
        max[FLEET_HOST_MAX + 1] = '\0';
        name_bad(max, -ENAMETOOLONG);
        name_bad(NULL, -EINVAL);
        name_bad("", -EINVAL);
        name_bad("web_01", -EINVAL);            /* '_' is no host name character */
        name_bad("-web", -EINVAL);
        name_bad("web-", -EINVAL);
        name_bad("web-.x", -EINVAL);
        name_bad("x.-web", -EINVAL);
        name_bad(".web", -EINVAL);
        name_bad("web.", -EINVAL);
        name_bad("a..b", -EINVAL);
        name_bad("web 01", -EINVAL);
        name_bad("web01;drop", -EINVAL);
        name_bad("we\"b", -EINVAL);
        name_bad("wéb", -EINVAL);
        name_bad("web\n01", -EINVAL);
        name_bad("*", -EINVAL);
}
END_TEST

START_TEST(test_host_name_buffer)
{
        char small[4] = "xyz";

        ck_assert_int_eq(fleet_host_name("web01", small, sizeof(small)), -ENOBUFS);
        ck_assert_str_eq(small, "xyz");
}
END_TEST

START_TEST(test_roles)
{
        char role[FLEET_ROLE_MAX + 1], max[FLEET_HOST_MAX + 1];

        ck_assert_int_eq(fleet_host_role("web01", role, sizeof(role)), 0);
        ck_assert_str_eq(role, "jit_host_web01");
        ck_assert_int_eq(fleet_host_role("db-1.eu-west", role, sizeof(role)), 0);
        ck_assert_str_eq(role, "jit_host_db_1_eu_west");
        /* Two names, one role: add-host refuses the second. */
        ck_assert_int_eq(fleet_host_role("a.b", role, sizeof(role)), 0);
        ck_assert_str_eq(role, "jit_host_a_b");
        ck_assert_int_eq(fleet_host_role("a-b", role, sizeof(role)), 0);
        ck_assert_str_eq(role, "jit_host_a_b");
        /* The longest name makes a role of exactly 63 bytes. */
        memset(max, 'x', FLEET_HOST_MAX);
        max[FLEET_HOST_MAX] = '\0';
        ck_assert_int_eq(fleet_host_role(max, role, sizeof(role)), 0);
        ck_assert_uint_eq(strlen(role), 63);
        ck_assert_int_eq(fleet_host_role(max, role, 63), -EINVAL);
        ck_assert_int_eq(fleet_host_role("", role, sizeof(role)), -EINVAL);
}
END_TEST

START_TEST(test_check)
{
        struct fleet_host_added a = { .name = "untouched" };
        char why[256] = "", long_name[FLEET_HOST_MAX + 2];

        ck_assert_int_eq(fleet_host_check("Web-01.Example", &a, why, sizeof(why)), 0);
        ck_assert_str_eq(a.name, "web-01.example");
        ck_assert_str_eq(a.role, "jit_host_web_01_example");
        a = (struct fleet_host_added) { .name = "untouched" };
        ck_assert_int_eq(fleet_host_check("web_01", &a, why, sizeof(why)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "'web_01' is not a host name"));
        ck_assert_str_eq(a.name, "untouched");
        ck_assert_int_eq(fleet_host_check(NULL, &a, why, sizeof(why)), -EINVAL);
        memset(long_name, 'a', FLEET_HOST_MAX + 1);
        long_name[FLEET_HOST_MAX + 1] = '\0';
        ck_assert_int_eq(fleet_host_check(long_name, &a, why, sizeof(why)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "longer than 54 characters"));
}
END_TEST

/* Refusals that come before the database: no connection is needed, and none
 * is touched (c is NULL). */
START_TEST(test_add_refused_before_database)
{
        char dir[] = "/tmp/check_fleet_host.XXXXXX", path[128], why[512];
        struct fleet_host_added added;
        struct stat st;
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/fleet.password", dir);

        ck_assert_int_eq(fleet_host_add(NULL, "web_01", path, &added, why, sizeof(why)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "is not a host name"));
        ck_assert_int_eq(stat(path, &st), -1);          /* nothing created */

        ck_assert_int_eq(fleet_host_add(NULL, "relative", "fleet.password", &added, why, sizeof(why)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "not an absolute path"));

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "keep\n", 5), 5);
        close(fd);
        ck_assert_int_eq(fleet_host_add(NULL, "web01", path, &added, why, sizeof(why)), -EEXIST);
        ck_assert_ptr_nonnull(strstr(why, "never overwrites"));
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_size, 5);                /* left as it was */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *fleet_host_suite(void)
{
        Suite *s = suite_create("fleet_host");
        TCase *tc = tcase_create("host");

        tcase_add_test(tc, test_host_names);
        tcase_add_test(tc, test_host_name_buffer);
        tcase_add_test(tc, test_roles);
        tcase_add_test(tc, test_check);
        tcase_add_test(tc, test_add_refused_before_database);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(fleet_host_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
