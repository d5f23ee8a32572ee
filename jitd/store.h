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

#define STORE_SCHEMA_VERSION 10
#define STORE_HASH_LEN 64          /* an audit hash in hex */

struct store;

/* Open (creating the file 0600 and the schema when new, migrating an older
 * schema, refusing a newer one with -EPROTONOSUPPORT). */
int store_open(const char *path, struct store **ret);
void store_free(struct store *s);
/* Cap the database at max_pages pages (0: no cap) for this connection, so
 * that writes past it fail as on a full disk (-ENOSPC): for tests of what
 * jitd does when the disk is full. */
int store_limit_pages(struct store *s, int64_t max_pages);
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
        int64_t after_id;           /* id > after_id: the next page of a listing; 0 = from the start */
        int64_t limit;              /* 0 = no limit */
};
/* Calls cb for each matching grant in id order; a negative return from cb
 * stops the walk and is returned. */
int store_grant_foreach(struct store *s, const struct store_filter *f,
                        int (*cb)(const struct jit_grant *g, void *userdata), void *userdata);
/* The earliest time something must happen: min(expires_at of active,
 * starts_at of scheduled). -ENOENT when there is nothing to wait for. */
int store_next_deadline(struct store *s, int64_t *ret);
/* The same, leaving out the grants skip() says are being taken care of
 * (their end is done on the host and waits to be recorded). */
int store_next_deadline_skipping(struct store *s, bool (*skip)(int64_t id, void *userdata), void *userdata,
                                 int64_t *ret);

/* Grants whose time has come at now, each walk from its index: scheduled
 * ones whose start has come (starting), then active ones whose end has. */
int store_due_foreach(struct store *s, int64_t now, int (*cb)(int64_t id, bool starting, void *userdata),
                      void *userdata);

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

/* The audit table. The chain itself (hashes, verification) is audit.c's. */
struct audit_event {
        int64_t seq;
        int64_t at;
        uid_t actor_uid;
        char actor[JIT_USER_MAX + 1];
        int64_t grant_id;                   /* 0: not about a grant */
        char event[32];
        const char *details;                /* JSON text; when read, valid during the callback only */
        char prev_hash[STORE_HASH_LEN + 1];
        char hash[STORE_HASH_LEN + 1];
};
/* The newest event's seq and hash: 0 and 64 '0's for an empty log. */
int store_audit_tail(struct store *s, int64_t *ret_seq, char ret_hash[STORE_HASH_LEN + 1]);
/* The newest "audit-key" event (jitd/audit.h): its seq and details; -ENOENT
 * when there is none. */
int store_audit_last_key(struct store *s, int64_t *ret_seq, char *ret_details, size_t size);
/* Insert one event as given (inside a transaction, -EINVAL otherwise). */
int store_audit_insert(struct store *s, const struct audit_event *e);

struct store_audit_filter {
        int64_t since;                      /* at >= since; 0 = any */
        int64_t grant_id;                   /* 0 = any */
        int64_t after_seq;                  /* seq > after_seq: the next page; 0 = from the start */
        int64_t limit;                      /* 0 = no limit */
};
int store_audit_foreach(struct store *s, const struct store_audit_filter *f,
                        int (*cb)(const struct audit_event *e, void *userdata), void *userdata);

/* A row exactly as stored, for the verifier: NULL for a column that is not
 * text, typed false when a number column is not an integer. */
struct audit_raw {
        int64_t seq, at, actor_uid, grant_id;
        bool typed;
        const char *actor, *event, *details, *prev_hash, *hash;
        size_t actor_len, event_len, details_len, prev_hash_len, hash_len;
};
/* Rows with seq > after_seq in order; a non-zero return from cb stops the
 * walk and is returned. */
int store_audit_walk_raw(struct store *s, int64_t after_seq,
                         int (*cb)(const struct audit_raw *e, void *userdata), void *userdata);

/* A session opened under a grant (PAM open_session), so that it can be
 * killed when the grant ends. handle is what teardown needs to find it again
 * (a cgroup, a systemd scope, or a pid with its start time). */
struct jit_session {
        int64_t id;
        int64_t grant_id;
        pid_t pid;
        uint64_t pid_start;             /* the process's start time (field 22 of /proc/PID/stat); 0 = unknown */
        char service[JIT_SERVICE_MAX + 1];
        char target[JIT_USER_MAX + 1];  /* sudo: the user the command runs as; "" otherwise */
        char tty[JIT_TTY_MAX + 1];
        char rhost[JIT_HOST_MAX + 1];
        char handle[128];
        int64_t opened_at;
        int64_t closed_at;              /* 0 while open */
};

