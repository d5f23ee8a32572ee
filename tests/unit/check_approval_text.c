/* SPDX-License-Identifier: BSD-3-Clause */
/* common/approval_text.c: the exact bytes an approver signs, and every field
 * that could make two grants render the same text refused. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval_text.h"
#include "util.h"

static char *web_hosts[] = { (char *) "web*", (char *) "db1.example.com", (char *) "app-[0-9]", NULL };

static struct approval_fields good(void)
{
        return (struct approval_fields) {
                .grant = 42,
                .user = "alice",
                .role = "web-admin",
                .hosts = web_hosts,
                .duration = 3600,
                .ticket = "CHG-1234",
                .requested = 1700000000,
                .approver = "bob",
        };
}

/* f must be refused, and *ret left alone. */
static void refused(const struct approval_fields *f, const char *what)
{
        char *text = (char *) "untouched";

        ck_assert_msg(approval_text(f, &text) == -EINVAL, "accepted: %s", what);
        ck_assert_str_eq(text, "untouched");
}

static char *repeat(char c, size_t n)
{
        char *s = malloc(n + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

START_TEST(test_exact_bytes)
{
        struct approval_fields f = good();
        char *text = NULL;

        ck_assert_int_eq(approval_text(&f, &text), 0);
        ck_assert_str_eq(text,
                         "pam_jit approval v1\n"
                         "grant 42\n"
                         "user alice\n"
                         "role web-admin\n"
                         "hosts web*,db1.example.com,app-[0-9]\n"
                         "duration 3600\n"
                         "ticket CHG-1234\n"
                         "requested 1700000000\n"
                         "approver bob\n");
        free(text);
}
END_TEST

START_TEST(test_extension_exact_bytes)
{
        struct approval_fields f = good();
        struct extension_fields x = { .n = 2, .duration = 1800, .requested = 1700003600 };
        char *text = NULL, *grant = NULL;

        ck_assert_int_eq(extension_text(&f, &x, &text), 0);
        ck_assert_str_eq(text,
                         "pam_jit extension v1\n"
                         "grant 42\n"
                         "user alice\n"
                         "role web-admin\n"
                         "hosts web*,db1.example.com,app-[0-9]\n"
                         "duration 3600\n"
                         "ticket CHG-1234\n"
                         "requested 1700000000\n"
                         "extension 2\n"
                         "adds 1800\n"
                         "asked 1700003600\n"
                         "approver bob\n");
        /* Never the same bytes as the grant's own approval. */
        ck_assert_int_eq(approval_text(&f, &grant), 0);
        ck_assert_str_ne(text, grant);
        ck_assert_uint_le(strlen(text), APPROVAL_TEXT_MAX);
        free(text);
        free(grant);
}
END_TEST

START_TEST(test_extension_refused)
{
        struct approval_fields f = good();
        struct extension_fields x = { .n = 1, .duration = 60, .requested = 1700003600 };
        char *text = (char *) "untouched";

        ck_assert_int_eq(extension_text(&f, NULL, &text), -EINVAL);
        x.n = 0;
        ck_assert_int_eq(extension_text(&f, &x, &text), -EINVAL);
        x.n = 1, x.duration = 0;
        ck_assert_int_eq(extension_text(&f, &x, &text), -EINVAL);
        x.duration = 60, x.requested = 0;
        ck_assert_int_eq(extension_text(&f, &x, &text), -EINVAL);
        x.requested = 1700003600, f.user = "al\nice";
        ck_assert_int_eq(extension_text(&f, &x, &text), -EINVAL);
        ck_assert_str_eq(text, "untouched");
}
END_TEST

START_TEST(test_big_numbers_and_one_host)
{
        static char *one[] = { (char *) "*", NULL };
        struct approval_fields f = good();
        char *text = NULL;

        f.grant = INT64_MAX;
        f.duration = UINT64_MAX;
        f.requested = INT64_MAX;
        f.hosts = one;
        ck_assert_int_eq(approval_text(&f, &text), 0);
        ck_assert_str_eq(text,
                         "pam_jit approval v1\n"
                         "grant 9223372036854775807\n"
                         "user alice\n"
                         "role web-admin\n"
                         "hosts *\n"
                         "duration 18446744073709551615\n"
                         "ticket CHG-1234\n"
                         "requested 9223372036854775807\n"
                         "approver bob\n");
        ck_assert_uint_le(strlen(text), APPROVAL_TEXT_MAX);
        free(text);
}
END_TEST

START_TEST(test_no_ticket_is_dash)
{
        struct approval_fields f = good();
        char *a = NULL, *b = NULL;

        f.ticket = NULL;
        ck_assert_int_eq(approval_text(&f, &a), 0);
        f.ticket = "";
        ck_assert_int_eq(approval_text(&f, &b), 0);
        ck_assert_str_eq(a, b);
        ck_assert_ptr_nonnull(strstr(a, "\nticket -\nrequested "));
        free(a);
        free(b);
        /* A ticket named "-" would read as no ticket. */
        f.ticket = "-";
        refused(&f, "ticket \"-\"");
}
END_TEST

START_TEST(test_empty_fields)
{
        static char *none[] = { NULL };
        static char *empty_pattern[] = { (char *) "web*", (char *) "", NULL };
        struct approval_fields f;

        f = good(), f.user = "";
        refused(&f, "empty user");
        f = good(), f.user = NULL;
        refused(&f, "no user");
        f = good(), f.role = "";
        refused(&f, "empty role");
        f = good(), f.approver = "";
        refused(&f, "empty approver");
        f = good(), f.approver = NULL;
        refused(&f, "no approver");
        f = good(), f.hosts = NULL;
        refused(&f, "no hosts");
        f = good(), f.hosts = none;
        refused(&f, "an empty host list");
        f = good(), f.hosts = empty_pattern;
        refused(&f, "an empty host pattern");
        f = good(), f.grant = 0;
        refused(&f, "grant 0");
        f = good(), f.grant = -1;
        refused(&f, "grant -1");
        f = good(), f.duration = 0;
        refused(&f, "duration 0");
        f = good(), f.requested = 0;
        refused(&f, "requested 0");
        f = good(), f.requested = -5;
        refused(&f, "requested -5");
        ck_assert_int_eq(approval_text(NULL, &(char *) { NULL }), -EINVAL);
        f = good();
        ck_assert_int_eq(approval_text(&f, NULL), -EINVAL);
}
END_TEST

/* Every byte below 0x20 and 0x7f, in every text field, at the start, in the
 * middle and at the end. */
START_TEST(test_control_bytes)
{
        for (int c = 1; c < 0x80; c++) {
                if (c >= 0x20 && c < 0x7f)
                        continue;
                for (int where = 0; where < 3; where++) {
                        char v[8], pattern[8];
                        char *hosts[] = { (char *) "web*", pattern, NULL };
                        struct approval_fields f;
                        char what[64];

                        if (where == 0)
                                snprintf(v, sizeof(v), "%cab", c);
                        else if (where == 1)
                                snprintf(v, sizeof(v), "a%cb", c);
                        else
                                snprintf(v, sizeof(v), "ab%c", c);
                        memcpy(pattern, v, sizeof(v));
                        snprintf(what, sizeof(what), "byte 0x%02x at %d", c, where);
                        f = good(), f.user = v;
                        refused(&f, what);
                        f = good(), f.role = v;
                        refused(&f, what);
                        f = good(), f.ticket = v;
                        refused(&f, what);
                        f = good(), f.approver = v;
                        refused(&f, what);
                        f = good(), f.hosts = hosts;
                        refused(&f, what);
                }
        }
}
END_TEST

/* What the byte rule leaves, valid_text refuses too: bytes that are not
 * UTF-8, C1 controls, a bidi override that would show a different line. */
START_TEST(test_not_plain_text)
{
        static const char *const bad[] = { "al\xff" "ice", "ali\xc2\x85" "ce", "web\xe2\x80\xae" "nimda",
                                           "\xc3" };
        struct approval_fields f;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                f = good(), f.user = bad[i];
                refused(&f, bad[i]);
                f = good(), f.role = bad[i];
                refused(&f, bad[i]);
                f = good(), f.approver = bad[i];
                refused(&f, bad[i]);
        }
}
END_TEST

START_TEST(test_comma_in_pattern)
{
        static char *hosts[] = { (char *) "web*,db*", NULL };
        static char *two[] = { (char *) "web*", (char *) "db*", NULL };
        struct approval_fields f = good();
        char *text = NULL;

        f.hosts = hosts;
        refused(&f, "a comma inside one pattern");
        /* The same text as a list of two: that is why the comma is refused. */
        f.hosts = two;
        ck_assert_int_eq(approval_text(&f, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "\nhosts web*,db*\n"));
        free(text);
}
END_TEST

/* max bytes pass, max + 1 do not. */
static void check_limit(const char *name, size_t max)
{
        char *ok = repeat('a', max), *over = repeat('a', max + 1), *text = NULL;
        struct approval_fields f = good();
        const char **field = strcmp(name, "user") == 0 ? &f.user :
                             strcmp(name, "role") == 0 ? &f.role :
                             strcmp(name, "ticket") == 0 ? &f.ticket : &f.approver;

        *field = ok;
        ck_assert_msg(approval_text(&f, &text) == 0, "%s of %zu refused", name, max);
        free(text);
        *field = over;
        refused(&f, name);
        free(ok);
        free(over);
}

START_TEST(test_lengths)
{
        char *host = repeat('h', JIT_HOST_MAX), *long_host = repeat('h', JIT_HOST_MAX + 1), *text = NULL;
        char *one[] = { long_host, NULL };
        char *many[8] = { NULL };
        struct approval_fields f = good();
        size_t n = 0;

        check_limit("user", JIT_USER_MAX);
        check_limit("role", JIT_ROLE_MAX);
        check_limit("ticket", JIT_TICKET_MAX);
        check_limit("approver", JIT_USER_MAX);

        f.hosts = one;
        refused(&f, "a host pattern longer than JIT_HOST_MAX");
        /* Four patterns of 253 and commas: 1015 bytes; one more of 8 makes
         * 1024 (JIT_LIST_MAX) with its comma, one of 9 makes 1025. */
        for (int i = 0; i < 4; i++)
                many[n++] = host;
        many[n++] = (char *) "12345678";
        f.hosts = many;
        ck_assert_int_eq(approval_text(&f, &text), 0);
        free(text);
        many[n - 1] = (char *) "123456789";
        refused(&f, "hosts longer than JIT_LIST_MAX");
        free(host);
        free(long_host);
}
END_TEST

START_TEST(test_text_fields_pass_as_they_are)
{
        static char *hosts[] = { (char *) "Web-01.Example.COM", (char *) "db?", NULL };
        struct approval_fields f = good();
        char *text = NULL;

        /* Stored values are rendered as they are: no case folding, no
         * trimming, spaces inside kept (nothing here splits on them). */
        f.user = "Alice Smith";
        f.role = "web admin";
        f.ticket = "JIRA#12 ";
        f.hosts = hosts;
        f.approver = "bob.o'neil";
        ck_assert_int_eq(approval_text(&f, &text), 0);
        ck_assert_str_eq(text,
                         "pam_jit approval v1\n"
                         "grant 42\n"
                         "user Alice Smith\n"
                         "role web admin\n"
                         "hosts Web-01.Example.COM,db?\n"
                         "duration 3600\n"
                         "ticket JIRA#12 \n"
                         "requested 1700000000\n"
                         "approver bob.o'neil\n");
        free(text);
}
END_TEST

int main(void)
{
        Suite *su = suite_create("approval_text");
        TCase *tc = tcase_create("approval_text");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_exact_bytes);
        tcase_add_test(tc, test_extension_exact_bytes);
        tcase_add_test(tc, test_extension_refused);
        tcase_add_test(tc, test_big_numbers_and_one_host);
        tcase_add_test(tc, test_no_ticket_is_dash);
        tcase_add_test(tc, test_empty_fields);
        tcase_add_test(tc, test_control_bytes);
        tcase_add_test(tc, test_not_plain_text);
        tcase_add_test(tc, test_comma_in_pattern);
        tcase_add_test(tc, test_lengths);
        tcase_add_test(tc, test_text_fields_pass_as_they_are);
        suite_add_tcase(su, tc);
        sr = srunner_create(su);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
