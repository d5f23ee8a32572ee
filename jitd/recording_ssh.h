/* SPDX-License-Identifier: BSD-3-Clause */
/* ssh sessions recorded with tlog through a pipe to jitd (jitd/recording_ssh.c). */
#ifndef JITD_RECORDING_SSH_H
#define JITD_RECORDING_SSH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "jitd.h"

/* How long a recorded grant's ssh session may run before its recording
 * starts; then the grant is revoked. */
#define RECORDING_SSH_GRACE_MS 10000

/* `jitctl ssh-session` (pid peer, uid) asks: 0 with *ret_mode RECORD_NONE
 * when it is in no registered ssh session of a recorded grant (run the shell
 * as it is); 1 when the recording runs (pipe_fd taken over: tlog writes to
 * its other end, jitd appends what comes to the root-only file); <0 with why
 * when the session is recorded and the recording cannot be made (the caller
 * must not run the shell). pipe_fd is the caller's unless 1 is returned.
 * command: what the client asked to run (NULL: a login shell), audited with
 * the start ("recording-started"). */
int recording_ssh_start(struct jitd *d, pid_t peer, uid_t uid, int pipe_fd, const char *command,
                        enum record_mode *ret_mode, char *why, size_t why_size);
/* session-open of sshd under a recorded grant: its recording must start
 * within RECORDING_SSH_GRACE_MS. 0, or a negative errno when the session
 * cannot be watched (the caller refuses it). */
int recording_ssh_expect(struct jitd *d, int64_t grant_id, pid_t pid);
void recording_ssh_free_all(void);

#endif
