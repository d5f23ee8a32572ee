/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl report [--since TIME] [--json | --prometheus]
 *
 * jitd sends the report's JSON text in pieces (PF_DETAILS of PROTO_REP_OK
 * messages, closed by PROTO_REP_END; see jitd/report.h); they are joined
 * here and parsed before anything is printed, so that a cut-off report is
 * an error rather than half a page. --json prints the text as it came (one
 * line), --prometheus the node_exporter textfile format (common/
 * report_format.c, the very code jitd writes its metrics_file with), and
 * otherwise a summary for a person.
 *
 * --since TIME: a duration ago ("7d", "12h") or a date, "YYYY-MM-DD", meaning
 * local midnight at its start (jitctl_parse_since).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "commands.h"
#include "duration.h"
#include "fleet_view.h"
#include "output.h"
#include "proto.h"
#include "report_format.h"
#include "report_view.h"
#include "util.h"

/* Width of the key column, colon included. */
#define KEY_WIDTH 24

struct text {
        char *s;
        size_t n, cap;
        const struct jitctl_ctx *ctx;
};

static int collect(const struct proto_msg *m, void *userdata)
{
        struct text *t = userdata;
        const char *piece = proto_get_str(m, PF_DETAILS);
        size_t n;

        if (!piece) {
                jitctl_say(t->ctx, "jitd sent a piece of its answer without its text");
                return CMD_E_FAILED;
        }
        n = strlen(piece);
        if (t->n + n > REPORT_VIEW_TEXT_MAX) {
                jitctl_say(t->ctx, "jitd's answer is longer than %d bytes", REPORT_VIEW_TEXT_MAX);
                return CMD_E_FAILED;
        }
        if (t->n + n + 1 > t->cap) {
                size_t cap = t->cap ? t->cap : 8192;
                char *s;

                while (cap < t->n + n + 1)
                        cap *= 2;
                s = realloc(t->s, cap);
                if (!s)
                        return -ENOMEM;
                t->s = s;
                t->cap = cap;
        }
        memcpy(t->s + t->n, piece, n + 1);
        t->n += n;
        return 0;
}

int jitctl_fetch_document(const struct jitctl_ctx *ctx, const struct proto_msg *req, char **ret)
{
        struct text t = { .ctx = ctx };
        int r;

        r = jitctl_stream(ctx, req, PROTO_REP_OK, collect, &t);
        if (r < 0) {
                free(t.s);
                return r;
        }
        if (!t.s) {
                jitctl_say(ctx, "jitd's answer was empty");
                return CMD_E_FAILED;
        }
        *ret = t.s;
        return 0;
}

struct stats {
        int64_t count, median, p95;
};

struct figures {
        bool bad;
        int64_t now, since;
        int64_t rules, root_rules;
        json_object *locations, *errors, *paths;
        int64_t total, active, denied, cancelled, released, expired, revoked;
        struct stats approve, revoke;
        int64_t admin, ticket, other, incomplete;
        int64_t bg_uses, pending, overdue, review_within;
        bool has_recording;             /* a jitd that records sessions */
        int64_t rec_sessions, rec_bytes;
};

static json_object *member(struct figures *x, json_object *o, const char *key, enum json_type type)
{
        json_object *v = NULL;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type)) {
                x->bad = true;
                return NULL;
        }
        return v;
}

static int64_t number(struct figures *x, json_object *o, const char *key)
{
        json_object *v = member(x, o, key, json_type_int);

        return v ? json_object_get_int64(v) : 0;
}

/* median and p95 are null when count is 0. */
static void stats(struct figures *x, json_object *o, struct stats *s)
{
        s->count = number(x, o, "count");
        if (s->count == 0)
                return;
        s->median = number(x, o, "median");
        s->p95 = number(x, o, "p95");
}

static bool all_strings(json_object *a)
{
        for (size_t i = 0; a && i < json_object_array_length(a); i++)
                if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
                        return false;
        return true;
}

