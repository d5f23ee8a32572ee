/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "decide.h"
#include "gating.h"
#include "proto.h"
#include "util.h"

#define WHY(o, ...) snprintf((o)->why, sizeof((o)->why), __VA_ARGS__)
#define LINE(o, ...) snprintf((o)->line, sizeof((o)->line), __VA_ARGS__)

/* The request and its reply are 8 KiB each: kept off the stack because the
 * host process may call PAM from a thread with a small one. */
struct exchange {
        struct proto_msg req;
        struct proto_msg rep;
};

static uint64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static const char *err_text(int err, char *buf, size_t size)
{
        /* GNU strerror_r: thread-safe, may return a static string instead of buf. */
        return strerror_r(err, buf, size);
}

/* Names go into the log; one that could forge or break a log line is not printed. */
static const char *printable(const char *s)
{
        return valid_text(s, 64) ? s : "(unprintable)";
}

const char *decide_subject(enum decide_phase phase, const struct decide_items *it)
{
        bool session = phase == DECIDE_SESSION_OPEN || phase == DECIDE_SESSION_CLOSE;

        if (session && gating_is_sudo_service(it->service) && it->ruser && *it->ruser)
                return it->ruser;
        return it->user;
}

const char *decide_result_name(enum decide_result r)
{
        static const char *const names[] = {
                [DECIDE_ALLOW] = "allow",
                [DECIDE_DENY] = "deny",
                [DECIDE_IGNORE] = "ignore",
                [DECIDE_NO_USER] = "no-user",
                [DECIDE_BAD_INPUT] = "bad-input",
                [DECIDE_FAIL] = "fail",
        };

        return (unsigned) r < ELEMENTSOF(names) && names[r] ? names[r] : "?";
}

static enum proto_type request_type(enum decide_phase phase)
{
        switch (phase) {
        case DECIDE_SESSION_OPEN:
                return PROTO_REQ_SESSION_OPEN;
        case DECIDE_SESSION_CLOSE:
                return PROTO_REQ_SESSION_CLOSE;
        case DECIDE_AUTH:
        case DECIDE_ACCOUNT:
        default:
                return PROTO_REQ_CHECK;
        }
}

/* The helpers below write their line for the log into a caller's buffer:
 * both decide_outcome and request_outcome carry one. */
struct why {
        char *buf;
        size_t size;
};

#define WHY_OF(o) ((struct why) { (o)->why, sizeof((o)->why) })
#define SAY(w, ...) snprintf((w).buf, (w).size, __VA_ARGS__)

static int add_field(struct proto_msg *m, enum proto_field f, const char *item, const char *value, struct why w)
{
        int r = proto_set_str(m, f, value);

        if (r == -E2BIG)
                SAY(w, "%s is too long to send to jitd", item);
        else if (r < 0)
                SAY(w, "%s contains characters that cannot be sent to jitd", item);
        return r;
}

/* tty and rhost: sent when set, in every request that carries them. */
static int add_optional_items(struct proto_msg *m, const struct decide_items *it, struct why w)
{
        int r = 0;

        if (it->tty && *it->tty)
                r = add_field(m, PF_TTY, "PAM_TTY", it->tty, w);
        if (r >= 0 && it->rhost && *it->rhost)
                r = add_field(m, PF_RHOST, "PAM_RHOST", it->rhost, w);
        return r;
}

static int build_request(enum decide_phase phase, const struct decide_items *it, const char *subject,
                         struct proto_msg *m, struct decide_outcome *out)
{
        enum proto_type type = request_type(phase);
        int r;

        proto_init(m, type);
        r = add_field(m, PF_USER, "the user name", subject, WHY_OF(out));
        if (r >= 0)
                r = add_field(m, PF_SERVICE, "PAM_SERVICE", it->service, WHY_OF(out));
        /* session-close names the session session-open registered; jitd
         * checks it is this process's and this user's. */
        if (type == PROTO_REQ_SESSION_CLOSE) {
                if (r >= 0 && it->session_id)
                        r = proto_set_u64(m, PF_ID, it->session_id);
                return r;
        }
        if (type == PROTO_REQ_SESSION_OPEN) {
                /* The account decision this session rests on. */
                if (r >= 0 && it->token && *it->token)
                        r = add_field(m, PF_TOKEN, "the session token", it->token, WHY_OF(out));
                /* sudo: the user the command runs as decides which grant's
                 * rule covers it. */
                if (r >= 0 && gating_is_sudo_service(it->service) && subject != it->user && it->user && *it->user)
                        r = add_field(m, PF_TARGET, "the target user", it->user, WHY_OF(out));
        }
        if (r >= 0)
                r = add_optional_items(m, it, WHY_OF(out));
        return r;
}

