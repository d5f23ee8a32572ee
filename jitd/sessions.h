/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions opened under grants: their registration, the end of the sessions
 * of grants that end, and the evidence that nothing of them is left.
 *
 * Registration is recorded first (the row, with the handle that will find the
 * session again), then the process is attached, then the session is
 * acknowledged: nothing is attached that the record does not know, and no
 * session runs that is not attached. A session whose grant ended while its
 * attach was in flight is killed at once.
 *
 * At a grant's end, each of its live sessions moves to another grant of the
 * same user that covers it and allows at least as much (coverage.h), or is
 * killed. A kill is verified: the session's rows are marked torn down, and
 * the grant's "torn-down" event says complete, only for what is verifiably
 * gone. What is left is recorded as left and killed again with backoff.
 */
#ifndef JITD_SESSIONS_H
#define JITD_SESSIONS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jitd.h"
#include "store.h"
#include "teardown.h"

struct sessions;

int sessions_new(struct jitd *d, struct sessions **ret);
void sessions_free(struct sessions *s);

/* Register x (grant_id, pid, pid_start, service, target, tty, rhost,
 * opened_at set by the caller): recorded now, attached later. <0: nothing was
 * recorded or attached (the caller refuses the session). 0: done(userdata, r,
 * x) runs later from the loop, r 0 when the session is attached (x->id and
 * x->handle set), r < 0 when it must not run. */
typedef void (*sessions_open_fn)(struct jitd *d, void *userdata, int r, const struct jit_session *x);
/* login_uid: the user's uid for a login (sshd, login), whose process may
 * already sit in a logind session scope that then stays its own;
 * TEARDOWN_NOT_LOGIN for sudo. */
int sessions_open(struct jitd *d, const struct jit_session *x, uid_t login_uid, sessions_open_fn done,
                  void *userdata);

/* The grants gs[0..n) ended and their rules were removed (rule_left[i]: that
 * failed; NULL: none failed): move or kill their sessions, verify, record.
 * Never blocks. */
void sessions_end_grants(struct jitd *d, const struct jit_grant *gs, const bool *rule_left, size_t n);

/* session-close: the session named by id, opened by this process (pid and
 * start time) for this user. -ENOENT when there is no such open session,
 * -EPERM when it is someone else's. On success *ret is the session. */
int sessions_close(struct jitd *d, int64_t id, pid_t pid, uint64_t pid_start, const char *user,
                   struct jit_session *ret);

/* Reconciliation: sessions of ended grants still live in the store are
 * killed again; open sessions of active grants whose processes are all gone
 * are closed. A grant that cannot be read is left alone. */
void sessions_reconcile(struct jitd *d);

/* warn_before: the end-of-grant notice on the terminals of g's sessions. */
void sessions_warn(struct jitd *d, const struct jit_grant *g);

/* Kills and attaches in flight (tests, status). */
size_t sessions_in_flight(const struct sessions *s);

#endif
