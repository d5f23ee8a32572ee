/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for common/proto.c, the only encoder/decoder of the jitd wire
 * protocol. The field and type tables below are written from doc/PROTOCOL.md
 * (and proto.h for the types the document leaves to later versions); they are
 * deliberately not taken from proto.c, so that a change to the wire format
 * has to be made in two places. Malformed frames are written byte by byte.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"

#define M(f) (UINT64_C(1) << (f))

static const struct field_def {
        unsigned tag;
        const char *name;
        enum proto_kind kind;
        size_t max;
} field_tab[] = {
        { PF_ID,               "id",               PROTO_KIND_U64, 0 },
        { PF_USER,             "user",             PROTO_KIND_STR, 32 },
        { PF_UID,              "uid",              PROTO_KIND_U64, 0 },
        { PF_HOST,             "host",             PROTO_KIND_STR, 253 },
        { PF_SERVICE,          "service",          PROTO_KIND_STR, 32 },
        { PF_ROLE,             "role",             PROTO_KIND_STR, 64 },
        { PF_TICKET,           "ticket",           PROTO_KIND_STR, 64 },
        { PF_REASON,           "reason",           PROTO_KIND_STR, 512 },
        { PF_NOTE,             "note",             PROTO_KIND_STR, 512 },
        { PF_DURATION,         "duration",         PROTO_KIND_U64, 0 },
        { PF_STATE,            "state",            PROTO_KIND_STR, 16 },
        { PF_FLAGS,            "flags",            PROTO_KIND_U64, 0 },
        { PF_DECISION,         "decision",         PROTO_KIND_U64, 0 },
        { PF_MESSAGE,          "message",          PROTO_KIND_STR, 1024 },
        { PF_ERRNO,            "errno",            PROTO_KIND_U64, 0 },
        { PF_REQUESTED_AT,     "requested_at",     PROTO_KIND_U64, 0 },
        { PF_APPROVED_AT,      "approved_at",      PROTO_KIND_U64, 0 },
        { PF_STARTS_AT,        "starts_at",        PROTO_KIND_U64, 0 },
        { PF_EXPIRES_AT,       "expires_at",       PROTO_KIND_U64, 0 },
        { PF_ENDED_AT,         "ended_at",         PROTO_KIND_U64, 0 },
        { PF_END_REASON,       "end_reason",       PROTO_KIND_STR, 512 },
        { PF_APPROVERS,        "approvers",        PROTO_KIND_STR, 1024 },
        { PF_APPROVALS_NEEDED, "approvals_needed", PROTO_KIND_U64, 0 },
        { PF_APPROVAL,         "approval",         PROTO_KIND_STR, 31 },
        { PF_BREAK_GLASS,      "break_glass",      PROTO_KIND_U64, 0 },
        { PF_REVIEW,           "review",           PROTO_KIND_STR, 15 },
        { PF_NOW,              "now",              PROTO_KIND_U64, 0 },
        { PF_VERSION,          "version",          PROTO_KIND_STR, 32 },
        { PF_TTY,              "tty",              PROTO_KIND_STR, 64 },
        { PF_RHOST,            "rhost",            PROTO_KIND_STR, 253 },
        { PF_SINCE,            "since",            PROTO_KIND_U64, 0 },
        { PF_COUNT,            "count",            PROTO_KIND_U64, 0 },
        { PF_DETAILS,          "details",          PROTO_KIND_STR, 4096 },
        { PF_EVENT,            "event",            PROTO_KIND_STR, 31 },
        { PF_ACTOR,            "actor",            PROTO_KIND_STR, 32 },
        { PF_HASH,             "hash",             PROTO_KIND_STR, 64 },
        { PF_TIMEOUT,          "timeout",          PROTO_KIND_U64, 0 },
        { PF_TOKEN,            "token",            PROTO_KIND_STR, 64 },
        { PF_TARGET,           "target",           PROTO_KIND_STR, 32 },
        { PF_FLEET,            "fleet",            PROTO_KIND_STR, 384 },
        { PF_SIGNATURE,        "signature",        PROTO_KIND_STR, 4096 },
        { PF_FLEET_ID,         "fleet_id",         PROTO_KIND_U64, 0 },
        { PF_EXTENSION,        "extension",        PROTO_KIND_U64, 0 },
        { PF_EXTENSION_ADDS,   "extension_adds",   PROTO_KIND_U64, 0 },
        { PF_EXTENSION_AT,     "extension_at",     PROTO_KIND_U64, 0 },
};

#define GRANT_FIELDS (M(PF_ID) | M(PF_USER) | M(PF_UID) | M(PF_HOST) | M(PF_ROLE) | M(PF_TICKET) |     \
                      M(PF_REASON) | M(PF_DURATION) | M(PF_STATE) | M(PF_REQUESTED_AT) |               \
                      M(PF_APPROVED_AT) | M(PF_STARTS_AT) | M(PF_EXPIRES_AT) | M(PF_ENDED_AT) |        \
                      M(PF_END_REASON) | M(PF_APPROVERS) | M(PF_APPROVALS_NEEDED) | M(PF_APPROVAL) |  \
                      M(PF_BREAK_GLASS) | M(PF_REVIEW) | M(PF_NOW) | M(PF_MESSAGE) | M(PF_FLEET_ID) | \
                      M(PF_EXTENSION) | M(PF_EXTENSION_ADDS) | M(PF_EXTENSION_AT))

static const struct type_def {
        unsigned type;
        const char *name;
        uint64_t allowed;
} type_tab[] = {
        { PROTO_REQ_PING,          "ping",          0 },
        { PROTO_REQ_CHECK,         "check",         M(PF_USER) | M(PF_SERVICE) | M(PF_RHOST) | M(PF_TTY) },
        { PROTO_REQ_REQUEST,       "request",       M(PF_ROLE) | M(PF_TICKET) | M(PF_DURATION) | M(PF_REASON) |
                                                    M(PF_HOST) },
        { PROTO_REQ_APPROVE,       "approve",       M(PF_ID) | M(PF_NOTE) | M(PF_SIGNATURE) | M(PF_FLEET_ID) |
                                                    M(PF_EXTENSION) },
        { PROTO_REQ_DENY,          "deny",          M(PF_ID) | M(PF_NOTE) | M(PF_FLEET_ID) },
        { PROTO_REQ_CANCEL,        "cancel",        M(PF_ID) | M(PF_FLEET_ID) },
        { PROTO_REQ_RELEASE,       "release",       M(PF_ID) | M(PF_FLEET_ID) },
        { PROTO_REQ_REVOKE,        "revoke",        M(PF_ID) | M(PF_REASON) | M(PF_USER) | M(PF_FLAGS) |
                                                    M(PF_FLEET_ID) },
        { PROTO_REQ_LIST,          "list",          M(PF_FLAGS) | M(PF_USER) | M(PF_STATE) | M(PF_ROLE) |
                                                    M(PF_SINCE) | M(PF_HOST) },
        { PROTO_REQ_SHOW,          "show",          M(PF_ID) | M(PF_FLEET_ID) },
        { PROTO_REQ_SESSION_OPEN,  "session-open",  M(PF_USER) | M(PF_SERVICE) | M(PF_RHOST) | M(PF_TTY) |
                                                    M(PF_TOKEN) | M(PF_TARGET) },
        { PROTO_REQ_SESSION_CLOSE, "session-close", M(PF_USER) | M(PF_SERVICE) | M(PF_RHOST) | M(PF_TTY) |
                                                    M(PF_ID) },
        { PROTO_REQ_EXTEND,        "extend",        M(PF_ID) | M(PF_DURATION) | M(PF_REASON) | M(PF_FLEET_ID) },
        { PROTO_REQ_BREAK_GLASS,   "break-glass",   M(PF_ROLE) | M(PF_REASON) | M(PF_DURATION) },
        { PROTO_REQ_REVIEW,        "review",        M(PF_ID) | M(PF_FLAGS) | M(PF_NOTE) | M(PF_FLEET_ID) },
        { PROTO_REQ_AUDIT,         "audit",         M(PF_SINCE) | M(PF_ID) | M(PF_FLEET_ID) | M(PF_HOST) |
                                                    M(PF_FLAGS) },
        { PROTO_REQ_AUDIT_VERIFY,  "audit-verify",  M(PF_HOST) | M(PF_FLAGS) },
        { PROTO_REQ_REPORT,        "report",        M(PF_SINCE) | M(PF_HOST) },
        { PROTO_REQ_RELOAD,        "reload",        0 },
        { PROTO_REQ_STATUS,        "status",        0 },
        { PROTO_REQ_ROLES,         "roles",         0 },
        { PROTO_REQ_REQUEST_FOR,   "request-for",   M(PF_USER) | M(PF_SERVICE) | M(PF_ROLE) | M(PF_TICKET) |
                                                    M(PF_TIMEOUT) | M(PF_RHOST) | M(PF_TTY) },
        { PROTO_REQ_APPROVAL_TEXT, "approval-text", M(PF_ID) | M(PF_FLEET_ID) },
        { PROTO_REQ_RECORDINGS,    "recordings",    M(PF_ID) },
        { PROTO_REQ_REPLAY,        "replay",        M(PF_ID) | M(PF_COUNT) },
        { PROTO_REQ_SSH_RECORD,    "ssh-record",    M(PF_REASON) },
        { PROTO_REP_OK,            "ok",            M(PF_ID) | M(PF_MESSAGE) | M(PF_VERSION) | M(PF_NOW) |
                                                    M(PF_HOST) | M(PF_COUNT) | M(PF_DETAILS) | M(PF_USER) |
                                                    M(PF_UID) | M(PF_HASH) | M(PF_FLEET) | M(PF_FLEET_ID) },
        { PROTO_REP_ERROR,         "error",         M(PF_ERRNO) | M(PF_MESSAGE) },
        { PROTO_REP_DECISION,      "decision",      M(PF_DECISION) | M(PF_MESSAGE) | M(PF_ID) | M(PF_ROLE) |
                                                    M(PF_EXPIRES_AT) | M(PF_HOST) | M(PF_TOKEN) },
        { PROTO_REP_GRANT,         "grant",         GRANT_FIELDS },
        { PROTO_REP_EVENT,         "event",         M(PF_ID) | M(PF_NOW) | M(PF_UID) | M(PF_ACTOR) |
                                                    M(PF_EVENT) | M(PF_DETAILS) | M(PF_HASH) | M(PF_COUNT) |
                                                    M(PF_FLEET_ID) | M(PF_HOST) },
        { PROTO_REP_ROLE,          "role",          M(PF_ROLE) | M(PF_APPROVAL) | M(PF_DURATION) |
                                                    M(PF_TICKET) | M(PF_FLAGS) | M(PF_MESSAGE) },
        { PROTO_REP_END,           "end",           M(PF_COUNT) },
};