/* Sets x->id. */
int store_session_insert(struct store *s, struct jit_session *x);
/* -ENOENT when there is no such session. */
int store_session_get(struct store *s, int64_t id, struct jit_session *ret);
/* The session now belongs to another grant (its own ended early). */
int store_session_set_grant(struct store *s, int64_t id, int64_t grant_id);
/* How many sessions were ever opened under the grant (single use). */
int store_session_count(struct store *s, int64_t grant_id, uint64_t *ret);
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
/* Live sessions of any grant with id > after_id, at most limit, in id order:
 * a walk of many, a page at a time. */
int store_session_foreach_live_page(struct store *s, int64_t after_id, int64_t limit,
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

/* The fleet (jitd/fleet_mirror.c). A fleet grant enforced here is linked
 * to its local grant once: -EEXIST for a second link of either. */
int store_fleet_link(struct store *s, int64_t fleet_id, int64_t grant_id, int64_t ends_at);
/* The local grant of a fleet grant; -ENOENT when it is not enforced here. */
int store_fleet_lookup(struct store *s, int64_t fleet_id, int64_t *ret_grant_id);
/* The other way: the fleet id of a local grant; -ENOENT for a local-only
 * grant. */
int store_fleet_id_of(struct store *s, int64_t grant_id, int64_t *ret_fleet_id);
/* When the fleet says a local grant ends; -ENOENT for a grant that is not a
 * fleet grant. */
int store_fleet_ends_at(struct store *s, int64_t grant_id, int64_t *ret_ends_at);
/* A refusal of a fleet grant, once per reason: -EEXIST when noted already. */
int store_fleet_refused_add(struct store *s, int64_t fleet_id, const char *why, int64_t at);
/* The last jit.changes seq applied (0: none yet), and its update. */
int store_fleet_seq_get(struct store *s, int64_t *ret);
/* An end of a fleet grant decided here, waiting to be recorded in the fleet
 * database (kept until it is, across restarts). put: once per grant (a
 * second is ignored); next: the first after fleet id after, -ENOENT when
 * there is none. */
struct store_fleet_end {
        int64_t fleet_id;
        char kind[16];                  /* revoked, released */
        char by[JIT_USER_MAX + 1];
        char reason[JIT_REASON_MAX + 1];
        int64_t at;
};
int store_fleet_end_put(struct store *s, const struct store_fleet_end *e);
int store_fleet_end_delete(struct store *s, int64_t fleet_id);
int store_fleet_end_next(struct store *s, int64_t after, struct store_fleet_end *ret);
int store_fleet_seq_set(struct store *s, int64_t seq);

/* Uploads to the fleet (jitd/fleet_upload.c). The newest local audit seq
 * the fleet database has confirmed (0: none yet), and its update. */
int store_fleet_upload_get(struct store *s, int64_t *ret);
int store_fleet_upload_set(struct store *s, int64_t seq);
/* A revoke --user USER --all whose fleet part waits for the database (kept
 * across restarts until it has it). put: once per user (a second is
 * ignored: it would end the same grants); next: the first user after
 * after ("" from the start), -ENOENT when there is none. */
struct store_fleet_user_end {
        char user[JIT_USER_MAX + 1];
        char by[JIT_USER_MAX + 1];
        char reason[JIT_REASON_MAX + 1];
        int64_t at;
};
int store_fleet_user_end_put(struct store *s, const struct store_fleet_user_end *e);
int store_fleet_user_end_delete(struct store *s, const char *user);
int store_fleet_user_end_next(struct store *s, const char *after, struct store_fleet_user_end *ret);
int store_fleet_user_end_count(struct store *s, int64_t *ret);

/* Extension n of fleet grant fleet_id applied to its copy here at at, which
 * now ends at ends_at (fleet_grants.ends_at moves with it): inside the
 * transaction that extends the copy. */
int store_fleet_extension_put(struct store *s, int64_t fleet_id, int64_t n, int64_t ends_at, int64_t at);
/* How many extensions of fleet_id were applied here, and whether n is one. */
int store_fleet_extension_state(struct store *s, int64_t fleet_id, int64_t n, unsigned *ret_applied, bool *ret_has);

#endif
