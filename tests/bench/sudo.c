/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sudo overhead: real `sudo -n true` run as a test user, with /etc/pam.d/sudo
 * (bind-mounted by tests/bench.sh inside a private mount namespace) rewritten
 * in place before each call with one of the variants' stacks. Calls alternate
 * between the variants, their order rotating each iteration; each call is
 * timed from fork to the end of waitpid. A variant may name its own user
 * (NAME=FILE@USER): the recorded and unrecorded grants are two users' grants.
 *
 * visudo: what one `visudo -cf DROPIN` costs here, the part of an activation
 * that jitd cannot make cheaper.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jitbench.h"
#include "util.h"

#define MAX_VARIANTS 8
#define PAM_FILE_MAX 8192

struct variant {
        char name[32];
        char user[64];                  /* "": --user */
        char text[PAM_FILE_MAX];
        size_t len;
        struct samples s;
        long fails;
};

static int read_file(const char *path, char *buf, size_t size, size_t *ret_len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, size);
        close(fd);
        if (n < 0)
                return -errno;
        if ((size_t) n == size)
                return -EFBIG;
        *ret_len = (size_t) n;
        return 0;
}

/* In place (same inode): the bind mount over /etc/pam.d/sudo shows it. */
static int write_in_place(const char *path, const char *text, size_t len)
{
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        int r = 0;

        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t) len)
                r = -EIO;
        close(fd);
        return r;
}

