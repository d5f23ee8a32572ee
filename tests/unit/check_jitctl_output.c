/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl: output formatting (tables, times, summaries, JSON, sanitising) and
 * command-line parsing. Runs with TZ=UTC so local times are predictable. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "duration.h"
#include "output.h"
#include "util.h"

/* 2026-11-23 14:05:00 UTC */
#define T0 INT64_C(1795442700)

/* A memory stream and what was written to it. */
struct capture {
        FILE *f;
        char *buf;
        size_t len;
};

static void capture_start(struct capture *c)
{
        c->buf = NULL;
        c->len = 0;
        c->f = open_memstream(&c->buf, &c->len);
        ck_assert_ptr_nonnull(c->f);
}

/* Closes the stream; the caller frees c->buf. */
static char *capture_end(struct capture *c)
{
        fclose(c->f);
        c->f = NULL;
        return c->buf;
}

static struct jit_grant grant_fixture(int64_t id, enum grant_state st)
{
        struct jit_grant g = {
                .id = id, .uid = 1000, .duration = 3600, .state = st,
                .requested_at = T0 - 60, .approvals_needed = 1,
        };

        strcpy(g.user, "alice");
        strcpy(g.host, "web01");
        strcpy(g.role, "web-admin");
        strcpy(g.ticket, "CHG123");
        strcpy(g.reason, "deploy fix");
        strcpy(g.approval, "peer");
        if (st == GRANT_ACTIVE) {
                strcpy(g.approvers, "bob");
                g.approved_at = T0;
                g.starts_at = T0;
                g.expires_at = T0 + 3600;
        }
        return g;
}

START_TEST(test_table_alignment)
{
        static const char *const headers[] = { "ID", "USER", "LEFT" };
        static const char *const r1[] = { "1", "a-very-long-user-name", "1h" };
        static const char *const r2[] = { "12345", "bo", "45s" };
        struct output_table *t = NULL;
        struct capture c;
        char *out;

        ck_assert_int_eq(output_table_new(3, headers, &t), 0);
        ck_assert_int_eq(output_table_add(t, r1), 0);
        ck_assert_int_eq(output_table_add(t, r2), 0);
        capture_start(&c);
        output_table_print(t, c.f);
        out = capture_end(&c);
        /* Widths from the widest cell, two spaces between, nothing trailing. */
        ck_assert_str_eq(out,
                         "ID     USER                   LEFT\n"
                         "1      a-very-long-user-name  1h\n"
                         "12345  bo                     45s\n");
        free(out);
        output_table_free(t);
}
END_TEST

START_TEST(test_table_narrow_values_and_utf8)
{
        static const char *const headers[] = { "TICKET", "X" };
        static const char *const r1[] = { "-", "Störung" };
        static const char *const r2[] = { "ÄÖ", "" };
        struct output_table *t = NULL;
        struct capture c;
        char *out;

        ck_assert_int_eq(output_table_new(2, headers, &t), 0);
        ck_assert_int_eq(output_table_add(t, r1), 0);
        ck_assert_int_eq(output_table_add(t, r2), 0);
        capture_start(&c);
        output_table_print(t, c.f);
        out = capture_end(&c);
        /* Headers wider than values; "ÄÖ" is 2 columns, not 4 bytes. */
        ck_assert_str_eq(out,
                         "TICKET  X\n"
                         "-       Störung\n"
                         "ÄÖ      \n");
        free(out);
        output_table_free(t);
}
END_TEST

START_TEST(test_table_sanitises_cells)
{
        static const char *const headers[] = { "A", "B" };
        static const char *const r1[] = { "x\ny\033[2J", "z" };
        struct output_table *t = NULL;
        struct capture c;
        char *out;

        ck_assert_int_eq(output_table_new(2, headers, &t), 0);
        ck_assert_int_eq(output_table_add(t, r1), 0);
        capture_start(&c);
        output_table_print(t, c.f);
        out = capture_end(&c);
        ck_assert_str_eq(out,
                         "A              B\n"
                         "x\\x0ay\\x1b[2J  z\n");
        free(out);
        output_table_free(t);
}
END_TEST