static const struct field_def *field_def(unsigned tag)
{
        for (size_t i = 0; i < ELEMENTSOF(field_tab); i++)
                if (field_tab[i].tag == tag)
                        return &field_tab[i];
        return NULL;
}

static const struct type_def *type_def(unsigned type)
{
        for (size_t i = 0; i < ELEMENTSOF(type_tab); i++)
                if (type_tab[i].type == type)
                        return &type_tab[i];
        return NULL;
}

/* Deterministic test values. Strings mix ASCII punctuation and 2-byte UTF-8. */
static uint64_t u64_value(unsigned f)
{
        return (UINT64_C(0x0102030405060708) * f) ^ ((uint64_t) f << 56);
}

static void str_value(char *dst, size_t n, unsigned f)
{
        static const char alphabet[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_/#!?'\"(){}[]<>=+*&^%$@~|\\`";
        size_t i = 0;

        while (i < n) {
                if (n - i >= 2 && (i + f) % 11 == 0) {
                        dst[i++] = (char) 0xc3;          /* "é" */
                        dst[i++] = (char) 0xa9;
                        continue;
                }
                dst[i] = alphabet[(i * 7 + f) % (sizeof(alphabet) - 1)];
                i++;
        }
        dst[n] = '\0';
}

/* A type that allows field f, or 0. */
static unsigned type_allowing(unsigned f)
{
        for (size_t i = 0; i < ELEMENTSOF(type_tab); i++)
                if (type_tab[i].allowed & M(f))
                        return type_tab[i].type;
        return 0;
}

static bool msg_equal(const struct proto_msg *a, const struct proto_msg *b)
{
        if (a->type != b->type || a->present != b->present)
                return false;
        for (unsigned f = 1; f < PF_LAST_; f++) {
                const struct field_def *d = field_def(f);
                uint64_t x, y;

                if (!proto_has(a, f))
                        continue;
                if (d->kind == PROTO_KIND_U64) {
                        if (!proto_get_u64(a, f, &x) || !proto_get_u64(b, f, &y) || x != y)
                                return false;
                } else if (strcmp(proto_get_str(a, f), proto_get_str(b, f)) != 0)
                        return false;
        }
        return true;
}

/* ---- raw frames, written by hand ---------------------------------------- */

struct raw {
        uint8_t b[PROTO_MAX_FRAME + 256];
        size_t len;
};

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
        ck_assert_uint_le(r->len + n, sizeof(r->b));
        memcpy(r->b + r->len, p, n);
        r->len += n;
}

static void raw_u8(struct raw *r, uint8_t v) { raw_bytes(r, &v, 1); }

static void raw_le16(struct raw *r, uint16_t v)
{
        uint8_t b[2] = { (uint8_t) v, (uint8_t) (v >> 8) };

        raw_bytes(r, b, sizeof(b));
}

static void raw_le32(struct raw *r, uint32_t v)
{
        uint8_t b[4] = { (uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24) };

        raw_bytes(r, b, sizeof(b));
}

static void raw_le64(struct raw *r, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                raw_u8(r, (uint8_t) (v >> (8 * i)));
}

/* Header with a length field of 0; raw_fix() sets it to the payload size. */
static void raw_header(struct raw *r, uint32_t magic, uint8_t version, uint8_t type)
{
        r->len = 0;
        raw_le32(r, magic);
        raw_u8(r, version);
        raw_u8(r, type);
        raw_le16(r, 0);
        raw_le32(r, 0);
}

static void raw_start(struct raw *r, uint8_t type)
{
        raw_header(r, PROTO_MAGIC, PROTO_VERSION, type);
}

static void raw_set_length(struct raw *r, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                r->b[8 + i] = (uint8_t) (v >> (8 * i));
}

static void raw_fix(struct raw *r)
{
        raw_set_length(r, (uint32_t) (r->len - PROTO_HEADER_SIZE));
}

static void raw_field(struct raw *r, uint8_t tag, uint16_t len, const void *val, size_t n)
{
        raw_u8(r, tag);
        raw_le16(r, len);
        raw_bytes(r, val, n);
}

static void raw_str(struct raw *r, uint8_t tag, const char *s)
{
        raw_field(r, tag, (uint16_t) strlen(s), s, strlen(s));
}

static void raw_u64(struct raw *r, uint8_t tag, uint64_t v)
{
        raw_u8(r, tag);
        raw_le16(r, 8);
        raw_le64(r, v);
}

static int decode_raw(const struct raw *r, struct proto_msg *m, char *why, size_t why_size)
{
        return proto_decode(r->b, r->len, m, why, why_size);
}

/* Decoding must fail with err and a one-line why that contains text. */
#define assert_refused(raw, err, text)                                                              \
        do {                                                                                        \
                static struct proto_msg m_;                                                         \
                char why_[256] = "";                                                                \
                int r_ = decode_raw((raw), &m_, why_, sizeof(why_));                                \
                ck_assert_msg(r_ == (err), "decode returned %d (%s), expected %d (%s); why: %s",   \
                              r_, strerror(-r_), (err), strerror(-(err)), why_);                    \
                ck_assert_msg(strstr(why_, (text)) != NULL, "why \"%s\" does not say \"%s\"",       \
                              why_, (text));                                                        \
                ck_assert_msg(strchr(why_, '\n') == NULL, "why \"%s\" is not one line", why_);      \
        } while (0)

#define assert_accepted(raw, m)                                                                     \
        do {                                                                                        \
                char why_[256] = "";                                                                \
                int r_ = decode_raw((raw), (m), why_, sizeof(why_));                                \
                ck_assert_msg(r_ == 0, "decode returned %d (%s); why: %s", r_, strerror(-r_), why_); \
        } while (0)

/* ---- names ---------------------------------------------------------------- */

START_TEST(test_type_names)
{
        for (size_t i = 0; i < ELEMENTSOF(type_tab); i++) {
                ck_assert_ptr_nonnull(proto_type_name(type_tab[i].type));
                ck_assert_str_eq(proto_type_name(type_tab[i].type), type_tab[i].name);
                ck_assert(proto_is_request(type_tab[i].type) == (type_tab[i].type < PROTO_REQ_LAST_));
        }
        /* Every number that is not in the table has no name. */
        for (unsigned t = 0; t < 1024; t++)
                if (!type_def(t)) {
                        ck_assert_msg(proto_type_name(t) == NULL, "type %u has a name", t);
                        ck_assert_msg(!proto_is_request(t), "type %u is a request", t);
                }
        ck_assert_ptr_null(proto_type_name(PROTO_TYPE_INVALID));
        ck_assert_ptr_null(proto_type_name(PROTO_REQ_LAST_));
        ck_assert_ptr_null(proto_type_name(PROTO_REP_LAST_));
        ck_assert_ptr_null(proto_type_name(63));
        ck_assert_ptr_null(proto_type_name(255));
        ck_assert_ptr_null(proto_type_name(UINT32_MAX));
        ck_assert(!proto_is_request(UINT32_MAX));
        ck_assert_int_eq((int) ELEMENTSOF(type_tab), (PROTO_REQ_LAST_ - 1) + (PROTO_REP_LAST_ - PROTO_REP_OK));
}
END_TEST

