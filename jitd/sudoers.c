/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dropin.h"
#include "sudoers.h"
#include "util.h"

#define VISUDO_TIMEOUT_MS 5000
/* 9999-12-31T23:59:59Z: sudoers wants exactly four year digits. */
#define TIME_MAX_SUPPORTED INT64_C(253402300799)

static void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* A fixed-size field of struct jit_grant that is not NUL-terminated is corrupt:
 * never let strlen() run past it. */
#define FIELD_TERMINATED(f) (strnlen((f), sizeof(f)) < sizeof(f))

static int format_time(int64_t t, const char *fmt, char *buf, size_t size)
{
        time_t tt = (time_t) t;
        struct tm tm;

        if (t < 0 || t > TIME_MAX_SUPPORTED || !gmtime_r(&tt, &tm))
                return -EINVAL;
        if (strftime(buf, size, fmt, &tm) == 0)
                return -EINVAL;
        return 0;
}

static int validate(const struct jit_grant *g, const struct role *r)
{
        size_t n;

        if (g->id <= 0 || !r->name || !valid_role_name(r->name))
                return -EINVAL;
        if (!FIELD_TERMINATED(g->user) || !FIELD_TERMINATED(g->role) || !FIELD_TERMINATED(g->ticket))
                return -EINVAL;
        if (!valid_user_name(g->user) || strcmp(g->role, r->name) != 0 || !valid_ticket(g->ticket))
                return -EINVAL;
        if (g->starts_at <= 0 || g->expires_at <= g->starts_at)
                return -EINVAL;

        n = strv_length(r->runas);
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!valid_user_name(r->runas[i]))
                        return -EINVAL;

        n = strv_length(r->commands);
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!valid_sudoers_command(r->commands[i]))
                        return -EINVAL;
                /* "ALL, /bin/ls" is legal sudoers but surely not what was meant. */
                if (n > 1 && strcmp(r->commands[i], "ALL") == 0)
                        return -EINVAL;
        }
        return 0;
}

static bool valid_iolog_dir(const char *dir)
{
        size_t n = dir ? strlen(dir) : 0;

        return n > 1 && n < 512 && dir[0] == '/' && !strstr(dir, "/..") &&
               strspn(dir, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-") == n;
}

int sudoers_render(const struct jit_grant *g, const struct role *r, char **ret_text)
{
        return sudoers_render_recorded(g, r, RECORD_NONE, NULL, ret_text);
}

int sudoers_render_recorded(const struct jit_grant *g, const struct role *r, enum record_mode mode,
                            const char *iolog_dir, char **ret_text)
{
        char notbefore[32], notafter[32], until[32];
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int k;

        if (!g || !r || !ret_text)
                return -EINVAL;
        k = validate(g, r);
        if (k < 0)
                return k;
        if (mode != RECORD_NONE && mode != RECORD_OUTPUT && mode != RECORD_ALL)
                return -EINVAL;
        if (mode != RECORD_NONE && !valid_iolog_dir(iolog_dir))
                return -EINVAL;
        if (format_time(g->starts_at, "%Y%m%d%H%M%SZ", notbefore, sizeof(notbefore)) < 0 ||
            format_time(g->expires_at, "%Y%m%d%H%M%SZ", notafter, sizeof(notafter)) < 0 ||
            format_time(g->expires_at, "%Y-%m-%dT%H:%M:%SZ", until, sizeof(until)) < 0)
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# jitd grant %" PRId64 ": %s for %s", g->id, r->name, g->user);
        if (g->ticket[0])
                fprintf(f, ", ticket %s", g->ticket);
        fprintf(f, ", until %s. Managed by jitd; do not edit.\n", until);
        /* sudo has no per-rule log directory: Defaults:USER holds for every
         * rule of the user, and with two recorded grants at once the drop-in
         * read last decides the directory. Either grant's directory is
         * root's and sealed alike; jitd looks in all of them. */
        if (mode != RECORD_NONE)
                fprintf(f, "Defaults:%s iolog_dir=%s, iolog_file=%%{seq}, !ignore_iolog_errors, iolog_mode=0600, "
                        "iolog_user=root, iolog_group=root, compress_io\n", g->user, iolog_dir);
        /* Host ALL: the drop-in only ever exists on the host it is for. The
         * window options must stand before the tag, or visudo rejects it. */
        fprintf(f, "%s ALL=(", g->user);
        for (size_t i = 0; r->runas[i]; i++)
                fprintf(f, "%s%s", i ? ", " : "", r->runas[i]);
        fprintf(f, ") NOTBEFORE=%s NOTAFTER=%s %s%s", notbefore, notafter, r->nopasswd ? "NOPASSWD: " : "",
                mode == RECORD_ALL ? "LOG_INPUT: LOG_OUTPUT: " : mode == RECORD_OUTPUT ? "NOLOG_INPUT: LOG_OUTPUT: " : "");
        for (size_t i = 0; r->commands[i]; i++)
                fprintf(f, "%s%s", i ? ", " : "", r->commands[i]);
        fputc('\n', f);
        k = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0 && k == 0)
                k = -ENOMEM;
        if (k == 0 && size > SUDOERS_FILE_MAX)
                k = -EFBIG;
        if (k < 0) {
                free(buf);
                return k;
        }
        *ret_text = buf;
        return 0;
}

