/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl's verbs. Each one checks its whole command line before it talks to
 * jitd, so that a typo never half-happens; then it sends one request (LIST: a
 * request and a stream back) and prints what came back.
 *
 * Diagnostics go through jitctl_say() (args.c); requests through talk.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

#include "approval_text.h"
#include "client.h"
#include "commands.h"
#include "duration.h"
#include "fleet_view.h"
#include "grant.h"
#include "output.h"
#include "proto.h"
#include "sshsig_sign.h"
#include "util.h"

#define say jitctl_say

static int call(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct proto_msg *rep,
                enum proto_type expected)
{
        return jitctl_call(ctx, req, rep, (int) expected);
}


static int call_grant(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct proto_msg *rep,
                      struct jit_grant *g)
{
        int r = call(ctx, req, rep, PROTO_REP_GRANT);

        return r < 0 ? r : jitctl_decode_grant(ctx, rep, g);
}


/* Empty strings are left out: on the wire, absent means "none". */
static int set_str(const struct jitctl_ctx *ctx, struct proto_msg *m, enum proto_field f, const char *s)
{
        int r;

        if (!s || !s[0])
                return 0;
        r = proto_set_str(m, f, s);
        if (r == -EINVAL)
                say(ctx, "invalid %s: control characters are not allowed", proto_field_name(f));
        else if (r == -E2BIG)
                say(ctx, "invalid %s: longer than the protocol allows", proto_field_name(f));
        else if (r < 0)
                say(ctx, "cannot put %s into the request: %s", proto_field_name(f), strerror(-r));
        return r < 0 ? CMD_E_FAILED : 0;
}

static int set_u64(const struct jitctl_ctx *ctx, struct proto_msg *m, enum proto_field f, uint64_t v)
{
        int r = proto_set_u64(m, f, v);

        if (r < 0) {
                say(ctx, "cannot put %s into the request: %s", proto_field_name(f), strerror(-r));
                return CMD_E_FAILED;
        }
        return 0;
}

/* The grant the verb names: PF_ID (this host's) or PF_FLEET_ID ("F12").
 * Nothing when none was given. */
static int set_ref(const struct jitctl_ctx *ctx, struct proto_msg *m, const struct jitctl_args *a)
{
        if (a->fleet_id)
                return set_u64(ctx, m, PF_FLEET_ID, (uint64_t) a->fleet_id);
        if (a->id)
                return set_u64(ctx, m, PF_ID, (uint64_t) a->id);
        return 0;
}

