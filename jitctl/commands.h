/* SPDX-License-Identifier: BSD-3-Clause */
/* jitctl's verbs, one function each, and the option parsing they share.
 * A verb returns 0 or a negative errno; the CMD_E_* values mean the verb has
 * already told the user why on stderr and only the exit status is left for
 * main.c to decide. Any other negative errno has not been reported yet. */
#ifndef JITCTL_COMMANDS_H
#define JITCTL_COMMANDS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

#define JITCTL_TIMEOUT_MS     10000           /* per exchange with jitd */
#define JITCTL_WAIT_DEFAULT   (15 * 60)       /* --wait without a value, seconds */

#define CMD_E_USAGE        (-EINVAL)          /* bad command line (exit 2) */
#define CMD_E_FAILED       (-ECANCELED)       /* jitd refused, or it did not work out (exit 1) */
#define CMD_E_UNREACHABLE  (-EHOSTUNREACH)    /* could not talk to jitd (exit 3) */
#define CMD_E_PENDING      (-EINPROGRESS)     /* --wait ran out, still pending (exit 4) */

struct jitctl_ctx {
        const char *socket;     /* -s, else $JITCTL_SOCKET, else JIT_DEFAULT_SOCKET */
        int timeout_ms;
        FILE *out;              /* results */
        FILE *err;              /* diagnostics */
};

struct cmd_verb;
typedef int (*cmd_fn)(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);

struct cmd_verb {
        const char *name;
        cmd_fn run;
        const char *opts;       /* getopt short options, ":h" and "s:" included */
        unsigned long_only;     /* CMD_L_* bits: long options without a letter */
        const char *required;   /* option letters that must be given */
        unsigned min_args, max_args;
        bool takes_id;          /* the first positional argument is a grant ID */
        const char *usage;      /* after "jitctl " */
        const char *help;       /* one line */
};

enum {
        CMD_L_WAIT  = 1 << 0,
        CMD_L_ALL   = 1 << 1,
        CMD_L_USER  = 1 << 2,
        CMD_L_STATE = 1 << 3,
        CMD_L_JSON  = 1 << 4,
        CMD_L_SINCE = 1 << 5,
        CMD_L_GRANT = 1 << 6,
        CMD_L_ACCEPT = 1 << 7,
        CMD_L_REJECT = 1 << 8,
        CMD_L_PROMETHEUS = 1 << 9,
        CMD_L_PAM_DIR = 1 << 10,
        CMD_L_SUDOERS = 1 << 11,
        CMD_L_LOG = 1 << 12,
        CMD_L_JOURNAL = 1 << 13,
        CMD_L_PASSWORD_FILE = 1 << 14,
        CMD_L_KEY = 1 << 15,
        CMD_L_HOST = 1 << 16,
        CMD_L_SESSION = 1 << 17,
        CMD_L_SSLCERT = 1 << 18,
        CMD_L_SSLKEY = 1 << 19,
        CMD_L_FLEET = 1 << 20,
};

/* Every verb, in help order, terminated by an entry with a NULL name. */
extern const struct cmd_verb cmd_verbs[];
const struct cmd_verb *cmd_find(const char *name);

/* A verb's command line after parsing and checking. Strings point into argv. */
struct jitctl_args {
        const char *role, *ticket, *message, *user, *state, *service;
        uint64_t duration;      /* 0: not given */
        uint64_t wait;          /* seconds; 0: no --wait */
        bool all, json, accept, reject, prometheus;
        const char *since;      /* --since as given: a duration ago ("7d") or a date (YYYY-MM-DD) */
        int64_t grant;          /* --grant ID; 0: not given */
        int64_t grant_fleet;    /* --grant FID (a fleet grant, "F12"); 0: not given */
        int64_t id;             /* 0: not given (nor a fleet id) */
        int64_t fleet_id;       /* the ID was a fleet grant's ("F12"); 0: not */
        const char *config, *pam_dir, *sudoers;     /* doctor: -c, --pam-dir, --sudoers */
        const char *log;        /* audit verify --log FILE */
        bool journal;           /* audit verify --journal */
        const char *conninfo;   /* fleet: -D CONNINFO */
        const char *password_file;      /* fleet add-host --password-file FILE */
        const char *sslcert, *sslkey;   /* fleet add-host --sslcert FILE --sslkey FILE: paths on the host */
        const char *hosts;      /* request -H PATTERN,...: a fleet grant's host scope */
        const char *key;        /* approve --key FILE */
        const char *host;       /* --host PATTERN: the fleet's hosts it matches (list, audit, report) */
        bool agent;             /* approve -U/--agent */
        bool fleet;             /* review --json --fleet: one object, this host's and the fleet's */
        int64_t session;        /* replay --session N; 0: not given */
        const char *pos[2];
        size_t npos;
};

