/* SPDX-License-Identifier: BSD-3-Clause */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"
#include "util.h"

static char *alice_groups[] = { "alice", "webops", NULL };
static char *bob_groups[] = { "bob", "security", "jitadmins", NULL };
static char *carol_groups[] = { "carol", "oncall", NULL };
static char *nobody_groups[] = { NULL };

static const struct principal alice = { .name = "alice", .uid = 1000, .gid = 1000, .groups = alice_groups };
static const struct principal bob = { .name = "bob", .uid = 1001, .gid = 1001, .groups = bob_groups };
static const struct principal carol = { .name = "carol", .uid = 1002, .gid = 1002, .groups = carol_groups };
static const struct principal mallory = { .name = "mallory", .uid = 1003, .gid = 1003, .groups = nobody_groups };
static const struct principal root = { .name = "root", .uid = 0, .gid = 0, .groups = nobody_groups };

static char *members[] = { "alice", "%webops", NULL };
static char *hosts[] = { "web*", "db01", NULL };
static char *services[] = { "sudo", "sshd", NULL };
static char *approvers[] = { "%security", NULL };
static char *break_glass[] = { "%oncall", NULL };

/* The PRODUCT.md example role, built by hand. */
static struct role web_admin;
static struct config cfg;

static void setup(void)
{
        web_admin = (struct role) {
                .name = "web-admin",
                .members = members,
                .hosts = hosts,
                .services = services,
                .approval = APPROVAL_TICKET,
                .approvers = approvers,
                .approvals = 1,
                .ticket = TICKET_REQUIRED,
                .ticket_pattern = "^(CHG|INC)[0-9]+$",
                .default_duration = 3600,
                .max_duration = 4 * 3600,
                .break_glass = break_glass,
                .break_glass_duration = 1800,
        };
        ck_assert_int_eq(regcomp(&web_admin.ticket_re, web_admin.ticket_pattern, REG_EXTENDED | REG_NOSUB), 0);
        web_admin.ticket_re_set = true;
        cfg = (struct config) { .roles = &web_admin, .n_roles = 1, .admin_group = "jitadmins" };
}

static void teardown(void)
{
        regfree(&web_admin.ticket_re);
}

/* A fleet request's scope never wider than the role's hosts ("web*", "db01"). */
START_TEST(test_scope_within)
{
        char why[128];
        struct role any = web_admin;

        ck_assert(policy_scope_within(&web_admin, "web*", why, sizeof(why)));
        ck_assert(policy_scope_within(&web_admin, "WEB*", why, sizeof(why)));
        ck_assert(policy_scope_within(&web_admin, "web-01", why, sizeof(why)));
        ck_assert(policy_scope_within(&web_admin, "web-0*", why, sizeof(why)));
        ck_assert(policy_scope_within(&web_admin, "web-0?", why, sizeof(why)));
        ck_assert(policy_scope_within(&web_admin, "web[12]", why, sizeof(why)));
        ck_assert(policy_scope_within(&web_admin, "db01", why, sizeof(why)));
        ck_assert(!policy_scope_within(&web_admin, "*", why, sizeof(why)));
        ck_assert_str_eq(why, "host pattern '*' is wider than role 'web-admin' allows");
        ck_assert(!policy_scope_within(&web_admin, "we*", why, sizeof(why)));
        ck_assert(!policy_scope_within(&web_admin, "?eb-01", why, sizeof(why)));
        ck_assert(!policy_scope_within(&web_admin, "db0*", why, sizeof(why)));     /* db01 is a name, not a prefix */
        ck_assert(!policy_scope_within(&web_admin, "db02", why, sizeof(why)));
        ck_assert(!policy_scope_within(&web_admin, "", why, sizeof(why)));
        ck_assert(!policy_scope_within(&web_admin, NULL, NULL, 0));
        ck_assert(!policy_scope_within(NULL, "web*", NULL, 0));
        any.hosts = NULL;       /* a role for every host takes any pattern */
        ck_assert(policy_scope_within(&any, "*", why, sizeof(why)));
}
END_TEST

START_TEST(test_list_matches)
{
        char *users[] = { "bob", NULL }, *groups[] = { "%webops", NULL }, *empty[] = { NULL };

        ck_assert(policy_list_matches(members, &alice));
        ck_assert(policy_list_matches(users, &bob));
        ck_assert(!policy_list_matches(users, &alice));
        ck_assert(policy_list_matches(groups, &alice));
        ck_assert(!policy_list_matches(groups, &bob));
        ck_assert(!policy_list_matches(empty, &alice));
        ck_assert(!policy_list_matches(NULL, &alice));
        ck_assert(!policy_list_matches(members, NULL));
}
END_TEST