static void describe_call_error(int r, const char *path, int timeout_ms, struct why w)
{
        char buf[128];

        switch (-r) {
        case ENOENT:
        case ECONNREFUSED:
        case EACCES:
        case ENOTSOCK:
        case ENOTDIR:
        case ENAMETOOLONG:
        case EPROTOTYPE:
                SAY(w, "jitd unreachable at %s: %s", path, err_text(-r, buf, sizeof(buf)));
                break;
        case ETIMEDOUT:
                SAY(w, "jitd at %s did not answer within %d ms", path, timeout_ms);
                break;
        case EPERM:
                SAY(w, "the server at %s is not root, so it is not jitd; nothing was sent", path);
                break;
        case ECONNRESET:
                SAY(w, "jitd at %s closed the connection without a reply", path);
                break;
        case EBADMSG:
                SAY(w, "garbled reply from jitd at %s", path);
                break;
        case EPROTO:
                SAY(w, "reply from %s is not a jitd protocol version %d message", path, PROTO_VERSION);
                break;
        default:
                SAY(w, "talking to jitd at %s failed: %s", path, err_text(-r, buf, sizeof(buf)));
                break;
        }
}

/* jitd's text for a person's terminal, made harmless there: it may carry
 * words from a ticket system or another user (a reason), and a terminal
 * obeys escape sequences. 0, or -ENOMEM / -ENAMETOOLONG (then nothing is
 * shown). */
static int screen_text(const char *msg, char *buf, size_t size)
{
        _cleanup_free_ char *esc = NULL;
        int r = text_escape(msg, 0, &esc);

        return r < 0 ? r : strcpy_checked(buf, size, esc);
}

static void copy_message(const struct proto_msg *rep, struct decide_outcome *out)
{
        const char *msg = proto_get_str(rep, PF_MESSAGE);

        if (msg && *msg && screen_text(msg, out->message, sizeof(out->message)) == 0)
                out->has_message = true;
}

/* The host is shown in the ticket prompt: only a plain host name is taken. */
static void copy_host(const struct proto_msg *rep, struct decide_outcome *out)
{
        const char *host = proto_get_str(rep, PF_HOST);

        if (host && valid_host_name(host))
                (void) strcpy_checked(out->host, sizeof(out->host), host);
}

static void describe_error_reply(const struct proto_msg *rep, const char *request, struct why w)
{
        const char *msg = proto_get_str(rep, PF_MESSAGE);
        uint64_t e = 0;
        char buf[128];

        if (!proto_get_u64(rep, PF_ERRNO, &e) || e == 0 || e > 4095)
                SAY(w, "jitd refused the %s request: %s (no error code)", request,
                    msg && *msg ? msg : "no reason given");
        else
                SAY(w, "jitd refused the %s request: %s (%s)", request,
                    msg && *msg ? msg : "no reason given", err_text((int) e, buf, sizeof(buf)));
}

static void interpret_check(const struct proto_msg *rep, struct decide_outcome *out)
{
        uint64_t d = 0;

        switch (rep->type) {
        case PROTO_REP_DECISION:
                if (!proto_get_u64(rep, PF_DECISION, &d)) {
                        out->result = DECIDE_FAIL;
                        WHY(out, "jitd's decision reply carries no decision");
                        return;
                }
                out->decision = d;
                copy_message(rep, out);
                copy_host(rep, out);
                if (d == PROTO_DECISION_ALLOW) {
                        const char *token = proto_get_str(rep, PF_TOKEN);

                        out->result = DECIDE_ALLOW;
                        /* Kept for the session phase; only hex is taken. */
                        if (token && strlen(token) <= DECIDE_TOKEN_MAX &&
                            strspn(token, "0123456789abcdef") == strlen(token))
                                (void) strcpy_checked(out->token, sizeof(out->token), token);
                } else if (d == PROTO_DECISION_DENY)
                        out->result = DECIDE_DENY;
                else if (d == PROTO_DECISION_IGNORE)
                        out->result = DECIDE_IGNORE;
                else {
                        out->result = DECIDE_FAIL;
                        WHY(out, "jitd answered with unknown decision %llu", (unsigned long long) d);
                }
                return;
        case PROTO_REP_ERROR:
                out->result = DECIDE_FAIL;
                describe_error_reply(rep, "check", WHY_OF(out));
                return;
        default:
                out->result = DECIDE_FAIL;
                WHY(out, "jitd answered the check request with an unexpected '%s' message",
                    proto_type_name(rep->type) ? proto_type_name(rep->type) : "?");
                return;
        }
}