START_TEST(test_field_names)
{
        for (size_t i = 0; i < ELEMENTSOF(field_tab); i++) {
                ck_assert_ptr_nonnull(proto_field_name(field_tab[i].tag));
                ck_assert_str_eq(proto_field_name(field_tab[i].tag), field_tab[i].name);
        }
        ck_assert_int_eq((int) ELEMENTSOF(field_tab), PF_LAST_ - 1);
        ck_assert_ptr_null(proto_field_name(PF_INVALID));
        ck_assert_ptr_null(proto_field_name(PF_LAST_));
        ck_assert_ptr_null(proto_field_name(63));
        ck_assert_ptr_null(proto_field_name(64));
        ck_assert_ptr_null(proto_field_name(255));
        ck_assert_ptr_null(proto_field_name(UINT32_MAX));
}
END_TEST

/* ---- encoder -------------------------------------------------------------- */

START_TEST(test_golden_bytes)
{
        static const uint8_t ping[] = { 0x44, 0x54, 0x49, 0x4a, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
        static const uint8_t request[] = {
                0x44, 0x54, 0x49, 0x4a, 0x01, 0x03, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00,
                0x06, 0x03, 0x00, 'o', 'p', 's',                                 /* role "ops" */
                0x08, 0x01, 0x00, 'x',                                           /* reason "x" */
                0x0a, 0x08, 0x00, 0x10, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* duration 3600 */
        };
        static struct proto_msg m;
        uint8_t buf[PROTO_MAX_FRAME];
        size_t len = 0;

        proto_init(&m, PROTO_REQ_PING);
        ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf), &len), 0);
        ck_assert_uint_eq(len, sizeof(ping));
        ck_assert_mem_eq(buf, ping, sizeof(ping));

        /* Fields go out in tag order, whatever order they were set in. */
        proto_init(&m, PROTO_REQ_REQUEST);
        ck_assert_int_eq(proto_set_u64(&m, PF_DURATION, 3600), 0);
        ck_assert_int_eq(proto_set_str(&m, PF_REASON, "x"), 0);
        ck_assert_int_eq(proto_set_str(&m, PF_ROLE, "ops"), 0);
        ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf), &len), 0);
        ck_assert_uint_eq(len, sizeof(request));
        ck_assert_mem_eq(buf, request, sizeof(request));

        /* And the same bytes decode back. */
        ck_assert_int_eq(proto_decode(request, sizeof(request), &m, NULL, 0), 0);
        ck_assert_uint_eq(m.type, PROTO_REQ_REQUEST);
        ck_assert_str_eq(proto_get_str(&m, PF_ROLE), "ops");
        ck_assert_str_eq(proto_get_str(&m, PF_REASON), "x");
        ck_assert(!proto_has(&m, PF_TICKET));
}
END_TEST

/* Every type, every allowed field at its longest (strings) or a distinctive
 * value (integers): encode, check the frame, decode, compare, re-encode. */
START_TEST(test_roundtrip_type)
{
        const struct type_def *t = &type_tab[_i];
        static char vals[PF_LAST_][4097];
        static struct proto_msg m, d;
        static uint8_t buf[PROTO_MAX_FRAME], buf2[PROTO_MAX_FRAME];
        size_t len = 0, len2 = 0, want = PROTO_HEADER_SIZE;
        char why[256] = "";

        proto_init(&m, t->type);
        for (unsigned f = 1; f < PF_LAST_; f++) {
                const struct field_def *fd = field_def(f);

                if (!(t->allowed & M(f)))
                        continue;
                if (fd->kind == PROTO_KIND_STR) {
                        str_value(vals[f], fd->max, f);
                        ck_assert_int_eq(proto_set_str(&m, f, vals[f]), 0);
                        want += 3 + fd->max;
                } else {
                        ck_assert_int_eq(proto_set_u64(&m, f, u64_value(f)), 0);
                        want += 3 + 8;
                }
        }
        ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf), &len), 0);
        ck_assert_uint_eq(len, want);
        ck_assert_uint_le(len, PROTO_MAX_FRAME);
        ck_assert_uint_eq(buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t) buf[3] << 24, PROTO_MAGIC);
        ck_assert_uint_eq(buf[4], PROTO_VERSION);
        ck_assert_uint_eq(buf[5], t->type);
        ck_assert_uint_eq(buf[6] | buf[7], 0);
        ck_assert_uint_eq(buf[8] | buf[9] << 8 | buf[10] << 16 | (uint32_t) buf[11] << 24, len - PROTO_HEADER_SIZE);

        ck_assert_msg(proto_decode(buf, len, &d, why, sizeof(why)) == 0, "%s: %s", t->name, why);
        ck_assert_uint_eq(d.type, t->type);
        for (unsigned f = 1; f < PF_LAST_; f++) {
                const struct field_def *fd = field_def(f);
                uint64_t v = 0;

                ck_assert_msg(proto_has(&d, f) == !!(t->allowed & M(f)), "%s: field %s", t->name, fd->name);
                if (!proto_has(&d, f)) {
                        ck_assert_ptr_null(proto_get_str(&d, f));
                        ck_assert(!proto_get_u64(&d, f, &v));
                        continue;
                }
                if (fd->kind == PROTO_KIND_STR) {
                        ck_assert_str_eq(proto_get_str(&d, f), vals[f]);
                        ck_assert(!proto_get_u64(&d, f, &v));
                } else {
                        ck_assert(proto_get_u64(&d, f, &v));
                        ck_assert_uint_eq(v, u64_value(f));
                        ck_assert_ptr_null(proto_get_str(&d, f));
                }
        }
        ck_assert(msg_equal(&m, &d));
        ck_assert_int_eq(proto_encode(&d, buf2, sizeof(buf2), &len2), 0);
        ck_assert_uint_eq(len2, len);
        ck_assert_mem_eq(buf2, buf, len);

        /* The same type without any field. */
        proto_init(&m, t->type);
        ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf), &len), 0);
        ck_assert_uint_eq(len, PROTO_HEADER_SIZE);
        ck_assert_int_eq(proto_decode(buf, len, &d, NULL, 0), 0);
        ck_assert_uint_eq(d.type, t->type);
        ck_assert_uint_eq(d.present, 0);

        /* Every field the type does not list is refused by the encoder. */
        for (unsigned f = 1; f < PF_LAST_; f++) {
                const struct field_def *fd = field_def(f);

                if (t->allowed & M(f))
                        continue;
                if (fd->kind == PROTO_KIND_STR)
                        ck_assert_int_eq(proto_set_str(&m, f, "x"), -EINVAL);
                else
                        ck_assert_int_eq(proto_set_u64(&m, f, 1), -EINVAL);
                ck_assert(!proto_has(&m, f));
        }
        ck_assert_uint_eq(m.present, 0);
}
END_TEST