/* vet: refuse a symlink, a non-root owner, group or world write. Removing and
 * listing skip that: they never add a rule, and teardown must not stall on a
 * directory someone loosened. */
static int open_dir(const char *dir, bool vet, int *ret_fd)
{
        struct stat st;
        int fd;

        if (!dir || !dir[0])
                return -EINVAL;
        if (vet) {
                /* lstat only to name the problem; the decision is made on
                 * the opened fd, so a swap in between gains nothing. */
                if (lstat(dir, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (vet ? O_NOFOLLOW : 0));
        if (fd < 0)
                return errno == ELOOP && vet ? -ENOTDIR : -errno;
        if (vet) {
                if (fstat(fd, &st) < 0) {
                        int k = -errno;

                        close(fd);
                        return k;
                }
                if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                        close(fd);
                        return S_ISDIR(st.st_mode) ? -EPERM : -ENOTDIR;
                }
        }
        *ret_fd = fd;
        return 0;
}

int sudoers_dir_check(const char *dir)
{
        _cleanup_close_ int fd = -1;

        return open_dir(dir, true, &fd);
}

/* Some file systems cannot sync a directory; that is no reason to fail. */
static int fsync_dir(int dfd)
{
        if (fsync(dfd) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

/* A leading dot and the dot in ".tmp" each make sudo's @includedir skip the
 * file, so a half-written or rejected temp file is never read as sudoers. The
 * directory is writable by root only, so the suffix needs to be unique, not
 * secret: O_EXCL settles any collision. */
static int create_temp(int dfd, int64_t id, char *name, size_t size, int *ret_fd)
{
        for (int attempt = 0; attempt < 64; attempt++) {
                uint64_t rnd;
                int fd;

                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd)) {
                        struct timespec ts;

                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        rnd = ((uint64_t) getpid() << 32) ^ (uint64_t) ts.tv_nsec ^ ((uint64_t) attempt << 48);
                }
                snprintf(name, size, "." DROPIN_PREFIX "%" PRId64 ".tmp%016" PRIx64, id, rnd);
                fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0440);
                if (fd >= 0) {
                        *ret_fd = fd;
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Owner and mode set explicitly: the umask and a setgid directory must not
 * decide them. sudo ignores a drop-in that is not root-owned. */
static int fill_temp(int fd, const char *text, size_t len)
{
        int k;

        if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0440) < 0)
                return -errno;
        k = write_all(fd, text, len);
        if (k < 0)
                return k;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Wait for pid, killing it if it is not done within timeout_ms. Polled with
 * WNOHANG rather than a pidfd: that works on every kernel and under valgrind,
 * and visudo's few milliseconds make the polling cost nothing. */
static int wait_child(pid_t pid, int64_t timeout_ms, int *ret_status)
{
        int64_t deadline = now_monotonic_ms() + timeout_ms;
        long step_ns = 1000000;         /* 1 ms, doubling to 32 ms */
        int status;

        for (;;) {
                pid_t k = waitpid(pid, &status, WNOHANG);

                if (k == pid)
                        break;
                if (k < 0 && errno != EINTR)
                        return -errno;
                if (k == 0) {
                        struct timespec ts = { 0, step_ns };

                        if (now_monotonic_ms() >= deadline) {
                                /* Not reaped yet, so the pid cannot have been reused. */
                                kill(pid, SIGKILL);
                                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                        ;
                                return -ETIMEDOUT;
                        }
                        nanosleep(&ts, NULL);
                        if (step_ns < 32000000)
                                step_ns *= 2;
                }
        }
        *ret_status = status;
        return 0;
}

/* `visudo -c -f path`: 0 when it exits 0, -EBADMSG when it says no, -errno
 * when it cannot be run at all (reported by the child through a close-on-exec
 * pipe, so a missing visudo is -ENOENT rather than "rejected"). No shell, a
 * fixed environment, stdio on /dev/null, no inherited descriptors. */
static int run_visudo(const char *visudo, const char *path)
{
        char *const argv[] = {
                (char *) visudo, (char *) "-c", (char *) "-q", (char *) "-f", (char *) path, NULL
        };
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        int pipefd[2], child_errno = 0, status, k;
        sigset_t none;
        ssize_t n;
        pid_t pid;

        sigemptyset(&none);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                k = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return k;
        }
        if (pid == 0) {
                /* Async-signal-safe calls only: jitd may have threads. */
                int nul;

                close(pipefd[0]);
                /* Ignored signals and the mask survive execve; jitd's must not. */
                for (int sig = 1; sig < NSIG; sig++)
                        sigaction(sig, &dfl, NULL);
                sigprocmask(SIG_SETMASK, &none, NULL);
                nul = open("/dev/null", O_RDWR);
                if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 || dup2(nul, STDOUT_FILENO) < 0 ||
                    dup2(nul, STDERR_FILENO) < 0)
                        goto fail;
                if (nul > STDERR_FILENO)
                        close(nul);
                /* Anything jitd left inheritable (database, sockets) stays behind. */
                (void) close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC);
                execve(visudo, argv, envp);
        fail:
                child_errno = errno;
                (void) !write(pipefd[1], &child_errno, sizeof(child_errno));
                _exit(127);
        }

        close(pipefd[1]);
        do
                n = read(pipefd[0], &child_errno, sizeof(child_errno));
        while (n < 0 && errno == EINTR);
        close(pipefd[0]);

        k = wait_child(pid, VISUDO_TIMEOUT_MS, &status);
        if (n == (ssize_t) sizeof(child_errno) && child_errno > 0)
                return -child_errno;
        if (k < 0)
                return k;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EBADMSG;
        return 0;
}

