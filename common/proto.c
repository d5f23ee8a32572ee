/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "util.h"

struct field_def {
        const char *name;
        enum proto_kind kind;
        uint16_t max;                    /* strings: longest value in bytes */
};

static const struct field_def fields[PF_LAST_] = {
        [PF_ID]               = { "id",               PROTO_KIND_U64, 0 },
        [PF_USER]             = { "user",             PROTO_KIND_STR, 32 },
        [PF_UID]              = { "uid",              PROTO_KIND_U64, 0 },
        [PF_HOST]             = { "host",             PROTO_KIND_STR, 253 },
        [PF_SERVICE]          = { "service",          PROTO_KIND_STR, 32 },
        [PF_ROLE]             = { "role",             PROTO_KIND_STR, 64 },
        [PF_TICKET]           = { "ticket",           PROTO_KIND_STR, 64 },
        [PF_REASON]           = { "reason",           PROTO_KIND_STR, 512 },
        [PF_NOTE]             = { "note",             PROTO_KIND_STR, 512 },
        [PF_DURATION]         = { "duration",         PROTO_KIND_U64, 0 },
        [PF_STATE]            = { "state",            PROTO_KIND_STR, 16 },
        [PF_FLAGS]            = { "flags",            PROTO_KIND_U64, 0 },
        [PF_DECISION]         = { "decision",         PROTO_KIND_U64, 0 },
        [PF_MESSAGE]          = { "message",          PROTO_KIND_STR, 1024 },
        [PF_ERRNO]            = { "errno",            PROTO_KIND_U64, 0 },
        [PF_REQUESTED_AT]     = { "requested_at",     PROTO_KIND_U64, 0 },
        [PF_APPROVED_AT]      = { "approved_at",      PROTO_KIND_U64, 0 },
        [PF_STARTS_AT]        = { "starts_at",        PROTO_KIND_U64, 0 },
        [PF_EXPIRES_AT]       = { "expires_at",       PROTO_KIND_U64, 0 },
        [PF_ENDED_AT]         = { "ended_at",         PROTO_KIND_U64, 0 },
        [PF_END_REASON]       = { "end_reason",       PROTO_KIND_STR, 512 },
        [PF_APPROVERS]        = { "approvers",        PROTO_KIND_STR, 1024 },
        [PF_APPROVALS_NEEDED] = { "approvals_needed", PROTO_KIND_U64, 0 },
        [PF_APPROVAL]         = { "approval",         PROTO_KIND_STR, 31 },
        [PF_BREAK_GLASS]      = { "break_glass",      PROTO_KIND_U64, 0 },
        [PF_REVIEW]           = { "review",           PROTO_KIND_STR, 15 },
        [PF_NOW]              = { "now",              PROTO_KIND_U64, 0 },
        [PF_VERSION]          = { "version",          PROTO_KIND_STR, 32 },
        [PF_TTY]              = { "tty",              PROTO_KIND_STR, 64 },
        [PF_RHOST]            = { "rhost",            PROTO_KIND_STR, 253 },
        [PF_SINCE]            = { "since",            PROTO_KIND_U64, 0 },
        [PF_COUNT]            = { "count",            PROTO_KIND_U64, 0 },
        [PF_DETAILS]          = { "details",          PROTO_KIND_STR, 4096 },
        [PF_EVENT]            = { "event",            PROTO_KIND_STR, 31 },
        [PF_ACTOR]            = { "actor",            PROTO_KIND_STR, 32 },
        [PF_HASH]             = { "hash",             PROTO_KIND_STR, 64 },
        [PF_TIMEOUT]          = { "timeout",          PROTO_KIND_U64, 0 },
        [PF_TOKEN]            = { "token",            PROTO_KIND_STR, 64 },
        [PF_TARGET]           = { "target",           PROTO_KIND_STR, 32 },
        [PF_FLEET]            = { "fleet",            PROTO_KIND_STR, 384 },
        [PF_SIGNATURE]        = { "signature",        PROTO_KIND_STR, 4096 },
        [PF_FLEET_ID]         = { "fleet_id",         PROTO_KIND_U64, 0 },
        [PF_EXTENSION]        = { "extension",        PROTO_KIND_U64, 0 },
        [PF_EXTENSION_ADDS]   = { "extension_adds",   PROTO_KIND_U64, 0 },
        [PF_EXTENSION_AT]     = { "extension_at",     PROTO_KIND_U64, 0 },
};