/* Per field: limits, kinds, and which types refuse it (encoder and decoder). */
START_TEST(test_field_rules)
{
        const struct field_def *fd = &field_tab[_i];
        unsigned f = fd->tag, type = type_allowing(f);
        static struct proto_msg m;
        static struct raw raw;
        static char s[4200];
        uint64_t v;

        ck_assert_msg(type != 0, "no type carries field %s", fd->name);
        proto_init(&m, type);
        if (type == 0) {
                ck_assert_int_eq(proto_set_u64(&m, f, 1), -EINVAL);
        } else if (fd->kind == PROTO_KIND_STR) {
                char want[64];

                /* Longest allowed value, then one byte more. */
                str_value(s, fd->max, f);
                ck_assert_int_eq(proto_set_str(&m, f, s), 0);
                ck_assert_str_eq(proto_get_str(&m, f), s);
                proto_init(&m, type);
                str_value(s, fd->max + 1, f);
                ck_assert_int_eq(proto_set_str(&m, f, s), -E2BIG);
                ck_assert(!proto_has(&m, f));
                /* Wrong kind. */
                ck_assert_int_eq(proto_set_u64(&m, f, 1), -EINVAL);
                ck_assert(!proto_get_u64(&m, f, &v));
                /* The empty string is a value. */
                ck_assert_int_eq(proto_set_str(&m, f, ""), 0);
                ck_assert(proto_has(&m, f));
                ck_assert_str_eq(proto_get_str(&m, f), "");
                ck_assert_int_eq(proto_set_str(&m, f, "again"), -EEXIST);
                ck_assert_str_eq(proto_get_str(&m, f), "");

                /* Decoder: at the limit fine, over it refused. */
                str_value(s, fd->max, f);
                raw_start(&raw, (uint8_t) type);
                raw_str(&raw, (uint8_t) f, s);
                raw_fix(&raw);
                assert_accepted(&raw, &m);
                ck_assert_str_eq(proto_get_str(&m, f), s);
                str_value(s, fd->max + 1, f);
                raw_start(&raw, (uint8_t) type);
                raw_str(&raw, (uint8_t) f, s);
                raw_fix(&raw);
                snprintf(want, sizeof(want), "field '%s' longer than %zu bytes", fd->name, fd->max);
                assert_refused(&raw, -EBADMSG, want);
                /* Decoder: an 8-byte value is still a string. */
                raw_start(&raw, (uint8_t) type);
                raw_field(&raw, (uint8_t) f, 8, "abcdefgh", 8);
                raw_fix(&raw);
                assert_accepted(&raw, &m);
                ck_assert_str_eq(proto_get_str(&m, f), "abcdefgh");
        } else {
                char want[64];

                ck_assert_int_eq(proto_set_u64(&m, f, UINT64_MAX), 0);
                ck_assert(proto_get_u64(&m, f, &v));
                ck_assert_uint_eq(v, UINT64_MAX);
                ck_assert_ptr_null(proto_get_str(&m, f));
                ck_assert_int_eq(proto_set_u64(&m, f, 0), -EEXIST);
                ck_assert(proto_get_u64(&m, f, &v));
                ck_assert_uint_eq(v, UINT64_MAX);
                proto_init(&m, type);
                ck_assert_int_eq(proto_set_str(&m, f, "1"), -EINVAL);
                ck_assert(!proto_has(&m, f));
                ck_assert_int_eq(proto_set_u64(&m, f, 0), 0);
                ck_assert(proto_get_u64(&m, f, &v));
                ck_assert_uint_eq(v, 0);

                raw_start(&raw, (uint8_t) type);
                raw_u64(&raw, (uint8_t) f, UINT64_C(0x8877665544332211));
                raw_fix(&raw);
                assert_accepted(&raw, &m);
                ck_assert(proto_get_u64(&m, f, &v));
                ck_assert_uint_eq(v, UINT64_C(0x8877665544332211));
                snprintf(want, sizeof(want), "field '%s' must be 8 bytes", fd->name);
                raw_start(&raw, (uint8_t) type);
                raw_field(&raw, (uint8_t) f, 4, "\1\0\0\0", 4);
                raw_fix(&raw);
                assert_refused(&raw, -EBADMSG, want);
        }

        /* Every type that does not list it: the encoder says EINVAL, the
         * decoder names the field and the type. */
        for (size_t i = 0; i < ELEMENTSOF(type_tab); i++) {
                const struct type_def *t = &type_tab[i];
                char want[96];

                if (t->allowed & M(f))
                        continue;
                proto_init(&m, t->type);
                if (fd->kind == PROTO_KIND_STR)
                        ck_assert_int_eq(proto_set_str(&m, f, "x"), -EINVAL);
                else
                        ck_assert_int_eq(proto_set_u64(&m, f, 1), -EINVAL);
                ck_assert_uint_eq(m.present, 0);

                raw_start(&raw, (uint8_t) t->type);
                if (fd->kind == PROTO_KIND_STR)
                        raw_str(&raw, (uint8_t) f, "x");
                else
                        raw_u64(&raw, (uint8_t) f, 1);
                raw_fix(&raw);
                snprintf(want, sizeof(want), "field '%s' not allowed in '%s'", fd->name, t->name);
                assert_refused(&raw, -EBADMSG, want);
        }
}
END_TEST

START_TEST(test_encode_control_chars)
{
        static struct proto_msg m;
        static struct raw raw;

        proto_init(&m, PROTO_REQ_REQUEST);
        for (unsigned c = 1; c < 0x20; c++) {
                char s[4] = { 'a', (char) c, 'b', '\0' };

                ck_assert_msg(proto_set_str(&m, PF_REASON, s) == -EINVAL, "byte 0x%02x accepted", c);
                ck_assert_int_eq(proto_set_str(&m, PF_ROLE, s + 1), -EINVAL);   /* at the start */
                ck_assert_uint_eq(m.present, 0);
                ck_assert_uint_eq(m.buf_used, 0);
        }
        ck_assert_int_eq(proto_set_str(&m, PF_REASON, "a\x7f" "b"), -EINVAL);
        ck_assert_int_eq(proto_set_str(&m, PF_REASON, "ab\x7f"), -EINVAL);
        ck_assert_uint_eq(m.present, 0);

        /* In a reply, bytes from 0x20 to 0x7e and from 0x80 up pass: jitd
         * sends what it has stored (requests: test_request_text). */
        {
                static struct proto_msg rep;
                char all[256];
                size_t n = 0;

                proto_init(&rep, PROTO_REP_GRANT);
                for (unsigned c = 0x20; c < 0x100; c++)
                        if (c != 0x7f && n < 200)
                                all[n++] = (char) c;
                all[n] = '\0';
                ck_assert_int_eq(proto_set_str(&rep, PF_REASON, all), 0);
                ck_assert_str_eq(proto_get_str(&rep, PF_REASON), all);
        }
        ck_assert_int_eq(proto_set_str(&m, PF_TICKET, "Zürich ✓ 東京"), 0);
        ck_assert_str_eq(proto_get_str(&m, PF_TICKET), "Zürich ✓ 東京");
        ck_assert_int_eq(proto_set_str(&m, PF_ROLE, NULL), -EINVAL);
        ck_assert(!proto_has(&m, PF_ROLE));

        /* The decoder refuses the same bytes. */
        for (unsigned c = 1; c < 0x20; c++) {
                uint8_t s[3] = { 'a', (uint8_t) c, 'b' };

                raw_start(&raw, PROTO_REQ_REQUEST);
                raw_field(&raw, PF_REASON, 3, s, 3);
                raw_fix(&raw);
                assert_refused(&raw, -EBADMSG, "field 'reason' contains control characters");
        }
        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_REASON, "rm -rf\x7f");
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field 'reason' contains control characters");
}
END_TEST

/* Issue 12, finding 11: what a user sends is text by valid_text_n's rules,
 * in every string field of every request, on both sides of the wire. */
static const struct {
        const char *bytes;
        const char *what;
} bad_text[] = {
        { "restore \xc2\x9b" "2J", "C1 control CSI, UTF-8 encoded" },
        { "restore \x9b" "2J", "C1 control CSI as a raw byte" },
        { "next\xc2\x85line", "NEL" },
        { "fix \xe2\x80\xae" "exe.txt", "RIGHT-TO-LEFT OVERRIDE" },
        { "\xe2\x81\xa6" "x\xe2\x81\xa9", "isolates" },
        { "\xe2\x80\x8f", "RLM" },
        { "\xd8\x9c", "ALM" },
        { "a\xe2\x80\xa8" "b", "LINE SEPARATOR" },
        { "caf\xe9", "Latin-1" },
        { "\xc0\xa2", "overlong quote" },
        { "\xed\xa0\x80", "surrogate" },
        { "\xf4\x90\x80\x80", "past U+10FFFF" },
        { "\xe2\x80", "cut sequence" },
        { "\xff\xfe", "not UTF-8 at all" },
};

START_TEST(test_request_text)
{
        static struct proto_msg m;
        static struct raw raw;
        const char *bytes = bad_text[_i].bytes;
        size_t n = strlen(bytes);
        unsigned checked = 0;

        for (size_t t = 0; t < ELEMENTSOF(type_tab); t++) {
                unsigned type = type_tab[t].type;

                for (unsigned f = 1; f < PF_LAST_; f++) {
                        const struct field_def *fd = field_def(f);
                        char want[128];

                        if (!(type_tab[t].allowed & M(f)) || fd->kind != PROTO_KIND_STR || fd->max < n)
                                continue;
                        proto_init(&m, type);
                        raw_start(&raw, (uint8_t) type);
                        raw_field(&raw, (uint8_t) f, (uint16_t) n, bytes, n);
                        raw_fix(&raw);
                        if (proto_is_request(type)) {
                                ck_assert_msg(proto_set_str(&m, f, bytes) == -EINVAL, "%s: %s accepted in %s",
                                              bad_text[_i].what, fd->name, type_tab[t].name);
                                ck_assert_uint_eq(m.present, 0);
                                snprintf(want, sizeof(want), "field '%s' contains", fd->name);
                                assert_refused(&raw, -EBADMSG, want);
                        } else {
                                /* Replies carry stored text as it is. */
                                static struct proto_msg d;

                                ck_assert_msg(proto_set_str(&m, f, bytes) == 0, "%s: %s refused in %s",
                                              bad_text[_i].what, fd->name, type_tab[t].name);
                                assert_accepted(&raw, &d);
                                ck_assert_str_eq(proto_get_str(&d, f), bytes);
                        }
                        checked++;
                }
        }
        ck_assert_uint_gt(checked, 20);
}
END_TEST