START_TEST(test_group_is_not_user)
{
        /* "%alice" names the group alice, "webops" the user webops. */
        char *as_group[] = { "%bob", NULL }, *as_user[] = { "webops", NULL };
        struct principal no_groups = { .name = "bob", .uid = 1001, .groups = NULL };

        ck_assert(!policy_list_matches(as_group, &no_groups));
        ck_assert(!policy_list_matches(as_user, &alice));
}
END_TEST

START_TEST(test_host_matches)
{
        ck_assert(policy_host_matches(&web_admin, "web01"));
        ck_assert(policy_host_matches(&web_admin, "WEB02"));
        ck_assert(policy_host_matches(&web_admin, "db01"));
        ck_assert(!policy_host_matches(&web_admin, "db02"));
        ck_assert(!policy_host_matches(&web_admin, "myweb01"));
        ck_assert(!policy_host_matches(&web_admin, NULL));
        web_admin.hosts = NULL;         /* default: everywhere */
        ck_assert(policy_host_matches(&web_admin, "db02"));
}
END_TEST

START_TEST(test_service_matches)
{
        ck_assert(policy_service_matches(&web_admin, "sudo"));
        ck_assert(policy_service_matches(&web_admin, "sshd"));
        ck_assert(!policy_service_matches(&web_admin, "login"));
        ck_assert(!policy_service_matches(&web_admin, NULL));
        web_admin.services = NULL;      /* default: sudo */
        ck_assert(policy_service_matches(&web_admin, "sudo"));
        ck_assert(!policy_service_matches(&web_admin, "sshd"));
}
END_TEST

START_TEST(test_eligible)
{
        char why[128];

        ck_assert(policy_eligible(&web_admin, &alice, "web01", why, sizeof(why)));
        ck_assert_str_eq(why, "");
        ck_assert(!policy_eligible(&web_admin, &bob, "web01", why, sizeof(why)));
        ck_assert_str_eq(why, "not a member");
        ck_assert(!policy_eligible(&web_admin, &alice, "db02", why, sizeof(why)));
        ck_assert_str_eq(why, "role 'web-admin' does not apply to host 'db02'");
        ck_assert(!policy_eligible(&web_admin, &alice, "db02", NULL, 0));
        ck_assert(!policy_eligible(NULL, &alice, "web01", why, sizeof(why)));
}
END_TEST

START_TEST(test_eligible_why_truncated)
{
        char why[8];

        ck_assert(!policy_eligible(&web_admin, &alice, "db02", why, sizeof(why)));
        ck_assert_str_eq(why, "role 'w");
}
END_TEST

START_TEST(test_ticket_required)
{
        char why[128];

        ck_assert(!policy_ticket_ok(&web_admin, "", why, sizeof(why)));
        ck_assert_str_eq(why, "ticket required");
        ck_assert(!policy_ticket_ok(&web_admin, NULL, why, sizeof(why)));
        ck_assert_str_eq(why, "ticket required");
        ck_assert(policy_ticket_ok(&web_admin, "CHG123", why, sizeof(why)));
        ck_assert_str_eq(why, "");
        ck_assert(policy_ticket_ok(&web_admin, "INC9", why, sizeof(why)));
        ck_assert(!policy_ticket_ok(&web_admin, "FOO-1", why, sizeof(why)));
        ck_assert_str_eq(why, "ticket 'FOO-1' does not match ^(CHG|INC)[0-9]+$");
}
END_TEST

START_TEST(test_ticket_optional_and_none)
{
        char why[128];

        web_admin.ticket = TICKET_OPTIONAL;
        ck_assert(policy_ticket_ok(&web_admin, "", why, sizeof(why)));
        ck_assert(!policy_ticket_ok(&web_admin, "FOO-1", why, sizeof(why)));
        ck_assert(policy_ticket_ok(&web_admin, "CHG1", why, sizeof(why)));

        web_admin.ticket = TICKET_NONE;
        ck_assert(policy_ticket_ok(&web_admin, "", why, sizeof(why)));
        ck_assert(!policy_ticket_ok(&web_admin, "CHG1", why, sizeof(why)));
        ck_assert_str_eq(why, "this role takes no ticket");
}
END_TEST