/* session-open: registered (ALLOW), not gated (IGNORE: jitd said so with a
 * decision), refused (DENY: jitd said no) or anything else (FAIL): only the
 * first two let the session run. session-close: closed, or nothing to close
 * (IGNORE). */
static void interpret_session(const struct proto_msg *rep, const char *request, bool open,
                              struct decide_outcome *out)
{
        const char *msg = proto_get_str(rep, PF_MESSAGE);
        uint64_t e = 0, d = 0;

        switch (rep->type) {
        case PROTO_REP_OK:
                out->result = DECIDE_ALLOW;
                (void) proto_get_u64(rep, PF_ID, &out->session_id);
                return;
        case PROTO_REP_DECISION:
                if (open && proto_get_u64(rep, PF_DECISION, &d) && d == PROTO_DECISION_IGNORE) {
                        out->result = DECIDE_IGNORE;
                        WHY(out, "%s", msg && *msg ? msg : "not covered by any role");
                        return;
                }
                out->result = DECIDE_FAIL;
                WHY(out, "jitd answered the %s request with an unexpected 'decision' message", request);
                return;
        case PROTO_REP_ERROR:
                (void) proto_get_u64(rep, PF_ERRNO, &e);
                if (!open && e == ENOENT) {
                        out->result = DECIDE_IGNORE;
                        WHY(out, "%s", msg && *msg ? msg : "nothing to close");
                        return;
                }
                out->result = open && e == EPERM ? DECIDE_DENY : DECIDE_FAIL;
                describe_error_reply(rep, request, WHY_OF(out));
                /* A refusal jitd words for the user ("jit: ..."): the one
                 * line they see instead of the generic one. */
                if (open && msg && strncmp(msg, "jit: ", 5) == 0)
                        copy_message(rep, out);
                return;
        default:
                out->result = DECIDE_FAIL;
                WHY(out, "jitd answered the %s request with an unexpected '%s' message", request,
                    proto_type_name(rep->type) ? proto_type_name(rep->type) : "?");
                return;
        }
}

void decide(enum decide_phase phase, const struct decide_items *it, const char *socket_path,
            int timeout_ms, struct decide_outcome *out)
{
        struct exchange *x = NULL;
        const char *subject;
        uint64_t start;
        int r;

        memset(out, 0, sizeof(*out));
        out->result = DECIDE_FAIL;

        subject = decide_subject(phase, it);
        out->subject = subject;
        if (!subject || !*subject) {
                out->result = DECIDE_NO_USER;
                WHY(out, "PAM_USER is not set");
                return;
        }
        if (!valid_user_name(subject)) {
                out->result = DECIDE_BAD_INPUT;
                WHY(out, "user name '%s' is not one jitd accepts", printable(subject));
                return;
        }
        if (!it->service || !*it->service) {
                out->result = DECIDE_BAD_INPUT;
                WHY(out, "PAM_SERVICE is not set");
                return;
        }

        x = calloc(1, sizeof(*x));
        if (!x) {
                WHY(out, "out of memory");
                return;
        }
        if (build_request(phase, it, subject, &x->req, out) < 0) {
                out->result = DECIDE_BAD_INPUT;
                goto out;
        }

        start = now_us();
        r = client_call(socket_path, &x->req, &x->rep, timeout_ms);
        out->elapsed_us = now_us() - start;
        if (r < 0) {
                out->result = DECIDE_FAIL;
                describe_call_error(r, socket_path, timeout_ms, WHY_OF(out));
                goto out;
        }

        if (x->req.type == PROTO_REQ_CHECK)
                interpret_check(&x->rep, out);
        else
                interpret_session(&x->rep, proto_type_name(x->req.type), x->req.type == PROTO_REQ_SESSION_OPEN, out);
out:
        free(x);
}

/* ---- request-for: the `prompt` flow ----------------------------------- */