START_TEST(test_request_text_good)
{
        static struct proto_msg m;
        static struct raw raw;
        static const char *const good[] = {
                "Störung im Rechenzentrum – 緊急 ✓ 🚑",
                "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85",   /* Hebrew, Arabic */
                "zero\xe2\x80\x8dwidth joiner, no-break\xc2\xa0space, \xef\xbf\xbd",
                "quotes ' \" ` $(x) ; | & < > \\ event=x actor=y",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                proto_init(&m, PROTO_REQ_REQUEST);
                ck_assert_int_eq(proto_set_str(&m, PF_REASON, good[i]), 0);
                raw_start(&raw, PROTO_REQ_REQUEST);
                raw_str(&raw, PF_REASON, good[i]);
                raw_fix(&raw);
                {
                        static struct proto_msg d;

                        assert_accepted(&raw, &d);
                        ck_assert_str_eq(proto_get_str(&d, PF_REASON), good[i]);
                }
        }
}
END_TEST

START_TEST(test_encode_refusals)
{
        static struct proto_msg m;
        uint8_t buf[PROTO_MAX_FRAME];
        size_t len = 0;
        uint16_t used;

        /* Unknown types take no field and do not encode. */
        {
                static const unsigned bad[] = { PROTO_TYPE_INVALID, PROTO_REQ_LAST_, 40, 63, PROTO_REP_LAST_, 255 };

                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        proto_init(&m, (enum proto_type) bad[i]);
                        ck_assert_int_eq(proto_set_str(&m, PF_USER, "alice"), -EINVAL);
                        ck_assert_int_eq(proto_set_u64(&m, PF_ID, 1), -EINVAL);
                        ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf), &len), -EINVAL);
                }
        }

        /* Tags out of range. */
        proto_init(&m, PROTO_REP_GRANT);
        ck_assert_int_eq(proto_set_str(&m, PF_INVALID, "x"), -EINVAL);
        ck_assert_int_eq(proto_set_u64(&m, PF_INVALID, 1), -EINVAL);
        ck_assert_int_eq(proto_set_str(&m, PF_LAST_, "x"), -EINVAL);
        ck_assert_int_eq(proto_set_u64(&m, PF_LAST_, 1), -EINVAL);
        ck_assert_int_eq(proto_set_u64(&m, (enum proto_field) 63, 1), -EINVAL);
        ck_assert(!proto_has(&m, PF_INVALID));
        ck_assert(!proto_has(&m, PF_LAST_));
        ck_assert(!proto_has(&m, (enum proto_field) 200));
        ck_assert_ptr_null(proto_get_str(&m, PF_LAST_));
        ck_assert_uint_eq(m.present, 0);

        /* The client claiming someone else's name: no 'user' in 'request'. */
        proto_init(&m, PROTO_REQ_REQUEST);
        ck_assert_int_eq(proto_set_str(&m, PF_USER, "root"), -EINVAL);
        ck_assert_int_eq(proto_set_u64(&m, PF_UID, 0), -EINVAL);
        ck_assert_uint_eq(m.present, 0);

        /* Duplicates: -EEXIST and the first value stays. */
        ck_assert_int_eq(proto_set_str(&m, PF_ROLE, "dba"), 0);
        used = m.buf_used;
        ck_assert_int_eq(proto_set_str(&m, PF_ROLE, "root"), -EEXIST);
        ck_assert_int_eq(proto_set_str(&m, PF_ROLE, "dba"), -EEXIST);
        ck_assert_str_eq(proto_get_str(&m, PF_ROLE), "dba");
        ck_assert_uint_eq(m.buf_used, used);
        ck_assert_int_eq(proto_set_u64(&m, PF_DURATION, 60), 0);
        ck_assert_int_eq(proto_set_u64(&m, PF_DURATION, 7200), -EEXIST);
        {
                uint64_t v = 0;

                ck_assert(proto_get_u64(&m, PF_DURATION, &v));
                ck_assert_uint_eq(v, 60);
        }
        /* Oversize and control characters leave the message as it was. */
        {
                char big[600];

                memset(big, 'r', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                ck_assert_int_eq(proto_set_str(&m, PF_REASON, big), -E2BIG);
                ck_assert_int_eq(proto_set_str(&m, PF_REASON, "two\nlines"), -EINVAL);
                ck_assert(!proto_has(&m, PF_REASON));
                ck_assert_uint_eq(m.buf_used, used);
                ck_assert_int_eq(proto_set_str(&m, PF_REASON, "fix it"), 0);
        }

        /* Buffers too small for the encoding. */
        ck_assert_int_eq(proto_encode(&m, buf, 0, &len), -ENOBUFS);
        ck_assert_int_eq(proto_encode(&m, buf, PROTO_HEADER_SIZE - 1, &len), -ENOBUFS);
        ck_assert_int_eq(proto_encode(&m, buf, PROTO_HEADER_SIZE, &len), -ENOBUFS);
        ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf), &len), 0);
        ck_assert_uint_eq(len, PROTO_HEADER_SIZE + 3 + 3 + 3 + 6 + 3 + 8);
        {
                size_t exact = len;

                ck_assert_int_eq(proto_encode(&m, buf, exact - 1, &len), -ENOBUFS);
                ck_assert_int_eq(proto_encode(&m, buf, exact, &len), 0);
                ck_assert_uint_eq(len, exact);
        }
        proto_init(&m, PROTO_REQ_PING);
        ck_assert_int_eq(proto_encode(&m, buf, PROTO_HEADER_SIZE, &len), 0);
        ck_assert_uint_eq(len, PROTO_HEADER_SIZE);
}
END_TEST

/* No legal message reaches PROTO_MAX_FRAME (the largest, an 'ok' with every
 * field at its maximum, is about 5.5 KB), so the -ENOSPC paths are reached by
 * forging the public struct: a 'details' value far over its maximum, as a
 * caller writing into struct proto_msg by hand might leave it. */
START_TEST(test_encode_enospc)
{
        static struct proto_msg m;
        static uint8_t buf[PROTO_MAX_FRAME + 64];
        size_t len = 0, n = 8170;    /* wire: 12 + 3 + 8170 = 8185 bytes */

        proto_init(&m, PROTO_REP_OK);
        memset(m.buf, 'x', n);
        m.buf[n] = '\0';
        m.str_off[PF_DETAILS] = 0;
        m.buf_used = (uint16_t) (n + 1);
        m.present |= M(PF_DETAILS);

        ck_assert_int_eq(proto_set_u64(&m, PF_ID, 1), -ENOSPC);                /* 8196 */
        ck_assert_int_eq(proto_set_str(&m, PF_USER, "abcde"), -ENOSPC);        /* 8193 */
        ck_assert(!proto_has(&m, PF_ID));
        ck_assert(!proto_has(&m, PF_USER));
        ck_assert_uint_eq(m.buf_used, n + 1);
        ck_assert_int_eq(proto_set_str(&m, PF_USER, "abcd"), 0);               /* 8192 exactly */
        ck_assert_int_eq(proto_set_str(&m, PF_HASH, ""), -ENOSPC);             /* 8195 */
        ck_assert_int_eq(proto_encode(&m, buf, PROTO_MAX_FRAME, &len), 0);
        ck_assert_uint_eq(len, PROTO_MAX_FRAME);
        ck_assert_int_eq(proto_encode(&m, buf, PROTO_MAX_FRAME - 1, &len), -ENOBUFS);
        {
                static struct proto_msg d;
                char why[128] = "";

                ck_assert_int_eq(proto_decode(buf, PROTO_MAX_FRAME, &d, why, sizeof(why)), -EBADMSG);
                ck_assert_str_eq(why, "field 'details' longer than 4096 bytes");
        }

        /* Over the frame even with a big output buffer: the encoder refuses. */
        proto_init(&m, PROTO_REP_OK);
        memset(m.buf, 'x', PROTO_MAX_FRAME - 1);
        m.buf[PROTO_MAX_FRAME - 1] = '\0';
        m.str_off[PF_DETAILS] = 0;
        m.buf_used = PROTO_MAX_FRAME;
        m.present |= M(PF_DETAILS);
        ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf), &len), -ENOBUFS);

        /* The inline string buffer full. */
        proto_init(&m, PROTO_REP_OK);
        m.buf_used = PROTO_MAX_FRAME - 3;
        ck_assert_int_eq(proto_set_str(&m, PF_USER, "abc"), -ENOSPC);
        ck_assert_int_eq(proto_set_str(&m, PF_USER, "ab"), 0);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "ab");
}
END_TEST

