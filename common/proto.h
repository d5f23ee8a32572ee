/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wire protocol between pam_jit / jitctl and jitd.
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET socket. One message is one datagram, so
 * framing comes from the kernel and a message is never split or merged. A
 * connection carries any number of request/reply exchanges, strictly in turn.
 *
 * Frame (all integers little-endian):
 *
 *   offset size  field
 *   0      4     magic    0x4a495444 ("DTIJ" in memory, "JITD" as a number)
 *   4      1     version  PROTO_VERSION
 *   5      1     type     enum proto_type
 *   6      2     reserved must be zero
 *   8      4     length   payload length; header + length == datagram size
 *   12     ...   payload  a sequence of fields
 *
 * Field:
 *   0      1     tag      enum proto_field
 *   1      2     length   value length
 *   3      ...   value    PROTO_KIND_U64: exactly 8 bytes, little-endian
 *                         PROTO_KIND_STR: 0..max bytes, no NUL, no byte < 0x20,
 *                                         no 0x7f; in requests also valid
 *                                         UTF-8 with no C1 control and no
 *                                         bidirectional override (util.h
 *                                         valid_text_n); replies pass other
 *                                         bytes through
 *
 * The decoder refuses: a datagram shorter than the header or longer than
 * PROTO_MAX_FRAME; a wrong magic or version; an unknown type; non-zero reserved
 * bits; a length that disagrees with the datagram; an unknown tag; a tag not
 * allowed in this message type; a tag present twice; a value of the wrong size
 * or with forbidden bytes; trailing bytes. Which fields a handler requires is
 * checked by the handler, which replies PROTO_REP_ERROR saying which one.
 *
 * Replies: PROTO_REP_OK, PROTO_REP_DECISION (to CHECK), PROTO_REP_ERROR
 * (PF_ERRNO: a positive errno; PF_MESSAGE: one line for a human), and streams
 * for listings: zero or more PROTO_REP_GRANT (or other record) messages closed
 * by PROTO_REP_END.
 *
 * The encoder/decoder use no heap: struct proto_msg holds its strings inline.
 * pam_jit links this file, so it stays libc only.
 */
#ifndef JIT_PROTO_H
#define JIT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC        0x4a495444u
#define PROTO_VERSION      1
#define PROTO_HEADER_SIZE  12
#define PROTO_MAX_FRAME    8192

enum proto_type {
        PROTO_TYPE_INVALID = 0,
        /* requests */
        PROTO_REQ_PING = 1,        /* anyone: liveness, server version and time */
        PROTO_REQ_CHECK,           /* root: may USER use SERVICE now (the PAM question) */
        PROTO_REQ_REQUEST,         /* anyone: ask for an elevation for myself */
        PROTO_REQ_APPROVE,         /* approvers of the grant's role */
        PROTO_REQ_DENY,            /* approvers of the grant's role */
        PROTO_REQ_CANCEL,          /* the requester, pending grants */
        PROTO_REQ_RELEASE,         /* the grant's user */
        PROTO_REQ_REVOKE,          /* admins */
        PROTO_REQ_LIST,            /* anyone: own grants; approvers and admins: all */
        PROTO_REQ_SHOW,            /* as LIST */
        PROTO_REQ_SESSION_OPEN,    /* root: register the peer's session */
        PROTO_REQ_SESSION_CLOSE,   /* root */
        PROTO_REQ_EXTEND,          /* the grant's user */
        PROTO_REQ_BREAK_GLASS,     /* break_glass members */
        PROTO_REQ_REVIEW,          /* admins */
        PROTO_REQ_AUDIT,           /* admins */
        PROTO_REQ_AUDIT_VERIFY,    /* admins */
        PROTO_REQ_REPORT,          /* admins and approvers */
        PROTO_REQ_RELOAD,          /* admins */
        PROTO_REQ_STATUS,          /* anyone */
        PROTO_REQ_ROLES,           /* anyone: roles I may request here */
        PROTO_REQ_REQUEST_FOR,     /* root: pam_jit's prompt asks for USER's elevation with a ticket */
        PROTO_REQ_APPROVAL_TEXT,   /* anyone (jitd: an approver of the fleet grant's role, not its user):
                                    * the fields of a fleet grant's canonical approval text */
        PROTO_REQ_RECORDINGS,      /* as SHOW: a grant's session recordings */
        PROTO_REQ_REPLAY,          /* admins, approvers of the grant's role (not its user): a recording's files */
        PROTO_REQ_SSH_RECORD,      /* anyone (in a registered ssh session): tlog's pipe, passed along */
        PROTO_REQ_LAST_,
        /* replies */
        PROTO_REP_OK = 64,
        PROTO_REP_ERROR,
        PROTO_REP_DECISION,
        PROTO_REP_GRANT,
        PROTO_REP_EVENT,
        PROTO_REP_ROLE,
        PROTO_REP_END,
        PROTO_REP_LAST_,
};