#define F(x) (UINT64_C(1) << (x))
#define GRANT_FIELDS (F(PF_ID) | F(PF_USER) | F(PF_UID) | F(PF_HOST) | F(PF_ROLE) | F(PF_TICKET) | \
                      F(PF_REASON) | F(PF_DURATION) | F(PF_STATE) | F(PF_REQUESTED_AT) |           \
                      F(PF_APPROVED_AT) | F(PF_STARTS_AT) | F(PF_EXPIRES_AT) | F(PF_ENDED_AT) |    \
                      F(PF_END_REASON) | F(PF_APPROVERS) | F(PF_APPROVALS_NEEDED) |                \
                      F(PF_APPROVAL) | F(PF_BREAK_GLASS) | F(PF_REVIEW) | F(PF_NOW) | F(PF_MESSAGE) | \
                      F(PF_FLEET_ID) | F(PF_EXTENSION) | F(PF_EXTENSION_ADDS) | F(PF_EXTENSION_AT))

/* Which fields each message type may carry. Notably no request a user sends
 * carries a user name: the subject is always the peer's kernel credentials,
 * except in the root-only CHECK and SESSION_* requests where PAM names it. */
static const struct {
        const char *name;
        uint64_t allowed;
} types[PROTO_REP_LAST_] = {
        [PROTO_REQ_PING]          = { "ping",          0 },
        [PROTO_REQ_CHECK]         = { "check",         F(PF_USER) | F(PF_SERVICE) | F(PF_RHOST) | F(PF_TTY) },
        [PROTO_REQ_REQUEST]       = { "request",       F(PF_ROLE) | F(PF_TICKET) | F(PF_DURATION) | F(PF_REASON) |
                                                       F(PF_HOST) },
        [PROTO_REQ_APPROVE]       = { "approve",       F(PF_ID) | F(PF_NOTE) | F(PF_SIGNATURE) | F(PF_FLEET_ID) |
                                                       F(PF_EXTENSION) },
        [PROTO_REQ_DENY]          = { "deny",          F(PF_ID) | F(PF_NOTE) | F(PF_FLEET_ID) },
        [PROTO_REQ_CANCEL]        = { "cancel",        F(PF_ID) | F(PF_FLEET_ID) },
        [PROTO_REQ_RELEASE]       = { "release",       F(PF_ID) | F(PF_FLEET_ID) },
        [PROTO_REQ_REVOKE]        = { "revoke",        F(PF_ID) | F(PF_REASON) | F(PF_USER) | F(PF_FLAGS) |
                                                       F(PF_FLEET_ID) },
        [PROTO_REQ_LIST]          = { "list",          F(PF_FLAGS) | F(PF_USER) | F(PF_STATE) | F(PF_ROLE) | F(PF_SINCE) |
                                                       F(PF_HOST) },
        [PROTO_REQ_SHOW]          = { "show",          F(PF_ID) | F(PF_FLEET_ID) },
        [PROTO_REQ_SESSION_OPEN]  = { "session-open",  F(PF_USER) | F(PF_SERVICE) | F(PF_RHOST) | F(PF_TTY) |
                                                       F(PF_TOKEN) | F(PF_TARGET) },
        [PROTO_REQ_SESSION_CLOSE] = { "session-close", F(PF_USER) | F(PF_SERVICE) | F(PF_RHOST) | F(PF_TTY) |
                                                       F(PF_ID) },
        [PROTO_REQ_EXTEND]        = { "extend",        F(PF_ID) | F(PF_DURATION) | F(PF_REASON) | F(PF_FLEET_ID) },
        [PROTO_REQ_BREAK_GLASS]   = { "break-glass",   F(PF_ROLE) | F(PF_REASON) | F(PF_DURATION) },
        [PROTO_REQ_REVIEW]        = { "review",        F(PF_ID) | F(PF_FLAGS) | F(PF_NOTE) | F(PF_FLEET_ID) },
        [PROTO_REQ_AUDIT]         = { "audit",         F(PF_SINCE) | F(PF_ID) | F(PF_FLEET_ID) | F(PF_HOST) |
                                                       F(PF_FLAGS) },
        [PROTO_REQ_AUDIT_VERIFY]  = { "audit-verify",  F(PF_HOST) | F(PF_FLAGS) },
        [PROTO_REQ_REPORT]        = { "report",        F(PF_SINCE) | F(PF_HOST) },
        [PROTO_REQ_RELOAD]        = { "reload",        0 },
        [PROTO_REQ_STATUS]        = { "status",        0 },
        [PROTO_REQ_ROLES]         = { "roles",         0 },
        [PROTO_REQ_REQUEST_FOR]   = { "request-for",   F(PF_USER) | F(PF_SERVICE) | F(PF_ROLE) | F(PF_TICKET) |
                                                       F(PF_TIMEOUT) | F(PF_RHOST) | F(PF_TTY) },
        [PROTO_REQ_APPROVAL_TEXT] = { "approval-text", F(PF_ID) | F(PF_FLEET_ID) },
        [PROTO_REQ_RECORDINGS]    = { "recordings",    F(PF_ID) },
        [PROTO_REQ_REPLAY]        = { "replay",        F(PF_ID) | F(PF_COUNT) },
        [PROTO_REQ_SSH_RECORD]    = { "ssh-record",    F(PF_REASON) },
        [PROTO_REP_OK]            = { "ok",            F(PF_ID) | F(PF_MESSAGE) | F(PF_VERSION) | F(PF_NOW) |
                                                       F(PF_HOST) | F(PF_COUNT) | F(PF_DETAILS) | F(PF_USER) |
                                                       F(PF_UID) | F(PF_HASH) | F(PF_FLEET) | F(PF_FLEET_ID) },
        [PROTO_REP_ERROR]         = { "error",         F(PF_ERRNO) | F(PF_MESSAGE) },
        [PROTO_REP_DECISION]      = { "decision",      F(PF_DECISION) | F(PF_MESSAGE) | F(PF_ID) | F(PF_ROLE) |
                                                       F(PF_EXPIRES_AT) | F(PF_HOST) | F(PF_TOKEN) },
        [PROTO_REP_GRANT]         = { "grant",         GRANT_FIELDS },
        [PROTO_REP_EVENT]         = { "event",         F(PF_ID) | F(PF_NOW) | F(PF_UID) | F(PF_ACTOR) | F(PF_EVENT) |
                                                       F(PF_DETAILS) | F(PF_HASH) | F(PF_COUNT) | F(PF_FLEET_ID) |
                                                       F(PF_HOST) },
        [PROTO_REP_ROLE]          = { "role",          F(PF_ROLE) | F(PF_APPROVAL) | F(PF_DURATION) | F(PF_TICKET) |
                                                       F(PF_FLAGS) | F(PF_MESSAGE) },
        [PROTO_REP_END]           = { "end",           F(PF_COUNT) },
};