/* ---- decoder: the header --------------------------------------------------- */

START_TEST(test_decode_short)
{
        static struct raw raw;

        raw_start(&raw, PROTO_REQ_PING);
        for (size_t n = 0; n < PROTO_HEADER_SIZE; n++) {
                char want[64];

                raw.len = n;
                snprintf(want, sizeof(want), "message of %zu bytes is shorter than the header", n);
                assert_refused(&raw, -EBADMSG, want);
        }
        raw.len = PROTO_HEADER_SIZE;
        {
                static struct proto_msg m;

                assert_accepted(&raw, &m);
                ck_assert_uint_eq(m.type, PROTO_REQ_PING);
                ck_assert_uint_eq(m.present, 0);
        }
}
END_TEST

START_TEST(test_decode_too_long)
{
        static struct raw raw;

        /* A well-formed frame in every other way: length field matches. */
        raw_start(&raw, PROTO_REP_OK);
        while (raw.len < PROTO_MAX_FRAME + 1)
                raw_u8(&raw, 'x');
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "message of 8193 bytes exceeds the limit of 8192");
        raw.len = sizeof(raw.b);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "exceeds the limit");
        /* At the limit it gets past the size check (and fails on content:
         * tag 'x' with length "xx"). */
        raw.len = PROTO_MAX_FRAME;
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field at offset 12 runs past the end");
}
END_TEST

START_TEST(test_decode_magic)
{
        static const uint32_t bad[] = { 0, 0x4454494a /* "JITD" in the wrong byte order */, 0x4a495445,
                                        0xcafebabe, 0xffffffff };
        static struct raw raw;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                raw_header(&raw, bad[i], PROTO_VERSION, PROTO_REQ_PING);
                assert_refused(&raw, -EPROTO, "bad magic");
        }
        /* Text that happens to be 12 bytes long. */
        memcpy(raw.b, "GET / HTTP/1", 12);
        raw.len = 12;
        assert_refused(&raw, -EPROTO, "magic");
        /* Magic wins over everything else in the header. */
        raw_header(&raw, 0x12345678, 9, 200);
        raw.b[6] = 1;
        raw_set_length(&raw, 77);
        assert_refused(&raw, -EPROTO, "magic");
}
END_TEST

START_TEST(test_decode_version)
{
        static const uint8_t bad[] = { 0, 2, 3, 0x81, 255 };
        static struct raw raw;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char want[64];

                raw_header(&raw, PROTO_MAGIC, bad[i], PROTO_REQ_PING);
                snprintf(want, sizeof(want), "protocol version %u, this side speaks 1", bad[i]);
                assert_refused(&raw, -EPROTO, want);
        }
        /* A future version with a perfectly good body is still refused. */
        raw_header(&raw, PROTO_MAGIC, 2, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");
        raw_fix(&raw);
        assert_refused(&raw, -EPROTO, "protocol version 2");
}
END_TEST

START_TEST(test_decode_unknown_type)
{
        static struct raw raw;

        for (unsigned t = 0; t < 256; t++) {
                char want[64];

                raw_start(&raw, (uint8_t) t);
                if (type_def(t)) {
                        static struct proto_msg m;

                        assert_accepted(&raw, &m);
                        ck_assert_uint_eq(m.type, t);
                        continue;
                }
                snprintf(want, sizeof(want), "unknown message type %u", t);
                assert_refused(&raw, -EBADMSG, want);
        }
}
END_TEST

START_TEST(test_decode_reserved)
{
        static struct raw raw;

        raw_start(&raw, PROTO_REQ_PING);
        raw.b[6] = 0x01;
        assert_refused(&raw, -EBADMSG, "reserved header bits set");
        raw.b[6] = 0;
        raw.b[7] = 0x80;
        assert_refused(&raw, -EBADMSG, "reserved header bits set");
        raw.b[6] = 0xff;
        raw.b[7] = 0xff;
        assert_refused(&raw, -EBADMSG, "reserved");
}
END_TEST

START_TEST(test_decode_length_mismatch)
{
        static struct raw raw;

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");                       /* 6 payload bytes */
        raw_set_length(&raw, 7);
        assert_refused(&raw, -EBADMSG, "length field says 7, message carries 6");
        raw_set_length(&raw, 5);
        assert_refused(&raw, -EBADMSG, "length field says 5, message carries 6");
        raw_set_length(&raw, 0);
        assert_refused(&raw, -EBADMSG, "length field says 0, message carries 6");
        raw_set_length(&raw, UINT32_MAX);
        assert_refused(&raw, -EBADMSG, "length field says 4294967295, message carries 6");
        raw_set_length(&raw, 6);
        {
                static struct proto_msg m;

                assert_accepted(&raw, &m);
                ck_assert_str_eq(proto_get_str(&m, PF_ROLE), "dba");
        }
        /* Empty body, non-zero length. */
        raw_start(&raw, PROTO_REQ_PING);
        raw_set_length(&raw, 1);
        assert_refused(&raw, -EBADMSG, "length field says 1, message carries 0");
}
END_TEST

/* ---- decoder: fields -------------------------------------------------------- */

START_TEST(test_decode_truncated_field_header)
{
        static struct raw raw;

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_u8(&raw, PF_ROLE);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "truncated field header at offset 12");
        raw_u8(&raw, 3);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "truncated field header at offset 12");

        /* After a good field. */
        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");
        raw_u8(&raw, PF_TICKET);
        raw_u8(&raw, 0);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "truncated field header at offset 18");
}
END_TEST

START_TEST(test_decode_past_end)
{
        static struct raw raw;

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_field(&raw, PF_ROLE, 10, "dba", 3);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field at offset 12 runs past the end");

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");
        raw_field(&raw, PF_DURATION, 8, "\x10\x0e\0\0\0\0\0", 7);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field at offset 18 runs past the end");

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_field(&raw, PF_REASON, 0xffff, "x", 1);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "runs past the end");

        /* One byte short, and exactly right. */
        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_field(&raw, PF_TICKET, 4, "T-1", 3);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "runs past the end");
        raw_u8(&raw, '3');
        raw_fix(&raw);
        {
                static struct proto_msg m;

                assert_accepted(&raw, &m);
                ck_assert_str_eq(proto_get_str(&m, PF_TICKET), "T-13");
        }
}
END_TEST

START_TEST(test_decode_unknown_tag)
{
        static const uint8_t bad[] = { PF_LAST_, 50, 63, 64, 65, 127, 128, 255 };
        static struct raw raw;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char want[64];

                raw_start(&raw, PROTO_REP_GRANT);
                raw_u64(&raw, PF_ID, 1);
                raw_u64(&raw, bad[i], 1);
                raw_fix(&raw);
                snprintf(want, sizeof(want), "unknown field %u", bad[i]);
                assert_refused(&raw, -EBADMSG, want);
        }
        /* Tag 0, with and without a value. */
        raw_start(&raw, PROTO_REP_GRANT);
        raw_field(&raw, 0, 0, "", 0);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "unknown field 0");
        raw_start(&raw, PROTO_REQ_PING);
        raw_u64(&raw, 0, 0);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "unknown field 0");
        /* A whole payload of zero bytes is a run of tag-0 fields. */
        raw_start(&raw, PROTO_REQ_PING);
        raw_bytes(&raw, "\0\0\0\0\0\0", 6);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "unknown field 0");
}
END_TEST

START_TEST(test_decode_not_allowed)
{
        static struct raw raw;
        static struct proto_msg m;
        char why[256] = "";

        /* The client claiming another user's name. */
        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");
        raw_str(&raw, PF_USER, "root");
        raw_str(&raw, PF_REASON, "maintenance");
        raw_fix(&raw);
        ck_assert_int_eq(decode_raw(&raw, &m, why, sizeof(why)), -EBADMSG);
        ck_assert_str_eq(why, "field 'user' not allowed in 'request'");

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_u64(&raw, PF_UID, 0);
        raw_fix(&raw);
        ck_assert_int_eq(decode_raw(&raw, &m, why, sizeof(why)), -EBADMSG);
        ck_assert_str_eq(why, "field 'uid' not allowed in 'request'");

        raw_start(&raw, PROTO_REQ_PING);
        raw_u64(&raw, PF_ID, 1);
        raw_fix(&raw);
        ck_assert_int_eq(decode_raw(&raw, &m, why, sizeof(why)), -EBADMSG);
        ck_assert_str_eq(why, "field 'id' not allowed in 'ping'");

        raw_start(&raw, PROTO_REQ_CHECK);
        raw_str(&raw, PF_USER, "alice");
        raw_str(&raw, PF_ROLE, "dba");
        raw_fix(&raw);
        ck_assert_int_eq(decode_raw(&raw, &m, why, sizeof(why)), -EBADMSG);
        ck_assert_str_eq(why, "field 'role' not allowed in 'check'");
}
END_TEST

