/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listings of grants, a page at a time as the client reads (doc/CORE.md:
 * nothing blocks the loop), with lines after the grants (the fleet's part,
 * handlers_fleet.c) before the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "ending.h"
#include "handlers.h"
#include "store.h"

#define LIST_PAGE 64

struct list_stream {
        struct jitd *d;
        struct store_filter f;
        char user[JIT_USER_MAX + 1];
        char role[JIT_ROLE_MAX + 1];
        uint64_t count;
        bool only_reviews;              /* review: break-glass grants awaiting review */
        size_t sent;                    /* in this page */
        struct conn *conn;
        int err;
        bool no_local;                  /* only the tail (list --host not matching this host) */
        struct list_tail *tail;         /* lines after the grants (the fleet's), each an ok */
        size_t n_tail, i_tail;
};

void list_tail_free(struct list_tail *tail, size_t n)
{
        for (size_t i = 0; tail && i < n; i++) {
                free(tail[i].message);
                free(tail[i].details);
        }
        free(tail);
}

static void list_stream_free(void *p)
{
        struct list_stream *ls = p;

        if (!ls)
                return;
        list_tail_free(ls->tail, ls->n_tail);
        free(ls);
}

static int list_one(const struct jit_grant *g, void *userdata)
{
        struct list_stream *ls = userdata;
        struct request req = { .d = ls->d, .conn = ls->conn };
        struct jit_grant shown = *g;
        int r;

        ls->f.after_id = g->id;
        ls->sent++;
        if (ls->only_reviews && (!g->break_glass || strcmp(g->review, "pending") != 0))
                return 0;
        /* An end that waits for its record is shown as it will be. */
        (void) ending_lookup(ls->d->ending, g->id, &shown);
        /* A fleet grant's copy says whose (list --json: "fleet_id"). */
        if (ls->d->fleet && store_fleet_id_of(ls->d->store, g->id, &shown.fleet_id) < 0)
                shown.fleet_id = 0;
        r = reply_grant(&req, &shown, NULL);
        if (r < 0) {
                ls->err = r;
                return r;
        }
        ls->count++;
        return 0;
}

static int list_next(struct conn *c, void *state)
{
        struct list_stream *ls = state;
        struct proto_msg end;
        int r;

        ls->conn = c;
        ls->sent = 0;
        ls->f.limit = ls->only_reviews ? LIST_PAGE * 8 : LIST_PAGE;
        r = ls->no_local ? 0 : store_grant_foreach(ls->d->store, &ls->f, list_one, ls);
        if (ls->err)
                return ls->err;
        if (r < 0) {
                struct request req = { .d = ls->d, .conn = c };

                /* A listing cut short says so; the reply so far stands. */
                reply_error(&req, r == -EBUSY ? EBUSY : EIO, "listing grants failed: %s", store_last_error(ls->d->store));
                return 0;
        }
        if (ls->sent == (size_t) ls->f.limit)
                return 1;
        for (; ls->i_tail < ls->n_tail; ls->i_tail++) {
                struct proto_msg line;

                proto_init(&line, PROTO_REP_OK);
                proto_set_str(&line, PF_MESSAGE, ls->tail[ls->i_tail].message);
                if (ls->tail[ls->i_tail].details)
                        proto_set_str(&line, PF_DETAILS, ls->tail[ls->i_tail].details);
                if (conn_send(c, &line) < 0)
                        return -EPIPE;
        }
        proto_init(&end, PROTO_REP_END);
        proto_set_u64(&end, PF_COUNT, ls->count);
        return conn_send(c, &end) < 0 ? -EPIPE : 0;
}

static int start(struct request *req, const struct store_filter *f, bool only_reviews, bool no_local,
                 struct list_tail *tail, size_t n_tail)
{
        struct list_stream *ls = calloc(1, sizeof(*ls));

        if (!ls) {
                list_tail_free(tail, n_tail);
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        }
        ls->no_local = no_local;
        ls->tail = tail;
        ls->n_tail = n_tail;
        ls->d = req->d;
        ls->f = *f;
        ls->only_reviews = only_reviews;
        if (f->user) {
                snprintf(ls->user, sizeof(ls->user), "%s", f->user);
                ls->f.user = ls->user;
        }
        if (f->role) {
                snprintf(ls->role, sizeof(ls->role), "%s", f->role);
                ls->f.role = ls->role;
        }
        (void) conn_stream(req->conn, list_next, ls, list_stream_free);
        return HANDLED;
}

int list_stream_start(struct request *req, const struct store_filter *f, bool only_reviews)
{
        return start(req, f, only_reviews, false, NULL, 0);
}

int list_stream_start_full(struct request *req, const struct store_filter *f, bool no_local, struct list_tail *tail,
                           size_t n_tail)
{
        return start(req, f, false, no_local, tail, n_tail);
}

int list_stream_start_reviews(struct request *req, const struct store_filter *f, struct list_tail *tail, size_t n_tail)
{
        return start(req, f, true, false, tail, n_tail);
}