/* fork, exec argv as user (NULL: as we are), wait; the exit status, or -errno. */
static int run_timed(const char *user, char *const argv[], int64_t *ret_ns)
{
        static char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LANG=C",
                                      (char *) "HOME=/", NULL };
        int64_t t0 = now_ns();
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (null >= 0) {
                        dup2(null, STDIN_FILENO);
                        dup2(null, STDOUT_FILENO);
                        if (!getenv("JITBENCH_SHOW_STDERR"))
                                dup2(null, STDERR_FILENO);
                }
                if (user && become_user(user) < 0)
                        _exit(126);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_ns = now_ns() - t0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int cmd_sudo(int argc, char **argv)
{
        static const struct option opts[] = {
                { "user", required_argument, NULL, 'u' },
                { "pam", required_argument, NULL, 'p' },
                { "variant", required_argument, NULL, 'v' },
                { "iterations", required_argument, NULL, 'n' },
                { "warmup", required_argument, NULL, 'w' },
                { "sudo", required_argument, NULL, 's' },
                {}
        };
        static struct variant v[MAX_VARIANTS];
        const char *user = NULL, *pam = NULL, *sudo = "/usr/bin/sudo";
        long iterations = 200, warmup = 10;
        size_t nv = 0;
        int opt;

        while ((opt = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                switch (opt) {
                case 'u': user = optarg; break;
                case 'p': pam = optarg; break;
                case 's': sudo = optarg; break;
                case 'n': iterations = opt_long("--iterations", optarg, 1, 1000000); break;
                case 'w': warmup = opt_long("--warmup", optarg, 0, 1000000); break;
                case 'v': {
                        const char *eq = strchr(optarg, '=');
                        int r;

                        if (!eq || nv == MAX_VARIANTS || (size_t) (eq - optarg) >= sizeof(v[nv].name)) {
                                fprintf(stderr, "jitbench sudo: --variant NAME=PAMFILE\n");
                                return 2;
                        }
                        char file[4096];
                        const char *at;

                        memcpy(v[nv].name, optarg, (size_t) (eq - optarg));
                        snprintf(file, sizeof(file), "%s", eq + 1);
                        at = strrchr(eq + 1, '@');
                        if (at && strlen(at + 1) < sizeof(v[nv].user)) {
                                file[at - (eq + 1)] = '\0';
                                snprintf(v[nv].user, sizeof(v[nv].user), "%s", at + 1);
                        }
                        r = read_file(file, v[nv].text, sizeof(v[nv].text), &v[nv].len);
                        if (r < 0) {
                                fprintf(stderr, "jitbench sudo: %s: %s\n", file, strerror(-r));
                                return 1;
                        }
                        nv++;
                        break;
                }
                default: return 2;
                }
        }
        if (!user || !pam || nv == 0) {
                fprintf(stderr, "usage: jitbench sudo --user U --pam /etc/pam.d/FILE --variant a=FILE ... "
                        "[--iterations N] [--warmup N]\n");
                return 2;
        }
        for (long it = -warmup; it < iterations; it++)
                for (size_t k = 0; k < nv; k++) {
                        size_t i = (k + (size_t) (it < 0 ? 0 : it)) % nv;
                        char *args[] = { (char *) sudo, (char *) "-n", (char *) "true", NULL };
                        int64_t ns = 0;
                        int rc;

                        if (write_in_place(pam, v[i].text, v[i].len) < 0) {
                                fprintf(stderr, "jitbench sudo: cannot write %s\n", pam);
                                return 1;
                        }
                        rc = run_timed(v[i].user[0] ? v[i].user : user, args, &ns);
                        if (it < 0)
                                continue;
                        if (rc != 0) {
                                if (v[i].fails++ == 0)
                                        fprintf(stderr, "jitbench sudo: variant %s: sudo exited %d\n", v[i].name, rc);
                                continue;
                        }
                        samples_add(&v[i].s, ns);
                }
        for (size_t i = 0; i < nv; i++) {
                char name[64], extra[64];

                snprintf(name, sizeof(name), "sudo.%.31s", v[i].name);
                snprintf(extra, sizeof(extra), "fails=%ld", v[i].fails);
                samples_report(name, &v[i].s, true, extra);
                samples_free(&v[i].s);
        }
        return 0;
}

int cmd_visudo(int argc, char **argv)
{
        struct samples s = {};
        long n;
        long fails = 0;
        char extra[32];

        if (argc != 4) {
                fprintf(stderr, "usage: jitbench visudo VISUDO FILE N\n");
                return 2;
        }
        n = opt_long("N", argv[3], 1, 100000);
        for (long i = 0; i < n; i++) {
                char *args[] = { argv[1], (char *) "-c", (char *) "-q", (char *) "-f", argv[2], NULL };
                int64_t ns = 0;

                if (run_timed(NULL, args, &ns) != 0)
                        fails++;
                else
                        samples_add(&s, ns);
        }
        snprintf(extra, sizeof(extra), "fails=%ld", fails);
        samples_report("visudo", &s, true, extra);
        samples_free(&s);
        return 0;
}

/* What session registration costs in the kernel: jitd moves the session's
 * process into a fresh cgroup (mkdir, then its pid into cgroup.procs). A
 * migration write-locks cgroup_threadgroup_rwsem, which waits for an RCU
 * grace period unless the hierarchy is mounted with favordynmods; migrations
 * spaced like sudo calls each pay it. */
int cmd_cgmove(int argc, char **argv)
{
        struct samples mk = {}, mv = {};
        const char *label, *parent;
        long n, spacing_ms, fails = 0;
        char extra[64], name[96];

        if (argc != 5) {
                fprintf(stderr, "usage: jitbench cgmove NAME CGROUP_DIR N SPACING_MS\n");
                return 2;
        }
        label = argv[1];
        parent = argv[2];
        n = opt_long("N", argv[3], 1, 10000);
        spacing_ms = opt_long("SPACING_MS", argv[4], 0, 10000);
        for (long i = 0; i < n; i++) {
                char dir[512], procs[600], num[24];
                int64_t t0, t1, t2;
                pid_t pid;
                int fd, r = -1;

                snprintf(dir, sizeof(dir), "%s/jb-%d-%ld", parent, (int) getpid(), i);
                pid = fork();
                if (pid == 0) {
                        pause();
                        _exit(0);
                }
                if (pid < 0)
                        return 1;
                t0 = now_ns();
                if (mkdir(dir, 0755) == 0) {
                        t1 = now_ns();
                        snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
                        snprintf(num, sizeof(num), "%d", (int) pid);
                        fd = open(procs, O_WRONLY | O_CLOEXEC);
                        if (fd >= 0) {
                                r = write(fd, num, strlen(num)) == (ssize_t) strlen(num) ? 0 : -1;
                                close(fd);
                        }
                        t2 = now_ns();
                        if (r == 0) {
                                samples_add(&mk, t1 - t0);
                                samples_add(&mv, t2 - t1);
                        }
                }
                if (r < 0)
                        fails++;
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                rmdir(dir);
                sleep_ns(spacing_ms * 1000000);
        }
        snprintf(extra, sizeof(extra), "fails=%ld spacing_ms=%ld", fails, spacing_ms);
        snprintf(name, sizeof(name), "cgroup.%s.mkdir", label);
        samples_report(name, &mk, true, extra);
        snprintf(name, sizeof(name), "cgroup.%s.move", label);
        samples_report(name, &mv, true, extra);
        samples_free(&mk);
        samples_free(&mv);
        return 0;
}
