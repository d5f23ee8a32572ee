/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The record of one change to a grant: its row and its audit events, written
 * in one transaction, and their journal copies once that transaction has
 * committed. grants.c writes changes as they happen; ending.c writes the
 * ones whose effects came first and whose record had to wait.
 */
#ifndef JITD_RECORD_H
#define JITD_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "grant_fsm.h"
#include "jitd.h"
#include "store.h"

#define CHANGE_EVENTS_MAX (FSM_AUDIT_MAX + 1)

struct change_event {
        char event[32];
        uid_t actor_uid;
        char actor[JIT_USER_MAX + 1];
        bool alert;
        char *details;                  /* JSON object text, owned */
        int64_t at;
        int64_t seq;                    /* set once written */
        char hash[STORE_HASH_LEN + 1];
        char prev_hash[STORE_HASH_LEN + 1];
};

struct change {
        struct jit_grant next;
        unsigned effects;               /* enum fsm_effect */
        size_t n;
        struct change_event ev[CHANGE_EVENTS_MAX];
};

/* The audit events of an FSM step as the actor's (or jitd's) events at now. */
int change_from_fsm(struct change *c, const struct fsm_result *res, const struct actor *a, int64_t now);
/* One more event that is no state change (teardown, repairs). details is
 * copied ("{}" when NULL). */
int change_add_event(struct change *c, const char *event, const struct actor *a, int64_t at, const char *details);
void change_done(struct change *c);
/* Copy with fresh details strings. */
int change_copy(struct change *dst, const struct change *src);

/* Inside the caller's transaction: the grant row (inserted when insert, then
 * c->next.id is set; updated otherwise) and every event. */
int change_write(struct jitd *d, struct change *c, bool insert);
/* Only the events (no grant row), inside the caller's transaction. */
int change_write_events(struct jitd *d, struct change *c);
/* After the commit: every event to the journal with its seq and hash. */
void change_log(const struct change *c);

/* One transaction around change_write (begin, write, commit; rollback on
 * failure). */
int change_record(struct jitd *d, struct change *c, bool insert);

#endif