START_TEST(test_grants_table)
{
        struct jit_grant g[3] = {
                grant_fixture(6, GRANT_ACTIVE),
                grant_fixture(7, GRANT_PENDING),
                grant_fixture(123, GRANT_REVOKED),
        };
        struct capture c;
        char *out;

        strcpy(g[1].user, "a-very-long-user-name");
        g[1].approvals_needed = 2;
        strcpy(g[1].approvers, "carol");
        g[2].ticket[0] = '\0';
        g[2].ended_at = T0 + 5;
        capture_start(&c);
        ck_assert_int_eq(output_grants_table(c.f, g, 3, T0 + 60 + 31), 0);
        out = capture_end(&c);
        ck_assert_str_eq(out,
                "ID   USER                   ROLE       STATE          TICKET  STARTS            EXPIRES           LEFT\n"
                "6    alice                  web-admin  active         CHG123  2026-11-23 14:05  2026-11-23 15:05  58m29s\n"
                "7    a-very-long-user-name  web-admin  pending (1/2)  CHG123  -                 -                 -\n"
                "123  alice                  web-admin  revoked        -       -                 -                 -\n");
        free(out);
}
END_TEST

START_TEST(test_time_left)
{
        struct jit_grant g = grant_fixture(1, GRANT_ACTIVE);
        char buf[OUTPUT_TIME_MAX];

        g.expires_at = T0 + 5340;
        output_time_left(&g, T0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "1h29m");
        g.expires_at = T0 + 45;
        output_time_left(&g, T0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "45s");
        g.expires_at = T0 + 3599;
        output_time_left(&g, T0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "59m59s");
        g.expires_at = T0 + 2 * 86400 + 3600;
        output_time_left(&g, T0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "2d1h");
        /* Past its expiry but not yet ended by jitd. */
        g.expires_at = T0 - 10;
        output_time_left(&g, T0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "0s");
        /* Only active grants have time left. */
        g.expires_at = T0 + 60;
        g.state = GRANT_SCHEDULED;
        output_time_left(&g, T0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "-");
        g.state = GRANT_ACTIVE;
        g.expires_at = 0;
        output_time_left(&g, T0, buf, sizeof(buf));
        ck_assert_str_eq(buf, "-");
}
END_TEST

