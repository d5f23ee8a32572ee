/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Attaching and killing sessions on jitd's event loop: nothing here waits.
 * An attach of a systemd scope waits for its start job on the bus; a kill
 * sends SIGKILL to every target at once and then looks every few milliseconds
 * whether all of them are verifiably gone, until a deadline. Callbacks always
 * run from the loop, never from inside the call that started the operation.
 */
#ifndef JITD_TEARDOWN_OPS_H
#define JITD_TEARDOWN_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "teardown.h"

struct sd_event;
struct teardown_op;

/* cb(userdata, 0) once pid is under handle (made by teardown_handle() for
 * these ids and pid), cb(userdata, <0) when that failed: -ESRCH the process
 * is gone (or its pid now names another process), others as they come. */
typedef void (*teardown_attach_fn)(void *userdata, int r);
int teardown_op_attach(struct teardown *t, struct sd_event *e, const char *handle, int64_t grant_id,
                       uint64_t session_id, pid_t pid, uint64_t pid_start, teardown_attach_fn cb, void *userdata,
                       struct teardown_op **ret);

struct teardown_target {
        const char *handle;             /* copied */
        pid_t leader;                   /* the session's leader, checked by pid and start time too */
        uint64_t leader_start;
};
/* results[i] for targets[i]: 0 verified gone; -EBUSY something was still
 * there at the deadline (kill again later); -EOPNOTSUPP the session is not
 * tracked (mode none), nothing could be killed or verified; others as they
 * come (-EINVAL: a malformed handle). */
typedef void (*teardown_kill_fn)(void *userdata, const int *results, size_t n);
int teardown_op_kill(struct teardown *t, struct sd_event *e, const struct teardown_target *targets, size_t n,
                     uint64_t wait_ms, teardown_kill_fn cb, void *userdata, struct teardown_op **ret);

/* Forget an operation: its callback is not called. Kills already sent stay sent. */
void teardown_op_cancel(struct teardown_op *op);

#endif
