/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pidfd backend of teardown: the fallback without a usable cgroup2 mount,
 * and the net under every other backend (a session's leader is checked by pid
 * and start time whatever its handle says). At kill time the session's
 * process P (checked by start time against pid reuse) and its descendants are
 * found through the PPid field of /proc/PID/stat, plus every process whose
 * session is led by one of them (a double-forked daemon that kept its
 * session, e.g. in the session sudo's use_pty monitor or the ssh login shell
 * lead). Found processes are SIGSTOPped as they are found, so that the tree
 * cannot grow or be reparented while it is walked, then all are SIGKILLed.
 * Every signal goes through a pidfd opened and checked against the start time
 * first, so a pid recycled meanwhile is never hit.
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
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "teardown_internal.h"
#include "util.h"

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

        if (!td_parse_u64(s, end, &v) || v > INT32_MAX)
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
        return td_parse_u64(p, &e, &ret->start) && (*e == ' ' || *e == '\n' || *e == '\0') ? 0 : -EIO;
}

static bool proc_dead(const struct proc_info *pi)
{
        return pi->state == 'Z' || pi->state == 'X' || pi->state == 'x';
}

int pid_parse_handle(const char *handle, pid_t *ret_pid, uint64_t *ret_start)
{
        const char *p = handle + strlen(PID_PREFIX), *e;
        char canon[TEARDOWN_HANDLE_MAX];
        uint64_t start;
        pid_t pid;

        if (strncmp(handle, PID_PREFIX, strlen(PID_PREFIX)) != 0 || !parse_pid(p, &e, &pid) || pid <= 1 ||
            *e != ':' || !td_parse_u64(e + 1, &e, &start) || *e != '\0')
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

int pidfd_attach(pid_t pid, char **ret)
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
                int ms = td_remaining_ms(deadline), n;

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

struct pid_tree {
        struct tree tr;
        bool finished;          /* the walk found everything (not cut short) */
};

int pid_tree_kill_start(pid_t pid, uint64_t start, struct pid_tree **ret)
{
        int64_t deadline = td_deadline_after(KILL_WAIT_MS);
        struct snapshot s = { 0 };
        struct pid_tree *pt;
        struct proc_info root;
        int r;

        pt = calloc(1, sizeof(*pt));
        if (!pt)
                return -ENOMEM;
        /* Gone, or the pid now names another process: nothing is left that
         * can be traced to the session (see the top of this file). */
        if (proc_read(pid, &root) < 0 || root.start != start) {
                pt->finished = true;
                *ret = pt;
                return 0;
        }
        r = tree_add(&pt->tr, &root);
        if (r > 0) {
                do
                        r = tree_grow(&pt->tr, &s);
                while (r > 0 && td_remaining_ms(deadline) > 0);
        }
        pt->finished = r == 0;
        /* Even when the walk failed or ran out of time, what was found dies. */
        for (size_t i = 0; i < pt->tr.n; i++)
                (void) pidfd_send_signal(pt->tr.v[i].fd, SIGKILL, NULL, 0);
        free(s.v);
        if (r < 0) {
                pid_tree_free(pt);
                return r;
        }
        *ret = pt;
        return 0;
}

int pid_tree_check(struct pid_tree *pt, bool *ret_done)
{
        size_t left = 0;

        for (size_t i = 0; i < pt->tr.n; i++) {
                struct pollfd p = { .fd = pt->tr.v[i].fd, .events = POLLIN };

                /* A pidfd polls readable once its process has exited. */
                if (pt->tr.v[i].fd >= 0 && poll(&p, 1, 0) == 0)
                        left++;
        }
        if (left == 0 && !pt->finished)
                return -EBUSY;  /* the walk was cut short: more may be out there */
        *ret_done = left == 0;
        return 0;
}

void pid_tree_free(struct pid_tree *pt)
{
        if (!pt)
                return;
        tree_done(&pt->tr);
        free(pt);
}

int pidfd_kill(const char *handle)
{
        int64_t deadline = td_deadline_after(KILL_WAIT_MS);
        struct pid_tree *pt = NULL;
        uint64_t start;
        pid_t pid;
        int r;

        r = pid_parse_handle(handle, &pid, &start);
        if (r < 0)
                return r;
        r = pid_tree_kill_start(pid, start, &pt);
        if (r < 0)
                return r;
        r = tree_wait(&pt->tr, deadline);
        if (r >= 0 && !pt->finished)
                r = -EBUSY;
        pid_tree_free(pt);
        return r < 0 ? r : 0;
}

int pid_alive(pid_t pid, uint64_t start, bool *ret)
{
        struct proc_info pi;
        int r = proc_read(pid, &pi);

        if (r < 0 && r != -ENOENT)
                return r;
        *ret = r >= 0 && pi.start == start && !proc_dead(&pi);
        return 0;
}

int proc_start_time(pid_t pid, uint64_t *ret)
{
        struct proc_info pi;
        int r;

        if (pid <= 0)
                return -EINVAL;
        r = proc_read(pid, &pi);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        if (proc_dead(&pi))
                return -ESRCH;
        *ret = pi.start;
        return 0;
}

int proc_parent(pid_t pid, pid_t *ret)
{
        struct proc_info pi;
        int r;

        r = proc_read(pid, &pi);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        *ret = pi.ppid;
        return 0;
}

bool pidfd_works(void)
{
        int fd = pidfd_open(getpid(), 0);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

int pidfd_alive(const char *handle, bool *ret)
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
