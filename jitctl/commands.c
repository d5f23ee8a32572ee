/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jitctl's verbs. Each one checks its whole command line before it talks to
 * jitd, so that a typo never half-happens; then it sends one request (LIST: a
 * request and a stream back) and prints what came back.
 *
 * Every diagnostic goes through say(), which prefixes "jitctl: " and shows
 * control bytes as '?': jitd's messages can quote what another user typed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
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

/* Columns: name, function, getopt string, long-only options, required options,
 * min and max positional arguments, first positional is a grant ID, usage, help. */
const struct cmd_verb cmd_verbs[] = {
        { "request", cmd_request, ":hs:r:t:d:m:", CMD_L_WAIT, "", 0, 0, false,
          "request [-r ROLE] [-t TICKET] [-d DURATION] [-m REASON] [--wait[=TIMEOUT]]",
          "ask for an elevation; --wait waits for the approval (default 15m)" },
        { "list", cmd_list, ":hs:r:", CMD_L_ALL | CMD_L_USER | CMD_L_STATE | CMD_L_JSON, "", 0, 0, false,
          "list [--all] [--user USER] [--state STATE] [--role ROLE] [--json]",
          "open grants (--all: ended ones too); approvers and admins see everyone's" },
        { "show", cmd_show, ":hs:", CMD_L_JSON, "", 1, 1, true,
          "show ID [--json]",
          "every field of one grant" },
        { "approve", cmd_approve, ":hs:m:", 0, "", 1, 1, true,
          "approve ID [-m NOTE]",
          "approve someone else's pending request" },
        { "deny", cmd_deny, ":hs:m:", 0, "m", 1, 1, true,
          "deny ID -m NOTE",
          "turn down someone else's pending request" },
        { "cancel", cmd_cancel, ":hs:", 0, "", 1, 1, true,
          "cancel ID",
          "withdraw your own pending request" },
        { "release", cmd_release, ":hs:", 0, "", 0, 1, true,
          "release [ID]",
          "end your own grant now: the task is done" },
        { "revoke", cmd_revoke, ":hs:m:", 0, "m", 1, 1, true,
          "revoke ID -m REASON",
          "end anyone's grant now (admins)" },
        { "extend", cmd_extend, ":hs:d:m:", 0, "dm", 1, 1, true,
          "extend ID -d DURATION -m REASON",
          "ask for more time on your grant" },
        { "break-glass", cmd_break_glass, ":hs:r:d:m:", 0, "rm", 0, 0, false,
          "break-glass -r ROLE -m REASON [-d DURATION]",
          "emergency grant without approval, reviewed by an admin afterwards" },
        { "check", cmd_check, ":hs:S:", 0, "", 1, 1, false,
          "check USER [-S SERVICE]",
          "what the PAM module would be told for USER, and why (root)" },
        { "status", cmd_status, ":hs:", 0, "", 0, 0, false,
          "status",
          "is jitd up, and your open grants" },
        { "review", cmd_review, ":hs:m:", CMD_L_ACCEPT | CMD_L_REJECT | CMD_L_JSON, "", 0, 1, true,
          "review [ID --accept|--reject -m NOTE]",
          "break-glass grants awaiting review, or settle one (admins, not the grant's user)" },
        { "audit", cmd_audit, ":hs:", CMD_L_SINCE | CMD_L_GRANT | CMD_L_JSON, "", 0, 1, false,
          "audit [--since TIME] [--grant ID] [--json] | audit verify",
          "the audit trail (admins); verify checks its hash chain" },
        { "reload", cmd_reload, ":hs:", 0, "", 0, 0, false,
          "reload",
          "re-read jitd.conf; a broken one is refused and the old one stays (admins)" },
        { "report", cmd_report, ":hs:", CMD_L_SINCE | CMD_L_JSON | CMD_L_PROMETHEUS, "", 0, 0, false,
          "report [--since TIME] [--json | --prometheus]",
          "governance figures: standing sudo rules, grants, approval and revocation times, break-glass" },
        { "doctor", cmd_doctor, ":hs:c:", CMD_L_PAM_DIR | CMD_L_SUDOERS | CMD_L_JSON, "", 0, 0, false,
          "doctor [-c CONFIG] [--pam-dir DIR] [--sudoers FILE] [--json]",
          "is this host set up right: config, jitd, PAM stacks, sudoers, ticket system, clock, teardown" },
        {}
};

