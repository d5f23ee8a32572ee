/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cgroup backend of teardown: the session's process is moved into its own
 * cgroup2 directory before it forks the user's command or shell, so everything
 * it ever forks is born there, whatever it does with sessions and parents.
 * cgroup.kill SIGKILLs the whole subtree in the kernel, without a race against
 * fork (Linux 5.14).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mountinfo.h"
#include "teardown_internal.h"
#include "util.h"

/* cgroup.events signals its changes with POLLPRI, but the kernel sends at
 * most one notification per 10 ms and defers the rest: reading it again
 * every few ms halves the typical wait (measured 12-19 ms vs 0-3 ms). */
#define EVENTS_POLL_MS  3
/* Child cgroups a root process made inside a session's cgroup. */
#define CGROUP_MAX_DEPTH 16

/* <root>/jit must be creatable and be a cgroup2 cgroup with cgroup.kill
 * (Linux 5.14); a jit/ we made for nothing is removed again. */
int cgroup_setup(const char *root)
{
        _cleanup_free_ char *jit = NULL, *kill_path = NULL;
        bool created;

        if (asprintf(&jit, "%s/jit", root) < 0 || asprintf(&kill_path, "%s/jit/cgroup.kill", root) < 0)
                return -ENOMEM;
        created = mkdir(jit, 0755) == 0;
        if (!created && errno != EEXIST)
                return -errno;
        if (access(kill_path, W_OK) < 0) {
                int r = -errno;

                if (created)
                        (void) rmdir(jit);
                return r;
        }
        return 0;
}

/* jitd (re)started from a session under a grant ("sudo service jitd
 * restart" on a host without systemd) is born in that session's cgroup and
 * would kill itself with it, so it moves up to cgroot first. */
int cgroup_leave_sessions(const char *cgroot)
{
        _cleanup_free_ char *mount = NULL, *line = NULL, *procs = NULL;
        const char *rel, *own = NULL;
        size_t cap = 0, n;
        FILE *f;
        int r;

        /* /proc/self/cgroup names cgroups from the top of the mount; cgroot
         * may be a cgroup below it (tests). */
        r = mountinfo_cgroup2(&mount, NULL);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        n = strlen(mount);
        if (strcmp(cgroot, mount) == 0)
                rel = "";
        else if (strncmp(cgroot, mount, n) == 0 && cgroot[n] == '/')
                rel = cgroot + n;
        else
                return 0;
        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) > 0)
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = '\0';
                        own = line + 3;
                        break;
                }
        fclose(f);
        n = strlen(rel);
        if (!own || strncmp(own, rel, n) != 0 || strncmp(own + n, "/jit/", 5) != 0)
                return 0;
        if (asprintf(&procs, "%s/cgroup.procs", cgroot) < 0)
                return -ENOMEM;
        return td_write_string(procs, "0");        /* "0": the writing process */
}

/* "g<grant>-s<session>" back from a handle; -EINVAL unless canonical. */
int cgroup_parse_handle(const char *handle, char *name, size_t size)
{
        const char *p, *e;
        uint64_t grant, session;
        char canon[64];

        if (strncmp(handle, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) != 0)
                return -EINVAL;
        p = handle + strlen(CGROUP_PREFIX);
        if (p[0] != 'g' || !td_parse_u64(p + 1, &e, &grant) || grant == 0 || grant > INT64_MAX ||
            strncmp(e, "-s", 2) != 0 || !td_parse_u64(e + 2, &e, &session) || *e != '\0')
                return -EINVAL;
        snprintf(canon, sizeof(canon), "g%" PRIu64 "-s%" PRIu64, grant, session);
        if (strcmp(canon, p) != 0)
                return -EINVAL;
        return strcpy_checked(name, size, canon);
}

static int cgroup_populated(int fd, bool *ret)
{
        char buf[256];
        const char *p;
        ssize_t n;

        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        p = strstr(buf, "populated ");
        if (!p || (p != buf && p[-1] != '\n'))
                return -EIO;
        *ret = p[10] == '1';
        return 0;
}