START_TEST(test_times)
{
        char buf[OUTPUT_TIME_MAX];

        output_local_time(T0, false, buf, sizeof(buf));
        ck_assert_str_eq(buf, "2026-11-23 14:05");
        output_local_time(T0 + 7, true, buf, sizeof(buf));
        ck_assert_str_eq(buf, "2026-11-23 14:05:07");
        output_local_time(0, false, buf, sizeof(buf));
        ck_assert_str_eq(buf, "-");
        ck_assert_int_eq(output_rfc3339(T0, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "2026-11-23T14:05:00Z");
        ck_assert_int_eq(output_rfc3339(0, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_state_and_approvals)
{
        struct jit_grant g = grant_fixture(1, GRANT_PENDING);
        char buf[48];

        output_state(&g, buf, sizeof(buf));
        ck_assert_str_eq(buf, "pending (0/1)");
        g.approvals_needed = 3;
        strcpy(g.approvers, "bob,carol");
        ck_assert_uint_eq(output_approvals_given(&g), 2);
        output_state(&g, buf, sizeof(buf));
        ck_assert_str_eq(buf, "pending (2/3)");
        /* Ticket-only approval: nothing to count. */
        g.approvals_needed = 0;
        output_state(&g, buf, sizeof(buf));
        ck_assert_str_eq(buf, "pending");
        g = grant_fixture(1, GRANT_ACTIVE);
        output_state(&g, buf, sizeof(buf));
        ck_assert_str_eq(buf, "active");
}
END_TEST

static char *summary(const struct jit_grant *g, int64_t now)
{
        struct capture c;

        capture_start(&c);
        output_grant_summary(c.f, g, now);
        return capture_end(&c);
}

START_TEST(test_summary)
{
        struct jit_grant g = grant_fixture(12, GRANT_PENDING);
        char *s;

        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is pending: needs 1 approval\n");
        free(s);
        g.approvals_needed = 2;
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is pending: needs 2 approvals\n");
        free(s);
        strcpy(g.approvers, "bob");
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is still pending: 1 of 2 approvals, needs 1 more\n");
        free(s);
        g.approvals_needed = 0;
        g.approvers[0] = '\0';
        strcpy(g.approval, "ticket");
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is pending: waiting for ticket approval\n");
        free(s);

        g = grant_fixture(12, GRANT_ACTIVE);
        g.expires_at = T0 + 3599;
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is active until 2026-11-23 15:04 (59m59s left)\n");
        free(s);
        g.break_glass = true;
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is active until 2026-11-23 15:04 (59m59s left) [break-glass]\n");
        free(s);
        g.break_glass = false;

        g.state = GRANT_SCHEDULED;
        g.starts_at = T0 + 600;
        g.expires_at = T0 + 4200;
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is scheduled from 2026-11-23 14:15 until 2026-11-23 15:15\n");
        free(s);

        g.state = GRANT_DENIED;
        strcpy(g.end_reason, "not during the freeze\033]0;owned\007");
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is denied: not during the freeze\\x1b]0;owned\\x07\n");
        free(s);

        g.state = GRANT_RELEASED;
        g.end_reason[0] = '\0';
        s = summary(&g, T0);
        ck_assert_str_eq(s, "grant 12 for web-admin is released\n");
        free(s);
}
END_TEST

START_TEST(test_show_sanitises_and_fills)
{
        struct jit_grant g = grant_fixture(9, GRANT_ACTIVE);
        struct capture c;
        char *out;

        strcpy(g.reason, "bad\x1b[31mred\x7f");
        g.expires_at = T0 + 45;
        capture_start(&c);
        output_grant_show(c.f, &g, T0);
        out = capture_end(&c);
        ck_assert_str_eq(out,
                         "id:          9\n"
                         "user:        alice\n"
                         "uid:         1000\n"
                         "host:        web01\n"
                         "role:        web-admin\n"
                         "ticket:      CHG123\n"
                         "reason:      bad\\x1b[31mred\\x7f\n"
                         "duration:    1h\n"
                         "state:       active\n"
                         "requested:   2026-11-23 14:04:00\n"
                         "approved:    2026-11-23 14:05:00\n"
                         "starts:      2026-11-23 14:05:00\n"
                         "expires:     2026-11-23 14:05:45 (45s left)\n"
                         "ended:       -\n"
                         "end reason:  -\n"
                         "approvers:   bob\n"
                         "approvals:   1/1\n"
                         "approval:    peer\n"
                         "break-glass: no\n"
                         "review:      -\n");
        free(out);
}
END_TEST

START_TEST(test_fputs_safe)
{
        struct capture c;
        char *out, *dup;

        capture_start(&c);
        output_fputs_safe("a\tb\rc\x01\x1f\x7f" "d é", c.f);
        output_fputs_safe(NULL, c.f);
        out = capture_end(&c);
        ck_assert_str_eq(out, "a\\x09b\\x0dc\\x01\\x1f\\x7f" "d é");
        free(out);
        dup = output_strdup_safe("x\ny");
        ck_assert_str_eq(dup, "x\\x0ay");
        free(dup);
}
END_TEST

START_TEST(test_json_unset_fields)
{
        struct jit_grant g = grant_fixture(7, GRANT_PENDING);
        struct json_object *o = NULL, *v;
        struct capture c;
        char *out;

        g.ticket[0] = '\0';
        g.reason[0] = '\0';
        ck_assert_int_eq(output_grant_json(&g, &o), 0);
        capture_start(&c);
        ck_assert_int_eq(output_json_print(c.f, o), 0);
        out = capture_end(&c);
        /* The whole documented shape, in order, one line. */
        ck_assert_str_eq(out,
                "{\"id\":7,\"user\":\"alice\",\"uid\":1000,\"host\":\"web01\",\"role\":\"web-admin\","
                "\"ticket\":null,\"reason\":\"\",\"duration\":3600,\"state\":\"pending\","
                "\"requested_at\":\"2026-11-23T14:04:00Z\",\"approved_at\":null,\"starts_at\":null,"
                "\"expires_at\":null,\"ended_at\":null,\"end_reason\":null,\"approvers\":[],"
                "\"approvals_needed\":1,\"approval\":\"peer\",\"break_glass\":false,\"review\":null}\n");
        free(out);

        ck_assert(json_object_object_get_ex(o, "ticket", &v));
        ck_assert_ptr_null(v);
        ck_assert(json_object_object_get_ex(o, "approvers", &v));
        ck_assert(json_object_is_type(v, json_type_array));
        ck_assert_uint_eq(json_object_array_length(v), 0);
        json_object_put(o);
}
END_TEST

START_TEST(test_json_set_fields)
{
        struct jit_grant g = grant_fixture(6, GRANT_REVOKED);
        struct json_object *o = NULL, *v;

        strcpy(g.ticket, "JIRA/CHG-1");
        strcpy(g.approvers, "bob,carol");
        strcpy(g.end_reason, "left \"the\" company\n");
        strcpy(g.review, "pending");
        g.break_glass = true;
        g.ended_at = T0;
        ck_assert_int_eq(output_grant_json(&g, &o), 0);
        ck_assert(json_object_object_get_ex(o, "approvers", &v));
        ck_assert_uint_eq(json_object_array_length(v), 2);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "carol");
        ck_assert(json_object_object_get_ex(o, "ended_at", &v));
        ck_assert_str_eq(json_object_get_string(v), "2026-11-23T14:05:00Z");
        ck_assert(json_object_object_get_ex(o, "break_glass", &v));
        ck_assert(json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v));
        ck_assert(json_object_object_get_ex(o, "review", &v));
        ck_assert_str_eq(json_object_get_string(v), "pending");
        /* No "\/" in tickets; control characters escaped by JSON itself. */
        ck_assert_ptr_nonnull(strstr(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE),
                                     "\"ticket\":\"JIRA/CHG-1\""));
        json_object_put(o);
}
END_TEST

