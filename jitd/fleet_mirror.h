/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mirroring the fleet's grants into this host's store (issue 14, doc/FLEET.md):
 * on every notification on jit_changes and every [fleet] sync (+-10%), the
 * changes after the last one applied are read in order, a page at a time, and
 * each grant they name is judged by fleet_decide (this host's jitd.conf, NSS,
 * the approvers' signatures verified by ssh-keygen from the loop). What
 * passes becomes a local grant (grants_mirror) and runs through the state
 * machine and effects as any other (a ticket-approved one waits, pending,
 * for this host's own lookup of its ticket: jitd/ticketflow.c); what this
 * host refuses is audited once (fleet-refused); an end recorded anywhere
 * ends the local grant through the ending path. The PAM path never waits for
 * any of this.
 */
#ifndef JITD_FLEET_MIRROR_H
#define JITD_FLEET_MIRROR_H

#include <stdbool.h>
#include <stddef.h>

#include "fleet_link.h"
#include "jitd.h"

struct fleet_mirror;

/* Starts connecting (d->config->fleet must be set). */
int fleet_mirror_new(struct jitd *d, struct fleet_mirror **ret);
void fleet_mirror_free(struct fleet_mirror *m);

/* One parameterised statement for a jitctl verb (the write functions, a
 * grant's fields), queued behind the one in flight and sent before the next
 * catch-up page. -ENOTCONN at once when the database is not reachable now
 * (nothing is queued); else cb comes exactly once: with the result, with
 * -ECONNRESET when the connection went before the answer (the statement may
 * or may not have committed), or with -ECANCELED when jitd stops (then it
 * must not reply). sql is static; params are copied. */
int fleet_mirror_query(struct fleet_mirror *m, const char *sql, int n_params, const char *const *params,
                       fleet_query_fn cb, void *userdata);
/* Records e, an end decided here and already in the store's queue
 * (store_fleet_end_put), with jit.end_grant; the queue entry goes once the
 * database has it (or says there is no such grant). cb as for
 * fleet_mirror_query; -ENOTCONN at once when the database is unreachable.
 * Whatever stays queued is sent again at each reconnect and every sync. */
struct store_fleet_end;
int fleet_mirror_end(struct fleet_mirror *m, const struct store_fleet_end *e, fleet_query_fn cb, void *userdata);

/* Connected (and listening): statements can be sent now. */
bool fleet_mirror_connected(const struct fleet_mirror *m);
/* The uploads this mirror's link carries (fleet_upload.h). */
struct fleet_upload *fleet_mirror_upload(struct fleet_mirror *m);

/* One line for jitctl status: the connection, how far changes are applied,
 * and how far this host's audit chain is uploaded. */
void fleet_mirror_status(const struct fleet_mirror *m, char *buf, size_t size);

#endif
