/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * teardown: the cgroup backend on the machine's real cgroup2 mount, the pidfd
 * backend on real process trees, mode resolution, and the systemd backend
 * against a fake manager on a socketpair (PID 1 is not systemd here).
 *
 * Cgroup tests work under one cgroup that main() makes (jit-test-XXXXXX at
 * the top of the cgroup2 mount) and removes at the end, killing whatever a
 * failed test left in it, so repeated runs leave nothing behind. The test
 * process is a child subreaper: orphans of the process trees it builds come
 * back to it, so that it can reap them and tell dead from alive exactly.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <sys/mount.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#include "teardown.h"
#include "util.h"

static char tmpdir[512];                /* scratch under $TMPDIR */
static char cgmount[512];               /* the real cgroup2 mount; "" = none */
static char cgtest[600];                /* our cgroup under it; "" = none */
static char cgsandbox[700];             /* cgtest/sandbox: every child starts here */
static bool have_pidfd;                 /* valgrind 3.19 does not know the pidfd syscalls */

#define SKIP_WITHOUT_CGROUP()                                                                   \
        do {                                                                                    \
                if (!cgtest[0]) {                                                               \
                        printf("SKIP %s: no writable cgroup2 mount with cgroup.kill\n", __func__); \
                        return;                                                                 \
                }                                                                               \
        } while (0)

#define SKIP_WITHOUT_PIDFD()                                                                    \
        do {                                                                                    \
                if (!have_pidfd) {                                                              \
                        printf("SKIP %s: pidfd_open is not available (valgrind?)\n", __func__);  \
                        return;                                                                 \
                }                                                                               \
        } while (0)

/* snprintf that fails the test instead of truncating. */
#define PATHF(buf, ...) ck_assert(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int) sizeof(buf))

/* ---- process trees ---------------------------------------------------- */

enum member_role { R_C, R_G, R_GG, R_MON, R_CMD, R_D, R_D2, R_E, R_MAX };
static const char *const role_names[R_MAX] = { "C", "G", "GG", "MON", "CMD", "D", "D2", "E" };

/* What C (the session's process) builds once attached. */
enum {
        F_SETSID     = 1 << 0,  /* C leads its own session, like sshd's per-connection process */
        F_CHILD      = 1 << 1,  /* G: a plain child */
        F_GRANDCHILD = 1 << 2,  /* GG: G's child */
        F_MONITOR    = 1 << 3,  /* MON: setsid child (sudo's use_pty monitor) with CMD below it, and D:
                                 * a double fork inside MON's session, orphaned */
        F_DAEMON     = 1 << 4,  /* D2: C double-forks without setsid: orphaned, stays in C's session */
        F_ESCAPEE    = 1 << 5,  /* E: double fork with setsid in the middle: new session, orphaned */
};

struct family {
        pid_t pid[R_MAX];
        bool reaped[R_MAX];
        unsigned want;          /* roles expected */
        int go;                 /* write end: start building */
        int rep;                /* read end: {role, pid} records */
};

static void report(int fd, enum member_role r)
{
        int rec[2] = { (int) r, (int) getpid() };

        if (write(fd, rec, sizeof(rec)) != (ssize_t) sizeof(rec))
                _exit(1);
}

static _Noreturn void hang(void)
{
        for (;;)
                pause();
}

static int write_file(const char *path, const char *s);

/* Check's runner handles SIGTERM by killing its whole process group: the
 * processes built here must not inherit that. */
static void child_init(void)
{
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGALRM, SIG_DFL);
}

/* Into our sandbox cgroup before it forks anything (and before a test
 * attaches it), so that main() kills whatever a failed test leaves running. */
static void sandbox(pid_t pid)
{
        char p[800], num[16];

        if (cgsandbox[0] && snprintf(p, sizeof(p), "%s/cgroup.procs", cgsandbox) < (int) sizeof(p)) {
                snprintf(num, sizeof(num), "%d", (int) pid);
                ck_assert_int_eq(write_file(p, num), 0);
        }
}

/* The double fork of daemon(3): the middle process is reaped at once, so no
 * zombie is left to lead anywhere. */
static void double_fork(int rep, enum member_role r, bool new_session)
{
        pid_t mid = fork();

        if (mid == 0) {
                if (new_session && setsid() < 0)
                        _exit(1);
                if (fork() == 0) {
                        report(rep, r);
                        hang();
                }
                _exit(0);
        }
        if (mid < 0 || waitpid(mid, NULL, 0) != mid)
                _exit(1);
}

static _Noreturn void family_body(unsigned shape, int rep)
{
        if ((shape & F_SETSID) && setsid() < 0)
                _exit(1);
        if ((shape & F_CHILD) && fork() == 0) {
                report(rep, R_G);
                if ((shape & F_GRANDCHILD) && fork() == 0) {
                        report(rep, R_GG);
                        hang();
                }
                hang();
        }
        if ((shape & F_MONITOR) && fork() == 0) {
                if (setsid() < 0)
                        _exit(1);
                if (fork() == 0) {
                        report(rep, R_CMD);
                        hang();
                }
                double_fork(rep, R_D, false);
                report(rep, R_MON);
                hang();
        }
        if (shape & F_DAEMON)
                double_fork(rep, R_D2, false);
        if (shape & F_ESCAPEE)
                double_fork(rep, R_E, true);
        /* Last, so that the test starts only once every middle process of a
         * double fork is gone, as it would be in a real daemon. */
        report(rep, R_C);
        hang();
}

static unsigned roles_of(unsigned shape)
{
        unsigned w = 1u << R_C;

        if (shape & F_CHILD)
                w |= 1u << R_G;
        if ((shape & F_CHILD) && (shape & F_GRANDCHILD))
                w |= 1u << R_GG;
        if (shape & F_MONITOR)
                w |= 1u << R_MON | 1u << R_CMD | 1u << R_D;
        if (shape & F_DAEMON)
                w |= 1u << R_D2;
        if (shape & F_ESCAPEE)
                w |= 1u << R_E;
        return w;
}

/* C waits on the go pipe: it must be attached before it forks anything, as
 * sudo and sshd are. */
static void family_spawn(struct family *f, unsigned shape)
{
        int go[2], rep[2];
        pid_t c;

        ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
        memset(f, 0, sizeof(*f));
        ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
        c = fork();
        ck_assert_int_ge(c, 0);
        if (c == 0) {
                char b;

                child_init();
                close(go[1]);
                close(rep[0]);
                if (read(go[0], &b, 1) != 1)
                        _exit(1);
                close(go[0]);
                family_body(shape, rep[1]);
        }
        close(go[0]);
        close(rep[1]);
        sandbox(c);
        f->pid[R_C] = c;
        f->want = roles_of(shape);
        f->go = go[1];
        f->rep = rep[0];
}

static void family_go(struct family *f)
{
        unsigned have = 0;
        int64_t deadline = now_monotonic_ms() + 5000;

        ck_assert_int_eq(write(f->go, "x", 1), 1);
        close(f->go);
        f->go = -1;
        while (have != f->want) {
                struct pollfd p = { .fd = f->rep, .events = POLLIN };
                int rec[2];

                ck_assert_msg(now_monotonic_ms() < deadline, "the process tree did not report in");
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ck_assert_int_eq(read(f->rep, rec, sizeof(rec)), (ssize_t) sizeof(rec));
                ck_assert(rec[0] >= R_C && rec[0] < R_MAX);
                f->pid[rec[0]] = rec[1];
                have |= 1u << rec[0];
        }
        close(f->rep);
        f->rep = -1;
}

/* A lone child in the test's own session: the neighbour nothing may touch. */
static pid_t spawn_sleeper(void)
{
        pid_t p = fork();

        ck_assert_int_ge(p, 0);
        if (p == 0) {
                child_init();
                hang();
        }
        sandbox(p);
        return p;
}

