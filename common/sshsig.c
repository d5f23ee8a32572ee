/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "approval_text.h"
#include "sshsig.h"
#include "util.h"

#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----\n"
#define ARMOR_END   "-----END SSH SIGNATURE-----\n"
#define ARMOR_MAGIC "U1NIU0lH"      /* base64 of "SSHSIG", how every signature blob starts */
#define ARMOR_LINE_MAX 76

static const char *program = SSHSIG_PROGRAM;

void sshsig_set_program(const char *path)
{
        program = path ? path : SSHSIG_PROGRAM;
}

const char *sshsig_program(void)
{
        return program;
}

static void say(char *why, size_t why_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t why_size, const char *fmt, ...)
{
        va_list ap;

        if (!why || why_size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
}

static bool is_b64(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int sshsig_armored_check(const char *s)
{
        size_t n, body_end, line = 0, pad = 0;

        if (!s)
                return -EBADMSG;
        n = strnlen(s, SSHSIG_ARMOR_MAX + 1);
        if (n > SSHSIG_ARMOR_MAX || n < strlen(ARMOR_BEGIN) + strlen(ARMOR_MAGIC) + 1 + strlen(ARMOR_END))
                return -EBADMSG;
        if (strncmp(s, ARMOR_BEGIN, strlen(ARMOR_BEGIN)) != 0 ||
            strcmp(s + n - strlen(ARMOR_END), ARMOR_END) != 0)
                return -EBADMSG;
        s += strlen(ARMOR_BEGIN);
        body_end = n - strlen(ARMOR_BEGIN) - strlen(ARMOR_END);
        if (strncmp(s, ARMOR_MAGIC, strlen(ARMOR_MAGIC)) != 0 || s[body_end - 1] != '\n')
                return -EBADMSG;
        /* Lines of base64, '=' padding only at the very end: anything else
         * (a second block, a header, a blank line) is not what ssh-keygen
         * writes. */
        for (size_t i = 0; i < body_end; i++) {
                char c = s[i];

                if (c == '\n') {
                        if (line == 0)
                                return -EBADMSG;
                        line = 0;
                        continue;
                }
                if (++line > ARMOR_LINE_MAX)
                        return -EBADMSG;
                if (c == '=') {
                        if (++pad > 2)
                                return -EBADMSG;
                } else if (!is_b64(c) || pad > 0) {
                        return -EBADMSG;
                }
        }
        return 0;
}

bool sshsig_principal_ok(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strnlen(s, SSHSIG_PRINCIPAL_MAX + 1);
        if (n == 0 || n > SSHSIG_PRINCIPAL_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      (c != '\0' && strchr("._@+$-", c))))
                        return false;
        }
        return true;
}

int sshsig_memfd(const char *name, const void *data, size_t n, int *ret_fd)
{
        const char *p = data;
        size_t done = 0;
        int fd, r;

        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        while (done < n) {
                ssize_t k = write(fd, p + done, n - done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? -errno : -EIO;
                        close(fd);
                        return r;
                }
                done += (size_t) k;
        }
        /* Rewound for a reader that gets this very descriptor (stdin); sealed
         * so that nobody, not even we, can change it under ssh-keygen. */
        if (lseek(fd, 0, SEEK_SET) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* ---- allowed_signers -------------------------------------------------- */

static bool known_key_type(const char *s, size_t n)
{
        /* What ssh-keygen -Y sign makes with OpenSSH's key types, DSA aside
         * (disabled in OpenSSH since 9.8, and too weak to trust here). */
        static const char *const types[] = {
                "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-rsa",
        };

        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (strlen(types[i]) == n && memcmp(types[i], s, n) == 0)
                        return true;
        return false;
}

struct signer_line {
        bool ca, namespaced, wildcard, lists, negates;
};

static size_t token_len(const char *s, size_t n)
{
        size_t i = 0;

        while (i < n && s[i] != ' ' && s[i] != '\t')
                i++;
        return i;
}

static size_t skip_space(const char *s, size_t n)
{
        size_t i = 0;

        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
        return i;
}

/* The principals field: a comma-separated list, each entry a name, a
 * pattern (* ?) or a negation (!entry). */
static int parse_principals(const char *s, size_t n, const char *principal, struct signer_line *l)
{
        size_t i = 0, plen = principal ? strlen(principal) : 0;

        if (n == 0 || memchr(s, '"', n))
                return -EINVAL;     /* ssh-keygen's quoting of this field is not for us */
        while (i <= n) {
                size_t j = i;
                bool neg;

                while (j < n && s[j] != ',')
                        j++;
                if (j == i)
                        return -EINVAL;
                neg = s[i] == '!';
                if (memchr(s + i, '*', j - i) || memchr(s + i, '?', j - i))
                        l->wildcard = true;
                if (principal && j - i - neg == plen && memcmp(s + i + neg, principal, plen) == 0) {
                        if (neg)
                                l->negates = true;
                        else
                                l->lists = true;
                }
                i = j + 1;
        }
        return 0;
}

/* A quoted option value: from after the opening quote to the closing one;
 * \" inside, as ssh-keygen reads it. Returns the length up to the closing
 * quote, or -1. */
static ssize_t quoted_len(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 1 < n && s[i + 1] == '"')
                        i++;
                else if (s[i] == '"')
                        return (ssize_t) i;
        }
        return -1;
}

