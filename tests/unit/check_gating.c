/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/gating.c and common/dropin.c: which services a role
 * gates (sudo's two PAM service names included), drop-in names. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dropin.h"
#include "gating.h"
#include "util.h"

static struct role role_with(char **services)
{
        return (struct role) { .name = (char *) "r", .services = services };
}

START_TEST(test_default_gates_sudo_family)
{
        struct role r = role_with(NULL);

        ck_assert(gating_role_gates(&r, "sudo"));
        ck_assert(gating_role_gates(&r, "sudo-i"));
        ck_assert(!gating_role_gates(&r, "sshd"));
        ck_assert(!gating_role_gates(&r, "sudoedit"));
        ck_assert(!gating_role_gates(&r, "sudo-x"));
        ck_assert(gating_role_needs_sudoers(&r));
}
END_TEST

START_TEST(test_sudo_gates_sudo_i)
{
        char *sudo[] = { (char *) "sudo", NULL };
        char *sudo_i[] = { (char *) "sudo-i", NULL };
        struct role a = role_with(sudo), b = role_with(sudo_i);

        /* Either of sudo's names stands for both: `sudo -i` runs PAM as sudo-i. */
        ck_assert(gating_role_gates(&a, "sudo-i"));
        ck_assert(gating_role_gates(&b, "sudo"));
        ck_assert(gating_role_needs_sudoers(&a));
        ck_assert(gating_role_needs_sudoers(&b));
}
END_TEST

START_TEST(test_other_services)
{
        char *sshd[] = { (char *) "sshd", (char *) "login", NULL };
        char *prefix[] = { (char *) "sudoers", (char *) "sudo-rs", NULL };
        struct role a = role_with(sshd), b = role_with(prefix);

        ck_assert(gating_role_gates(&a, "sshd"));
        ck_assert(gating_role_gates(&a, "login"));
        ck_assert(!gating_role_gates(&a, "sudo"));
        ck_assert(!gating_role_gates(&a, "sudo-i"));
        /* No sudoers rule as a side effect of an sshd role. */
        ck_assert(!gating_role_needs_sudoers(&a));
        /* A name that merely starts with "sudo" is not sudo. */
        ck_assert(!gating_role_needs_sudoers(&b));
        ck_assert(!gating_role_gates(&b, "sudo"));
        ck_assert(gating_role_gates(&b, "sudo-rs"));
        ck_assert(!gating_role_gates(NULL, "sudo"));
        ck_assert(!gating_role_gates(&a, NULL));
}
END_TEST

START_TEST(test_config_needs_sudoers)
{
        char *sshd[] = { (char *) "sshd", NULL };
        struct role roles[2] = { role_with(sshd), role_with(sshd) };
        struct config c = { .roles = roles, .n_roles = 2 };

        ck_assert(!gating_config_needs_sudoers(&c));
        roles[1].services = NULL;
        ck_assert(gating_config_needs_sudoers(&c));
        ck_assert(!gating_config_needs_sudoers(NULL));
}
END_TEST

START_TEST(test_dropin_names)
{
        char buf[DROPIN_NAME_MAX];
        int64_t id = 0;

        ck_assert_int_eq(dropin_name(42, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "jit-42");
        ck_assert_int_eq(dropin_name(INT64_MAX, buf, sizeof(buf)), 0);
        ck_assert(dropin_parse_name(buf, &id));
        ck_assert(id == INT64_MAX);
        ck_assert_int_eq(dropin_name(0, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(dropin_name(-1, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(dropin_name(123456, buf, 6), -ENAMETOOLONG);

        ck_assert(dropin_parse_name("jit-1", &id) && id == 1);
        ck_assert(!dropin_parse_name("jit-0", &id));
        ck_assert(!dropin_parse_name("jit-01", &id));
        ck_assert(!dropin_parse_name("jit-", &id));
        ck_assert(!dropin_parse_name("jit-1.tmp", &id));
        ck_assert(!dropin_parse_name(".jit-1", &id));
        ck_assert(!dropin_parse_name("jit--1", &id));
        ck_assert(!dropin_parse_name("jit-+1", &id));
        ck_assert(!dropin_parse_name("jit-9223372036854775808", &id));
        ck_assert(!dropin_parse_name(NULL, &id));
}
END_TEST

static Suite *gating_suite(void)
{
        Suite *s = suite_create("gating");
        TCase *tc = tcase_create("gating");

        tcase_add_test(tc, test_default_gates_sudo_family);
        tcase_add_test(tc, test_sudo_gates_sudo_i);
        tcase_add_test(tc, test_other_services);
        tcase_add_test(tc, test_config_needs_sudoers);
        tcase_add_test(tc, test_dropin_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(gating_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
