/* SPDX-License-Identifier: BSD-3-Clause */
/* Samples and percentiles, clocks, users, and jitd as a child process. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "jitbench.h"
#include "util.h"

static int64_t clock_ns(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t now_ns(void)
{
        return clock_ns(CLOCK_MONOTONIC);
}

int64_t now_real_ns(void)
{
        return clock_ns(CLOCK_REALTIME);
}

void sleep_ns(int64_t ns)
{
        struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int samples_add(struct samples *s, int64_t v)
{
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 1024;
                int64_t *nv = realloc(s->v, cap * sizeof(*nv));

                if (!nv)
                        return -ENOMEM;
                s->v = nv;
                s->cap = cap;
        }
        s->v[s->n++] = v;
        s->sorted = false;
        return 0;
}

int samples_merge(struct samples *to, const struct samples *from)
{
        for (size_t i = 0; i < from->n; i++)
                if (samples_add(to, from->v[i]) < 0)
                        return -ENOMEM;
        return 0;
}

void samples_free(struct samples *s)
{
        free(s->v);
        *s = (struct samples) { 0 };
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return x < y ? -1 : x > y;
}

int64_t samples_pct(struct samples *s, double pct)
{
        size_t rank;

        if (s->n == 0)
                return 0;
        if (!s->sorted) {
                qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
                s->sorted = true;
        }
        /* Nearest rank: the smallest value with at least pct % at or below it. */
        rank = (size_t) ((pct / 100.0) * (double) s->n + 0.999999);
        if (rank < 1)
                rank = 1;
        if (rank > s->n)
                rank = s->n;
        return s->v[rank - 1];
}

void samples_report(const char *name, struct samples *s, bool millis, const char *extra)
{
        double unit = millis ? 1e6 : 1e3;

        printf("R %s n=%zu p50=%.1f p90=%.1f p99=%.1f max=%.1f unit=%s%s%s\n", name, s->n,
               (double) samples_pct(s, 50) / unit, (double) samples_pct(s, 90) / unit,
               (double) samples_pct(s, 99) / unit, (double) samples_pct(s, 100) / unit, millis ? "ms" : "us",
               extra ? " " : "", extra ? extra : "");
        fflush(stdout);
}

char **list_split(const char *s, char sep)
{
        char **v = NULL;

        if (strv_split(s ? s : "", sep, &v) < 0) {
                fprintf(stderr, "jitbench: out of memory\n");
                exit(1);
        }
        return v;
}

size_t list_length(char *const *v)
{
        return strv_length(v);
}

int become_user(const char *user)
{
        struct passwd *pw = getpwnam(user);

        if (!pw)
                return -ENOENT;
        if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
                return -errno;
        return 0;
}

long opt_long(const char *what, const char *s, long min, long max)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max) {
                fprintf(stderr, "jitbench: %s: '%s' is not a number in %ld..%ld\n", what, s, min, max);
                exit(2);
        }
        return v;
}

pid_t jitd_spawn(const char *jitd, const char *config, const char *log)
{
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

                if (fd >= 0)
                        dup2(fd, STDERR_FILENO);
                /* Nothing of ours (pidfds, pipes) leaks into jitd. */
                close_range(3, ~0U, 0);
                execl(jitd, jitd, "-c", config, (char *) NULL);
                _exit(127);
        }
        return pid;
}

int jitd_wait_ready(const char *sock, int timeout_ms)
{
        int64_t deadline = now_ns() + (int64_t) timeout_ms * 1000000;
        struct proto_msg *req = malloc(sizeof(*req)), *rep = malloc(sizeof(*rep));
        int r = -ETIMEDOUT;

        if (!req || !rep) {
                free(req);
                free(rep);
                return -ENOMEM;
        }
        proto_init(req, PROTO_REQ_PING);
        while (now_ns() < deadline) {
                if (client_call(sock, req, rep, 1000) >= 0 && rep->type == PROTO_REP_OK) {
                        r = 0;
                        break;
                }
                sleep_ns(2000000);
        }
        free(req);
        free(rep);
        return r;
}

void jitd_stop(pid_t pid)
{
        if (pid <= 0)
                return;
        kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

void proc_rss_kib(pid_t pid, long *ret_rss, long *ret_hwm)
{
        char path[64], line[256];
        FILE *f;

        *ret_rss = *ret_hwm = -1;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "VmRSS:", 6) == 0)
                        *ret_rss = strtol(line + 6, NULL, 10);
                else if (strncmp(line, "VmHWM:", 6) == 0)
                        *ret_hwm = strtol(line + 6, NULL, 10);
        }
        fclose(f);
}

int msg_pam(struct proto_msg *m, enum proto_type type, const char *user, const char *service)
{
        int r;

        proto_init(m, type);
        r = proto_set_str(m, PF_USER, user);
        return r < 0 ? r : proto_set_str(m, PF_SERVICE, service);
}

int cmd_ready(int argc, char **argv)
{
        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: jitbench ready SOCKET [TIMEOUT_MS]\n");
                return 2;
        }
        return jitd_wait_ready(argv[1], argc == 3 ? (int) opt_long("TIMEOUT_MS", argv[2], 1, 3600000) : 10000) < 0;
}