static void sleep_ms(int64_t ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/*
 * --wait: poll SHOW until the grant leaves pending or the time is up. A new
 * connection per poll, and a lost jitd is waited out rather than fatal: a
 * restart of jitd during a long wait must not lose the user's wait. Each poll
 * may itself take up to ctx->timeout_ms, so the wait can overrun by that much.
 */
static int wait_grant(const struct jitctl_ctx *ctx, const struct jit_grant *first, uint64_t timeout)
{
        int64_t deadline = now_monotonic_ms() + (int64_t) timeout * 1000;
        int64_t delay = 200;    /* auto-approval paths answer at once */
        struct jit_grant last = *first;
        char tbuf[OUTPUT_TIME_MAX];
        int lost = 0;           /* the last poll's transport error, 0 if it worked */
        int r;

        duration_format(timeout, tbuf, sizeof(tbuf));
        if (isatty(fileno(ctx->err)))
                fprintf(ctx->err, "waiting up to %s for grant %lld (Ctrl-C stops waiting, the request stays)\n",
                        tbuf, (long long) last.id);
        fflush(ctx->out);
        for (;;) {
                int64_t left = deadline - now_monotonic_ms();
                struct proto_msg req, rep;
                struct jit_grant g;

                if (left <= 0)
                        break;
                sleep_ms(delay < left ? delay : left);
                delay = 1000;

                proto_init(&req, PROTO_REQ_SHOW);
                r = set_u64(ctx, &req, PF_ID, (uint64_t) last.id);
                if (r < 0)
                        return r;
                r = client_call(ctx->socket, &req, &rep, ctx->timeout_ms);
                if (r == -EBADMSG || r == -EPROTO || r == -ENOMEM)
                        return jitctl_report_transport(ctx, r);
                if (r < 0) {
                        if (!lost)
                                say(ctx, "lost jitd at %s (%s), still waiting", ctx->socket, strerror(-r));
                        lost = r;
                        continue;
                }
                lost = 0;
                r = jitctl_check_reply(ctx, &rep, PROTO_REP_GRANT);
                if (r < 0)
                        return r;
                r = jitctl_decode_grant(ctx, &rep, &g);
                if (r < 0)
                        return r;
                if (g.state != last.state || strcmp(g.approvers, last.approvers) != 0) {
                        output_grant_summary(ctx->out, &g, jitctl_reply_now(&rep));
                        fflush(ctx->out);
                }
                last = g;
                if (g.state != GRANT_PENDING)
                        return g.state == GRANT_ACTIVE || g.state == GRANT_SCHEDULED ? 0 : CMD_E_FAILED;
        }
        if (lost)
                return jitctl_report_transport(ctx, lost);
        say(ctx, "grant %lld is still pending after %s", (long long) last.id, tbuf);
        return CMD_E_PENDING;
}

/* Parse, returning from the verb: 0 after -h, the error otherwise. */
#define PARSE_OR_RETURN(ctx, v, argc, argv, a)                                  \
        do {                                                                    \
                int r_ = jitctl_parse_args(ctx, v, argc, argv, a);              \
                if (r_ != 0)                                                    \
                        return r_ > 0 ? 0 : r_;                                 \
        } while (0)

/* The line is made from the grant, not from the reply's message: jitd's
 * message mostly says the same in fewer facts (no expiry, no time left). It
 * is shown too when it tells what the grant alone cannot: what a ticket said,
 * that an extension waits, break-glass. */
static void print_grant_reply(struct jitctl_ctx *ctx, const struct proto_msg *rep, const struct jit_grant *g)
{
        const char *msg = proto_get_str(rep, PF_MESSAGE);

        output_grant_summary(ctx->out, g, jitctl_reply_now(rep));
        if (msg && strncmp(msg, "grant ", 6) != 0 && strchr(msg, ' ')) {
                fputs("  ", ctx->out);
                output_fputs_safe(msg, ctx->out);
                fputc('\n', ctx->out);
        }
}

/* The verbs that change one grant and answer with it. The parser has already
 * refused any option the verb does not take, so every field given goes in;
 * -m is a note for approvers and a reason for everyone else. */
static int grant_verb(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv,
                      enum proto_type type)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        struct jit_grant g;
        bool note = type == PROTO_REQ_APPROVE || type == PROTO_REQ_DENY;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        proto_init(&req, type);
        if ((r = set_ref(ctx, &req, &a)) < 0 ||
            (r = set_str(ctx, &req, PF_ROLE, a.role)) < 0 ||
            (r = set_str(ctx, &req, PF_TICKET, a.ticket)) < 0 ||
            (r = set_str(ctx, &req, PF_HOST, a.hosts)) < 0 ||
            (a.duration && (r = set_u64(ctx, &req, PF_DURATION, a.duration)) < 0) ||
            (r = set_str(ctx, &req, note ? PF_NOTE : PF_REASON, a.message)) < 0)
                return r;
        r = call_grant(ctx, &req, &rep, &g);
        if (r < 0)
                return r;
        print_grant_reply(ctx, &rep, &g);
        /* A request the ticket system turned down at once was refused. */
        if (type == PROTO_REQ_REQUEST && !grant_state_is_open(g.state))
                return CMD_E_FAILED;
        if (type != PROTO_REQ_REQUEST || a.wait == 0)
                return 0;
        if (g.id == 0) {
                /* A fleet grant is enforced by each host of its scope once
                 * approved: there is no one state here to wait for. */
                say(ctx, "--wait does not follow fleet grants: see jitctl show F%lld", (long long) g.fleet_id);
                return 0;
        }
        switch (g.state) {
        case GRANT_PENDING:
                return wait_grant(ctx, &g, a.wait);
        case GRANT_ACTIVE:
        case GRANT_SCHEDULED:
                return 0;
        default:
                return CMD_E_FAILED;
        }
}

int cmd_request(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_REQUEST);
}