enum {
        OPT_WAIT = 0x100,       /* past every char, so never a letter */
        OPT_ALL,
        OPT_USER,
        OPT_STATE,
        OPT_JSON,
        OPT_SINCE,
        OPT_GRANT,
        OPT_ACCEPT,
        OPT_REJECT,
        OPT_PROMETHEUS,
        OPT_PAM_DIR,
        OPT_SUDOERS,
};

#define LONG_BIT(o) (1u << ((o) - OPT_WAIT))

/* One table for every verb; each verb then refuses what it does not take, so
 * that "list --ticket X" says so instead of being silently ignored. */
static const struct option long_options[] = {
        { "help",     no_argument,       NULL, 'h' },
        { "socket",   required_argument, NULL, 's' },
        { "role",     required_argument, NULL, 'r' },
        { "ticket",   required_argument, NULL, 't' },
        { "duration", required_argument, NULL, 'd' },
        { "message",  required_argument, NULL, 'm' },
        { "reason",   required_argument, NULL, 'm' },
        { "note",     required_argument, NULL, 'm' },
        { "service",  required_argument, NULL, 'S' },
        { "wait",     optional_argument, NULL, OPT_WAIT },
        { "all",      no_argument,       NULL, OPT_ALL },
        { "user",     required_argument, NULL, OPT_USER },
        { "state",    required_argument, NULL, OPT_STATE },
        { "json",     no_argument,       NULL, OPT_JSON },
        { "since",    required_argument, NULL, OPT_SINCE },
        { "grant",    required_argument, NULL, OPT_GRANT },
        { "accept",   no_argument,       NULL, OPT_ACCEPT },
        { "reject",   no_argument,       NULL, OPT_REJECT },
        { "prometheus", no_argument,     NULL, OPT_PROMETHEUS },
        { "config",   required_argument, NULL, 'c' },
        { "pam-dir",  required_argument, NULL, OPT_PAM_DIR },
        { "sudoers",  required_argument, NULL, OPT_SUDOERS },
        {}
};

const struct cmd_verb *cmd_find(const char *name)
{
        for (const struct cmd_verb *v = cmd_verbs; name && v->name; v++)
                if (strcmp(v->name, name) == 0)
                        return v;
        return NULL;
}

static void vsay(FILE *f, const char *fmt, va_list ap)
{
        char *s = NULL;

        if (vasprintf(&s, fmt, ap) < 0) {
                fputs("jitctl: out of memory\n", f);
                return;
        }
        fputs("jitctl: ", f);
        output_fputs_safe(s, f);
        fputc('\n', f);
        free(s);
}

