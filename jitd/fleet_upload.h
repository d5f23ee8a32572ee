/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What this host sends to the fleet database on its own (issue 14, item 6;
 * doc/FLEET.md "Uploads"): its audit chain, and the fleet part of a
 * revoke --user NAME --all made here.
 *
 * The audit chain goes up event by event, in seq order, each with
 * jit.audit_append on the mirror's link (fleet_mirror_query: one statement
 * at a time, taking turns with the catch-up and the verbs). The queue is the
 * audit table itself: the store keeps the newest seq the database confirmed
 * (fleet_upload, schema 8), and every event after it waits, across outages
 * and restarts. The position moves only after the database's answer: true
 * (stored) and false (stored already: a retry after a lost answer or a
 * restart) both mean the database has it. An event the database refuses for
 * good (another event at its place, a chain that does not link) stops the
 * upload there: said once at error priority and in jitctl status, never
 * skipped, never rewritten; it is tried again at each reconnect and every
 * few minutes, in case an admin repaired the database. A transient refusal
 * is retried after a backoff. Uploads start when the link comes up, after
 * each committed event (a post source watching audit_chain_appended), and at
 * every [fleet] sync; between two events the loop serves everything else.
 *
 * A revoke --user NAME --all whose fleet statement could not run (or whose
 * answer was lost) waits in the store (fleet_user_ends) and is sent at each
 * reconnect and every sync until the database has it; it ends the user's
 * grants that are open when it lands.
 */
#ifndef JITD_FLEET_UPLOAD_H
#define JITD_FLEET_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "fleet_link.h"
#include "jitd.h"
#include "store.h"

struct fleet_mirror;
struct fleet_upload;

/* m is the mirror whose link carries the statements (it owns the upload). */
int fleet_upload_new(struct jitd *d, struct fleet_mirror *m, struct fleet_upload **ret);
void fleet_upload_free(struct fleet_upload *u);

/* The mirror's link is up (again): what waits goes. */
void fleet_upload_up(struct fleet_upload *u);
/* Every [fleet] sync: the backstop. */
void fleet_upload_sync(struct fleet_upload *u);

/* One line for jitctl status: how far the chain is uploaded, how many events
 * wait, a stop and why, queued revocations. */
void fleet_upload_status(const struct fleet_upload *u, char *buf, size_t size);

/* Sends e (already in the store's queue: store_fleet_user_end_put): every
 * open fleet grant of e->user ended by e->by; the entry goes once the
 * database has answered. cb as for fleet_mirror_query, with the ids ended;
 * -ENOTCONN at once when the database is unreachable (it stays queued). */
int fleet_upload_user_end(struct fleet_upload *u, const struct store_fleet_user_end *e, fleet_query_fn cb,
                          void *userdata);

/* ---- the pure parts (tests/unit/check_fleet_upload.c) ---------------------- */

#define FLEET_UPLOAD_PARAMS 11

/* The parameters of jit.audit_append for event e of host: fleet_grant is the
 * fleet id of its grant (0: none, sent as NULL). params point into e and
 * into call. -EINVAL for an event the database could never take. */
struct fleet_upload_call {
        char seq[24], at[24], uid[24], host_grant[24], grant[24];
        const char *params[FLEET_UPLOAD_PARAMS];
};
int fleet_upload_params(const char *host, const struct audit_event *e, int64_t fleet_grant,
                        struct fleet_upload_call *ret);

enum fleet_upload_verdict {
        FLEET_UPLOAD_STORED,    /* the database has the event (now, or from an earlier try) */
        FLEET_UPLOAD_WAIT,      /* the connection went: again when it is back */
        FLEET_UPLOAD_RETRY,     /* transient: the same event again after a backoff */
        FLEET_UPLOAD_REWIND,    /* the database lacks events it had confirmed: again from *ret_from + 1 */
        FLEET_UPLOAD_STOP,      /* refused for good: stop there */
};
/* What the answer to the upload of event seq means, position being the
 * newest seq confirmed before it. r, answer (the boolean's text, r == 0),
 * sqlstate and message (the server's primary message, r == -EIO) as the
 * link gives them. */
enum fleet_upload_verdict fleet_upload_judge(int r, const char *answer, const char *sqlstate, const char *message,
                                             int64_t seq, int64_t position, int64_t *ret_from);

/* The next retry delay: 500 ms doubling to 60 s (before jitter). */
unsigned fleet_upload_backoff(unsigned ms);

#endif