static int read_figures(json_object *root, struct figures *x)
{
        json_object *o, *p;

        x->now = number(x, root, "now");
        x->since = number(x, root, "since");
        o = member(x, root, "standing_sudo", json_type_object);
        x->rules = number(x, o, "rules");
        x->root_rules = number(x, o, "root_rules");
        x->locations = member(x, o, "locations", json_type_array);
        x->errors = member(x, o, "errors", json_type_array);
        o = member(x, root, "grants", json_type_object);
        x->total = number(x, o, "total");
        x->active = number(x, o, "active");
        x->denied = number(x, o, "denied");
        x->cancelled = number(x, o, "cancelled");
        x->released = number(x, o, "released");
        x->expired = number(x, o, "expired");
        x->revoked = number(x, o, "revoked");
        o = member(x, root, "approval", json_type_object);
        x->paths = member(x, o, "by_path", json_type_object);
        stats(x, member(x, o, "time_to_approve_s", json_type_object), &x->approve);
        o = member(x, root, "revocation", json_type_object);
        x->admin = number(x, o, "admin");
        x->ticket = number(x, o, "ticket");
        x->other = number(x, o, "other");
        p = member(x, o, "time_to_revoke_ms", json_type_object);
        stats(x, p, &x->revoke);
        x->incomplete = number(x, p, "incomplete");
        o = member(x, root, "break_glass", json_type_object);
        x->bg_uses = number(x, o, "uses");
        x->pending = number(x, o, "reviews_pending");
        x->overdue = number(x, o, "reviews_overdue");
        x->review_within = number(x, o, "review_within_s");
        if (json_object_object_get_ex(root, "recording", NULL)) {
                o = member(x, root, "recording", json_type_object);
                x->has_recording = true;
                x->rec_sessions = number(x, o, "sessions");
                x->rec_bytes = number(x, o, "bytes");
        }
        if (!all_strings(x->locations) || !all_strings(x->errors))
                x->bad = true;
        if (x->paths) {
                json_object_object_foreach(x->paths, key, v) {
                        (void) key;
                        if (!json_object_is_type(v, json_type_int))
                                x->bad = true;
                }
        }
        return x->bad ? -EBADMSG : 0;
}

__attribute__((format(printf, 3, 4)))
static void kv(FILE *f, const char *key, const char *fmt, ...)
{
        char *value = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&value, fmt, ap);
        va_end(ap);
        fputs("  ", f);
        output_kv(f, KEY_WIDTH, key, n < 0 ? "?" : value);
        free(value);
}

static void seconds_text(int64_t s, char *buf, size_t size)
{
        duration_format(s > 0 ? (uint64_t) s : 0, buf, size);
}

/* Teardowns take milliseconds; a slow one, minutes. */
static void ms_text(int64_t ms, char *buf, size_t size)
{
        if (ms < 10000)
                snprintf(buf, size, "%" PRId64 "ms", ms);
        else
                seconds_text(ms / 1000, buf, size);
}

static void print_stats(FILE *f, const char *key, const struct stats *s, bool ms, const char *what)
{
        char a[OUTPUT_TIME_MAX], b[OUTPUT_TIME_MAX];

        if (s->count == 0) {
                kv(f, key, "- (no %ss)", what);
                return;
        }
        if (ms) {
                ms_text(s->median, a, sizeof(a));
                ms_text(s->p95, b, sizeof(b));
        } else {
                seconds_text(s->median, a, sizeof(a));
                seconds_text(s->p95, b, sizeof(b));
        }
        kv(f, key, "median %s, p95 %s (%" PRId64 " %s%s)", a, b, s->count, what, s->count == 1 ? "" : "s");
}

static void print_figures(FILE *f, const struct figures *x)
{
        char t[OUTPUT_TIME_MAX], d[OUTPUT_TIME_MAX];
        size_t n;

        output_local_time(x->now, true, t, sizeof(t));
        fprintf(f, "Governance report, %s: ", t);
        if (x->since > 0) {
                output_local_time(x->since, true, t, sizeof(t));
                fprintf(f, "grants requested since %s\n", t);
        } else
                fputs("all grants\n", f);

        fputs("\nStanding privilege\n", f);
        kv(f, "sudo rules outside jitd", "%" PRId64 " (%" PRId64 " of them root's own)", x->rules, x->root_rules);
        n = json_object_array_length(x->locations);
        for (size_t i = 0; i < n; i++) {
                fputs("    ", f);
                output_fputs_safe(json_object_get_string(json_object_array_get_idx(x->locations, i)), f);
                fputc('\n', f);
        }
        n = json_object_array_length(x->errors);
        for (size_t i = 0; i < n; i++) {
                fputs("  not read: ", f);
                output_fputs_safe(json_object_get_string(json_object_array_get_idx(x->errors, i)), f);
                fputc('\n', f);
        }

        fputs("\nGrants\n", f);
        kv(f, "requested", "%" PRId64, x->total);
        kv(f, "active now", "%" PRId64, x->active);
        kv(f, "denied", "%" PRId64, x->denied);
        kv(f, "cancelled", "%" PRId64, x->cancelled);
        kv(f, "released", "%" PRId64, x->released);
        kv(f, "expired", "%" PRId64, x->expired);
        kv(f, "revoked", "%" PRId64, x->revoked);

        fputs("\nApproval\n", f);
        if (json_object_object_length(x->paths) == 0)
                kv(f, "by path", "-");
        {
                json_object_object_foreach(x->paths, key, v) {
                        char label[80];
                        char *safe = output_strdup_safe(key);

                        snprintf(label, sizeof(label), "path %s", safe ? safe : "?");
                        free(safe);
                        kv(f, label, "%" PRId64, json_object_get_int64(v));
                }
        }
        print_stats(f, "time to approve", &x->approve, false, "grant");

        fputs("\nRevocation\n", f);
        kv(f, "by an admin", "%" PRId64, x->admin);
        kv(f, "by a ticket", "%" PRId64, x->ticket);
        kv(f, "other", "%" PRId64, x->other);
        print_stats(f, "time to revoke", &x->revoke, true, "teardown");
        kv(f, "incomplete teardowns", "%" PRId64, x->incomplete);

        fputs("\nBreak-glass\n", f);
        kv(f, "uses", "%" PRId64, x->bg_uses);
        seconds_text(x->review_within, d, sizeof(d));
        kv(f, "awaiting review", "%" PRId64, x->pending);
        kv(f, "overdue reviews", "%" PRId64 " (reviews are due within %s)", x->overdue, d);
        if (x->has_recording) {
                fputs("\nRecording\n", f);
                kv(f, "recorded sessions", "%" PRId64 " (sealed in the audit chain)", x->rec_sessions);
                kv(f, "total size", "%" PRId64 " bytes", x->rec_bytes);
        }
}