static bool list_has(const char *s, size_t n, const char *item)
{
        size_t i = 0, k = strlen(item);

        while (i <= n) {
                size_t j = i;

                while (j < n && s[j] != ',')
                        j++;
                if (j - i == k && memcmp(s + i, item, k) == 0)
                        return true;
                i = j + 1;
        }
        return false;
}

/* The options ssh-keygen knows for allowed_signers (keywords in any case):
 * cert-authority, namespaces="...", valid-after="...", valid-before="...";
 * anything else it refuses, and so do we. */
static int parse_options(const char *s, size_t n, struct signer_line *l)
{
        static const char *const valued[] = { "namespaces", "valid-after", "valid-before" };
        size_t i = 0;

        while (i < n) {
                size_t k = i;
                bool matched = false;

                while (k < n && s[k] != '=' && s[k] != ',')
                        k++;
                if (k - i == strlen("cert-authority") && strncasecmp(s + i, "cert-authority", k - i) == 0 &&
                    (k == n || s[k] == ',')) {
                        l->ca = true;
                        matched = true;
                        i = k;
                }
                for (size_t v = 0; !matched && v < ELEMENTSOF(valued); v++) {
                        ssize_t q;

                        if (k - i != strlen(valued[v]) || strncasecmp(s + i, valued[v], k - i) != 0 ||
                            k + 1 >= n || s[k] != '=' || s[k + 1] != '"')
                                continue;
                        q = quoted_len(s + k + 2, n - k - 2);
                        if (q < 0)
                                return -EINVAL;
                        if (v == 0) {
                                if (memchr(s + k + 2, '\\', (size_t) q))
                                        return -EINVAL;
                                if (list_has(s + k + 2, (size_t) q, JIT_SSHSIG_NAMESPACE))
                                        l->namespaced = true;
                        }
                        matched = true;
                        i = k + 2 + (size_t) q + 1;
                }
                if (!matched)
                        return -EINVAL;
                if (i < n) {
                        if (s[i] != ',')
                                return -EINVAL;
                        i++;
                        if (i == n)
                                return -EINVAL;
                }
        }
        return 0;
}

/* Where the options field ends: at the first blank outside double quotes. */
static size_t options_len(const char *s, size_t n)
{
        bool quoted = false;
        size_t i;

        for (i = 0; i < n; i++) {
                if (quoted && s[i] == '\\' && i + 1 < n && s[i + 1] == '"')
                        i++;
                else if (s[i] == '"')
                        quoted = !quoted;
                else if (!quoted && (s[i] == ' ' || s[i] == '\t'))
                        break;
        }
        return i;
}

