/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/util.c: name validators, string vectors, clocks. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* A string of n copies of c (n < 1024), in a rotating static buffer. */
static char *rep(char c, size_t n)
{
        static char bufs[4][1024];
        static unsigned next;
        char *b = bufs[next++ % ELEMENTSOF(bufs)];

        ck_assert_uint_lt(n, sizeof(bufs[0]));
        memset(b, c, n);
        b[n] = '\0';
        return b;
}

/* first followed by n - 1 copies of c. */
static const char *rep_after(char first, char c, size_t n)
{
        char *b = rep(c, n);

        if (n)
                b[0] = first;
        return b;
}

/* ---- valid_user_name ------------------------------------------------------ */

static const char *const good_users[] = {
        "alice", "_svc", "a.b-c", "user$", "a", "_", "bob42", "a_b", "svc-backup", "x$",
        "abcdefghijklmnopqrstuvwxyz012345",     /* 32 */
        "web01$",
};

static const char *const bad_users[] = {
        "", "Alice", "aLICE", "1abc", "-abc", ".abc", "$", "$abc", "al ice", " alice", "alice ",
        "al\nice", "alice\n", "al\tice", "%wheel", "+netgroup", "#1000", "a,b", "a:b", "a=b", "ALL",
        "a\\b", "a/b", "a'b", "a\"b", "a!b", "a@b", "a$b", "a$$", "root\x7f", "\xc3\xa9lise",
        "al\xc3\xa9", "a;b", "a*", "a(b)", "a\x01",
        "abcdefghijklmnopqrstuvwxyz0123456",    /* 33 */
};

START_TEST(test_user_good)
{
        ck_assert_msg(valid_user_name(good_users[_i]), "refused \"%s\"", good_users[_i]);
}
END_TEST

START_TEST(test_user_bad)
{
        ck_assert_msg(!valid_user_name(bad_users[_i]), "accepted \"%s\"", bad_users[_i]);
}
END_TEST

START_TEST(test_user_limits)
{
        ck_assert(!valid_user_name(NULL));
        ck_assert(valid_user_name(rep('a', JIT_USER_MAX)));
        ck_assert(!valid_user_name(rep('a', JIT_USER_MAX + 1)));
        ck_assert(!valid_user_name(rep('a', 200)));
        /* "$" counts towards the limit. */
        {
                char s[JIT_USER_MAX + 2];

                memset(s, 'a', JIT_USER_MAX - 1);
                strcpy(s + JIT_USER_MAX - 1, "$");
                ck_assert(valid_user_name(s));
                memset(s, 'a', JIT_USER_MAX);
                strcpy(s + JIT_USER_MAX, "$");
                ck_assert(!valid_user_name(s));
        }
        /* Every byte outside [a-z0-9_.-] is refused in the middle of a name. */
        for (unsigned c = 1; c < 256; c++) {
                char s[4] = { 'a', (char) c, 'b', '\0' };
                bool want = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';

                ck_assert_msg(valid_user_name(s) == want, "byte 0x%02x", c);
        }
}
END_TEST

/* ---- valid_role_name ------------------------------------------------------ */

static const char *const good_roles[] = {
        "dba", "DBA", "db-admin", "Ops.Team_1", "9lives", "a", "0", "prod.db.rw", "A-_.",
};

static const char *const bad_roles[] = {
        "", "-dba", "_dba", ".dba", "db admin", "dba ", " dba", "db/admin", "db$", "db:rw", "db,rw",
        "db\n", "db\t", "db\x7f", "r\xc3\xb4le", "%admins", "ALL ", "a;b", "a`b", "a'b",
};

START_TEST(test_role_good)
{
        ck_assert_msg(valid_role_name(good_roles[_i]), "refused \"%s\"", good_roles[_i]);
}
END_TEST

START_TEST(test_role_bad)
{
        ck_assert_msg(!valid_role_name(bad_roles[_i]), "accepted \"%s\"", bad_roles[_i]);
}
END_TEST

START_TEST(test_role_limits)
{
        ck_assert(!valid_role_name(NULL));
        ck_assert(valid_role_name(rep('r', JIT_ROLE_MAX)));
        ck_assert(!valid_role_name(rep('r', JIT_ROLE_MAX + 1)));
        ck_assert(valid_role_name(rep_after('R', '-', JIT_ROLE_MAX)));
}
END_TEST