static bool proc_state(pid_t pid, char *ret)
{
        char path[64], buf[1024];
        const char *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (!p || !p[1] || !p[2])
                return false;
        *ret = p[2];
        return true;
}

/* Running, as opposed to gone or a zombie. */
static bool running(pid_t pid)
{
        char st;

        return proc_state(pid, &st) && st != 'Z' && st != 'X';
}

/* Dead and reaped (by us when it is, or becomes, our child). Only for pids
 * that stay ours or a descendant's until then, so they cannot be reused. */
static bool wait_dead(pid_t pid, int64_t deadline, int *ret_sig)
{
        for (;;) {
                int st;
                pid_t r = waitpid(pid, &st, WNOHANG);

                if (r == pid) {
                        *ret_sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
                        return true;
                }
                if (now_monotonic_ms() >= deadline)
                        return false;
                usleep(200);
        }
}

static void family_reap(struct family *f, int64_t deadline, const char *why)
{
        for (int r = 0; r < R_MAX; r++) {
                int sig = -1;

                if (!(f->want & (1u << r)) || f->reaped[r])
                        continue;
                ck_assert_msg(wait_dead(f->pid[r], deadline, &sig), "%s: %s (pid %d) still alive", why,
                              role_names[r], (int) f->pid[r]);
                ck_assert_msg(sig == SIGKILL, "%s: %s ended with signal %d", why, role_names[r], sig);
                f->reaped[r] = true;
        }
}

/* Intermediate processes that exited on purpose, orphaned to us. */
static void reap_rest(void)
{
        int64_t deadline = now_monotonic_ms() + 2000;

        for (;;) {
                pid_t r = waitpid(-1, NULL, WNOHANG);

                if (r < 0)
                        return;
                if (r == 0) {
                        if (now_monotonic_ms() >= deadline)
                                return;
                        usleep(1000);
                }
        }
}

static void family_kill(struct family *f)
{
        for (int r = 0; r < R_MAX; r++)
                if ((f->want & (1u << r)) && !f->reaped[r] && f->pid[r] > 0) {
                        int sig;

                        kill(f->pid[r], SIGKILL);
                        if (wait_dead(f->pid[r], now_monotonic_ms() + 2000, &sig))
                                f->reaped[r] = true;
                }
        reap_rest();
}

/* ---- cgroup helpers --------------------------------------------------- */

static bool exists(const char *dir, const char *name)
{
        char p[PATH_MAX];
        struct stat st;

        if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int) sizeof(p))
                return false;
        return stat(p, &st) == 0;
}

static bool exists_jit(const char *name)
{
        char p[PATH_MAX];

        if (snprintf(p, sizeof(p), "%s/jit", cgtest) >= (int) sizeof(p))
                return false;
        return exists(p, name);
}

static bool file_contains(const char *path, const char *needle)
{
        char buf[4096];
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                return false;
        buf[n] = '\0';
        return strstr(buf, needle) != NULL;
}

static int write_file(const char *path, const char *s)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* A teardown that kills something, whichever backend works here. */
static struct teardown *killing_teardown(void)
{
        struct teardown *t = NULL;

        if (have_pidfd)
                ck_assert_int_eq(teardown_new(TEARDOWN_PIDFD, cgtest[0] ? cgtest : NULL, &t), 0);
        else if (cgtest[0])
                ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
        else
                ck_abort_msg("neither pidfd nor cgroup2 works here");
        return t;
}

/* ---- cgroup ----------------------------------------------------------- */

START_TEST(test_cgroup_kill_tree)
{
        unsigned shape = F_CHILD | F_GRANDCHILD | F_MONITOR | F_DAEMON | F_ESCAPEE;
        struct teardown *t = NULL;
        char *h = NULL, dir[PATH_MAX], p[PATH_MAX], num[16], needle[64];
        struct family f;
        int64_t t0, t_ret;
        bool alive = false;
        int r;

        SKIP_WITHOUT_CGROUP();
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
        ck_assert_str_eq(teardown_mode_name(t), "cgroup");
        ck_assert_str_eq(teardown_cgroup_root(t), cgtest);

        family_spawn(&f, shape);
        ck_assert_int_eq(teardown_attach(t, 11, 1, f.pid[R_C], &h), 0);
        ck_assert_str_eq(h, "cgroup:/jit/g11-s1");
        PATHF(dir, "%s/jit/g11-s1", cgtest);
        PATHF(num, "%d", (int) f.pid[R_C]);
        PATHF(p, "%s/cgroup.procs", dir);
        ck_assert(file_contains(p, num));
        family_go(&f);

        /* The escapee really left: own session, parent gone. */
        ck_assert_int_ne(getsid(f.pid[R_E]), getsid(f.pid[R_C]));
        PATHF(p, "/proc/%d/cgroup", (int) f.pid[R_E]);
        PATHF(needle, "/jit/g11-s1\n");
        ck_assert_msg(file_contains(p, needle), "the escapee was not born in the session's cgroup");
        for (int i = 0; i < R_MAX; i++)
                if (f.want & (1u << i))
                        ck_assert_msg(running(f.pid[i]), "%s not running", role_names[i]);

        /* A root process may nest a cgroup inside and move there. */
        PATHF(p, "%s/nested", dir);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        PATHF(p, "%s/nested/cgroup.procs", dir);
        PATHF(num, "%d", (int) f.pid[R_GG]);
        ck_assert_int_eq(write_file(p, num), 0);

        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(alive);

        t0 = now_monotonic_ms();
        r = teardown_kill(t, h);
        t_ret = now_monotonic_ms();
        ck_assert_int_eq(r, 0);
        family_reap(&f, t0 + 1000, "cgroup kill");
        printf("cgroup: teardown_kill returned after %" PRId64 " ms, all %d processes reaped after %" PRId64
               " ms\n", t_ret - t0, __builtin_popcount(f.want), now_monotonic_ms() - t0);
        reap_rest();

        ck_assert_msg(!exists(dir, "."), "%s left behind", dir);
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(!alive);
        /* Again, after the cgroup is gone. */
        ck_assert_int_eq(teardown_kill(t, h), 0);
        free(h);
        teardown_free(t);
}
END_TEST

START_TEST(test_cgroup_attach_gone)
{
        struct teardown *t = NULL;
        char *h = (char *) "untouched";
        pid_t p;
        int st;

        SKIP_WITHOUT_CGROUP();
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);

        /* Exited and reaped. */
        p = fork();
        ck_assert_int_ge(p, 0);
        if (p == 0)
                _exit(0);
        ck_assert_int_eq(waitpid(p, &st, 0), p);
        ck_assert_int_eq(teardown_attach(t, 12, 1, p, &h), -ESRCH);
        ck_assert_str_eq(h, "untouched");
        ck_assert(!exists_jit("g12-s1"));

        /* A zombie: the kernel takes its pid and moves nothing. */
        p = fork();
        ck_assert_int_ge(p, 0);
        if (p == 0)
                _exit(0);
        ck_assert_int_eq(waitid(P_PID, (id_t) p, &(siginfo_t) { 0 }, WEXITED | WNOWAIT), 0);
        ck_assert_int_eq(teardown_attach(t, 12, 2, p, &h), -ESRCH);
        ck_assert(!exists_jit("g12-s2"));
        ck_assert_int_eq(waitpid(p, &st, 0), p);
        teardown_free(t);
}
END_TEST