static int cgroup_open_events(const char *dir)
{
        _cleanup_free_ char *path = NULL;
        int fd;

        if (asprintf(&path, "%s/cgroup.events", dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

/* Waits for "populated 0": kernfs flags cgroup.events with POLLPRI when it
 * changes. Processes in uninterruptible sleep can hold it past the deadline. */
static int cgroup_wait_empty(const char *dir, int64_t deadline)
{
        int fd = cgroup_open_events(dir), r;

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLPRI };
                bool populated = false;
                int ms;

                r = cgroup_populated(fd, &populated);
                if (r < 0 || !populated)
                        break;
                ms = td_remaining_ms(deadline);
                if (ms == 0) {
                        r = -EBUSY;
                        break;
                }
                if (poll(&p, 1, ms < EVENTS_POLL_MS ? ms : EVENTS_POLL_MS) < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
        }
        close(fd);
        return r;
}

/* Depth first: a root process may have made child cgroups in the session's
 * one, and rmdir refuses a cgroup that still has children. */
static int cgroup_remove_tree(int parent_fd, const char *name, unsigned depth)
{
        struct dirent *de;
        DIR *d;
        int fd, r = 0;

        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        while (r >= 0 && (de = readdir(d))) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = depth == 0 ? -EBUSY : cgroup_remove_tree(dirfd(d), de->d_name, depth - 1);
        }
        closedir(d);
        if (r < 0)
                return r;
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int cgroup_attach(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, char **ret)
{
        _cleanup_free_ char *jit = NULL, *dir = NULL, *procs = NULL, *handle = NULL;
        char name[64], num[24];
        bool created, populated = false;
        int r, fd;

        snprintf(name, sizeof(name), "g%" PRId64 "-s%" PRIu64, grant_id, session_id);
        if (asprintf(&jit, "%s/jit", t->cgroot) < 0 || asprintf(&dir, "%s/%s", jit, name) < 0 ||
            asprintf(&procs, "%s/cgroup.procs", dir) < 0 || asprintf(&handle, CGROUP_PREFIX "%s", name) < 0)
                return -ENOMEM;
        /* jit/ was made at startup; an administrator may have removed it since. */
        if (mkdir(jit, 0755) < 0 && errno != EEXIST)
                return -errno;
        created = mkdir(dir, 0755) == 0;
        if (!created && errno != EEXIST)
                return -errno;
        /* Left over from a database that handed out the same ids before (a
         * reinstall, a wiped state directory): session ids are never reused
         * within one database, so whatever still runs in there belongs to a
         * session nobody tracks any more, whose grant is long gone. Joining
         * it is wrong and leaving it running keeps privilege alive: kill it,
         * then take the name. */
        if (!created) {
                fd = cgroup_open_events(dir);
                r = fd < 0 ? fd : cgroup_populated(fd, &populated);
                if (fd >= 0)
                        close(fd);
                if (r < 0)
                        return r;
                if (populated) {
                        r = cgroup_kill(t, handle);
                        if (r < 0)
                                return r;
                        created = mkdir(dir, 0755) == 0;
                        if (!created && errno != EEXIST)
                                return -errno;
                }
        }
        snprintf(num, sizeof(num), "%d", (int) pid);
        r = td_write_string(procs, num);
        /* The kernel accepts the pid of a process that is already exiting and
         * moves nothing: an empty cgroup after the write means it is gone. */
        if (r >= 0) {
                fd = cgroup_open_events(dir);
                r = fd < 0 ? fd : cgroup_populated(fd, &populated);
                if (fd >= 0)
                        close(fd);
                if (r >= 0 && !populated)
                        r = -ESRCH;
        }
        if (r < 0) {
                if (created)
                        (void) rmdir(dir);
                return r;
        }
        *ret = TAKE_PTR(handle);
        return 0;
}

static int cgroup_session_dir(const struct teardown *t, const char *handle, char **ret)
{
        char name[64];
        int r;

        r = cgroup_parse_handle(handle, name, sizeof(name));
        if (r < 0)
                return r;
        if (asprintf(ret, "%s/jit/%s", t->cgroot, name) < 0)
                return -ENOMEM;
        return 0;
}

/* The first half of a kill: cgroup.kill is written, nothing is waited for.
 * *ret_dir (malloc'ed) is NULL when the cgroup was already gone. */
int cgroup_kill_send(struct teardown *t, const char *handle, char **ret_dir)
{
        _cleanup_free_ char *dir = NULL, *kill_path = NULL;
        int r;

        r = cgroup_session_dir(t, handle, &dir);
        if (r < 0)
                return r;
        if (asprintf(&kill_path, "%s/cgroup.kill", dir) < 0)
                return -ENOMEM;
        r = td_write_string(kill_path, "1");
        if (r == -ENOENT) {
                *ret_dir = NULL;        /* killed and removed before */
                return 0;
        }
        if (r < 0)
                return r;
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

/* The second half: wait until the cgroup is empty, then remove it. */
int cgroup_kill_finish(struct teardown *t, const char *dir, int64_t deadline)
{
        _cleanup_free_ char *jit = NULL;
        int r, jit_fd;

        r = cgroup_wait_empty(dir, deadline);
        if (r < 0)
                return r;
        if (asprintf(&jit, "%s/jit", t->cgroot) < 0)
                return -ENOMEM;
        jit_fd = open(jit, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (jit_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* "populated 0" comes as the last task leaves; rmdir can still see it
         * for a moment. */
        while ((r = cgroup_remove_tree(jit_fd, strrchr(dir, '/') + 1, CGROUP_MAX_DEPTH)) == -EBUSY &&
               td_remaining_ms(deadline) > 0)
                td_sleep_ms(5);
        close(jit_fd);
        return r;
}

int cgroup_kill(struct teardown *t, const char *handle)
{
        _cleanup_free_ char *dir = NULL;
        int64_t deadline = td_deadline_after(KILL_WAIT_MS);
        int r;

        r = cgroup_kill_send(t, handle, &dir);
        if (r < 0 || !dir)
                return r;
        return cgroup_kill_finish(t, dir, deadline);
}

int cgroup_alive(struct teardown *t, const char *handle, bool *ret)
{
        _cleanup_free_ char *dir = NULL;
        bool populated = false;
        int r, fd;

        r = cgroup_session_dir(t, handle, &dir);
        if (r < 0)
                return r;
        fd = cgroup_open_events(dir);
        if (fd == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (fd < 0)
                return fd;
        r = cgroup_populated(fd, &populated);
        close(fd);
        if (r < 0)
                return r;
        *ret = populated;
        return 0;
}

int cgroup_dir_populated(const char *dir, bool *ret)
{
        bool populated = false;
        int fd = cgroup_open_events(dir), r;

        if (fd == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (fd < 0)
                return fd;
        r = cgroup_populated(fd, &populated);
        close(fd);
        if (r < 0)
                return r;
        *ret = populated;
        return 0;
}

int cgroup_dir_check_gone(const char *dir, bool *ret_done)
{
        _cleanup_free_ char *parent = NULL;
        const char *slash = strrchr(dir, '/');
        bool populated = false;
        int r, pfd;

        r = cgroup_dir_populated(dir, &populated);
        if (r < 0)
                return r;
        if (populated) {
                *ret_done = false;
                return 0;
        }
        if (!slash || slash == dir)
                return -EINVAL;
        parent = strndup(dir, (size_t) (slash - dir));
        if (!parent)
                return -ENOMEM;
        pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (pfd < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret_done = true;
                return 0;
        }
        /* "populated 0" comes as the last task leaves; rmdir can still see
         * it for a moment: then the caller looks again. */
        r = cgroup_remove_tree(pfd, slash + 1, CGROUP_MAX_DEPTH);
        close(pfd);
        if (r == -EBUSY) {
                *ret_done = false;
                return 0;
        }
        if (r < 0)
                return r;
        *ret_done = true;
        return 0;
}

/* Is cgroup path (as /proc/PID/cgroup names it) scope itself or below it? */
static bool cgroup_within(const char *path, const char *scope)
{
        const char *p = strstr(path, scope);
        size_t n = strlen(scope);

        for (; p; p = strstr(p + 1, scope))
                if (p > path && p[-1] == '/' && (p[n] == '\0' || p[n] == '/'))
                        return true;
        return false;
}

/* SIGKILL to every process in dirfd's cgroup.procs and those of its
 * children, by pidfd: a pid is signalled only while it is still a process
 * of the scope (a pid that exited and was reused elsewhere is left alone). */
static int cgroup_kill_procs_at(int dirfd, const char *scope, unsigned depth)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        DIR *d;
        FILE *f;
        int fd, r = 0;

        fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        f = fdopen(fd, "r");
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        while (getline(&line, &cap, f) > 0) {
                char cg[256];
                uint64_t v;
                const char *e;
                int pfd;

                if (!td_parse_u64(line, &e, &v) || *e != '\n' || v < 2 || v > INT32_MAX)
                        continue;
                pfd = (int) syscall(SYS_pidfd_open, (pid_t) v, 0);
                if (pfd < 0)
                        continue;       /* gone already */
                if (td_proc_cgroup((pid_t) v, cg, sizeof(cg)) >= 0 && cgroup_within(cg, scope) &&
                    syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                        r = -errno;
                close(pfd);
        }
        fclose(f);
        if (depth == 0)
                return r;
        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -ENOMEM;
        }
        for (struct dirent *de; (de = readdir(d));) {
                int sub, k;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub < 0)
                        continue;
                k = cgroup_kill_procs_at(sub, scope, depth - 1);
                close(sub);
                if (k < 0 && r >= 0)
                        r = k;
        }
        closedir(d);
        return r;
}

int cgroup_dir_kill(const char *dir)
{
        _cleanup_free_ char *path = NULL;
        const char *scope = strrchr(dir, '/');
        int r, dfd;

        if (asprintf(&path, "%s/cgroup.kill", dir) < 0)
                return -ENOMEM;
        r = td_write_string(path, "1");
        if (r == -ENOENT)
                return 0;
        if (r != -EROFS && r != -EACCES && r != -EPERM)
                return r;
        /* Read-only to us: the processes one by one. */
        if (!scope || !scope[1])
                return -EINVAL;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = cgroup_kill_procs_at(dfd, scope + 1, CGROUP_MAX_DEPTH);
        close(dfd);
        return r < 0 ? r : 1;
}
