/* SPDX-License-Identifier: BSD-3-Clause */
/* The question pam_jit asks jitd, and what the answer means. No PAM here:
 * pam_jit.c collects the PAM items, calls decide(), and maps the result to a
 * PAM code, a syslog line and a message for the user. */
#ifndef PAM_JIT_DECIDE_H
#define PAM_JIT_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

enum decide_phase {
        DECIDE_AUTH,            /* PROTO_REQ_CHECK */
        DECIDE_ACCOUNT,         /* PROTO_REQ_CHECK */
        DECIDE_SESSION_OPEN,    /* PROTO_REQ_SESSION_OPEN */
        DECIDE_SESSION_CLOSE,   /* PROTO_REQ_SESSION_CLOSE */
};

enum decide_result {
        DECIDE_ALLOW,           /* check: active grant; session: registered */
        DECIDE_DENY,            /* check: a role covers the subject, no active grant */
        DECIDE_IGNORE,          /* check: no role covers the subject; session: nothing to register */
        DECIDE_NO_USER,         /* the subject item is unset or empty */
        DECIDE_BAD_INPUT,       /* a name or item jitd cannot be asked about; fail closed */
        DECIDE_FAIL,            /* jitd unreachable, timed out, refused, or answered nonsense */
};

/* The PAM items the decision depends on; any may be NULL. */
struct decide_items {
        const char *service;
        const char *user;
        const char *ruser;
        const char *tty;
        const char *rhost;
        const char *token;              /* session-open: the account decision's token (pam data) */
        uint64_t session_id;            /* session-close: what session-open answered (pam data) */
};

#define DECIDE_TOKEN_MAX 64

struct decide_outcome {
        enum decide_result result;
        const char *subject;            /* the user asked about (points into items), or NULL */
        uint64_t decision;              /* raw PF_DECISION of a check reply, 0 if none */
        uint64_t elapsed_us;            /* time spent talking to jitd */
        bool has_message;
        char message[1025];             /* jitd's line for the user (PF_MESSAGE) */
        char host[JIT_HOST_MAX + 1];    /* the host jitd decides for (PF_HOST of a check reply), or "" */
        char why[512];                  /* for the log: what went wrong (NO_USER, BAD_INPUT, FAIL),
                                         * or what jitd said when it answered IGNORE to a session */
        char token[DECIDE_TOKEN_MAX + 1]; /* check ALLOW: to be shown again at session-open ("" none) */
        uint64_t session_id;            /* session-open ALLOW: the registered session */
};

/* Who the question is about. In the session phase of sudo (service "sudo",
 * "sudo-i", ...) PAM_USER is the target user and PAM_RUSER the person who ran
 * sudo, so the subject is PAM_RUSER; everywhere else it is PAM_USER. */
const char *decide_subject(enum decide_phase phase, const struct decide_items *it);

/* Ask jitd at socket_path, waiting timeout_ms at most in total. Always fills
 * *out. */
void decide(enum decide_phase phase, const struct decide_items *it, const char *socket_path,
            int timeout_ms, struct decide_outcome *out);

/* "allow", "deny", ... for debug lines. */
const char *decide_result_name(enum decide_result r);

/* The `prompt` flow: after a DENY in the auth phase the user typed a ticket,
 * and jitd is asked to request a grant in the subject's name (request-for). */
enum request_result {
        REQUEST_ACTIVE,         /* the grant is active now */
        REQUEST_WAITING,        /* the grant is pending or scheduled */
        REQUEST_REFUSED,        /* jitd said no: a grant in another state, or an error reply */
        REQUEST_BAD_TICKET,     /* the answer is no ticket number; jitd was not asked */
        REQUEST_BAD_INPUT,      /* a PAM item cannot be sent; jitd was not asked */
        REQUEST_FAIL,           /* jitd unreachable, timed out, or answered nonsense */
};

struct request_outcome {
        enum request_result result;
        uint64_t id;                    /* the grant's id, 0 if none */
        uint64_t elapsed_us;            /* time spent talking to jitd */
        char line[1280];                /* the one line for the user: ACTIVE, WAITING, REFUSED, BAD_TICKET */
        char why[512];                  /* for the log: BAD_INPUT, FAIL; for debug: REFUSED */
};

/* Ask jitd at socket_path to request a grant for subject with ticket (and
 * role, unless NULL or ""), waiting timeout_ms at most, a budget of its own:
 * the time the user took to type is not jitd's. jitd is told how much of it
 * is left (PF_TIMEOUT) so that it answers "still pending" in time instead of
 * letting the module give up. Always fills *out. */
void decide_request_for(const struct decide_items *it, const char *subject, const char *ticket, const char *role,
                        const char *socket_path, int timeout_ms, struct request_outcome *out);

/* "active", "waiting", ... for debug lines. */
const char *request_result_name(enum request_result r);

#endif
