/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ending the sessions of a grant. When a PAM session opens under a grant, jitd
 * attaches the process that opened it (sudo, or sshd's per-connection
 * process) and stores the returned handle; when the grant ends, teardown_kill
 * with that handle kills the process and everything it forked afterwards.
 *
 *   systemd  a transient scope "jit-g<grant>-s<session>.scope" in jit.slice;
 *            handle = the unit name. Needs systemd as PID 1.
 *   cgroup   a cgroup2 directory <mount>/jit/g<grant>-s<session>, killed with
 *            cgroup.kill (Linux 5.14); handle = "cgroup:/jit/g<grant>-s<session>"
 *            (relative to the cgroup2 mount, as in /proc/PID/cgroup).
 *   pidfd    no kernel grouping: the process tree and the sessions its members
 *            lead are walked in /proc at kill time; handle =
 *            "pid:<pid>:<starttime>". Double-forked processes that also called
 *            setsid escape; see teardown.c.
 *   none     nothing is tracked or killed; handle = "".
 *
 * Handles are plain strings (under 128 bytes) that stay valid across jitd
 * restarts. kill and alive look at the handle, not at the configured mode, so
 * sessions attached before a mode change are still found; in mode "none",
 * kill does nothing.
 *
 * A grant holder is root: a root process can always leave its cgroup or scope
 * on purpose. Teardown ends what a session leaves running, it is no sandbox.
 *
 * Every call blocks: cgroup and pidfd kills wait up to 1 s for the processes
 * to die, systemd calls up to 5 s per bus round trip (a kill is StopUnit, its
 * job, and KillUnit when that fails). Returns 0 or a negative errno; nothing
 * here logs; ret_* are set only on success.
 */
#ifndef JITD_TEARDOWN_H
#define JITD_TEARDOWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define TEARDOWN_HANDLE_MAX 128         /* including the NUL; jit_session.handle */

struct teardown;

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
/* "systemd", "cgroup", "pidfd" or "none": the resolved mode. */
const char *teardown_mode_name(const struct teardown *t);
/* The cgroup2 directory in use (NULL when there is none), for diagnostics. */
const char *teardown_cgroup_root(const struct teardown *t);

/* Put pid (still alive, not PID 1, not jitd) under teardown as session
 * session_id of grant grant_id (> 0). *ret_handle is malloc'ed. -ESRCH when
 * pid is gone (and nothing is left behind); -EEXIST when a systemd scope of
 * that name already exists. A cgroup of that name that still holds processes
 * is left from an older database (ids are never reused within one): its
 * processes are killed and the name taken over. */
int teardown_attach(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, char **ret_handle);
/* Kill every process of the session and release what attach created.
 * Already gone: 0. Signals sent but something still alive after the wait:
 * -EBUSY (calling again is safe). Malformed handle: -EINVAL. */
int teardown_kill(struct teardown *t, const char *handle);
/* teardown_kill() for n sessions at once: every cgroup is sent its kill
 * before any is waited for, so the wait is shared (up to 1 s in all, not per
 * session). ret_errs[i] receives handles[i]'s result; the return value is
 * -EINVAL or -ENOMEM only, when nothing was done. */
int teardown_kill_many(struct teardown *t, const char *const *handles, size_t n, int *ret_errs);
/* Whether anything of the session still runs (zombies do not count). */
int teardown_alive(struct teardown *t, const char *handle, bool *ret_alive);

/*
 * The systemd backend (teardown_systemd.c), on a bus the caller opened. The
 * public functions above use a fresh system bus connection for each call;
 * these take the bus so that tests can run them against a fake manager.
 */
struct sd_bus;
struct sd_bus_message;

/* "jit-g<grant>-s<session>.scope" into buf (at least TEARDOWN_HANDLE_MAX). */
int teardown_systemd_unit_name(int64_t grant_id, uint64_t session_id, char *buf, size_t size);
/* Whether unit is a name teardown_systemd_unit_name() makes. */
bool teardown_systemd_valid_unit(const char *unit);
/* The StartTransientUnit call for unit holding pid, not sent. The bus must be
 * started (sd-bus refuses to build messages on an unstarted bus). */
int teardown_systemd_start_message(struct sd_bus *bus, const char *unit, pid_t pid, const char *description,
                                   struct sd_bus_message **ret);
/* Start the scope and wait until its start job is done (pid moved). */
int teardown_systemd_attach(struct sd_bus *bus, const char *unit, pid_t pid, const char *description);
/* StopUnit (the scope's KillSignal is SIGKILL) and wait for the job; KillUnit
 * SIGKILL when stopping fails. No such unit: 0. */
int teardown_systemd_kill(struct sd_bus *bus, const char *unit);
/* ActiveState is neither "inactive" nor "failed". No such unit: false. */
int teardown_systemd_alive(struct sd_bus *bus, const char *unit, bool *ret_alive);

#endif
