/* SPDX-License-Identifier: BSD-3-Clause */
/* The audit chain (jitd/audit.c) as the store tests knew it: one event by its
 * fields, verification, and a walk by since and grant. */
#ifndef TESTS_AUDIT_HELPERS_H
#define TESTS_AUDIT_HELPERS_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "store.h"
#include "util.h"

static struct audit_chain *test_chain(void)
{
        static struct audit_chain *c;

        if (!c && audit_chain_new(&c) < 0)
                return NULL;
        return c;
}

static inline int test_audit_append(struct store *s, int64_t at, uid_t uid, const char *actor, int64_t grant_id,
                                    const char *event, const char *details, int64_t *ret_seq)
{
        struct audit_event e = { .at = at, .actor_uid = uid, .grant_id = grant_id, .details = details };
        int r;

        if (!actor || !event || !event[0] || strcpy_checked(e.actor, sizeof(e.actor), actor) < 0 ||
            strcpy_checked(e.event, sizeof(e.event), event) < 0)
                return -EINVAL;
        r = audit_append(test_chain(), s, &e);
        if (r >= 0 && ret_seq)
                *ret_seq = e.seq;
        return r;
}

static inline int test_audit_verify(struct store *s, int64_t *ret_seq, char *why, size_t why_size)
{
        return audit_verify(test_chain(), s, ret_seq, why, why_size);
}

static inline int test_audit_foreach(struct store *s, int64_t since, int64_t grant_id,
                                     int (*cb)(const struct audit_event *e, void *userdata), void *userdata)
{
        struct store_audit_filter f = { .since = since, .grant_id = grant_id };

        return store_audit_foreach(s, &f, cb, userdata);
}

#endif