START_TEST(test_ticket_invalid)
{
        char why[128];

        /* Not echoed back: it is not known to be printable. */
        ck_assert(!policy_ticket_ok(&web_admin, "CHG1; rm -rf /", why, sizeof(why)));
        ck_assert_str_eq(why, "invalid ticket (letters, digits and _ . : / # - only, at most 64)");
        ck_assert(!policy_ticket_ok(&web_admin, "CHG1\n", why, sizeof(why)));
}
END_TEST

START_TEST(test_ticket_pattern_not_compiled)
{
        struct role r = { .name = "x", .ticket = TICKET_OPTIONAL, .ticket_pattern = "^A[0-9]+$" };
        char why[128];

        ck_assert(policy_ticket_ok(&r, "A1", why, sizeof(why)));
        ck_assert(!policy_ticket_ok(&r, "B1", why, sizeof(why)));
        ck_assert_str_eq(why, "ticket 'B1' does not match ^A[0-9]+$");
        r.ticket_pattern = "(";
        ck_assert(!policy_ticket_ok(&r, "A1", why, sizeof(why)));
        ck_assert_str_eq(why, "role 'x' has an invalid ticket_pattern");
        r.ticket_pattern = NULL;
        ck_assert(policy_ticket_ok(&r, "anything", why, sizeof(why)));
}
END_TEST

START_TEST(test_duration)
{
        char why[128];
        uint64_t d = 42;

        ck_assert_int_eq(policy_duration(&web_admin, 0, &d, why, sizeof(why)), 0);
        ck_assert_uint_eq(d, 3600);
        ck_assert_int_eq(policy_duration(&web_admin, 4 * 3600, &d, why, sizeof(why)), 0);
        ck_assert_uint_eq(d, 4 * 3600);
        ck_assert_int_eq(policy_duration(&web_admin, 90, &d, why, sizeof(why)), 0);
        ck_assert_uint_eq(d, 90);
        d = 42;
        ck_assert_int_eq(policy_duration(&web_admin, 8 * 3600, &d, why, sizeof(why)), -ERANGE);
        ck_assert_str_eq(why, "duration 8h exceeds the role's maximum of 4h");
        ck_assert_uint_eq(d, 42);
        ck_assert_int_eq(policy_duration(&web_admin, 4 * 3600 + 1, &d, why, sizeof(why)), -ERANGE);
        ck_assert_str_eq(why, "duration 4h1s exceeds the role's maximum of 4h");
        ck_assert_int_eq(policy_duration(&web_admin, UINT64_MAX, &d, NULL, 0), -ERANGE);
}
END_TEST

START_TEST(test_approver_admin_break_glass)
{
        ck_assert(policy_is_approver(&web_admin, &bob));
        ck_assert(!policy_is_approver(&web_admin, &alice));
        ck_assert(policy_is_any_approver(&cfg, &bob));
        ck_assert(!policy_is_any_approver(&cfg, &alice));
        ck_assert(!policy_is_any_approver(NULL, &bob));

        ck_assert(policy_is_admin(&cfg, &root));
        ck_assert(policy_is_admin(NULL, &root));
        ck_assert(policy_is_admin(&cfg, &bob));
        ck_assert(!policy_is_admin(&cfg, &alice));
        cfg.admin_group = NULL;
        ck_assert(!policy_is_admin(&cfg, &bob));
        ck_assert(policy_is_admin(&cfg, &root));

        ck_assert(policy_break_glass_ok(&web_admin, &carol));
        ck_assert(!policy_break_glass_ok(&web_admin, &alice));
        web_admin.break_glass = NULL;
        ck_assert(!policy_break_glass_ok(&web_admin, &carol));
}
END_TEST

START_TEST(test_covers)
{
        ck_assert(policy_covers(&cfg, &alice, "sudo", "web01"));
        ck_assert(policy_covers(&cfg, &alice, "sshd", "db01"));
        ck_assert(!policy_covers(&cfg, &alice, "login", "web01"));
        ck_assert(!policy_covers(&cfg, &alice, "sudo", "db02"));
        ck_assert(!policy_covers(&cfg, &mallory, "sudo", "web01"));
        /* An approver is not thereby gated... */
        ck_assert(!policy_covers(&cfg, &bob, "sudo", "web01"));
        /* ...but someone named for break-glass is. */
        ck_assert(policy_covers(&cfg, &carol, "sudo", "web01"));
        ck_assert(!policy_covers(NULL, &alice, "sudo", "web01"));
}
END_TEST