START_TEST(test_decode_duplicate)
{
        static struct raw raw;

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");
        raw_str(&raw, PF_ROLE, "root");
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field 'role' given twice");

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");
        raw_str(&raw, PF_ROLE, "dba");
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field 'role' given twice");

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_u64(&raw, PF_DURATION, 60);
        raw_str(&raw, PF_ROLE, "dba");
        raw_u64(&raw, PF_DURATION, 60);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field 'duration' given twice");

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_TICKET, "");
        raw_str(&raw, PF_TICKET, "");
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "field 'ticket' given twice");
}
END_TEST

START_TEST(test_decode_u64_size)
{
        static const uint16_t bad[] = { 0, 1, 4, 7, 9, 16 };
        static struct raw raw;
        static const uint8_t zeros[16];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char want[64];

                raw_start(&raw, PROTO_REQ_REQUEST);
                raw_field(&raw, PF_DURATION, bad[i], zeros, bad[i]);
                raw_fix(&raw);
                snprintf(want, sizeof(want), "field 'duration' must be 8 bytes, is %u", bad[i]);
                assert_refused(&raw, -EBADMSG, want);
        }
        /* Little-endian. */
        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_field(&raw, PF_DURATION, 8, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
        raw_fix(&raw);
        {
                static struct proto_msg m;
                uint64_t v = 0;

                assert_accepted(&raw, &m);
                ck_assert(proto_get_u64(&m, PF_DURATION, &v));
                ck_assert_uint_eq(v, UINT64_C(0x0102030405060708));
        }
}
END_TEST

START_TEST(test_decode_string_bytes)
{
        static struct raw raw;
        static const struct {
                const char *bytes;
                size_t n;
                const char *why;
        } bad[] = {
                { "ro\0le", 5, "field 'reason' contains a NUL byte" },
                { "\0", 1, "field 'reason' contains a NUL byte" },
                { "role\0", 5, "field 'reason' contains a NUL byte" },
                { "line one\nline two", 17, "field 'reason' contains control characters" },
                { "x\n", 2, "field 'reason' contains control characters" },
                { "carriage\r", 9, "field 'reason' contains control characters" },
                { "tab\there", 8, "field 'reason' contains control characters" },
                { "\x1b[31mred", 8, "field 'reason' contains control characters" },
                { "del\x7f", 4, "field 'reason' contains control characters" },
                { "\x7f", 1, "field 'reason' contains control characters" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                raw_start(&raw, PROTO_REQ_REQUEST);
                raw_str(&raw, PF_ROLE, "dba");
                raw_field(&raw, PF_REASON, (uint16_t) bad[i].n, bad[i].bytes, bad[i].n);
                raw_fix(&raw);
                assert_refused(&raw, -EBADMSG, bad[i].why);
        }

        /* Over the maximum. */
        {
                char s[66];

                memset(s, 'a', 65);
                s[65] = '\0';
                raw_start(&raw, PROTO_REQ_REQUEST);
                raw_str(&raw, PF_ROLE, s);
                raw_fix(&raw);
                assert_refused(&raw, -EBADMSG, "field 'role' longer than 64 bytes");
                raw_start(&raw, PROTO_REQ_CHECK);
                raw_str(&raw, PF_USER, "abcdefghijklmnopqrstuvwxyz0123456");
                raw_fix(&raw);
                assert_refused(&raw, -EBADMSG, "field 'user' longer than 32 bytes");
        }

        /* UTF-8, empty strings and the printable edges pass. */
        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_REASON, "Störung im Rechenzentrum – 緊急 ✓");
        raw_str(&raw, PF_TICKET, "");
        raw_str(&raw, PF_ROLE, " ~");
        raw_fix(&raw);
        {
                static struct proto_msg m;

                assert_accepted(&raw, &m);
                ck_assert_str_eq(proto_get_str(&m, PF_REASON), "Störung im Rechenzentrum – 緊急 ✓");
                ck_assert_str_eq(proto_get_str(&m, PF_TICKET), "");
                ck_assert_str_eq(proto_get_str(&m, PF_ROLE), " ~");
        }
}
END_TEST

START_TEST(test_decode_trailing)
{
        static struct raw raw;

        /* A trailing byte counted by the length field. */
        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_ROLE, "dba");
        raw_u64(&raw, PF_DURATION, 900);
        raw_u8(&raw, 0x00);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "truncated field header at offset 29");
        raw.b[raw.len - 1] = PF_TICKET;
        assert_refused(&raw, -EBADMSG, "truncated field header at offset 29");
        /* ... and not counted by it. */
        raw_set_length(&raw, (uint32_t) (raw.len - PROTO_HEADER_SIZE - 1));
        assert_refused(&raw, -EBADMSG, "length field says 17, message carries 18");
        /* Two trailing bytes. */
        raw_u8(&raw, 0x00);
        raw_fix(&raw);
        assert_refused(&raw, -EBADMSG, "truncated field header at offset 29");
}
END_TEST

START_TEST(test_decode_any_order)
{
        static struct raw raw;
        static struct proto_msg m;
        uint64_t v = 0;

        raw_start(&raw, PROTO_REP_GRANT);
        raw_str(&raw, PF_STATE, "active");
        raw_u64(&raw, PF_UID, 1000);
        raw_str(&raw, PF_USER, "alice");
        raw_u64(&raw, PF_ID, 42);
        raw_fix(&raw);
        assert_accepted(&raw, &m);
        ck_assert_uint_eq(m.type, PROTO_REP_GRANT);
        ck_assert(proto_get_u64(&m, PF_ID, &v));
        ck_assert_uint_eq(v, 42);
        ck_assert(proto_get_u64(&m, PF_UID, &v));
        ck_assert_uint_eq(v, 1000);
        ck_assert_str_eq(proto_get_str(&m, PF_USER), "alice");
        ck_assert_str_eq(proto_get_str(&m, PF_STATE), "active");
        ck_assert(!proto_has(&m, PF_ROLE));
}
END_TEST

START_TEST(test_decode_why_buffer)
{
        static struct raw raw;
        static struct proto_msg m;
        char why[8];

        raw_start(&raw, PROTO_REQ_REQUEST);
        raw_str(&raw, PF_USER, "root");
        raw_fix(&raw);
        /* No why at all, and a zero-sized one. */
        ck_assert_int_eq(decode_raw(&raw, &m, NULL, 0), -EBADMSG);
        ck_assert_int_eq(decode_raw(&raw, &m, NULL, 100), -EBADMSG);
        memset(why, 'Q', sizeof(why));
        ck_assert_int_eq(decode_raw(&raw, &m, why, 0), -EBADMSG);
        ck_assert_int_eq(why[0], 'Q');
        /* A small one is cut and terminated, never overrun. */
        ck_assert_int_eq(decode_raw(&raw, &m, why, sizeof(why)), -EBADMSG);
        ck_assert_str_eq(why, "field '");
}
END_TEST

/* ---- fuzz ------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
        /* xorshift64*: the same sequence on every libc. */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static size_t rng_below(size_t n)
{
        return n ? (size_t) (rng() % n) : 0;
}

struct seed {
        uint8_t b[PROTO_MAX_FRAME];
        size_t len;
};

static void seed_add(struct seed *seeds, size_t *n, const struct proto_msg *m)
{
        ck_assert_int_eq(proto_encode(m, seeds[*n].b, sizeof(seeds[*n].b), &seeds[*n].len), 0);
        (*n)++;
}

/* A decoded message must satisfy every rule the decoder claims to enforce. */
static void assert_valid(const struct proto_msg *m)
{
        const struct type_def *t = type_def(m->type);

        ck_assert_msg(t != NULL, "decoded unknown type %u", m->type);
        ck_assert_msg((m->present & ~t->allowed) == 0, "decoded %s with fields %#llx", t->name,
                      (unsigned long long) (m->present & ~t->allowed));
        for (unsigned f = 1; f < PF_LAST_; f++) {
                const struct field_def *fd = field_def(f);
                const char *s;

                if (!proto_has(m, f) || fd->kind != PROTO_KIND_STR)
                        continue;
                s = proto_get_str(m, f);
                ck_assert_uint_le(strlen(s), fd->max);
                for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                        ck_assert_msg(*p >= 0x20 && *p != 0x7f, "decoded %s with byte %#x", fd->name, *p);
                if (proto_is_request(m->type))
                        ck_assert_msg(valid_text(s, fd->max), "decoded %s that is not valid text", fd->name);
        }
}

