/* SPDX-License-Identifier: BSD-3-Clause */
/* common/conninfo.c: where libpq would find a password, this check does too. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"

static void expect(const char *s, int want)
{
        char why[256] = "";
        int r = conninfo_check(s, why, sizeof(why));

        ck_assert_msg(r == want, "'%s': got %d (%s), want %d", s, r, why, want);
        if (want < 0) {
                ck_assert_msg(why[0], "'%s': refused without a reason", s);
                /* The reason never quotes the string: it may hold a secret. */
                ck_assert_msg(!strstr(why, "secret"), "'%s': the reason quotes it: %s", s, why);
        }
}

START_TEST(test_accepts_key_value)
{
        expect("host=/run/postgresql dbname=jit user=jit_host_web01", 0);
        expect("  host = db1.example.com\tport=5432 dbname='my fleet' user=x  ", 0);
        expect("dbname='it\\'s' user=x sslmode=verify-full sslrootcert=/etc/jit/ca.pem", 0);
        expect("dbname='a'user=b", 0);                  /* libpq needs no space after a quote */
        expect("application_name=a\\ b", 0);            /* an escaped space */
        expect("passfile=/etc/jit/pgpass user=x", 0);   /* a file name is not a password */
        expect("dbname=jit", 0);
}
END_TEST

START_TEST(test_accepts_uri)
{
        expect("postgresql://jit_host_web01@db1.example.com:5432/jit?sslmode=verify-full", 0);
        expect("postgres://db1/jit", 0);
        expect("postgresql://", 0);
        expect("postgresql://[::1]:5432/jit", 0);
        expect("postgresql://h1:5432,h2:5433/jit?target_session_attrs=read-write&connect_timeout=5", 0);
        expect("postgresql://%40odd@host/db", 0);
        expect("postgresql:///jit?host=/run/postgresql", 0);
}
END_TEST

START_TEST(test_refuses_password_keyword)
{
        expect("host=db1 password=secret", -EPERM);
        expect("host=db1 password = 'se cret'", -EPERM);
        expect("password=secret host=db1", -EPERM);
        expect("host=db1 PASSWORD=secret", -EPERM);
        expect("host=db1 Password=secret", -EPERM);
        expect("host=db1 password=", -EPERM);
        expect("host=db1 password=''", -EPERM);
        expect("host=db1\npassword=secret", -EPERM);
        expect("sslkey=/etc/jit/k sslpassword=secret", -EPERM);
        expect("SSLPassword=secret", -EPERM);
}
END_TEST

START_TEST(test_refuses_uri_userinfo)
{
        expect("postgresql://user:secret@db1/jit", -EPERM);
        expect("postgres://u:secret@h", -EPERM);
        expect("postgresql://user:@db1/jit", -EPERM);   /* libpq ignores it; refused anyway */
        /* libpq takes the user information up to the first '/', across '?':
         * the user is "host?user=a", the password "secret". */
        expect("postgresql://host?user=a:secret@db1/jit", -EPERM);
        expect("postgresql://u:secret@[::1]:5432/jit", -EPERM);
}
END_TEST

START_TEST(test_refuses_uri_parameter)
{
        expect("postgresql://db1/jit?password=secret", -EPERM);
        expect("postgresql://db1?password=secret", -EPERM);
        expect("postgresql://db1/jit?sslmode=require&password=secret", -EPERM);
        expect("postgresql://db1/jit?pass%77ord=secret", -EPERM);
        expect("postgresql://db1/jit?%70%61%73%73%77%6f%72%64=secret", -EPERM);
        expect("postgresql://db1/jit?PASSWORD=secret", -EPERM);
        expect("postgresql://db1/jit?password=", -EPERM);
        expect("postgresql://db1/jit?sslpassword=secret", -EPERM);
        /* A bracketed host may hold '?': the query starts after ']'. */
        expect("postgresql://[a?b]/db?password=secret", -EPERM);
        expect("postgresql://h1,h2:5/db?x=1&password=secret", -EPERM);
}
END_TEST

START_TEST(test_refuses_nested_dbname)
{
        expect("dbname='postgresql://u:secret@h/db'", -EPERM);
        expect("dbname='host=h password=secret'", -EPERM);
        expect("postgresql://h/host%3Dx%20password%3Dsecret", -EPERM);
        expect("postgresql://h/db?dbname=host%3Dx%20password%3Dsecret", -EPERM);
        expect("postgresql://h/db?dbname=postgresql%3A%2F%2Fu%3Asecret%40h", -EPERM);
        /* One level only: libpq expands no dbname it was not handed by its
         * caller, so a dbname inside an expanded dbname is a plain name. */
        expect("dbname='dbname=\\'password=x\\''", 0);
}
END_TEST

START_TEST(test_refuses_malformed)
{
        char why[64] = "", *big;

        ck_assert_int_eq(conninfo_check(NULL, why, sizeof(why)), -EINVAL);
        ck_assert(why[0]);
        expect("", -EINVAL);
        expect("  \t ", -EINVAL);
        expect("host=db1 dbname", -EINVAL);
        expect("host db1", -EINVAL);
        expect("=db1", -EINVAL);
        expect("dbname='unterminated", -EINVAL);
        expect("Host=db1", -EINVAL);
        expect("ho-st=db1", -EINVAL);
        expect("postgresql://[::1/db", -EINVAL);
        expect("postgresql://[]/db", -EINVAL);
        expect("postgresql://[::1]x/db", -EINVAL);
        expect("postgresql://h/db?sslmode", -EINVAL);
        expect("postgresql://h/db?a=b=c", -EINVAL);
        expect("postgresql://h/db?a=%zz", -EINVAL);
        expect("postgresql://h/db?a=%00", -EINVAL);
        expect("postgresql://h/d%0", -EINVAL);
        expect("postgresql://h/a b", -EINVAL);

        big = malloc(CONNINFO_MAX + 2);
        ck_assert_ptr_nonnull(big);
        memset(big, 'a', CONNINFO_MAX + 1);
        memcpy(big, "dbname=", 7);
        big[CONNINFO_MAX + 1] = '\0';
        expect(big, -EINVAL);
        big[CONNINFO_MAX] = '\0';
        expect(big, 0);
        free(big);
}
END_TEST

START_TEST(test_why_optional)
{
        ck_assert_int_eq(conninfo_check("password=x", NULL, 0), -EPERM);
        ck_assert_int_eq(conninfo_check("host=x", NULL, 0), 0);
}
END_TEST

static Suite *conninfo_suite(void)
{
        Suite *s = suite_create("conninfo");
        TCase *tc = tcase_create("check");

        tcase_add_test(tc, test_accepts_key_value);
        tcase_add_test(tc, test_accepts_uri);
        tcase_add_test(tc, test_refuses_password_keyword);
        tcase_add_test(tc, test_refuses_uri_userinfo);
        tcase_add_test(tc, test_refuses_uri_parameter);
        tcase_add_test(tc, test_refuses_nested_dbname);
        tcase_add_test(tc, test_refuses_malformed);
        tcase_add_test(tc, test_why_optional);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(conninfo_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
