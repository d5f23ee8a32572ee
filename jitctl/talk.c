/* SPDX-License-Identifier: BSD-3-Clause */
/* Talking to jitd: one request and its reply, or a stream up to END, with
 * transport failures and jitd's refusals said once, as exit codes want them. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "duration.h"
#include "grant.h"
#include "output.h"
#include "proto.h"
#include "util.h"

#define say jitctl_say

/* A failed exchange: say why, and what kind of failure it was. */
int jitctl_decode_grant(const struct jitctl_ctx *ctx, const struct proto_msg *rep, struct jit_grant *g)
{
        if (grant_from_proto(rep, g) < 0) {
                say(ctx, "jitd sent a grant jitctl cannot read");
                return CMD_E_FAILED;
        }
        return 0;
}

/* jitd's clock when the reply carries it: remaining time is about jitd's
 * deadlines, not this terminal's clock. */
int64_t jitctl_reply_now(const struct proto_msg *rep)
{
        uint64_t v;

        if (proto_get_u64(rep, PF_NOW, &v) && v > 0 && v <= INT64_MAX)
                return (int64_t) v;
        return now_realtime();
}

int jitctl_report_transport(const struct jitctl_ctx *ctx, int r)
{
        switch (r) {
        case -EBADMSG:
                say(ctx, "garbled reply from jitd at %s", ctx->socket);
                return CMD_E_FAILED;
        case -EPROTO:
                say(ctx, "jitd at %s speaks another protocol version", ctx->socket);
                return CMD_E_FAILED;
        case -ENOMEM:
                return r;
        case -EPERM:
                say(ctx, "the server at %s is not root, so it is not jitd; nothing was sent", ctx->socket);
                return CMD_E_UNREACHABLE;
        default:
                /* ENOENT, ECONNREFUSED, EACCES on connect; ETIMEDOUT and
                 * ECONNRESET later: in every case jitd is not answering. */
                say(ctx, "cannot reach jitd at %s: %s", ctx->socket, strerror(-r));
                return CMD_E_UNREACHABLE;
        }
}

/* 0 when rep is of the expected type; jitd's error, or a confused reply, said. */
int jitctl_check_reply(const struct jitctl_ctx *ctx, const struct proto_msg *rep, enum proto_type expected)
{
        const char *msg, *name;
        uint64_t e = 0;

        if (rep->type == expected)
                return 0;
        if (rep->type == PROTO_REP_ERROR) {
                msg = proto_get_str(rep, PF_MESSAGE);
                if (msg && msg[0])
                        say(ctx, "%s", msg);
                else if (proto_get_u64(rep, PF_ERRNO, &e) && e > 0 && e < 4096)
                        say(ctx, "jitd refused: %s", strerror((int) e));
                else
                        say(ctx, "jitd refused without saying why");
                return CMD_E_FAILED;
        }
        name = proto_type_name(rep->type);
        say(ctx, "unexpected '%s' reply from jitd", name ? name : "?");
        return CMD_E_FAILED;
}

static int call(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct proto_msg *rep,
                enum proto_type expected)
{
        int r = client_call(ctx->socket, req, rep, ctx->timeout_ms);

        if (r < 0)
                return jitctl_report_transport(ctx, r);
        return jitctl_check_reply(ctx, rep, expected);
}

int jitctl_call(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct proto_msg *rep,
                int expected)
{
        return call(ctx, req, rep, (enum proto_type) expected);
}

int jitctl_stream(const struct jitctl_ctx *ctx, const struct proto_msg *req, int expected,
                  int (*cb)(const struct proto_msg *m, void *userdata), void *userdata)
{
        struct proto_msg rep;
        int fd = -1, r;

        r = client_connect(ctx->socket, now_monotonic_ms() + ctx->timeout_ms, &fd);
        if (r >= 0)
                r = client_send(fd, req, now_monotonic_ms() + ctx->timeout_ms);
        if (r < 0) {
                r = jitctl_report_transport(ctx, r);
                goto out;
        }
        for (;;) {
                r = client_recv(fd, &rep, now_monotonic_ms() + ctx->timeout_ms);
                if (r < 0) {
                        r = jitctl_report_transport(ctx, r);
                        break;
                }
                if (rep.type == PROTO_REP_END) {
                        r = 0;
                        break;
                }
                /* A listing of grants may end with lines (ok {message}):
                 * the fleet's part of it; an audit stream may say in one
                 * that the fleet's part is missing. */
                if (!((expected == PROTO_REP_GRANT || expected == PROTO_REP_EVENT) && rep.type == PROTO_REP_OK)) {
                        r = jitctl_check_reply(ctx, &rep, (enum proto_type) expected);
                        if (r < 0)
                                break;
                }
                r = cb(&rep, userdata);
                if (r < 0)
                        break;
        }
out:
        if (fd >= 0)
                close(fd);
        return r;
}

