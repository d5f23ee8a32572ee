/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitd/ticket_ipc.c, the codec between jitd and its ticket helper. What jitd
 * decodes may come from a helper under a hostile ticket system's control, so
 * most of this is about what is refused. Malformed messages are written byte
 * by byte here, from ticket_ipc.h's description, not with the encoder.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ticket_ipc.h"
#include "util.h"

static struct tipc_msg m, scratch;
static struct tipc_buf b;

/* ---- hand-made messages ---- */

struct raw {
        uint8_t p[TIPC_MAX_MSG + 64];
        size_t n;
};

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
        ck_assert_uint_le(r->n + n, sizeof(r->p));
        memcpy(r->p + r->n, p, n);
        r->n += n;
}

static void raw_head(struct raw *r, uint32_t magic, uint8_t version, uint8_t type, uint16_t reserved)
{
        uint8_t h[8] = { magic & 0xff, (magic >> 8) & 0xff, (magic >> 16) & 0xff, magic >> 24, version, type,
                         reserved & 0xff, reserved >> 8 };

        r->n = 0;
        raw_bytes(r, h, sizeof(h));
}

static void raw_field(struct raw *r, uint8_t tag, const void *v, size_t n)
{
        uint8_t h[3] = { tag, n & 0xff, (n >> 8) & 0xff };

        raw_bytes(r, h, 3);
        raw_bytes(r, v, n);
}

static void raw_u64(struct raw *r, uint8_t tag, uint64_t v)
{
        uint8_t le[8];

        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t) (v >> (8 * i));
        raw_field(r, tag, le, 8);
}

static void raw_str(struct raw *r, uint8_t tag, const char *s)
{
        raw_field(r, tag, s, strlen(s));
}

/* A RESULT with every field; `skip` leaves one out, `over` replaces one. */
static void raw_result(struct raw *r, int skip, int over, const void *v, size_t n)
{
        raw_head(r, TIPC_MAGIC, TIPC_VERSION, TIPC_RESULT, 0);
        for (int f = TF_ID; f <= TF_DETAIL; f++) {
                if (f == skip)
                        continue;
                if (f == over) {
                        raw_field(r, (uint8_t) f, v, n);
                        continue;
                }
                switch (f) {
                case TF_ID: raw_u64(r, TF_ID, 7); break;
                case TF_VERDICT: raw_u64(r, TF_VERDICT, TICKET_APPROVED); break;
                case TF_STATUS: raw_str(r, TF_STATUS, "Approved"); break;
                case TF_WINDOW_START: raw_u64(r, TF_WINDOW_START, 0); break;
                case TF_WINDOW_END: raw_u64(r, TF_WINDOW_END, 0); break;
                case TF_RETRY_AFTER: raw_u64(r, TF_RETRY_AFTER, 0); break;
                case TF_FLAGS: raw_u64(r, TF_FLAGS, TIPC_F_REQUESTER); break;
                case TF_WHY: raw_str(r, TF_WHY, "ticket OPS-1 is Approved"); break;
                case TF_DETAIL: raw_str(r, TF_DETAIL, ""); break;
                default: break;
                }
        }
}

static void le64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void expect_refused(const struct raw *r, const char *what)
{
        ck_assert_msg(tipc_decode(r->p, r->n, &m) == -EBADMSG, "accepted: %s", what);
        ck_assert_int_eq(m.type, TIPC_INVALID);
}

static void expect_ok(const struct raw *r, const char *what)
{
        int ret = tipc_decode(r->p, r->n, &m);

        ck_assert_msg(ret == 0, "refused (%d): %s", ret, what);
}

/* ---- round trips ---- */