START_TEST(test_cgroup_session_exits_alone)
{
        struct teardown *t = NULL;
        bool alive = true;
        char *h = NULL, *h2 = NULL, *h3 = NULL;
        pid_t p, q;
        int sig;

        SKIP_WITHOUT_CGROUP();
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
        p = spawn_sleeper();
        ck_assert_int_eq(teardown_attach(t, 13, 1, p, &h), 0);
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(alive);
        kill(p, SIGKILL);
        ck_assert(wait_dead(p, now_monotonic_ms() + 2000, &sig));
        /* Empty but still there (until the grant ends): not alive. */
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(!alive);
        ck_assert(exists_jit("g13-s1"));

        /* The same ids again (a database that started over): an empty cgroup
         * is taken over; a populated one holds an untracked orphan of the old
         * database, which is killed before the name is taken over. */
        p = spawn_sleeper();
        q = spawn_sleeper();
        ck_assert_int_eq(teardown_attach(t, 13, 1, p, &h2), 0);
        ck_assert_str_eq(h2, h);
        ck_assert_int_eq(teardown_attach(t, 13, 1, q, &h3), 0);
        ck_assert_str_eq(h3, h);
        ck_assert(wait_dead(p, now_monotonic_ms() + 1000, &sig));
        ck_assert_int_eq(sig, SIGKILL);
        ck_assert(running(q));
        ck_assert_int_eq(teardown_kill(t, h3), 0);
        ck_assert(!exists_jit("g13-s1"));
        ck_assert(wait_dead(q, now_monotonic_ms() + 1000, &sig));
        ck_assert_int_eq(sig, SIGKILL);
        free(h3);
        free(h2);
        free(h);
        teardown_free(t);
}
END_TEST

/* jitd restarted from inside a session must not die with it. */
START_TEST(test_cgroup_jitd_leaves_session)
{
        struct teardown *t = NULL;
        char *h = NULL, own[700];
        int go[2], st;
        pid_t x;

        SKIP_WITHOUT_CGROUP();
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
        /* What /proc/self/cgroup says about cgtest itself. */
        PATHF(own, "0::%s\n", cgtest + strlen(cgmount));
        ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
        x = fork();
        ck_assert_int_ge(x, 0);
        if (x == 0) {
                struct teardown *t2 = NULL;
                char b;

                child_init();
                close(go[1]);
                if (read(go[0], &b, 1) != 1)
                        _exit(2);
                if (!file_contains("/proc/self/cgroup", "/jit/g41-s1\n"))
                        _exit(3);
                if (teardown_new(TEARDOWN_CGROUP, cgtest, &t2) < 0)
                        _exit(4);
                teardown_free(t2);
                _exit(file_contains("/proc/self/cgroup", own) ? 0 : 5);
        }
        close(go[0]);
        sandbox(x);
        ck_assert_int_eq(teardown_attach(t, 41, 1, x, &h), 0);
        ck_assert_int_eq(write(go[1], "x", 1), 1);
        close(go[1]);
        ck_assert_int_eq(waitpid(x, &st, 0), x);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
        ck_assert_int_eq(teardown_kill(t, h), 0);
        ck_assert(!exists_jit("g41-s1"));
        free(h);
        teardown_free(t);
}
END_TEST

/* Many sessions at once: each cgroup (one with a child cgroup inside), one
 * already gone and one malformed handle, every result in its own slot. */
START_TEST(test_cgroup_kill_many)
{
        enum { N = 6 };
        struct teardown *t = NULL;
        char *h[N] = { 0 }, p[PATH_MAX], num[16];
        const char *handles[N + 2];
        int errs[N + 2];
        pid_t kids[N];
        int64_t t0;

        SKIP_WITHOUT_CGROUP();
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
        for (int i = 0; i < N; i++) {
                kids[i] = fork();
                ck_assert_int_ge(kids[i], 0);
                if (kids[i] == 0) {
                        for (;;)
                                pause();
                }
                ck_assert_int_eq(teardown_attach(t, 60 + i, 1, kids[i], &h[i]), 0);
                handles[i] = h[i];
        }
        /* A root process nested a cgroup inside its session's one. */
        PATHF(p, "%s/jit/g60-s1/nested", cgtest);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        PATHF(p, "%s/jit/g60-s1/nested/cgroup.procs", cgtest);
        PATHF(num, "%d", (int) kids[0]);
        ck_assert_int_eq(write_file(p, num), 0);
        handles[N] = "cgroup:/jit/g99-s9";      /* gone long ago */
        handles[N + 1] = "cgroup:/jit/../x";    /* malformed */

        t0 = now_monotonic_ms();
        ck_assert_int_eq(teardown_kill_many(t, handles, N + 2, errs), 0);
        printf("cgroup: teardown_kill_many of %d sessions returned after %" PRId64 " ms\n", N,
               now_monotonic_ms() - t0);
        for (int i = 0; i < N; i++) {
                int st;
                bool alive = true;

                ck_assert_msg(errs[i] == 0, "session %d: %s", i, strerror(-errs[i]));
                ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
                ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
                PATHF(p, "g%d-s1", 60 + i);
                ck_assert_msg(!exists_jit(p), "%s left behind", p);
                ck_assert_int_eq(teardown_alive(t, h[i], &alive), 0);
                ck_assert(!alive);
                free(h[i]);
        }
        ck_assert_int_eq(errs[N], 0);
        ck_assert_int_eq(errs[N + 1], -EINVAL);

        ck_assert_int_eq(teardown_kill_many(t, NULL, 0, NULL), 0);
        ck_assert_int_eq(teardown_kill_many(t, NULL, 1, errs), -EINVAL);
        ck_assert_int_eq(teardown_kill_many(NULL, handles, 1, errs), -EINVAL);
        teardown_free(t);
}
END_TEST

START_TEST(test_cgroup_bad_handles)
{
        static const char *const bad[] = {
                "cgroup:/jit/../../x", "cgroup:/jit/g01-s1", "cgroup:/jit/g1-s01", "cgroup:/jit/g0-s1",
                "cgroup:/jit/g1-s1/..", "cgroup:/jit/g1-s", "cgroup:/jit/g-s1", "cgroup:/jit/g+1-s1",
                "cgroup:/jit/g1-s1 ", "cgroup:/jit/", "cgroup:/other/g1-s1", "cgroup:/jit/g9223372036854775808-s1",
                "pid:", "pid:abc:1", "pid:12", "pid:12:", "pid:012:5", "pid:12:05", "pid:1:5", "pid:-5:5",
                "pid:12:5:6", "pid:99999999999:5", "jit-g1-s1.service", "jit-g01-s1.scope", "foo", " ",
                "logind:", "logind:/user.slice/user-1000.slice/session-5.scope/..",
                "logind:/user.slice/user-1000.slice/../../etc", "logind:/user.slice/user-01000.slice/session-5.scope",
                "logind:/user.slice/user-1000.slice/session-.scope", "logind:/system.slice/sshd.service",
                "logind:/user.slice/user-1000.slice/session-5.scope/x",
                "logind:/user.slice/user-1000.slice/session-a/b.scope",
                "logind:/user.slice/user-4294967295.slice/session-5.scope",
        };
        struct teardown *t = NULL;
        bool alive;

        t = killing_teardown();
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_msg(teardown_kill(t, bad[i]) == -EINVAL, "kill '%s' not refused", bad[i]);
                ck_assert_msg(teardown_alive(t, bad[i], &alive) == -EINVAL, "alive '%s' not refused", bad[i]);
        }
        ck_assert_int_eq(teardown_kill(t, NULL), -EINVAL);
        ck_assert_int_eq(teardown_kill(NULL, "pid:12:5"), -EINVAL);
        teardown_free(t);
}
END_TEST


