/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ending sessions: choosing the mechanism, handles, and a kill's two halves
 * over the backends (teardown_cgroup.c, teardown_pidfd.c, teardown_systemd.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "mountinfo.h"
#include "teardown_internal.h"
#include "util.h"

static const char *const mode_names[] = {
        [TEARDOWN_AUTO] = "auto",
        [TEARDOWN_SYSTEMD] = "systemd",
        [TEARDOWN_CGROUP] = "cgroup",
        [TEARDOWN_PIDFD] = "pidfd",
        [TEARDOWN_NONE] = "none",
};

int teardown_new(enum teardown_mode mode, const char *cgroup_root_override, struct teardown **ret)
{
        struct teardown *t;
        int r = 0;

        if (!ret || (unsigned) mode >= ELEMENTSOF(mode_names))
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        /* Found whatever the mode: cgroup handles from before a mode change,
         * and systemd's scopes, are killed through it. */
        if (cgroup_root_override) {
                t->cgroot = strdup(cgroup_root_override);
                if (!t->cgroot)
                        r = -ENOMEM;
        } else {
                r = mountinfo_cgroup2(&t->cgroot, NULL);
                if (r == -ENOENT)
                        r = 0;
        }
        /* Best effort: staying inside only matters if that session ends
         * while this jitd runs, and then the kill says so. */
        if (r >= 0 && t->cgroot)
                (void) cgroup_leave_sessions(t->cgroot);
        if (r >= 0)
                switch (mode) {
                case TEARDOWN_AUTO:
                        if (sd_booted() > 0)
                                t->mode = TEARDOWN_SYSTEMD;
                        else if (t->cgroot && cgroup_setup(t->cgroot) >= 0)
                                t->mode = TEARDOWN_CGROUP;
                        else if (pidfd_works())
                                t->mode = TEARDOWN_PIDFD;
                        else
                                r = -EOPNOTSUPP;
                        break;
                case TEARDOWN_SYSTEMD:
                        t->mode = mode;
                        if (sd_booted() <= 0)
                                r = -EOPNOTSUPP;
                        break;
                case TEARDOWN_CGROUP:
                        t->mode = mode;
                        if (!t->cgroot || cgroup_setup(t->cgroot) < 0)
                                r = -EOPNOTSUPP;
                        break;
                case TEARDOWN_PIDFD:
                        t->mode = mode;
                        if (!pidfd_works())
                                r = -EOPNOTSUPP;
                        break;
                case TEARDOWN_NONE:
                        t->mode = mode;
                        break;
                }
        if (r < 0) {
                teardown_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

void teardown_free(struct teardown *t)
{
        if (!t)
                return;
        sd_bus_slot_unref(t->job_slot);
        if (t->bus) {
                sd_bus_detach_event(t->bus);
                sd_bus_flush_close_unref(t->bus);
        }
        free(t->cgroot);
        free(t);
}

const char *teardown_mode_name(const struct teardown *t)
{
        return t ? mode_names[t->mode] : NULL;
}

const char *teardown_cgroup_root(const struct teardown *t)
{
        return t ? t->cgroot : NULL;
}

bool teardown_handle_tracked(const char *handle)
{
        return handle && handle[0];
}

bool teardown_handle_is_unit(const char *handle)
{
        return teardown_systemd_valid_unit(handle);
}

int teardown_handle(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, uint64_t pid_start,
                    uid_t login_uid, char *buf, size_t size)
{
        int n, r;

        if (!t || grant_id <= 0 || pid <= 1 || !buf || size < TEARDOWN_HANDLE_MAX)
                return -EINVAL;
        switch (t->mode) {
        case TEARDOWN_SYSTEMD:
                /* A login that logind tracks keeps logind's scope. */
                if (login_uid != TEARDOWN_NOT_LOGIN && t->cgroot && pid_start) {
                        r = logind_handle(pid, pid_start, login_uid, buf, size);
                        if (r != -ENOENT)
                                return r;
                }
                /* No bus, no scope: the leader's pid and start time still
                 * find the session (and its tree) at the end. */
                if (t->bus)
                        return teardown_systemd_unit_name(grant_id, session_id, buf, size);
                /* fall through */
        case TEARDOWN_PIDFD:
                if (!pid_start)
                        return -ESRCH;
                n = snprintf(buf, size, PID_PREFIX "%d:%" PRIu64, (int) pid, pid_start);
                break;
        case TEARDOWN_CGROUP:
                n = snprintf(buf, size, CGROUP_PREFIX "g%" PRId64 "-s%" PRIu64, grant_id, session_id);
                break;
        case TEARDOWN_NONE:
                n = snprintf(buf, size, "%s", "");
                break;
        case TEARDOWN_AUTO:
        default:
                return -EINVAL;
        }
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int teardown_attach(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, char **ret_handle)
{
        if (!t || grant_id <= 0 || pid <= 1 || pid == getpid() || !ret_handle)
                return -EINVAL;
        switch (t->mode) {
        case TEARDOWN_SYSTEMD:
        case TEARDOWN_PIDFD:
                return pidfd_attach(pid, ret_handle);
        case TEARDOWN_CGROUP:
                return cgroup_attach(t, grant_id, session_id, pid, ret_handle);
        case TEARDOWN_NONE:
                return td_strdup_to("", ret_handle);
        case TEARDOWN_AUTO:
                break;
        }
        return -EINVAL;
}

enum handle_kind { H_NONE, H_PID, H_CGROUP, H_UNIT, H_LOGIND, H_BAD };

static enum handle_kind handle_kind(const char *handle)
{
        if (!handle)
                return H_BAD;
        if (!handle[0])
                return H_NONE;
        if (strncmp(handle, PID_PREFIX, strlen(PID_PREFIX)) == 0)
                return H_PID;
        if (strncmp(handle, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) == 0)
                return H_CGROUP;
        if (teardown_systemd_valid_unit(handle))
                return H_UNIT;
        if (logind_parse_handle(handle, NULL) >= 0)
                return H_LOGIND;
        return H_BAD;
}

struct teardown_kill {
        char *dir;                      /* a cgroup to see empty: ours (removed then) or a scope's */
        bool own_dir;                   /* ours: remove it once empty */
        bool resend;                    /* killed process by process: again while it is not empty */
        struct pid_tree *tree;          /* a pid handle's tree */
        pid_t leader;                   /* the session's leader, checked once the handle is done */
        uint64_t leader_start;
        struct pid_tree *leader_tree;   /* the leader escaped: killed by pid */
};

void teardown_kill_free(struct teardown_kill *k)
{
        if (!k)
                return;
        free(k->dir);
        pid_tree_free(k->tree);
        pid_tree_free(k->leader_tree);
        free(k);
}

int teardown_kill_start(struct teardown *t, const char *handle, pid_t leader, uint64_t leader_start,
                        struct teardown_kill **ret)
{
        struct teardown_kill *k;
        enum handle_kind kind = handle_kind(handle);
        uint64_t start;
        pid_t pid;
        int r = 0;

        if (!t || !ret || kind == H_BAD)
                return -EINVAL;
        if (kind == H_NONE)
                return -EOPNOTSUPP;
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->leader = leader;
        k->leader_start = leader_start;
        switch (kind) {
        case H_CGROUP:
                /* No cgroup2 mount now: the cgroup died with the boot it was
                 * made in; the leader check below still looks. */
                if (t->cgroot) {
                        r = cgroup_kill_send(t, handle, &k->dir);
                        k->own_dir = true;
                }
                break;
        case H_UNIT:
                /* cgroup.kill on the scope's cgroup: no bus needed, so a dead
                 * bus cannot keep a session alive; systemd sees the scope
                 * empty and collects it. */
                if (t->cgroot) {
                        r = systemd_scope_dir(t, handle, &k->dir);
                        if (r >= 0)
                                r = cgroup_dir_kill(k->dir);
                        k->resend = r == 1;
                }
                break;
        case H_LOGIND:
                /* The same for logind's scope: the whole login session
                 * goes, and logind ends it once the scope is empty. */
                if (t->cgroot) {
                        r = logind_scope_dir(t, handle, &k->dir);
                        if (r >= 0)
                                r = cgroup_dir_kill(k->dir);
                        k->resend = r == 1;
                }
                break;
        case H_PID:
                r = pid_parse_handle(handle, &pid, &start);
                if (r >= 0)
                        r = pid_tree_kill_start(pid, start, &k->tree);
                break;
        default:
                break;
        }
        if (r < 0) {
                teardown_kill_free(k);
                return r;
        }
        *ret = k;
        return 0;
}

int teardown_kill_check(struct teardown *t, struct teardown_kill *k, bool *ret_done)
{
        bool done = true, alive = false;
        int r;

        if (!t || !k || !ret_done)
                return -EINVAL;
        if (k->dir) {
                r = k->own_dir ? cgroup_dir_check_gone(k->dir, &done) : cgroup_dir_populated(k->dir, &alive);
                if (r < 0)
                        return r;
                if (!k->own_dir)
                        done = !alive;
                /* Whatever was forked between the read of cgroup.procs and
                 * the kill of its parent. */
                if (!done && k->resend && (r = cgroup_dir_kill(k->dir)) < 0)
                        return r;
        }
        if (done && k->tree) {
                r = pid_tree_check(k->tree, &done);
                if (r < 0)
                        return r;
        }
        if (!done) {
                *ret_done = false;
                return 0;
        }
        /* The handle is empty. The leader is checked by itself: a root
         * process can leave a cgroup, and a session whose scope was never
         * made is known by its leader alone. */
        if (k->leader > 1 && k->leader_start && !k->leader_tree) {
                r = pid_alive(k->leader, k->leader_start, &alive);
                if (r < 0)
                        return r;
                if (!alive) {
                        *ret_done = true;
                        return 0;
                }
                r = pid_tree_kill_start(k->leader, k->leader_start, &k->leader_tree);
                if (r < 0)
                        return r;
        }
        if (k->leader_tree)
                return pid_tree_check(k->leader_tree, ret_done);
        *ret_done = true;
        return 0;
}

int teardown_kill(struct teardown *t, const char *handle)
{
        char name[64];

        if (!t || !handle)
                return -EINVAL;
        switch (handle_kind(handle)) {
        case H_NONE:
                return 0;
        case H_PID:
                return pidfd_kill(handle);
        case H_CGROUP:
                /* No cgroup2 mount now: the cgroup died with the boot it was made in. */
                if (!t->cgroot)
                        return cgroup_parse_handle(handle, name, sizeof(name)) < 0 ? -EINVAL : 0;
                return cgroup_kill(t, handle);
        case H_UNIT:
        case H_LOGIND: {
                struct teardown_kill *k = NULL;
                int64_t deadline = td_deadline_after(KILL_WAIT_MS);
                bool done = false;
                int r = teardown_kill_start(t, handle, 0, 0, &k);

                while (r >= 0 && (r = teardown_kill_check(t, k, &done)) >= 0 && !done) {
                        if (td_remaining_ms(deadline) == 0) {
                                r = -EBUSY;
                                break;
                        }
                        td_sleep_ms(3);
                }
                teardown_kill_free(k);
                return r < 0 ? r : 0;
        }
        default:
                return -EINVAL;
        }
}

int teardown_kill_many(struct teardown *t, const char *const *handles, size_t n, int *ret_errs)
{
        char **dirs;
        int64_t deadline;

        if (!t || (n && (!handles || !ret_errs)))
                return -EINVAL;
        dirs = calloc(n ? n : 1, sizeof(*dirs));
        if (!dirs)
                return -ENOMEM;
        /* Every cgroup is told to die before any is waited for, so that the
         * kernel kills them all in parallel and n sessions cost one wait.
         * Other kinds of handle are killed whole, one after the other. */
        for (size_t i = 0; i < n; i++)
                ret_errs[i] = !handles[i] ? -EINVAL :
                              t->mode != TEARDOWN_NONE && t->cgroot && handle_kind(handles[i]) == H_CGROUP ?
                              cgroup_kill_send(t, handles[i], &dirs[i]) : teardown_kill(t, handles[i]);
        deadline = td_deadline_after(KILL_WAIT_MS);
        for (size_t i = 0; i < n; i++)
                if (dirs[i]) {
                        ret_errs[i] = cgroup_kill_finish(t, dirs[i], deadline);
                        free(dirs[i]);
                }
        free(dirs);
        return 0;
}

int teardown_alive(struct teardown *t, const char *handle, bool *ret_alive)
{
        _cleanup_free_ char *dir = NULL;
        bool alive = false;
        char name[64];
        int r = 0;

        if (!t || !handle || !ret_alive)
                return -EINVAL;
        switch (handle_kind(handle)) {
        case H_NONE:
                break;
        case H_PID:
                r = pidfd_alive(handle, &alive);
                break;
        case H_CGROUP:
                if (t->cgroot)
                        r = cgroup_alive(t, handle, &alive);
                else
                        r = cgroup_parse_handle(handle, name, sizeof(name));
                break;
        case H_UNIT:
                if (t->cgroot && (r = systemd_scope_dir(t, handle, &dir)) >= 0)
                        r = cgroup_dir_populated(dir, &alive);
                break;
        case H_LOGIND:
                if (t->cgroot && (r = logind_scope_dir(t, handle, &dir)) >= 0)
                        r = cgroup_dir_populated(dir, &alive);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        *ret_alive = alive;
        return 0;
}

int teardown_attach_event(struct teardown *t, struct sd_event *e)
{
        if (!t || !e)
                return -EINVAL;
        t->event = e;
        if (t->mode != TEARDOWN_SYSTEMD)
                return 0;
        /* A bus that is down now is looked for again at the next session. */
        return systemd_bus_ensure(t);
}
