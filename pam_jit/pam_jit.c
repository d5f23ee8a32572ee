/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_jit: the PAM entry points. Each one reads its options, hands the PAM
 * items to decide() (decide.c asks jitd), and turns the outcome into a PAM
 * code, at most one syslog line and at most one line for the user. With
 * the `prompt` option, a denied auth first asks for a ticket and has jitd
 * request a grant with it (decide_request_for); the one line then tells how
 * that went.
 *
 * Fail closed: in auth and account, anything but a clear answer from jitd is
 * PAM_PERM_DENIED. The account decision and the session are one transaction
 * of trust: an allow carries a token, kept with pam_set_data and shown at
 * open_session; a session jitd cannot register under an active grant is
 * refused with PAM_PERM_DENIED (sudo treats PAM_SESSION_ERR as harmless and
 * would run the command anyway), so the stack's session line must be
 * `required`.
 *
 * pam_syslog already prefixes "pam_jit(SERVICE:PHASE): ", so the lines here
 * do not repeat the module name; the lines for the user do, because they
 * appear amid sudo's or sshd's own output.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "decide.h"
#include "options.h"

#define MSG_UNAVAILABLE "pam_jit: elevation service unavailable; access denied"
#define MSG_SESSION     "pam_jit: this session cannot be registered under an active elevation; refused"

/* pam data: the account decision's token, and the session open registered. */
#define DATA_TOKEN   "pam_jit_token"
#define DATA_SESSION "pam_jit_session"
#define MSG_REFUSED     "pam_jit: access denied (see the system log)"

static void load_options(pam_handle_t *pamh, int argc, const char **argv, struct pam_jit_options *o)
{
        options_init(o);
        for (int i = 0; i < argc; i++) {
                char why[256];

                if (!argv[i])
                        continue;
                if (options_parse_arg(o, argv[i], why, sizeof(why)) < 0)
                        pam_syslog(pamh, LOG_ERR, "%s; ignored", why);
        }
}

static const char *item_str(pam_handle_t *pamh, int type)
{
        const void *v = NULL;

        if (pam_get_item(pamh, type, &v) != PAM_SUCCESS)
                return NULL;
        return v;
}

static void collect_items(pam_handle_t *pamh, struct decide_items *it)
{
        const void *token = NULL, *session = NULL;

        /* pam_get_item, not pam_get_user: this module never prompts for a
         * user name; an unset PAM_USER is an error of the stack. */
        it->service = item_str(pamh, PAM_SERVICE);
        it->user = item_str(pamh, PAM_USER);
        it->ruser = item_str(pamh, PAM_RUSER);
        it->tty = item_str(pamh, PAM_TTY);
        it->rhost = item_str(pamh, PAM_RHOST);
        it->token = pam_get_data(pamh, DATA_TOKEN, &token) == PAM_SUCCESS ? token : NULL;
        it->session_id = pam_get_data(pamh, DATA_SESSION, &session) == PAM_SUCCESS && session ?
                         *(const uint64_t *) session : 0;
}

static void free_data(pam_handle_t *pamh, void *data, int error_status)
{
        (void) pamh;
        (void) error_status;
        free(data);
}

/* The token of an allow, for this handle's session phase. A handle that
 * asks twice keeps the newest. */
static void keep_token(pam_handle_t *pamh, const struct decide_outcome *out)
{
        char *copy;

        if (out->result != DECIDE_ALLOW || !out->token[0] || !(copy = strdup(out->token)))
                return;
        if (pam_set_data(pamh, DATA_TOKEN, copy, free_data) != PAM_SUCCESS)
                free(copy);
}

static void run(pam_handle_t *pamh, enum decide_phase phase, int argc, const char **argv,
                struct pam_jit_options *o, struct decide_items *it, struct decide_outcome *out)
{
        static const char *const phase_names[] = {
                [DECIDE_AUTH] = "auth",
                [DECIDE_ACCOUNT] = "account",
                [DECIDE_SESSION_OPEN] = "session-open",
                [DECIDE_SESSION_CLOSE] = "session-close",
        };

        load_options(pamh, argc, argv, o);
        collect_items(pamh, it);
        decide(phase, it, o->socket, o->timeout_ms, out);
        if (o->debug)
                pam_syslog(pamh, LOG_DEBUG, "%s: subject=%s service=%s decision=%s elapsed=%lluus%s%s",
                           phase_names[phase], out->subject && out->result != DECIDE_BAD_INPUT ? out->subject : "-",
                           it->service ? it->service : "-", decide_result_name(out->result),
                           (unsigned long long) out->elapsed_us, out->why[0] ? " why=" : "", out->why);
}

