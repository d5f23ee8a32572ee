/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The recordings table of the store (schema 9): one row per session
 * recording found in a grant's recording directory, its seal and its
 * pruning. Prepared statements with bound parameters; 0 or a negative errno;
 * nothing here logs (store_last_error() says what failed).
 */
#ifndef JITD_STORE_RECORD_H
#define JITD_STORE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

#define RECORDING_PATH_MAX 200

struct jit_recording {
        int64_t id;
        int64_t grant_id;
        int64_t session_id;             /* 0: no registered session */
        char kind[8];                   /* "sudo", "tlog" */
        char path[RECORDING_PATH_MAX + 1]; /* relative to [jitd] record_dir */
        int64_t found_at;
        int64_t sealed_at;              /* 0: not sealed yet */
        uint64_t size;
        char hash[STORE_HASH_LEN + 1];  /* "" until sealed */
        int64_t pruned_at;              /* 0: on disk */
};

/* For the store's own files only (store_record.c). */
sqlite3 *store_sqlite(struct store *s);
int store_sqlite_error(struct store *s, int rc, const char *what);

/* Insert x unless its path is known: 1 (x->id set) when new, 0 when known. */
int store_recording_add(struct store *s, struct jit_recording *x);
int store_recording_get(struct store *s, int64_t id, struct jit_recording *ret);
int store_recording_set_session(struct store *s, int64_t id, int64_t session_id);
int store_recording_seal(struct store *s, int64_t id, int64_t at, uint64_t size, const char *hash);
int store_recording_pruned(struct store *s, int64_t id, int64_t at);
/* Recordings of grant_id (0: every grant) in id order; unsealed_only: only
 * those waiting for their seal. */
int store_recording_foreach(struct store *s, int64_t grant_id, bool unsealed_only,
                            int (*cb)(const struct jit_recording *x, void *userdata), void *userdata);
/* Sealed recordings not pruned whose seal is older than before, in id order,
 * at most limit; never those of a break-glass grant whose review is pending. */
int store_recording_foreach_expired(struct store *s, int64_t before, int64_t limit,
                                    int (*cb)(const struct jit_recording *x, void *userdata), void *userdata);
/* Sealed recordings of grants requested since since (0: all): how many and
 * their total size. */
int store_recording_totals(struct store *s, int64_t since, uint64_t *ret_count, uint64_t *ret_bytes);

#endif