static bool type_known(unsigned t)
{
        return t < (sizeof(types) / sizeof(types[0])) && types[t].name != NULL;
}

static bool field_allowed(unsigned type, unsigned f)
{
        return f > PF_INVALID && f < PF_LAST_ && fields[f].name && (types[type].allowed & F(f));
}

const char *proto_type_name(unsigned type)
{
        return type_known(type) ? types[type].name : NULL;
}

const char *proto_field_name(unsigned f)
{
        return f > PF_INVALID && f < PF_LAST_ ? fields[f].name : NULL;
}

bool proto_is_request(unsigned type)
{
        return type > PROTO_TYPE_INVALID && type < PROTO_REQ_LAST_;
}

void proto_init(struct proto_msg *m, enum proto_type type)
{
        m->type = (uint8_t) type;
        m->present = 0;
        m->buf_used = 0;
}

/* What a string field may hold. Requests carry what a user gives, so they
 * get the rules of free text (util.h valid_text_n: UTF-8, no control, no
 * bidirectional override), which closes every field, present and future, at
 * once. Replies carry what jitd has stored: refusing a byte there would make
 * an old or planted row unreadable, so they only keep the frame clean (no
 * byte < 0x20, no 0x7f) and jitctl escapes the rest when it shows it. */
static bool str_ok(unsigned type, const char *s, size_t n)
{
        if (proto_is_request(type))
                return valid_text_n(s, n);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

/* Room a field takes on the wire, to keep every message we build encodable. */
static size_t wire_size(const struct proto_msg *m)
{
        size_t n = PROTO_HEADER_SIZE;

        for (unsigned f = 1; f < PF_LAST_; f++) {
                if (!(m->present & F(f)))
                        continue;
                n += 3 + (fields[f].kind == PROTO_KIND_U64 ? 8 : strlen(m->buf + m->str_off[f]));
        }
        return n;
}

static int set_str_n(struct proto_msg *m, enum proto_field f, const char *s, size_t n)
{
        if (!type_known(m->type) || !field_allowed(m->type, f) || fields[f].kind != PROTO_KIND_STR)
                return -EINVAL;
        if (m->present & F(f))
                return -EEXIST;
        if (n > fields[f].max)
                return -E2BIG;
        if (!str_ok(m->type, s, n))
                return -EINVAL;
        if (m->buf_used + n + 1 > sizeof(m->buf) || wire_size(m) + 3 + n > PROTO_MAX_FRAME)
                return -ENOSPC;
        memcpy(m->buf + m->buf_used, s, n);
        m->buf[m->buf_used + n] = '\0';
        m->str_off[f] = m->buf_used;
        m->buf_used = (uint16_t) (m->buf_used + n + 1);
        m->present |= F(f);
        return 0;
}

int proto_set_str(struct proto_msg *m, enum proto_field f, const char *s)
{
        if (!s)
                return -EINVAL;
        return set_str_n(m, f, s, strlen(s));
}

int proto_set_u64(struct proto_msg *m, enum proto_field f, uint64_t v)
{
        if (!type_known(m->type) || !field_allowed(m->type, f) || fields[f].kind != PROTO_KIND_U64)
                return -EINVAL;
        if (m->present & F(f))
                return -EEXIST;
        if (wire_size(m) + 11 > PROTO_MAX_FRAME)
                return -ENOSPC;
        m->num[f] = v;
        m->present |= F(f);
        return 0;
}

bool proto_has(const struct proto_msg *m, enum proto_field f)
{
        return f > PF_INVALID && f < PF_LAST_ && (m->present & F(f));
}

const char *proto_get_str(const struct proto_msg *m, enum proto_field f)
{
        if (!proto_has(m, f) || fields[f].kind != PROTO_KIND_STR)
                return NULL;
        return m->buf + m->str_off[f];
}

bool proto_get_u64(const struct proto_msg *m, enum proto_field f, uint64_t *ret)
{
        if (!proto_has(m, f) || fields[f].kind != PROTO_KIND_U64)
                return false;
        *ret = m->num[f];
        return true;
}

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t) v; p[1] = (uint8_t) (v >> 8); }
static void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t) (v >> (8 * i)); }
static void put_le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t) (v >> (8 * i)); }
static uint16_t get_le16(const uint8_t *p) { return (uint16_t) (p[0] | (p[1] << 8)); }

