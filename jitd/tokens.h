/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The account decision and the session are one transaction of trust: an
 * "allow" carries a token, and the session phase must present it. A token is
 * given to one process (its pid and what names it for good: its pidfs inode,
 * or its start time; conn_peer_key) for one user and service, is
 * good for TOKEN_TTL_SEC, and is used once. They live in memory only: a jitd
 * restarted between the two phases refuses the session (fail closed).
 */
#ifndef JITD_TOKENS_H
#define JITD_TOKENS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TOKEN_TTL_SEC   300
#define TOKENS_MAX      1024
#define TOKEN_HEX_LEN   32

struct tokens;

int tokens_new(struct tokens **ret);
void tokens_free(struct tokens *t);

/* A fresh token for (pid, peer_key, user, service, grant) into buf (at
 * least TOKEN_HEX_LEN + 1 bytes). The oldest token goes when the table is
 * full. */
int tokens_issue(struct tokens *t, pid_t pid, uint64_t peer_key, const char *user, const char *service,
                 int64_t grant_id, char *buf, size_t size);
/* Take the token (it cannot be used twice) if it was issued to this very
 * process for this user and service and is not stale: 0 with the grant it
 * was issued for; -ENOENT unknown, used or stale; -EPERM issued to someone
 * else (it is taken anyway: a token shown to the wrong party is spent). */
int tokens_take(struct tokens *t, const char *token, pid_t pid, uint64_t peer_key, const char *user,
                const char *service, int64_t *ret_grant);

#endif