/* A cgroup shaped like logind's: <cgtest>/user.slice/user-1000.slice/<scope>. */
static void logind_scope_make(char *dir, size_t size, const char *scope)
{
        char p[PATH_MAX];

        PATHF(p, "%s/user.slice", cgtest);
        ck_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
        PATHF(p, "%s/user.slice/user-1000.slice", cgtest);
        ck_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
        ck_assert_int_lt(snprintf(dir, size, "%s/user.slice/user-1000.slice/%s", cgtest, scope), (int) size);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
}

static void logind_scope_remove(const char *dir)
{
        char p[PATH_MAX];

        rmdir(dir);
        PATHF(p, "%s/user.slice/user-1000.slice", cgtest);
        rmdir(p);
        PATHF(p, "%s/user.slice", cgtest);
        rmdir(p);
}

/* A login session logind tracks: its scope is the handle; killing it kills
 * everything in it and leaves the scope itself to systemd (not removed). */
START_TEST(test_logind_scope_kill)
{
        const char *h = "logind:/user.slice/user-1000.slice/session-t9.scope";
        char dir[PATH_MAX], p[PATH_MAX], num[16];
        struct teardown *t = NULL;
        bool alive = false;
        pid_t child;
        int status;

        SKIP_WITHOUT_CGROUP();
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
        logind_scope_make(dir, sizeof(dir), "session-t9.scope");
        child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
                pause();
                _exit(0);
        }
        PATHF(p, "%s/cgroup.procs", dir);
        PATHF(num, "%d", (int) child);
        ck_assert_int_eq(write_file(p, num), 0);
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(alive);
        ck_assert_int_eq(teardown_kill(t, h), 0);
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(!alive);
        ck_assert_msg(exists(dir, "."), "logind's scope %s was removed: it is systemd's", dir);
        logind_scope_remove(dir);
        teardown_free(t);
}
END_TEST

/* Under jitd.service (ProtectControlGroups=yes) the cgroup tree is
 * read-only: cgroup.kill cannot be written, and the scope's processes are
 * killed one by one instead, forks included, until it is empty. */
START_TEST(test_logind_scope_kill_readonly)
{
        const char *h = "logind:/user.slice/user-1000.slice/session-t8.scope";
        char dir[PATH_MAX], p[PATH_MAX], num[16];
        struct teardown *t = NULL;
        pid_t victim, tester;
        int status;

        SKIP_WITHOUT_CGROUP();
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
        logind_scope_make(dir, sizeof(dir), "session-t8.scope");
        victim = fork();
        ck_assert_int_ge(victim, 0);
        if (victim == 0) {
                /* A session that keeps forking: children die, more come. */
                for (;;) {
                        pid_t c = fork();

                        if (c == 0) {
                                pause();
                                _exit(0);
                        }
                        usleep(500);
                }
        }
        PATHF(p, "%s/cgroup.procs", dir);
        PATHF(num, "%d", (int) victim);
        ck_assert_int_eq(write_file(p, num), 0);
        usleep(20000);
        tester = fork();
        ck_assert_int_ge(tester, 0);
        if (tester == 0) {
                bool alive = true;
                int r;

                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount(cgtest, cgtest, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, cgtest, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                        _exit(3);
                PATHF(p, "%s/cgroup.kill", dir);
                if (write_file(p, "1") != -EROFS)
                        _exit(4);
                r = teardown_kill(t, h);
                if (r < 0)
                        _exit(10 + (-r & 0x3f));
                if (teardown_alive(t, h, &alive) < 0 || alive)
                        _exit(5);
                _exit(0);
        }
        ck_assert_int_eq(waitpid(tester, &status, 0), tester);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the read-only kill: status %d", status);
        ck_assert_int_eq(waitpid(victim, &status, 0), victim);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        logind_scope_remove(dir);
        teardown_free(t);
}
END_TEST

/* ---- pidfd ------------------------------------------------------------ */

/* Like sudo: C is in the test's own terminal session and does not lead it. */
START_TEST(test_pidfd_kill_tree_sudo_like)
{
        unsigned shape = F_CHILD | F_GRANDCHILD | F_MONITOR | F_ESCAPEE;
        struct teardown *t = NULL;
        struct family f;
        int64_t t0, t_ret;
        bool alive = false;
        char *h = NULL;
        pid_t s;
        int r;

        SKIP_WITHOUT_PIDFD();
        ck_assert_int_eq(teardown_new(TEARDOWN_PIDFD, NULL, &t), 0);
        ck_assert_str_eq(teardown_mode_name(t), "pidfd");
        s = spawn_sleeper();
        family_spawn(&f, shape);
        ck_assert_int_eq(teardown_attach(t, 21, 1, f.pid[R_C], &h), 0);
        ck_assert_int_eq(strncmp(h, "pid:", 4), 0);
        family_go(&f);
        ck_assert_int_eq(getsid(f.pid[R_C]), getsid(0));
        ck_assert_int_eq(getsid(f.pid[R_D]), f.pid[R_MON]);
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(alive);

        t0 = now_monotonic_ms();
        r = teardown_kill(t, h);
        t_ret = now_monotonic_ms();
        ck_assert_int_eq(r, 0);
        /* The escapee is documented to survive the pidfd path; set it aside. */
        f.want &= ~(1u << R_E);
        family_reap(&f, t0 + 1000, "pidfd kill");
        printf("pidfd: teardown_kill returned after %" PRId64 " ms, all %d processes reaped after %" PRId64
               " ms\n", t_ret - t0, __builtin_popcount(f.want), now_monotonic_ms() - t0);
        ck_assert_msg(running(f.pid[R_E]), "the double-forked setsid escapee died: update the documentation");
        ck_assert_msg(running(s), "a process in the same terminal session as sudo was killed");
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(!alive);
        f.want |= 1u << R_E;
        family_kill(&f);
        kill(s, SIGKILL);
        ck_assert_int_eq(waitpid(s, NULL, 0), s);
        free(h);
        teardown_free(t);
}
END_TEST

/* Like sshd: C leads its own session, so a daemon that double-forked but
 * kept the session is still found. */
START_TEST(test_pidfd_kill_tree_sshd_like)
{
        unsigned shape = F_SETSID | F_CHILD | F_GRANDCHILD | F_DAEMON;
        struct teardown *t = NULL;
        struct family f;
        char *h = NULL;

        SKIP_WITHOUT_PIDFD();
        ck_assert_int_eq(teardown_new(TEARDOWN_PIDFD, NULL, &t), 0);
        family_spawn(&f, shape);
        ck_assert_int_eq(teardown_attach(t, 22, 1, f.pid[R_C], &h), 0);
        family_go(&f);
        ck_assert_int_eq(getsid(f.pid[R_D2]), f.pid[R_C]);
        ck_assert_int_ne(getppid(), f.pid[R_C]);
        ck_assert_int_eq(teardown_kill(t, h), 0);
        family_reap(&f, now_monotonic_ms() + 1000, "pidfd kill");
        reap_rest();
        ck_assert_int_eq(teardown_kill(t, h), 0);
        free(h);
        teardown_free(t);
}
END_TEST

static char *fake_handle(pid_t pid, int64_t delta, const char *real)
{
        uint64_t start = strtoull(strrchr(real, ':') + 1, NULL, 10);
        char *h = NULL;

        ck_assert_int_ge(asprintf(&h, "pid:%d:%" PRIu64, (int) pid, start + (uint64_t) delta), 0);
        return h;
}

START_TEST(test_pidfd_recycled_pid)
{
        struct teardown *t = NULL;
        char *h = NULL, *fake = NULL;
        bool alive = true;
        pid_t p;

        SKIP_WITHOUT_PIDFD();
        ck_assert_int_eq(teardown_new(TEARDOWN_PIDFD, NULL, &t), 0);
        p = spawn_sleeper();
        ck_assert_int_eq(teardown_attach(t, 23, 1, p, &h), 0);
        /* The same pid with another start time: what a recycled pid looks like. */
        fake = fake_handle(p, 1, h);
        ck_assert_int_eq(teardown_kill(t, fake), 0);
        usleep(50 * 1000);
        ck_assert(running(p));
        ck_assert_int_eq(teardown_alive(t, fake, &alive), 0);
        ck_assert(!alive);
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(alive);
        ck_assert_int_eq(teardown_kill(t, h), 0);
        ck_assert(!running(p));
        ck_assert_int_eq(waitpid(p, NULL, 0), p);
        free(fake);
        free(h);
        teardown_free(t);
}
END_TEST

START_TEST(test_pidfd_gone)
{
        struct teardown *t = NULL;
        char *h = NULL, *h2 = (char *) "untouched";
        bool alive = true;
        pid_t p;

        SKIP_WITHOUT_PIDFD();
        ck_assert_int_eq(teardown_new(TEARDOWN_PIDFD, NULL, &t), 0);
        p = spawn_sleeper();
        ck_assert_int_eq(teardown_attach(t, 24, 1, p, &h), 0);
        kill(p, SIGKILL);
        /* A zombie: nothing to attach, nothing alive, killing it is a no-op. */
        ck_assert_int_eq(waitid(P_PID, (id_t) p, &(siginfo_t) { 0 }, WEXITED | WNOWAIT), 0);
        ck_assert_int_eq(teardown_attach(t, 24, 2, p, &h2), -ESRCH);
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(!alive);
        ck_assert_int_eq(teardown_kill(t, h), 0);
        /* Reaped: same answers. */
        ck_assert_int_eq(waitpid(p, NULL, 0), p);
        ck_assert_int_eq(teardown_attach(t, 24, 3, p, &h2), -ESRCH);
        ck_assert_str_eq(h2, "untouched");
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(!alive);
        ck_assert_int_eq(teardown_kill(t, h), 0);
        free(h);
        teardown_free(t);
}
END_TEST

/* ---- modes ------------------------------------------------------------ */

START_TEST(test_mode_auto_real)
{
        struct teardown *t = NULL;
        struct statfs sf;
        char jit[PATH_MAX];
        bool had_jit;

        if (sd_booted() > 0) {
                printf("SKIP %s: systemd is PID 1, auto means systemd\n", __func__);
                return;
        }
        SKIP_WITHOUT_CGROUP();
        PATHF(jit, "%s/jit", cgmount);
        had_jit = access(jit, F_OK) == 0;
        ck_assert_int_eq(teardown_new(TEARDOWN_AUTO, NULL, &t), 0);
        ck_assert_str_eq(teardown_mode_name(t), "cgroup");
        ck_assert_str_eq(teardown_cgroup_root(t), cgmount);
        ck_assert_int_eq(statfs(teardown_cgroup_root(t), &sf), 0);
        ck_assert(sf.f_type == CGROUP2_SUPER_MAGIC);
        teardown_free(t);
        /* A jitd under test elsewhere on this machine may be using it by now. */
        if (!had_jit)
                (void) rmdir(jit);
}
END_TEST

START_TEST(test_mode_explicit)
{
        struct teardown *t = (struct teardown *) 0x1;
        char notcg[PATH_MAX];

        if (sd_booted() <= 0) {
                ck_assert_int_eq(teardown_new(TEARDOWN_SYSTEMD, NULL, &t), -EOPNOTSUPP);
                ck_assert_ptr_eq(t, (struct teardown *) 0x1);
        }
        /* A plain directory is no cgroup2: cgroup refused, auto falls to pidfd,
         * and no jit/ is left in it. */
        PATHF(notcg, "%s/notcg", tmpdir);
        ck_assert_int_eq(mkdir(notcg, 0755), 0);
        ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, notcg, &t), -EOPNOTSUPP);
        ck_assert(!exists(notcg, "jit"));
        if (sd_booted() <= 0 && have_pidfd) {
                ck_assert_int_eq(teardown_new(TEARDOWN_AUTO, notcg, &t), 0);
                ck_assert_str_eq(teardown_mode_name(t), "pidfd");
                teardown_free(t);
                ck_assert(!exists(notcg, "jit"));
        } else if (sd_booted() <= 0) {
                ck_assert_int_eq(teardown_new(TEARDOWN_AUTO, notcg, &t), -EOPNOTSUPP);
                ck_assert_int_eq(teardown_new(TEARDOWN_PIDFD, NULL, &t), -EOPNOTSUPP);
        }
        ck_assert_int_eq(rmdir(notcg), 0);
        ck_assert_int_eq(teardown_new((enum teardown_mode) 42, NULL, &t), -EINVAL);
        ck_assert_int_eq(teardown_new(TEARDOWN_NONE, NULL, NULL), -EINVAL);

        if (cgtest[0]) {
                ck_assert_int_eq(teardown_new(TEARDOWN_CGROUP, cgtest, &t), 0);
                ck_assert_str_eq(teardown_mode_name(t), "cgroup");
                teardown_free(t);
        }
        teardown_free(NULL);
        ck_assert_ptr_null(teardown_mode_name(NULL));
}
END_TEST

