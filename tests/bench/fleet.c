/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet rows: how long a change made on one host takes to reach the
 * sudoers directories of every host.
 *
 * fleet-watch: one inotify instance watches every host's sudoers directory,
 * then the command (jitctl approve or revoke, as a user if asked) is started;
 * the clock starts just before the fork. For each directory the time of the
 * first drop-in renamed into place (create: IN_MOVED_TO or IN_CREATE of a
 * `jit-*` name) or of the removal of the drop-in that was there when the
 * command started (delete: IN_DELETE or IN_MOVED_FROM) is appended to a file,
 * one line per host ("missing" when it did not happen before the timeout),
 * and the command's own run time to another. The watcher asks for SCHED_FIFO
 * (with SCHED_RESET_ON_FORK: the command runs as usual) so that it reads each
 * event when it happens rather than behind a hundred busy jitds; inotify events
 * carry no time of their own.
 *
 * fleet-stats: those files summed up as an R line (milliseconds).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jitbench.h"
#include "util.h"

#define NAME_MAX_LEN 64

struct host_dir {
        char *path;
        int wd;
        char gone[NAME_MAX_LEN];        /* delete: the drop-in there at the start */
        int64_t at;                     /* ns after the start; 0: not yet */
};

static bool is_dropin(const char *name)
{
        return strncmp(name, "jit-", 4) == 0 && strlen(name) < NAME_MAX_LEN;
}

/* The one drop-in in dir (delete) or none (create); -1 when that is not so. */
static int scan(struct host_dir *h, bool create)
{
        DIR *d = opendir(h->path);
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (is_dropin(e->d_name)) {
                        n++;
                        snprintf(h->gone, sizeof(h->gone), "%s", e->d_name);
                }
        closedir(d);
        return (create ? n == 0 : n == 1) ? 0 : -1;
}

static int read_dirs(const char *file, struct host_dir **ret, size_t *ret_n)
{
        FILE *f = fopen(file, "re");
        struct host_dir *v = NULL;
        size_t n = 0, cap = 0;
        char line[4096];

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                if (!*line)
                        continue;
                if (n == cap) {
                        struct host_dir *nv = realloc(v, (cap = cap ? cap * 2 : 128) * sizeof(*nv));

                        if (!nv) {
                                fclose(f);
                                free(v);
                                return -ENOMEM;
                        }
                        v = nv;
                }
                v[n] = (struct host_dir) { .path = strdup(line), .wd = -1 };
                if (!v[n++].path) {
                        fclose(f);
                        free(v);
                        return -ENOMEM;
                }
        }
        fclose(f);
        *ret = v;
        *ret_n = n;
        return 0;
}

static struct host_dir *by_wd(struct host_dir *h, size_t n, int wd)
{
        for (size_t i = 0; i < n; i++)
                if (h[i].wd == wd)
                        return &h[i];
        return NULL;
}

/* Reads what is queued; returns how many hosts got their event. */
static size_t drain(int ino, struct host_dir *h, size_t n, bool create, int64_t t0)
{
        char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
        size_t got = 0;
        ssize_t len;

        while ((len = read(ino, buf, sizeof(buf))) > 0) {
                int64_t now = now_ns() - t0;

                for (char *p = buf; p < buf + len;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        struct host_dir *d;

                        p += sizeof(*e) + e->len;
                        if (!e->len || !is_dropin(e->name) || !(d = by_wd(h, n, e->wd)) || d->at)
                                continue;
                        if (create ? (e->mask & (IN_MOVED_TO | IN_CREATE))
                                   : ((e->mask & (IN_DELETE | IN_MOVED_FROM)) && strcmp(e->name, d->gone) == 0)) {
                                d->at = now > 0 ? now : 1;
                                got++;
                        }
                }
        }
        return got;
}

static pid_t spawn(char **argv, const char *user, const char *log)
{
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        /* Its output goes to the log, or is the bench's commentary: never its figures. */
        if (log) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

                if (fd >= 0)
                        dup2(fd, STDERR_FILENO);
        }
        dup2(STDERR_FILENO, STDOUT_FILENO);
        close_range(3, ~0U, 0);
        if (user) {
                struct passwd *pw = getpwnam(user);
                char home[256];

                /* As runuser would: that user's identity and a clean environment. */
                if (!pw || become_user(user) < 0)
                        _exit(126);
                snprintf(home, sizeof(home), "%s", pw->pw_dir);
                clearenv();
                setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
                setenv("HOME", home, 1);
                setenv("LOGNAME", user, 1);
                setenv("USER", user, 1);
        }
        execv(argv[0], argv);
        _exit(127);
}

