/* SPDX-License-Identifier: BSD-3-Clause */
/* review with [fleet]: another host's pending review, from its uploaded
 * "break-glass" event, as a line and as the object review --json --fleet
 * prints (jitd/fleet_review.h). */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_review.h"

START_TEST(test_entry)
{
        char *line = NULL, *details = NULL;

        ck_assert_int_eq(fleet_review_entry("web-01", 7, "jt_carol", 1001, "2026-11-23T14:05:00Z",
                                            "{\"role\":\"web-admin\",\"reason\":\"pager: disk/full\",\"duration\":1800}",
                                            &line, &details), 0);
        ck_assert_str_eq(line, "break-glass grant 7 on web-01 of jt_carol for web-admin at 2026-11-23T14:05:00Z, "
                               "awaiting review: pager: disk/full");
        ck_assert_str_eq(details, "{\"host\":\"web-01\",\"grant\":7,\"user\":\"jt_carol\",\"uid\":1001,"
                                  "\"role\":\"web-admin\",\"reason\":\"pager: disk/full\",\"duration\":1800,"
                                  "\"used_at\":\"2026-11-23T14:05:00Z\",\"review\":\"pending\"}");
        free(line);
        free(details);
}
END_TEST

/* Details as a host wrote them: not JSON, or fields of the wrong type,
 * show as "?" and 0; no uid (an event of schema version 1) as null. */
START_TEST(test_entry_odd_details)
{
        const char *const odd[] = { "", "not json", "[1,2]", "{\"role\":7,\"reason\":[],\"duration\":\"1h\"}" };

        for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
                char *line = NULL, *details = NULL;

                ck_assert_int_eq(fleet_review_entry("db-01", 3, "bob", -1, "2026-11-23T14:05:00Z", odd[i], &line,
                                                    &details), 0);
                ck_assert_str_eq(line, "break-glass grant 3 on db-01 of bob for ? at 2026-11-23T14:05:00Z, "
                                       "awaiting review: (no reason)");
                ck_assert_str_eq(details, "{\"host\":\"db-01\",\"grant\":3,\"user\":\"bob\",\"uid\":null,"
                                          "\"role\":\"?\",\"reason\":\"\",\"duration\":0,"
                                          "\"used_at\":\"2026-11-23T14:05:00Z\",\"review\":\"pending\"}");
                free(line);
                free(details);
        }
}
END_TEST

static Suite *fleet_review_suite(void)
{
        Suite *s = suite_create("fleet_review");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_entry);
        tcase_add_test(tc, test_entry_odd_details);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        sr = srunner_create(fleet_review_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