START_TEST(test_fuzz)
{
        static struct seed seeds[8];
        static uint8_t buf[PROTO_MAX_FRAME + 128], buf2[PROTO_MAX_FRAME];
        static struct proto_msg m, d;
        static const uint8_t interesting[] = { 0x00, 0x01, 0x07, 0x08, 0x0a, 0x1f, 0x20, 0x7f, 0x80, 0xff,
                                               PF_USER, PF_ROLE, PF_ID, PF_LAST_, PROTO_REP_GRANT };
        size_t nseeds = 0, ok = 0, refused = 0;
        char why[256];

        proto_init(&m, PROTO_REQ_PING);
        seed_add(seeds, &nseeds, &m);
        proto_init(&m, PROTO_REQ_CHECK);
        proto_set_str(&m, PF_USER, "alice");
        proto_set_str(&m, PF_SERVICE, "sudo");
        proto_set_str(&m, PF_RHOST, "bastion.example.com");
        proto_set_str(&m, PF_TTY, "/dev/pts/3");
        seed_add(seeds, &nseeds, &m);
        proto_init(&m, PROTO_REQ_REQUEST);
        proto_set_str(&m, PF_ROLE, "dba");
        proto_set_str(&m, PF_TICKET, "OPS-1234");
        proto_set_u64(&m, PF_DURATION, 3600);
        proto_set_str(&m, PF_REASON, "restore the orders table – Bestellungen kaputt");
        seed_add(seeds, &nseeds, &m);
        proto_init(&m, PROTO_REP_GRANT);
        proto_set_u64(&m, PF_ID, 7);
        proto_set_str(&m, PF_USER, "alice");
        proto_set_u64(&m, PF_UID, 1000);
        proto_set_str(&m, PF_HOST, "db1");
        proto_set_str(&m, PF_ROLE, "dba");
        proto_set_str(&m, PF_STATE, "active");
        proto_set_u64(&m, PF_REQUESTED_AT, 1700000000);
        proto_set_u64(&m, PF_EXPIRES_AT, 1700003600);
        proto_set_str(&m, PF_APPROVERS, "bob,carol");
        proto_set_u64(&m, PF_BREAK_GLASS, 0);
        seed_add(seeds, &nseeds, &m);
        proto_init(&m, PROTO_REP_ERROR);
        proto_set_u64(&m, PF_ERRNO, EPERM);
        proto_set_str(&m, PF_MESSAGE, "alice is not an approver of role dba");
        seed_add(seeds, &nseeds, &m);
        proto_init(&m, PROTO_REP_DECISION);
        proto_set_u64(&m, PF_DECISION, PROTO_DECISION_DENY);
        proto_set_str(&m, PF_MESSAGE, "run: jitctl request dba");
        proto_set_str(&m, PF_ROLE, "dba");
        seed_add(seeds, &nseeds, &m);
        proto_init(&m, PROTO_REQ_LIST);
        proto_set_u64(&m, PF_FLAGS, PROTO_F_ALL);
        proto_set_str(&m, PF_STATE, "");
        seed_add(seeds, &nseeds, &m);

        rng_state = UINT64_C(0x9e3779b97f4a7c15);
        for (unsigned iter = 0; iter < 200000; iter++) {
                const struct seed *sd = &seeds[rng_below(nseeds)];
                size_t len = sd->len, len2 = 0;
                unsigned nmut = 1 + (unsigned) rng_below(4);
                int r;

                memcpy(buf, sd->b, len);
                for (unsigned k = 0; k < nmut; k++) {
                        switch (rng_below(8)) {
                        case 0:         /* random byte */
                                if (len)
                                        buf[rng_below(len)] = (uint8_t) rng();
                                break;
                        case 1:         /* flip a bit */
                                if (len)
                                        buf[rng_below(len)] ^= (uint8_t) (1u << rng_below(8));
                                break;
                        case 2:         /* interesting byte, mostly in the payload */
                                if (len)
                                        buf[rng_below(len)] = interesting[rng_below(sizeof(interesting))];
                                break;
                        case 3:         /* truncate */
                                len = rng_below(len + 1);
                                break;
                        case 4: {       /* extend with random bytes */
                                size_t n = 1 + rng_below(16);

                                for (size_t i = 0; i < n && len < sizeof(buf); i++)
                                        buf[len++] = (uint8_t) rng();
                                break;
                        }
                        case 5: {       /* append a copy of a slice (duplicate fields) */
                                size_t from = rng_below(len + 1), n = rng_below(len - from + 1);

                                if (len + n <= sizeof(buf)) {
                                        memmove(buf + len, buf + from, n);
                                        len += n;
                                }
                                break;
                        }
                        case 6:         /* corrupt a field length in the first field */
                                if (len > PROTO_HEADER_SIZE + 3)
                                        buf[PROTO_HEADER_SIZE + 1 + rng_below(2)] = (uint8_t) rng();
                                break;
                        default:        /* grow past the frame limit, rarely */
                                if (rng_below(32) == 0) {
                                        size_t n = PROTO_MAX_FRAME - 8 + rng_below(sizeof(buf) - PROTO_MAX_FRAME + 8);

                                        while (len < n)
                                                buf[len++] = (uint8_t) rng();
                                }
                                break;
                        }
                }
                /* Half the time keep the length field honest, so that the
                 * mutations reach the field parser. */
                if (len >= PROTO_HEADER_SIZE && rng_below(2)) {
                        uint32_t l = (uint32_t) (len - PROTO_HEADER_SIZE);

                        for (int i = 0; i < 4; i++)
                                buf[8 + i] = (uint8_t) (l >> (8 * i));
                }

                why[0] = '\0';
                r = proto_decode(buf, len, &m, why, sizeof(why));
                if (r < 0) {
                        ck_assert_msg(r == -EBADMSG || r == -EPROTO, "iteration %u: decode returned %d", iter, r);
                        ck_assert_msg(why[0] != '\0' && !strchr(why, '\n'), "iteration %u: why '%s'", iter, why);
                        refused++;
                        continue;
                }
                ok++;
                ck_assert_uint_le(len, PROTO_MAX_FRAME);
                assert_valid(&m);
                ck_assert_int_eq(proto_encode(&m, buf2, sizeof(buf2), &len2), 0);
                ck_assert_msg(len2 == len, "iteration %u: re-encoded %zu bytes from %zu", iter, len2, len);
                ck_assert_int_eq(proto_decode(buf2, len2, &d, why, sizeof(why)), 0);
                ck_assert_msg(msg_equal(&m, &d), "iteration %u: fields differ after re-encoding", iter);
        }
        ck_assert_uint_eq(ok + refused, 200000);
        /* Both paths must actually have been exercised. */
        ck_assert_uint_gt(ok, 5000);
        ck_assert_uint_gt(refused, 50000);
}
END_TEST

static Suite *proto_suite(void)
{
        Suite *s = suite_create("proto");
        TCase *tc = tcase_create("names");

        tcase_add_test(tc, test_type_names);
        tcase_add_test(tc, test_field_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("encode");
        tcase_add_test(tc, test_golden_bytes);
        tcase_add_loop_test(tc, test_roundtrip_type, 0, (int) ELEMENTSOF(type_tab));
        tcase_add_loop_test(tc, test_field_rules, 0, (int) ELEMENTSOF(field_tab));
        tcase_add_test(tc, test_encode_control_chars);
        tcase_add_loop_test(tc, test_request_text, 0, (int) ELEMENTSOF(bad_text));
        tcase_add_test(tc, test_request_text_good);
        tcase_add_test(tc, test_encode_refusals);
        tcase_add_test(tc, test_encode_enospc);
        suite_add_tcase(s, tc);

        tc = tcase_create("decode");
        tcase_add_test(tc, test_decode_short);
        tcase_add_test(tc, test_decode_too_long);
        tcase_add_test(tc, test_decode_magic);
        tcase_add_test(tc, test_decode_version);
        tcase_add_test(tc, test_decode_unknown_type);
        tcase_add_test(tc, test_decode_reserved);
        tcase_add_test(tc, test_decode_length_mismatch);
        tcase_add_test(tc, test_decode_truncated_field_header);
        tcase_add_test(tc, test_decode_past_end);
        tcase_add_test(tc, test_decode_unknown_tag);
        tcase_add_test(tc, test_decode_not_allowed);
        tcase_add_test(tc, test_decode_duplicate);
        tcase_add_test(tc, test_decode_u64_size);
        tcase_add_test(tc, test_decode_string_bytes);
        tcase_add_test(tc, test_decode_trailing);
        tcase_add_test(tc, test_decode_any_order);
        tcase_add_test(tc, test_decode_why_buffer);
        suite_add_tcase(s, tc);

        tc = tcase_create("fuzz");
        /* Under valgrind or sanitizers 200k rounds take a while. */
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, test_fuzz);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(proto_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