START_TEST(test_lookup_round_trip)
{
        ck_assert_int_eq(tipc_lookup(&b, &scratch, 42, "CHG0012345", "alice"), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert_int_eq(m.type, TIPC_LOOKUP);
        ck_assert_uint_eq(m.u[TF_ID], 42);
        ck_assert_str_eq(m.s[TF_TICKET], "CHG0012345");
        ck_assert_str_eq(m.s[TF_USER], "alice");
        ck_assert(tipc_has(&m, TF_ID) && !tipc_has(&m, TF_TEXT));

        ck_assert_int_eq(tipc_cancel(&b, &scratch, 42), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert_int_eq(m.type, TIPC_CANCEL);
        ck_assert_uint_eq(m.u[TF_ID], 42);

        ck_assert_int_eq(tipc_comment(&b, &scratch, "OPS-1", "jit: grant 7\n\tactive"), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert_str_eq(m.s[TF_TEXT], "jit: grant 7\n\tactive");

        ck_assert_int_eq(tipc_ready(&b, &scratch), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert_int_eq(m.type, TIPC_READY);
        ck_assert_uint_eq(b.len, TIPC_HEADER_SIZE);

        ck_assert_int_eq(tipc_failed(&b, &scratch, -EPERM, "token_file is wrong\n"), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert_uint_eq(m.u[TF_ERRNO], EPERM);
        ck_assert_str_eq(m.s[TF_WHY], "token_file is wrong?");

        ck_assert_int_eq(tipc_comment_failed(&b, &scratch, "OPS-1", "HTTP 500"), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert_int_eq(m.type, TIPC_COMMENT_FAILED);
}
END_TEST

START_TEST(test_result_round_trip)
{
        struct ticket_result r = { .verdict = TICKET_APPROVED, .window_start = 1714557600,
                                   .window_end = 1714564800, .retry_after = 0, .requester_ok = true }, back;
        uint64_t id = 0;

        snprintf(r.status, sizeof(r.status), "Genehmigt \u2713");
        snprintf(r.why, sizeof(r.why), "ticket OPS-1 is Genehmigt \u2713");
        snprintf(r.detail, sizeof(r.detail), "%s", "");
        ck_assert_int_eq(tipc_result(&b, &scratch, 9, &r), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        tipc_result_get(&m, &id, &back);
        ck_assert_uint_eq(id, 9);
        ck_assert_int_eq(back.verdict, TICKET_APPROVED);
        ck_assert_int_eq(back.window_start, r.window_start);
        ck_assert_int_eq(back.window_end, r.window_end);
        ck_assert(back.requester_ok);
        ck_assert_str_eq(back.status, r.status);
        ck_assert_str_eq(back.why, r.why);

        /* What a ticket system can put in its answer leaves the helper as a
         * line: controls, C1, bidi overrides and bad UTF-8 become '?'. */
        r.verdict = TICKET_REFUSED;
        r.requester_ok = false;
        r.retry_after = 999999999;
        r.window_start = -5;
        snprintf(r.status, sizeof(r.status), "a\x1b[31mb\xc2\x85" "c\xe2\x80\xae" "d\xff");
        snprintf(r.detail, sizeof(r.detail), "requested by \xc0\xaf");
        ck_assert_int_eq(tipc_result(&b, &scratch, 10, &r), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        tipc_result_get(&m, &id, &back);
        ck_assert_str_eq(back.status, "a?[31mb?c?d?");
        ck_assert_str_eq(back.detail, "requested by ??");
        ck_assert_int_eq(back.retry_after, TIPC_RETRY_MAX);
        ck_assert_int_eq(back.window_start, 0);
        ck_assert(!back.requester_ok);
}
END_TEST

START_TEST(test_config_round_trip)
{
        struct ticket_config c = {}, back;
        char *approved[] = { (char *) "Approved", (char *) "Scheduled", NULL };
        char *closed[] = { (char *) "Closed", NULL };

        c.provider = (char *) "jira";
        c.url = (char *) "https://jira.example.org";
        c.requester = (char *) "/fields/reporter/name";
        c.user_map = (char *) "{user}@example.org";
        c.approved = approved;
        c.closed = closed;
        c.ca_file = (char *) "/etc/jit/ca.pem";
        c.comment = true;
        c.timeout = 7;
        c.poll = 90;
        ck_assert_int_eq(tipc_config(&b, &scratch, 65534, 65534, "web1", "s3cr3t-t0ken", &c), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert_int_eq(m.type, TIPC_CONFIG);
        ck_assert_uint_eq(m.u[TF_UID], 65534);
        ck_assert_str_eq(m.s[TF_HOST], "web1");
        ck_assert_str_eq(m.s[TF_TOKEN], "s3cr3t-t0ken");
        ck_assert_int_eq(tipc_config_get(&m, &back), 0);
        ck_assert_str_eq(back.provider, "jira");
        ck_assert_str_eq(back.url, c.url);
        ck_assert_str_eq(back.requester, c.requester);
        ck_assert_str_eq(back.user_map, c.user_map);
        ck_assert_ptr_null(back.status);
        ck_assert_ptr_null(back.token_file);
        ck_assert_uint_eq(strv_length(back.approved), 2);
        ck_assert_str_eq(back.approved[1], "Scheduled");
        ck_assert_uint_eq(strv_length(back.closed), 1);
        ck_assert(back.comment && !back.allow_http);
        ck_assert_uint_eq(back.timeout, 7);
        ck_assert_uint_eq(back.poll, 90);
        tipc_config_clear(&back);

        /* No token: none sent. Root is never the helper's user. */
        ck_assert_int_eq(tipc_config(&b, &scratch, 65534, 65534, "web1", NULL, &c), 0);
        ck_assert_int_eq(tipc_decode(b.p, b.len, &m), 0);
        ck_assert(!tipc_has(&m, TF_TOKEN));
        ck_assert_int_eq(tipc_config(&b, &scratch, 0, 65534, "web1", NULL, &c), -EINVAL);
        ck_assert_int_eq(tipc_config(&b, &scratch, 65534, 0, "web1", NULL, &c), -EINVAL);
        ck_assert_int_eq(tipc_config(&b, &scratch, 65534, 65534, "web1", "two\nlines", &c), -EINVAL);
}
END_TEST

/* ---- the encoder sends nothing the decoder refuses ---- */

START_TEST(test_encoder_refuses)
{
        static char big[TIPC_TEXT_MAX + 2];

        ck_assert_int_eq(tipc_lookup(&b, &scratch, 1, "a b", "alice"), -EINVAL);
        ck_assert_int_eq(tipc_lookup(&b, &scratch, 1, "", "alice"), -EINVAL);
        ck_assert_int_eq(tipc_lookup(&b, &scratch, 1, "OPS-1", "Alice"), -EINVAL);
        ck_assert_int_eq(tipc_lookup(&b, &scratch, 0, "OPS-1", "alice"), -EINVAL);
        ck_assert_int_eq(tipc_lookup(&b, &scratch, 1, NULL, "alice"), -EINVAL);
        ck_assert_int_eq(tipc_comment(&b, &scratch, "OPS-1", ""), -EINVAL);
        ck_assert_int_eq(tipc_comment(&b, &scratch, "OPS-1", "bell\a"), -EINVAL);
        ck_assert_int_eq(tipc_comment(&b, &scratch, "OPS-1", "C1 \xc2\x9b"), -EINVAL);
        memset(big, 'x', sizeof(big) - 1);
        ck_assert_int_eq(tipc_comment(&b, &scratch, "OPS-1", big), -EINVAL);
        big[TIPC_TEXT_MAX] = '\0';
        ck_assert_int_eq(tipc_comment(&b, &scratch, "OPS-1", big), 0);
}
END_TEST

/* ---- what jitd refuses from the helper ---- */

START_TEST(test_header)
{
        struct raw r;
        static const uint8_t bad_types[] = { 0, 5, 63, 68, 127, 255 };

        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_READY, 0);
        expect_ok(&r, "READY");
        ck_assert_int_eq(tipc_decode(r.p, 7, &m), -EBADMSG);
        ck_assert_int_eq(tipc_decode(r.p, 0, &m), -EBADMSG);
        ck_assert_int_eq(tipc_decode(NULL, 8, &m), -EINVAL);
        raw_head(&r, TIPC_MAGIC ^ 1, TIPC_VERSION, TIPC_READY, 0);
        expect_refused(&r, "magic");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION + 1, TIPC_READY, 0);
        expect_refused(&r, "version");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_READY, 1);
        expect_refused(&r, "reserved bits");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_READY, 0x8000);
        expect_refused(&r, "reserved bits");
        for (size_t i = 0; i < ELEMENTSOF(bad_types); i++) {
                raw_head(&r, TIPC_MAGIC, TIPC_VERSION, bad_types[i], 0);
                expect_refused(&r, "type");
        }
        /* READY carries nothing. */
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_READY, 0);
        raw_u64(&r, TF_ID, 1);
        expect_refused(&r, "READY with a field");
        /* Past the size limit, even if well formed inside. */
        raw_result(&r, 0, 0, NULL, 0);
        ck_assert_int_eq(tipc_decode(r.p, TIPC_MAX_MSG + 1, &m), -EBADMSG);
}
END_TEST

START_TEST(test_fields)
{
        struct raw r;
        uint8_t v[16];

        raw_result(&r, 0, 0, NULL, 0);
        expect_ok(&r, "a whole RESULT");
        for (int f = TF_ID; f <= TF_DETAIL; f++) {
                if (f == TF_TICKET || f == TF_USER || f == TF_TEXT)
                        continue;       /* not RESULT's */
                raw_result(&r, f, 0, NULL, 0);
                expect_refused(&r, "a RESULT without one of its fields");
        }
        raw_result(&r, 0, 0, NULL, 0);
        raw_u64(&r, TF_ID, 8);
        expect_refused(&r, "a field twice");
        raw_result(&r, 0, 0, NULL, 0);
        raw_str(&r, TF_TOKEN, "x");
        expect_refused(&r, "a field the type does not carry");
        raw_result(&r, 0, 0, NULL, 0);
        raw_u64(&r, 0, 1);
        expect_refused(&r, "tag 0");
        raw_result(&r, 0, 0, NULL, 0);
        raw_u64(&r, TF_LAST_, 1);
        expect_refused(&r, "unknown tag");
        raw_result(&r, 0, 0, NULL, 0);
        raw_bytes(&r, "\x0b\x00", 2);
        expect_refused(&r, "a field head cut short");
        raw_result(&r, 0, 0, NULL, 0);
        raw_bytes(&r, "\x0c\x05\x00" "ab", 5);
        expect_refused(&r, "a length past the end");
        memset(v, 0, sizeof(v));
        raw_result(&r, 0, TF_ID, v, 7);
        expect_refused(&r, "u64 of 7 bytes");
        raw_result(&r, 0, TF_ID, v, 9);
        expect_refused(&r, "u64 of 9 bytes");
        raw_result(&r, 0, TF_ID, v, 8);
        expect_refused(&r, "id 0");
}
END_TEST

START_TEST(test_ranges)
{
        static const struct {
                int field;
                uint64_t value;
                bool ok;
        } cases[] = {
                { TF_VERDICT, 0, false }, { TF_VERDICT, TICKET_ERROR, true }, { TF_VERDICT, TICKET_ERROR + 1, false },
                { TF_VERDICT, UINT64_MAX, false }, { TF_WINDOW_START, TIPC_TIME_MAX, true },
                { TF_WINDOW_START, TIPC_TIME_MAX + 1, false }, { TF_WINDOW_END, UINT64_MAX, false },
                { TF_RETRY_AFTER, TIPC_RETRY_MAX, true }, { TF_RETRY_AFTER, TIPC_RETRY_MAX + 1, false },
                { TF_FLAGS, 0, true }, { TF_FLAGS, 2, false }, { TF_FLAGS, 3, false },
                { TF_FLAGS, UINT64_C(1) << 63, false }, { TF_ID, UINT64_MAX, true },
        };
        struct raw r;
        uint8_t v[8];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                le64(v, cases[i].value);
                raw_result(&r, 0, cases[i].field, v, 8);
                if (cases[i].ok)
                        expect_ok(&r, "in range");
                else
                        expect_refused(&r, "out of range");
        }
}
END_TEST

START_TEST(test_strings)
{
        static const struct {
                int field;
                const char *value;
                size_t len;             /* 0: strlen */
                bool ok;
        } cases[] = {
                { TF_STATUS, "", 0, true },
                { TF_STATUS, "Genehmigt \xe2\x9c\x93", 0, true },
                { TF_STATUS, "a\0b", 3, false },                /* NUL */
                { TF_STATUS, "a\nb", 0, false },                /* C0 */
                { TF_STATUS, "a\tb", 0, false },
                { TF_STATUS, "a\x7f", 0, false },               /* DEL */
                { TF_STATUS, "a\xc2\x85", 0, false },           /* C1 (NEL) */
                { TF_STATUS, "a\xc2\x9b" "31m", 0, false },     /* C1 (CSI) */
                { TF_STATUS, "a\xe2\x80\xae" "gpj.exe", 0, false },     /* RLO */
                { TF_STATUS, "a\xe2\x81\xa6", 0, false },       /* LRI */
                { TF_STATUS, "a\xe2\x80\x8f", 0, false },       /* RLM */
                { TF_STATUS, "\xc0\x80", 0, false },            /* overlong NUL */
                { TF_STATUS, "\xc1\xbf", 0, false },            /* overlong */
                { TF_STATUS, "\xe0\x80\xaf", 0, false },        /* overlong '/' */
                { TF_STATUS, "\xed\xa0\x80", 0, false },        /* surrogate */
                { TF_STATUS, "\xf4\x90\x80\x80", 0, false },    /* past U+10FFFF */
                { TF_STATUS, "\xf5\x80\x80\x80", 0, false },
                { TF_STATUS, "\xe2\x9c", 0, false },            /* cut short */
                { TF_STATUS, "\x80", 0, false },                /* lone continuation */
                { TF_STATUS, "\xf0\x9f\x98\x80", 0, true },     /* U+1F600 */
                { TF_WHY, "x\r", 0, false },
                { TF_DETAIL, "\x1b]0;pwned\x07", 0, false },
        };
        struct raw r;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = cases[i].len ? cases[i].len : strlen(cases[i].value);

                raw_result(&r, 0, cases[i].field, cases[i].value, n);
                if (cases[i].ok)
                        expect_ok(&r, cases[i].value);
                else
                        expect_refused(&r, cases[i].value);
        }
}
END_TEST

START_TEST(test_lengths)
{
        static char s[300];
        struct raw r;

        memset(s, 'a', sizeof(s));
        raw_result(&r, 0, TF_STATUS, s, 63);
        expect_ok(&r, "status of 63 bytes");
        raw_result(&r, 0, TF_STATUS, s, 64);
        expect_refused(&r, "status of 64 bytes (ticket_result holds 63)");
        raw_result(&r, 0, TF_WHY, s, 255);
        expect_ok(&r, "why of 255");
        raw_result(&r, 0, TF_WHY, s, 256);
        expect_refused(&r, "why of 256");
        raw_result(&r, 0, TF_DETAIL, s, 256);
        expect_refused(&r, "detail of 256");
}
END_TEST

START_TEST(test_semantics)
{
        struct raw r;
        uint8_t v[8];

        /* An approval whose window ends before it starts: no honest helper
         * says that (it refuses such a ticket). */
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_RESULT, 0);
        raw_u64(&r, TF_ID, 1);
        raw_u64(&r, TF_VERDICT, TICKET_APPROVED);
        raw_str(&r, TF_STATUS, "Approved");
        raw_u64(&r, TF_WINDOW_START, 2000);
        raw_u64(&r, TF_WINDOW_END, 1000);
        raw_u64(&r, TF_RETRY_AFTER, 0);
        raw_u64(&r, TF_FLAGS, 0);
        raw_str(&r, TF_WHY, "");
        raw_str(&r, TF_DETAIL, "");
        expect_refused(&r, "approved, window backwards");
        le64(v, 2000);
        raw_result(&r, 0, TF_WINDOW_START, v, 8);
        expect_ok(&r, "approved, window start only");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_RESULT, 0);
        raw_u64(&r, TF_ID, 1);
        raw_u64(&r, TF_VERDICT, TICKET_REFUSED);
        raw_str(&r, TF_STATUS, "");
        raw_u64(&r, TF_WINDOW_START, 2000);
        raw_u64(&r, TF_WINDOW_END, 1000);
        raw_u64(&r, TF_RETRY_AFTER, 0);
        raw_u64(&r, TF_FLAGS, 0);
        raw_str(&r, TF_WHY, "");
        raw_str(&r, TF_DETAIL, "");
        expect_ok(&r, "refused, window backwards");

        /* COMMENT_FAILED names a ticket as tickets are named. */
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_COMMENT_FAILED, 0);
        raw_str(&r, TF_TICKET, "OPS-1;rm");
        raw_str(&r, TF_WHY, "x");
        expect_refused(&r, "a ticket with ';'");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_COMMENT_FAILED, 0);
        raw_str(&r, TF_TICKET, "");
        raw_str(&r, TF_WHY, "x");
        expect_refused(&r, "an empty ticket");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_FAILED, 0);
        raw_u64(&r, TF_ERRNO, 0);
        raw_str(&r, TF_WHY, "x");
        expect_refused(&r, "errno 0");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_LOOKUP, 0);
        raw_u64(&r, TF_ID, 1);
        raw_str(&r, TF_TICKET, "OPS-1");
        raw_str(&r, TF_USER, "root;id");
        expect_refused(&r, "a user name that is not one");
}
END_TEST

