/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Login sessions that logind already tracks. When sshd or login opens a
 * session, pam_systemd (earlier in the stack) has put the session's leader
 * into "session-<id>.scope" below "user-<uid>.slice". Moving that leader into
 * a scope of ours would break logind's session (its leader and its commands
 * would no longer be in its scope; loginctl would show an empty session), so
 * such a session keeps logind's scope and the scope is its handle:
 *
 *      "logind:/user.slice/user-<uid>.slice/session-<id>.scope"
 *
 * killed with cgroup.kill on that cgroup (no bus needed); logind sees its
 * scope empty and ends the session. Only the process that entered the scope
 * (its parent is outside, in sshd.service or login's) counts: a sudo run
 * from inside the session has a parent in the same scope and gets a scope
 * of its own, so that the end of a sudo grant never takes the login session
 * with it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "teardown_internal.h"
#include "util.h"

int logind_parse_handle(const char *handle, uid_t *ret_uid)
{
        const char *p, *e;
        uint64_t uid;
        char canon[TEARDOWN_HANDLE_MAX];
        size_t n;

        if (strncmp(handle, LOGIND_PREFIX "/user.slice/user-", strlen(LOGIND_PREFIX "/user.slice/user-")) != 0)
                return -EINVAL;
        p = handle + strlen(LOGIND_PREFIX "/user.slice/user-");
        if (!td_parse_u64(p, &e, &uid) || uid >= UINT32_MAX || strncmp(e, ".slice/session-", 15) != 0)
                return -EINVAL;
        p = e + 15;
        /* logind's session ids: letters and digits ("5", "c1"). */
        n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
        if (n == 0 || n > 32 || strcmp(p + n, ".scope") != 0)
                return -EINVAL;
        snprintf(canon, sizeof(canon), LOGIND_PREFIX "/user.slice/user-%" PRIu64 ".slice/session-%.*s.scope", uid,
                 (int) n, p);
        if (strcmp(canon, handle) != 0)
                return -EINVAL;
        if (ret_uid)
                *ret_uid = (uid_t) uid;
        return 0;
}

int logind_handle(pid_t pid, uint64_t pid_start, uid_t uid, char *buf, size_t size)
{
        char cg[TEARDOWN_HANDLE_MAX], parent_cg[TEARDOWN_HANDLE_MAX], handle[TEARDOWN_HANDLE_MAX];
        uint64_t start = 0;
        uid_t owner;
        pid_t ppid;
        int r;

        r = td_proc_cgroup(pid, cg, sizeof(cg));
        if (r == -ENAMETOOLONG)
                return -ENOENT;         /* deeper than any session scope */
        if (r < 0)
                return r;
        if ((size_t) snprintf(handle, sizeof(handle), LOGIND_PREFIX "%s", cg) >= sizeof(handle) ||
            logind_parse_handle(handle, &owner) < 0 || owner != uid)
                return -ENOENT;
        r = proc_parent(pid, &ppid);
        if (r < 0)
                return r;
        r = td_proc_cgroup(ppid, parent_cg, sizeof(parent_cg));
        if (r == -ESRCH || r == -ENOENT)
                return -ENOENT;         /* an orphan: cannot tell it entered the scope itself */
        if (r >= 0 && strcmp(parent_cg, cg) == 0)
                return -ENOENT;         /* forked inside the session: not its leader */
        if (r < 0 && r != -ENAMETOOLONG)
                return r;
        /* Still the process the session is recorded for. */
        if (proc_start_time(pid, &start) < 0 || start != pid_start)
                return -ESRCH;
        return strcpy_checked(buf, size, handle);
}

int logind_scope_dir(const struct teardown *t, const char *handle, char **ret)
{
        if (logind_parse_handle(handle, NULL) < 0)
                return -EINVAL;
        if (!t->cgroot)
                return -ENOENT;
        return asprintf(ret, "%s%s", t->cgroot, handle + strlen(LOGIND_PREFIX)) < 0 ? -ENOMEM : 0;
}

int logind_check_attached(pid_t pid, uint64_t pid_start, const char *handle)
{
        char cg[TEARDOWN_HANDLE_MAX];
        uint64_t start = 0;
        int r;

        r = td_proc_cgroup(pid, cg, sizeof(cg));
        if (r < 0)
                return r == -ENAMETOOLONG ? -ESRCH : r;
        if (strcmp(cg, handle + strlen(LOGIND_PREFIX)) != 0)
                return -ESRCH;
        if (pid_start && (proc_start_time(pid, &start) < 0 || start != pid_start))
                return -ESRCH;
        return 0;
}
