/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl/fleet_pq.c without a server: the connection string a host is given
 * (the admin's, without what is the admin's), and connecting to nothing. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conninfo.h"
#include "fleet_pq.h"

/* Value of keyword in conninfo as libpq reads it; NULL when absent. */
static char *value_of(const char *conninfo, const char *keyword)
{
        PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
        char *v = NULL;

        ck_assert_ptr_nonnull(opts);
        for (PQconninfoOption *o = opts; o->keyword; o++)
                if (strcmp(o->keyword, keyword) == 0 && o->val)
                        v = strdup(o->val);
        PQconninfoFree(opts);
        return v;
}

static void expect_value(const char *conninfo, const char *keyword, const char *want)
{
        char *v = value_of(conninfo, keyword);

        if (!want) {
                ck_assert_msg(!v, "%s: %s is '%s', want none", conninfo, keyword, v);
        } else {
                ck_assert_msg(v && strcmp(v, want) == 0, "%s: %s is '%s', want '%s'", conninfo, keyword,
                              v ? v : "(none)", want);
        }
        free(v);
}

static char *host_line(const char *admin, const char *role)
{
        char why[256] = "", *s = NULL;
        int r = fleet_pq_host_conninfo(admin, role, NULL, NULL, &s, why, sizeof(why));

        ck_assert_msg(r == 0, "%s: %d %s", admin, r, why);
        /* What is printed is what jitd.conf takes back. */
        ck_assert_int_eq(conninfo_check(s, why, sizeof(why)), 0);
        ck_assert(config_value_fits(s));
        return s;
}

START_TEST(test_host_conninfo_key_value)
{
        char *s = host_line("host=/tmp/pg dbname=fleet user=jit_owner password=secret "
                            "sslmode=verify-full sslrootcert=/etc/jit/ca.pem sslcert=/root/admin.crt "
                            "sslkey=/root/admin.key sslpassword=secret passfile=/root/.pgpass", "jit_host_web01");

        ck_assert_ptr_null(strstr(s, "secret"));
        ck_assert_ptr_null(strstr(s, "jit_owner"));
        ck_assert_ptr_null(strstr(s, "admin"));
        ck_assert_ptr_null(strstr(s, "pgpass"));
        expect_value(s, "host", "/tmp/pg");
        expect_value(s, "dbname", "fleet");
        expect_value(s, "user", "jit_host_web01");
        expect_value(s, "sslmode", "verify-full");
        expect_value(s, "sslrootcert", "/etc/jit/ca.pem");
        expect_value(s, "password", NULL);
        expect_value(s, "sslcert", NULL);
        free(s);
}
END_TEST

/* A host that logs in with a client certificate: its own sslcert and sslkey,
 * never the admin's; both or neither. */
START_TEST(test_host_conninfo_cert)
{
        char why[256] = "", *s = NULL;

        ck_assert_int_eq(fleet_pq_host_conninfo("host=db1 dbname=fleet user=jit_owner sslmode=verify-full "
                                                "sslrootcert=/etc/jit/ca.pem sslcert=/root/admin.crt "
                                                "sslkey=/root/admin.key", "jit_host_web01", "/etc/jit/fleet.crt",
                                                "/etc/jit/fleet key", &s, why, sizeof(why)), 0);
        ck_assert_int_eq(conninfo_check(s, why, sizeof(why)), 0);
        ck_assert(config_value_fits(s));
        ck_assert_ptr_null(strstr(s, "admin"));
        expect_value(s, "user", "jit_host_web01");
        expect_value(s, "sslrootcert", "/etc/jit/ca.pem");
        expect_value(s, "sslcert", "/etc/jit/fleet.crt");
        expect_value(s, "sslkey", "/etc/jit/fleet key");
        free(s);
        s = NULL;

        ck_assert_int_eq(fleet_pq_host_conninfo("fleet", "jit_host_x", "/c.crt", "/c.key", &s, why, sizeof(why)), 0);
        expect_value(s, "dbname", "fleet");
        expect_value(s, "sslkey", "/c.key");
        free(s);
        s = NULL;

        ck_assert_int_eq(fleet_pq_host_conninfo("dbname=fleet", "jit_host_x", "/c.crt", NULL, &s, why, sizeof(why)),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "needs its key"));
        ck_assert_int_eq(fleet_pq_host_conninfo("dbname=fleet", "jit_host_x", NULL, "/c.key", &s, why, sizeof(why)),
                         -EINVAL);
        ck_assert_int_eq(fleet_pq_host_conninfo("dbname=fleet", "jit_host_x", "", "", &s, why, sizeof(why)), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_host_conninfo_uri)
{
        char *s = host_line("postgresql://jit_owner:secret@db1.example.com:5433/fleet?application_name=adm",
                            "jit_host_db_1");

        ck_assert_ptr_null(strstr(s, "secret"));
        ck_assert_ptr_null(strstr(s, "://"));
        expect_value(s, "host", "db1.example.com");
        expect_value(s, "port", "5433");
        expect_value(s, "dbname", "fleet");
        expect_value(s, "user", "jit_host_db_1");
        expect_value(s, "application_name", "adm");
        free(s);
}
END_TEST

