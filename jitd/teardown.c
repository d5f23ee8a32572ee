/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ending sessions: choosing the mechanism, the cgroup and pidfd backends, and
 * the glue to the systemd one (teardown_systemd.c).
 *
 * cgroup: the session's process is moved into its own cgroup2 directory before
 * it forks the user's command or shell, so everything it ever forks is born
 * there, whatever it does with sessions and parents. cgroup.kill SIGKILLs the
 * whole subtree in the kernel, without a race against fork.
 *
 * pidfd: the fallback without a usable cgroup2 mount. At kill time the
 * session's process P (checked by start time against pid reuse) and its
 * descendants are found through the PPid field of /proc/PID/stat, plus every
 * process whose session is led by one of them (a double-forked daemon that
 * kept its session, e.g. in the session sudo's use_pty monitor or the ssh
 * login shell lead). Found processes are SIGSTOPped as they are found, so that
 * the tree cannot grow or be reparented while it is walked, then all are
 * SIGKILLed. Every signal goes through a pidfd opened and checked against the
 * start time first, so a pid recycled meanwhile is never hit.
 *
 * What the pidfd path cannot see, by construction:
 *   - A process that double-forks AND calls setsid: its parent exits, it is
 *     reparented to init (or a subreaper) and leads a session of its own, so
 *     neither PPid nor the session id leads back to P. It survives the grant.
 *     This is why the cgroup and systemd backends exist; pidfd is the last
 *     resort, for kernels or containers without a writable cgroup2.
 *   - Anything orphaned before the kill: once P itself has exited, its
 *     children have been reparented and nothing leads to them any more.
 * The session of P itself is deliberately not swept unless P leads it: sudo
 * runs in the user's terminal session, and killing that session would kill
 * the user's own login shell, which the grant never covered.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "teardown.h"
#include "util.h"

/* How long a kill waits for the processes to be gone. SIGKILL takes
 * microseconds unless a process sits in uninterruptible sleep (NFS, a hung
 * device); then the caller gets -EBUSY and tries again later. */
#define KILL_WAIT_MS    1000
/* cgroup.events signals its changes with POLLPRI, but the kernel sends at
 * most one notification per 10 ms and defers the rest: reading it again
 * every few ms halves the typical wait (measured 12-19 ms vs 0-3 ms). */
#define EVENTS_POLL_MS  3
/* Child cgroups a root process made inside a session's cgroup. */
#define CGROUP_MAX_DEPTH 16

#define CGROUP_PREFIX "cgroup:/jit/"
#define PID_PREFIX    "pid:"

struct teardown {
        enum teardown_mode mode;        /* resolved: never TEARDOWN_AUTO */
        char *cgroot;                   /* cgroup2 mount (or override); NULL: none found */
};

static const char *const mode_names[] = {
        [TEARDOWN_AUTO] = "auto",
        [TEARDOWN_SYSTEMD] = "systemd",
        [TEARDOWN_CGROUP] = "cgroup",
        [TEARDOWN_PIDFD] = "pidfd",
        [TEARDOWN_NONE] = "none",
};

static int64_t deadline_after(int64_t ms)
{
        return now_monotonic_ms() + ms;
}

static int remaining_ms(int64_t deadline)
{
        int64_t left = deadline - now_monotonic_ms();

        return left <= 0 ? 0 : (int) left;
}

static void sleep_ms(int ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int strdup_to(const char *s, char **ret)
{
        char *copy = strdup(s);

        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int write_string(const char *path, const char *s)
{
        size_t n = strlen(s);
        ssize_t w;
        int fd, r = 0;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        w = write(fd, s, n);
        if (w < 0)
                r = -errno;
        else if ((size_t) w != n)
                r = -EIO;
        close(fd);
        return r;
}

/* Numbers in handles have one spelling (no sign, no leading zero), so a
 * handle is valid only if formatting what it parses to gives it back. */
static bool parse_u64(const char *s, const char **end, uint64_t *ret)
{
        char *e;

        if (*s < '0' || *s > '9')
                return false;
        errno = 0;
        *ret = strtoull(s, &e, 10);
        if (errno != 0)
                return false;
        *end = e;
        return true;
}

/* ---- cgroup2 ---------------------------------------------------------- */

/* Mount points in mountinfo have space, tab, newline and backslash as \ooo. */
static char *unescape_mount_path(const char *s)
{
        char *out = malloc(strlen(s) + 1), *o = out;

        if (!out)
                return NULL;
        while (*s) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        *o++ = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 4;
                } else
                        *o++ = *s++;
        }
        *o = '\0';
        return out;
}