/* The key an approval is signed with: --key FILE (a private key; with
 * --agent its public half), else ~/.ssh/id_ed25519 when it exists, else the
 * agent with ~/.ssh/id_ed25519.pub. */
static int approval_key(const struct jitctl_ctx *ctx, const struct jitctl_args *a, char **ret_key, bool *ret_agent)
{
        const struct passwd *pw;
        const char *home = NULL;
        char *key = NULL;

        if (a->key) {
                key = strdup(a->key);
                *ret_agent = a->agent;
        } else {
                pw = getpwuid(getuid());
                home = pw && pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : NULL;
                if (!home) {
                        say(ctx, "no home directory to find ~/.ssh/id_ed25519 in: give --key FILE");
                        return CMD_E_FAILED;
                }
                if (!a->agent && asprintf(&key, "%s/.ssh/id_ed25519", home) >= 0 && access(key, R_OK) == 0)
                        *ret_agent = false;
                else {
                        free(key);
                        key = NULL;
                        if (asprintf(&key, "%s/.ssh/id_ed25519.pub", home) < 0)
                                key = NULL;
                        *ret_agent = true;
                }
        }
        if (!key) {
                say(ctx, "out of memory");
                return CMD_E_FAILED;
        }
        *ret_key = key;
        return 0;
}

/* A fleet grant: its fields from jitd, the canonical text rendered and
 * signed here (ssh-keygen asks for a passphrase or a touch itself), the
 * signature sent; jitd verifies it before the database sees it. */
static int approve_fleet(struct jitctl_ctx *ctx, const struct jitctl_args *a, const struct proto_msg *fields)
{
        struct proto_msg req, rep;
        struct jit_grant g;
        const struct passwd *pw = getpwuid(getuid());
        const char *scope = proto_get_str(fields, PF_HOST), *user = proto_get_str(fields, PF_USER);
        const char *role = proto_get_str(fields, PF_ROLE), *ticket = proto_get_str(fields, PF_TICKET);
        uint64_t id = 0, duration = 0, requested = 0, ext_n = 0, ext_adds = 0, ext_at = 0;
        char *key = NULL, *text = NULL, *sig = NULL, **hosts = NULL, what[96] = "";
        bool agent = false;
        size_t len;
        int r;

        if (!proto_get_u64(fields, PF_FLEET_ID, &id) || !proto_get_u64(fields, PF_DURATION, &duration) ||
            !proto_get_u64(fields, PF_REQUESTED_AT, &requested) || !scope || !user || !role || !pw) {
                say(ctx, "jitd's answer lacks the grant's fields");
                return CMD_E_FAILED;
        }
        /* What waits for this approver may be an extension of the grant:
         * its own text is signed then. */
        if (proto_get_u64(fields, PF_EXTENSION, &ext_n) &&
            (!proto_get_u64(fields, PF_EXTENSION_ADDS, &ext_adds) || !proto_get_u64(fields, PF_EXTENSION_AT, &ext_at) ||
             ext_n == 0 || ext_n > INT64_MAX || ext_at > INT64_MAX)) {
                say(ctx, "jitd's answer lacks the extension's fields");
                return CMD_E_FAILED;
        }
        r = approval_key(ctx, a, &key, &agent);
        if (r < 0)
                return r;
        if (strv_split(scope, ',', &hosts) < 0)
                hosts = NULL;
        {
                struct approval_fields f = {
                        .grant = (int64_t) id, .user = user, .role = role, .hosts = hosts, .duration = duration,
                        .ticket = ticket, .requested = (int64_t) requested, .approver = pw->pw_name,
                };
                struct extension_fields x = { .n = (int64_t) ext_n, .duration = ext_adds,
                                              .requested = (int64_t) ext_at };

                if (!hosts)
                        r = -ENOMEM;
                else
                        r = ext_n ? extension_text(&f, &x, &text) : approval_text(&f, &text);
        }
        if (ext_n) {
                char adds[32];

                duration_format(ext_adds, adds, sizeof(adds));
                snprintf(what, sizeof(what), "extension %llu (%s more) of ", (unsigned long long) ext_n, adds);
        }
        if (r < 0) {
                say(ctx, "cannot render the approval text of fleet grant F%llu: %s", (unsigned long long) id,
                    strerror(-r));
                r = CMD_E_FAILED;
                goto out;
        }
        fprintf(ctx->err, "jitctl: signing the approval of %sfleet grant F%llu (%s for role %s on hosts %s) with %s%s\n",
                what, (unsigned long long) id, user, role, scope, agent ? "the agent's key " : "", key);
        r = sshsig_sign(key, agent, text, &sig);
        if (r < 0) {
                say(ctx, "cannot sign with %s: %s", key, strerror(-r));
                r = CMD_E_FAILED;
                goto out;
        }
        /* No control byte passes the protocol: the armor's line breaks
         * travel as '|', the last one dropped (jitd puts it back). */
        len = strlen(sig);
        while (len && sig[len - 1] == '\n')
                sig[--len] = '\0';
        for (char *p = sig; *p; p++)
                if (*p == '\n')
                        *p = '|';
        proto_init(&req, PROTO_REQ_APPROVE);
        if ((r = set_u64(ctx, &req, PF_FLEET_ID, id)) < 0 || (r = set_str(ctx, &req, PF_SIGNATURE, sig)) < 0 ||
            (r = set_str(ctx, &req, PF_NOTE, a->message)) < 0 ||
            (ext_n && (r = set_u64(ctx, &req, PF_EXTENSION, ext_n)) < 0))
                goto out;
        r = call_grant(ctx, &req, &rep, &g);
        if (r < 0)
                goto out;
        {
                const char *msg = proto_get_str(&rep, PF_MESSAGE);

                output_fputs_safe(msg ? msg : "approved", ctx->out);
                fputc('\n', ctx->out);
        }
        r = 0;
out:
        free(key);
        free(text);
        free(sig);
        strv_free(hosts);
        return r;
}