/* ---- valid_ticket --------------------------------------------------------- */

static const char *const good_tickets[] = {
        "", "JIRA-123", "INC0012345", "OPS-1", "1", "a", "CHG:42", "proj/42", "issue#7",
        "https://jira.example.com/browse/OPS-1", "T_1.2",
};

static const char *const bad_tickets[] = {
        " ", "OPS 1", " OPS-1", "OPS-1 ", "a;b", "$(id)", "a$(id)", "a$b", "`id`", "a`id`", "'x'", "a'b",
        "\"x\"", "a\"b", "a\nb", "OPS-1\n", "a\tb", "a\rb", "-x", "#1", "/etc", ":x", "_x", ".x",
        "a|b", "a&b", "a>b", "a<b", "a\\b", "a*", "a?", "a,b", "a=b", "a!b", "a%b", "a\x7f",
        "\xc3\xa9", "a{b}", "a(b)", "a[b]", "a~b",
};

START_TEST(test_ticket_good)
{
        ck_assert_msg(valid_ticket(good_tickets[_i]), "refused \"%s\"", good_tickets[_i]);
}
END_TEST

START_TEST(test_ticket_bad)
{
        ck_assert_msg(!valid_ticket(bad_tickets[_i]), "accepted \"%s\"", bad_tickets[_i]);
}
END_TEST

START_TEST(test_ticket_limits)
{
        ck_assert(!valid_ticket(NULL));
        ck_assert(valid_ticket(rep('7', JIT_TICKET_MAX)));
        ck_assert(!valid_ticket(rep('7', JIT_TICKET_MAX + 1)));
        ck_assert(!valid_ticket(rep_after('A', '-', 65)));
        ck_assert(valid_ticket(rep_after('A', '#', 64)));
}
END_TEST

/* ---- valid_text ----------------------------------------------------------- */

START_TEST(test_text)
{
        ck_assert(valid_text("", 0));
        ck_assert(valid_text("", 10));
        ck_assert(valid_text("restore the orders table", 512));
        ck_assert(valid_text("naïve – 修理 ✓ 🚑", 512));
        ck_assert(valid_text("quotes ' \" ` $(x) ; | & < > \\ are fine in text", 512));
        ck_assert(valid_text(" ~", 2));
        ck_assert(!valid_text(NULL, 512));

        /* Length is counted in bytes, the limit is inclusive. */
        ck_assert(valid_text("abc", 3));
        ck_assert(!valid_text("abc", 2));
        ck_assert(!valid_text("x", 0));
        ck_assert(valid_text(rep('x', JIT_REASON_MAX), JIT_REASON_MAX));
        ck_assert(!valid_text(rep('x', JIT_REASON_MAX + 1), JIT_REASON_MAX));
        ck_assert(valid_text("\xc3\xa9\xc3\xa9", 4));
        ck_assert(!valid_text("\xc3\xa9\xc3\xa9", 3));

        /* Every control character, anywhere. */
        for (unsigned c = 1; c < 0x20; c++) {
                char mid[4] = { 'a', (char) c, 'b', '\0' }, end[3] = { 'a', (char) c, '\0' };

                ck_assert_msg(!valid_text(mid, 512), "byte 0x%02x accepted", c);
                ck_assert_msg(!valid_text(end, 512), "byte 0x%02x accepted at the end", c);
                ck_assert_msg(!valid_text(mid + 1, 512), "byte 0x%02x accepted at the start", c);
        }
        ck_assert(!valid_text("a\x7f" "b", 512));
        ck_assert(!valid_text("\x7f", 512));
        ck_assert(!valid_text("\x1b[2J", 512));
        ck_assert(!valid_text("ab\n", 10));
        /* A byte 0x80..0xff alone is never UTF-8. */
        for (unsigned c = 0x80; c < 0x100; c++) {
                char s[4] = { 'a', (char) c, 'b', '\0' };

                ck_assert_msg(!valid_text(s, 512), "lone byte 0x%02x accepted", c);
                ck_assert_msg(!valid_text(s + 1, 512), "lone byte 0x%02x accepted at the start", c);
        }
}
END_TEST

/* ---- UTF-8 and forbidden code points (issue 12, finding 11) --------------- */

