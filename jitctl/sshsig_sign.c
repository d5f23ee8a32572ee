/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "approval_text.h"
#include "sshsig.h"
#include "sshsig_sign.h"
#include "util.h"

extern char **environ;

int sshsig_sign(const char *key, bool agent, const char *text, char **ret_armored)
{
        char *argv[] = { (char *) "ssh-keygen", (char *) "-Y", (char *) "sign", (char *) "-n",
                         (char *) JIT_SSHSIG_NAMESPACE, (char *) "-f", (char *) key,
                         agent ? (char *) "-U" : NULL, NULL };
        struct sshsig_run run = SSHSIG_RUN_INIT;
        char *armored;
        size_t n;
        int in, r;

        if (!key || key[0] == '\0' || !text || !ret_armored)
                return -EINVAL;
        n = strnlen(text, SSHSIG_TEXT_MAX + 1);
        if (n > SSHSIG_TEXT_MAX)
                return -EINVAL;
        r = sshsig_memfd("text", text, n, &in);
        if (r < 0)
                return r;
        /* The approver's own environment (SSH_AUTH_SOCK, SSH_ASKPASS,
         * SSH_SK_PROVIDER), the approver's terminal and session: ssh-keygen
         * runs as them, for them, and may have to ask them something. */
        r = sshsig_run_start(&run, argv, environ, in, NULL, 0, SSHSIG_RUN_KEEP_STDERR);
        close(in);
        if (r < 0)
                return r;
        r = sshsig_run_wait(&run, SSHSIG_SIGN_TIMEOUT_MS);
        if (r >= 0) {
                if (run.timed_out)
                        r = -ETIMEDOUT;
                else if (run.overflow)
                        r = -EMSGSIZE;
                else if (run.code != CLD_EXITED)
                        r = -EIO;
                else if (run.status != 0)
                        r = -EPERM;
                else if (sshsig_armored_check(run.buf[0]) < 0)
                        r = -EBADMSG;
        }
        if (r < 0) {
                sshsig_run_done(&run);
                return r;
        }
        armored = strdup(run.buf[0]);
        sshsig_run_done(&run);
        if (!armored)
                return -ENOMEM;
        *ret_armored = armored;
        return 0;
}
