/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "decide.h"
#include "proto.h"
#include "util.h"

#define WHY(o, ...) snprintf((o)->why, sizeof((o)->why), __VA_ARGS__)

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

static bool is_sudo_service(const char *service)
{
        /* "sudo" and its variants: "sudo-i" for sudo -i, distribution-specific
         * names such as "sudoedit". */
        return service && strncmp(service, "sudo", 4) == 0;
}

const char *decide_subject(enum decide_phase phase, const struct decide_items *it)
{
        bool session = phase == DECIDE_SESSION_OPEN || phase == DECIDE_SESSION_CLOSE;

        if (session && is_sudo_service(it->service) && it->ruser && *it->ruser)
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

static int add_field(struct proto_msg *m, enum proto_field f, const char *item, const char *value,
                     struct decide_outcome *out)
{
        int r = proto_set_str(m, f, value);

        if (r == -E2BIG)
                WHY(out, "%s is too long to send to jitd", item);
        else if (r < 0)
                WHY(out, "%s contains characters that cannot be sent to jitd", item);
        return r;
}

static int build_request(enum decide_phase phase, const struct decide_items *it, const char *subject,
                         struct proto_msg *m, struct decide_outcome *out)
{
        enum proto_type type = request_type(phase);
        int r;

        proto_init(m, type);
        r = add_field(m, PF_USER, "the user name", subject, out);
        if (r >= 0)
                r = add_field(m, PF_SERVICE, "PAM_SERVICE", it->service, out);
        /* session-close carries only user and service: jitd finds the session
         * by the peer process and the user. */
        if (type == PROTO_REQ_SESSION_CLOSE)
                return r;
        if (r >= 0 && it->tty && *it->tty)
                r = add_field(m, PF_TTY, "PAM_TTY", it->tty, out);
        if (r >= 0 && it->rhost && *it->rhost)
                r = add_field(m, PF_RHOST, "PAM_RHOST", it->rhost, out);
        return r;
}

static void describe_call_error(int r, const char *path, int timeout_ms, struct decide_outcome *out)
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
                WHY(out, "jitd unreachable at %s: %s", path, err_text(-r, buf, sizeof(buf)));
                break;
        case ETIMEDOUT:
                WHY(out, "jitd at %s did not answer within %d ms", path, timeout_ms);
                break;
        case ECONNRESET:
                WHY(out, "jitd at %s closed the connection without a reply", path);
                break;
        case EBADMSG:
                WHY(out, "garbled reply from jitd at %s", path);
                break;
        case EPROTO:
                WHY(out, "reply from %s is not a jitd protocol version %d message", path, PROTO_VERSION);
                break;
        default:
                WHY(out, "talking to jitd at %s failed: %s", path, err_text(-r, buf, sizeof(buf)));
                break;
        }
}

static void copy_message(const struct proto_msg *rep, struct decide_outcome *out)
{
        const char *msg = proto_get_str(rep, PF_MESSAGE);

        if (msg && *msg && strcpy_checked(out->message, sizeof(out->message), msg) == 0)
                out->has_message = true;
}

static void describe_error_reply(const struct proto_msg *rep, const char *request, struct decide_outcome *out)
{
        const char *msg = proto_get_str(rep, PF_MESSAGE);
        uint64_t e = 0;
        char buf[128];

        if (!proto_get_u64(rep, PF_ERRNO, &e) || e == 0 || e > 4095)
                WHY(out, "jitd refused the %s request: %s (no error code)", request,
                    msg && *msg ? msg : "no reason given");
        else
                WHY(out, "jitd refused the %s request: %s (%s)", request,
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
                if (d == PROTO_DECISION_ALLOW)
                        out->result = DECIDE_ALLOW;
                else if (d == PROTO_DECISION_DENY)
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
                describe_error_reply(rep, "check", out);
                return;
        default:
                out->result = DECIDE_FAIL;
                WHY(out, "jitd answered the check request with an unexpected '%s' message",
                    proto_type_name(rep->type) ? proto_type_name(rep->type) : "?");
                return;
        }
}

static void interpret_session(const struct proto_msg *rep, const char *request, struct decide_outcome *out)
{
        uint64_t e = 0;

        switch (rep->type) {
        case PROTO_REP_OK:
                out->result = DECIDE_ALLOW;
                return;
        case PROTO_REP_ERROR:
                /* No active grant for this user, or a jitd that does not track
                 * sessions: nothing to register, and not a failure. */
                if (proto_get_u64(rep, PF_ERRNO, &e) && (e == ENOENT || e == EOPNOTSUPP || e == ENOSYS)) {
                        const char *msg = proto_get_str(rep, PF_MESSAGE);

                        out->result = DECIDE_IGNORE;
                        WHY(out, "%s", msg && *msg ? msg : "nothing to register");
                        return;
                }
                out->result = DECIDE_FAIL;
                describe_error_reply(rep, request, out);
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
                describe_call_error(r, socket_path, timeout_ms, out);
                goto out;
        }

        if (x->req.type == PROTO_REQ_CHECK)
                interpret_check(&x->rep, out);
        else
                interpret_session(&x->rep, proto_type_name(x->req.type), out);
out:
        free(x);
}