/* Every type, with every field it does not carry added: refused. */
START_TEST(test_type_field_matrix)
{
        static const uint8_t types[] = { TIPC_CONFIG, TIPC_LOOKUP, TIPC_CANCEL, TIPC_COMMENT, TIPC_READY,
                                         TIPC_FAILED, TIPC_RESULT, TIPC_COMMENT_FAILED };
        static const char *const names[] = { "a@b", "x" };
        struct raw base, r;

        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                switch (types[t]) {
                case TIPC_CONFIG: {
                        struct ticket_config c = { .provider = (char *) "jira" };

                        ck_assert_int_eq(tipc_config(&b, &scratch, 1, 1, "h", NULL, &c), 0);
                        break;
                }
                case TIPC_LOOKUP: ck_assert_int_eq(tipc_lookup(&b, &scratch, 1, "T-1", "u"), 0); break;
                case TIPC_CANCEL: ck_assert_int_eq(tipc_cancel(&b, &scratch, 1), 0); break;
                case TIPC_COMMENT: ck_assert_int_eq(tipc_comment(&b, &scratch, "T-1", "x"), 0); break;
                case TIPC_READY: ck_assert_int_eq(tipc_ready(&b, &scratch), 0); break;
                case TIPC_FAILED: ck_assert_int_eq(tipc_failed(&b, &scratch, 1, "x"), 0); break;
                case TIPC_RESULT: {
                        struct ticket_result res = { .verdict = TICKET_PENDING };

                        ck_assert_int_eq(tipc_result(&b, &scratch, 1, &res), 0);
                        break;
                }
                case TIPC_COMMENT_FAILED: ck_assert_int_eq(tipc_comment_failed(&b, &scratch, "T-1", "x"), 0); break;
                }
                memcpy(base.p, b.p, b.len);
                base.n = b.len;
                expect_ok(&base, "the base message");
                for (int f = 1; f < TF_LAST_; f++) {
                        if (tipc_has(&m, (enum tipc_field) f))
                                continue;
                        r = base;
                        /* A value valid for most classes, so that only the
                         * tag's place is wrong. */
                        if (f == TF_ID || f == TF_VERDICT || f == TF_ERRNO || f == TF_UID || f == TF_GID)
                                raw_u64(&r, (uint8_t) f, 1);
                        else
                                raw_str(&r, (uint8_t) f, names[f % 2]);
                        if (tipc_decode(r.p, r.n, &scratch) == 0) {
                                /* Only CONFIG's optional fields may be added. */
                                ck_assert_msg(types[t] == TIPC_CONFIG, "type %u took field %d", types[t], f);
                                ck_assert_msg(f >= TF_UID, "CONFIG took field %d", f);
                        }
                }
                ck_assert_int_eq(tipc_decode(base.p, base.n, &m), 0);
        }
}
END_TEST