static uint32_t get_le32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

int proto_encode(const struct proto_msg *m, uint8_t *buf, size_t size, size_t *ret_len)
{
        size_t off = PROTO_HEADER_SIZE;

        if (!type_known(m->type))
                return -EINVAL;
        if (size < PROTO_HEADER_SIZE)
                return -ENOBUFS;
        for (unsigned f = 1; f < PF_LAST_; f++) {
                size_t n;

                if (!(m->present & F(f)))
                        continue;
                n = fields[f].kind == PROTO_KIND_U64 ? 8 : strlen(m->buf + m->str_off[f]);
                if (off + 3 + n > size || off + 3 + n > PROTO_MAX_FRAME)
                        return -ENOBUFS;
                buf[off] = (uint8_t) f;
                put_le16(buf + off + 1, (uint16_t) n);
                if (fields[f].kind == PROTO_KIND_U64)
                        put_le64(buf + off + 3, m->num[f]);
                else
                        memcpy(buf + off + 3, m->buf + m->str_off[f], n);
                off += 3 + n;
        }
        put_le32(buf, PROTO_MAGIC);
        buf[4] = PROTO_VERSION;
        buf[5] = m->type;
        put_le16(buf + 6, 0);
        put_le32(buf + 8, (uint32_t) (off - PROTO_HEADER_SIZE));
        *ret_len = off;
        return 0;
}

