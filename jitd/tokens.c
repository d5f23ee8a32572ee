/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gating.h"
#include "tokens.h"
#include "util.h"

struct token {
        char hex[TOKEN_HEX_LEN + 1];    /* "" = free */
        pid_t pid;
        uint64_t peer_key;
        char user[JIT_USER_MAX + 1];
        char service[JIT_SERVICE_MAX + 1];
        int64_t grant_id;
        int64_t issued_ms;              /* monotonic */
};

/* Kernel randomness fetched a page at a time: one getrandom per 256
 * tokens instead of a system call (or OpenSSL's getpid fork check) on every
 * PAM check. Bytes are wiped as they are handed out; jitd never forks
 * without exec, so no two processes share the pool. */
#define POOL_SIZE 4096

struct tokens {
        struct token *v;                /* TOKENS_MAX, a ring */
        size_t next;
        unsigned char pool[POOL_SIZE];
        size_t pool_left;               /* unused bytes at the end of pool */
};

static int pool_take(struct tokens *t, unsigned char *out, size_t n)
{
        if (n > POOL_SIZE)
                return -EINVAL;
        if (t->pool_left < n) {
                ssize_t got = getrandom(t->pool, POOL_SIZE, 0);

                if (got != POOL_SIZE)
                        return got < 0 ? -errno : -EIO;
                t->pool_left = POOL_SIZE;
        }
        memcpy(out, t->pool + POOL_SIZE - t->pool_left, n);
        explicit_bzero(t->pool + POOL_SIZE - t->pool_left, n);
        t->pool_left -= n;
        return 0;
}

int tokens_new(struct tokens **ret)
{
        struct tokens *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->v = calloc(TOKENS_MAX, sizeof(*t->v));
        if (!t->v) {
                free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

void tokens_free(struct tokens *t)
{
        if (!t)
                return;
        explicit_bzero(t->v, TOKENS_MAX * sizeof(*t->v));
        explicit_bzero(t->pool, sizeof(t->pool));
        free(t->v);
        free(t);
}

int tokens_issue(struct tokens *t, pid_t pid, uint64_t peer_key, const char *user, const char *service,
                 int64_t grant_id, char *buf, size_t size)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char rnd[TOKEN_HEX_LEN / 2];
        struct token *k;
        int r;

        if (!t || !user || !service || size < TOKEN_HEX_LEN + 1 || strlen(user) > JIT_USER_MAX ||
            strlen(service) > JIT_SERVICE_MAX)
                return -EINVAL;
        r = pool_take(t, rnd, sizeof(rnd));
        if (r < 0)
                return r;
        /* A ring: the oldest goes first; at TOKENS_MAX a sudo that waited
         * that long between its two phases is refused, which is safe. */
        k = &t->v[t->next];
        t->next = (t->next + 1) % TOKENS_MAX;
        *k = (struct token) { .pid = pid, .peer_key = peer_key, .grant_id = grant_id,
                              .issued_ms = now_monotonic_ms() };
        for (size_t i = 0; i < sizeof(rnd); i++) {
                k->hex[2 * i] = hex[rnd[i] >> 4];
                k->hex[2 * i + 1] = hex[rnd[i] & 0xf];
        }
        k->hex[TOKEN_HEX_LEN] = '\0';
        snprintf(k->user, sizeof(k->user), "%s", user);
        snprintf(k->service, sizeof(k->service), "%s", service);
        memcpy(buf, k->hex, TOKEN_HEX_LEN + 1);
        explicit_bzero(rnd, sizeof(rnd));
        return 0;
}

/* sudo asks for "sudo" in account and "sudo" (or "sudo-i") in session: the
 * same program, one gate. */
static bool same_service(const char *a, const char *b)
{
        return strcmp(a, b) == 0 || (gating_is_sudo_service(a) && gating_is_sudo_service(b));
}

int tokens_take(struct tokens *t, const char *token, pid_t pid, uint64_t peer_key, const char *user,
                const char *service, int64_t *ret_grant)
{
        int64_t now = now_monotonic_ms();

        if (!t || !token || strlen(token) != TOKEN_HEX_LEN)
                return -ENOENT;
        for (size_t i = 0; i < TOKENS_MAX; i++) {
                struct token *k = &t->v[i];
                bool stale, mine;
                int64_t grant;

                if (!k->hex[0] || strcmp(k->hex, token) != 0)
                        continue;
                stale = now - k->issued_ms > (int64_t) TOKEN_TTL_SEC * 1000;
                mine = k->pid == pid && (!k->peer_key || k->peer_key == peer_key) &&
                       strcmp(k->user, user ? user : "") == 0 && same_service(k->service, service ? service : "");
                grant = k->grant_id;
                explicit_bzero(k, sizeof(*k));
                if (stale)
                        return -ENOENT;
                if (!mine)
                        return -EPERM;
                if (ret_grant)
                        *ret_grant = grant;
                return 0;
        }
        return -ENOENT;
}
