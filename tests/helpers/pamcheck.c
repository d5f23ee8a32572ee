/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pamcheck CONFDIR SERVICE USER [--ruser U] [--phase auth|account|open|close | --user U | --ruser U]...
 * Runs the real libpam stack from a private confdir (pam_start_confdir), so
 * tests exercise the built pam_jit.so without touching /etc/pam.d. Prints each
 * message the stack sends and one line per phase: "account: PAM_SUCCESS".
 * Exit status: 0 when every phase succeeded, 1 otherwise, 2 on usage error.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
        struct pam_response *r = calloc((size_t) n, sizeof(*r));

        (void) data;
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                printf("msg(%d): %s\n", msg[i]->msg_style, msg[i]->msg ? msg[i]->msg : "");
                if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON || msg[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
                        const char *answer = getenv("PAMCHECK_ANSWER");

                        r[i].resp = strdup(answer ? answer : "");
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

static const char *code_name(int r)
{
        switch (r) {
        case PAM_SUCCESS: return "PAM_SUCCESS";
        case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
        case PAM_IGNORE: return "PAM_IGNORE";
        case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
        case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
        case PAM_SESSION_ERR: return "PAM_SESSION_ERR";
        case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
        default: return "PAM_OTHER";
        }
}

int main(int argc, char **argv)
{
        struct pam_conv c = { conv, NULL };
        pam_handle_t *pamh = NULL;
        const char *ruser = NULL;
        int ok = 1, r, i = 4;

        if (argc < 4) {
                fprintf(stderr, "usage: pamcheck CONFDIR SERVICE USER [--ruser U] [--phase P]...\n");
                return 2;
        }
        if (argc > 5 && strcmp(argv[4], "--ruser") == 0) {
                ruser = argv[5];
                i = 6;
        }
        r = pam_start_confdir(argv[2], argv[3], &c, argv[1], &pamh);
        if (r != PAM_SUCCESS) {
                fprintf(stderr, "pam_start_confdir: %s\n", pam_strerror(NULL, r));
                return 2;
        }
        if (ruser)
                pam_set_item(pamh, PAM_RUSER, ruser);
        if (i >= argc) {
                r = pam_acct_mgmt(pamh, 0);
                printf("account: %s\n", code_name(r));
                ok = r == PAM_SUCCESS;
        }
        for (; i + 1 < argc; i += 2) {
                const char *phase = argv[i + 1];

                /* sudo's session phase names the target user: --user root
                 * between the account and the open phases, as sudo does. */
                if (strcmp(argv[i], "--user") == 0) {
                        pam_set_item(pamh, PAM_USER, phase);
                        continue;
                }
                if (strcmp(argv[i], "--ruser") == 0) {
                        pam_set_item(pamh, PAM_RUSER, phase);
                        continue;
                }
                if (strcmp(argv[i], "--phase") != 0) {
                        fprintf(stderr, "pamcheck: unexpected %s\n", argv[i]);
                        return 2;
                }
                if (strcmp(phase, "auth") == 0)
                        r = pam_authenticate(pamh, 0);
                else if (strcmp(phase, "account") == 0)
                        r = pam_acct_mgmt(pamh, 0);
                else if (strcmp(phase, "open") == 0)
                        r = pam_open_session(pamh, 0);
                else if (strcmp(phase, "close") == 0)
                        r = pam_close_session(pamh, 0);
                else {
                        fprintf(stderr, "pamcheck: unknown phase %s\n", phase);
                        return 2;
                }
                printf("%s: %s\n", phase, code_name(r));
                if (r != PAM_SUCCESS)
                        ok = 0;
        }
        pam_end(pamh, r);
        return ok ? 0 : 1;
}
