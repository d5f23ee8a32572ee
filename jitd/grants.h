/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The only writer of grant state. Each call runs one step of the state
 * machine (grant_fsm.h), records the grant and its audit events in one
 * transaction, and has effects.c carry out the step's effects in the order
 * of doc/CORE.md.
 *
 * Returns, for every call below:
 *   0          recorded; *g is the grant now;
 *   1          an end: its rule is gone and its sessions are being killed,
 *              and its record waits for the database (ending.h); *g is the
 *              grant as it will be recorded;
 *   -EAGAIN    the step would have activated the grant but its sudoers rule
 *              could not be prepared: recorded as "activation-failed", the
 *              grant stays pending, why says what failed (reconciliation
 *              retries);
 *   -EALREADY, -ENOENT, -EPERM, -EINVAL, -EEXIST
 *              the step does not apply (why says why): nothing changed;
 *   -EBUSY, -ENOSPC, -EIO, ...
 *              the database: nothing changed.
 */
#ifndef JITD_GRANTS_H
#define JITD_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grant_fsm.h"
#include "jitd.h"

/* A grant as it stands: the store's row, or the end that waits for its
 * record. -ENOENT when there is no such grant. */
int grants_get(struct jitd *d, int64_t id, struct jit_grant *ret);

/* The approvals g counts toward approvals_needed: the store's approval rows
 * for a local grant; for a fleet grant's copy, its approvers (the fleet's
 * signed approvals, verified and counted by the mirror before it made it). */
int grants_approvals_have(struct jitd *d, const struct jit_grant *g, unsigned *ret);

/* A new grant (FSM_REQUEST or FSM_BREAK_GLASS): g's request fields are
 * filled; g->id is set. */
int grants_create(struct jitd *d, struct jit_grant *g, enum fsm_event_type type, const struct actor *a,
                  char *why, size_t why_size);
/* One step on an existing grant. */
int grants_step(struct jitd *d, struct jit_grant *g, const struct fsm_event *ev, const struct actor *a, char *why,
                size_t why_size);
/* An approver's approval: its row, the count, the step. -EEXIST: this
 * approver approved already. */
int grants_approve(struct jitd *d, struct jit_grant *g, const struct actor *a, const char *note, char *why,
                   size_t why_size);
/* The ticket approved: activation inside its change window (peer approvals
 * counted from the store; a fleet grant's copy: its approvers, the fleet's
 * verified signatures), and for a fleet grant's copy no later than the
 * fleet's end. -EAGAIN here with why "waiting for N more approvals" means
 * nothing changed. */
int grants_ticket_approved(struct jitd *d, struct jit_grant *g, int64_t win_start, int64_t win_end, char *why,
                           size_t why_size);

/* A fleet grant this host enforces (jitd/fleet_mirror.c, after
 * fleet_decide said so): requested and approved by approvals approvers
 * (comma-separated) in one transaction, linked to fleet_id (-EEXIST when it
 * is linked already: a change replayed), and ending at ends_at at the latest.
 * approvals 0: requested only, for the local role's own path to approve (an
 * auto role at once; a ticket role stays pending for this host's lookup, and
 * grants_ticket_approved keeps ends_at). A role approved by ticket and peer
 * stays pending too, approved by its peers, for this host's lookup. g's
 * request fields are filled;
 * g->id is set. */
int grants_mirror(struct jitd *d, struct jit_grant *g, int64_t fleet_id, const char *approvers, unsigned approvals,
                  int64_t ends_at, const struct actor *a, char *why, size_t why_size);

/* Extensions: the request (its row and event), an approval (the approver
 * recorded; when that completes the approvals and the ticket, if any, has
 * said yes, the extension is applied in the same transaction), and the
 * extension itself when the role needs no approval. *ret_applied says
 * whether the grant was extended. */
int grants_extension_request(struct jitd *d, struct jit_grant *g, uint64_t duration, const char *reason,
                             const struct actor *a, char *why, size_t why_size);
int grants_extension_approve(struct jitd *d, struct jit_grant *g, const struct actor *a, const char *note,
                             bool ticket_said_yes, bool *ret_applied, char *why, size_t why_size);
int grants_extend(struct jitd *d, struct jit_grant *g, uint64_t duration, const char *reason, const struct actor *a,
                  char *why, size_t why_size);
/* Extension n of fleet grant fleet_id applied to g, its copy here: duration
 * more, recorded once (store_fleet_extension_put) in the same transaction,
 * the drop-in's NOTAFTER moved after the commit. */
int grants_fleet_extend(struct jitd *d, struct jit_grant *g, int64_t fleet_id, int64_t n, uint64_t duration,
                        const char *reason, const struct actor *a, char *why, size_t why_size);

/* The clock: grants ids[0..n) that are active and due end now, together:
 * every rule removed with one flush, every session's kill sent, then one
 * transaction for all their records (or each waits in ending.h). Grants
 * that are no longer due (released, extended) are left alone. Returns how
 * many ended. */
size_t grants_expire(struct jitd *d, const int64_t *ids, size_t n);

/* At start, before anyone is served: the ends that were done on the host but
 * not recorded when jitd last stopped (tombstone.h) are done again (rule,
 * sessions) and recorded, or wait as any unrecorded end does. An end the
 * database already holds is forgotten. Returns how many were restored, or a
 * store error (then jitd must not serve: it cannot tell who is ended). */
int grants_restore_ends(struct jitd *d);

#endif
