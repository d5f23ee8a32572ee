/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "json_reply.h"

struct json_stream {
        char *json;
        size_t len, off;
        uint64_t n;
};

static void json_stream_free(void *state)
{
        struct json_stream *js = state;

        if (!js)
                return;
        free(js->json);
        free(js);
}

static int json_next(struct conn *c, void *state)
{
        struct json_stream *js = state;
        struct proto_msg m;

        if (js->off < js->len) {
                char piece[JSON_REPLY_CHUNK_MAX + 1];
                size_t k = js->len - js->off < JSON_REPLY_CHUNK_MAX ? js->len - js->off : JSON_REPLY_CHUNK_MAX;

                memcpy(piece, js->json + js->off, k);
                piece[k] = '\0';
                js->off += k;
                proto_init(&m, PROTO_REP_OK);
                if (proto_set_str(&m, PF_DETAILS, piece) < 0 || conn_send(c, &m) < 0)
                        return -EIO;
                js->n++;
                return 1;
        }
        proto_init(&m, PROTO_REP_END);
        proto_set_u64(&m, PF_COUNT, js->n);
        return conn_send(c, &m) < 0 ? -EPIPE : 0;
}

static int start(struct conn *c, char *json)
{
        struct json_stream *js = calloc(1, sizeof(*js));

        if (!js) {
                free(json);
                return -ENOMEM;
        }
        js->json = json;
        js->len = strlen(json);
        return conn_stream(c, json_next, js, json_stream_free);
}

int reply_json(struct request *req, char *json)
{
        if (!json)
                return reply_error(req, ENOMEM, "out of memory"), HANDLED;
        if (start(req->conn, json) == -ENOMEM)
                reply_error(req, ENOMEM, "out of memory");
        return HANDLED;
}

void later_reply_json(struct jitd *d, uint64_t serial, char *json)
{
        struct conn *c = conn_find(d->conns, serial);

        if (!c) {
                free(json);
                return;
        }
        conn_release(c);
        if (!json || start(c, json) == -ENOMEM) {
                struct request req = { .d = d, .conn = c };

                reply_error(&req, ENOMEM, "out of memory");
        }
}