/* The cgroup2 mount of this mount namespace. One that shows the whole
 * hierarchy (root "/") wins over a bind mount of a subtree. */
static int cgroup2_find_mount(char **ret)
{
        _cleanup_free_ char *line = NULL, *found = NULL;
        size_t cap = 0;
        FILE *f;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) > 0) {
                /* id parent major:minor root mountpoint options [optional...] - fstype source super */
                char *sep = strstr(line, " - "), *save = NULL, *root, *mnt;

                if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
                        continue;
                *sep = '\0';
                if (!strtok_r(line, " ", &save) || !strtok_r(NULL, " ", &save) || !strtok_r(NULL, " ", &save))
                        continue;
                root = strtok_r(NULL, " ", &save);
                mnt = strtok_r(NULL, " ", &save);
                if (!root || !mnt)
                        continue;
                if (found && strcmp(root, "/") != 0)
                        continue;
                free(found);
                found = unescape_mount_path(mnt);
                if (!found) {
                        fclose(f);
                        return -ENOMEM;
                }
                if (strcmp(root, "/") == 0)
                        break;
        }
        fclose(f);
        if (!found)
                return -ENOENT;
        *ret = TAKE_PTR(found);
        return 0;
}

/* <root>/jit must be creatable and be a cgroup2 cgroup with cgroup.kill
 * (Linux 5.14); a jit/ we made for nothing is removed again. */
static int cgroup_setup(const char *root)
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
static int cgroup_leave_sessions(const char *cgroot)
{
        _cleanup_free_ char *mount = NULL, *line = NULL, *procs = NULL;
        const char *rel, *own = NULL;
        size_t cap = 0, n;
        FILE *f;
        int r;

        /* /proc/self/cgroup names cgroups from the top of the mount; cgroot
         * may be a cgroup below it (tests). */
        r = cgroup2_find_mount(&mount);
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
        return write_string(procs, "0");        /* "0": the writing process */
}

/* "g<grant>-s<session>" back from a handle; -EINVAL unless canonical. */
static int cgroup_parse_handle(const char *handle, char *name, size_t size)
{
        const char *p, *e;
        uint64_t grant, session;
        char canon[64];

        if (strncmp(handle, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) != 0)
                return -EINVAL;
        p = handle + strlen(CGROUP_PREFIX);
        if (p[0] != 'g' || !parse_u64(p + 1, &e, &grant) || grant == 0 || grant > INT64_MAX ||
            strncmp(e, "-s", 2) != 0 || !parse_u64(e + 2, &e, &session) || *e != '\0')
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
                ms = remaining_ms(deadline);
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

static int cgroup_kill(struct teardown *t, const char *handle);

static int cgroup_attach(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, char **ret)
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
        r = write_string(procs, num);
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
static int cgroup_kill_send(struct teardown *t, const char *handle, char **ret_dir)
{
        _cleanup_free_ char *dir = NULL, *kill_path = NULL;
        int r;

        r = cgroup_session_dir(t, handle, &dir);
        if (r < 0)
                return r;
        if (asprintf(&kill_path, "%s/cgroup.kill", dir) < 0)
                return -ENOMEM;
        r = write_string(kill_path, "1");
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
static int cgroup_kill_finish(struct teardown *t, const char *dir, int64_t deadline)
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
               remaining_ms(deadline) > 0)
                sleep_ms(5);
        close(jit_fd);
        return r;
}

