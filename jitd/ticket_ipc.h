/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The messages between jitd and its ticket helper (ticket.c is jitd's side,
 * ticket_helper.c the helper's), over an AF_UNIX SOCK_SEQPACKET socketpair:
 * one message is one datagram, so the kernel does the framing.
 *
 * Message (integers little-endian):
 *
 *   offset size  field
 *   0      4     magic    TIPC_MAGIC
 *   4      1     version  TIPC_VERSION
 *   5      1     type     enum tipc_type
 *   6      2     reserved must be zero
 *   8      ...   fields   tag (1 byte), length (2 bytes), value
 *
 * A u64 value is exactly 8 bytes. A string value has no NUL and is checked
 * against its field's class: a ticket (valid_ticket, not empty), a user name
 * (valid_user_name), a line (UTF-8, no C0 or C1 control character, no DEL,
 * no bidirectional override), or a note (a line that may also hold newline
 * and tab); each class has a maximum length. A list field is a string field
 * that may repeat (up to TIPC_LIST_MAX times); every other field appears at
 * most once.
 *
 * jitd -> helper                       helper -> jitd
 *   CONFIG   once, first                 READY   once, the answer to CONFIG
 *   LOOKUP   id, ticket, user            FAILED  errno, why: CONFIG cannot work
 *   CANCEL   id                          RESULT  id, verdict, status, window_start,
 *   COMMENT  ticket, text                        window_end, retry_after, flags, why,
 *                                                detail: once for every LOOKUP
 *                                                (a cancelled one too)
 *                                        COMMENT_FAILED  ticket, why
 *
 * The decoder refuses: a message shorter than the header or longer than
 * TIPC_MAX_MSG, a wrong magic or version, an unknown type, non-zero reserved
 * bits, an unknown tag or one this type does not carry, a repeated tag (other
 * than a list's), a value of the wrong size or class, a required field
 * missing, and for RESULT a verdict out of range, a time past year 9999, a
 * retry_after past a day and unknown flag bits. The encoder runs its output
 * through the decoder, so whatever it sends the other side accepts.
 *
 * libc only; no heap (struct tipc_msg holds its strings in an arena).
 */
#ifndef JITD_TICKET_IPC_H
#define JITD_TICKET_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ticket.h"

#define TIPC_MAGIC        0x4b544a4au     /* "JJTK" in memory */
#define TIPC_VERSION      1
#define TIPC_HEADER_SIZE  8
#define TIPC_MAX_MSG      65536
#define TIPC_LIST_MAX     64
#define TIPC_TEXT_MAX     8192            /* a note (ticket_comment's limit) */
#define TIPC_CONFIG_MAX   4096            /* one config value, the token included */
#define TIPC_TIME_MAX     INT64_C(253402300799)   /* 9999-12-31T23:59:59Z */
#define TIPC_RETRY_MAX    86400

/* The helper's end of the socketpair, in the helper. */
#define TIPC_HELPER_FD    3

enum tipc_type {
        TIPC_INVALID = 0,
        /* jitd -> helper */
        TIPC_CONFIG = 1,
        TIPC_LOOKUP,
        TIPC_CANCEL,
        TIPC_COMMENT,
        /* helper -> jitd */
        TIPC_READY = 64,
        TIPC_FAILED,
        TIPC_RESULT,
        TIPC_COMMENT_FAILED,
};

enum tipc_field {
        TF_INVALID = 0,
        TF_ID,                  /* u64: a lookup, chosen by jitd, never 0 */
        TF_TICKET,              /* ticket */
        TF_USER,                /* user name */
        TF_TEXT,                /* note: a comment */
        TF_VERDICT,             /* u64: enum ticket_verdict */
        TF_STATUS,              /* line, < 64 bytes */
        TF_WINDOW_START,        /* u64: unix seconds, 0 = none */
        TF_WINDOW_END,
        TF_RETRY_AFTER,         /* u64: seconds */
        TF_FLAGS,               /* u64: TIPC_F_* */
        TF_WHY,                 /* line, < 256 bytes */
        TF_DETAIL,              /* line, < 256 bytes */
        TF_ERRNO,               /* u64: positive errno */
        /* CONFIG: who to become, this host, the token, and [ticket] */
        TF_UID,
        TF_GID,
        TF_HOST,
        TF_TOKEN,
        TF_PROVIDER,
        TF_URL,
        TF_AUTH,
        TF_LOOKUP,
        TF_STATUS_PTR,
        TF_REQUESTER,
        TF_USER_MAP,
        TF_APPROVED,            /* list */
        TF_CLOSED,              /* list */
        TF_WINDOW_START_PTR,
        TF_WINDOW_END_PTR,
        TF_HOSTS,
        TF_CA_FILE,
        TF_PROJECT,
        TF_COMMENT_ON,          /* u64 0/1 */
        TF_ALLOW_HTTP,          /* u64 0/1 */
        TF_TIMEOUT,             /* u64 seconds */
        TF_POLL,                /* u64 seconds */
        TF_LAST_,
};

/* TF_FLAGS bits of a RESULT. */
enum {
        TIPC_F_REQUESTER = 1 << 0,      /* the ticket names the user as its requester */
};

struct tipc_item {
        uint8_t tag;
        const char *s;
};

/* A decoded message. Strings point into arena, NUL-terminated. */
struct tipc_msg {
        uint8_t type;
        uint64_t present;               /* bit n: field n is there */
        uint64_t u[TF_LAST_];
        const char *s[TF_LAST_];        /* the first (or only) value of a string field */
        struct tipc_item items[2 * TIPC_LIST_MAX];      /* every value of a list field, in order */
        size_t n_items;
        char arena[TIPC_MAX_MSG];
};

/* A message being built. */
struct tipc_buf {
        uint8_t p[TIPC_MAX_MSG];
        size_t len;
        int err;                        /* the first error; then every put is ignored */
};

int tipc_decode(const void *buf, size_t len, struct tipc_msg *m);

static inline bool tipc_has(const struct tipc_msg *m, enum tipc_field f)
{
        return (m->present >> f) & 1;
}

void tipc_begin(struct tipc_buf *b, enum tipc_type type);
void tipc_put_u64(struct tipc_buf *b, enum tipc_field f, uint64_t v);
void tipc_put_str(struct tipc_buf *b, enum tipc_field f, const char *s);
/* Checks the message with tipc_decode(), using scratch (a tipc_msg of the
 * caller's, so that neither side needs two on its stack). 0 or the first
 * error (-EINVAL for a value out of its class, -EMSGSIZE). */
int tipc_end(struct tipc_buf *b, struct tipc_msg *scratch);

/* The typed messages. */
int tipc_lookup(struct tipc_buf *b, struct tipc_msg *scratch, uint64_t id, const char *ticket, const char *user);
int tipc_cancel(struct tipc_buf *b, struct tipc_msg *scratch, uint64_t id);
int tipc_comment(struct tipc_buf *b, struct tipc_msg *scratch, const char *ticket, const char *text);
int tipc_ready(struct tipc_buf *b, struct tipc_msg *scratch);
int tipc_failed(struct tipc_buf *b, struct tipc_msg *scratch, int err, const char *why);
int tipc_comment_failed(struct tipc_buf *b, struct tipc_msg *scratch, const char *ticket, const char *why);
int tipc_result(struct tipc_buf *b, struct tipc_msg *scratch, uint64_t id, const struct ticket_result *r);
/* A decoded RESULT as jitd's API hands it on. */
void tipc_result_get(const struct tipc_msg *m, uint64_t *ret_id, struct ticket_result *r);

/* CONFIG: whom the helper becomes, this host's name, the token (NULL when
 * there is none) and [ticket]. */
int tipc_config(struct tipc_buf *b, struct tipc_msg *scratch, uid_t uid, gid_t gid, const char *host,
                const char *token, const struct ticket_config *cfg);
/* The [ticket] a CONFIG carries, into *cfg (zeroed first; free its strings
 * with tipc_config_clear()). */
int tipc_config_get(const struct tipc_msg *m, struct ticket_config *cfg);
void tipc_config_clear(struct ticket_config *cfg);

#endif
