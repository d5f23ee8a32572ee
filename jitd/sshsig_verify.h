/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Verifying an approver's SSH signature over an approval's canonical text
 * (common/approval_text.h) from jitd's loop, without blocking it:
 * ssh-keygen -Y verify runs as a child in a session of its own (common/sshsig.h
 * has how, and sshsig_verify_sync for the blocking variant), its output is
 * read by io sources, its exit seen through its pidfd, and it is killed
 * (SIGKILL, its whole process group) after SSHSIG_VERIFY_TIMEOUT_MS.
 *
 * Fail closed: the callback's r is 0 only when ssh-keygen exited 0 and said
 * "Good" for this principal in this namespace; -EBADMSG when it said no (a bad
 * signature, another key, principal or namespace, a key not listed);
 * any other negative errno when no answer could be had (-ETIMEDOUT,
 * -EMSGSIZE, -EPROTO, -EIO). Each of them is a deny.
 */
#ifndef JITD_SSHSIG_VERIFY_H
#define JITD_SSHSIG_VERIFY_H

#include "sshsig.h"

struct sd_event;
struct sshsig_job;

/* result: fingerprint and key_type when r is 0, detail otherwise. Both only
 * for the length of the call. */
typedef void (*sshsig_done_fn)(int r, const struct sshsig_result *result, void *userdata);

/*
 * Starts the verification of armored, a signature by principal over text,
 * against the allowed_signers file at that path (vetted and checked as
 * sshsig_signers_open says, once per call: a file changed by root is read
 * again by the next verification). Returns 0 with *ret set, and cb is called
 * exactly once from the loop, unless the job is cancelled first. Anything
 * decided before ssh-keygen would run (a bad argument: -EINVAL; not one armored
 * block, a principal the file does not list: -EBADMSG; a file not to be
 * trusted: -EPERM) is returned here, without a callback.
 */
int sshsig_verify_start(struct sd_event *e, const char *allowed_signers, const char *principal, const char *text,
                        const char *armored, sshsig_done_fn cb, void *userdata, struct sshsig_job **ret);

/*
 * Ends j: a verification still running is killed at once (and reaped by the
 * loop when it is gone) and its callback never comes. Call it for every job,
 * after its callback (from inside the callback too) or instead of waiting for
 * it; NULL is fine. Before the loop is freed: a job holds sources in it.
 */
void sshsig_job_cancel(struct sshsig_job *j);

#endif
