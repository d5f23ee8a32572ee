/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "grant.h"

static const char *const state_names[GRANT_STATE_MAX_] = {
        [GRANT_PENDING]   = "pending",
        [GRANT_SCHEDULED] = "scheduled",
        [GRANT_ACTIVE]    = "active",
        [GRANT_EXPIRED]   = "expired",
        [GRANT_REVOKED]   = "revoked",
        [GRANT_RELEASED]  = "released",
        [GRANT_DENIED]    = "denied",
        [GRANT_CANCELLED] = "cancelled",
};

const char *grant_state_to_string(enum grant_state s)
{
        return (unsigned) s < GRANT_STATE_MAX_ ? state_names[s] : "invalid";
}

int grant_state_from_string(const char *s, enum grant_state *ret)
{
        for (unsigned i = 0; s && i < GRANT_STATE_MAX_; i++)
                if (strcmp(s, state_names[i]) == 0) {
                        *ret = (enum grant_state) i;
                        return 0;
                }
        return -EINVAL;
}

int grant_to_proto(const struct jit_grant *g, struct proto_msg *m)
{
        const struct { enum proto_field f; int64_t v; } times[] = {
                { PF_REQUESTED_AT, g->requested_at }, { PF_APPROVED_AT, g->approved_at },
                { PF_STARTS_AT, g->starts_at },       { PF_EXPIRES_AT, g->expires_at },
                { PF_ENDED_AT, g->ended_at },
        };
        const struct { enum proto_field f; const char *v; } strs[] = {
                { PF_USER, g->user },             { PF_HOST, g->host },
                { PF_ROLE, g->role },             { PF_TICKET, g->ticket },
                { PF_REASON, g->reason },         { PF_STATE, grant_state_to_string(g->state) },
                { PF_END_REASON, g->end_reason }, { PF_APPROVERS, g->approvers },
                { PF_APPROVAL, g->approval },     { PF_REVIEW, g->review },
        };
        int r;

        if ((g->id > 0 || g->fleet_id <= 0) && (r = proto_set_u64(m, PF_ID, (uint64_t) g->id)) < 0)
                return r;
        if (g->fleet_id > 0 && (r = proto_set_u64(m, PF_FLEET_ID, (uint64_t) g->fleet_id)) < 0)
                return r;
        if ((r = proto_set_u64(m, PF_UID, g->uid)) < 0 ||
            (r = proto_set_u64(m, PF_DURATION, g->duration)) < 0 ||
            (r = proto_set_u64(m, PF_APPROVALS_NEEDED, g->approvals_needed)) < 0 ||
            (r = proto_set_u64(m, PF_BREAK_GLASS, g->break_glass)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                if (times[i].v > 0 && (r = proto_set_u64(m, times[i].f, (uint64_t) times[i].v)) < 0)
                        return r;
        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                if (strs[i].v[0] && (r = proto_set_str(m, strs[i].f, strs[i].v)) < 0)
                        return r;
        return 0;
}

static int copy_field(const struct proto_msg *m, enum proto_field f, char *dst, size_t size)
{
        const char *s = proto_get_str(m, f);

        if (!s) {
                dst[0] = '\0';
                return 0;
        }
        return strcpy_checked(dst, size, s) < 0 ? -EBADMSG : 0;
}

int grant_from_proto(const struct proto_msg *m, struct jit_grant *ret)
{
        struct jit_grant g = {};
        const struct { enum proto_field f; int64_t *v; } times[] = {
                { PF_REQUESTED_AT, &g.requested_at }, { PF_APPROVED_AT, &g.approved_at },
                { PF_STARTS_AT, &g.starts_at },       { PF_EXPIRES_AT, &g.expires_at },
                { PF_ENDED_AT, &g.ended_at },
        };
        uint64_t v;

        if (proto_get_u64(m, PF_FLEET_ID, &v)) {
                if (v == 0 || v > INT64_MAX)
                        return -EBADMSG;
                g.fleet_id = (int64_t) v;
        }
        /* A fleet grant has no local id. */
        if (proto_get_u64(m, PF_ID, &v)) {
                if (v == 0 || v > INT64_MAX)
                        return -EBADMSG;
                g.id = (int64_t) v;
        } else if (!g.fleet_id)
                return -EBADMSG;
        if (!proto_get_u64(m, PF_UID, &v) || v > UINT32_MAX)
                return -EBADMSG;
        g.uid = (uint32_t) v;
        if (grant_state_from_string(proto_get_str(m, PF_STATE), &g.state) < 0)
                return -EBADMSG;
        if (proto_get_u64(m, PF_DURATION, &v))
                g.duration = v;
        if (proto_get_u64(m, PF_APPROVALS_NEEDED, &v) && v <= UINT32_MAX)
                g.approvals_needed = (uint32_t) v;
        if (proto_get_u64(m, PF_BREAK_GLASS, &v))
                g.break_glass = v != 0;
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                if (proto_get_u64(m, times[i].f, &v)) {
                        if (v > INT64_MAX)
                                return -EBADMSG;
                        *times[i].v = (int64_t) v;
                }
        if (copy_field(m, PF_USER, g.user, sizeof(g.user)) < 0 ||
            copy_field(m, PF_HOST, g.host, sizeof(g.host)) < 0 ||
            copy_field(m, PF_ROLE, g.role, sizeof(g.role)) < 0 ||
            copy_field(m, PF_TICKET, g.ticket, sizeof(g.ticket)) < 0 ||
            copy_field(m, PF_REASON, g.reason, sizeof(g.reason)) < 0 ||
            copy_field(m, PF_END_REASON, g.end_reason, sizeof(g.end_reason)) < 0 ||
            copy_field(m, PF_APPROVERS, g.approvers, sizeof(g.approvers)) < 0 ||
            copy_field(m, PF_APPROVAL, g.approval, sizeof(g.approval)) < 0 ||
            copy_field(m, PF_REVIEW, g.review, sizeof(g.review)) < 0)
                return -EBADMSG;
        if (!g.user[0] || !g.role[0])
                return -EBADMSG;
        *ret = g;
        return 0;
}