START_TEST(test_mode_none)
{
        struct teardown *t = NULL, *p = NULL;
        char *h = NULL, *ph = NULL;
        bool alive = true;
        pid_t s;

        /* Same cgroup root as killing_teardown(): handles are relative to it. */
        ck_assert_int_eq(teardown_new(TEARDOWN_NONE, cgtest[0] ? cgtest : NULL, &t), 0);
        ck_assert_str_eq(teardown_mode_name(t), "none");
        s = spawn_sleeper();
        ck_assert_int_eq(teardown_attach(t, 31, 1, s, &h), 0);
        ck_assert_str_eq(h, "");
        ck_assert_int_eq(teardown_alive(t, h, &alive), 0);
        ck_assert(!alive);
        ck_assert_int_eq(teardown_kill(t, h), 0);
        /* A session attached under another mode keeps the promise it was
         * given: kills look at the handle, not at the mode now. */
        p = killing_teardown();
        ck_assert_int_eq(teardown_attach(p, 31, 2, s, &ph), 0);
        ck_assert_int_eq(teardown_alive(t, ph, &alive), 0);
        ck_assert(alive);
        ck_assert_int_eq(teardown_kill(t, ph), 0);
        ck_assert_int_eq(waitpid(s, NULL, 0), s);
        free(ph);
        free(h);
        teardown_free(p);
        teardown_free(t);
}
END_TEST

START_TEST(test_attach_refuses)
{
        struct teardown *t = NULL;
        char *h = (char *) "untouched";
        pid_t s;

        t = killing_teardown();
        s = spawn_sleeper();
        ck_assert_int_eq(teardown_attach(t, 1, 1, 1, &h), -EINVAL);
        ck_assert_int_eq(teardown_attach(t, 1, 1, getpid(), &h), -EINVAL);
        ck_assert_int_eq(teardown_attach(t, 0, 1, s, &h), -EINVAL);
        ck_assert_int_eq(teardown_attach(t, -1, 1, s, &h), -EINVAL);
        ck_assert_int_eq(teardown_attach(t, 1, 1, 0, &h), -EINVAL);
        ck_assert_int_eq(teardown_attach(t, 1, 1, s, NULL), -EINVAL);
        ck_assert_int_eq(teardown_attach(NULL, 1, 1, s, &h), -EINVAL);
        ck_assert_str_eq(h, "untouched");
        kill(s, SIGKILL);
        ck_assert_int_eq(waitpid(s, NULL, 0), s);
        teardown_free(t);
}
END_TEST