__attribute__((format(printf, 2, 3)))
static void say(const struct jitctl_ctx *ctx, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsay(ctx->err, fmt, ap);
        va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static int usage_error(const struct jitctl_ctx *ctx, const struct cmd_verb *v, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsay(ctx->err, fmt, ap);
        va_end(ap);
        fprintf(ctx->err, "usage: jitctl %s\n", v->usage);
        return CMD_E_USAGE;
}

int jitctl_parse_id(const char *s, int64_t *ret)
{
        long long v;
        char *end;

        /* strtoll alone would take " 12", "+12" and "-12". */
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        if (v <= 0)
                return -ERANGE;
        *ret = (int64_t) v;
        return 0;
}

/* "-m NOTE" -> "NOTE", from the verb's usage line, for "deny needs -m NOTE". */
static void option_meta(const struct cmd_verb *v, int c, char *buf, size_t size)
{
        char flag[4] = { '-', (char) c, ' ', '\0' };
        const char *p = strstr(v->usage, flag);
        size_t n;

        if (!p) {
                snprintf(buf, size, "-%c", c);
                return;
        }
        p += 3;
        n = strcspn(p, " ]");
        snprintf(buf, size, "-%c %.*s", c, (int) n, p);
}

static bool option_allowed(const struct cmd_verb *v, int c)
{
        if (c >= OPT_WAIT)
                return (v->long_only & LONG_BIT(c)) != 0;
        return c != ':' && strchr(v->opts, c) != NULL;
}

static int parse_duration(const struct jitctl_ctx *ctx, const struct cmd_verb *v, const char *what,
                          const char *s, uint64_t *ret)
{
        int r = duration_parse(s, ret);

        if (r < 0)
                return usage_error(ctx, v, "invalid %s '%s': %s", what, s, duration_strerror(r));
        return 0;
}

/* Only what jitctl itself must understand is checked here: durations, IDs,
 * states. Names, tickets and texts go to jitd as typed, and jitd (or, for
 * control characters and overlong values, the encoder) refuses them with exit
 * 1: one authority on what is valid, not two that could disagree. */
static int check_values(const struct jitctl_ctx *ctx, const struct cmd_verb *v, const struct jitctl_args *a)
{
        enum grant_state st;

        if (a->state && grant_state_from_string(a->state, &st) < 0)
                return usage_error(ctx, v, "unknown state '%s' (pending, scheduled, active, expired, "
                                   "revoked, released, denied, cancelled)", a->state);
        return 0;
}

static int check_required(const struct jitctl_ctx *ctx, const struct cmd_verb *v, const struct jitctl_args *a)
{
        for (const char *p = v->required; *p; p++) {
                bool given;
                char meta[64];

                switch (*p) {
                case 'm': given = a->message && a->message[0]; break;
                case 'd': given = a->duration > 0; break;
                case 'r': given = a->role != NULL; break;
                default: given = true; break;
                }
                if (!given) {
                        option_meta(v, *p, meta, sizeof(meta));
                        return usage_error(ctx, v, "%s needs %s", v->name, meta);
                }
        }
        return 0;
}

int jitctl_parse_args(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv,
                      struct jitctl_args *ret)
{
        struct jitctl_args a = {};
        const char *duration = NULL, *wait = NULL;
        int c, r;

        opterr = 0;             /* our messages, with the usage line */
        optind = 0;             /* glibc: start over, main.c already ran getopt */
        for (;;) {
                int li = -1;

                c = getopt_long(argc, argv, v->opts, long_options, &li);
                if (c == -1)
                        break;
                if (c == ':')
                        return usage_error(ctx, v, "option '%s' needs a value", argv[optind - 1]);
                if (c == '?') {
                        if (optopt > 0 && optopt < OPT_WAIT)
                                return usage_error(ctx, v, "unknown option '-%c'", optopt);
                        return usage_error(ctx, v, "unknown option '%s'", argv[optind - 1]);
                }
                if (!option_allowed(v, c)) {
                        if (li >= 0)
                                return usage_error(ctx, v, "%s does not take --%s", v->name,
                                                   long_options[li].name);
                        return usage_error(ctx, v, "%s does not take -%c", v->name, c);
                }
                switch (c) {
                case 'h':
                        fprintf(ctx->out, "usage: jitctl %s\n  %s\n", v->usage, v->help);
                        return 1;
                case 's':
                        if (!optarg[0])
                                return usage_error(ctx, v, "-s needs a socket path");
                        ctx->socket = optarg;
                        break;
                case 'r': a.role = optarg; break;
                case 't': a.ticket = optarg; break;
                case 'd': duration = optarg; break;
                case 'm': a.message = optarg; break;
                case 'S': a.service = optarg; break;
                case OPT_WAIT: wait = optarg ? optarg : ""; break;
                case OPT_ALL: a.all = true; break;
                case OPT_USER: a.user = optarg; break;
                case OPT_STATE: a.state = optarg; break;
                case OPT_JSON: a.json = true; break;
                case OPT_SINCE: a.since = optarg; break;
                case OPT_GRANT:
                        r = jitctl_parse_id(optarg, &a.grant);
                        if (r < 0)
                                return usage_error(ctx, v, "invalid grant ID '%s': a positive whole number", optarg);
                        break;
                case OPT_ACCEPT: a.accept = true; break;
                case OPT_REJECT: a.reject = true; break;
                case OPT_PROMETHEUS: a.prometheus = true; break;
                case 'c': a.config = optarg; break;
                case OPT_PAM_DIR: a.pam_dir = optarg; break;
                case OPT_SUDOERS: a.sudoers = optarg; break;
                default: break;
                }
        }

        /* An empty word ("check ''") is as good as a missing one. */
        if (argc - optind < (int) v->min_args || (v->min_args > 0 && !argv[optind][0])) {
                /* "check USER [-S SERVICE]" -> "USER" */
                const char *arg = v->usage + strlen(v->name) + 1;

                return usage_error(ctx, v, "%s needs %s%.*s", v->name, v->takes_id ? "a grant " : "",
                                   (int) strcspn(arg, " "), arg);
        }
        if (argc - optind > (int) v->max_args)
                /* getopt_long cannot take "--wait 15m": optional values need '='. */
                return usage_error(ctx, v, "unexpected argument '%s'%s", argv[optind + (int) v->max_args],
                                   v->long_only & CMD_L_WAIT ? " (a --wait timeout goes as --wait=TIMEOUT)" : "");
        for (int i = optind; i < argc; i++)
                a.pos[a.npos++] = argv[i];

        if (v->takes_id && a.npos > 0) {
                r = jitctl_parse_id(a.pos[0], &a.id);
                if (r < 0)
                        return usage_error(ctx, v, "invalid grant ID '%s': a positive whole number", a.pos[0]);
        }
        if (duration && (r = parse_duration(ctx, v, "duration", duration, &a.duration)) < 0)
                return r;
        if (wait) {
                if (!wait[0])
                        a.wait = JITCTL_WAIT_DEFAULT;
                else if ((r = parse_duration(ctx, v, "--wait timeout", wait, &a.wait)) < 0)
                        return r;
        }
        r = check_values(ctx, v, &a);
        if (r < 0)
                return r;
        r = check_required(ctx, v, &a);
        if (r < 0)
                return r;
        *ret = a;
        return 0;
}

/* A failed exchange: say why, and what kind of failure it was. */
static int report_transport(const struct jitctl_ctx *ctx, int r)
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
        default:
                /* ENOENT, ECONNREFUSED, EACCES on connect; ETIMEDOUT and
                 * ECONNRESET later: in every case jitd is not answering. */
                say(ctx, "cannot reach jitd at %s: %s", ctx->socket, strerror(-r));
                return CMD_E_UNREACHABLE;
        }
}