START_TEST(test_host_conninfo_quoting)
{
        char *s = host_line("dbname='my fleet' options='-c statement_timeout=5s' application_name='it\\'s'",
                            "jit_host_x");

        expect_value(s, "dbname", "my fleet");
        expect_value(s, "options", "-c statement_timeout=5s");
        expect_value(s, "application_name", "it's");
        expect_value(s, "user", "jit_host_x");
        free(s);
}
END_TEST

/* A bare database name, as libpq's connect functions take it. */
START_TEST(test_host_conninfo_dbname)
{
        char *s = host_line("fleet", "jit_host_web01");

        expect_value(s, "dbname", "fleet");
        expect_value(s, "user", "jit_host_web01");
        free(s);
}
END_TEST

START_TEST(test_host_conninfo_refused)
{
        char why[256] = "", *s = NULL;

        /* libpq cannot read it. */
        ck_assert_int_eq(fleet_pq_host_conninfo("host=x dbname", "jit_host_x", NULL, NULL, &s, why, sizeof(why)),
                         -EINVAL);
        ck_assert(why[0]);
        ck_assert_ptr_null(s);
        /* jitd.conf would read " #..." as a comment. */
        why[0] = '\0';
        ck_assert_int_eq(fleet_pq_host_conninfo("host=x application_name='a #1'", "jit_host_x", NULL, NULL, &s,
                                                why, sizeof(why)), -EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "jitd.conf"));
        ck_assert_ptr_null(s);
        ck_assert_int_eq(fleet_pq_host_conninfo("", "jit_host_x", NULL, NULL, &s, why, sizeof(why)), -EINVAL);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_connect_fails)
{
        char why[512] = "";
        PGconn *c = (PGconn *) 0x1;

        /* A socket directory with no server: refused, said, *ret untouched. */
        ck_assert_int_eq(fleet_pq_connect("host=/nonexistent/jit dbname=x connect_timeout=1", &c, why,
                                          sizeof(why)), -ECONNREFUSED);
        ck_assert(c == (PGconn *) 0x1);
        ck_assert(why[0]);
        ck_assert_ptr_null(strchr(why, '\n'));
        ck_assert_int_eq(fleet_pq_connect("", &c, why, sizeof(why)), -EINVAL);
}
END_TEST

static Suite *fleet_pq_suite(void)
{
        Suite *s = suite_create("fleet_pq");
        TCase *tc = tcase_create("pq");

        tcase_add_test(tc, test_host_conninfo_key_value);
        tcase_add_test(tc, test_host_conninfo_cert);
        tcase_add_test(tc, test_host_conninfo_uri);
        tcase_add_test(tc, test_host_conninfo_quoting);
        tcase_add_test(tc, test_host_conninfo_dbname);
        tcase_add_test(tc, test_host_conninfo_refused);
        tcase_add_test(tc, test_connect_fails);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(fleet_pq_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