START_TEST(test_principal_root)
{
        struct principal *p = NULL;

        ck_assert_int_eq(principal_from_name(NULL, "root", &p), 0);
        ck_assert_str_eq(p->name, "root");
        ck_assert_uint_eq(p->uid, 0);
        ck_assert_uint_eq(p->gid, 0);
        ck_assert(strv_contains(p->groups, "root"));
        ck_assert(policy_is_admin(NULL, p));
        principal_free(p);

        p = NULL;
        ck_assert_int_eq(principal_from_uid(NULL, 0, &p), 0);
        ck_assert_str_eq(p->name, "root");
        ck_assert(strv_contains(p->groups, "root"));
        principal_free(p);
        principal_free(NULL);
}
END_TEST

START_TEST(test_principal_missing)
{
        struct principal *p = (struct principal *) &cfg;

        ck_assert_int_eq(principal_from_name(NULL, "no-such-user-jit", &p), -ENOENT);
        ck_assert_ptr_eq(p, &cfg);
        ck_assert_int_eq(principal_from_uid(NULL, 3999999999u, &p), -ENOENT);
        ck_assert_ptr_eq(p, &cfg);
        ck_assert_int_eq(principal_from_name(NULL, "", &p), -EINVAL);
}
END_TEST


/* With a config, only the groups it names are asked about, by name: root is
 * in %root (primary group) and %daemon is named but root is not in it; a
 * named group nobody has is no error; groups the config does not name are
 * not looked up at all. */
START_TEST(test_principal_config_groups)
{
        static char *mem[] = { "%root", "%no-such-group-jit", NULL };
        static char *appr[] = { "%daemon", NULL };
        struct role r = { .name = "x", .members = mem, .approvers = appr };
        struct config c = { .roles = &r, .n_roles = 1, .admin_group = "root" };
        struct principal *p = NULL;

        ck_assert_int_eq(principal_from_name(&c, "root", &p), 0);
        ck_assert_ptr_nonnull(p->groups);
        ck_assert_str_eq(p->groups[0], "root");
        ck_assert_ptr_null(p->groups[1]);
        ck_assert(policy_list_matches(mem, p));
        ck_assert(!policy_list_matches(appr, p));
        ck_assert(policy_is_admin(&c, p));
        principal_free(p);

        c.n_roles = 0;
        c.admin_group = NULL;
        ck_assert_int_eq(principal_from_uid(&c, 0, &p), 0);
        ck_assert_ptr_nonnull(p->groups);
        ck_assert_ptr_null(p->groups[0]);
        principal_free(p);
}
END_TEST

START_TEST(test_extension_limit)
{
        struct role r = { .name = "x", .max_duration = 3600 };

        /* Without max_extensions: never past max_duration from activation. */
        ck_assert_int_eq(policy_extension_limit(&r, 1000, 2800, 5, 1800), EXTENSION_WITHIN);
        ck_assert_int_eq(policy_extension_limit(&r, 1000, 2800, 0, 1801), EXTENSION_PAST_MAX_DURATION);
        /* With it: that many, of at most max_duration each. */
        r.max_extensions = 2;
        ck_assert_int_eq(policy_extension_limit(&r, 1000, 2800, 1, 3600), EXTENSION_WITHIN);
        ck_assert_int_eq(policy_extension_limit(&r, 1000, 2800, 1, 3601), EXTENSION_TOO_LONG);
        ck_assert_int_eq(policy_extension_limit(&r, 1000, 2800, 2, 60), EXTENSION_TOO_MANY);
}
END_TEST

static Suite *policy_suite(void)
{
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("decisions");
        TCase *nss = tcase_create("nss");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_list_matches);
        tcase_add_test(tc, test_group_is_not_user);
        tcase_add_test(tc, test_host_matches);
        tcase_add_test(tc, test_service_matches);
        tcase_add_test(tc, test_eligible);
        tcase_add_test(tc, test_eligible_why_truncated);
        tcase_add_test(tc, test_ticket_required);
        tcase_add_test(tc, test_ticket_optional_and_none);
        tcase_add_test(tc, test_ticket_invalid);
        tcase_add_test(tc, test_ticket_pattern_not_compiled);
        tcase_add_test(tc, test_duration);
        tcase_add_test(tc, test_approver_admin_break_glass);
        tcase_add_test(tc, test_covers);
        tcase_add_test(tc, test_scope_within);
        tcase_add_test(tc, test_extension_limit);
        suite_add_tcase(s, tc);

        tcase_add_test(nss, test_principal_root);
        tcase_add_test(nss, test_principal_missing);
        tcase_add_test(nss, test_principal_config_groups);
        suite_add_tcase(s, nss);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(policy_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