int cmd_approve(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        /* A grant of this host is approved here; a fleet grant (F12) is
         * signed: jitd answers with its fields first. */
        if (!a.fleet_id) {
                if (a.key || a.agent) {
                        say(ctx, "--key and --agent are for fleet grants (F%lld), not grant %lld of this host",
                            (long long) a.id, (long long) a.id);
                        return CMD_E_USAGE;
                }
                return grant_verb(ctx, v, argc, argv, PROTO_REQ_APPROVE);
        }
        proto_init(&req, PROTO_REQ_APPROVAL_TEXT);
        if ((r = set_ref(ctx, &req, &a)) < 0)
                return r;
        r = client_call(ctx->socket, &req, &rep, ctx->timeout_ms);
        if (r < 0)
                return jitctl_report_transport(ctx, r);
        r = jitctl_check_reply(ctx, &rep, PROTO_REP_GRANT);
        if (r < 0)
                return r;
        return approve_fleet(ctx, &a, &rep);
}

static int print_end_reply(struct jitctl_ctx *ctx, struct proto_msg *rep, const char *done);

/* deny F12 and cancel F12: jitd answers in one line (what happened here and
 * in the fleet), as for release and revoke. */
static int fleet_end_verb(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv,
                          enum proto_type type)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        if (!a.fleet_id)
                return grant_verb(ctx, v, argc, argv, type);
        proto_init(&req, type);
        if ((r = set_ref(ctx, &req, &a)) < 0 || (r = set_str(ctx, &req, PF_NOTE, a.message)) < 0)
                return r;
        r = client_call(ctx->socket, &req, &rep, ctx->timeout_ms);
        if (r < 0)
                return jitctl_report_transport(ctx, r);
        return print_end_reply(ctx, &rep, type == PROTO_REQ_DENY ? "denied" : "cancelled");
}

int cmd_deny(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return fleet_end_verb(ctx, v, argc, argv, PROTO_REQ_DENY);
}

int cmd_cancel(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return fleet_end_verb(ctx, v, argc, argv, PROTO_REQ_CANCEL);
}

/* The answer to release or revoke. A jitd with [fleet] answers for a fleet
 * grant in one line (what happened here, and in the fleet database); else
 * the grant as it now is. */
static int print_end_reply(struct jitctl_ctx *ctx, struct proto_msg *rep, const char *done)
{
        struct jit_grant g;
        const char *msg;
        int r;

        if (rep->type == PROTO_REP_OK) {
                msg = proto_get_str(rep, PF_MESSAGE);
                output_fputs_safe(msg ? msg : done, ctx->out);
                fputc('\n', ctx->out);
                return 0;
        }
        r = jitctl_check_reply(ctx, rep, PROTO_REP_GRANT);
        if (r < 0)
                return r;
        r = jitctl_decode_grant(ctx, rep, &g);
        if (r < 0)
                return r;
        print_grant_reply(ctx, rep, &g);
        return 0;
}