/* 0 when rep is of the expected type; jitd's error, or a confused reply, said. */
static int check_reply(const struct jitctl_ctx *ctx, const struct proto_msg *rep, enum proto_type expected)
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
                return report_transport(ctx, r);
        return check_reply(ctx, rep, expected);
}

int jitctl_call(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct proto_msg *rep,
                int expected)
{
        return call(ctx, req, rep, (enum proto_type) expected);
}

void jitctl_say(const struct jitctl_ctx *ctx, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsay(ctx->err, fmt, ap);
        va_end(ap);
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
                r = report_transport(ctx, r);
                goto out;
        }
        for (;;) {
                r = client_recv(fd, &rep, now_monotonic_ms() + ctx->timeout_ms);
                if (r < 0) {
                        r = report_transport(ctx, r);
                        break;
                }
                if (rep.type == PROTO_REP_END) {
                        r = 0;
                        break;
                }
                r = check_reply(ctx, &rep, (enum proto_type) expected);
                if (r < 0)
                        break;
                r = cb(&rep, userdata);
                if (r < 0)
                        break;
        }
out:
        if (fd >= 0)
                close(fd);
        return r;
}

static int decode_grant(const struct jitctl_ctx *ctx, const struct proto_msg *rep, struct jit_grant *g)
{
        if (grant_from_proto(rep, g) < 0) {
                say(ctx, "jitd sent a grant jitctl cannot read");
                return CMD_E_FAILED;
        }
        return 0;
}

static int call_grant(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct proto_msg *rep,
                      struct jit_grant *g)
{
        int r = call(ctx, req, rep, PROTO_REP_GRANT);

        return r < 0 ? r : decode_grant(ctx, rep, g);
}

/* jitd's clock when the reply carries it: remaining time is about jitd's
 * deadlines, not this terminal's clock. */
