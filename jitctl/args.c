/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A verb's command line, checked whole before anything is sent (a typo never
 * half-happens), and the one way jitctl speaks to its user: say(), which
 * prefixes "jitctl: " and shows control bytes as '?' (jitd's messages can
 * quote what another user typed).
 */
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
        OPT_LOG,
        OPT_JOURNAL,
        OPT_PASSWORD_FILE,
        OPT_KEY,
        OPT_HOST,
        OPT_SESSION,
        OPT_SSLCERT,
        OPT_SSLKEY,
        OPT_FLEET,
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
        { "log",      required_argument, NULL, OPT_LOG },
        { "journal",  no_argument,       NULL, OPT_JOURNAL },
        { "conninfo", required_argument, NULL, 'D' },
        { "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
        { "hosts",    required_argument, NULL, 'H' },
        { "key",      required_argument, NULL, OPT_KEY },
        { "host",     required_argument, NULL, OPT_HOST },
        { "agent",    no_argument,       NULL, 'U' },
        { "session",  required_argument, NULL, OPT_SESSION },
        { "sslcert",  required_argument, NULL, OPT_SSLCERT },
        { "sslkey",   required_argument, NULL, OPT_SSLKEY },
        { "fleet",    no_argument,       NULL, OPT_FLEET },
        {}
};

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

/* What an ID may be, for usage errors. */
#define ID_FORMS "a grant of this host (12) or a fleet grant (F12)"

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

int jitctl_parse_grant_ref(const char *s, int64_t *ret_id, int64_t *ret_fleet_id)
{
        int64_t v;
        int r;

        if (s && (s[0] == 'F' || s[0] == 'f')) {
                r = jitctl_parse_id(s + 1, &v);
                if (r < 0)
                        return r;
                *ret_id = 0;
                *ret_fleet_id = v;
                return 0;
        }
        r = jitctl_parse_id(s, &v);
        if (r < 0)
                return r;
        *ret_id = v;
        *ret_fleet_id = 0;
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
                        r = jitctl_parse_grant_ref(optarg, &a.grant, &a.grant_fleet);
                        if (r < 0)
                                return usage_error(ctx, v, "invalid grant ID '%s': " ID_FORMS, optarg);
                        break;
                case OPT_ACCEPT: a.accept = true; break;
                case OPT_REJECT: a.reject = true; break;
                case OPT_PROMETHEUS: a.prometheus = true; break;
                case 'c': a.config = optarg; break;
                case OPT_PAM_DIR: a.pam_dir = optarg; break;
                case OPT_SUDOERS: a.sudoers = optarg; break;
                case OPT_LOG: a.log = optarg; break;
                case OPT_JOURNAL: a.journal = true; break;
                case 'D': a.conninfo = optarg; break;
                case OPT_PASSWORD_FILE: a.password_file = optarg; break;
                case OPT_SSLCERT: a.sslcert = optarg; break;
                case OPT_SSLKEY: a.sslkey = optarg; break;
                case OPT_FLEET: a.fleet = true; break;
                case 'H':
                        if (!optarg[0])
                                return usage_error(ctx, v, "-H needs host patterns");
                        a.hosts = optarg;
                        break;
                case OPT_KEY: a.key = optarg; break;
                case OPT_SESSION:
                        r = jitctl_parse_id(optarg, &a.session);
                        if (r < 0 || a.session > 100000000)
                                return usage_error(ctx, v, "invalid session number '%s': a positive whole number",
                                                   optarg);
                        break;
                case OPT_HOST:
                        if (!optarg[0])
                                return usage_error(ctx, v, "--host needs a host name pattern");
                        a.host = optarg;
                        break;
                case 'U': a.agent = true; break;
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
                r = jitctl_parse_grant_ref(a.pos[0], &a.id, &a.fleet_id);
                if (r < 0)
                        return usage_error(ctx, v, "invalid grant ID '%s': " ID_FORMS, a.pos[0]);
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

void jitctl_say(const struct jitctl_ctx *ctx, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsay(ctx->err, fmt, ap);
        va_end(ap);
}

/* --since: a duration ago (7d, 12h) or a date (YYYY-MM-DD, local midnight). */
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