START_TEST(test_json_list)
{
        struct jit_grant g[2] = { grant_fixture(1, GRANT_ACTIVE), grant_fixture(2, GRANT_PENDING) };
        struct json_object *a;
        struct capture c;
        char *out;

        capture_start(&c);
        ck_assert_int_eq(output_grants_json(c.f, g, 0), 0);
        out = capture_end(&c);
        ck_assert_str_eq(out, "[]\n");
        free(out);

        capture_start(&c);
        ck_assert_int_eq(output_grants_json(c.f, g, 2), 0);
        out = capture_end(&c);
        /* One line: the only newline is the last byte. */
        ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
        a = json_tokener_parse(out);
        ck_assert_ptr_nonnull(a);
        ck_assert_uint_eq(json_object_array_length(a), 2);
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(json_object_array_get_idx(a, 1), "id")), 2);
        json_object_put(a);
        free(out);
}
END_TEST

/* ---- issue 12, finding 11: bytes that reach other people's screens ------- */

/* A reason as a database row might hold it: a C1 CSI (UTF-8), a raw C1
 * byte, a right-to-left override, an isolate and a Latin-1 byte. */
#define HOSTILE "a\xc2\x9b" "2J b\x9b" "c \xe2\x80\xae" "exe.txt \xe2\x81\xa6" "d caf\xe9"
#define HOSTILE_SHOWN "a\\u009b2J b\\x9bc \\u202eexe.txt \\u2066d caf\\xe9"