int cmd_fleet_watch(int argc, char **argv)
{
        static const struct option opts[] = {
                { "dirs", required_argument, NULL, 'd' },
                { "event", required_argument, NULL, 'e' },
                { "timeout-ms", required_argument, NULL, 't' },
                { "out", required_argument, NULL, 'o' },
                { "cmd-out", required_argument, NULL, 'c' },
                { "as", required_argument, NULL, 'u' },
                { "log", required_argument, NULL, 'l' },
                { 0 }
        };
        const char *dirs = NULL, *out = NULL, *cmd_out = NULL, *user = NULL, *log = NULL;
        bool create = true;
        long timeout_ms = 30000;
        struct host_dir *h = NULL;
        size_t n = 0, done = 0, bad = 0;
        int opt, ino, pidfd, status = -1;
        int64_t t0, cmd_ns = -1;
        struct sched_param sp = { .sched_priority = 10 };
        pid_t pid;
        FILE *f;

        while ((opt = getopt_long(argc, argv, "+", opts, NULL)) >= 0) {
                switch (opt) {
                case 'd': dirs = optarg; break;
                case 'e': create = strcmp(optarg, "create") == 0; break;
                case 't': timeout_ms = opt_long("--timeout-ms", optarg, 1, 3600000); break;
                case 'o': out = optarg; break;
                case 'c': cmd_out = optarg; break;
                case 'u': user = optarg; break;
                case 'l': log = optarg; break;
                default: return 2;
                }
        }
        if (!dirs || !out || optind >= argc) {
                fprintf(stderr, "usage: jitbench fleet-watch --dirs FILE --event create|delete --out FILE "
                                "[--cmd-out FILE] [--timeout-ms MS] [--as USER] [--log FILE] -- CMD [ARG...]\n");
                return 2;
        }
        if (read_dirs(dirs, &h, &n) < 0 || n == 0) {
                fprintf(stderr, "jitbench: cannot read the directories from %s\n", dirs);
                return 1;
        }
        ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ino < 0) {
                perror("jitbench: inotify_init1");
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                h[i].wd = inotify_add_watch(ino, h[i].path, IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM);
                if (h[i].wd < 0) {
                        fprintf(stderr, "jitbench: cannot watch %s: %s\n", h[i].path, strerror(errno));
                        return 1;
                }
                /* After the watch: nothing can slip between the look and the watch. */
                if (scan(&h[i], create) < 0) {
                        fprintf(stderr, "jitbench: %s does not hold %s drop-in at the start\n", h[i].path,
                                create ? "no" : "exactly one");
                        bad++;
                        h[i].at = -1;
                }
        }
        if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
                fprintf(stderr, "jitbench: SCHED_FIFO refused (%s): times are read as the scheduler allows\n",
                        strerror(errno));

        t0 = now_ns();
        pid = spawn(argv + optind, user, log);
        if (pid < 0 || (pidfd = pidfd_open(pid, 0)) < 0) {
                perror("jitbench: the command");
                return 1;
        }
        while (now_ns() - t0 < timeout_ms * 1000000LL && (done + bad < n || cmd_ns < 0)) {
                struct pollfd p[2] = { { .fd = ino, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
                int left = (int) (timeout_ms - (now_ns() - t0) / 1000000);

                if (poll(p, cmd_ns < 0 ? 2 : 1, left > 0 ? left : 0) < 0 && errno != EINTR)
                        break;
                if (p[0].revents & POLLIN)
                        done += drain(ino, h, n, create, t0);
                if (cmd_ns < 0 && (p[1].revents & POLLIN)) {
                        cmd_ns = now_ns() - t0;
                        waitpid(pid, &status, 0);
                }
        }
        done += drain(ino, h, n, create, t0);
        if (cmd_ns < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
        }

        f = fopen(out, "ae");
        if (!f) {
                perror(out);
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                if (h[i].at > 0)
                        fprintf(f, "%.3f\n", (double) h[i].at / 1e6);
                else
                        fprintf(f, "missing\n");
        }
        fclose(f);
        if (cmd_out && (f = fopen(cmd_out, "ae"))) {
                fprintf(f, "%.3f\n", cmd_ns < 0 ? -1.0 : (double) cmd_ns / 1e6);
                fclose(f);
        }
        int64_t last = 0;

        for (size_t i = 0; i < n; i++)
                if (h[i].at > last)
                        last = h[i].at;
        fprintf(stderr, "# %s on %zu of %zu hosts, the last after %.1f ms; the command took %.1f ms (%s %d)\n",
                create ? "drop-in in place" : "drop-in gone", done, n, (double) last / 1e6,
                (double) cmd_ns / 1e6, WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? WTERMSIG(status) : -1);
        for (size_t i = 0; i < n; i++)
                free(h[i].path);
        free(h);
        close(pidfd);
        close(ino);
        return done == n && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* fleet-stats NAME FILE [EXTRA...]: one value (ms) or "missing" a line. */
int cmd_fleet_stats(int argc, char **argv)
{
        struct samples s = { 0 };
        char line[128], extra[1024] = "";
        size_t missing = 0, off;
        FILE *f;

        if (argc < 3) {
                fprintf(stderr, "usage: jitbench fleet-stats NAME FILE [KEY=VALUE...]\n");
                return 2;
        }
        f = fopen(argv[2], "re");
        if (!f) {
                perror(argv[2]);
                return 1;
        }
        while (fgets(line, sizeof(line), f)) {
                char *end;
                double v;

                if (strncmp(line, "missing", 7) == 0) {
                        missing++;
                        continue;
                }
                v = strtod(line, &end);
                if (end == line || v < 0) {
                        missing++;
                        continue;
                }
                if (samples_add(&s, (int64_t) (v * 1e6)) < 0) {
                        fclose(f);
                        return 1;
                }
        }
        fclose(f);
        off = (size_t) snprintf(extra, sizeof(extra), "missing=%zu", missing);
        for (int i = 3; i < argc && off < sizeof(extra); i++)
                off += (size_t) snprintf(extra + off, sizeof(extra) - off, " %s", argv[i]);
        samples_report(argv[1], &s, true, extra);
        samples_free(&s);
        return 0;
}