/* The one line explaining a denial. With `prompt` it is shown only when the
 * prompt got no answer: after a ticket, the line is about the request. */
static void say_denied(pam_handle_t *pamh, const struct decide_outcome *out)
{
        if (out->has_message)
                (void) pam_error(pamh, "%s", out->message);
        else
                (void) pam_error(pamh, "pam_jit: no active elevation for %s; "
                                 "request one with 'jitctl request'", out->subject);
}

/* auth and account: the same question, the same answer (auth may then go on
 * to the prompt, see pam_sm_authenticate). */
static int check_result(pam_handle_t *pamh, const struct pam_jit_options *o, const struct decide_items *it,
                        const struct decide_outcome *out)
{
        /* sudo calls account (and auth) with PAM_SILENT every time, and sudo
         * users are the ones who most need to learn how to request: like
         * pam_nologin, the one line explaining a denial is shown regardless,
         * and so is every line of the prompt flow. */
        switch (out->result) {
        case DECIDE_ALLOW:
                keep_token(pamh, out);
                return PAM_SUCCESS;
        case DECIDE_DENY:
                say_denied(pamh, out);
                return PAM_PERM_DENIED;
        case DECIDE_IGNORE:
                if (!o->strict)
                        return PAM_IGNORE;
                /* The denial is this module's choice, not jitd's: leave a trace. */
                pam_syslog(pamh, LOG_NOTICE, "%s is not covered by any role for %s; denying (strict)",
                           out->subject, it->service);
                (void) pam_error(pamh, "%s", out->has_message ? out->message :
                                 "pam_jit: no elevation role covers you here; access denied");
                return PAM_PERM_DENIED;
        case DECIDE_NO_USER:
                pam_syslog(pamh, LOG_ERR, "%s; denying", out->why);
                return PAM_USER_UNKNOWN;
        case DECIDE_BAD_INPUT:
                pam_syslog(pamh, LOG_ERR, "%s; denying", out->why);
                (void) pam_error(pamh, "%s", MSG_REFUSED);
                return PAM_PERM_DENIED;
        case DECIDE_FAIL:
        default:
                pam_syslog(pamh, LOG_ERR, "%s; denying", out->why);
                (void) pam_error(pamh, "%s", MSG_UNAVAILABLE);
                return PAM_PERM_DENIED;
        }
}

/*
 * The `prompt` flow, after a DENY in auth: ask for a ticket, have jitd
 * request a grant with it in the subject's name, and say the outcome in one
 * line. Only an active grant lets the user through; anything else denies, and
 * failures of jitd fail closed as in the check.
 */
static int request_with_ticket(pam_handle_t *pamh, const struct pam_jit_options *o, const struct decide_items *it,
                               const struct decide_outcome *check)
{
        struct request_outcome rq;
        char *answer = NULL;
        int r;

        r = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &answer, "Ticket for elevation on %s: ",
                       check->host[0] ? check->host : "this host");
        if (r != PAM_SUCCESS || !answer || !*answer) {
                /* No answer (Enter, Ctrl-D, sudo -n, no terminal): the user
                 * did not ask for anything; the denial stands as it was. */
                if (o->debug)
                        pam_syslog(pamh, LOG_DEBUG, "ticket prompt: %s", r != PAM_SUCCESS ?
                                   pam_strerror(pamh, r) : "no answer");
                free(answer);
                say_denied(pamh, check);
                return PAM_PERM_DENIED;
        }

        decide_request_for(it, check->subject, answer, o->role, o->socket, o->timeout_ms, &rq);
        /* Users used to sudo's password prompt may type a password here: it
         * is neither logged nor left behind in freed memory. */
        explicit_bzero(answer, strlen(answer));
        free(answer);
        if (o->debug)
                pam_syslog(pamh, LOG_DEBUG, "request-for: subject=%s service=%s role=%s result=%s grant=%llu "
                           "elapsed=%lluus%s%s", check->subject, it->service, o->role[0] ? o->role : "-",
                           request_result_name(rq.result), (unsigned long long) rq.id,
                           (unsigned long long) rq.elapsed_us, rq.why[0] ? " why=" : "", rq.why);

        switch (rq.result) {
        case REQUEST_ACTIVE:
                (void) pam_info(pamh, "%s", rq.line);
                return PAM_SUCCESS;
        case REQUEST_WAITING:
        case REQUEST_REFUSED:
        case REQUEST_BAD_TICKET:
                /* jitd's considered answer, or the user's typing: audited by
                 * jitd or nobody's business; no log line. */
                (void) pam_error(pamh, "%s", rq.line);
                return PAM_PERM_DENIED;
        case REQUEST_BAD_INPUT:
                pam_syslog(pamh, LOG_ERR, "%s; denying", rq.why);
                (void) pam_error(pamh, "%s", MSG_REFUSED);
                return PAM_PERM_DENIED;
        case REQUEST_FAIL:
        default:
                pam_syslog(pamh, LOG_ERR, "%s; denying", rq.why);
                (void) pam_error(pamh, "%s", MSG_UNAVAILABLE);
                return PAM_PERM_DENIED;
        }
}

