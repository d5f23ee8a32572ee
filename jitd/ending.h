/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Records that wait. When a grant ends, its rule is removed and its sessions
 * killed first; then the end is recorded. When that record cannot be written
 * (a full disk, a locked database) the end is kept here and written later,
 * retried with backoff (ENDING_RETRY_FIRST_MS doubling up to
 * ENDING_RETRY_MAX_MS), never in a busy loop, and logged once when it starts
 * failing and then at most every ENDING_LOG_EVERY_MS. The same goes for the
 * records of teardowns (sessions verified dead, "torn-down" events).
 *
 * Until its record is written, a grant here counts as ended everywhere: PAM
 * checks deny it, reconciliation does not restore its rule, sessions do not
 * attach to it, deadlines do not fire for it again.
 */
#ifndef JITD_ENDING_H
#define JITD_ENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jitd.h"
#include "record.h"

#define ENDING_RETRY_FIRST_MS 100
#define ENDING_RETRY_MAX_MS   5000
#define ENDING_LOG_EVERY_MS   30000

struct ending;

/* dir: where unrecorded grant ends are kept across a restart (tombstone.h),
 * dir_disk: a second copy next to the database, across a reboot (NULL: none);
 * both taken over. */
int ending_new(struct jitd *d, char *dir, char *dir_disk, struct ending **ret);
/* Those directories. */
const char *ending_dir(const struct ending *e);
const char *ending_dir_disk(const struct ending *e);
/* The end of grant_id is recorded: drop its copies. */
void ending_forget(struct ending *e, int64_t grant_id);
void ending_free(struct ending *e);

/* Record c now (one transaction); when that fails, keep a copy and retry.
 * after_commit runs once the record is written (effects that must follow
 * it: a ticket note). 0: recorded now; 1: kept, recorded later; <0: could not
 * even be kept (out of memory: the caller logs; reconciliation repairs). */
typedef void (*ending_after_fn)(struct jitd *d, const struct change *c);
int ending_record(struct jitd *d, const struct change *c, ending_after_fn after_commit);

/* The same for n ends at once (the clock): one transaction for all of them
 * now, or each waits. Returns how many wait. */
size_t ending_record_many(struct jitd *d, struct change *cs, size_t n, ending_after_fn after_commit);

/* What happened to sessions: torn down (killed and verified, or untracked),
 * moved to another grant, closed. */
enum session_row_kind { SESSION_ROW_TORN_DOWN, SESSION_ROW_MOVED, SESSION_ROW_CLOSED };
struct session_row {
        int64_t session_id;
        enum session_row_kind kind;
        int64_t at;
        int64_t grant_id;               /* SESSION_ROW_MOVED: the new owner */
        char reason[64];
};
/* Session rows and events about grants (each change's events only, no grant
 * row) in one transaction, or later. Same returns as ending_record. */
int ending_record_sessions(struct jitd *d, const struct session_row *rows, size_t n_rows, const struct change *cs,
                           size_t n_changes);

/* Is grant id's end done on the host and not yet recorded? */
bool ending_contains(const struct ending *e, int64_t id);
/* The grant as its waiting record has it (ended); -ENOENT when none waits. */
int ending_lookup(const struct ending *e, int64_t id, struct jit_grant *ret);
/* How many records wait (status, tests). */
size_t ending_count(const struct ending *e);
/* For store_next_deadline_skipping(): userdata is the struct ending. */
bool ending_skip(int64_t id, void *userdata);
/* Try every waiting record now (at exit, after the fault is gone). */
void ending_flush(struct ending *e);

#endif