const char *request_result_name(enum request_result r)
{
        static const char *const names[] = {
                [REQUEST_ACTIVE] = "active",
                [REQUEST_WAITING] = "waiting",
                [REQUEST_REFUSED] = "refused",
                [REQUEST_BAD_TICKET] = "bad-ticket",
                [REQUEST_BAD_INPUT] = "bad-input",
                [REQUEST_FAIL] = "fail",
        };

        return (unsigned) r < ELEMENTSOF(names) && names[r] ? names[r] : "?";
}

/* Local time, as the user reads a clock: "HH:MM", with the date in front when
 * it is not today (a grant ending tomorrow at 09:00 is not "until 09:00"). */
static void format_local_time(uint64_t t, char *buf, size_t size)
{
        time_t when = (time_t) t, now = time(NULL);
        struct tm tw, tn;

        buf[0] = '\0';
        if (t > (uint64_t) INT64_MAX || !localtime_r(&when, &tw) || !localtime_r(&now, &tn) ||
            strftime(buf, size, tw.tm_year == tn.tm_year && tw.tm_yday == tn.tm_yday ? "%H:%M" : "%Y-%m-%d %H:%M",
                     &tw) == 0)
                snprintf(buf, size, "?");
}

/* jitd's line may already name the grant ("grant 5 for web is pending: ...");
 * then it is shown as it is rather than after a second "grant 5 is ...". */
static bool names_grant(const char *msg, uint64_t id)
{
        char prefix[32];

        snprintf(prefix, sizeof(prefix), "grant %llu ", (unsigned long long) id);
        return strncmp(msg, prefix, strlen(prefix)) == 0;
}

static void interpret_grant(const struct proto_msg *rep, const char *ticket_sent, struct request_outcome *out)
{
        const char *state = proto_get_str(rep, PF_STATE);
        const char *role = proto_get_str(rep, PF_ROLE);
        const char *ticket = proto_get_str(rep, PF_TICKET);
        const char *msg = proto_get_str(rep, PF_MESSAGE);
        unsigned long long id;
        uint64_t t = 0;
        char when[32], shown[1025];

        if (!proto_get_u64(rep, PF_ID, &out->id) || out->id == 0 || !state || !*state ||
            !valid_text(state, 16)) {
                out->result = REQUEST_FAIL;
                out->id = 0;
                WHY(out, "jitd's grant reply to request-for carries no grant id or state");
                return;
        }
        id = (unsigned long long) out->id;
        if (role && !valid_role_name(role))
                role = NULL;
        if (!ticket || !valid_ticket(ticket) || !*ticket)
                ticket = ticket_sent;
        if (msg && (!*msg || screen_text(msg, shown, sizeof(shown)) < 0))
                msg = NULL;
        else if (msg)
                msg = shown;

        if (strcmp(state, "active") == 0) {
                out->result = REQUEST_ACTIVE;
                if (proto_get_u64(rep, PF_EXPIRES_AT, &t))
                        format_local_time(t, when, sizeof(when));
                LINE(out, "pam_jit: grant %llu%s%s is active%s%s (ticket %s)", id, role ? " for " : "",
                     role ? role : "", t ? " until " : "", t ? when : "", ticket);
                return;
        }

        out->result = strcmp(state, "pending") == 0 || strcmp(state, "scheduled") == 0 ?
                      REQUEST_WAITING : REQUEST_REFUSED;
        WHY(out, "grant %llu is %s", id, state);
        if (msg && names_grant(msg, out->id))
                LINE(out, "pam_jit: %s", msg);
        else if (msg)
                LINE(out, "pam_jit: grant %llu is %s: %s", id, state, msg);
        else if (strcmp(state, "scheduled") == 0 && proto_get_u64(rep, PF_STARTS_AT, &t)) {
                format_local_time(t, when, sizeof(when));
                LINE(out, "pam_jit: grant %llu is scheduled to start at %s", id, when);
        } else if (strcmp(state, "pending") == 0)
                LINE(out, "pam_jit: grant %llu is pending; follow it with 'jitctl show %llu'", id, id);
        else
                LINE(out, "pam_jit: grant %llu is %s", id, state);
}

