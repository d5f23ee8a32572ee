/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ending the sessions of a grant. When a PAM session opens under a grant, jitd
 * records a handle for it (teardown_handle, before the record is committed),
 * then attaches the process that opened it (sudo, or sshd's per-connection
 * process); when the grant ends, the handle finds the process and everything
 * it forked afterwards, and kills them.
 *
 *   systemd  a transient scope "jit-g<grant>-s<session>.scope" in jit.slice;
 *            handle = the unit name. Killed through the scope's cgroup
 *            (cgroup.kill), which needs no bus.
 *   cgroup   a cgroup2 directory <mount>/jit/g<grant>-s<session>, killed with
 *            cgroup.kill (Linux 5.14); handle = "cgroup:/jit/g<grant>-s<session>"
 *            (relative to the cgroup2 mount, as in /proc/PID/cgroup).
 *   logind   an sshd or login session that logind put in its own
 *            "session-<id>.scope": that scope, killed through its cgroup;
 *            handle = "logind:<the scope's cgroup>" (teardown_logind.c).
 *   pidfd    no kernel grouping: the process tree and the sessions its members
 *            lead are walked in /proc at kill time; handle =
 *            "pid:<pid>:<starttime>". Double-forked processes that also called
 *            setsid escape; see teardown_pidfd.c.
 *   none     nothing is tracked or killed; handle = "".
 *
 * Whatever the handle, a session's leader (its pid and start time, kept with
 * the session) is checked at the end too: if it left the cgroup or scope, or
 * the scope could never be made (the bus was down), it is found by pid and
 * killed with its tree. A kill is "done" only when it was verified that
 * nothing is left.
 *
 * Handles are plain strings (under 128 bytes) that stay valid across jitd
 * restarts. Kills look at the handle, not at the configured mode, so sessions
 * attached before a mode change are still found.
 *
 * A grant holder is root: a root process can always leave its cgroup or scope
 * on purpose. Teardown ends what a session leaves running, it is no sandbox.
 *
 * Returns 0 or a negative errno; nothing here logs; ret_* are set only on
 * success. The functions below never block, except the ones marked blocking
 * (for tests and tools, never called from jitd's loop); teardown_ops.h puts
 * attach and kill on the event loop.
 */
#ifndef JITD_TEARDOWN_H
#define JITD_TEARDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define TEARDOWN_HANDLE_MAX 128         /* including the NUL; jit_session.handle */

struct teardown;
struct sd_bus;
struct sd_bus_message;
struct sd_event;

/* TEARDOWN_AUTO picks systemd when sd_booted(), else cgroup when a cgroup2
 * mount with a usable jit/ subtree and cgroup.kill exists, else pidfd. An
 * explicit mode that cannot work here is -EOPNOTSUPP. cgroup_root_override
 * replaces the cgroup2 mount found in /proc/self/mountinfo (tests; NULL in
 * production). In cgroup mode <root>/jit is created (0755) here. A caller
 * that finds itself inside a session's cgroup (jitd restarted from a sudo
 * session) moves itself to the root of the hierarchy, so as not to kill
 * itself with that session. */
int teardown_new(enum teardown_mode mode, const char *cgroup_root_override, struct teardown **ret);
void teardown_free(struct teardown *t);
/* systemd mode: connect to the system bus on this loop (asynchronous from
 * then on). Without it, or while the bus is down, sessions fall back to
 * pid handles. */
int teardown_attach_event(struct teardown *t, struct sd_event *e);
/* "systemd", "cgroup", "pidfd" or "none": the resolved mode. */
const char *teardown_mode_name(const struct teardown *t);
/* The cgroup2 directory in use (NULL when there is none), for diagnostics. */
const char *teardown_cgroup_root(const struct teardown *t);

/* The start time of a live process (field 22 of /proc/PID/stat); -ESRCH
 * when it is gone or a zombie. Together with the pid it names one process
 * for good: a recycled pid has a later start time. */
int proc_start_time(pid_t pid, uint64_t *ret);

/* login_uid for a session that is no login (sudo's). */
#define TEARDOWN_NOT_LOGIN ((uid_t) -1)

/* The handle session session_id of grant grant_id will have, decided before
 * the session is recorded: a unit name in systemd mode (a pid handle when the
 * bus is down), a cgroup handle in cgroup mode, "pid:<pid>:<start>" in pidfd
 * mode, "" in mode none. In systemd mode a login (sshd, login: login_uid is
 * the user's uid) whose process entered a logind session scope of that user
 * keeps it: "logind:<the scope's cgroup>". buf has TEARDOWN_HANDLE_MAX
 * bytes. */
int teardown_handle(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, uint64_t pid_start,
                    uid_t login_uid, char *buf, size_t size);
/* Whether a handle tracks anything ("" does not). */
bool teardown_handle_tracked(const char *handle);
/* Whether the handle needs an asynchronous attach (a systemd unit). */
bool teardown_handle_is_unit(const char *handle);

/* Put pid (still alive, not PID 1, not jitd) under teardown as session
 * session_id of grant grant_id (> 0), for cgroup, pidfd and none handles
 * (fast, no bus). *ret_handle is malloc'ed. -ESRCH when pid is gone (and
 * nothing is left behind). A cgroup of that name that still holds processes
 * is left from an older database: its processes are killed and the name taken
 * over. In systemd mode this makes a pid handle (teardown_ops.h attaches
 * units). */
int teardown_attach(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, char **ret_handle);

/* A kill in two non-blocking halves: start sends SIGKILL to everything the
 * handle finds (and the leader pid/pid_start, when it escaped); check says
 * whether all of it is verified gone (then the cgroup is removed too).
 * -EOPNOTSUPP from start: the handle tracks nothing ("", mode none), so
 * nothing can be killed or verified. -EBUSY from check: the process walk
 * was cut short, more may be out there (start again). */
struct teardown_kill;
int teardown_kill_start(struct teardown *t, const char *handle, pid_t leader, uint64_t leader_start,
                        struct teardown_kill **ret);
int teardown_kill_check(struct teardown *t, struct teardown_kill *k, bool *ret_done);
void teardown_kill_free(struct teardown_kill *k);

/* Blocking (up to 1 s): kill every process of the session and release what
 * attach created. Already gone: 0. Something still alive after the wait:
 * -EBUSY. Malformed handle: -EINVAL. */
int teardown_kill(struct teardown *t, const char *handle);
/* Blocking: teardown_kill() for n sessions at once, one shared wait.
 * ret_errs[i] receives handles[i]'s result; the return value is -EINVAL or
 * -ENOMEM only, when nothing was done. */
int teardown_kill_many(struct teardown *t, const char *const *handles, size_t n, int *ret_errs);
/* Whether anything of the session still runs (zombies do not count). */
int teardown_alive(struct teardown *t, const char *handle, bool *ret_alive);

/*
 * The systemd backend's bus messages (teardown_systemd.c), on a bus the caller
 * opened, so that tests can run them against a fake manager.
 */
/* "jit-g<grant>-s<session>.scope" into buf (at least TEARDOWN_HANDLE_MAX). */
int teardown_systemd_unit_name(int64_t grant_id, uint64_t session_id, char *buf, size_t size);
/* Whether unit is a name teardown_systemd_unit_name() makes. */
bool teardown_systemd_valid_unit(const char *unit);
/* The StartTransientUnit call for unit holding pid, not sent. The bus must be
 * started (sd-bus refuses to build messages on an unstarted bus). */
int teardown_systemd_start_message(struct sd_bus *bus, const char *unit, pid_t pid, const char *description,
                                   struct sd_bus_message **ret);
/* Blocking (tests): start the scope and wait until its start job is done. */
int teardown_systemd_attach(struct sd_bus *bus, const char *unit, pid_t pid, const char *description);
/* Blocking (tests): StopUnit and wait for the job; KillUnit SIGKILL when
 * stopping fails. No such unit: 0. */
int teardown_systemd_kill(struct sd_bus *bus, const char *unit);
/* Blocking (tests): ActiveState is neither "inactive" nor "failed". No such
 * unit: false. */
int teardown_systemd_alive(struct sd_bus *bus, const char *unit, bool *ret_alive);

#endif