static int64_t reply_now(const struct proto_msg *rep)
{
        uint64_t v;

        if (proto_get_u64(rep, PF_NOW, &v) && v > 0 && v <= INT64_MAX)
                return (int64_t) v;
        return now_realtime();
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
                        return report_transport(ctx, r);
                if (r < 0) {
                        if (!lost)
                                say(ctx, "lost jitd at %s (%s), still waiting", ctx->socket, strerror(-r));
                        lost = r;
                        continue;
                }
                lost = 0;
                r = check_reply(ctx, &rep, PROTO_REP_GRANT);
                if (r < 0)
                        return r;
                r = decode_grant(ctx, &rep, &g);
                if (r < 0)
                        return r;
                if (g.state != last.state || strcmp(g.approvers, last.approvers) != 0) {
                        output_grant_summary(ctx->out, &g, reply_now(&rep));
                        fflush(ctx->out);
                }
                last = g;
                if (g.state != GRANT_PENDING)
                        return g.state == GRANT_ACTIVE || g.state == GRANT_SCHEDULED ? 0 : CMD_E_FAILED;
        }
        if (lost)
                return report_transport(ctx, lost);
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
        if ((a.id && (r = set_u64(ctx, &req, PF_ID, (uint64_t) a.id)) < 0) ||
            (r = set_str(ctx, &req, PF_ROLE, a.role)) < 0 ||
            (r = set_str(ctx, &req, PF_TICKET, a.ticket)) < 0 ||
            (a.duration && (r = set_u64(ctx, &req, PF_DURATION, a.duration)) < 0) ||
            (r = set_str(ctx, &req, note ? PF_NOTE : PF_REASON, a.message)) < 0)
                return r;
        r = call_grant(ctx, &req, &rep, &g);
        if (r < 0)
                return r;
        /* The line is made from the grant, not from the reply's message:
         * jitd's message mostly says the same in fewer facts (no expiry, no
         * time left). It is shown too when it tells what the grant alone
         * cannot: what a ticket said, that an extension waits, break-glass. */
        output_grant_summary(ctx->out, &g, reply_now(&rep));
        {
                const char *msg = proto_get_str(&rep, PF_MESSAGE);

                if (msg && strncmp(msg, "grant ", 6) != 0 && strchr(msg, ' ')) {
                        fputs("  ", ctx->out);
                        output_fputs_safe(msg, ctx->out);
                        fputc('\n', ctx->out);
                }
        }
        /* A request the ticket system turned down at once was refused. */
        if (type == PROTO_REQ_REQUEST && !grant_state_is_open(g.state))
                return CMD_E_FAILED;
        if (type != PROTO_REQ_REQUEST || a.wait == 0)
                return 0;
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

int cmd_approve(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_APPROVE);
}

int cmd_deny(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_DENY);
}

int cmd_cancel(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_CANCEL);
}

int cmd_release(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_RELEASE);
}

int cmd_revoke(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_REVOKE);
}

int cmd_extend(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_EXTEND);
}

int cmd_break_glass(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        return grant_verb(ctx, v, argc, argv, PROTO_REQ_BREAK_GLASS);
}

/* Send a LIST and collect the stream of grants up to END. Each message gets
 * its own timeout, so a long listing is not cut short, but a jitd that stops
 * talking mid-stream is. *ret_now: jitd's clock from the first grant. */
struct grant_vec {
        const struct jitctl_ctx *ctx;
        struct jit_grant *v;
        size_t n, cap;
        int64_t now;
};

static int collect_grant(const struct proto_msg *m, void *userdata)
{
        struct grant_vec *gv = userdata;
        int r;

        if (array_reserve((void **) &gv->v, &gv->cap, gv->n, sizeof(*gv->v)) < 0)
                return -ENOMEM;
        r = decode_grant(gv->ctx, m, &gv->v[gv->n]);
        if (r < 0)
                return r;
        if (gv->n++ == 0)
                gv->now = reply_now(m);
        return 0;
}

int jitctl_fetch_grants(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct jit_grant **ret,
                        size_t *ret_n, int64_t *ret_now)
{
        struct grant_vec gv = { .ctx = ctx };
        int r;

        r = jitctl_stream(ctx, req, PROTO_REP_GRANT, collect_grant, &gv);
        if (r < 0) {
                free(gv.v);
                return r;
        }
        *ret = gv.v;
        *ret_n = gv.n;
        *ret_now = gv.now ? gv.now : now_realtime();
        return 0;
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

int cmd_list(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv)
{
        _cleanup_free_ struct jit_grant *g = NULL;
        struct jitctl_args a;
        struct proto_msg req;
        enum grant_state st;
        uint64_t flags = 0;
        size_t n = 0;
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
            (r = set_str(ctx, &req, PF_ROLE, a.role)) < 0)
                return r;
        r = jitctl_fetch_grants(ctx, &req, &g, &n, &now);
        if (r < 0)
                return r;
        return print_grants(ctx, g, n, now, a.json, "no grants");
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
        r = set_u64(ctx, &req, PF_ID, (uint64_t) a.id);
        if (r >= 0)
                r = call_grant(ctx, &req, &rep, &g);
        if (r < 0)
                return r;
        if (!a.json) {
                output_grant_show(ctx->out, &g, reply_now(&rep));
                return 0;
        }
        r = output_grant_json(&g, &o);
        if (r < 0)
                return r;
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