static void interpret_request_for(const struct proto_msg *rep, const char *ticket_sent, struct request_outcome *out)
{
        const char *msg;
        uint64_t e = 0;
        char buf[128];

        switch (rep->type) {
        case PROTO_REP_GRANT:
                interpret_grant(rep, ticket_sent, out);
                return;
        case PROTO_REP_ERROR:
                /* jitd's considered answer (not eligible, unknown ticket, ...),
                 * audited there: the user reads it, the log stays quiet. */
                out->result = REQUEST_REFUSED;
                describe_error_reply(rep, "request-for", WHY_OF(out));
                msg = proto_get_str(rep, PF_MESSAGE);
                if (msg && *msg)
                        LINE(out, "pam_jit: %s", msg);
                else if (proto_get_u64(rep, PF_ERRNO, &e) && e > 0 && e <= 4095)
                        LINE(out, "pam_jit: elevation request refused: %s", err_text((int) e, buf, sizeof(buf)));
                else
                        LINE(out, "pam_jit: elevation request refused");
                return;
        default:
                out->result = REQUEST_FAIL;
                WHY(out, "jitd answered the request-for request with an unexpected '%s' message",
                    proto_type_name(rep->type) ? proto_type_name(rep->type) : "?");
                return;
        }
}

static int build_request_for(const struct decide_items *it, const char *subject, const char *ticket,
                             const char *role, struct proto_msg *m, struct request_outcome *out)
{
        int r;

        proto_init(m, PROTO_REQ_REQUEST_FOR);
        r = add_field(m, PF_USER, "the user name", subject, WHY_OF(out));
        if (r >= 0)
                r = add_field(m, PF_SERVICE, "PAM_SERVICE", it->service, WHY_OF(out));
        if (r >= 0)
                r = add_field(m, PF_TICKET, "the ticket", ticket, WHY_OF(out));
        /* Without a role jitd picks the user's only role gating this service. */
        if (r >= 0 && role && *role)
                r = add_field(m, PF_ROLE, "the role", role, WHY_OF(out));
        if (r >= 0)
                r = add_optional_items(m, it, WHY_OF(out));
        return r;
}

void decide_request_for(const struct decide_items *it, const char *subject, const char *ticket, const char *role,
                        const char *socket_path, int timeout_ms, struct request_outcome *out)
{
        struct exchange *x = NULL;
        int64_t deadline, left;
        uint64_t start;
        int fd = -1, r;

        memset(out, 0, sizeof(*out));
        out->result = REQUEST_FAIL;

        /* What the user typed goes to jitd and on into a ticket system's URL:
         * anything but a plain ticket number stops here, before jitd. */
        if (!ticket || !*ticket || !valid_ticket(ticket)) {
                out->result = REQUEST_BAD_TICKET;
                LINE(out, "pam_jit: that is not a ticket number (a letter or digit, then letters, digits "
                     "or _.:/#-, at most %d characters); access denied", JIT_TICKET_MAX);
                WHY(out, "the answer to the ticket prompt is not a ticket number");
                return;
        }
        if (!subject || !valid_user_name(subject)) {
                out->result = REQUEST_BAD_INPUT;
                WHY(out, "user name '%s' is not one jitd accepts", subject ? printable(subject) : "(null)");
                return;
        }
        if (!it->service || !*it->service) {
                out->result = REQUEST_BAD_INPUT;
                WHY(out, "PAM_SERVICE is not set");
                return;
        }

        x = calloc(1, sizeof(*x));
        if (!x) {
                WHY(out, "out of memory");
                return;
        }
        if (build_request_for(it, subject, ticket, role, &x->req, out) < 0) {
                out->result = REQUEST_BAD_INPUT;
                goto out;
        }

        /* A fresh budget, not what the check left over: the user's typing
         * time is not jitd's. */
        start = now_us();
        deadline = now_monotonic_ms() + timeout_ms;
        r = client_connect(socket_path, deadline, &fd);
        if (r >= 0) {
                /* Whatever connecting took is no longer jitd's to spend;
                 * jitd keeps its own margin to get the reply back. */
                left = deadline - now_monotonic_ms();
                r = left > 0 ? proto_set_u64(&x->req, PF_TIMEOUT, (uint64_t) left) : -ETIMEDOUT;
        }
        if (r >= 0)
                r = client_send(fd, &x->req, deadline);
        if (r >= 0)
                r = client_recv(fd, &x->rep, deadline);
        if (fd >= 0)
                close(fd);
        out->elapsed_us = now_us() - start;
        if (r < 0) {
                out->result = REQUEST_FAIL;
                describe_call_error(r, socket_path, timeout_ms, WHY_OF(out));
                goto out;
        }
        interpret_request_for(&x->rep, ticket, out);
out:
        free(x);
}
