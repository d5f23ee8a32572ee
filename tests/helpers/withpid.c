/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * withpid PID CMD [ARG]...   run CMD as a process whose pid is exactly PID
 *
 * Reproduces a recycled pid: a process that died left PID free, and another
 * process gets it. clone3() with set_tid picks the pid (root, Linux 5.5+);
 * the child execs CMD, so CMD's own pid is PID. withpid waits for it and
 * exits with its status (128 + signal when killed). Exit 125 when PID cannot
 * be had (EEXIST: in use), 127 when CMD cannot be run.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* struct clone_args as of Linux 5.5 (CLONE_ARGS_SIZE_VER1), declared here
 * rather than from <linux/sched.h>, which clashes with <sched.h>. */
struct clone_args_v1 {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
        uint64_t set_tid;
        uint64_t set_tid_size;
};

int main(int argc, char **argv)
{
        struct clone_args_v1 args = { .exit_signal = SIGCHLD };
        pid_t want, pid;
        char *end;
        long v;
        int status;

        if (argc < 3) {
                fprintf(stderr, "usage: withpid PID CMD [ARG]...\n");
                return 2;
        }
        errno = 0;
        v = strtol(argv[1], &end, 10);
        if (errno || *end || v <= 1 || v > INT32_MAX) {
                fprintf(stderr, "withpid: bad pid '%s'\n", argv[1]);
                return 2;
        }
        want = (pid_t) v;
        args.set_tid = (uint64_t) (uintptr_t) &want;
        args.set_tid_size = 1;
        pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0) {
                fprintf(stderr, "withpid: clone3 with pid %d: %s\n", (int) want, strerror(errno));
                return 125;
        }
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                fprintf(stderr, "withpid: %s: %s\n", argv[2], strerror(errno));
                _exit(127);
        }
        if (pid != want) {
                /* Cannot happen: set_tid is exact or clone3 fails. */
                fprintf(stderr, "withpid: got pid %d, not %d\n", (int) pid, (int) want);
                kill(pid, SIGKILL);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        perror("withpid: waitpid");
                        return 125;
                }
        if (pid != want)
                return 125;
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