static int session_open(pam_handle_t *pamh, int argc, const char **argv)
{
        struct pam_jit_options o;
        struct decide_items it;
        struct decide_outcome out;
        uint64_t *id;

        run(pamh, DECIDE_SESSION_OPEN, argc, argv, &o, &it, &out);
        switch (out.result) {
        case DECIDE_ALLOW:
                id = malloc(sizeof(*id));
                if (id) {
                        *id = out.session_id;
                        if (pam_set_data(pamh, DATA_SESSION, id, free_data) != PAM_SUCCESS)
                                free(id);
                }
                return PAM_SUCCESS;
        case DECIDE_IGNORE:
                return PAM_IGNORE;
        case DECIDE_NO_USER:
                pam_syslog(pamh, LOG_ERR, "%s; session refused", out.why);
                return PAM_USER_UNKNOWN;
        case DECIDE_DENY:
        case DECIDE_BAD_INPUT:
        case DECIDE_FAIL:
        default:
                /* Not PAM_SESSION_ERR: sudo would run the command anyway. */
                pam_syslog(pamh, LOG_ERR, "%s; session refused", out.why);
                (void) pam_error(pamh, "%s", out.has_message ? out.message :
                                 out.result == DECIDE_FAIL ? MSG_UNAVAILABLE : MSG_SESSION);
                return PAM_PERM_DENIED;
        }
}

static int session_close(pam_handle_t *pamh, int argc, const char **argv)
{
        struct pam_jit_options o;
        struct decide_items it;
        struct decide_outcome out;

        run(pamh, DECIDE_SESSION_CLOSE, argc, argv, &o, &it, &out);
        switch (out.result) {
        case DECIDE_ALLOW:
                return PAM_SUCCESS;
        case DECIDE_IGNORE:
                return PAM_IGNORE;
        default:
                /* Bookkeeping: the grant's end tears down what a closed
                 * session left behind whatever happens here. */
                pam_syslog(pamh, LOG_ERR, "%s; session close not recorded", out.why);
                return PAM_SESSION_ERR;
        }
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        struct pam_jit_options o;
        struct decide_items it;
        struct decide_outcome out;

        (void) flags;   /* PAM_SILENT included: see check_result */
        run(pamh, DECIDE_AUTH, argc, argv, &o, &it, &out);
        /* Only a user a role covers is asked: one with no role at all
         * (IGNORE) is no business of this module, and a failure of jitd is
         * no moment to ask for anything. */
        if (out.result == DECIDE_DENY && o.prompt)
                return request_with_ticket(pamh, &o, &it, &out);
        return check_result(pamh, &o, &it, &out);
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        /* No credentials to set: the grant is enforced by sudoers and account. */
        (void) pamh;
        (void) flags;
        (void) argc;
        (void) argv;
        return PAM_IGNORE;
}

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        struct pam_jit_options o;
        struct decide_items it;
        struct decide_outcome out;

        /* Never prompts, `prompt` or not: account runs even with NOPASSWD
         * and for every gated service, where nobody may be there to answer. */
        (void) flags;
        run(pamh, DECIDE_ACCOUNT, argc, argv, &o, &it, &out);
        return check_result(pamh, &o, &it, &out);
}

int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        (void) flags;
        return session_open(pamh, argc, argv);
}

int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
        (void) flags;
        return session_close(pamh, argc, argv);
}
