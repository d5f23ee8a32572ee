/* SPDX-License-Identifier: BSD-3-Clause */
/* The seams between teardown's files: the handle, the backends and the
 * helpers they share. Not for the rest of jitd. */
#ifndef JITD_TEARDOWN_INTERNAL_H
#define JITD_TEARDOWN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "teardown.h"

struct teardown {
        enum teardown_mode mode;        /* resolved: never TEARDOWN_AUTO */
        char *cgroot;                   /* cgroup2 mount (or override); NULL: none found */
        struct sd_bus *bus;             /* systemd mode: the system bus on the loop; NULL while down */
        struct sd_event *event;         /* the loop the bus is attached to */
        struct sd_bus_slot *job_slot;   /* JobRemoved, for attaches that wait for their job */
        struct systemd_attach *attaching; /* attaches waiting for their start job */
        int64_t bus_retry_ms;           /* monotonic: no reconnect before then */
};

#define CGROUP_PREFIX "cgroup:/jit/"
#define PID_PREFIX    "pid:"
#define LOGIND_PREFIX "logind:"
/* systemd puts jitd's scopes here, below the cgroup2 mount. */
#define JIT_SLICE     "jit.slice"

/* How long a blocking kill waits for the processes to be gone. SIGKILL takes
 * microseconds unless a process sits in uninterruptible sleep (NFS, a hung
 * device); then the caller gets -EBUSY and tries again later. */
#define KILL_WAIT_MS    1000

int64_t td_deadline_after(int64_t ms);
int td_remaining_ms(int64_t deadline);
void td_sleep_ms(int ms);
int td_strdup_to(const char *s, char **ret);
int td_write_string(const char *path, const char *s);
bool td_parse_u64(const char *s, const char **end, uint64_t *ret);
/* The cgroup of pid, relative to the cgroup2 mount (its "0::" line);
 * -ESRCH when pid is gone, -ENAMETOOLONG when it does not fit. */
int td_proc_cgroup(pid_t pid, char *buf, size_t size);

/* cgroup2 (teardown_cgroup.c) */
int cgroup_setup(const char *root);
int cgroup_leave_sessions(const char *cgroot);
int cgroup_parse_handle(const char *handle, char *name, size_t size);
int cgroup_attach(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, char **ret);
int cgroup_kill(struct teardown *t, const char *handle);
int cgroup_alive(struct teardown *t, const char *handle, bool *ret);
/* The two halves of a kill: cgroup.kill written (*ret_dir NULL when the
 * cgroup was gone already), then waited for. */
int cgroup_kill_send(struct teardown *t, const char *handle, char **ret_dir);
int cgroup_kill_finish(struct teardown *t, const char *dir, int64_t deadline);
/* Non-blocking: is the cgroup at dir empty? Then it is removed (children
 * first) and *ret_done is true. A missing dir is done. */
int cgroup_dir_check_gone(const char *dir, bool *ret_done);
/* cgroup.kill on any cgroup directory (a systemd scope's). 0 when it is gone
 * or was killed so; 1 when the tree is read-only to jitd (under systemd,
 * ProtectControlGroups=) and every process it lists was sent SIGKILL one by
 * one instead: then a process forked meanwhile may be left, and the caller
 * calls again until the cgroup is empty. */
int cgroup_dir_kill(const char *dir);
int cgroup_dir_populated(const char *dir, bool *ret);

/* pidfd (teardown_pidfd.c) */
bool pidfd_works(void);
int pid_parse_handle(const char *handle, pid_t *ret_pid, uint64_t *ret_start);
int pidfd_attach(pid_t pid, char **ret);
int pidfd_kill(const char *handle);
int pidfd_alive(const char *handle, bool *ret);
/* pid's parent, as /proc says now. */
int proc_parent(pid_t pid, pid_t *ret);
/* Whether pid is still the process that started at start (not a zombie). */
int pid_alive(pid_t pid, uint64_t start, bool *ret);
/* The non-blocking halves of a pidfd kill: the tree found, stopped and sent
 * SIGKILL; then polled until every member has exited. */
struct pid_tree;
int pid_tree_kill_start(pid_t pid, uint64_t start, struct pid_tree **ret);
int pid_tree_check(struct pid_tree *tr, bool *ret_done);
void pid_tree_free(struct pid_tree *tr);

/* systemd (teardown_systemd.c) */
/* The scope's cgroup directory below cgroot. */
int systemd_scope_dir(const struct teardown *t, const char *unit, char **ret);
/* Connect to the system bus on t->event (when not connected, at most every
 * few seconds). 0 when connected. */
int systemd_bus_ensure(struct teardown *t);
/* StartTransientUnit, asynchronously: cb(userdata, 0) once the start job is
 * done (the pid is in the scope), cb(userdata, <0) when it failed, timed out,
 * or the bus went away. Never calls cb from inside this call. */
struct systemd_attach;
int systemd_attach_start(struct teardown *t, const char *unit, pid_t pid, const char *description,
                         void (*cb)(void *userdata, int r), void *userdata, struct systemd_attach **ret);
/* Forget an attach: cb is not called. */
void systemd_attach_cancel(struct systemd_attach *a);

/* logind's session scopes (teardown_logind.c) */
/* The logind handle of pid when it entered a session scope of uid's (its
 * parent is outside); -ENOENT when it did not. */
int logind_handle(pid_t pid, uint64_t pid_start, uid_t uid, char *buf, size_t size);
/* -EINVAL unless canonical; the scope's user. */
int logind_parse_handle(const char *handle, uid_t *ret_uid);
/* The scope's cgroup directory below cgroot. */
int logind_scope_dir(const struct teardown *t, const char *handle, char **ret);
/* pid (started at pid_start) is still in the handle's scope: -ESRCH if not. */
int logind_check_attached(pid_t pid, uint64_t pid_start, const char *handle);

#endif