/* Without systemd there is no scope left from an earlier boot to kill. */
START_TEST(test_scope_handle_without_systemd)
{
        struct teardown *t = NULL;
        bool alive = true;

        if (sd_booted() > 0) {
                printf("SKIP %s: systemd is PID 1\n", __func__);
                return;
        }
        t = killing_teardown();
        ck_assert_int_eq(teardown_kill(t, "jit-g5-s6.scope"), 0);
        ck_assert_int_eq(teardown_alive(t, "jit-g5-s6.scope", &alive), 0);
        ck_assert(!alive);
        teardown_free(t);
}
END_TEST

/* ---- systemd ---------------------------------------------------------- */

START_TEST(test_systemd_unit_names)
{
        static const char *const good[] = {
                "jit-g1-s0.scope", "jit-g7-s9.scope", "jit-g9223372036854775807-s18446744073709551615.scope",
        };
        static const char *const bad[] = {
                "", "jit-g0-s1.scope", "jit-g07-s9.scope", "jit-g7-s09.scope", "jit-g7-s9.service",
                "jit-g-s9.scope", "jit-g7-s.scope", "jit-g7-s9.scope/..", "../jit-g7-s9.scope",
                "jit-g7-s9.scopex", "jit-g123456789012345678901-s1.scope", "jit-g7_s9.scope", "x-g7-s9.scope",
        };
        char buf[TEARDOWN_HANDLE_MAX];

        ck_assert_int_eq(teardown_systemd_unit_name(7, 9, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "jit-g7-s9.scope");
        ck_assert_int_eq(teardown_systemd_unit_name(INT64_MAX, UINT64_MAX, buf, sizeof(buf)), 0);
        ck_assert(teardown_systemd_valid_unit(buf));
        ck_assert_int_eq(teardown_systemd_unit_name(0, 9, buf, sizeof(buf)), -EINVAL);
        ck_assert_int_eq(teardown_systemd_unit_name(7, 9, buf, 8), -ENAMETOOLONG);
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ck_assert_msg(teardown_systemd_valid_unit(good[i]), "'%s' refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(!teardown_systemd_valid_unit(bad[i]), "'%s' accepted", bad[i]);
        ck_assert(!teardown_systemd_valid_unit(NULL));
}
END_TEST

/* sd-bus builds messages only on a started bus; one end of a socketpair is
 * enough, nothing is ever sent. */
static sd_bus *detached_bus(int *ret_peer)
{
        sd_bus *b = NULL;
        int sv[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_ge(sd_bus_new(&b), 0);
        ck_assert_int_ge(sd_bus_set_fd(b, sv[0], sv[0]), 0);
        ck_assert_int_ge(sd_bus_start(b), 0);
        *ret_peer = sv[1];
        return b;
}

START_TEST(test_systemd_start_message)
{
        sd_bus_message *m = NULL;
        const char *name, *mode, *prop, *sig, *desc = NULL, *slice = NULL, *collect = NULL;
        bool pids_seen = false;
        int32_t killsig = 0;
        sd_bus *b, *unstarted = NULL;
        int peer;

        ck_assert_int_ge(sd_bus_new(&unstarted), 0);
        ck_assert_int_eq(teardown_systemd_start_message(unstarted, "jit-g7-s9.scope", 4242, "d", &m), -ENOTCONN);
        sd_bus_unref(unstarted);

        b = detached_bus(&peer);
        ck_assert_int_eq(teardown_systemd_start_message(b, "jit-g7-s9.service", 4242, "d", &m), -EINVAL);
        ck_assert_int_eq(teardown_systemd_start_message(b, "jit-g7-s9.scope", 1, "d", &m), -EINVAL);
        ck_assert_ptr_null(m);
        ck_assert_int_eq(teardown_systemd_start_message(b, "jit-g7-s9.scope", 4242, "pam_jit session 9 of grant 7",
                                                        &m), 0);
        ck_assert_str_eq(sd_bus_message_get_destination(m), "org.freedesktop.systemd1");
        ck_assert_str_eq(sd_bus_message_get_path(m), "/org/freedesktop/systemd1");
        ck_assert_str_eq(sd_bus_message_get_interface(m), "org.freedesktop.systemd1.Manager");
        ck_assert_str_eq(sd_bus_message_get_member(m), "StartTransientUnit");
        ck_assert_int_ge(sd_bus_message_seal(m, 1, 0), 0);
        ck_assert_str_eq(sd_bus_message_get_signature(m, true), "ssa(sv)a(sa(sv))");
        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
        ck_assert_int_ge(sd_bus_message_read(m, "ss", &name, &mode), 0);
        ck_assert_str_eq(name, "jit-g7-s9.scope");
        ck_assert_str_eq(mode, "fail");
        ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "(sv)"), 0);
        while (sd_bus_message_enter_container(m, 'r', "sv") > 0) {
                ck_assert_int_ge(sd_bus_message_read(m, "s", &prop), 0);
                ck_assert_int_ge(sd_bus_message_peek_type(m, NULL, &sig), 0);
                if (strcmp(prop, "PIDs") == 0) {
                        const void *v;
                        size_t n;

                        ck_assert_str_eq(sig, "au");
                        ck_assert_int_ge(sd_bus_message_enter_container(m, 'v', "au"), 0);
                        ck_assert_int_ge(sd_bus_message_read_array(m, 'u', &v, &n), 0);
                        ck_assert_uint_eq(n, sizeof(uint32_t));
                        ck_assert_uint_eq(*(const uint32_t *) v, 4242);
                        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
                        pids_seen = true;
                } else if (strcmp(prop, "Description") == 0)
                        ck_assert_int_ge(sd_bus_message_read(m, "v", "s", &desc), 0);
                else if (strcmp(prop, "Slice") == 0)
                        ck_assert_int_ge(sd_bus_message_read(m, "v", "s", &slice), 0);
                else if (strcmp(prop, "CollectMode") == 0)
                        ck_assert_int_ge(sd_bus_message_read(m, "v", "s", &collect), 0);
                else if (strcmp(prop, "KillSignal") == 0)
                        ck_assert_int_ge(sd_bus_message_read(m, "v", "i", &killsig), 0);
                else
                        ck_abort_msg("unexpected property %s", prop);
                ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
        }
        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
        ck_assert(pids_seen);
        ck_assert_str_eq(desc, "pam_jit session 9 of grant 7");
        ck_assert_str_eq(slice, "jit.slice");
        ck_assert_str_eq(collect, "inactive-or-failed");
        ck_assert_int_eq(killsig, SIGKILL);
        /* No auxiliary units. */
        ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "(sa(sv))"), 0);
        ck_assert_int_eq(sd_bus_message_at_end(m, false), 1);
        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
        ck_assert_int_eq(sd_bus_message_at_end(m, true), 1);
        sd_bus_message_unref(m);
        /* Not flushed: the authentication it started has no one to answer. */
        sd_bus_close_unref(b);
        close(peer);
}
END_TEST

/*
 * A fake org.freedesktop.systemd1 on a direct connection, in a child process:
 * enough of StartTransientUnit, StopUnit, KillUnit and Properties.Get for the
 * backend's calls, JobRemoved included (preceded each time by the removal of
 * an unrelated job, which must be ignored). What it was asked is kept in a log
 * that GetLog returns. Session 99 makes the start job fail; session 98 makes
 * the stop job time out, so the backend must fall back to KillUnit.
 */
struct fake {
        char log[2048];
        char unit[TEARDOWN_HANDLE_MAX];     /* the one active unit; "" = none */
        uint32_t job;
};

static void fake_log(struct fake *f, const char *s)
{
        size_t n = strlen(f->log);

        snprintf(f->log + n, sizeof(f->log) - n, "%s;", s);
}