void sudoers_prepared_init(struct sudoers_prepared *p)
{
        *p = (struct sudoers_prepared) { .dfd = -1 };
}

int sudoers_prepare(const char *dir, int64_t grant_id, const char *text, const char *visudo,
                    struct sudoers_prepared *ret)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *tmp_path = NULL;
        struct sudoers_prepared p = { .dfd = -1 };
        size_t len;
        int fd = -1, k;

        if (!dir || !text || !visudo || visudo[0] != '/' || grant_id <= 0 || !ret)
                return -EINVAL;
        len = strlen(text);
        if (len > SUDOERS_FILE_MAX)
                return -EFBIG;
        k = open_dir(dir, true, &dfd);
        if (k < 0)
                return k;

        k = dropin_name(grant_id, p.name, sizeof(p.name));
        if (k >= 0)
                k = create_temp(dfd, grant_id, p.tmp, sizeof(p.tmp), &fd);
        if (k < 0)
                return k;
        k = fill_temp(fd, text, len);
        /* close() can be where a delayed write error (NFS, quota) shows. */
        if (close(fd) < 0 && k == 0)
                k = -errno;
        if (k == 0 && asprintf(&tmp_path, "%s/%s", dir, p.tmp) < 0) {
                tmp_path = NULL;
                k = -ENOMEM;
        }
        if (k == 0)
                k = run_visudo(visudo, tmp_path);
        if (k < 0) {
                unlinkat(dfd, p.tmp, 0);
                return k;
        }
        p.dfd = dfd;
        dfd = -1;
        *ret = p;
        return 0;
}

int sudoers_place(struct sudoers_prepared *p)
{
        int k = 0;

        if (!p || p->dfd < 0)
                return -EINVAL;
        /* rename() replaces whatever is at name, a symlink included, and
         * never follows it. */
        if (renameat(p->dfd, p->tmp, p->dfd, p->name) < 0) {
                k = -errno;
                unlinkat(p->dfd, p->tmp, 0);
        } else {
                k = fsync_dir(p->dfd);
                /* The caller will believe there is no rule: make that true. */
                if (k < 0)
                        unlinkat(p->dfd, p->name, 0);
        }
        close(p->dfd);
        p->dfd = -1;
        return k;
}