#define FAIL(err, ...) do { if (why) snprintf(why, why_size, __VA_ARGS__); return (err); } while (0)

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *ret, char *why, size_t why_size)
{
        size_t off = PROTO_HEADER_SIZE;
        unsigned type;

        if (len < PROTO_HEADER_SIZE)
                FAIL(-EBADMSG, "message of %zu bytes is shorter than the header", len);
        if (len > PROTO_MAX_FRAME)
                FAIL(-EBADMSG, "message of %zu bytes exceeds the limit of %d", len, PROTO_MAX_FRAME);
        if (get_le32(buf) != PROTO_MAGIC)
                FAIL(-EPROTO, "bad magic: not a jitd message");
        if (buf[4] != PROTO_VERSION)
                FAIL(-EPROTO, "protocol version %u, this side speaks %d", buf[4], PROTO_VERSION);
        type = buf[5];
        if (!type_known(type))
                FAIL(-EBADMSG, "unknown message type %u", type);
        if (get_le16(buf + 6) != 0)
                FAIL(-EBADMSG, "reserved header bits set");
        if (get_le32(buf + 8) != len - PROTO_HEADER_SIZE)
                FAIL(-EBADMSG, "length field says %u, message carries %zu", get_le32(buf + 8),
                     len - PROTO_HEADER_SIZE);

        proto_init(ret, (enum proto_type) type);
        while (off < len) {
                unsigned f;
                size_t n;
                int r;

                if (len - off < 3)
                        FAIL(-EBADMSG, "truncated field header at offset %zu", off);
                f = buf[off];
                n = get_le16(buf + off + 1);
                if (n > len - off - 3)
                        FAIL(-EBADMSG, "field at offset %zu runs past the end", off);
                if (f == PF_INVALID || f >= PF_LAST_ || !fields[f].name)
                        FAIL(-EBADMSG, "unknown field %u", f);
                if (!field_allowed(type, f))
                        FAIL(-EBADMSG, "field '%s' not allowed in '%s'", fields[f].name, types[type].name);
                if (ret->present & F(f))
                        FAIL(-EBADMSG, "field '%s' given twice", fields[f].name);
                if (fields[f].kind == PROTO_KIND_U64) {
                        if (n != 8)
                                FAIL(-EBADMSG, "field '%s' must be 8 bytes, is %zu", fields[f].name, n);
                        r = proto_set_u64(ret, (enum proto_field) f, get_le64(buf + off + 3));
                } else {
                        if (memchr(buf + off + 3, '\0', n))
                                FAIL(-EBADMSG, "field '%s' contains a NUL byte", fields[f].name);
                        r = set_str_n(ret, (enum proto_field) f, (const char *) buf + off + 3, n);
                }
                if (r == -E2BIG)
                        FAIL(-EBADMSG, "field '%s' longer than %u bytes", fields[f].name, fields[f].max);
                if (r < 0)
                        FAIL(-EBADMSG, "field '%s' contains %s", fields[f].name,
                             proto_is_request(type) ? "control characters, bidirectional overrides or invalid UTF-8"
                                                    : "control characters");
                off += 3 + n;
        }
        return 0;
}