static int fake_job(struct fake *f, sd_bus_message *m, const char *unit, const char *result)
{
        sd_bus *b = sd_bus_message_get_bus(m);
        char path[64], other[64];
        int r;

        f->job += 2;
        snprintf(path, sizeof(path), "/org/freedesktop/systemd1/job/%u", f->job);
        snprintf(other, sizeof(other), "/org/freedesktop/systemd1/job/%u", f->job + 1);
        r = sd_bus_reply_method_return(m, "o", path);
        if (r >= 0)
                r = sd_bus_emit_signal(b, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                       "JobRemoved", "uoss", f->job + 1, other, "other.service", "failed");
        if (r >= 0 && result)
                r = sd_bus_emit_signal(b, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                       "JobRemoved", "uoss", f->job, path, unit, result);
        return r < 0 ? r : 1;
}

static int fake_start(struct fake *f, sd_bus_message *m)
{
        const char *unit, *mode, *prop, *slice = "", *desc = "", *collect = "";
        char line[512];
        uint32_t pid = 0;
        int32_t sig = 0;
        int r;

        if (!sd_bus_message_has_signature(m, "ssa(sv)a(sa(sv))") ||
            strcmp(sd_bus_message_get_path(m), "/org/freedesktop/systemd1") != 0 ||
            strcmp(sd_bus_message_get_interface(m), "org.freedesktop.systemd1.Manager") != 0)
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS, "bad call");
        r = sd_bus_message_read(m, "ss", &unit, &mode);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "(sv)");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
                const char *contents;

                r = sd_bus_message_read(m, "s", &prop);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        break;
                if (strcmp(prop, "PIDs") == 0 && strcmp(contents, "au") == 0)
                        r = sd_bus_message_read(m, "v", "au", 1, &pid);
                else if (strcmp(prop, "Slice") == 0)
                        r = sd_bus_message_read(m, "v", "s", &slice);
                else if (strcmp(prop, "Description") == 0)
                        r = sd_bus_message_read(m, "v", "s", &desc);
                else if (strcmp(prop, "CollectMode") == 0)
                        r = sd_bus_message_read(m, "v", "s", &collect);
                else if (strcmp(prop, "KillSignal") == 0)
                        r = sd_bus_message_read(m, "v", "i", &sig);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0)
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS, "unreadable: %s", strerror(-r));
        snprintf(line, sizeof(line), "start %s %s pid=%s slice=%s kill=%d collect=%s desc=%s", unit, mode,
                 pid > 1 ? "ok" : "missing", slice, (int) sig, collect, desc);
        fake_log(f, line);
        if (kill((pid_t) pid, 0) < 0)
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_UNIX_PROCESS_ID_UNKNOWN,
                                                  "Process with ID %u does not exist.", pid);
        if (strcmp(f->unit, unit) == 0)
                return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.UnitExists",
                                                  "Unit %s already exists.", unit);
        if (strstr(unit, "-s99.scope"))
                return fake_job(f, m, unit, "failed");
        snprintf(f->unit, sizeof(f->unit), "%s", unit);
        return fake_job(f, m, unit, "done");
}

static int fake_filter(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct fake *f = userdata;
        const char *member = sd_bus_message_get_member(m), *unit, *mode, *iface, *prop;
        char line[256];
        uint8_t type;
        int32_t sig;

        (void) error;
        if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return 0;
        if (strcmp(member, "StartTransientUnit") == 0)
                return fake_start(f, m);
        if (strcmp(member, "StopUnit") == 0 && sd_bus_message_read(m, "ss", &unit, &mode) >= 0) {
                snprintf(line, sizeof(line), "stop %s %s", unit, mode);
                fake_log(f, line);
                if (strcmp(f->unit, unit) != 0)
                        return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit",
                                                          "Unit %s not loaded.", unit);
                if (strstr(unit, "-s98.scope"))
                        return fake_job(f, m, unit, "timeout");
                f->unit[0] = '\0';
                return fake_job(f, m, unit, "done");
        }
        if (strcmp(member, "KillUnit") == 0 && sd_bus_message_read(m, "ssi", &unit, &mode, &sig) >= 0) {
                snprintf(line, sizeof(line), "kill %s %s %d", unit, mode, (int) sig);
                fake_log(f, line);
                if (strcmp(f->unit, unit) != 0)
                        return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit",
                                                          "Unit %s not loaded.", unit);
                f->unit[0] = '\0';
                return sd_bus_reply_method_return(m, "");
        }
        if (strcmp(member, "Get") == 0 && sd_bus_message_read(m, "ss", &iface, &prop) >= 0) {
                char *name = NULL;
                int r;

                if (sd_bus_path_decode(sd_bus_message_get_path(m), "/org/freedesktop/systemd1/unit", &name) <= 0 ||
                    strcmp(iface, "org.freedesktop.systemd1.Unit") != 0 || strcmp(prop, "ActiveState") != 0) {
                        free(name);
                        return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS, "bad Get");
                }
                snprintf(line, sizeof(line), "get %s", name);
                fake_log(f, line);
                /* A unit systemd does not know is loaded as not-found and inactive. */
                r = sd_bus_reply_method_return(m, "v", "s", strcmp(f->unit, name) == 0 ? "active" : "inactive");
                free(name);
                return r < 0 ? r : 1;
        }
        if (strcmp(member, "GetLog") == 0)
                return sd_bus_reply_method_return(m, "s", f->log);
        return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_UNKNOWN_METHOD, "no %s here", member);
}

static _Noreturn void fake_serve(int fd)
{
        struct fake f = { .job = 100 };
        sd_bus *b = NULL;
        sd_id128_t id;

        if (sd_id128_randomize(&id) < 0 || sd_bus_new(&b) < 0 || sd_bus_set_fd(b, fd, fd) < 0 ||
            sd_bus_set_server(b, 1, id) < 0 || sd_bus_add_filter(b, NULL, fake_filter, &f) < 0 ||
            sd_bus_start(b) < 0)
                _exit(1);
        for (;;) {
                int r = sd_bus_process(b, NULL);

                if (r < 0)
                        break;
                if (r == 0 && sd_bus_wait(b, UINT64_MAX) < 0)
                        break;
        }
        sd_bus_flush_close_unref(b);
        _exit(0);
}

static sd_bus *fake_spawn(pid_t *ret_pid)
{
        sd_bus *b = NULL;
        int sv[2];
        pid_t p;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        p = fork();
        ck_assert_int_ge(p, 0);
        if (p == 0) {
                close(sv[0]);
                fake_serve(sv[1]);
        }
        close(sv[1]);
        ck_assert_int_ge(sd_bus_new(&b), 0);
        ck_assert_int_ge(sd_bus_set_fd(b, sv[0], sv[0]), 0);
        ck_assert_int_ge(sd_bus_start(b), 0);
        *ret_pid = p;
        return b;
}

static char *fake_log_get(sd_bus *b)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *s;
        char *copy;

        ck_assert_int_ge(sd_bus_call_method(b, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                            "org.freedesktop.systemd1.Manager", "GetLog", &e, &reply, ""), 0);
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &s), 0);
        copy = strdup(s);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return copy;
}

