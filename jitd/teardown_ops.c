/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "teardown_internal.h"
#include "teardown_ops.h"
#include "util.h"

/* How often a kill looks again. cgroup.events would tell us with POLLPRI, but
 * the kernel sends at most one notification per 10 ms; looking every few ms
 * ends most kills sooner, and only while a kill is in flight. */
#define CHECK_EVERY_USEC (3 * 1000)

struct teardown_op {
        struct teardown *t;
        sd_event_source *source;        /* the deferred attach answer, or the kill's check timer */
        /* attach */
        struct systemd_attach *unit;
        teardown_attach_fn attach_cb;
        int attach_result;
        /* kill */
        size_t n;
        struct teardown_kill **kills;   /* NULL once settled */
        int *results;
        uint64_t deadline_usec;         /* CLOCK_MONOTONIC */
        teardown_kill_fn kill_cb;
        void *userdata;
};

void teardown_op_cancel(struct teardown_op *op)
{
        if (!op)
                return;
        systemd_attach_cancel(op->unit);
        sd_event_source_disable_unref(op->source);
        for (size_t i = 0; op->kills && i < op->n; i++)
                teardown_kill_free(op->kills[i]);
        free(op->kills);
        free(op->results);
        free(op);
}

/* ---- attach ----------------------------------------------------------- */

static void attach_done(struct teardown_op *op, int r)
{
        teardown_attach_fn cb = op->attach_cb;
        void *userdata = op->userdata;

        op->unit = NULL;        /* it freed itself before calling us */
        teardown_op_cancel(op);
        cb(userdata, r);
}

static void on_unit_attached(void *userdata, int r)
{
        attach_done(userdata, r);
}

static int on_attach_deferred(sd_event_source *s, void *userdata)
{
        struct teardown_op *op = userdata;

        (void) s;
        attach_done(op, op->attach_result);
        return 0;
}

/* The handle was decided before the session was recorded; attach must make
 * exactly that one, for exactly that process. */
static int attach_now(struct teardown *t, const char *handle, int64_t grant_id, uint64_t session_id, pid_t pid,
                      uint64_t pid_start)
{
        _cleanup_free_ char *made = NULL;
        uint64_t start = 0;
        int r;

        if (!teardown_handle_tracked(handle))
                return 0;
        /* The process the session was recorded for, not a successor on its pid. */
        if (pid_start && (proc_start_time(pid, &start) < 0 || start != pid_start))
                return -ESRCH;
        /* logind's scope holds it already; nothing is moved. */
        if (strncmp(handle, LOGIND_PREFIX, strlen(LOGIND_PREFIX)) == 0)
                return logind_check_attached(pid, pid_start, handle);
        if (strncmp(handle, PID_PREFIX, strlen(PID_PREFIX)) == 0)
                r = pidfd_attach(pid, &made);
        else
                r = cgroup_attach(t, grant_id, session_id, pid, &made);
        if (r < 0)
                return r;
        return strcmp(made, handle) == 0 ? 0 : -ESRCH;
}

int teardown_op_attach(struct teardown *t, sd_event *e, const char *handle, int64_t grant_id, uint64_t session_id,
                       pid_t pid, uint64_t pid_start, teardown_attach_fn cb, void *userdata, struct teardown_op **ret)
{
        struct teardown_op *op;
        int r;

        if (!t || !e || !handle || !cb || !ret || pid <= 1)
                return -EINVAL;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (struct teardown_op) { .t = t, .attach_cb = cb, .userdata = userdata };
        if (teardown_handle_is_unit(handle)) {
                _cleanup_free_ char *description = NULL;

                if (asprintf(&description, "pam_jit session %" PRIu64 " of grant %" PRId64, session_id,
                             grant_id) < 0)
                        r = -ENOMEM;
                else
                        r = systemd_attach_start(t, handle, pid, description, on_unit_attached, op, &op->unit);
        } else {
                op->attach_result = attach_now(t, handle, grant_id, session_id, pid, pid_start);
                r = sd_event_add_defer(e, &op->source, on_attach_deferred, op);
        }
        if (r < 0) {
                teardown_op_cancel(op);
                return r;
        }
        *ret = op;
        return 0;
}

/* ---- kill ------------------------------------------------------------- */

static bool kill_settle(struct teardown_op *op, bool final)
{
        size_t left = 0;

        for (size_t i = 0; i < op->n; i++) {
                bool done = false;
                int r;

                if (!op->kills[i])
                        continue;
                r = teardown_kill_check(op->t, op->kills[i], &done);
                if (r < 0 || done || final) {
                        op->results[i] = r < 0 ? r : done ? 0 : -EBUSY;
                        teardown_kill_free(op->kills[i]);
                        op->kills[i] = NULL;
                        continue;
                }
                left++;
        }
        return left == 0;
}

static void kill_finish(struct teardown_op *op)
{
        teardown_kill_fn cb = op->kill_cb;
        void *userdata = op->userdata;
        int *results = TAKE_PTR(op->results);
        size_t n = op->n;

        teardown_op_cancel(op);
        cb(userdata, results, n);
        free(results);
}

static int on_kill_check(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct teardown_op *op = userdata;
        bool final = usec >= op->deadline_usec;

        if (kill_settle(op, final)) {
                kill_finish(op);
                return 0;
        }
        (void) sd_event_source_set_time(s, usec + CHECK_EVERY_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int teardown_op_kill(struct teardown *t, sd_event *e, const struct teardown_target *targets, size_t n,
                     uint64_t wait_ms, teardown_kill_fn cb, void *userdata, struct teardown_op **ret)
{
        struct teardown_op *op;
        uint64_t now;
        int r;

        if (!t || !e || (n && !targets) || !cb || !ret)
                return -EINVAL;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (struct teardown_op) { .t = t, .n = n, .kill_cb = cb, .userdata = userdata };
        op->kills = calloc(n ? n : 1, sizeof(*op->kills));
        op->results = calloc(n ? n : 1, sizeof(*op->results));
        if (!op->kills || !op->results) {
                teardown_op_cancel(op);
                return -ENOMEM;
        }
        /* Every target is sent its SIGKILL before any is looked at again, so
         * that the kernel kills them all in parallel. */
        for (size_t i = 0; i < n; i++) {
                r = teardown_kill_start(t, targets[i].handle, targets[i].leader, targets[i].leader_start,
                                        &op->kills[i]);
                if (r < 0)
                        op->results[i] = r;
        }
        r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r >= 0) {
                op->deadline_usec = now + wait_ms * 1000;
                /* The first look right away: most kills are over by then. */
                r = sd_event_add_time(e, &op->source, CLOCK_MONOTONIC, now, 1, on_kill_check, op);
        }
        if (r < 0) {
                teardown_op_cancel(op);
                return r;
        }
        *ret = op;
        return 0;
}