int cmd_release(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        proto_init(&req, PROTO_REQ_RELEASE);
        if ((r = set_ref(ctx, &req, &a)) < 0)
                return r;
        r = client_call(ctx->socket, &req, &rep, ctx->timeout_ms);
        if (r < 0)
                return jitctl_report_transport(ctx, r);
        return print_end_reply(ctx, &rep, "released");
}

int cmd_revoke(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        if (a.user ? (!a.all || a.id || a.fleet_id) : ((!a.id && !a.fleet_id) || a.all)) {
                say(ctx, "revoke takes an ID, or --user USER --all");
                fprintf(ctx->err, "usage: jitctl %s\n", v->usage);
                return CMD_E_USAGE;
        }
        proto_init(&req, PROTO_REQ_REVOKE);
        if ((r = set_ref(ctx, &req, &a)) < 0 ||
            (a.user && ((r = set_str(ctx, &req, PF_USER, a.user)) < 0 ||
                        (r = set_u64(ctx, &req, PF_FLAGS, PROTO_F_ALL)) < 0)) ||
            (r = set_str(ctx, &req, PF_REASON, a.message)) < 0)
                return r;
        r = client_call(ctx->socket, &req, &rep, ctx->timeout_ms);
        if (r < 0)
                return jitctl_report_transport(ctx, r);
        return print_end_reply(ctx, &rep, "revoked");
}

int cmd_extend(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_EXTEND);
}

int cmd_break_glass(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_BREAK_GLASS);
}

static int print_grants(const struct jitctl_ctx *ctx, const struct jit_grant *g, size_t n, int64_t now,
                        bool json, const char *none)
{
        if (json)
                return output_grants_json(ctx->out, g, n);
        if (n == 0) {
                fprintf(ctx->out, "%s\n", none);
                return 0;
        }
        return output_grants_table(ctx->out, g, n, now);
}

/* list --json: this host's grants, then the fleet's (their objects as jitd
 * made them: "id" is "F12"), one array. */
static int print_list_json(const struct jitctl_ctx *ctx, const struct jit_grant *g, size_t n, char **lines,
                           char **details, size_t n_lines)
{
        struct json_object *a = json_object_new_array(), *o;
        int r = 0;

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = output_grant_json(&g[i], &o);
                if (r >= 0 && json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                }
        }
        for (size_t i = 0; r >= 0 && i < n_lines; i++) {
                if (!details[i]) {
                        /* Not a grant: the fleet part is missing, or cut. */
                        say(ctx, "%s", lines[i]);
                        continue;
                }
                o = json_tokener_parse(details[i]);
                if (o && json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                }
        }
        if (r >= 0)
                r = output_json_print(ctx->out, a);
        json_object_put(a);
        return r;
}

int cmd_list(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        _cleanup_free_ struct jit_grant *g = NULL;
        struct jitctl_args a;
        struct proto_msg req;
        enum grant_state st;
        uint64_t flags = 0;
        char **lines = NULL, **details = NULL;
        size_t n = 0, n_lines = 0;
        int64_t now;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        if (a.all)
                flags |= PROTO_F_ALL;
        /* "--state expired" means ended grants are wanted: without this it
         * would always come back empty. */
        if (a.state && grant_state_from_string(a.state, &st) >= 0 && !grant_state_is_open(st))
                flags |= PROTO_F_ALL;
        proto_init(&req, PROTO_REQ_LIST);
        if ((flags && (r = set_u64(ctx, &req, PF_FLAGS, flags)) < 0) ||
            (r = set_str(ctx, &req, PF_USER, a.user)) < 0 ||
            (r = set_str(ctx, &req, PF_STATE, a.state)) < 0 ||
            (r = set_str(ctx, &req, PF_ROLE, a.role)) < 0 ||
            (r = set_str(ctx, &req, PF_HOST, a.host)) < 0)
                return r;
        r = jitctl_fetch_list(ctx, &req, &g, &n, &now, &lines, &details, &n_lines);
        if (r < 0)
                return r;
        if (a.json) {
                r = print_list_json(ctx, g, n, lines, details, n_lines);
                goto out;
        }
        r = print_grants(ctx, g, n, now, false, "no grants");
        /* With [fleet]: the fleet's open grants, one line each. */
        for (size_t i = 0; r >= 0 && i < n_lines; i++) {
                if (i == 0)
                        fputs("fleet:\n", ctx->out);
                fputs("  ", ctx->out);
                output_fputs_safe(lines[i], ctx->out);
                fputc('\n', ctx->out);
        }
out:
        jitctl_lines_free(lines, n_lines);
        jitctl_lines_free(details, n_lines);
        return r;
}