static int cgroup_kill(struct teardown *t, const char *handle)
{
        _cleanup_free_ char *dir = NULL;
        int64_t deadline = deadline_after(KILL_WAIT_MS);
        int r;

        r = cgroup_kill_send(t, handle, &dir);
        if (r < 0 || !dir)
                return r;
        return cgroup_kill_finish(t, dir, deadline);
}

static int cgroup_alive(struct teardown *t, const char *handle, bool *ret)
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

/* ---- pidfd ------------------------------------------------------------ */

struct proc_info {
        pid_t pid;
        pid_t ppid;
        pid_t sid;
        char state;
        uint64_t start;         /* field 22 of /proc/PID/stat, clock ticks since boot */
};

static bool parse_pid(const char *s, const char **end, pid_t *ret)
{
        uint64_t v;

        if (!parse_u64(s, end, &v) || v > INT32_MAX)
                return false;
        *ret = (pid_t) v;
        return true;
}

/* -ENOENT when there is no such process. */
static int proc_read(pid_t pid, struct proc_info *ret)
{
        char path[32], buf[2048];
        const char *p, *e;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ESRCH ? -ENOENT : -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                n = errno == ESRCH ? -ENOENT : -errno;
        close(fd);
        if (n < 0)
                return (int) n;
        buf[n] = '\0';
        /* The command name is in parentheses and may hold anything, ')' and
         * spaces included: the fields start after the last ')'. */
        p = strrchr(buf, ')');
        if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
                return -EIO;
        ret->pid = pid;
        ret->state = p[2];
        p += 4;
        for (int field = 4; field < 22; field++) {
                if ((field == 4 && !parse_pid(p, &e, &ret->ppid)) || (field == 6 && !parse_pid(p, &e, &ret->sid)))
                        return -EIO;
                /* Skipped by the space, not parsed: tty_nr and others may be negative. */
                e = strchr(p, ' ');
                if (!e)
                        return -EIO;
                p = e + 1;
        }
        return parse_u64(p, &e, &ret->start) && (*e == ' ' || *e == '\n' || *e == '\0') ? 0 : -EIO;
}

static bool proc_dead(const struct proc_info *pi)
{
        return pi->state == 'Z' || pi->state == 'X' || pi->state == 'x';
}

static int pid_parse_handle(const char *handle, pid_t *ret_pid, uint64_t *ret_start)
{
        const char *p = handle + strlen(PID_PREFIX), *e;
        char canon[TEARDOWN_HANDLE_MAX];
        uint64_t start;
        pid_t pid;

        if (strncmp(handle, PID_PREFIX, strlen(PID_PREFIX)) != 0 || !parse_pid(p, &e, &pid) || pid <= 1 ||
            *e != ':' || !parse_u64(e + 1, &e, &start) || *e != '\0')
                return -EINVAL;
        snprintf(canon, sizeof(canon), PID_PREFIX "%d:%" PRIu64, (int) pid, start);
        if (strcmp(canon, handle) != 0)
                return -EINVAL;
        *ret_pid = pid;
        *ret_start = start;
        return 0;
}

/* A pidfd for pid, only if it is still the process that started at start:
 * once the pidfd is open, a stat read afterwards that shows that start time
 * is of the process the pidfd pins (a successor on the same pid would have
 * started later), so no signal through it can reach a successor. -ESRCH
 * otherwise. */
static int pidfd_open_checked(pid_t pid, uint64_t start, struct proc_info *ret)
{
        struct proc_info pi;
        int fd, r;

        fd = pidfd_open(pid, 0);
        if (fd < 0)
                return -errno;
        r = proc_read(pid, &pi);
        if (r == -ENOENT || (r >= 0 && pi.start != start))
                r = -ESRCH;
        if (r < 0) {
                close(fd);
                return r;
        }
        if (ret)
                *ret = pi;
        return fd;
}

