/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Grants approved by a ticket system: starting lookups, applying what the
 * ticket says to the grants that name it (through grants.h, like every other
 * change), re-checking every `poll`, and the replies that wait for a lookup
 * (a request answered with what the ticket said rather than a bare
 * "pending").
 */
#ifndef JITD_TICKETFLOW_H
#define JITD_TICKETFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "jitd.h"

bool ticketflow_needed(const struct role *r);
/* Build the engine (when [ticket] names a provider) on d->event. */
int ticketflow_setup(struct jitd *d, char *why, size_t size);
void ticketflow_shutdown(struct jitd *d);
/* Look g's ticket up (joined with a lookup already in flight for it). */
int ticketflow_check(struct jitd *d, const struct jit_grant *g);
/* The same, after a random delay below max_delay_ms (*ret_delay_ms: the one
 * chosen), joined with a lookup of the same ticket for the same user that
 * is in flight or waits already: the first lookup of a fleet grant's
 * ticket, which every host of its scope makes at about the same moment.
 * -EAGAIN when TICKETFLOW_SOON_MAX lookups wait already (the next poll
 * looks it up). */
#define TICKETFLOW_SOON_MAX 1024
int ticketflow_check_soon(struct jitd *d, const struct jit_grant *g, uint64_t max_delay_ms,
                          uint64_t *ret_delay_ms);
/* The held connection `serial` is answered once grant_id's ticket says
 * something, or after timeout_ms with the grant as it then is. */
void ticketflow_defer(struct jitd *d, uint64_t serial, int64_t grant_id, int timeout_ms);
/* g ended (cancelled, denied, revoked): its waiting replies are answered and
 * a lookup no other open grant needs is cancelled. */
void ticketflow_forget(struct jitd *d, const struct jit_grant *g);

#endif