int report_view_text(FILE *f, const char *json)
{
        struct figures x = {};
        json_object *root;
        int r;

        if (!f || !json)
                return -EINVAL;
        root = output_parse_object(json);
        if (!root)
                return -EBADMSG;
        r = read_figures(root, &x);
        if (r >= 0)
                print_figures(f, &x);
        json_object_put(root);
        return r;
}

int cmd_report(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct text t = { .ctx = ctx };
        struct jitctl_args a;
        struct proto_msg req;
        json_object *root;
        char *prom = NULL;
        bool fleet_ok = true;
        int64_t since = 0;
        int r;

        r = jitctl_parse_args(ctx, v, argc, argv, &a);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (a.json && a.prometheus) {
                jitctl_say(ctx, "report takes --json or --prometheus, not both");
                return CMD_E_USAGE;
        }
        if (a.since && jitctl_parse_since(a.since, now_realtime(), &since) < 0) {
                jitctl_say(ctx, "invalid --since '%s': a duration ago (7d, 12h) or a date (YYYY-MM-DD)", a.since);
                return CMD_E_USAGE;
        }
        proto_init(&req, PROTO_REQ_REPORT);
        if ((since > 0 && (r = proto_set_u64(&req, PF_SINCE, (uint64_t) since)) < 0) ||
            (a.host && (r = proto_set_str(&req, PF_HOST, a.host)) < 0)) {
                jitctl_say(ctx, "cannot put since or --host into the request: %s", strerror(-r));
                return CMD_E_FAILED;
        }
        r = jitctl_fetch_document(ctx, &req, &t.s);
        if (r < 0)
                goto out;
        root = t.s ? output_parse_object(t.s) : NULL;
        if (!root) {
                jitctl_say(ctx, "jitd sent a report jitctl cannot read");
                r = CMD_E_FAILED;
                goto out;
        }
        json_object_put(root);
        if (a.json) {
                /* As received: jitd's text is already one line of plain JSON. */
                fputs(t.s, ctx->out);
                fputc('\n', ctx->out);
        } else if (a.prometheus) {
                r = report_prometheus(t.s, &prom);
                if (r >= 0)
                        fputs(prom, ctx->out);
        } else {
                r = report_view_text(ctx->out, t.s);
                if (r >= 0)
                        r = fleet_view_report(ctx->out, t.s, &fleet_ok);
        }
        /* With [fleet]: its part missing is a failure, the rest shown (in
         * the Prometheus text, as jit_fleet_report_up 0). The text report
         * says why in its own last line; the others on stderr. */
        if (r >= 0) {
                json_object *fl = NULL, *err = NULL;

                root = output_parse_object(t.s);
                if (root && json_object_object_get_ex(root, "fleet", &fl) && json_object_object_get_ex(fl, "error", &err)) {
                        if (a.json || a.prometheus)
                                jitctl_say(ctx, "the fleet part is incomplete: %s", json_object_get_string(err));
                        fleet_ok = false;
                }
                json_object_put(root);
                if (!fleet_ok)
                        r = CMD_E_FAILED;
        }
        if (r == -EBADMSG) {
                jitctl_say(ctx, "jitd sent a report jitctl cannot read");
                r = CMD_E_FAILED;
        }
out:
        free(prom);
        free(t.s);
        return r;
}