static int parse_line(const char *s, size_t n, const char *principal, struct signer_line *l, const char **what)
{
        size_t i, k;

        memset(l, 0, sizeof(*l));
        for (i = 0; i < n; i++)
                if (((unsigned char) s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
                        *what = "a control character";
                        return -EINVAL;
                }
        k = token_len(s, n);
        if (parse_principals(s, k, principal, l) < 0) {
                *what = "the principals field is not a plain list";
                return -EINVAL;
        }
        s += k, n -= k;
        i = skip_space(s, n);
        s += i, n -= i;
        k = token_len(s, n);
        if (!known_key_type(s, k)) {
                k = options_len(s, n);
                if (k == 0 || parse_options(s, k, l) < 0) {
                        *what = "options ssh-keygen would not read the same way (or a key type not accepted)";
                        return -EINVAL;
                }
                s += k, n -= k;
                i = skip_space(s, n);
                s += i, n -= i;
                k = token_len(s, n);
                if (!known_key_type(s, k)) {
                        *what = "no key of an accepted type";
                        return -EINVAL;
                }
        }
        s += k, n -= k;
        i = skip_space(s, n);
        s += i, n -= i;
        k = token_len(s, n);
        if (k == 0) {
                *what = "no key";
                return -EINVAL;
        }
        for (i = 0; i < k; i++)
                if (!is_b64(s[i]) && s[i] != '=') {
                        *what = "the key is not base64";
                        return -EINVAL;
                }
        /* What follows is a comment. */
        return 0;
}

static int signers_check(const char *buf, size_t n, const char *path, const char *principal, char *why,
                         size_t why_size)
{
        bool found = false;
        size_t lineno = 0;

        if (memchr(buf, '\0', n)) {
                say(why, why_size, "%s: a NUL byte", path);
                return -EPERM;
        }
        for (size_t i = 0; i < n;) {
                const char *nl = memchr(buf + i, '\n', n - i);
                size_t len = (nl ? (size_t) (nl - buf) : n) - i, sp;
                const char *line = buf + i, *what = NULL;
                struct signer_line l;

                i += len + 1;
                lineno++;
                sp = skip_space(line, len);
                if (sp == len || line[sp] == '#')
                        continue;
                if (parse_line(line + sp, len - sp, principal, &l, &what) < 0) {
                        say(why, why_size, "%s:%zu: %s", path, lineno, what);
                        return -EPERM;
                }
                if (!l.namespaced) {
                        say(why, why_size, "%s:%zu: the key is not limited to namespaces=\"%s\"", path, lineno,
                            JIT_SSHSIG_NAMESPACE);
                        return -EPERM;
                }
                /* A pattern on a plain key lets that one key sign as anyone it
                 * matches; on a certificate authority the certificate names
                 * the principal. */
                if (l.wildcard && !l.ca) {
                        say(why, why_size, "%s:%zu: a principal pattern (* ?) on a key that is not a cert-authority",
                            path, lineno);
                        return -EPERM;
                }
                if (l.ca || (l.lists && !l.negates))
                        found = true;
        }
        if (principal && !found) {
                say(why, why_size, "%s does not list %s", path, principal);
                return -EBADMSG;
        }
        return 0;
}

static int vet_stat(int fd, const char *path, bool dir, char *why, size_t why_size)
{
        struct stat st;

        if (fstat(fd, &st) < 0) {
                int r = -errno;

                say(why, why_size, "%s: %s", path, strerror(-r));
                return r;
        }
        if (dir ? !S_ISDIR(st.st_mode) : (!S_ISREG(st.st_mode) || st.st_nlink != 1)) {
                say(why, why_size, "%s is not a %s", path, dir ? "directory" : "plain file of its own (one link)");
                return -EPERM;
        }
        if (st.st_uid != 0) {
                say(why, why_size, "%s is owned by uid %u, not by root", path, (unsigned) st.st_uid);
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                say(why, why_size, "%s is writable by group or others (mode %04o)", path,
                    (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        if (!dir && st.st_size > SSHSIG_SIGNERS_MAX) {
                say(why, why_size, "%s is larger than %d bytes", path, SSHSIG_SIGNERS_MAX);
                return -EPERM;
        }
        return 0;
}

/* Opens path's directory, then the file in it, neither through a symlink:
 * both vetted, so nobody but root could have put this file there. */
static int signers_fd(const char *path, char *why, size_t why_size)
{
        _cleanup_free_ char *dir = NULL;
        const char *base = strrchr(path, '/');
        int dfd, fd, r;

        if (path[0] != '/' || !base || base[1] == '\0') {
                say(why, why_size, "%s: not an absolute path to a file", path);
                return -EINVAL;
        }
        dir = strndup(path, base == path ? 1 : (size_t) (base - path));
        if (!dir)
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                say(why, why_size, "%s: %s", dir, r == -ELOOP || r == -ENOTDIR ? "not a directory (or a symlink)" :
                    strerror(-r));
                return r == -ELOOP || r == -ENOTDIR ? -EPERM : r;
        }
        r = vet_stat(dfd, dir, true, why, why_size);
        if (r < 0) {
                close(dfd);
                return r;
        }
        fd = openat(dfd, base + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        r = fd < 0 ? -errno : 0;
        close(dfd);
        if (r < 0) {
                say(why, why_size, "%s: %s", path, r == -ELOOP ? "a symlink" : strerror(-r));
                return r == -ELOOP ? -EPERM : r;
        }
        r = vet_stat(fd, path, false, why, why_size);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int sshsig_signers_open(const char *path, const char *principal, int *ret_fd, char *why, size_t why_size)
{
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        int fd, r;

        if (!path || !ret_fd || (principal && !sshsig_principal_ok(principal)))
                return -EINVAL;
        fd = signers_fd(path, why, why_size);
        if (fd < 0)
                return fd;
        buf = malloc(SSHSIG_SIGNERS_MAX + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        /* One byte more than allowed: a file that grew after fstat is caught. */
        for (;;) {
                ssize_t k = read(fd, buf + n, SSHSIG_SIGNERS_MAX + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        close(fd);
                        say(why, why_size, "%s: %s", path, strerror(-r));
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > SSHSIG_SIGNERS_MAX) {
                        close(fd);
                        say(why, why_size, "%s is larger than %d bytes", path, SSHSIG_SIGNERS_MAX);
                        return -EPERM;
                }
        }
        close(fd);
        r = signers_check(buf, n, path, principal, why, why_size);
        if (r < 0)
                return r;
        return sshsig_memfd("allowed_signers", buf, n, ret_fd);
}

/* ---- running ssh-keygen --------------------------------------------- */

/* A descriptor at min or above (a copy when it is below): the child's
 * descriptors are put in place one dup2 after another, and a source that sits
 * on a target number would be overwritten before it is copied. */
static int lift(int fd, int min, int *copy)
{
        if (fd >= min)
                return fd;
        *copy = fcntl(fd, F_DUPFD_CLOEXEC, min);
        return *copy < 0 ? -errno : *copy;
}

static int nonblock(int fd)
{
        int fl = fcntl(fd, F_GETFL);

        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

#define PASS_MAX 4

int sshsig_run_start(struct sshsig_run *run, char *const argv[], char *const envp[], int in_fd, const int *pass,
                     size_t n_pass, unsigned flags)
{
        int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, copies[3 + PASS_MAX], src[3 + PASS_MAX];
        bool fa_ok = false, attr_ok = false;
        size_t n_src = 0;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        pid_t pid = 0;
        int r, pidfd, min = 3 + (int) n_pass;

        if (!run || run->pid != 0 || !argv || !envp || in_fd < 0 || n_pass > PASS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(copies); i++)
                copies[i] = -1;
        if (pipe2(outp, O_CLOEXEC) < 0 ||
            (!(flags & SSHSIG_RUN_KEEP_STDERR) && pipe2(errp, O_CLOEXEC) < 0)) {
                r = -errno;
                goto out;
        }
        if ((r = nonblock(outp[0])) < 0 || (errp[0] >= 0 && (r = nonblock(errp[0])) < 0))
                goto out;
        r = lift(in_fd, min, &copies[n_src]);
        src[n_src++] = r;
        if (r >= 0) {
                r = lift(outp[1], min, &copies[n_src]);
                src[n_src++] = r;
        }
        if (r >= 0 && errp[1] >= 0) {
                r = lift(errp[1], min, &copies[n_src]);
                src[n_src++] = r;
        }
        for (size_t i = 0; r >= 0 && i < n_pass; i++) {
                r = lift(pass[i], min, &copies[n_src]);
                src[n_src++] = r;
        }
        if (r < 0)
                goto out;

        sigemptyset(&none);
        sigfillset(&all);
        if ((r = posix_spawnattr_init(&attr)) != 0) {
                r = -r;
                goto out;
        }
        attr_ok = true;
        if ((r = posix_spawn_file_actions_init(&fa)) != 0) {
                r = -r;
                goto out;
        }
        fa_ok = true;
        /* The caller may block signals it reads through a loop (jitd), or
         * ignore some: ssh-keygen gets neither, nor a descriptor of ours
         * beyond what it is given. */
        r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                     ((flags & SSHSIG_RUN_SETSID) ? POSIX_SPAWN_SETSID : 0));
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        n_src = 0;
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, src[n_src++], STDIN_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, src[n_src++], STDOUT_FILENO);
        if (r == 0 && errp[1] >= 0)
                r = posix_spawn_file_actions_adddup2(&fa, src[n_src++], STDERR_FILENO);
        for (size_t i = 0; r == 0 && i < n_pass; i++)
                r = posix_spawn_file_actions_adddup2(&fa, src[n_src++], 3 + (int) i);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, min);
        if (r == 0)
                r = posix_spawn(&pid, sshsig_program(), &fa, &attr, argv, envp);
        if (r != 0) {
                r = -r;
                goto out;
        }
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                /* Without a pidfd it cannot be waited for safely: it goes now. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                goto out;
        }
        run->pid = pid;
        run->pidfd = pidfd;
        run->flags = flags;
        run->fd[0] = outp[0];
        run->fd[1] = errp[0];
        outp[0] = errp[0] = -1;
        r = 0;
out:
        if (fa_ok)
                posix_spawn_file_actions_destroy(&fa);
        if (attr_ok)
                posix_spawnattr_destroy(&attr);
        for (size_t i = 0; i < ELEMENTSOF(copies); i++)
                if (copies[i] >= 0)
                        close(copies[i]);
        for (int i = 0; i < 2; i++) {
                if (outp[i] >= 0)
                        close(outp[i]);
                if (errp[i] >= 0)
                        close(errp[i]);
        }
        return r;
}

int sshsig_run_read(struct sshsig_run *run, int i)
{
        if (run->fd[i] < 0 || run->eof[i])
                return 1;
        if (!run->buf[i]) {
                /* Room for one byte past the limit (to tell "too much") and the NUL. */
                run->buf[i] = malloc(SSHSIG_OUTPUT_MAX + 2);
                if (!run->buf[i])
                        return -ENOMEM;
                run->buf[i][0] = '\0';
        }
        for (;;) {
                ssize_t k = read(run->fd[i], run->buf[i] + run->len[i], SSHSIG_OUTPUT_MAX + 1 - run->len[i]);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                if (k == 0) {
                        run->eof[i] = true;
                        return 1;
                }
                run->len[i] += (size_t) k;
                run->buf[i][run->len[i]] = '\0';
                if (run->len[i] > SSHSIG_OUTPUT_MAX) {
                        run->overflow = true;
                        return -EMSGSIZE;
                }
        }
}

void sshsig_run_kill(struct sshsig_run *run)
{
        if (run->pid <= 0 || run->reaped)
                return;
        /* Not reaped yet, so its pid (and the group named after it) cannot
         * have been handed to anyone else. */
        if (run->flags & SSHSIG_RUN_SETSID)
                (void) kill(-run->pid, SIGKILL);
        (void) pidfd_send_signal(run->pidfd, SIGKILL, NULL, 0);
        run->killed = true;
}

int sshsig_run_reap(struct sshsig_run *run, bool block)
{
        siginfo_t si;

        if (run->reaped)
                return 0;
        if (run->pidfd < 0)
                return -EBADF;
        for (;;) {
                memset(&si, 0, sizeof(si));
                if (waitid(P_PIDFD, (id_t) run->pidfd, &si, WEXITED | (block ? 0 : WNOHANG)) == 0)
                        break;
                if (errno != EINTR) {
                        /* ECHILD: reaped by someone else (SIGCHLD ignored);
                         * gone, with no status to show. */
                        int r = -errno;

                        if (r == -ECHILD) {
                                run->reaped = true;
                                run->code = 0;
                        }
                        return r;
                }
        }
        if (si.si_pid == 0)
                return -EAGAIN;
        run->reaped = true;
        run->code = si.si_code;
        run->status = si.si_status;
        return 0;
}

static void drain(struct sshsig_run *run)
{
        for (int i = 0; i < 2; i++)
                if (run->fd[i] >= 0)
                        (void) sshsig_run_read(run, i);
}

int sshsig_run_wait(struct sshsig_run *run, int timeout_ms)
{
        int64_t deadline = now_monotonic_ms() + timeout_ms;

        while (!run->reaped) {
                struct pollfd p[3];
                int n = 0, r, left;

                p[n++] = (struct pollfd) { .fd = run->pidfd, .events = POLLIN };
                for (int i = 0; i < 2; i++)
                        if (run->fd[i] >= 0 && !run->eof[i] && !run->overflow)
                                p[n++] = (struct pollfd) { .fd = run->fd[i], .events = POLLIN };
                if (run->killed) {
                        left = -1;      /* SIGKILL: it exits, there is nothing left to wait for */
                } else {
                        int64_t l = deadline - now_monotonic_ms();

                        if (l <= 0) {
                                run->timed_out = true;
                                sshsig_run_kill(run);
                                continue;
                        }
                        left = (int) l;
                }
                r = poll(p, (nfds_t) n, left);
                if (r < 0 && errno != EINTR) {
                        r = -errno;
                        sshsig_run_kill(run);
                        (void) sshsig_run_reap(run, true);
                        return r;
                }
                if (r <= 0)
                        continue;
                for (int i = 1; i < n; i++) {
                        int k = p[i].fd == run->fd[0] ? 0 : 1;

                        if (p[i].revents && sshsig_run_read(run, k) < 0)
                                sshsig_run_kill(run);
                }
                if (p[0].revents) {
                        r = sshsig_run_reap(run, false);
                        if (r < 0 && r != -EAGAIN)
                                return r;
                }
        }
        /* It has exited: what it wrote is in the pipes (a descendant that
         * kept them open is not waited for). */
        drain(run);
        return 0;
}

void sshsig_run_done(struct sshsig_run *run)
{
        if (!run)
                return;
        if (run->pid > 0 && !run->reaped) {
                sshsig_run_kill(run);
                (void) sshsig_run_reap(run, true);
        }
        if (run->pidfd >= 0)
                close(run->pidfd);
        for (int i = 0; i < 2; i++) {
                if (run->fd[i] >= 0)
                        close(run->fd[i]);
                free(run->buf[i]);
        }
        *run = (struct sshsig_run) SSHSIG_RUN_INIT;
}

/* ---- verification --------------------------------------------------- */

/* The first line of s that says something, as plain text. */
static void first_line(char *dst, size_t size, const char *prefix, const char *s)
{
        char raw[200], line[200];
        size_t n;

        s = s ? s : "";
        s += strspn(s, "\r\n");
        n = strcspn(s, "\r\n");
        if (n >= sizeof(raw))
                n = sizeof(raw) - 1;
        memcpy(raw, s, n);
        raw[n] = '\0';
        text_sanitize(line, sizeof(line), raw, 0);
        snprintf(dst, size, "%s%s%s", prefix, n > 0 && prefix[0] ? ": " : "", line);
}

int sshsig_verify_spawn(const char *allowed_signers, const char *principal, const char *text, const char *armored,
                        struct sshsig_run *run, struct sshsig_result *res)
{
        char *argv[] = { (char *) "ssh-keygen", (char *) "-Y", (char *) "verify", (char *) "-f",
                         (char *) "/dev/fd/4", (char *) "-I", (char *) principal, (char *) "-n",
                         (char *) JIT_SSHSIG_NAMESPACE, (char *) "-s", (char *) "/dev/fd/3", NULL };
        /* Nothing of jitd's environment: the C locale keeps the "Good"
         * line in the words sshsig_verify_outcome reads. */
        char *envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        int in = -1, fds[2] = { -1, -1 }, r;
        size_t n;

        memset(res, 0, sizeof(*res));
        if (!allowed_signers || !text || !run) {
                say(res->detail, sizeof(res->detail), "missing argument");
                return -EINVAL;
        }
        if (!sshsig_principal_ok(principal)) {
                say(res->detail, sizeof(res->detail), "not a principal ssh-keygen can look up by name");
                return -EINVAL;
        }
        n = strnlen(text, SSHSIG_TEXT_MAX + 1);
        if (n > SSHSIG_TEXT_MAX) {
                say(res->detail, sizeof(res->detail), "the signed text is longer than %d bytes", SSHSIG_TEXT_MAX);
                return -EINVAL;
        }
        if (sshsig_armored_check(armored) < 0) {
                say(res->detail, sizeof(res->detail), "the signature is not one armored SSH signature");
                return -EBADMSG;
        }
        r = sshsig_signers_open(allowed_signers, principal, &fds[1], res->detail, sizeof(res->detail));
        if (r < 0)
                return r;
        r = sshsig_memfd("signature", armored, strlen(armored), &fds[0]);
        if (r >= 0)
                r = sshsig_memfd("text", text, n, &in);
        if (r >= 0)
                r = sshsig_run_start(run, argv, envp, in, fds, 2, SSHSIG_RUN_SETSID);
        if (r < 0)
                say(res->detail, sizeof(res->detail), "cannot run %s: %s", sshsig_program(), strerror(-r));
        if (in >= 0)
                close(in);
        for (int i = 0; i < 2; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        return r;
}

/* "Good "NAMESPACE" signature for PRINCIPAL with TYPE key FINGERPRINT\n"
 * (ssh-keygen's sig_verify, OpenSSH 8.2 to 9.x), and nothing else. */
static int parse_good(const char *out, const char *principal, struct sshsig_result *res)
{
        char prefix[SSHSIG_PRINCIPAL_MAX + 64];
        const char *p, *sp;
        size_t n;

        snprintf(prefix, sizeof(prefix), "Good \"%s\" signature for %s with ", JIT_SSHSIG_NAMESPACE, principal);
        if (!out || strncmp(out, prefix, strlen(prefix)) != 0)
                return -EPROTO;
        p = out + strlen(prefix);
        sp = strstr(p, " key ");
        if (!sp || sp == p || (size_t) (sp - p) >= sizeof(res->key_type))
                return -EPROTO;
        for (const char *c = p; c < sp; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-'))
                        return -EPROTO;
        memcpy(res->key_type, p, (size_t) (sp - p));
        res->key_type[sp - p] = '\0';
        p = sp + strlen(" key ");
        n = strcspn(p, "\n");
        if (n < strlen("SHA256:") + 1 || n >= sizeof(res->fingerprint) || strcmp(p + n, "\n") != 0 ||
            strncmp(p, "SHA256:", strlen("SHA256:")) != 0)
                return -EPROTO;
        for (size_t i = strlen("SHA256:"); i < n; i++)
                if (!is_b64(p[i]) && p[i] != '=')
                        return -EPROTO;
        memcpy(res->fingerprint, p, n);
        res->fingerprint[n] = '\0';
        return 0;
}

int sshsig_verify_outcome(const struct sshsig_run *run, const char *principal, struct sshsig_result *res)
{
        const char *err = run->buf[1] && run->len[1] ? run->buf[1] : run->buf[0];
        int r;

        memset(res, 0, sizeof(*res));
        if (run->timed_out) {
                say(res->detail, sizeof(res->detail), "ssh-keygen gave no answer within %d ms; killed",
                    SSHSIG_VERIFY_TIMEOUT_MS);
                return -ETIMEDOUT;
        }
        if (run->overflow) {
                say(res->detail, sizeof(res->detail), "ssh-keygen wrote more than %d bytes; killed",
                    SSHSIG_OUTPUT_MAX);
                return -EMSGSIZE;
        }
        if (!run->reaped || run->code == 0) {
                say(res->detail, sizeof(res->detail), "ssh-keygen's exit status is unknown");
                return -ECHILD;
        }
        if (run->code != CLD_EXITED) {
                say(res->detail, sizeof(res->detail), "ssh-keygen was killed by signal %d", run->status);
                return -EIO;
        }
        if (run->status == 0) {
                r = parse_good(run->buf[0], principal, res);
                if (r < 0) {
                        memset(res, 0, sizeof(*res));
                        first_line(res->detail, sizeof(res->detail), "ssh-keygen said yes in words not understood",
                                   run->buf[0]);
                }
                return r;
        }
        /* 255 is ssh-keygen's "no" (a failed verification, a fatal error
         * reading its input); anything else (1: usage) means it was not run
         * the way it should have been. */
        if (run->status == 255) {
                first_line(res->detail, sizeof(res->detail), "", err);
                if (res->detail[0] == '\0')
                        say(res->detail, sizeof(res->detail), "ssh-keygen did not accept the signature");
                return -EBADMSG;
        }
        first_line(res->detail, sizeof(res->detail), "ssh-keygen failed", err);
        return -EIO;
}

int sshsig_verify_sync(const char *allowed_signers, const char *principal, const char *text, const char *armored,
                       struct sshsig_result *res)
{
        struct sshsig_run run = SSHSIG_RUN_INIT;
        struct sshsig_result scratch;
        int r;

        if (!res)
                res = &scratch;
        r = sshsig_verify_spawn(allowed_signers, principal, text, armored, &run, res);
        if (r < 0)
                return r;
        r = sshsig_run_wait(&run, SSHSIG_VERIFY_TIMEOUT_MS);
        if (r < 0)
                say(res->detail, sizeof(res->detail), "waiting for ssh-keygen: %s", strerror(-r));
        else
                r = sshsig_verify_outcome(&run, principal, res);
        sshsig_run_done(&run);
        return r;
}
