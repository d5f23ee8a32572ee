/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "notify.h"
#include "util.h"

extern char **environ;

static int on_exit_reap(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        siginfo_t si;

        (void) revents;
        (void) userdata;
        (void) waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG);
        /* The one reference, taken when the hook started. */
        sd_event_source_disable_unref(s);
        return 0;
}

int notify_break_glass(sd_event *e, const char *cmd, const struct jit_grant *g)
{
        char env_buf[10][JIT_REASON_MAX + 32];
        char *env[12];
        char *argv[] = { (char *) cmd, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sd_event_source *src = NULL;
        sigset_t none, all;
        pid_t pid;
        int n = 0, r, pidfd;

        if (!cmd || cmd[0] != '/' || !g)
                return -EINVAL;
#define ENV(...) do { snprintf(env_buf[n], sizeof(env_buf[n]), __VA_ARGS__); env[n] = env_buf[n]; n++; } while (0)
        ENV("JIT_EVENT=break-glass");
        ENV("JIT_GRANT=%lld", (long long) g->id);
        ENV("JIT_USER=%s", g->user);
        ENV("JIT_UID=%u", (unsigned) g->uid);
        ENV("JIT_ROLE=%s", g->role);
        ENV("JIT_HOST=%s", g->host);
        ENV("JIT_REASON=%s", g->reason);
        ENV("JIT_EXPIRES=%lld", (long long) g->expires_at);
        ENV("JIT_DURATION=%llu", (unsigned long long) g->duration);
        ENV("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
#undef ENV
        env[n] = NULL;

        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawnattr_init(&attr);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0) {
                posix_spawnattr_destroy(&attr);
                return -r;
        }
        /* jitd blocks the signals it reads through the loop: the hook must
         * not inherit that, nor jitd's session or descriptors. */
        r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (r == 0)
                r = posix_spawn(&pid, cmd, &fa, &attr, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return -r;
        /* Reaped when it exits, from the loop; never waited for. */
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0)
                return 0;       /* it runs; it stays a zombie until jitd exits */
        r = sd_event_add_io(e, &src, pidfd, EPOLLIN, on_exit_reap, NULL);
        if (r < 0) {
                close(pidfd);
                return 0;
        }
        /* The source is dropped by its callback when the hook exits. */
        (void) sd_event_source_set_io_fd_own(src, 1);
        return 0;
}