void sudoers_discard(struct sudoers_prepared *p)
{
        if (!p || p->dfd < 0)
                return;
        unlinkat(p->dfd, p->tmp, 0);
        close(p->dfd);
        p->dfd = -1;
}

int sudoers_install(const char *dir, int64_t grant_id, const char *text, const char *visudo)
{
        struct sudoers_prepared p;
        int k = sudoers_prepare(dir, grant_id, text, visudo, &p);

        return k < 0 ? k : sudoers_place(&p);
}

int sudoers_remove(const char *dir, int64_t grant_id)
{
        int err = 0, r;

        r = sudoers_remove_many(dir, &grant_id, 1, &err);
        return r < 0 ? r : err;
}

int sudoers_remove_many(const char *dir, const int64_t *ids, size_t n, int *ret_errs)
{
        _cleanup_close_ int dfd = -1;
        bool removed = false;
        int k;

        for (size_t i = 0; i < n; i++)
                if (ids[i] <= 0)
                        return -EINVAL;
        for (size_t i = 0; ret_errs && i < n; i++)
                ret_errs[i] = 0;
        k = open_dir(dir, false, &dfd);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                char name[32];

                if (dropin_name(ids[i], name, sizeof(name)) < 0) {
                        if (ret_errs)
                                ret_errs[i] = -EINVAL;
                        continue;
                }
                if (unlinkat(dfd, name, 0) == 0)
                        removed = true;
                else if (errno != ENOENT && ret_errs)
                        ret_errs[i] = -errno;
        }
        /* One fsync makes every removal durable: ten thousand grants ending
         * together cost one directory flush, not ten thousand. */
        return removed ? fsync_dir(dfd) : 0;
}

int sudoers_read(const char *dir, int64_t grant_id, char **ret_text)
{
        _cleanup_close_ int dfd = -1;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        char name[32], *shrunk;
        size_t total = 0;
        struct stat st;
        int k;

        if (grant_id <= 0 || !ret_text)
                return -EINVAL;
        k = open_dir(dir, true, &dfd);
        if (k < 0)
                return k;
        k = dropin_name(grant_id, name, sizeof(name));
        if (k < 0)
                return k;
        /* O_NONBLOCK: a FIFO planted there must not hang the daemon. */
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0440)
                return -EPERM;
        if (st.st_size > SUDOERS_FILE_MAX)
                return -EFBIG;

        /* One byte more than allowed, to notice a file that grew meanwhile. */
        buf = malloc(SUDOERS_FILE_MAX + 2);
        if (!buf)
                return -ENOMEM;
        while (total <= SUDOERS_FILE_MAX) {
                ssize_t n = read(fd, buf + total, SUDOERS_FILE_MAX + 1 - total);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                total += (size_t) n;
        }
        if (total > SUDOERS_FILE_MAX)
                return -EFBIG;
        /* A NUL would hide whatever follows it from a string comparison. */
        if (memchr(buf, '\0', total))
                return -EBADMSG;
        buf[total] = '\0';
        shrunk = realloc(buf, total + 1);
        if (shrunk)
                buf = shrunk;
        *ret_text = TAKE_PTR(buf);
        return 0;
}

static int cmp_id(const void *a, const void *b)
{
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return (x > y) - (x < y);
}

int sudoers_list(const char *dir, int64_t **ret_ids, size_t *ret_n)
{
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int dfd, k = 0;

        if (!ret_ids || !ret_n)
                return -EINVAL;
        k = open_dir(dir, false, &dfd);
        if (k < 0)
                return k;
        d = fdopendir(dfd);
        if (!d) {
                k = -errno;
                close(dfd);
                return k;
        }
        for (;;) {
                int64_t id;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        k = errno ? -errno : 0;
                        break;
                }
                if (!dropin_parse_name(de->d_name, &id))
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        int64_t *nids = reallocarray(ids, ncap, sizeof(*ids));

                        if (!nids) {
                                k = -ENOMEM;
                                break;
                        }
                        ids = nids;
                        cap = ncap;
                }
                ids[n++] = id;
        }
        closedir(d);
        if (k < 0)
                return k;
        if (n > 0)
                qsort(ids, n, sizeof(*ids), cmp_id);
        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}