static const struct {
        const char *s;
        size_t n;               /* bytes used; 0: not UTF-8 */
        uint32_t cp;
} utf8_cases[] = {
        { "A", 1, 0x41 },
        { "\x7f", 1, 0x7f },
        { "\xc2\x80", 2, 0x80 },
        { "\xc3\xa9", 2, 0xe9 },
        { "\xdf\xbf", 2, 0x7ff },
        { "\xe0\xa0\x80", 3, 0x800 },
        { "\xe2\x80\xae", 3, 0x202e },
        { "\xed\x9f\xbf", 3, 0xd7ff },
        { "\xee\x80\x80", 3, 0xe000 },
        { "\xef\xbf\xbd", 3, 0xfffd },
        { "\xef\xbf\xbf", 3, 0xffff },
        { "\xf0\x90\x80\x80", 4, 0x10000 },
        { "\xf0\x9f\x9a\x91", 4, 0x1f691 },
        { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
        /* overlong forms */
        { "\xc0\x80", 0, 0 }, { "\xc0\xaf", 0, 0 }, { "\xc1\xbf", 0, 0 },
        { "\xe0\x80\xaf", 0, 0 }, { "\xe0\x9f\xbf", 0, 0 }, { "\xf0\x80\x80\xaf", 0, 0 },
        { "\xf0\x8f\xbf\xbf", 0, 0 },
        /* surrogates */
        { "\xed\xa0\x80", 0, 0 }, { "\xed\xbf\xbf", 0, 0 }, { "\xed\xad\xbf", 0, 0 },
        /* past U+10FFFF */
        { "\xf4\x90\x80\x80", 0, 0 }, { "\xf5\x80\x80\x80", 0, 0 }, { "\xf7\xbf\xbf\xbf", 0, 0 },
        { "\xf8\x88\x80\x80\x80", 0, 0 }, { "\xfc\x84\x80\x80\x80\x80", 0, 0 },
        /* stray continuation bytes, bytes that never appear, cut sequences */
        { "\x80", 0, 0 }, { "\xbf", 0, 0 }, { "\xfe", 0, 0 }, { "\xff", 0, 0 },
        { "\xc3", 0, 0 }, { "\xc3" "A", 0, 0 }, { "\xe2\x80", 0, 0 }, { "\xe2\x80" "A", 0, 0 },
        { "\xf0\x9f\x9a", 0, 0 }, { "\xf0\x9f\x9a" "A", 0, 0 }, { "\xe2\xc3\xa9", 0, 0 },
};

START_TEST(test_utf8_decode)
{
        const char *s = utf8_cases[_i].s;
        uint32_t cp = 0xdeadbeef;
        size_t n = utf8_decode(s, strlen(s), &cp);

        ck_assert_msg(n == utf8_cases[_i].n, "case %d: %zu bytes, want %zu", _i, n, utf8_cases[_i].n);
        if (n) {
                ck_assert_msg(cp == utf8_cases[_i].cp, "case %d: U+%04X", _i, (unsigned) cp);
                /* The limit n is honoured: one byte short is not a character. */
                ck_assert_uint_eq(utf8_decode(s, n - 1, &cp), 0);
        }
        ck_assert_uint_eq(utf8_decode(s, 0, &cp), 0);
        /* valid_text agrees with the decoder, for what is not forbidden. */
        if (n == strlen(s) && !text_forbidden(utf8_cases[_i].cp))
                ck_assert_msg(valid_text(s, 16), "case %d refused", _i);
        else if (n == 0)
                ck_assert_msg(!valid_text(s, 16), "case %d accepted", _i);
}
END_TEST

START_TEST(test_utf8_exhaustive)
{
        /* Every code point: encoded the standard way it decodes to itself,
         * with the length RFC 3629 gives; surrogates have no encoding. */
        for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
                unsigned char b[4];
                size_t len;
                uint32_t got = 0;

                if (cp < 0x80) {
                        b[0] = (unsigned char) cp;
                        len = 1;
                } else if (cp < 0x800) {
                        b[0] = (unsigned char) (0xc0 | cp >> 6);
                        b[1] = (unsigned char) (0x80 | (cp & 0x3f));
                        len = 2;
                } else if (cp < 0x10000) {
                        b[0] = (unsigned char) (0xe0 | cp >> 12);
                        b[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                        b[2] = (unsigned char) (0x80 | (cp & 0x3f));
                        len = 3;
                } else {
                        b[0] = (unsigned char) (0xf0 | cp >> 18);
                        b[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
                        b[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                        b[3] = (unsigned char) (0x80 | (cp & 0x3f));
                        len = 4;
                }
                if (cp >= 0xd800 && cp <= 0xdfff) {
                        ck_assert_msg(utf8_decode((const char *) b, len, &got) == 0, "surrogate U+%04X", cp);
                        continue;
                }
                ck_assert_msg(utf8_decode((const char *) b, len, &got) == len && got == cp, "U+%04X", cp);
        }
}
END_TEST

START_TEST(test_text_forbidden)
{
        static const uint32_t bad[] = {
                0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x8d, 0x9b, 0x9f,
                0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
                0x2066, 0x2067, 0x2068, 0x2069,
        };
        static const uint32_t good[] = {
                0x20, 0x41, 0x7e, 0xa0, 0xe9, 0x061b, 0x061d, 0x200d, 0x2010, 0x2027, 0x202f, 0x2065,
                0x206a, 0x4fee, 0xfeff, 0xfffd, 0x1f691, 0x10ffff,
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(text_forbidden(bad[i]), "U+%04X allowed", bad[i]);
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(!text_forbidden(good[i]), "U+%04X forbidden", good[i]);
}
END_TEST

START_TEST(test_text_c1_bidi)
{
        /* What the hostile reasons of finding 11 were made of. */
        static const char *const bad[] = {
                "restore \xc2\x9b" "2J the table",     /* CSI as a C1 control, UTF-8 encoded */
                "restore \x9b" "2J the table",         /* CSI as a raw byte: not UTF-8 */
                "\xc2\x85",                           /* NEL: a new line to some */
                "fix \xe2\x80\xae" "txt.exe",          /* RIGHT-TO-LEFT OVERRIDE */
                "\xe2\x80\xaa" "x", "\xe2\x80\xab" "x", "\xe2\x80\xac", "\xe2\x80\xad" "x",
                "\xe2\x81\xa6" "x", "\xe2\x81\xa7" "x", "\xe2\x81\xa8" "x", "x\xe2\x81\xa9",
                "\xe2\x80\x8e", "\xe2\x80\x8f", "\xd8\x9c",        /* LRM, RLM, ALM */
                "a\xe2\x80\xa8" "b", "a\xe2\x80\xa9" "b",              /* LS, PS */
                "caf\xe9",                                /* Latin-1, not UTF-8 */
                "\xed\xa0\xbd\xed\xb8\x80",                 /* CESU-8 surrogate pair */
                "\xc0\xa2 event=x",                      /* overlong '"' */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!valid_text(bad[i], 512), "case %zu accepted", i);
        ck_assert(valid_text("\xe2\x80\x8d zero width joiner and \xc2\xa0 no-break space", 512));
        ck_assert(valid_text("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85", 512));  /* Hebrew, Arabic */
        /* valid_text_n: embedded NUL and exact length. */
        ck_assert(!valid_text_n("a\0b", 3));
        ck_assert(valid_text_n("ab", 2));
        ck_assert(valid_text_n("", 0));
        ck_assert(!valid_text_n(NULL, 0));
        ck_assert(!valid_text_n("\xc3\xa9", 1));
}
END_TEST

START_TEST(test_text_escape)
{
        static const struct {
                const char *in;
                unsigned flags;
                const char *out;
        } cases[] = {
                { "plain text", 0, "plain text" },
                { "", 0, "" },
                { "na\xc3\xafve \xf0\x9f\x9a\x91", 0, "na\xc3\xafve \xf0\x9f\x9a\x91" },
                { "a\tb\nc\x1b[2J\x7f", 0, "a\\x09b\\x0ac\\x1b[2J\\x7f" },
                { "x\xc2\x9by", 0, "x\\u009by" },
                { "x\x9by", 0, "x\\x9by" },
                { "fix \xe2\x80\xae" "exe.txt", 0, "fix \\u202eexe.txt" },
                { "\xe2\x81\xa6\xe2\x81\xa9\xd8\x9c\xe2\x80\xa8", 0, "\\u2066\\u2069\\u061c\\u2028" },
                { "caf\xe9!", 0, "caf\\xe9!" },
                { "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },
                { "\xe2\x80", 0, "\\xe2\\x80" },
                { "say \"hi\" \\ bye", 0, "say \"hi\" \\ bye" },
                { "say \"hi\" \\ bye", TEXT_ESCAPE_QUOTE, "say \\\"hi\\\" \\\\ bye" },
                { "x\" event=forged actor=\"root", TEXT_ESCAPE_QUOTE, "x\\\" event=forged actor=\\\"root" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *out = NULL;

                ck_assert_int_eq(text_escape(cases[i].in, cases[i].flags, &out), 0);
                ck_assert_msg(strcmp(out, cases[i].out) == 0, "case %zu: \"%s\"", i, out);
                /* What comes out is always valid text itself. */
                ck_assert_msg(valid_text(out, 4096), "case %zu: escaped text is not valid text", i);
                free(out);
        }
        {
                char *out = NULL;

                ck_assert_int_eq(text_escape(NULL, 0, &out), 0);
                ck_assert_str_eq(out, "");
                free(out);
        }
        {
                /* The worst case, every byte escaped, fits. */
                char in[256], *out = NULL;

                memset(in, 0xff, sizeof(in) - 1);
                in[sizeof(in) - 1] = '\0';
                ck_assert_int_eq(text_escape(in, TEXT_ESCAPE_QUOTE, &out), 0);
                ck_assert_uint_eq(strlen(out), 4 * (sizeof(in) - 1));
                free(out);
        }
}
END_TEST

/* ---- valid_host_name, valid_service_name ---------------------------------- */

START_TEST(test_host)
{
        static const char *const good[] = {
                "web01", "web01.example.com", "WEB01", "10.0.0.1", "a-b", "a", "1", "db_1", "x.",
        };
        static const char *const bad[] = {
                "", "-web", ".web", "_web", "web 01", "web/01", "web:22", "[::1]", "::1", "web\n",
                "wéb", "web,db", "web;db", "web$", "web\t", "web\x7f", "web@x",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(valid_host_name(good[i]), "refused \"%s\"", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!valid_host_name(bad[i]), "accepted \"%s\"", bad[i]);
        ck_assert(!valid_host_name(NULL));
        ck_assert(valid_host_name(rep('h', JIT_HOST_MAX)));
        ck_assert(!valid_host_name(rep('h', JIT_HOST_MAX + 1)));
        ck_assert(valid_host_name(rep_after('h', '.', JIT_HOST_MAX)));
}
END_TEST

START_TEST(test_service)
{
        static const char *const good[] = {
                "sshd", "sudo", "sudo-i", "su-l", "systemd-user", "login", "cron", "PAM_test", "x.y", "0",
        };
        static const char *const bad[] = {
                "", "../sudo", "/etc/pam.d/sudo", "sudo i", "sudo\n", "-sudo", ".sudo", "_sudo", "sudo;", "sudo$",
                "südo", "sudo:", "sudo,su",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(valid_service_name(good[i]), "refused \"%s\"", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!valid_service_name(bad[i]), "accepted \"%s\"", bad[i]);
        ck_assert(!valid_service_name(NULL));
        ck_assert(valid_service_name(rep('s', JIT_SERVICE_MAX)));
        ck_assert(!valid_service_name(rep('s', JIT_SERVICE_MAX + 1)));
}
END_TEST

/* ---- strcpy_checked ------------------------------------------------------- */

START_TEST(test_strcpy_checked)
{
        char buf[8];

        ck_assert_int_eq(strcpy_checked(buf, sizeof(buf), "1234567"), 0);
        ck_assert_str_eq(buf, "1234567");
        ck_assert_int_eq(strcpy_checked(buf, sizeof(buf), "12345678"), -ENAMETOOLONG);
        ck_assert_int_eq(strcpy_checked(buf, sizeof(buf), "123456789abcdef"), -ENAMETOOLONG);
        ck_assert_int_eq(strcpy_checked(buf, sizeof(buf), ""), 0);
        ck_assert_str_eq(buf, "");
        ck_assert_int_eq(strcpy_checked(buf, 1, ""), 0);
        ck_assert_int_eq(strcpy_checked(buf, 1, "a"), -ENAMETOOLONG);
        ck_assert_int_eq(strcpy_checked(buf, 0, ""), -ENAMETOOLONG);
        ck_assert_int_eq(strcpy_checked(buf, sizeof(buf), "naïve"), 0);     /* 6 bytes */
        ck_assert_str_eq(buf, "naïve");
        ck_assert_int_eq(strcpy_checked(buf, sizeof(buf), "naïveté"), -ENAMETOOLONG);

        /* A heap source of exactly the destination size (valgrind watches the copy). */
        {
                char *src = strdup("abcdefg"), *dst = malloc(8);

                ck_assert_ptr_nonnull(src);
                ck_assert_ptr_nonnull(dst);
                ck_assert_int_eq(strcpy_checked(dst, 8, src), 0);
                ck_assert_str_eq(dst, "abcdefg");
                free(src);
                free(dst);
        }
}
END_TEST

/* ---- string vectors ------------------------------------------------------- */

static void assert_split(const char *in, char sep, const char *const *want, size_t n)
{
        char **v = NULL;

        ck_assert_int_eq(strv_split(in, sep, &v), 0);
        ck_assert_ptr_nonnull(v);
        ck_assert_msg(strv_length(v) == n, "\"%s\": %zu items, want %zu", in ? in : "(null)", strv_length(v), n);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(v[i], want[i]);
        ck_assert_ptr_null(v[n]);
        strv_free(v);
}

START_TEST(test_strv_split)
{
        static const char *const abc[] = { "a", "b", "c" };
        static const char *const one[] = { "single" };
        static const char *const inner[] = { "a b", "c\td" };
        static const char *const colon[] = { "x", "y, z" };
        static const char *const utf[] = { "jürgen", "åsa" };

        assert_split("a,b,c", ',', abc, 3);
        assert_split("a, b ,c", ',', abc, 3);
        assert_split("  a  ,\tb\t, c ", ',', abc, 3);
        assert_split(",a,,b,,,c,", ',', abc, 3);
        assert_split(" a , , b,\t,c\t ", ',', abc, 3);
        assert_split("single", ',', one, 1);
        assert_split("  single  ", ',', one, 1);
        assert_split(" a b , c\td ", ',', inner, 2);
        assert_split("x:y, z", ':', colon, 2);
        assert_split("jürgen, åsa", ',', utf, 2);
        /* Nothing at all. */
        assert_split("", ',', NULL, 0);
        assert_split(",", ',', NULL, 0);
        assert_split(",,,", ',', NULL, 0);
        assert_split(" , \t, ", ',', NULL, 0);
        assert_split("   ", ',', NULL, 0);
        assert_split(NULL, ',', NULL, 0);
        /* Only space and tab are trimmed. */
        {
                static const char *const nl[] = { "a\n", "b" };

                assert_split("a\n,b", ',', nl, 2);
        }
}
END_TEST

START_TEST(test_strv_split_heap)
{
        /* Heap input, so that valgrind sees any read past its end; a NUL
         * separator means "no separator": the whole (trimmed) string. */
        static const char *const whole[] = { "a, b ,c" };
        char *s = strdup(" a, b ,c ");
        char **v = NULL;

        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(strv_split(s, ',', &v), 0);
        ck_assert_uint_eq(strv_length(v), 3);
        strv_free(v);
        assert_split(s, '\0', whole, 1);
        free(s);
        /* Bytes after the terminator are not the string's. */
        {
                static const char *const first[] = { "a b" };
                const char buf[] = "a b\0zz,yy";

                assert_split(buf, '\0', first, 1);
                assert_split(buf, ',', first, 1);
        }

        /* Many items. */
        {
                char big[4096];
                size_t n = 0;

                for (int i = 0; i < 500; i++)
                        n += (size_t) snprintf(big + n, sizeof(big) - n, "u%d,", i);
                ck_assert_int_eq(strv_split(big, ',', &v), 0);
                ck_assert_uint_eq(strv_length(v), 500);
                ck_assert_str_eq(v[0], "u0");
                ck_assert_str_eq(v[499], "u499");
                ck_assert(strv_contains(v, "u250"));
                strv_free(v);
        }
}
END_TEST

START_TEST(test_strv_join)
{
        char *s = NULL;
        char *v3[] = { (char *) "a", (char *) "b", (char *) "c", NULL };
        char *v1[] = { (char *) "only", NULL };
        char *v0[] = { NULL };
        char *ve[] = { (char *) "", (char *) "", NULL };

        ck_assert_int_eq(strv_join(v3, ",", &s), 0);
        ck_assert_str_eq(s, "a,b,c");
        free(s);
        ck_assert_int_eq(strv_join(v3, ", ", &s), 0);
        ck_assert_str_eq(s, "a, b, c");
        free(s);
        ck_assert_int_eq(strv_join(v3, "", &s), 0);
        ck_assert_str_eq(s, "abc");
        free(s);
        ck_assert_int_eq(strv_join(v1, ", ", &s), 0);
        ck_assert_str_eq(s, "only");
        free(s);
        ck_assert_int_eq(strv_join(v0, ", ", &s), 0);
        ck_assert_str_eq(s, "");
        free(s);
        ck_assert_int_eq(strv_join(NULL, ", ", &s), 0);
        ck_assert_str_eq(s, "");
        free(s);
        ck_assert_int_eq(strv_join(ve, "+", &s), 0);
        ck_assert_str_eq(s, "+");
        free(s);

        /* split(join(v)) == v for clean items. */
        {
                char **v = NULL, *j = NULL;

                ck_assert_int_eq(strv_split("alice, bob, carol", ',', &v), 0);
                ck_assert_int_eq(strv_join(v, ",", &j), 0);
                ck_assert_str_eq(j, "alice,bob,carol");
                strv_free(v);
                ck_assert_int_eq(strv_split(j, ',', &v), 0);
                ck_assert_uint_eq(strv_length(v), 3);
                ck_assert_str_eq(v[2], "carol");
                strv_free(v);
                free(j);
        }
}
END_TEST

START_TEST(test_strv_contains)
{
        char *v[] = { (char *) "alice", (char *) "bob", (char *) "", NULL };
        char *v0[] = { NULL };

        ck_assert(strv_contains(v, "alice"));
        ck_assert(strv_contains(v, "bob"));
        ck_assert(strv_contains(v, ""));
        ck_assert(!strv_contains(v, "carol"));
        ck_assert(!strv_contains(v, "ali"));
        ck_assert(!strv_contains(v, "alice2"));
        ck_assert(!strv_contains(v, "Alice"));
        ck_assert(!strv_contains(v, NULL));
        ck_assert(!strv_contains(NULL, "alice"));
        ck_assert(!strv_contains(NULL, NULL));
        ck_assert(!strv_contains(v0, "alice"));
        ck_assert(!strv_contains(v0, ""));

        ck_assert_uint_eq(strv_length(v), 3);
        ck_assert_uint_eq(strv_length(v0), 0);
        ck_assert_uint_eq(strv_length(NULL), 0);
        strv_free(NULL);
}
END_TEST

START_TEST(test_mkdir_parent)
{
        char base[] = "/tmp/check_util.XXXXXX", p[PATH_MAX];
        struct stat st;

        ck_assert_ptr_nonnull(mkdtemp(base));
        snprintf(p, sizeof(p), "%s/run/jitd.sock", base);
        ck_assert_int_eq(mkdir_parent(p, 0700), 0);
        snprintf(p, sizeof(p), "%s/run", base);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0700);
        /* There already: fine, its mode untouched. */
        snprintf(p, sizeof(p), "%s/run/other", base);
        ck_assert_int_eq(mkdir_parent(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/run", base);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0700);
        /* A file where the directory should be. */
        snprintf(p, sizeof(p), "%s/file", base);
        ck_assert_int_eq(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        snprintf(p, sizeof(p), "%s/file/jitd.db", base);
        ck_assert_int_eq(mkdir_parent(p, 0700), -ENOTDIR);
        /* Only one level is made. */
        snprintf(p, sizeof(p), "%s/a/b/c", base);
        ck_assert_int_eq(mkdir_parent(p, 0700), -ENOENT);
        ck_assert_int_eq(mkdir_parent("jitd.db", 0700), 0);
        ck_assert_int_eq(mkdir_parent("/jitd.db", 0700), 0);
        ck_assert_int_eq(mkdir_parent(NULL, 0700), -EINVAL);

        snprintf(p, sizeof(p), "%s/file", base);
        unlink(p);
        snprintf(p, sizeof(p), "%s/run", base);
        rmdir(p);
        rmdir(base);
}
END_TEST

/* ---- macros --------------------------------------------------------------- */

static char *make_owned(void)
{
        _cleanup_free_ char *p = strdup("owned");

        ck_assert_ptr_nonnull(p);
        return TAKE_PTR(p);     /* the cleanup must then free NULL, not p */
}

START_TEST(test_macros)
{
        static const int arr[7];
        char *p = make_owned();

        ck_assert_uint_eq(ELEMENTSOF(arr), 7);
        ck_assert_str_eq(p, "owned");
        {
                char *q = p;
                char *r = TAKE_PTR(q);

                ck_assert_ptr_null(q);
                ck_assert_ptr_eq(r, p);
        }
        {
                _cleanup_free_ char *scoped = p;        /* freed at the end of the block */

                ck_assert_ptr_nonnull(scoped);
        }
}
END_TEST

/* ---- clocks --------------------------------------------------------------- */

START_TEST(test_clocks)
{
        int64_t prev = now_monotonic_ms(), start = prev, t;
        time_t wall = time(NULL);
        int64_t rt = now_realtime();
        struct timespec ts = { 0, 30 * 1000 * 1000 };

        /* Wall clock: seconds, close to time(). */
        ck_assert_int_ge(rt, (int64_t) wall - 2);
        ck_assert_int_le(rt, (int64_t) wall + 2);
        ck_assert_int_gt(rt, 1600000000);

        /* Monotonic: never goes back. */
        for (int i = 0; i < 200000; i++) {
                t = now_monotonic_ms();
                ck_assert_int_ge(t, prev);
                prev = t;
        }
        {
                int64_t a = now_realtime(), b = now_realtime();

                ck_assert_int_ge(b, a);
        }

        /* And it counts milliseconds. */
        start = now_monotonic_ms();
        ck_assert_int_eq(nanosleep(&ts, NULL), 0);
        t = now_monotonic_ms();
        ck_assert_int_ge(t - start, 29);
        ck_assert_int_lt(t - start, 5000);
        ck_assert_int_gt(start, 0);
}
END_TEST

static Suite *util_suite(void)
{
        Suite *s = suite_create("util");
        TCase *tc = tcase_create("names");

        tcase_add_loop_test(tc, test_user_good, 0, (int) ELEMENTSOF(good_users));
        tcase_add_loop_test(tc, test_user_bad, 0, (int) ELEMENTSOF(bad_users));
        tcase_add_test(tc, test_user_limits);
        tcase_add_loop_test(tc, test_role_good, 0, (int) ELEMENTSOF(good_roles));
        tcase_add_loop_test(tc, test_role_bad, 0, (int) ELEMENTSOF(bad_roles));
        tcase_add_test(tc, test_role_limits);
        tcase_add_loop_test(tc, test_ticket_good, 0, (int) ELEMENTSOF(good_tickets));
        tcase_add_loop_test(tc, test_ticket_bad, 0, (int) ELEMENTSOF(bad_tickets));
        tcase_add_test(tc, test_ticket_limits);
        tcase_add_test(tc, test_text);
        tcase_add_loop_test(tc, test_utf8_decode, 0, (int) ELEMENTSOF(utf8_cases));
        tcase_add_test(tc, test_utf8_exhaustive);
        tcase_add_test(tc, test_text_forbidden);
        tcase_add_test(tc, test_text_c1_bidi);
        tcase_add_test(tc, test_text_escape);
        tcase_add_test(tc, test_host);
        tcase_add_test(tc, test_service);
        suite_add_tcase(s, tc);

        tc = tcase_create("strings");
        tcase_add_test(tc, test_strcpy_checked);
        tcase_add_test(tc, test_strv_split);
        tcase_add_test(tc, test_strv_split_heap);
        tcase_add_test(tc, test_strv_join);
        tcase_add_test(tc, test_strv_contains);
        tcase_add_test(tc, test_mkdir_parent);
        tcase_add_test(tc, test_macros);
        suite_add_tcase(s, tc);

        tc = tcase_create("clocks");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_clocks);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(util_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