static int pidfd_attach(pid_t pid, char **ret)
{
        struct proc_info pi;
        int fd, r;

        fd = pidfd_open(pid, 0);
        if (fd < 0)
                return -errno;
        r = proc_read(pid, &pi);
        if (r == -ENOENT)
                r = -ESRCH;
        /* Still alive after the read: the stat was this process's. */
        if (r >= 0 && (proc_dead(&pi) || pidfd_send_signal(fd, 0, NULL, 0) < 0))
                r = -ESRCH;
        close(fd);
        if (r < 0)
                return r;
        if (asprintf(ret, PID_PREFIX "%d:%" PRIu64, (int) pid, pi.start) < 0)
                return -ENOMEM;
        return 0;
}

struct member {
        pid_t pid;
        uint64_t start;
        int fd;
        bool anchor;            /* seen alive in the last scan: its pid still names it */
        bool leader;            /* leads its session (setsid cannot be undone) */
};

struct tree {
        struct member *v;
        size_t n, cap;
};

static void tree_done(struct tree *tr)
{
        for (size_t i = 0; i < tr->n; i++)
                close(tr->v[i].fd);
        free(tr->v);
}

static struct member *tree_find(struct tree *tr, pid_t pid)
{
        for (size_t i = 0; i < tr->n; i++)
                if (tr->v[i].pid == pid)
                        return &tr->v[i];
        return NULL;
}

static bool tree_leads_to(struct tree *tr, const struct proc_info *pi)
{
        struct member *m = tree_find(tr, pi->ppid);

        if (m && m->anchor)
                return true;
        m = tree_find(tr, pi->sid);
        return m && m->anchor && m->leader;
}

/* Stops the process as it joins, so that it forks no more and its children
 * keep their PPid until the final SIGKILL. */
static int tree_add(struct tree *tr, const struct proc_info *seen)
{
        struct proc_info pi = { 0 };
        int fd;

        if (array_reserve((void **) &tr->v, &tr->cap, tr->n, sizeof(*tr->v)) < 0)
                return -ENOMEM;
        fd = pidfd_open_checked(seen->pid, seen->start, &pi);
        if (fd < 0)
                return fd == -ESRCH ? 0 : fd;
        (void) pidfd_send_signal(fd, SIGSTOP, NULL, 0);
        tr->v[tr->n++] = (struct member) {
                .pid = pi.pid, .start = pi.start, .fd = fd, .anchor = true, .leader = pi.sid == pi.pid,
        };
        return 1;
}

struct snapshot {
        struct proc_info *v;
        size_t n, cap;
};

static int snapshot_take(struct snapshot *s)
{
        struct dirent *de;
        DIR *d;
        int r = 0;

        s->n = 0;
        d = opendir("/proc");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                struct proc_info pi;
                const char *e;
                pid_t pid;

                if (!parse_pid(de->d_name, &e, &pid) || *e != '\0' || proc_read(pid, &pi) < 0)
                        continue;
                if (s->n == s->cap) {
                        size_t cap = s->cap ? s->cap * 2 : 256;
                        struct proc_info *v = realloc(s->v, cap * sizeof(*v));

                        if (!v) {
                                r = -ENOMEM;
                                break;
                        }
                        s->v = v;
                        s->cap = cap;
                }
                s->v[s->n++] = pi;
        }
        closedir(d);
        return r;
}

/* One pass over /proc: refresh what the members' pids mean, then add every
 * process that leads to a member, until the snapshot yields nothing new.
 * Returns how many joined. */
static int tree_grow(struct tree *tr, struct snapshot *s)
{
        pid_t self = getpid();
        int r, added = 0, pass;

        r = snapshot_take(s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < tr->n; i++) {
                struct member *m = &tr->v[i];

                m->anchor = false;
                for (size_t j = 0; j < s->n; j++)
                        /* A zombie still anchors: its pid cannot be reused before it is
                         * reaped, and the session it leads lives on in its members. */
                        if (s->v[j].pid == m->pid && s->v[j].start == m->start) {
                                m->anchor = true;
                                m->leader = s->v[j].sid == m->pid;
                                break;
                        }
        }
        do {
                pass = 0;
                for (size_t j = 0; j < s->n; j++) {
                        const struct proc_info *pi = &s->v[j];

                        if (pi->pid <= 1 || pi->pid == self || tree_find(tr, pi->pid) || !tree_leads_to(tr, pi))
                                continue;
                        r = tree_add(tr, pi);
                        if (r < 0)
                                return r;
                        pass += r;
                }
                added += pass;
        } while (pass > 0);
        return added;
}