/* No byte a terminal acts on, and nothing that is not UTF-8. */
static void assert_screen_safe(const char *out)
{
        size_t n = strlen(out), i = 0;

        while (i < n) {
                uint32_t cp;
                size_t k = utf8_decode(out + i, n - i, &cp);

                ck_assert_msg(k > 0, "not UTF-8 at byte %zu of \"%s\"", i, out);
                ck_assert_msg(cp == '\n' || !text_forbidden(cp), "U+%04X at byte %zu", (unsigned) cp, i);
                i += k;
        }
}

START_TEST(test_show_escapes_c1_bidi)
{
        struct jit_grant g = grant_fixture(9, GRANT_REVOKED);
        struct capture c;
        char *out;

        strcpy(g.reason, HOSTILE);
        strcpy(g.end_reason, "revoked \xe2\x80\xae" "kcab");
        capture_start(&c);
        output_grant_show(c.f, &g, T0);
        out = capture_end(&c);
        assert_screen_safe(out);
        ck_assert_ptr_nonnull(strstr(out, "reason:      " HOSTILE_SHOWN "\n"));
        ck_assert_ptr_nonnull(strstr(out, "end reason:  revoked \\u202ekcab\n"));
        free(out);

        capture_start(&c);
        output_grant_summary(c.f, &g, T0);
        out = capture_end(&c);
        assert_screen_safe(out);
        ck_assert_str_eq(out, "grant 9 for web-admin is revoked: revoked \\u202ekcab\n");
        free(out);
}
END_TEST

START_TEST(test_table_escapes_c1_bidi)
{
        struct jit_grant g = grant_fixture(9, GRANT_PENDING);
        struct capture c;
        char *out;

        /* Names and tickets are checked by jitd; a hand-written row need not be. */
        strcpy(g.user, "ev\xe2\x80\xae" "e");
        strcpy(g.ticket, "T\x9b" "1");
        capture_start(&c);
        ck_assert_int_eq(output_grants_table(c.f, &g, 1, T0), 0);
        out = capture_end(&c);
        assert_screen_safe(out);
        ck_assert_ptr_nonnull(strstr(out, "ev\\u202ee"));
        ck_assert_ptr_nonnull(strstr(out, "T\\x9b1"));
        free(out);
}
END_TEST

/* Strict parse: json-c with UTF-8 validation, nothing after the value. */
static struct json_object *parse_strict(const char *text)
{
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o;
        size_t n = strlen(text);

        while (n > 0 && text[n - 1] == '\n')
                n--;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int) n);
        ck_assert_msg(o && json_tokener_get_error(tok) == json_tokener_success &&
                      json_tokener_get_parse_end(tok) == n, "not valid JSON: %s", text);
        json_tokener_free(tok);
        return o;
}