/* Parse and validate a verb's arguments (argv[0] is the verb). Options may
 * come before or after positional arguments. Returns 0, 1 when -h was given
 * (usage printed on ctx->out), or CMD_E_USAGE (reason printed on ctx->err).
 * -s SOCKET here overrides ctx->socket. */
int jitctl_parse_args(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv,
                      struct jitctl_args *ret);
/* A grant ID: decimal digits only, 1..INT64_MAX. -EINVAL or -ERANGE. */
int jitctl_parse_id(const char *s, int64_t *ret);
/* A grant as the verbs take it: "12" is grant 12 of this host (*ret_id 12,
 * *ret_fleet_id 0), "F12" (or "f12") fleet grant 12 (*ret_id 0,
 * *ret_fleet_id 12). Plain numbers mean what they mean without [fleet], so a
 * host-only grant (break-glass, the PAM prompt's request) is always
 * reachable by its id. -EINVAL or -ERANGE. */
int jitctl_parse_grant_ref(const char *s, int64_t *ret_id, int64_t *ret_fleet_id);

struct proto_msg;
/* One request, one reply of the expected type; failures said on ctx->err
 * and returned as CMD_E_*. */
int jitctl_call(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct proto_msg *rep,
                int expected);
/* One request, a stream of replies of the expected type closed by END; cb
 * sees each one (a negative return stops). */
int jitctl_stream(const struct jitctl_ctx *ctx, const struct proto_msg *req, int expected,
                  int (*cb)(const struct proto_msg *m, void *userdata), void *userdata);
/* A stream of grants into a fresh array (free it); ret_now is jitd's clock. */
struct jit_grant;
int jitctl_fetch_grants(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct jit_grant **ret,
                        size_t *ret_n, int64_t *ret_now);
/* The same, and the lines (ok {message}) after the grants, the fleet's part
 * of a listing, with each one's details (a fleet grant as JSON) or NULL
 * (free both with jitctl_lines_free; ret_details may be NULL). */
int jitctl_fetch_list(const struct jitctl_ctx *ctx, const struct proto_msg *req, struct jit_grant **ret,
                      size_t *ret_n, int64_t *ret_now, char ***ret_lines, char ***ret_details, size_t *ret_n_lines);
void jitctl_lines_free(char **lines, size_t n);
/* A document jitd sends in pieces (PF_DETAILS of OK messages, then END:
 * jitd/json_reply.h), joined; free it. */
int jitctl_fetch_document(const struct jitctl_ctx *ctx, const struct proto_msg *req, char **ret);
/* "jitctl: ..." on ctx->err, control characters made visible. */
void jitctl_say(const struct jitctl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A grant reply decoded (said when it cannot be: CMD_E_FAILED). */
int jitctl_decode_grant(const struct jitctl_ctx *ctx, const struct proto_msg *rep, struct jit_grant *g);
/* jitd's clock when the reply carries it: remaining time is about jitd's
 * deadlines, not this terminal's clock. */
int64_t jitctl_reply_now(const struct proto_msg *rep);
/* A transport failure said, as an exit code (talk.c). */
int jitctl_report_transport(const struct jitctl_ctx *ctx, int r);
/* 0 when rep is of the expected type; jitd's error, or a confused reply, said. */
int jitctl_check_reply(const struct jitctl_ctx *ctx, const struct proto_msg *rep, enum proto_type expected);

int cmd_request(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_list(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_show(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_approve(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_deny(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_cancel(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_release(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_revoke(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_extend(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_break_glass(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_check(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_status(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_audit(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_review(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_reload(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_report(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_doctor(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_ssh_session(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
int cmd_replay(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
/* show: the grant's recordings, as lines after the grant (o NULL) or as a
 * "recordings" array added to o (--json). Nothing when jitd has none. */
struct json_object;
void jitctl_show_recordings(const struct jitctl_ctx *ctx, int64_t id, struct json_object *o);
int cmd_fleet(struct jitctl_ctx *ctx, const struct cmd_verb *v, int argc, char **argv);
/* --since: a duration ago ("7d") or a local date ("2026-11-01"). */
int jitctl_parse_since(const char *s, int64_t now, int64_t *ret);

#endif