/* -EBUSY when something had not exited by the deadline. */
static int tree_wait(struct tree *tr, int64_t deadline)
{
        struct pollfd *p;
        size_t left = tr->n;
        int r = 0;

        p = calloc(tr->n ? tr->n : 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        for (size_t i = 0; i < tr->n; i++)
                p[i] = (struct pollfd) { .fd = tr->v[i].fd, .events = POLLIN };
        while (left > 0) {
                int ms = remaining_ms(deadline), n;

                n = poll(p, tr->n, ms);
                if (n < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (n == 0 && ms == 0) {
                        r = -EBUSY;
                        break;
                }
                /* A pidfd polls readable once its process has exited. */
                for (size_t i = 0; n > 0 && i < tr->n; i++)
                        if (p[i].fd >= 0 && p[i].revents) {
                                p[i].fd = -1;
                                left--;
                        }
        }
        free(p);
        return r;
}

static int pidfd_kill(const char *handle)
{
        int64_t deadline = deadline_after(KILL_WAIT_MS);
        struct snapshot s = { 0 };
        struct tree tr = { 0 };
        struct proc_info root;
        bool finished;
        uint64_t start;
        pid_t pid;
        int r;

        r = pid_parse_handle(handle, &pid, &start);
        if (r < 0)
                return r;
        /* Gone, or the pid now names another process: nothing is left that
         * can be traced to the session (see the top of this file). */
        if (proc_read(pid, &root) < 0 || root.start != start)
                return 0;
        r = tree_add(&tr, &root);
        if (r <= 0)
                goto out;
        do
                r = tree_grow(&tr, &s);
        while (r > 0 && remaining_ms(deadline) > 0);
        finished = r == 0;
        /* Even when the walk failed or ran out of time, what was found dies. */
        for (size_t i = 0; i < tr.n; i++)
                (void) pidfd_send_signal(tr.v[i].fd, SIGKILL, NULL, 0);
        if (r >= 0) {
                r = tree_wait(&tr, deadline);
                if (r >= 0 && !finished)
                        r = -EBUSY;     /* the walk was cut short: more may be out there */
        }
out:
        free(s.v);
        tree_done(&tr);
        return r < 0 ? r : 0;
}

static int pidfd_alive(const char *handle, bool *ret)
{
        struct proc_info pi;
        uint64_t start;
        pid_t pid;
        int r;

        r = pid_parse_handle(handle, &pid, &start);
        if (r < 0)
                return r;
        r = proc_read(pid, &pi);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret = r >= 0 && pi.start == start && !proc_dead(&pi);
        return 0;
}

/* ---- systemd glue ----------------------------------------------------- */

/* A fresh connection per call: sessions open and end rarely, and a
 * connection kept across a restart of dbus would have to be repaired. Every
 * call on it is synchronous, so closing it unflushed loses nothing. */
static int systemd_bus(sd_bus **ret)
{
        if (sd_booted() <= 0)
                return -EOPNOTSUPP;
        return sd_bus_open_system(ret);
}

static int systemd_attach(int64_t grant_id, uint64_t session_id, pid_t pid, char **ret)
{
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *description = NULL;
        char unit[TEARDOWN_HANDLE_MAX];
        int r;

        r = teardown_systemd_unit_name(grant_id, session_id, unit, sizeof(unit));
        if (r < 0)
                return r;
        if (asprintf(&description, "pam_jit session %" PRIu64 " of grant %" PRId64, session_id, grant_id) < 0)
                return -ENOMEM;
        r = systemd_bus(&bus);
        if (r < 0)
                return r;
        r = teardown_systemd_attach(bus, unit, pid, description);
        if (r < 0)
                return r;
        return strdup_to(unit, ret);
}

static int systemd_kill(const char *unit)
{
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        int r = systemd_bus(&bus);

        /* No systemd now means a reboot since the attach: no scope survives one. */
        if (r == -EOPNOTSUPP)
                return 0;
        if (r < 0)
                return r;
        return teardown_systemd_kill(bus, unit);
}

static int systemd_alive(const char *unit, bool *ret)
{
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        int r = systemd_bus(&bus);

        if (r == -EOPNOTSUPP) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return r;
        return teardown_systemd_alive(bus, unit, ret);
}

/* ---- the interface ---------------------------------------------------- */

static bool pidfd_works(void)
{
        int fd = pidfd_open(getpid(), 0);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

int teardown_new(enum teardown_mode mode, const char *cgroup_root_override, struct teardown **ret)
{
        struct teardown *t;
        int r = 0;

        if (!ret || (unsigned) mode >= ELEMENTSOF(mode_names))
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        /* Found whatever the mode: cgroup handles from before a mode change
         * can still be killed. */
        if (cgroup_root_override) {
                t->cgroot = strdup(cgroup_root_override);
                if (!t->cgroot)
                        r = -ENOMEM;
        } else {
                r = cgroup2_find_mount(&t->cgroot);
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

int teardown_attach(struct teardown *t, int64_t grant_id, uint64_t session_id, pid_t pid, char **ret_handle)
{
        if (!t || grant_id <= 0 || pid <= 1 || pid == getpid() || !ret_handle)
                return -EINVAL;
        switch (t->mode) {
        case TEARDOWN_SYSTEMD:
                return systemd_attach(grant_id, session_id, pid, ret_handle);
        case TEARDOWN_CGROUP:
                return cgroup_attach(t, grant_id, session_id, pid, ret_handle);
        case TEARDOWN_PIDFD:
                return pidfd_attach(pid, ret_handle);
        case TEARDOWN_NONE:
                return strdup_to("", ret_handle);
        case TEARDOWN_AUTO:
                break;
        }
        return -EINVAL;
}

int teardown_kill(struct teardown *t, const char *handle)
{
        if (!t || !handle)
                return -EINVAL;
        if (t->mode == TEARDOWN_NONE || handle[0] == '\0')
                return 0;
        if (strncmp(handle, PID_PREFIX, strlen(PID_PREFIX)) == 0)
                return pidfd_kill(handle);
        if (strncmp(handle, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) == 0) {
                char name[64];

                /* No cgroup2 mount now: the cgroup died with the boot it was made in. */
                if (!t->cgroot)
                        return cgroup_parse_handle(handle, name, sizeof(name)) < 0 ? -EINVAL : 0;
                return cgroup_kill(t, handle);
        }
        if (teardown_systemd_valid_unit(handle))
                return systemd_kill(handle);
        return -EINVAL;
}

static bool is_cgroup_handle(const struct teardown *t, const char *handle)
{
        return t->mode != TEARDOWN_NONE && t->cgroot &&
               strncmp(handle, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) == 0;
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
                              is_cgroup_handle(t, handles[i]) ? cgroup_kill_send(t, handles[i], &dirs[i]) :
                              teardown_kill(t, handles[i]);
        deadline = deadline_after(KILL_WAIT_MS);
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
        bool alive = false;
        int r = 0;

        if (!t || !handle || !ret_alive)
                return -EINVAL;
        if (handle[0] == '\0')
                alive = false;
        else if (strncmp(handle, PID_PREFIX, strlen(PID_PREFIX)) == 0)
                r = pidfd_alive(handle, &alive);
        else if (strncmp(handle, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) == 0) {
                char name[64];

                if (t->cgroot)
                        r = cgroup_alive(t, handle, &alive);
                else
                        r = cgroup_parse_handle(handle, name, sizeof(name));
        } else if (teardown_systemd_valid_unit(handle))
                r = systemd_alive(handle, &alive);
        else
                r = -EINVAL;
        if (r < 0)
                return r;
        *ret_alive = alive;
        return 0;
}
