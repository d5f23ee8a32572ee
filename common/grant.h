/* SPDX-License-Identifier: BSD-3-Clause */
/* A grant as jitd stores it and as it travels to jitctl. Fixed-size strings so
 * that it can be copied, decoded and freed without thinking about ownership. */
#ifndef JIT_GRANT_H
#define JIT_GRANT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "util.h"

enum grant_state {
        GRANT_PENDING = 0,
        GRANT_SCHEDULED,
        GRANT_ACTIVE,
        GRANT_EXPIRED,
        GRANT_REVOKED,
        GRANT_RELEASED,
        GRANT_DENIED,
        GRANT_CANCELLED,
        GRANT_STATE_MAX_,
};

#define GRANT_STATE_MASK(s) (1u << (s))
#define GRANT_STATES_OPEN   (GRANT_STATE_MASK(GRANT_PENDING) | GRANT_STATE_MASK(GRANT_SCHEDULED) | \
                             GRANT_STATE_MASK(GRANT_ACTIVE))
#define GRANT_STATES_ALL    ((1u << GRANT_STATE_MAX_) - 1)

struct jit_grant {
        int64_t id;                               /* 0 until stored */
        char user[JIT_USER_MAX + 1];
        uint32_t uid;
        char host[JIT_HOST_MAX + 1];
        char role[JIT_ROLE_MAX + 1];
        char ticket[JIT_TICKET_MAX + 1];          /* "" = none */
        char reason[JIT_REASON_MAX + 1];
        uint64_t duration;                        /* requested, seconds */
        enum grant_state state;
        int64_t requested_at;                     /* unix seconds; 0 = not yet */
        int64_t approved_at;
        int64_t starts_at;
        int64_t expires_at;
        int64_t ended_at;
        char end_reason[JIT_REASON_MAX + 1];
        char approvers[JIT_LIST_MAX + 1];         /* comma-separated, in order of approval */
        uint32_t approvals_needed;
        char approval[32];                        /* "peer", "auto", "ticket,peer", "break-glass" */
        bool break_glass;
        char review[16];                          /* "", "pending", "accepted", "rejected" */
        /* Not stored with the grant: set in replies. A local grant that is a
         * fleet grant's copy carries that grant's id; a fleet grant itself
         * (id 0) only it. jitctl writes fleet ids as "F12". */
        int64_t fleet_id;
};

const char *grant_state_to_string(enum grant_state s);
/* -EINVAL for an unknown name. */
int grant_state_from_string(const char *s, enum grant_state *ret);
static inline bool grant_state_is_open(enum grant_state s) {
        return s == GRANT_PENDING || s == GRANT_SCHEDULED || s == GRANT_ACTIVE;
}

/* Put every field of g into m (which must be PROTO_REP_GRANT). */
int grant_to_proto(const struct jit_grant *g, struct proto_msg *m);
/* The reverse; -EBADMSG when a required field is missing or out of range
 * (an id, or for a fleet grant a fleet id). */
int grant_from_proto(const struct proto_msg *m, struct jit_grant *ret);

#endif
