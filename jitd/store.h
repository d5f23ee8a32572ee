/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SQLite store: grants, approvals, sessions and the audit log, in one
 * database file (WAL). Prepared statements with bound parameters only. A state
 * change and its audit event are written in one transaction: callers bracket
 * them with store_begin()/store_commit() (store_rollback() on any failure).
 * Returns 0 or a negative errno; nothing here logs.
 */
#ifndef JITD_STORE_H
#define JITD_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "grant.h"

#define STORE_SCHEMA_VERSION 3

struct store;

/* Open (creating the file 0600 and the schema when new, migrating an older
 * schema, refusing a newer one with -EPROTONOSUPPORT). */
int store_open(const char *path, struct store **ret);
void store_free(struct store *s);
/* A one-line description of the last SQLite error, for the caller's log. */
const char *store_last_error(const struct store *s);

int store_begin(struct store *s);     /* BEGIN IMMEDIATE */
/* The same, committing without fsync (synchronous = NORMAL): survives a jitd
 * crash, not a power loss. For session bookkeeping only. */
int store_begin_relaxed(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s); /* safe to call when no transaction is open */

/* Insert g (g->id ignored); sets g->id on success. */
int store_grant_insert(struct store *s, struct jit_grant *g);
/* Overwrite every column of the grant with id g->id. -ENOENT if absent. */
int store_grant_update(struct store *s, const struct jit_grant *g);
/* -ENOENT if absent. */
int store_grant_get(struct store *s, int64_t id, struct jit_grant *ret);

struct store_filter {
        const char *user;           /* NULL: any */
        const char *role;           /* NULL: any */
        unsigned states;            /* GRANT_STATE_MASK bits; 0 = any */
        int64_t since;              /* requested_at >= since; 0 = any */
        int64_t limit;              /* 0 = no limit */
};
/* Calls cb for each matching grant in id order; a negative return from cb
 * stops the walk and is returned. */
int store_grant_foreach(struct store *s, const struct store_filter *f,
                        int (*cb)(const struct jit_grant *g, void *userdata), void *userdata);
/* The earliest time something must happen: min(expires_at of active,
 * starts_at of scheduled). -ENOENT when there is nothing to wait for. */
int store_next_deadline(struct store *s, int64_t *ret);

/* The earliest expires_at of an active grant that is later than after
 * (warn_before notices). -ENOENT when there is none. */
int store_next_expiry_after(struct store *s, int64_t after, int64_t *ret);

/* Break-glass grants requested at or before cutoff whose review is pending. */
int store_count_overdue_reviews(struct store *s, int64_t cutoff, uint64_t *ret);

/* Record one approver's decision. -EEXIST if that uid already decided this grant. */
int store_approval_add(struct store *s, int64_t grant_id, uid_t uid, const char *name,
                       bool approve, const char *note, int64_t at);
/* How many distinct approvals (approve == true) the grant has. */
int store_approval_count(struct store *s, int64_t grant_id, unsigned *ret);

/* Append one audit event; details is a JSON object text (NULL = "{}"). The
 * hash chain (SHA-256 over the previous hash and this event's fields) is kept
 * here. grant_id 0 = not about a grant. Sets *ret_seq when not NULL.
 * Must run inside store_begin()/store_commit() (-EINVAL otherwise). */
int store_audit_append(struct store *s, int64_t at, uid_t actor_uid, const char *actor,
                       int64_t grant_id, const char *event, const char *details,
                       int64_t *ret_seq);

struct audit_event {
        int64_t seq;
        int64_t at;
        uid_t actor_uid;
        char actor[JIT_USER_MAX + 1];
        int64_t grant_id;
        char event[32];
        char *details;              /* JSON text, valid during the callback only */
        char prev_hash[65];
        char hash[65];
};
int store_audit_foreach(struct store *s, int64_t since, int64_t grant_id,
                        int (*cb)(const struct audit_event *e, void *userdata), void *userdata);

/* Walk the chain; 0 when intact, -EBADMSG when broken, with *ret_seq the first
 * bad seq and why a one-line explanation ("event 12 was edited", "event 7 is
 * missing (deleted)", "event 9 does not chain to event 8 (inserted or
 * reordered)"). When intact, *ret_seq is the last seq checked (0: empty log)
 * and why is "". ret_seq and why may be NULL. */
int store_audit_verify(struct store *s, int64_t *ret_seq, char *why, size_t why_size);

/* A session opened under a grant (PAM open_session), so that it can be
 * killed when the grant ends. handle is what teardown needs to find it again
 * (a cgroup, a systemd scope, or a pid with its start time). */
struct jit_session {
        int64_t id;
        int64_t grant_id;
        pid_t pid;
        char service[JIT_SERVICE_MAX + 1];
        char tty[JIT_TTY_MAX + 1];
        char rhost[JIT_HOST_MAX + 1];
        char handle[128];
        int64_t opened_at;
        int64_t closed_at;              /* 0 while open */
};

/* Sets x->id. */
int store_session_insert(struct store *s, struct jit_session *x);
int store_session_set_handle(struct store *s, int64_t id, const char *handle);
/* Marks an open session closed; closing a closed one changes nothing. */
int store_session_close(struct store *s, int64_t id, int64_t at, const char *reason);
/* The newest open session of pid; -ENOENT if none. */
int store_session_find_open(struct store *s, pid_t pid, struct jit_session *ret);
/* The session's processes were killed at the end of its grant: it is
 * settled (and closed, with reason, if it was still open). */
int store_session_torn_down(struct store *s, int64_t id, int64_t at, const char *reason);
/* Sessions not yet torn down, open or closed, of a grant (grant_id 0: of
 * every grant), in id order. */
int store_session_foreach_live(struct store *s, int64_t grant_id,
                               int (*cb)(const struct jit_session *x, void *userdata), void *userdata);

/* An extension waiting for the role's approval. */
struct jit_extension {
        int64_t grant_id;
        uint64_t duration;
        char reason[JIT_REASON_MAX + 1];
        int64_t requested_at;
        char approvers[JIT_LIST_MAX + 1];       /* comma-separated, so far */
};

/* Insert or replace the grant's pending extension. */
int store_extension_put(struct store *s, const struct jit_extension *x);
/* -ENOENT when none waits. */
int store_extension_get(struct store *s, int64_t grant_id, struct jit_extension *ret);
int store_extension_delete(struct store *s, int64_t grant_id);

#endif
