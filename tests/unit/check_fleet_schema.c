/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl/fleet_schema.c without a database: the version gate init goes by,
 * and the compiled-in SQL's own rules (every SECURITY DEFINER function with a
 * fixed search path, no function left executable by PUBLIC). The database
 * side is tests/integration/fleet_schema.sh. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_schema.h"

static void plan(int have, int latest, int want_r, enum fleet_schema_action want)
{
        enum fleet_schema_action a = (enum fleet_schema_action) 99;
        int r = fleet_schema_plan(have, latest, &a);

        ck_assert_msg(r == want_r, "plan(%d, %d) = %d, want %d", have, latest, r, want_r);
        if (r == 0)
                ck_assert_msg(a == want, "plan(%d, %d): action %d, want %d", have, latest, (int) a, (int) want);
        else
                ck_assert_int_eq(a, 99);        /* set only on success */
}

START_TEST(test_plan)
{
        plan(FLEET_SCHEMA_NONE, 1, 0, FLEET_SCHEMA_CREATE);
        plan(FLEET_SCHEMA_NONE, 3, 0, FLEET_SCHEMA_CREATE);
        plan(0, 1, 0, FLEET_SCHEMA_MIGRATE);             /* the bootstrap alone: an older version */
        plan(1, 3, 0, FLEET_SCHEMA_MIGRATE);
        plan(2, 3, 0, FLEET_SCHEMA_MIGRATE);
        plan(1, 1, 0, FLEET_SCHEMA_CURRENT);
        plan(3, 3, 0, FLEET_SCHEMA_CURRENT);
        plan(2, 1, -EPROTONOSUPPORT, 0);                 /* newer: refused, never touched */
        plan(FLEET_SCHEMA_VERSION_MAX, 1, -EPROTONOSUPPORT, 0);
        plan(-2, 1, -EINVAL, 0);
        plan(FLEET_SCHEMA_VERSION_MAX + 1, 1, -EINVAL, 0);
        plan(0, 0, -EINVAL, 0);
}
END_TEST

START_TEST(test_steps)
{
        int latest = fleet_schema_latest();

        ck_assert_int_eq(latest, 3);
        for (int v = 0; v < latest; v++) {
                ck_assert_ptr_nonnull(fleet_schema_step(v));
                ck_assert(strlen(fleet_schema_step(v)) > 0);
        }
        ck_assert_ptr_null(fleet_schema_step(-1));
        ck_assert_ptr_null(fleet_schema_step(latest));
        ck_assert_ptr_nonnull(strstr(fleet_schema_step(0), "CREATE TABLE jit.audit ("));
        ck_assert_ptr_nonnull(strstr(fleet_schema_step(0), "CREATE TABLE jit.changes ("));
}
END_TEST

/* Each CREATE FUNCTION up to its body: SECURITY DEFINER ones fix their
 * search path, and every function of the step runs with pg_temp last. */
START_TEST(test_functions_fix_search_path)
{
        for (int v = 0; v < fleet_schema_latest(); v++) {
                const char *sql = fleet_schema_step(v), *p = sql;
                unsigned n = 0, definers = 0;

                while ((p = strstr(p, "CREATE FUNCTION "))) {
                        const char *body = strstr(p, "AS $$");
                        char head[1024];
                        size_t len;

                        ck_assert_ptr_nonnull(body);
                        len = (size_t) (body - p);
                        ck_assert_uint_lt(len, sizeof(head));
                        memcpy(head, p, len);
                        head[len] = '\0';
                        ck_assert_msg(strstr(head, "SET search_path = pg_catalog, pg_temp"),
                                      "step %d: a function without a fixed search path: %.60s", v, head);
                        if (strstr(head, "SECURITY DEFINER"))
                                definers++;
                        n++;
                        p = body;
                }
                ck_assert_uint_gt(n, 0);
                /* version 1 makes the six write functions, each later step at least one */
                ck_assert_uint_ge(definers, v == 0 ? 6 : 1);
        }
}
END_TEST

/* PUBLIC may execute any new function until it is revoked: each step ends
 * its functions with the REVOKE, after the last CREATE FUNCTION. */
START_TEST(test_functions_closed_to_public)
{
        static const char revoke[] = "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA jit FROM PUBLIC;";

        for (int v = 0; v < fleet_schema_latest(); v++) {
                const char *sql = fleet_schema_step(v), *last = NULL, *p = sql;

                while ((p = strstr(p, "CREATE FUNCTION ")))
                        last = p++;
                ck_assert_ptr_nonnull(last);
                ck_assert_msg(strstr(last, revoke), "step %d: functions after the last REVOKE from PUBLIC", v);
        }
}
END_TEST

/* The append-only tables have their trigger. */
START_TEST(test_append_only_triggers)
{
        static const char *const tables[] = { "jit.audit", "jit.approvals", "jit.revocations", "jit.changes" };
        const char *sql = fleet_schema_step(0);
        char want[160];

        for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
                snprintf(want, sizeof(want), "BEFORE UPDATE OR DELETE OR TRUNCATE ON %s\n"
                         "    FOR EACH STATEMENT EXECUTE FUNCTION jit.refuse_change();", tables[i]);
                ck_assert_msg(strstr(sql, want), "no append-only trigger on %s", tables[i]);
        }
}
END_TEST

static Suite *fleet_schema_suite(void)
{
        Suite *s = suite_create("fleet_schema");
        TCase *tc = tcase_create("schema");

        tcase_add_test(tc, test_plan);
        tcase_add_test(tc, test_steps);
        tcase_add_test(tc, test_functions_fix_search_path);
        tcase_add_test(tc, test_functions_closed_to_public);
        tcase_add_test(tc, test_append_only_triggers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(fleet_schema_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