START_TEST(test_json_always_valid)
{
        struct jit_grant g[2] = { grant_fixture(1, GRANT_ACTIVE), grant_fixture(2, GRANT_REVOKED) };
        struct json_object *a, *v;
        struct capture c;
        char *out;

        strcpy(g[0].reason, HOSTILE);
        strcpy(g[1].reason, "\xff\xfe\xed\xa0\x80 and \x7f");
        strcpy(g[1].end_reason, "\"quoted\" \\ \x01");
        capture_start(&c);
        ck_assert_int_eq(output_grants_json(c.f, g, 2), 0);
        out = capture_end(&c);
        /* One line, valid UTF-8 with no control, C1 or bidi character raw. */
        ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
        assert_screen_safe(out);
        a = parse_strict(out);
        /* Forbidden code points travel as escapes: the same string to a parser. */
        v = json_object_object_get(json_object_array_get_idx(a, 0), "reason");
        ck_assert_str_eq(json_object_get_string(v), "a\xc2\x9b" "2J b\xef\xbf\xbd" "c \xe2\x80\xae" "exe.txt \xe2\x81\xa6"
                                                    "d caf\xef\xbf\xbd");
        /* Bytes that are not UTF-8 become U+FFFD, one each. */
        v = json_object_object_get(json_object_array_get_idx(a, 1), "reason");
        ck_assert_str_eq(json_object_get_string(v), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd and \x7f");
        v = json_object_object_get(json_object_array_get_idx(a, 1), "end_reason");
        ck_assert_str_eq(json_object_get_string(v), "\"quoted\" \\ \x01");
        ck_assert_ptr_nonnull(strstr(out, "\\u202e"));
        ck_assert_ptr_nonnull(strstr(out, "\\u009b"));
        json_object_put(a);
        free(out);
}
END_TEST

START_TEST(test_parse_id)
{
        int64_t id = 0;

        ck_assert_int_eq(jitctl_parse_id("12", &id), 0);
        ck_assert_int_eq(id, 12);
        ck_assert_int_eq(jitctl_parse_id("9223372036854775807", &id), 0);
        ck_assert_int_eq(id, INT64_MAX);
        ck_assert_int_eq(jitctl_parse_id("9223372036854775808", &id), -ERANGE);
        ck_assert_int_eq(jitctl_parse_id("0", &id), -ERANGE);
        ck_assert_int_eq(jitctl_parse_id("-1", &id), -EINVAL);
        ck_assert_int_eq(jitctl_parse_id("+1", &id), -EINVAL);
        ck_assert_int_eq(jitctl_parse_id(" 1", &id), -EINVAL);
        ck_assert_int_eq(jitctl_parse_id("1 ", &id), -EINVAL);
        ck_assert_int_eq(jitctl_parse_id("12a", &id), -EINVAL);
        ck_assert_int_eq(jitctl_parse_id("0x10", &id), -EINVAL);
        ck_assert_int_eq(jitctl_parse_id("", &id), -EINVAL);
        ck_assert_int_eq(jitctl_parse_id(NULL, &id), -EINVAL);
}
END_TEST

/* Run jitctl_parse_args on a verb's words; *err gets what it printed. */
static int parse(const char *verb, struct jitctl_args *a, char **err, struct jitctl_ctx *ctx_out,
                 const char *const *words)
{
        struct jitctl_ctx ctx = { .socket = "/nonexistent", .timeout_ms = 100 };
        char *argv[16];
        int argc = 0, r;
        struct capture ce, co;

        argv[argc++] = (char *) verb;
        for (; words && *words; words++)
                argv[argc++] = (char *) *words;
        argv[argc] = NULL;
        capture_start(&ce);
        capture_start(&co);
        ctx.err = ce.f;
        ctx.out = co.f;
        r = jitctl_parse_args(&ctx, cmd_find(verb), argc, argv, a);
        *err = capture_end(&ce);
        free(capture_end(&co));
        if (ctx_out)
                *ctx_out = ctx;
        return r;
}

#define WORDS(...) ((const char *const[]) { __VA_ARGS__, NULL })

START_TEST(test_parse_args)
{
        struct jitctl_args a;
        struct jitctl_ctx ctx;
        char *err;

        /* Options after the positional argument. */
        ck_assert_int_eq(parse("show", &a, &err, NULL, WORDS("12", "--json")), 0);
        ck_assert_int_eq(a.id, 12);
        ck_assert(a.json);
        free(err);
        ck_assert_int_eq(parse("deny", &a, &err, NULL, WORDS("-m", "freeze", "5")), 0);
        ck_assert_int_eq(a.id, 5);
        ck_assert_str_eq(a.message, "freeze");
        free(err);

        ck_assert_int_eq(parse("request", &a, &err, NULL, WORDS("-r", "web-admin", "-d", "1h30m", "--wait")), 0);
        ck_assert_str_eq(a.role, "web-admin");
        ck_assert_uint_eq(a.duration, 5400);
        ck_assert_uint_eq(a.wait, JITCTL_WAIT_DEFAULT);
        free(err);
        ck_assert_int_eq(parse("request", &a, &err, NULL, WORDS("--wait=30s")), 0);
        ck_assert_uint_eq(a.wait, 30);
        ck_assert_uint_eq(a.duration, 0);
        free(err);

        ck_assert_int_eq(parse("release", &a, &err, NULL, NULL), 0);
        ck_assert_int_eq(a.id, 0);
        free(err);

        ck_assert_int_eq(parse("list", &a, &err, &ctx, WORDS("--all", "--state", "expired", "-s", "/tmp/s")), 0);
        ck_assert(a.all);
        ck_assert_str_eq(a.state, "expired");
        ck_assert_str_eq(ctx.socket, "/tmp/s");
        free(err);

        /* Names and texts are jitd's to judge: passed through as typed. */
        ck_assert_int_eq(parse("request", &a, &err, NULL, WORDS("-t", "CHG1;id", "-r", "web admin,ALL")), 0);
        ck_assert_str_eq(a.ticket, "CHG1;id");
        ck_assert_str_eq(a.role, "web admin,ALL");
        ck_assert_str_eq(err, "");
        free(err);
        ck_assert_int_eq(parse("check", &a, &err, NULL, WORDS("alice", "-S", "sshd")), 0);
        ck_assert_str_eq(a.pos[0], "alice");
        ck_assert_str_eq(a.service, "sshd");
        free(err);

        ck_assert_int_eq(parse("show", &a, &err, NULL, WORDS("-h")), 1);
        free(err);
}
END_TEST

START_TEST(test_parse_args_errors)
{
        struct jitctl_args a;
        char *err;

        ck_assert_int_eq(parse("request", &a, &err, NULL, WORDS("-d", "1x")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "invalid duration '1x': "));
        ck_assert_ptr_nonnull(strstr(err, duration_strerror(-EINVAL)));
        ck_assert_ptr_nonnull(strstr(err, "usage: jitctl request"));
        free(err);

        ck_assert_int_eq(parse("deny", &a, &err, NULL, WORDS("12")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "jitctl: deny needs -m NOTE\n"));
        free(err);
        ck_assert_int_eq(parse("revoke", &a, &err, NULL, WORDS("12", "-m", "")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "jitctl: revoke needs -m REASON\n"));
        free(err);

        ck_assert_int_eq(parse("show", &a, &err, NULL, WORDS("12x")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "invalid grant ID '12x'"));
        free(err);
        ck_assert_int_eq(parse("show", &a, &err, NULL, NULL), CMD_E_USAGE);
        free(err);
        ck_assert_int_eq(parse("show", &a, &err, NULL, WORDS("1", "2")), CMD_E_USAGE);
        free(err);
        ck_assert_int_eq(parse("list", &a, &err, NULL, WORDS("--ticket", "X")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "list does not take --ticket"));
        free(err);
        ck_assert_int_eq(parse("list", &a, &err, NULL, WORDS("--state", "bogus")), CMD_E_USAGE);
        free(err);
        ck_assert_int_eq(parse("request", &a, &err, NULL, WORDS("-d")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "option '-d' needs a value"));
        free(err);
        ck_assert_int_eq(parse("request", &a, &err, NULL, WORDS("--wait=0s")), CMD_E_USAGE);
        free(err);
        ck_assert_int_eq(parse("extend", &a, &err, NULL, WORDS("3", "-m", "more")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "extend needs -d DURATION"));
        free(err);
        ck_assert_int_eq(parse("break-glass", &a, &err, NULL, WORDS("-r", "web-admin")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "break-glass needs -m REASON"));
        free(err);
        ck_assert_int_eq(parse("check", &a, &err, NULL, WORDS("")), CMD_E_USAGE);
        ck_assert_ptr_nonnull(strstr(err, "check needs USER"));
        free(err);
        /* The error text never carries raw control characters. */
        ck_assert_int_eq(parse("show", &a, &err, NULL, WORDS("\033[2J")), CMD_E_USAGE);
        ck_assert_ptr_null(strchr(err, '\033'));
        free(err);
}
END_TEST

START_TEST(test_verbs_table)
{
        static const char *const names[] = {
                "request", "list", "show", "approve", "deny", "cancel", "release", "revoke",
                "extend", "break-glass", "check", "status",
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                const struct cmd_verb *v = cmd_find(names[i]);

                ck_assert_ptr_nonnull(v);
                ck_assert_ptr_nonnull(v->run);
                ck_assert_int_eq(strncmp(v->usage, names[i], strlen(names[i])), 0);
        }
        ck_assert_ptr_null(cmd_find("frobnicate"));
        ck_assert_ptr_null(cmd_find(NULL));
}
END_TEST

START_TEST(test_unreachable)
{
        struct jitctl_ctx ctx = { .socket = "/nonexistent/jitd.sock", .timeout_ms = 100 };
        char *argv[] = { (char *) "show", (char *) "12", NULL };
        struct capture ce, co;
        char *err, *out;
        int r;

        capture_start(&ce);
        capture_start(&co);
        ctx.err = ce.f;
        ctx.out = co.f;
        r = cmd_show(&ctx, cmd_find("show"), 2, argv);
        err = capture_end(&ce);
        out = capture_end(&co);
        ck_assert_int_eq(r, CMD_E_UNREACHABLE);
        ck_assert_str_eq(err, "jitctl: cannot reach jitd at /nonexistent/jitd.sock: No such file or directory\n");
        ck_assert_str_eq(out, "");
        free(err);
        free(out);
}
END_TEST

/* What the protocol cannot carry is refused before connecting, as a refusal
 * (exit 1) like jitd's own, not as "jitd unreachable". */
START_TEST(test_unsendable_text)
{
        struct jitctl_ctx ctx = { .socket = "/nonexistent/jitd.sock", .timeout_ms = 100 };
        char *argv[] = { (char *) "request", (char *) "-t", (char *) "CHG1\nalice ALL=(ALL) ALL", NULL };
        struct capture ce, co;
        char *err;
        int r;

        capture_start(&ce);
        capture_start(&co);
        ctx.err = ce.f;
        ctx.out = co.f;
        r = cmd_request(&ctx, cmd_find("request"), 3, argv);
        err = capture_end(&ce);
        free(capture_end(&co));
        ck_assert_int_eq(r, CMD_E_FAILED);
        ck_assert_str_eq(err, "jitctl: invalid ticket: control characters are not allowed\n");
        free(err);
}
END_TEST

static Suite *jitctl_suite(void)
{
        Suite *s = suite_create("jitctl_output");
        TCase *tc = tcase_create("output");
        TCase *ta = tcase_create("args");

        tcase_add_test(tc, test_table_alignment);
        tcase_add_test(tc, test_table_narrow_values_and_utf8);
        tcase_add_test(tc, test_table_sanitises_cells);
        tcase_add_test(tc, test_grants_table);
        tcase_add_test(tc, test_time_left);
        tcase_add_test(tc, test_times);
        tcase_add_test(tc, test_state_and_approvals);
        tcase_add_test(tc, test_summary);
        tcase_add_test(tc, test_show_sanitises_and_fills);
        tcase_add_test(tc, test_fputs_safe);
        tcase_add_test(tc, test_json_unset_fields);
        tcase_add_test(tc, test_json_set_fields);
        tcase_add_test(tc, test_json_list);
        tcase_add_test(tc, test_show_escapes_c1_bidi);
        tcase_add_test(tc, test_table_escapes_c1_bidi);
        tcase_add_test(tc, test_json_always_valid);
        suite_add_tcase(s, tc);
        tcase_add_test(ta, test_parse_id);
        tcase_add_test(ta, test_parse_args);
        tcase_add_test(ta, test_parse_args_errors);
        tcase_add_test(ta, test_verbs_table);
        tcase_add_test(ta, test_unreachable);
        tcase_add_test(ta, test_unsendable_text);
        suite_add_tcase(s, ta);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        setenv("TZ", "UTC", 1);
        tzset();
        sr = srunner_create(jitctl_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
