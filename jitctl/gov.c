/* SPDX-License-Identifier: BSD-3-Clause */
/* The governance verbs: audit (export and verify), review of break-glass
 * grants, reload. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "duration.h"
#include "grant.h"
#include "output.h"
#include "proto.h"
#include "util.h"

int jitctl_parse_since(const char *s, int64_t now, int64_t *ret)
{
        struct tm tm = {};
        uint64_t ago;
        char *end;

        if (duration_parse(s, &ago) >= 0) {
                *ret = now - (int64_t) ago;
                return 0;
        }
        end = strptime(s, "%Y-%m-%d", &tm);
        if (!end || *end)
                return -EINVAL;
        tm.tm_isdst = -1;
        *ret = (int64_t) mktime(&tm);
        return *ret < 0 ? -EINVAL : 0;
}

static int since_arg(struct jitctl_ctx *ctx, const struct jitctl_args *a, struct proto_msg *m)
{
        int64_t since;

        if (!a->since)
                return 0;
        if (jitctl_parse_since(a->since, now_realtime(), &since) < 0) {
                jitctl_say(ctx, "invalid --since '%s': a duration ago (7d, 12h) or a date (YYYY-MM-DD)", a->since);
                return CMD_E_USAGE;
        }
        proto_set_u64(m, PF_SINCE, (uint64_t) (since > 0 ? since : 0));
        return 0;
}

struct audit_out {
        FILE *f;
        bool json;
        struct output_table *t;
};

static int audit_one(const struct proto_msg *m, void *userdata)
{
        struct audit_out *o = userdata;
        const char *actor = proto_get_str(m, PF_ACTOR), *event = proto_get_str(m, PF_EVENT);
        const char *details = proto_get_str(m, PF_DETAILS), *hash = proto_get_str(m, PF_HASH);
        uint64_t seq = 0, at = 0, uid = 0, id = 0;
        char when[40], seqs[24], grant[24];

        proto_get_u64(m, PF_COUNT, &seq);
        proto_get_u64(m, PF_NOW, &at);
        proto_get_u64(m, PF_UID, &uid);
        proto_get_u64(m, PF_ID, &id);
        if (o->json) {
                json_object *e = json_object_new_object(), *a = json_object_new_object(), *d;

                output_rfc3339((int64_t) at, when, sizeof(when));
                json_object_object_add(e, "seq", json_object_new_int64((int64_t) seq));
                json_object_object_add(e, "time", json_object_new_string(when));
                json_object_object_add(a, "uid", json_object_new_int64((int64_t) uid));
                json_object_object_add(a, "name", json_object_new_string(actor ? actor : ""));
                json_object_object_add(e, "actor", a);
                json_object_object_add(e, "grant", id ? json_object_new_int64((int64_t) id) : NULL);
                json_object_object_add(e, "event", json_object_new_string(event ? event : ""));
                d = details ? json_tokener_parse(details) : NULL;
                json_object_object_add(e, "details", d ? d : json_object_new_object());
                json_object_object_add(e, "hash", json_object_new_string(hash ? hash : ""));
                output_json_print(o->f, e);
                json_object_put(e);
                return 0;
        }
        output_local_time((int64_t) at, true, when, sizeof(when));
        snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long) seq);
        snprintf(grant, sizeof(grant), "%s%llu", id ? "" : "-", (unsigned long long) id);
        {
                const char *cells[] = { seqs, when, actor ? actor : "?", id ? grant : "-", event ? event : "?",
                                        details ? details : "{}" };

                return output_table_add(o->t, cells);
        }
}

static int audit_verify(struct jitctl_ctx *ctx)
{
        struct proto_msg req, rep;
        uint64_t n = 0;
        int r;

        proto_init(&req, PROTO_REQ_AUDIT_VERIFY);
        r = jitctl_call(ctx, &req, &rep, PROTO_REP_OK);
        if (r < 0)
                return r;
        proto_get_u64(&rep, PF_COUNT, &n);
        fprintf(ctx->out, "audit chain intact: %llu event%s verified\n", (unsigned long long) n, n == 1 ? "" : "s");
        return 0;
}

int cmd_audit(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        static const char *const headers[] = { "SEQ", "TIME", "ACTOR", "GRANT", "EVENT", "DETAILS" };
        struct audit_out o = { .f = ctx->out };
        struct jitctl_args a;
        struct proto_msg req;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (a.npos == 1) {
                if (strcmp(a.pos[0], "verify") != 0) {
                        jitctl_say(ctx, "unknown audit command '%s' (only: verify)", a.pos[0]);
                        return CMD_E_USAGE;
                }
                if (a.since || a.grant || a.json) {
                        jitctl_say(ctx, "audit verify takes no options");
                        return CMD_E_USAGE;
                }
                return audit_verify(ctx);
        }
        proto_init(&req, PROTO_REQ_AUDIT);
        r = since_arg(ctx, &a, &req);
        if (r < 0)
                return r;
        if (a.grant)
                proto_set_u64(&req, PF_ID, (uint64_t) a.grant);
        o.json = a.json;
        if (!o.json && output_table_new(ELEMENTSOF(headers), headers, &o.t) < 0)
                return -ENOMEM;
        r = jitctl_stream(ctx, &req, PROTO_REP_EVENT, audit_one, &o);
        if (r >= 0 && o.t)
                output_table_print(o.t, ctx->out);
        output_table_free(o.t);
        return r;
}

int cmd_review(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        struct jit_grant g;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        proto_init(&req, PROTO_REQ_REVIEW);
        if (!a.id) {
                _cleanup_free_ struct jit_grant *grants = NULL;
                size_t n = 0;
                int64_t now;

                if (a.accept || a.reject || a.message) {
                        jitctl_say(ctx, "--accept, --reject and -m go with a grant ID");
                        return CMD_E_USAGE;
                }
                r = jitctl_fetch_grants(ctx, &req, &grants, &n, &now);
                if (r < 0)
                        return r;
                if (a.json)
                        return output_grants_json(ctx->out, grants, n);
                if (n == 0) {
                        fprintf(ctx->out, "no break-glass grant awaits review\n");
                        return 0;
                }
                return output_grants_table(ctx->out, grants, n, now);
        }
        if (a.accept == a.reject || !a.message || !a.message[0]) {
                jitctl_say(ctx, "review ID needs exactly one of --accept and --reject, and -m NOTE");
                return CMD_E_USAGE;
        }
        proto_set_u64(&req, PF_ID, (uint64_t) a.id);
        proto_set_u64(&req, PF_FLAGS, a.accept ? PROTO_F_ACCEPT : PROTO_F_REJECT);
        r = proto_set_str(&req, PF_NOTE, a.message);
        if (r < 0) {
                jitctl_say(ctx, "invalid note: control characters are not allowed, at most %d bytes", JIT_REASON_MAX);
                return CMD_E_FAILED;
        }
        r = jitctl_call(ctx, &req, &rep, PROTO_REP_GRANT);
        if (r < 0)
                return r;
        if (grant_from_proto(&rep, &g) < 0)
                return CMD_E_FAILED;
        fprintf(ctx->out, "break-glass grant %lld of %s: review %s\n", (long long) g.id, g.user, g.review);
        return 0;
}

int cmd_reload(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        const char *msg;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        proto_init(&req, PROTO_REQ_RELOAD);
        r = jitctl_call(ctx, &req, &rep, PROTO_REP_OK);
        if (r < 0)
                return r;
        msg = proto_get_str(&rep, PF_MESSAGE);
        fprintf(ctx->out, "%s\n", msg ? msg : "configuration reloaded");
        return 0;
}
