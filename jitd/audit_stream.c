/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * This host's audit trail sent to a client a page at a time (the local
 * `jitctl audit`, and its fallback when the fleet's is unavailable): one
 * file below both handlers_admin.c and fleet_audit.c, which both start it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_stream.h"
#include "conn.h"
#include "handlers.h"
#include "store.h"

/* Events per page: one page per connection in memory. */
#define AUDIT_PAGE 64

struct audit_stream {
        struct jitd *d;
        struct store_audit_filter f;
        uint64_t count;
        size_t sent;
        struct conn *conn;
        int err;
        char *notice;                   /* an ok {message} first (the fleet's part is missing) */
};

static void audit_stream_free(void *state)
{
        struct audit_stream *as = state;

        if (as)
                free(as->notice);
        free(as);
}

static int audit_one(const struct audit_event *e, void *userdata)
{
        struct audit_stream *as = userdata;
        struct proto_msg m;
        int r;

        as->f.after_seq = e->seq;
        as->sent++;
        proto_init(&m, PROTO_REP_EVENT);
        proto_set_u64(&m, PF_COUNT, (uint64_t) e->seq);
        proto_set_u64(&m, PF_NOW, (uint64_t) e->at);
        proto_set_u64(&m, PF_UID, e->actor_uid);
        proto_set_str(&m, PF_ACTOR, e->actor);
        if (e->grant_id)
                proto_set_u64(&m, PF_ID, (uint64_t) e->grant_id);
        proto_set_str(&m, PF_EVENT, e->event);
        proto_set_str(&m, PF_HASH, e->hash);
        if (proto_set_str(&m, PF_DETAILS, e->details ? e->details : "{}") < 0)
                proto_set_str(&m, PF_DETAILS, "{\"truncated\":true}");
        r = conn_send(as->conn, &m);
        if (r < 0) {
                as->err = r;
                return r;
        }
        as->count++;
        return 0;
}

static int audit_next(struct conn *c, void *state)
{
        struct audit_stream *as = state;
        struct proto_msg end;
        int r;

        as->conn = c;
        as->sent = 0;
        if (as->notice) {
                proto_init(&end, PROTO_REP_OK);
                proto_set_str(&end, PF_MESSAGE, as->notice);
                free(as->notice);
                as->notice = NULL;
                return conn_send(c, &end) < 0 ? -EPIPE : 1;
        }
        as->f.limit = AUDIT_PAGE;
        r = store_audit_foreach(as->d->store, &as->f, audit_one, as);
        if (as->err)
                return as->err;
        if (r < 0) {
                struct request req = { .d = as->d, .conn = c };

                reply_error(&req, r == -EBUSY ? EBUSY : EIO, "reading the audit trail failed: %s",
                            store_last_error(as->d->store));
                return 0;
        }
        if (as->sent == AUDIT_PAGE)
                return 1;
        proto_init(&end, PROTO_REP_END);
        proto_set_u64(&end, PF_COUNT, as->count);
        return conn_send(c, &end) < 0 ? -EPIPE : 0;
}

int audit_local_stream(struct request *req, int64_t since, int64_t grant_id, const char *notice)
{
        struct audit_stream *as = calloc(1, sizeof(*as));

        if (!as || (notice && !(as->notice = strdup(notice)))) {
                free(as);
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        }
        as->d = req->d;
        as->f.since = since;
        as->f.grant_id = grant_id;
        (void) conn_stream(req->conn, audit_next, as, audit_stream_free);
        return HANDLED;
}