START_TEST(test_lists)
{
        struct raw r;

        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_CONFIG, 0);
        raw_u64(&r, TF_UID, 65534);
        raw_u64(&r, TF_GID, 65534);
        raw_str(&r, TF_HOST, "web1");
        raw_str(&r, TF_PROVIDER, "jira");
        for (int i = 0; i < TIPC_LIST_MAX; i++)
                raw_str(&r, TF_APPROVED, "Approved");
        expect_ok(&r, "64 approved values");
        raw_str(&r, TF_APPROVED, "Approved");
        expect_refused(&r, "65 approved values");
        raw_head(&r, TIPC_MAGIC, TIPC_VERSION, TIPC_CONFIG, 0);
        raw_u64(&r, TF_UID, 65534);
        raw_u64(&r, TF_GID, 65534);
        raw_str(&r, TF_HOST, "web1");
        raw_str(&r, TF_PROVIDER, "jira");
        raw_str(&r, TF_PROVIDER, "rt");
        expect_refused(&r, "a string field twice");
}
END_TEST

START_TEST(test_sanitize)
{
        char out[8];

        text_sanitize(out, sizeof(out), "abc\xe2\x9c\x93" "def", 0);
        ck_assert_str_eq(out, "abc\xe2\x9c\x93" "d");              /* 7 bytes fit */
        text_sanitize(out, sizeof(out), "abcde\xe2\x9c\x93", 0);
        ck_assert_str_eq(out, "abcde");                         /* never half a character */
        text_sanitize(out, sizeof(out), NULL, 0);
        ck_assert_str_eq(out, "");
        text_sanitize(out, sizeof(out), "\t\n\x1b", 0);
        ck_assert_str_eq(out, "???");
        text_sanitize(out, sizeof(out), "\t\n\x1b", TEXT_LINES);
        ck_assert_str_eq(out, "\t\n?");
        ck_assert(valid_text_nf(out, strlen(out), TEXT_LINES));
        ck_assert(!valid_text_nf(out, strlen(out), 0));
}
END_TEST

static Suite *ipc_suite(void)
{
        Suite *s = suite_create("ticket_ipc");
        TCase *tc = tcase_create("codec");

        tcase_add_test(tc, test_lookup_round_trip);
        tcase_add_test(tc, test_result_round_trip);
        tcase_add_test(tc, test_config_round_trip);
        tcase_add_test(tc, test_encoder_refuses);
        tcase_add_test(tc, test_header);
        tcase_add_test(tc, test_fields);
        tcase_add_test(tc, test_ranges);
        tcase_add_test(tc, test_strings);
        tcase_add_test(tc, test_lengths);
        tcase_add_test(tc, test_semantics);
        tcase_add_test(tc, test_type_field_matrix);
        tcase_add_test(tc, test_lists);
        tcase_add_test(tc, test_sanitize);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(ipc_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