enum proto_field {
        PF_INVALID = 0,
        PF_ID = 1,            /* u64 grant id */
        PF_USER,              /* str: subject (CHECK, SESSION_*) or grant user */
        PF_UID,               /* u64 */
        PF_HOST,              /* str */
        PF_SERVICE,           /* str: PAM service */
        PF_ROLE,              /* str */
        PF_TICKET,            /* str */
        PF_REASON,            /* str: why (request, revoke, extend, break-glass) */
        PF_NOTE,              /* str: approver's note */
        PF_DURATION,          /* u64 seconds */
        PF_STATE,             /* str: grant state name */
        PF_FLAGS,             /* u64: request-specific flags (PROTO_F_*) */
        PF_DECISION,          /* u64: enum proto_decision */
        PF_MESSAGE,           /* str: one human line */
        PF_ERRNO,             /* u64: positive errno */
        PF_REQUESTED_AT,      /* u64 unix seconds; absent = never */
        PF_APPROVED_AT,
        PF_STARTS_AT,
        PF_EXPIRES_AT,
        PF_ENDED_AT,
        PF_END_REASON,        /* str */
        PF_APPROVERS,         /* str: comma-separated user names */
        PF_APPROVALS_NEEDED,  /* u64 */
        PF_APPROVAL,          /* str: the role's approval path, e.g. "peer" */
        PF_BREAK_GLASS,       /* u64 0/1 */
        PF_REVIEW,            /* str: review state of a break-glass grant */
        PF_NOW,               /* u64: server clock, unix seconds */
        PF_VERSION,           /* str: server version */
        PF_TTY,               /* str */
        PF_RHOST,             /* str */
        PF_SINCE,             /* u64 unix seconds */
        PF_COUNT,             /* u64 */
        PF_DETAILS,           /* str: JSON object */
        PF_EVENT,             /* str: audit event name */
        PF_ACTOR,             /* str: actor name */
        PF_HASH,              /* str: hex */
        PF_TIMEOUT,           /* u64 milliseconds */
        PF_TOKEN,             /* str: hex; an allow's token, shown again at session-open */
        PF_TARGET,            /* str: the user a sudo session runs as (PAM_USER in its session phase) */
        PF_FLEET,             /* str: the fleet connection's state, one line (ping, with [fleet]) */
        PF_SIGNATURE,         /* str: an armored SSHSIG with its line breaks as '|' (fleet approve) */
        PF_FLEET_ID,          /* u64: a fleet grant's id (jitctl's "F12"); in a request, instead of PF_ID */
        PF_EXTENSION,         /* u64: extension n of a fleet grant (approval-text, approve) */
        PF_EXTENSION_ADDS,    /* u64 seconds: what that extension adds */
        PF_EXTENSION_AT,      /* u64 unix seconds: when it was asked for */
        PF_LAST_,
};

enum proto_kind { PROTO_KIND_U64 = 1, PROTO_KIND_STR = 2 };

enum proto_decision {
        PROTO_DECISION_ALLOW = 1,   /* active grant covers this service */
        PROTO_DECISION_DENY = 2,    /* covered by a role, no active grant */
        PROTO_DECISION_IGNORE = 3,  /* not covered by any role */
};

/* PF_FLAGS bits. */
enum {
        PROTO_F_ALL       = 1 << 0,  /* LIST: include ended grants */
        PROTO_F_WAIT      = 1 << 1,  /* reserved */
        PROTO_F_ACCEPT    = 1 << 2,  /* REVIEW */
        PROTO_F_REJECT    = 1 << 3,  /* REVIEW */
        PROTO_F_LOCAL     = 1 << 4,  /* AUDIT: this host's trail, even with [fleet] */
        PROTO_F_DOCUMENT  = 1 << 5,  /* AUDIT_VERIFY: answer with a JSON document (jitd/fleet_audit.h) */
};

struct proto_msg {
        uint8_t type;
        uint64_t present;                 /* bit n set: field n present */
        uint64_t num[PF_LAST_];
        uint16_t str_off[PF_LAST_];       /* offset into buf */
        uint16_t buf_used;
        char buf[PROTO_MAX_FRAME];        /* NUL-terminated string values */
};

/* Start an empty message of the given type. */
void proto_init(struct proto_msg *m, enum proto_type type);

/* Add a field. -EINVAL: wrong kind for the tag, tag not allowed in this type,
 * forbidden bytes; -EEXIST: already set; -E2BIG: longer than the tag's maximum;
 * -ENOSPC: the message would exceed PROTO_MAX_FRAME. */
int proto_set_str(struct proto_msg *m, enum proto_field f, const char *s);
int proto_set_u64(struct proto_msg *m, enum proto_field f, uint64_t v);

bool proto_has(const struct proto_msg *m, enum proto_field f);
/* NULL when absent. Points into m. */
const char *proto_get_str(const struct proto_msg *m, enum proto_field f);
/* false when absent. */
bool proto_get_u64(const struct proto_msg *m, enum proto_field f, uint64_t *ret);

/* Encode into buf (PROTO_MAX_FRAME bytes always suffice). */
int proto_encode(const struct proto_msg *m, uint8_t *buf, size_t size, size_t *ret_len);
/* Decode one datagram. -EBADMSG for anything malformed, -EPROTO for a wrong
 * magic or version (so the caller can say "version mismatch"). On failure
 * *ret is unspecified and, when why is not NULL, it receives one line saying
 * what was wrong ("field 'user' not allowed in 'request'"). */
int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *ret, char *why, size_t why_size);

const char *proto_type_name(unsigned type);     /* "check", "request", ...; NULL if unknown */
const char *proto_field_name(unsigned f);       /* "user", "role", ...; NULL if unknown */
bool proto_is_request(unsigned type);

#endif
