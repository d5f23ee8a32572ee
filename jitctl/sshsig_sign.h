/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An approver's signature over an approval's canonical text
 * (common/approval_text.h), made by OpenSSH's ssh-keygen -Y sign in the
 * pam-jit-approval namespace, as the approver, from jitctl.
 *
 * ssh-keygen talks to the approver itself: its stderr is jitctl's, and it
 * asks for a passphrase or a FIDO PIN on the terminal (/dev/tty), so a
 * passphrase never travels through jitctl. A FIDO key (sk-ssh-ed25519@openssh.com,
 * sk-ecdsa-sha2-nistp256@openssh.com) goes through the same call: ssh-keygen
 * prints "Confirm user presence for key ..." and waits for the touch; jitctl
 * adds nothing. Without a terminal, use the agent.
 */
#ifndef JITCTL_SSHSIG_SIGN_H
#define JITCTL_SSHSIG_SIGN_H

#include <stdbool.h>

/* How long a signature may take: a passphrase typed, a security key touched. */
#define SSHSIG_SIGN_TIMEOUT_MS 120000

/*
 * Runs ssh-keygen -Y sign -n pam-jit-approval -f KEY [-U] with text on
 * stdin. key is the private key's file, or with agent its public key's file
 * (the private half in ssh-agent, reached through SSH_AUTH_SOCK: ssh-keygen
 * -U refuses to fall back to a file). On success *ret_armored is the armored
 * signature, checked to be exactly one "-----BEGIN SSH SIGNATURE-----" block.
 * -EINVAL for a bad argument, -EBADMSG when ssh-keygen wrote something else,
 * -ETIMEDOUT after SSHSIG_SIGN_TIMEOUT_MS, -EMSGSIZE past SSHSIG_OUTPUT_MAX,
 * -EPERM when it failed (it said why on stderr), another negative errno when
 * it could not be run.
 */
int sshsig_sign(const char *key, bool agent, const char *text, char **ret_armored);

#endif