/* show F12: jitd's document (jitd/handlers_fleet_show.c), as it came with
 * --json, else for a person. */
static int show_fleet(struct jitctl_ctx *ctx, const struct proto_msg *req, bool json)
{
        char *doc = NULL;
        int r;

        r = jitctl_fetch_document(ctx, req, &doc);
        if (r < 0)
                return r;
        if (json) {
                fputs(doc, ctx->out);
                fputc('\n', ctx->out);
        } else if (fleet_view_show(ctx->out, doc) < 0) {
                say(ctx, "jitd sent a fleet grant jitctl cannot read");
                r = CMD_E_FAILED;
        }
        free(doc);
        return r;
}

int cmd_show(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        struct jitctl_args a;
        struct proto_msg req, rep;
        struct jit_grant g;
        struct json_object *o;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        proto_init(&req, PROTO_REQ_SHOW);
        r = set_ref(ctx, &req, &a);
        if (r >= 0 && a.fleet_id)
                return show_fleet(ctx, &req, a.json);
        if (r >= 0)
                r = call_grant(ctx, &req, &rep, &g);
        if (r < 0)
                return r;
        if (!a.json) {
                output_grant_show(ctx->out, &g, jitctl_reply_now(&rep));
                jitctl_show_recordings(ctx, g.id, NULL);
                return 0;
        }
        r = output_grant_json(&g, &o);
        if (r < 0)
                return r;
        jitctl_show_recordings(ctx, g.id, o);
        r = output_json_print(ctx->out, o);
        json_object_put(o);
        return r;
}

static const char *decision_name(uint64_t d)
{
        switch (d) {
        case PROTO_DECISION_ALLOW:  return "allow";
        case PROTO_DECISION_DENY:   return "deny";
        case PROTO_DECISION_IGNORE: return "ignore";
        default:                    return NULL;
        }
}

/*
 * Exit status: 0 for any decision jitd gave, allow, deny or ignore alike; 1
 * only when there is no decision (jitd refused the question, e.g. not root).
 * check is a diagnostic: "deny" is a correct answer, not a failure of the
 * command, and exit 1 would make "it works and says deny" look like "it is
 * broken" to a script. Scripts read the "decision:" line.
 */
int cmd_check(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        const int w = (int) sizeof("decision:") - 1;
        struct jitctl_args a;
        struct proto_msg req, rep;
        char buf[3 * OUTPUT_TIME_MAX], t[OUTPUT_TIME_MAX], left[OUTPUT_TIME_MAX];
        const char *name;
        uint64_t d = 0, id = 0, exp = 0;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        proto_init(&req, PROTO_REQ_CHECK);
        if ((r = set_str(ctx, &req, PF_USER, a.pos[0])) < 0 ||
            (r = set_str(ctx, &req, PF_SERVICE, a.service ? a.service : "sudo")) < 0)
                return r;
        r = call(ctx, &req, &rep, PROTO_REP_DECISION);
        if (r < 0)
                return r;

        proto_get_u64(&rep, PF_DECISION, &d);
        name = decision_name(d);
        if (!name) {
                say(ctx, "jitd gave an unknown decision %llu", (unsigned long long) d);
                return CMD_E_FAILED;
        }
        output_kv(ctx->out, w, "decision", name);
        output_kv(ctx->out, w, "role", proto_get_str(&rep, PF_ROLE));
        buf[0] = '\0';
        if (proto_get_u64(&rep, PF_ID, &id) && id > 0)
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long) id);
        output_kv(ctx->out, w, "grant", buf);
        buf[0] = '\0';
        if (proto_get_u64(&rep, PF_EXPIRES_AT, &exp) && exp > 0 && exp <= INT64_MAX) {
                int64_t now = now_realtime();

                output_local_time((int64_t) exp, true, t, sizeof(t));
                duration_format((int64_t) exp > now ? exp - (uint64_t) now : 0, left, sizeof(left));
                snprintf(buf, sizeof(buf), "%s (%s left)", t, left);
        }
        output_kv(ctx->out, w, "expires", buf);
        output_kv(ctx->out, w, "message", proto_get_str(&rep, PF_MESSAGE));
        return 0;
}