START_TEST(test_systemd_fake_manager)
{
        static const char *const want =
                "start jit-g7-s9.scope fail pid=ok slice=jit.slice kill=9 collect=inactive-or-failed desc=d79;"
                "get jit-g7-s9.scope;"
                "start jit-g7-s9.scope fail pid=ok slice=jit.slice kill=9 collect=inactive-or-failed desc=d79;"
                "stop jit-g7-s9.scope replace;"
                "get jit-g7-s9.scope;"
                "stop jit-g7-s9.scope replace;"
                "start jit-g7-s10.scope fail pid=ok slice=jit.slice kill=9 collect=inactive-or-failed desc=d;"
                "start jit-g7-s99.scope fail pid=ok slice=jit.slice kill=9 collect=inactive-or-failed desc=d;"
                "start jit-g7-s98.scope fail pid=ok slice=jit.slice kill=9 collect=inactive-or-failed desc=d;"
                "stop jit-g7-s98.scope replace;"
                "kill jit-g7-s98.scope all 9;";
        bool alive = false;
        pid_t server, s, gone;
        char *log;
        sd_bus *b;
        int st;

        s = spawn_sleeper();
        gone = fork();
        ck_assert_int_ge(gone, 0);
        if (gone == 0)
                _exit(0);
        ck_assert_int_eq(waitpid(gone, &st, 0), gone);
        b = fake_spawn(&server);

        ck_assert_int_eq(teardown_systemd_attach(b, "jit-g7-s9.scope", s, "d79"), 0);
        ck_assert_int_eq(teardown_systemd_alive(b, "jit-g7-s9.scope", &alive), 0);
        ck_assert(alive);
        ck_assert_int_eq(teardown_systemd_attach(b, "jit-g7-s9.scope", s, "d79"), -EEXIST);
        ck_assert_int_eq(teardown_systemd_kill(b, "jit-g7-s9.scope"), 0);
        ck_assert_int_eq(teardown_systemd_alive(b, "jit-g7-s9.scope", &alive), 0);
        ck_assert(!alive);
        /* Gone already: StopUnit says NoSuchUnit, and that is success. */
        ck_assert_int_eq(teardown_systemd_kill(b, "jit-g7-s9.scope"), 0);
        ck_assert_int_eq(teardown_systemd_attach(b, "jit-g7-s10.scope", gone, "d"), -ESRCH);
        ck_assert_int_eq(teardown_systemd_attach(b, "jit-g7-s99.scope", s, "d"), -EIO);
        ck_assert_int_eq(teardown_systemd_attach(b, "jit-g7-s98.scope", s, "d"), 0);
        ck_assert_int_eq(teardown_systemd_kill(b, "jit-g7-s98.scope"), 0);
        ck_assert_int_eq(teardown_systemd_kill(b, "jit-g7-s9.service"), -EINVAL);
        ck_assert_int_eq(teardown_systemd_alive(b, "../x", &alive), -EINVAL);

        log = fake_log_get(b);
        ck_assert_str_eq(log, want);
        free(log);
        sd_bus_flush_close_unref(b);
        ck_assert_int_eq(waitpid(server, &st, 0), server);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        kill(s, SIGKILL);
        ck_assert_int_eq(waitpid(s, NULL, 0), s);
}
END_TEST

/* ---- the runner ------------------------------------------------------- */

static Suite *teardown_suite(void)
{
        Suite *su = suite_create("teardown");
        TCase *tc;

        tc = tcase_create("cgroup");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_cgroup_kill_tree);
        tcase_add_test(tc, test_cgroup_attach_gone);
        tcase_add_test(tc, test_cgroup_session_exits_alone);
        tcase_add_test(tc, test_cgroup_jitd_leaves_session);
        tcase_add_test(tc, test_cgroup_kill_many);
        tcase_add_test(tc, test_cgroup_bad_handles);
        tcase_add_test(tc, test_logind_scope_kill);
        tcase_add_test(tc, test_logind_scope_kill_readonly);
        suite_add_tcase(su, tc);

        tc = tcase_create("pidfd");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_pidfd_kill_tree_sudo_like);
        tcase_add_test(tc, test_pidfd_kill_tree_sshd_like);
        tcase_add_test(tc, test_pidfd_recycled_pid);
        tcase_add_test(tc, test_pidfd_gone);
        suite_add_tcase(su, tc);

        tc = tcase_create("modes");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_mode_auto_real);
        tcase_add_test(tc, test_mode_explicit);
        tcase_add_test(tc, test_mode_none);
        tcase_add_test(tc, test_attach_refuses);
        tcase_add_test(tc, test_scope_handle_without_systemd);
        suite_add_tcase(su, tc);

        tc = tcase_create("systemd");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_systemd_unit_names);
        tcase_add_test(tc, test_systemd_start_message);
        tcase_add_test(tc, test_systemd_fake_manager);
        suite_add_tcase(su, tc);

        return su;
}

/* The cgroup2 mount as teardown finds it, checked independently with statfs;
 * our own cgroup under it. */
static void cgroup_prepare(void)
{
        struct teardown *t = NULL;
        struct statfs sf;
        char kill_path[PATH_MAX + 16];

        if (teardown_new(TEARDOWN_NONE, NULL, &t) < 0)
                return;
        if (teardown_cgroup_root(t) && statfs(teardown_cgroup_root(t), &sf) == 0 &&
            sf.f_type == CGROUP2_SUPER_MAGIC)
                (void) strcpy_checked(cgmount, sizeof(cgmount), teardown_cgroup_root(t));
        teardown_free(t);
        if (!cgmount[0]) {
                printf("no cgroup2 mount: cgroup tests will be skipped\n");
                return;
        }
        if (snprintf(cgtest, sizeof(cgtest), "%s/jit-test-XXXXXX", cgmount) >= (int) sizeof(cgtest) ||
            !mkdtemp(cgtest)) {
                printf("cannot create a cgroup under %s (%s): cgroup tests will be skipped\n", cgmount,
                       strerror(errno));
                cgtest[0] = '\0';
                return;
        }
        snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", cgtest);
        if (access(kill_path, W_OK) < 0) {
                printf("%s has no cgroup.kill: cgroup tests will be skipped\n", cgmount);
                rmdir(cgtest);
                cgtest[0] = '\0';
                return;
        }
        snprintf(cgsandbox, sizeof(cgsandbox), "%s/sandbox", cgtest);
        if (mkdir(cgsandbox, 0755) < 0)
                cgsandbox[0] = '\0';
}

static void cgroup_remove(const char *dir)
{
        char p[PATH_MAX];
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d)
                return;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int) sizeof(p))
                                cgroup_remove(p);
                }
        closedir(d);
        rmdir(dir);
}

/* Whatever a failed test left in our cgroup dies, then the cgroup goes. */
static void cgroup_cleanup(void)
{
        char p[PATH_MAX + 16];
        int64_t deadline = now_monotonic_ms() + 2000;

        if (!cgtest[0])
                return;
        snprintf(p, sizeof(p), "%s/cgroup.kill", cgtest);
        (void) write_file(p, "1");
        snprintf(p, sizeof(p), "%s/cgroup.events", cgtest);
        while (file_contains(p, "populated 1") && now_monotonic_ms() < deadline)
                usleep(1000);
        cgroup_remove(cgtest);
        if (access(cgtest, F_OK) == 0)
                fprintf(stderr, "check_teardown: could not remove %s\n", cgtest);
}

int main(void)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        char notcg[600];
        SRunner *sr;
        int failed, fd;

        if (snprintf(tmpdir, sizeof(tmpdir), "%s/check_teardown.XXXXXX", base) >= (int) sizeof(tmpdir) ||
            !mkdtemp(tmpdir)) {
                fprintf(stderr, "check_teardown: cannot create a directory under %s\n", base);
                return 1;
        }
        fd = (int) syscall(SYS_pidfd_open, getpid(), 0);
        have_pidfd = fd >= 0;
        if (fd >= 0)
                close(fd);
        else
                printf("pidfd_open: %s: pidfd tests will be skipped\n", strerror(errno));
        cgroup_prepare();
        sr = srunner_create(teardown_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        cgroup_cleanup();
        if (snprintf(notcg, sizeof(notcg), "%s/notcg", tmpdir) < (int) sizeof(notcg))
                rmdir(notcg);        /* left by a failed test_mode_explicit */
        rmdir(tmpdir);
        return failed == 0 ? 0 : 1;
}
