/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ticket_limits.h"
#include "util.h"

#define HOUR_MS (3600 * 1000)

struct seen {
        bool used;
        int64_t at_ms;                  /* when the answer came (or was looked at: least recently used) */
        int64_t answered_ms;            /* when the answer came */
        struct ticket_result r;
        char ticket[JIT_TICKET_MAX + 1];
        char user[JIT_USER_MAX + 1];
};

struct budget {
        bool used;
        int64_t at_ms;                  /* last refill */
        int64_t tokens_ms;              /* budget in milliseconds of refill: BURST * REFILL is full */
        char user[JIT_USER_MAX + 1];
};

struct noted {
        bool used;
        int64_t since_ms;               /* the hour's start */
        unsigned count;
        char ticket[JIT_TICKET_MAX + 1];
};

struct ticket_limits {
        int64_t cache_ms;
        struct seen seen[TICKET_SEEN_MAX];
        struct budget budgets[TICKET_BUDGETS_MAX];
        struct noted noted[TICKET_NOTED_MAX];
};

int ticket_limits_new(uint64_t poll_s, struct ticket_limits **ret)
{
        struct ticket_limits *l = calloc(1, sizeof(*l));
        uint64_t half;

        if (!l)
                return -ENOMEM;
        /* Below half the poll interval, jitd's own re-checks are never
         * answered from here even if they asked to be. */
        half = poll_s > UINT64_MAX / 500 ? UINT64_MAX : poll_s * 500;
        l->cache_ms = half < TICKET_CACHE_MAX_MS ? (int64_t) half : TICKET_CACHE_MAX_MS;
        *ret = l;
        return 0;
}

void ticket_limits_free(struct ticket_limits *l)
{
        free(l);
}

int64_t ticket_limits_cache_ms(const struct ticket_limits *l)
{
        return l ? l->cache_ms : 0;
}

static struct seen *seen_find(const struct ticket_limits *l, const char *ticket, const char *user)
{
        for (size_t i = 0; i < TICKET_SEEN_MAX; i++) {
                const struct seen *s = &l->seen[i];

                if (s->used && strcmp(s->ticket, ticket) == 0 && strcmp(s->user, user) == 0)
                        return (struct seen *) s;
        }
        return NULL;
}

void ticket_limits_record(struct ticket_limits *l, const char *ticket, const char *user, int64_t now_ms,
                          const struct ticket_result *r)
{
        struct seen *s;

        if (!l || !ticket || !user || !r || r->verdict == TICKET_ERROR)
                return;
        s = seen_find(l, ticket, user);
        if (!s) {
                s = &l->seen[0];
                for (size_t i = 0; i < TICKET_SEEN_MAX; i++) {
                        if (!l->seen[i].used) {
                                s = &l->seen[i];
                                break;
                        }
                        if (l->seen[i].at_ms < s->at_ms)
                                s = &l->seen[i];
                }
                memset(s, 0, sizeof(*s));
                s->used = true;
                snprintf(s->ticket, sizeof(s->ticket), "%s", ticket);
                snprintf(s->user, sizeof(s->user), "%s", user);
        }
        s->at_ms = s->answered_ms = now_ms;
        s->r = *r;
}

bool ticket_limits_cached(struct ticket_limits *l, const char *ticket, const char *user, int64_t now_ms,
                          struct ticket_result *ret)
{
        struct seen *s;

        if (!l || !ticket || !user || l->cache_ms <= 0)
                return false;
        s = seen_find(l, ticket, user);
        if (!s || now_ms - s->answered_ms >= l->cache_ms || now_ms < s->answered_ms)
                return false;
        s->at_ms = now_ms;
        *ret = s->r;
        return true;
}

bool ticket_limits_requester_ok(const struct ticket_limits *l, const char *ticket, const char *user)
{
        const struct seen *s;

        if (!l || !ticket || !user)
                return false;
        s = seen_find(l, ticket, user);
        return s && s->r.requester_ok;
}

int ticket_limits_charge(struct ticket_limits *l, const char *user, int64_t now_ms, int64_t *ret_wait_ms)
{
        const int64_t full = (int64_t) TICKET_BUDGET_BURST * TICKET_BUDGET_REFILL_MS;
        struct budget *b = NULL, *oldest = &l->budgets[0];

        for (size_t i = 0; i < TICKET_BUDGETS_MAX; i++) {
                struct budget *x = &l->budgets[i];

                if (x->used && strcmp(x->user, user) == 0) {
                        b = x;
                        break;
                }
                /* Free slots first, then the one idle longest (its budget
                 * has refilled the most, so forgetting it costs least). */
                if (oldest->used && (!x->used || x->at_ms < oldest->at_ms))
                        oldest = x;
        }
        if (!b) {
                b = oldest;
                memset(b, 0, sizeof(*b));
                b->used = true;
                b->at_ms = now_ms;
                b->tokens_ms = full;
                snprintf(b->user, sizeof(b->user), "%s", user);
        }
        if (now_ms > b->at_ms) {
                b->tokens_ms += now_ms - b->at_ms;
                if (b->tokens_ms > full)
                        b->tokens_ms = full;
        }
        b->at_ms = now_ms;
        if (b->tokens_ms < TICKET_BUDGET_REFILL_MS) {
                if (ret_wait_ms)
                        *ret_wait_ms = TICKET_BUDGET_REFILL_MS - b->tokens_ms;
                return -EAGAIN;
        }
        b->tokens_ms -= TICKET_BUDGET_REFILL_MS;
        return 0;
}

int ticket_limits_note(struct ticket_limits *l, const char *ticket, int64_t now_ms)
{
        struct noted *n = NULL, *oldest = &l->noted[0];

        for (size_t i = 0; i < TICKET_NOTED_MAX; i++) {
                struct noted *x = &l->noted[i];

                if (x->used && strcmp(x->ticket, ticket) == 0) {
                        n = x;
                        break;
                }
                if (oldest->used && (!x->used || x->since_ms < oldest->since_ms))
                        oldest = x;
        }
        if (n && now_ms - n->since_ms >= HOUR_MS)
                n->used = false;        /* a new hour */
        if (!n || !n->used) {
                n = n ? n : oldest;
                memset(n, 0, sizeof(*n));
                n->used = true;
                n->since_ms = now_ms;
                snprintf(n->ticket, sizeof(n->ticket), "%s", ticket);
        }
        if (n->count >= TICKET_NOTES_PER_HOUR)
                return -EDQUOT;
        n->count++;
        return 0;
}