/* Two plain lines about jitd, then my open grants:
 *   jitd 0.1.0 on host web01, at /run/jitd/jitd.sock
 *   time 2026-11-23 14:05:03 (this clock is 42s ahead), you are alice (uid 1000)
 */
int cmd_status(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        _cleanup_free_ struct jit_grant *g = NULL;
        struct jitctl_args a;
        struct proto_msg req, rep;
        char t[OUTPUT_TIME_MAX], skew[OUTPUT_TIME_MAX];
        const char *user, *version, *host;
        uint64_t now = 0, uid = 0;
        int64_t list_now, diff;
        size_t n = 0;
        int r;

        PARSE_OR_RETURN(ctx, v, argc, argv, &a);
        proto_init(&req, PROTO_REQ_PING);
        r = call(ctx, &req, &rep, PROTO_REP_OK);
        if (r < 0)
                return r;

        version = proto_get_str(&rep, PF_VERSION);
        host = proto_get_str(&rep, PF_HOST);
        fputs("jitd ", ctx->out);
        output_fputs_safe(version ? version : "(unknown version)", ctx->out);
        fputs(" on host ", ctx->out);
        output_fputs_safe(host ? host : "?", ctx->out);
        fputs(", at ", ctx->out);
        output_fputs_safe(ctx->socket, ctx->out);
        fputc('\n', ctx->out);

        if (proto_get_u64(&rep, PF_NOW, &now) && now > 0 && now <= INT64_MAX) {
                output_local_time((int64_t) now, true, t, sizeof(t));
                fprintf(ctx->out, "time %s", t);
                /* sudo's NOTAFTER and jitd's expiry run on jitd's clock: a
                 * skewed clock here would make "time left" lie. */
                diff = now_realtime() - (int64_t) now;
                if (diff > 5 || diff < -5) {
                        duration_format((uint64_t) (diff < 0 ? -diff : diff), skew, sizeof(skew));
                        fprintf(ctx->out, " (this clock is %s %s)", skew, diff > 0 ? "ahead" : "behind");
                }
                fputs(", ", ctx->out);
        }
        user = proto_get_str(&rep, PF_USER);
        fputs("you are ", ctx->out);
        output_fputs_safe(user ? user : "?", ctx->out);
        if (proto_get_u64(&rep, PF_UID, &uid))
                fprintf(ctx->out, " (uid %llu)", (unsigned long long) uid);
        fputs("\n", ctx->out);
        {
                const char *fleet = proto_get_str(&rep, PF_FLEET);

                if (fleet) {
                        fputs("fleet: ", ctx->out);
                        output_fputs_safe(fleet, ctx->out);
                        fputs("\n", ctx->out);
                }
        }
        {
                uint64_t overdue = 0;

                /* jitd tells admins only. */
                if (proto_get_u64(&rep, PF_COUNT, &overdue) && overdue > 0)
                        fprintf(ctx->out, "warning: %llu break-glass review%s overdue: see jitctl review\n",
                                (unsigned long long) overdue, overdue == 1 ? "" : "s");
        }
        fputs("\n", ctx->out);

        /* Open grants only (no PROTO_F_ALL), and only mine: approvers and
         * admins would otherwise get everyone's. */
        proto_init(&req, PROTO_REQ_LIST);
        r = set_str(ctx, &req, PF_USER, user);
        if (r < 0)
                return r;
        r = jitctl_fetch_grants(ctx, &req, &g, &n, &list_now);
        if (r < 0)
                return r;
        return print_grants(ctx, g, n, list_now, false, "no open grants");
}