/* Send a LIST and collect the stream of grants up to END. Each message gets
 * its own timeout, so a long listing is not cut short, but a jitd that stops
 * talking mid-stream is. *ret_now: jitd's clock from the first grant. */
struct grant_vec {
        const struct jitctl_ctx *ctx;
        struct jit_grant *v;
        size_t n, cap;
        int64_t now;
        char **lines;                   /* NULL: not wanted */
        char **details;                 /* each line's details (a fleet grant's JSON), or NULL */
        size_t n_lines, cap_lines, cap_details;
};

static int collect_grant(const struct proto_msg *m, void *userdata)
{
        struct grant_vec *gv = userdata;
        const char *line;
        int r;

        if (m->type == PROTO_REP_OK) {
                line = proto_get_str(m, PF_MESSAGE);
                if (!gv->lines || !line)
                        return 0;
                if (array_reserve((void **) &gv->lines, &gv->cap_lines, gv->n_lines, sizeof(*gv->lines)) < 0 ||
                    array_reserve((void **) &gv->details, &gv->cap_details, gv->n_lines, sizeof(*gv->details)) < 0)
                        return -ENOMEM;
                gv->details[gv->n_lines] = NULL;
                if (!(gv->lines[gv->n_lines] = strdup(line)))
                        return -ENOMEM;
                if (proto_get_str(m, PF_DETAILS) && !(gv->details[gv->n_lines] = strdup(proto_get_str(m, PF_DETAILS)))) {
                        free(gv->lines[gv->n_lines]);
                        return -ENOMEM;
                }
                gv->n_lines++;
                return 0;
        }
        if (array_reserve((void **) &gv->v, &gv->cap, gv->n, sizeof(*gv->v)) < 0)
                return -ENOMEM;
        r = jitctl_decode_grant(gv->ctx, m, &gv->v[gv->n]);
        if (r < 0)
                return r;
        if (gv->n++ == 0)
                gv->now = jitctl_reply_now(m);
        return 0;
}

int jitctl_fetch_list(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct jit_grant **ret,
                      size_t *ret_n, int64_t *ret_now, char ***ret_lines, char ***ret_details, size_t *ret_n_lines)
{
        struct grant_vec gv = { .ctx = ctx };
        int r;

        if (ret_lines && !(gv.lines = calloc(1, sizeof(*gv.lines))))
                return -ENOMEM;
        gv.cap_lines = ret_lines ? 1 : 0;
        r = jitctl_stream(ctx, req, PROTO_REP_GRANT, collect_grant, &gv);
        if (r < 0) {
                free(gv.v);
                jitctl_lines_free(gv.lines, gv.n_lines);
                jitctl_lines_free(gv.details, gv.n_lines);
                return r;
        }
        *ret = gv.v;
        *ret_n = gv.n;
        *ret_now = gv.now ? gv.now : now_realtime();
        if (ret_lines) {
                *ret_lines = gv.lines;
                *ret_n_lines = gv.n_lines;
                if (ret_details)
                        *ret_details = gv.details;
                else
                        jitctl_lines_free(gv.details, gv.n_lines);
        }
        return 0;
}

int jitctl_fetch_grants(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct jit_grant **ret,
                        size_t *ret_n, int64_t *ret_now)
{
        return jitctl_fetch_list(ctx, req, ret, ret_n, ret_now, NULL, NULL, NULL);
}

void jitctl_lines_free(char **lines, size_t n)
{
        for (size_t i = 0; lines && i < n; i++)
                free(lines[i]);
        free(lines);
}
